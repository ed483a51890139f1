"""Point-in-time recovery with pgBackRest (scripts/pitr.sh) on a cluster the test makes on
127.0.0.1:24344, archiving its WAL into an encrypted repository in a temporary directory:
a full and a differential backup, rows written in two steps, and a recovery to a time
between them that brings back exactly the first step's rows. A missing or damaged
repository stops the restore with its reason before PostgreSQL is stopped."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ops.localcluster import PGBIN, ROOT, Stack, run, wait_for

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pitr.sh"
# Below the kernel's range of ephemeral ports, as test_replication's.
BASE_PORT = 24344  # 24344 the primary (24345-24346 unused here)
DB = "sosedi_pitr"
STANZA = "sosedi"


def _config(stack: Stack, repo: Path) -> str:
    # As docs/deploy/pgbackrest.conf, with paths in the test's own directory.
    return (
        "[global]\n"
        f"repo1-path={repo}\n"
        "repo1-cipher-type=aes-256-cbc\n"
        "repo1-cipher-pass=test-only-cipher-pass-not-secret-2026\n"
        "repo1-retention-full=2\nrepo1-retention-diff=6\n"
        "start-fast=y\ncompress-type=zst\narchive-timeout=30\n"
        f"lock-path={stack.home}/lock\nlog-path={stack.home}/log\nspool-path={stack.home}/spool\n"
        "log-level-console=warn\nlog-level-file=off\n"
        f"[{STANZA}]\npg1-path={stack.primary.datadir}\npg1-port={stack.primary.port}\n"
        f"pg1-socket-path={stack.home}\npg1-user=postgres\n"
    )


@pytest.fixture(scope="module")
def archived():
    """A primary whose WAL pgBackRest archives, with a full backup of it."""
    stack = Stack(base_port=BASE_PORT, db=DB)
    conf = stack.home / "pgbackrest.conf"
    stack.primary_conf = (
        "archive_mode = on\n"
        f"archive_command = 'pgbackrest --config={conf} --stanza={STANZA} archive-push %p'\n"
    )
    try:
        run(["tee", str(conf)], input=_config(stack, stack.home / "repo"))
        stack.start_primary()
        stack.env = {
            **os.environ,
            "PGBACKREST_CONFIG": str(conf),
            "SOSEDI_PITR_STANZA": STANZA,
            "SOSEDI_PITR_STOP": " ".join(_pg_ctl(stack, "stop", "-m", "fast")),
            "SOSEDI_PITR_START": " ".join(_pg_ctl(stack, "start")),
            "PGHOST": "127.0.0.1",
            "PGPORT": str(stack.primary.port),
        }
        stack.primary.psql("CREATE TABLE probe (step int, n int)", db=DB)
        pitr(stack, "init")
        pitr(stack, "backup", "full")
        yield stack
    finally:
        stack.destroy()


def _pg_ctl(stack: Stack, *args: str) -> list[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if ROOT else []
    return [*prefix, str(PGBIN / "pg_ctl"), "-D", str(stack.primary.datadir),
            "-l", str(stack.primary.log), "-w", "-t", "120", *args]  # fmt: skip


def pitr(stack: Stack, *args: str, check: bool = True, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603
        ["/bin/bash", str(SCRIPT), *args], env={**stack.env, **env},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def rows(stack: Stack) -> list[str]:
    return stack.primary.psql("SELECT step || ':' || n FROM probe ORDER BY 1", db=DB).split()


def archived_through_now(stack: Stack) -> None:
    """Close the current WAL segment and wait until pgBackRest has archived it."""
    segment = stack.primary.psql("SELECT pg_walfile_name(pg_switch_wal())")
    wait_for(
        lambda: stack.primary.psql("SELECT last_archived_wal FROM pg_stat_archiver") >= segment,
        timeout=60, what="the WAL segment to be archived",
    )  # fmt: skip


def test_recovery_to_a_time_between_two_writes_keeps_exactly_the_first(archived):
    stack = archived
    stack.primary.psql("INSERT INTO probe SELECT 1, g FROM generate_series(1, 3) g", db=DB)
    pitr(stack, "backup", "diff")  # the restore starts from this one, then replays WAL
    target = stack.primary.psql("SELECT clock_timestamp()")
    # The second step commits strictly after the target time.
    later = f"SELECT clock_timestamp() > '{target}'::timestamptz + '0.2 s'"
    wait_for(
        lambda: stack.primary.psql(later) == "t",
        timeout=10, what="the clock to pass the target",
    )  # fmt: skip
    stack.primary.psql("INSERT INTO probe SELECT 2, g FROM generate_series(1, 4) g", db=DB)
    stack.primary.psql("UPDATE probe SET n = n * 10 WHERE step = 1", db=DB)
    archived_through_now(stack)
    assert len(rows(stack)) == 7

    info = pitr(stack, "info").stdout
    assert "full backup" in info and "diff backup" in info
    # The repository is encrypted (its files unreadable without repo1-cipher-pass).
    assert json.loads(pitr(stack, "info", "--output=json").stdout)[0]["cipher"] == "aes-256-cbc"

    done = pitr(stack, "restore", "--to", target)
    assert "recovered and promoted" in done.stdout
    assert rows(stack) == ["1:1", "1:2", "1:3"]
    # Open for writes on a new timeline.
    stack.primary.psql("INSERT INTO probe VALUES (3, 1)", db=DB)
    assert stack.primary.psql("SELECT pg_is_in_recovery()") == "f"


def _untouched(stack: Stack, result: subprocess.CompletedProcess, before: list[str]) -> None:
    assert result.returncode != 0
    assert "Nothing was changed: PostgreSQL was not stopped." in result.stderr, result.stderr
    assert "stopping PostgreSQL" not in result.stdout
    assert stack.primary.running()
    assert rows(stack) == before


def test_a_missing_repository_fails_before_the_database_is_touched(archived):
    stack = archived
    before = rows(stack)
    gone = str(stack.home / "gone")
    result = pitr(stack, "restore", "--latest", check=False, PGBACKREST_REPO1_PATH=gone)
    _untouched(stack, result, before)
    assert "the repository has no usable backup: missing stanza path" in result.stderr


def test_a_damaged_repository_fails_before_the_database_is_touched(archived):
    stack = archived
    before = rows(stack)
    copy = stack.home / "damaged-repo"  # where `postgres` may read it
    subprocess.run(["cp", "-a", str(stack.home / "repo"), str(copy)], check=True)  # noqa: S603, S607
    # One byte changed in the middle of the largest file of a backup set.
    files = [
        p for p in (copy / "backup" / STANZA).rglob("*") if p.is_file() and "pg_data" in str(p)
    ]
    victim = max(files, key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    try:
        result = pitr(stack, "restore", "--latest", check=False, PGBACKREST_REPO1_PATH=str(copy))
    finally:
        shutil.rmtree(copy)
    _untouched(stack, result, before)
    assert "failed verification" in result.stderr
