from pathlib import Path

from django.core.management.base import BaseCommand

from geo.basemap import demo_path
from geo.basemap_build import basemap_build


class Command(BaseCommand):
    help = (
        "Build the demo base map (zooms 0-8: Natural Earth land and borders, the gazetteer's "
        "towns) as a PMTiles archive; skipped when it exists and its inputs are unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, default=None, help=f"where to write it (default {demo_path()})"
        )
        parser.add_argument("--force", action="store_true", help="build it even if up to date")

    def handle(self, *args, output, force, **options):
        report = basemap_build(path=output or demo_path(), force=force)
        if not report.built:
            self.stdout.write(f"base map up to date: {report.path}")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"base map: {report.tiles} tiles, {report.size / 1e6:.1f} MB "
                f"in {report.seconds:.1f}s: {report.path}"
            )
        )
