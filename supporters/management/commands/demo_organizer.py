from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supporters.organize.demo import demo_organizer_ensure


class Command(BaseCommand):
    help = (
        "Development only: make sure the demo organizer exists (admin role, two-factor "
        "device) and print its login with a fresh single-use recovery code (the previous "
        "one stops working)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--shell", action="store_true", help="print 'user password code secret' on one line"
        )

    def handle(self, *args, shell, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_organizer refuses to run with DJANGO_ENV=production.")
        login = demo_organizer_ensure()
        if shell:
            self.stdout.write(
                f"{login.username} {login.password} {login.recovery_code} {login.totp_secret}"
            )
            return
        self.stdout.write(
            f"demo organizer: {login.username} / {login.password}\n"
            f"  second step: the single-use recovery code {login.recovery_code}\n"
            f"  (or add the TOTP key {login.totp_secret} to an authenticator app"
            " and type its 6-digit codes)"
        )
