"""`make cluster-demo`: a primary, a streaming replica and pgbouncer on 127.0.0.1 (ports
54347-54349), demo data, and the app (runserver) and the worker against them, so the
replica router can be watched at work. Ctrl-C stops everything and removes the clusters.

Every may-lag page answers with `X-Sosedi-Reads-From: replica` (or `default` while the
replica is skipped); the commands printed at the start pause the replica's replay or stop
it, and the app's log says when it skips the replica and when it uses it again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops.localcluster import PGBIN, Stack, wait_for  # noqa: E402

BASE_PORT = int(os.environ.get("SOSEDI_CLUSTER_PORT", "54347"))
WEB_PORT = int(os.environ.get("SOSEDI_CLUSTER_WEB_PORT", "8014"))
SUPPORTERS = os.environ.get("SOSEDI_DEMO_SUPPORTERS", "3000")
PY = str(ROOT / ".venv" / "bin" / "python")


def app_env(stack: Stack, **extra: str) -> dict[str, str]:
    """The web app's environment: pgbouncer for the primary and the replica, as deployed."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SOSEDI_DB"))}
    return {
        **clean,
        "DATABASE_URL": stack.pooled_url(),
        "DATABASE_REPLICA_URL": stack.pooled_url(replica=True),
        "DATABASE_DIRECT_URL": stack.primary.url(stack.db),
        "SOSEDI_DB_POOLED": "true",
        "SOSEDI_REPLICA_MAX_LAG_SECONDS": "5",
        "SOSEDI_REPLICA_CHECK_SECONDS": "2",
        "SITE_URL": f"http://127.0.0.1:{WEB_PORT}",
        **extra,
    }


def manage(stack: Stack, *args: str, timeout: float = 900) -> None:
    env = app_env(stack, SOSEDI_DB_DIRECT="true")
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout)  # noqa: S603


def prepare(stack: Stack, *, supporters: str) -> None:
    """Primary with the schema, the gazetteer and demo data; then its replica and pgbouncer."""
    stack.start_primary()
    manage(stack, "migrate", "--noinput", "-v", "0")
    manage(stack, "load_gazetteer", "--if-empty")
    manage(stack, "seed_demo", "--supporters", supporters, "--seed", "1")
    manage(stack, "refresh_map", "-v", "0")
    manage(stack, "demo_organizer")
    stack.start_replica()
    stack.start_pgbouncer()
    stack.wait_replayed()


def main() -> None:
    stack = Stack(base_port=BASE_PORT, db="sosedi_cluster")
    processes: list[subprocess.Popen] = []
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        print(f"sosedi: a primary, a replica and pgbouncer in {stack.home}", flush=True)
        prepare(stack, supporters=SUPPORTERS)
        web = subprocess.Popen(  # noqa: S603
            [PY, "manage.py", "runserver", "--noreload", f"127.0.0.1:{WEB_PORT}"],
            cwd=ROOT, env=app_env(stack),
        )  # fmt: skip
        worker = subprocess.Popen(  # noqa: S603
            [PY, "manage.py", "procrastinate", "worker"],
            cwd=ROOT, env=app_env(stack, SOSEDI_DB_DIRECT="true"),
        )  # fmt: skip
        processes += [web, worker]
        base = f"http://127.0.0.1:{WEB_PORT}"
        wait_for(lambda: urllib.request.urlopen(f"{base}/map/", timeout=2), timeout=60,  # noqa: S310
                 what="the web server")  # fmt: skip
        psql = f"{PGBIN}/psql -h 127.0.0.1 -U postgres -d sosedi_cluster -c"
        r = stack.replica
        print(
            f"""
  Sosedi runs on a primary (:{stack.primary.port}), a streaming replica (:{r.port}) and
  pgbouncer (:{stack.ports[2]}, transaction mode); the worker connects to the primary directly.

    public map      {base}/map/
    organizers      {base}/organize/   (the login and a recovery code are printed above)

  Where each may-lag page read:   curl -sI {base}/api/public/events | grep -i reads-from
  Pause the replica's replay:     {psql} 'select pg_wal_replay_pause()' -p {r.port}
    then write something (join at {base}/join/, or: {psql} 'update supporters_supporter
    set display_name = display_name' -p {stack.primary.port}) and watch it switch to default;
  Resume:                         {psql} 'select pg_wal_replay_resume()' -p {r.port}
  Stop the replica:               {PGBIN}/pg_ctl -D {r.datadir} stop   (as postgres)

  Ctrl-C stops everything and removes the clusters.
""",
            flush=True,
        )
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        stack.destroy()
        print("sosedi: clusters stopped and removed", flush=True)


if __name__ == "__main__":
    main()
