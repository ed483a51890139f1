import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from supporters.demo import demo_groups_seed, demo_supporters_seed
from supporters.models import Supporter
from supporters.organize.demo import demo_organizer_ensure


class Command(BaseCommand):
    help = (
        "Replace the demo supporters with N synthetic ones around real places "
        "(population-weighted, reproducible for a seed) and their local groups, and create "
        "the demo organizer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--supporters", type=int, default=2000, help="how many (default 2000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--country", default="RU", help="ISO country code, or ALL for the whole world"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if there are supporters already"
        )
        parser.add_argument(
            "--no-organizer", action="store_true", help="do not create the demo organizer"
        )

    def handle(self, *args, supporters, seed, country, if_empty, no_organizer, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with DJANGO_ENV=production.")
        if if_empty and Supporter.objects.exists():
            self.stdout.write("supporters exist already: no demo data added")
            return
        if supporters < 0:
            raise CommandError("--supporters must be zero or more.")
        started = time.monotonic()
        try:
            with transaction.atomic():
                report = demo_supporters_seed(
                    count=supporters,
                    seed=seed,
                    country=None if country.upper() == "ALL" else country,
                )
                groups = demo_groups_seed(seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.supporters} demo supporters ({report.consents} consents) around "
                f"{report.places} places, {groups.groups} local groups ({groups.proposed} "
                f"waiting for approval, {groups.memberships} members) in "
                f"{time.monotonic() - started:.1f}s"
            )
        )
        if not no_organizer:
            # An admin with a second factor: /organize/ and /admin/ need one. No recovery
            # code here: `make run` prints the one that works, after this.
            login = demo_organizer_ensure(recovery_code=False)
            self.stdout.write(
                f"demo organizer: {login.username} / {login.password}"
                " (`manage.py demo_organizer` prints a recovery code for the second step)"
            )
