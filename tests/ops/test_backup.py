"""`manage.py backup` writes nothing readable; `manage.py restore` brings back exactly what
was dumped, or nothing at all."""

import io
import os

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ops import backup

PASSPHRASE = "correct horse battery staple 2026"
# Tables compared row by row (a checksum of every row's text), beyond the row counts of all.
KEY_TABLES = [
    "supporters_supporter",
    "supporters_consentrecord",
    "supporters_outboxmessage",
    "geo_mapsnapshot",
    "geo_publiccell",
    "geo_publicarea",
    "auth_user",
]


# --- the cipher stream, in memory --------------------------------------------------------


@pytest.fixture
def cheap_kdf(monkeypatch):
    monkeypatch.setattr(backup, "SCRYPT_LOG2_N", 10)  # recorded in the header, so it reads back


def _seal(data: bytes) -> bytes:
    out = io.BytesIO()
    assert backup.encrypt_stream(io.BytesIO(data), out, passphrase=PASSPHRASE) == len(data)
    return out.getvalue()


def _open(sealed: bytes, passphrase: str = PASSPHRASE) -> bytes:
    return b"".join(backup.decrypt_stream(io.BytesIO(sealed), passphrase=passphrase))


@pytest.mark.parametrize("size", [0, 1, backup.CHUNK - 1, backup.CHUNK, 3 * backup.CHUNK + 7])
def test_the_stream_round_trips_any_size(cheap_kdf, size):
    data = os.urandom(size)
    sealed = _seal(data)
    assert _open(sealed) == data
    # A few random bytes can turn up in ciphertext by chance; 16 or more cannot.
    assert size < 16 or data[:64] not in sealed


def test_a_wrong_passphrase_a_changed_byte_or_a_cut_file_is_refused(cheap_kdf):
    sealed = _seal(os.urandom(2 * backup.CHUNK + 10))
    with pytest.raises(backup.BackupError, match="Wrong passphrase"):
        _open(sealed, "another passphrase, long enough")
    for position in (20, len(sealed) // 2, len(sealed) - 1):
        damaged = bytearray(sealed)
        damaged[position] ^= 1
        with pytest.raises(backup.BackupError):
            _open(bytes(damaged))
    for cut in (10, backup.CHUNK // 2, len(sealed) - 20):
        with pytest.raises(backup.BackupError):
            _open(sealed[:cut])
    with pytest.raises(backup.BackupError, match="after its end"):
        _open(sealed + b"x")


def test_chunks_cannot_be_reordered_or_dropped(cheap_kdf):
    sealed = _seal(os.urandom(3 * backup.CHUNK))
    head = 14 + 3 + 16 + 7
    step = 4 + backup.CHUNK + 16
    chunks = [sealed[head + i * step : head + (i + 1) * step] for i in range(3)]
    rest = sealed[head + 3 * step :]
    with pytest.raises(backup.BackupError):
        _open(sealed[:head] + chunks[1] + chunks[0] + chunks[2] + rest)
    with pytest.raises(backup.BackupError):
        _open(sealed[:head] + chunks[0] + chunks[2] + rest)


def test_a_short_passphrase_is_refused():
    with pytest.raises(backup.BackupError, match="at least"):
        backup.encrypt_stream(io.BytesIO(b"x"), io.BytesIO(), passphrase="short")


# --- the commands, on a seeded database ------------------------------------------------------


def _admin_url(db: dict, name: str) -> str:
    return f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT']}/{name}"


@pytest.fixture
def scratch_database():
    """An empty database next to the test database, dropped afterwards."""
    db = connection.settings_dict
    name = f"{db['NAME']}_restore"
    with psycopg.connect(_admin_url(db, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name, f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT']}/{name}"
    with psycopg.connect(_admin_url(db, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fingerprint(cursor) -> dict:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [t for (t,) in cursor.fetchall()]
    result = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        result[table] = cursor.fetchone()[0]
    for table in KEY_TABLES:
        cursor.execute(
            "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f' FROM "{table}" t'
        )
        result[f"{table} md5"] = cursor.fetchone()[0]
    return result


def _tables(url_name: str) -> int:
    db = connection.settings_dict
    with psycopg.connect(_admin_url(db, url_name)) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_backup_is_unreadable_and_restore_brings_back_every_row(
    settings, tmp_path, scratch_database
):
    settings.SOSEDI_BACKUP_PASSPHRASE = PASSPHRASE
    call_command("seed_demo", supporters=3000, seed=5, no_organizer=True, verbosity=0)
    call_command("refresh_map", verbosity=0)
    with connection.cursor() as cursor:
        before = _fingerprint(cursor)
        cursor.execute("SELECT email, display_name FROM supporters_supporter LIMIT 50")
        people = cursor.fetchall()
    assert before["supporters_supporter"] >= 3000 and before["geo_publiccell"] > 0

    path = tmp_path / "nightly.dump.enc"
    call_command("backup", output=str(path), verbosity=0)
    sealed = path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert sealed.startswith(backup.MAGIC)
    # Nothing readable at rest: no pg_dump signature, no table name, no address, no name.
    for needle in (b"PGDMP", b"supporters_supporter", b"@demo.sosedi.invalid", b"CREATE TABLE"):
        assert needle not in sealed
    for email, name in people:
        assert email.encode() not in sealed and name.encode() not in sealed

    name, url = scratch_database
    call_command("restore", str(path), database_url=url, verbosity=0)
    db = connection.settings_dict
    with psycopg.connect(_admin_url(db, name)) as restored, restored.cursor() as cursor:
        after = _fingerprint(cursor)
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_wrong_passphrase_or_damage_and_restores_nothing(
    settings, tmp_path, scratch_database, make_supporter
):
    settings.SOSEDI_BACKUP_PASSPHRASE = PASSPHRASE
    make_supporter()
    path = tmp_path / "b.dump.enc"
    call_command("backup", output=str(path), verbosity=0)
    name, url = scratch_database

    settings.SOSEDI_BACKUP_PASSPHRASE = "not the passphrase it was written with"
    with pytest.raises(CommandError, match="Wrong passphrase"):
        call_command("restore", str(path), database_url=url)
    assert _tables(name) == 0

    settings.SOSEDI_BACKUP_PASSPHRASE = PASSPHRASE
    sealed = bytearray(path.read_bytes())
    sealed[len(sealed) - 40] ^= 0xFF  # inside the last part, after pg_restore has begun
    damaged = tmp_path / "damaged.dump.enc"
    damaged.write_bytes(bytes(sealed))
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(damaged), database_url=url)
    assert _tables(name) == 0  # one transaction: nothing half-restored

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(path))  # the live database needs an explicit yes


def test_backup_refuses_to_run_unencrypted(settings, tmp_path):
    settings.SOSEDI_BACKUP_PASSPHRASE = ""
    with pytest.raises(CommandError, match="SOSEDI_BACKUP_PASSPHRASE"):
        call_command("backup", output=str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()
