from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geo.basemap import BasemapError, basemap_configured, basemap_install, installed_path


class Command(BaseCommand):
    help = (
        "Check a PMTiles archive of vector tiles (header, bounds, zoom range) and install it "
        f"as the base map of every map ({installed_path()})."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the .pmtiles file, e.g. a regional extract")

    def handle(self, *args, file, **options):
        try:
            target, info = basemap_install(source=file)
        except BasemapError as exc:
            raise CommandError(f"{exc} Nothing was installed.") from exc
        west, south, east, north = info.bounds
        self.stdout.write(
            self.style.SUCCESS(
                f"installed {target}: {info.size / 1e6:.1f} MB, zooms {info.min_zoom}-"
                f"{info.max_zoom}, bounds {west:.2f},{south:.2f},{east:.2f},{north:.2f}"
            )
        )
        drawn = basemap_configured()
        if drawn.path != target:
            self.stdout.write(
                self.style.WARNING(
                    "SOSEDI_BASEMAP (or SOSEDI_TILE_URL) chooses another base map; unset it, "
                    f"or set SOSEDI_BASEMAP=pmtiles:{target}, to draw this one."
                )
            )
