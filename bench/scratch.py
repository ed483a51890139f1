"""The harness's own scratch database, created and dropped by it alone.

A database is only ever dropped if it carries the harness's marker comment, so a name
that someone else already uses (a hand-seeded database, a test database) is refused,
never dropped.
"""

import os

import psycopg
from psycopg import sql

MARKER = "sosedi bench scratch database (bench/scratch.py); safe to drop"
DEFAULT_NAME = "sosedi_bench_run"


def server_url() -> str:
    port = os.environ.get("SOSEDI_PGPORT", "54329")
    return os.environ.get("BENCH_SERVER_URL", f"postgresql://sosedi@127.0.0.1:{port}/postgres")


def database_url(name: str) -> str:
    base = server_url().rsplit("/", 1)[0].replace("postgresql://", "postgis://", 1)
    return f"{base}/{name}"


def _connect() -> psycopg.Connection:
    return psycopg.connect(server_url(), autocommit=True)


def _marker(conn: psycopg.Connection, name: str) -> str | None:
    row = conn.execute(
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database"
        " WHERE datname = %s",
        [name],
    ).fetchone()
    return None if row is None else row[0]


def scratch_create(name: str) -> str:
    """Create (or re-create) the scratch database; returns its DATABASE_URL."""
    with _connect() as conn:
        marker = _marker(conn, name)
        if marker is not None and marker != MARKER:
            raise SystemExit(
                f"bench: database {name!r} exists and was not made by the harness; "
                "choose another name with BENCH_DB=..."
            )
        if marker is not None:
            scratch_drop(name)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(MARKER)
            )
        )
    with psycopg.connect(server_url().rsplit("/", 1)[0] + f"/{name}", autocommit=True) as db:
        db.execute("SET client_min_messages = warning")
        db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return database_url(name)


def scratch_drop(name: str) -> None:
    with _connect() as conn:
        marker = _marker(conn, name)
        if marker is None:
            return
        if marker != MARKER:
            raise SystemExit(f"bench: refusing to drop {name!r}: not the harness's database")
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
