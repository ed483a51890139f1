"""`manage.py restore FILE`: bring back a backup written by `manage.py backup`."""

import environ
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ops.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Decrypt a backup (SOSEDI_BACKUP_PASSPHRASE) and restore it with pg_restore, in one "
        "transaction. Replaces what the target database holds: stop the web app and worker "
        "first, or restore into another database with --database-url."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--database-url", help="restore there instead (e.g. a scratch database to inspect)"
        )
        parser.add_argument(
            "--yes", action="store_true", help="replace the configured database without asking"
        )

    def handle(self, *args, file, database_url=None, yes=False, **options):
        passphrase = settings.SOSEDI_BACKUP_PASSPHRASE
        if not passphrase:
            raise CommandError("Set SOSEDI_BACKUP_PASSPHRASE to the backup's passphrase.")
        if database_url:
            db = environ.Env.db_url_config(database_url)
        else:
            db = connection.settings_dict
            if not yes:
                raise CommandError(
                    f"This replaces everything in database {db['NAME']!r}. Stop the app and "
                    "the worker, then run again with --yes (or use --database-url)."
                )
            connection.close()
        try:
            with open(file, "rb") as source:
                restore(db, source, passphrase=passphrase)
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {file}") from exc
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored {file} into {db['NAME']}")
