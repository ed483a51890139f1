"""`manage.py backup`: an encrypted dump of the database (see ops/backup.py)."""

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ops.backup import BackupError, dump

PATTERN = "sosedi-*.dump.enc"


class Command(BaseCommand):
    help = (
        "Write an encrypted pg_dump of the database (AES-256-GCM, key from "
        "SOSEDI_BACKUP_PASSPHRASE) to SOSEDI_BACKUP_DIR or --output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="file to write (default: a dated file in the dir)")
        parser.add_argument(
            "--keep", type=int, default=0, help="then delete all but the newest N backups"
        )

    def handle(self, *args, output=None, keep=0, **options):
        passphrase = settings.SOSEDI_BACKUP_PASSPHRASE
        if not passphrase:
            raise CommandError("Set SOSEDI_BACKUP_PASSPHRASE: backups are always encrypted.")
        directory = Path(settings.SOSEDI_BACKUP_DIR)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = Path(output) if output else directory / f"sosedi-{stamp}.dump.enc"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(path.name + ".partial")
        # Written under another name and renamed when complete: a file that has its final
        # name is a whole backup.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as target:
                size = dump(connection.settings_dict, target, passphrase=passphrase)
                target.flush()
                os.fsync(target.fileno())
            partial.replace(path)
        except BackupError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(str(exc)) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        with path.open("rb") as written:
            digest = hashlib.file_digest(written, "sha256").hexdigest()  # streamed, not loaded
        self.stdout.write(
            f"{path}  ({path.stat().st_size:,} bytes encrypted, {size:,} dumped, sha256 {digest})"
        )
        if keep and not output:
            for old in sorted(directory.glob(PATTERN), reverse=True)[keep:]:
                old.unlink()
                self.stdout.write(f"deleted {old}")
