"""The sign-up POST under 50 concurrent clients, against a hello-world view."""

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.ops.common import BENCH, ROOT, Ctx, delete_where_email_endswith, row

SIGNUP_DOMAIN = "signup.bench.invalid"
# The web server's configuration (see _gunicorn).
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
TOWNS = ("Москва", "Санкт-Петербург", "Kazan", "Тверь")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 -- 127.0.0.1 only
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _csrf(base: str) -> tuple[str, str]:
    with urllib.request.urlopen(f"{base}/join/", timeout=10) as response:  # noqa: S310
        html = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie") or []
    cookie = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return cookie, token


def _wrk(url: str, script: Path, seconds: int, *args: str, cpus: set[int] | None = None) -> dict:
    """wrk's summary (signup.lua / hello.lua print it as JSON), with wrk's own CPU seconds;
    with `cpus`, wrk runs on those CPUs only."""
    command = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url]
    if args:
        command += ["--", *args]
    if cpus is not None:
        command = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["wrk_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def _peak_rss_mb(master: int) -> float:
    """Sum of the gunicorn workers' peak resident memory (VmHWM), plus the master's."""
    pids = [master]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return total / 1024


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def _workers(master: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    return []


def _backends(database: str) -> list[int]:
    """PostgreSQL backends serving `database` (their process title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            if title.startswith("postgres: ") and f" {database} " in title:
                found.append(int(entry.name))
    return found


def _pin(pid: int, cpus: set[int]) -> None:
    """Keep every thread of a process on `cpus` (threads started later inherit it)."""
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cpus)


class _CpuMeter:
    """CPU seconds spent by the gunicorn workers and by the database's PostgreSQL backends
    while it runs. Polled every 0.2 s, so that a backend that closes (CONN_MAX_AGE) during
    the run is counted up to its last poll. With `cpus`, each poll also keeps them there."""

    def __init__(self, master: int, database: str, cpus: set[int] | None = None):
        self.master, self.database, self.cpus = master, database, cpus
        self.start: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _sample(self, first: bool = False) -> None:
        pids = [("gunicorn", p) for p in _workers(self.master)]
        pids += [("postgres", p) for p in _backends(self.database)]
        for key in pids:
            if self.cpus is not None:
                _pin(key[1], self.cpus)
            cpu = _cpu_s(key[1])
            if cpu is None:
                continue
            # A process that appears during the run counts from zero.
            self.start.setdefault(key, cpu if first else 0.0)
            self.last[key] = cpu

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self):
        if self.cpus is not None:
            _pin(self.master, self.cpus)
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def seconds(self, kind: str) -> float:
        return sum(self.last[k] - self.start[k] for k in self.last if k[0] == kind)


def _form(token: str, email: str, town: str) -> str:
    """The join form as signup.lua posts it."""
    return urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "display_name": "Bench Person",
            "email": email,
            "location_text": town,
            "channel": "email",
            "frequency": "monthly",
            "topics": "events",
            "consent_public_map": "on",
            "consent_email_updates": "on",
        }
    )


def _in_process(count: int) -> dict:
    """`count` sign-ups one after another through Django's test client in this process:
    CPU per sign-up of Python (time.process_time) and of the PostgreSQL backend serving it."""
    from django.db import connection
    from django.test import Client, override_settings

    client = Client(enforce_csrf_checks=True)
    html = client.get("/join/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def post(i: int) -> None:
        body = _form(token, f"inproc-{i}@{SIGNUP_DOMAIN}", TOWNS[i % len(TOWNS)])
        response = client.post("/join/", body, content_type="application/x-www-form-urlencoded")
        if response.status_code != 302:
            raise RuntimeError(f"in-process sign-up answered {response.status_code}")

    with override_settings(SOSEDI_SIGNUPS_PER_IP_PER_HOUR=10**9):
        post(0)  # templates, translations and the connection warm up first
        python, postgres, wall = time.process_time(), _cpu_s(backend), time.perf_counter()
        for i in range(1, count + 1):
            post(i)
        python = time.process_time() - python
        postgres = _cpu_s(backend) - postgres
        wall = time.perf_counter() - wall
    return {
        "count": count,
        "python_ms": python / count * 1000,
        "postgres_ms": postgres / count * 1000,
        "wall_ms": wall / count * 1000,
    }


def _forget_hits() -> None:
    """Delete the bench client's sign-up hits. Every bench sign-up comes from 127.0.0.1, so
    the per-address count in ratelimit_hit would grow with each run of the last hour (tens
    of thousands of rows), where a real address holds at most the limit (10 an hour)."""
    from supporters.models import RateLimitEvent
    from supporters.ratelimit import client_key

    RateLimitEvent.objects.filter(scope="signup", key=client_key("127.0.0.1")).delete()


def _gunicorn(port: int) -> list[str]:
    """The web server as docs/deploy/sosedi-web.service runs it, 2 workers, plus --reuse-port
    (BENCH_WORKER_CLASS and BENCH_THREADS try other workers)."""
    return [
        str(Path(sys.executable).with_name("gunicorn")),
        "mapsite.wsgi:application",
        "--workers",
        "2",
        "--worker-class",
        WORKER_CLASS,
        "--threads",
        str(THREADS),
        "--keep-alive",
        "5",
        # Each worker listens on a socket of its own and the kernel spreads new connections
        # over them: on the one shared socket, whichever worker woke first took most of a
        # burst (46 of wrk's 50 connections), and their clients waited twice as long.
        "--reuse-port",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]


def run(ctx: Ctx) -> list[dict]:
    from django.db import connection

    from bench.measure import Timing
    from supporters.models import Supporter

    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk; make setup does it)")
    delete_where_email_endswith(f"@{SIGNUP_DOMAIN}")  # a failed run's leftovers
    _forget_hits()
    in_process = _in_process(ctx.scaled(200, 500))
    delete_where_email_endswith(f"@{SIGNUP_DOMAIN}")
    database = connection.settings_dict["NAME"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SOSEDI_SIGNUPS_PER_IP_PER_HOUR="1000000000",
        SOSEDI_MAP_REFRESH_CRON="",
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(_gunicorn(port), cwd=ROOT, env=env)
    try:
        _wait_up(f"{base}/bench/hello/")
        cookie, token = _csrf(base)
        seconds = ctx.scaled(10, 20)
        cities = ",".join(urllib.parse.quote(c) for c in TOWNS)

        def signup(prefix: str, seconds: int, cpus: set[int] | None = None) -> dict:
            _forget_hits()  # each run counts only its own (up to ~5,000 rows by its end)
            with _CpuMeter(server.pid, database, cpus) as meter:
                result = _wrk(
                    f"{base}/join/",
                    BENCH / "signup.lua",
                    seconds,
                    token,
                    cookie,
                    prefix,
                    SIGNUP_DOMAIN,
                    cities,
                    cpus=cpus,
                )
            result["gunicorn_cpu_s"] = meter.seconds("gunicorn")
            result["postgres_cpu_s"] = meter.seconds("postgres")
            return result

        runs = {"hello": [], "signup": []}
        loads = [os.getloadavg()[0]]
        for round_ in range(2):
            runs["hello"].append(_wrk(f"{base}/bench/hello/", BENCH / "hello.lua", seconds))
            runs["signup"].append(signup(f"r{round_}", seconds))
        loads.append(os.getloadavg()[0])
        # What a second core gives: gunicorn's workers, the PostgreSQL backends serving them
        # and wrk all kept on CPU 0, then on CPUs 0 and 1 (other processes of the machine,
        # PostgreSQL's own background ones included, are not moved).
        cores = {}
        everywhere = os.sched_getaffinity(0)
        if {0, 1} <= everywhere and shutil.which("taskset"):
            for count, cpus in ((1, {0}), (2, {0, 1})):
                cores[count] = signup(f"c{count}", ctx.scaled(10, 15), cpus)
            for pid in [server.pid, *_workers(server.pid), *_backends(database)]:
                _pin(pid, everywhere)
        peak = _peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    def rate(r):
        return (r["requests"] - r["bad"]) / (r["duration_us"] / 1e6)

    hello_rates = [rate(r) for r in runs["hello"]]
    signup_rates = [rate(r) for r in runs["signup"]]
    errors = sum(r["bad"] + r["errors"] for r in runs["signup"])
    stored = Supporter.objects.filter(email__endswith=f"@{SIGNUP_DOMAIN}").count()
    answered = sum(r["requests"] - r["bad"] for r in runs["signup"])
    answered_all = answered + sum(r["requests"] - r["bad"] for r in cores.values())
    p95 = max(r["p95_us"] for r in runs["signup"]) / 1e6
    signup_rate = sorted(signup_rates)[0]
    share = sum(signup_rates) / sum(hello_rates)
    delete_where_email_endswith(f"@{SIGNUP_DOMAIN}")
    _forget_hits()
    # CPU per answered sign-up under load, by process kind, in ms.
    under_load = {
        kind: sum(r[f"{kind}_cpu_s"] for r in runs["signup"]) / max(answered, 1) * 1000
        for kind in ("gunicorn", "postgres", "wrk")
    }
    # Throughput rows: the "timings" are seconds per request at the measured rate.
    ours = Timing([1 / r for r in signup_rates], extra={"rates": signup_rates})
    hello = Timing([1 / r for r in hello_rates], extra={"rates": hello_rates})
    server_config = f"gunicorn {WORKER_CLASS}, 2 workers × {THREADS} threads, reuse-port"
    return [
        row(
            "signup",
            f"sign-up POST, 50 concurrent clients ({server_config})",
            ours=ours,
            baselines=[("hello-world Django view, same server", hello)],
            target="≥ 250 sign-ups/s, p95 ≤ 300 ms, no errors",
            met=signup_rate >= 250 and p95 <= 0.300 and errors == 0,
            unit="rate",
            notes=[
                f"sign-ups/s {' and '.join(f'{r:.0f}' for r in signup_rates)} (two "
                f"{seconds} s runs), hello-world {' and '.join(f'{r:.0f}' for r in hello_rates)}"
                f"/s: {share:.0%} of hello-world",
                f"sign-up latency p50 {max(r['p50_us'] for r in runs['signup']) / 1000:.0f} ms,"
                f" p95 {p95 * 1000:.0f} ms, p99 "
                f"{max(r['p99_us'] for r in runs['signup']) / 1000:.0f} ms; errors "
                f"{errors}; {stored:,} supporters stored for {answered_all:,} redirects "
                "(wrk drops the answers in flight when it stops)",
                f"CPU per sign-up in process (one client, {in_process['count']} sign-ups): "
                f"Python {in_process['python_ms']:.1f} ms + PostgreSQL backend "
                f"{in_process['postgres_ms']:.1f} ms (wall {in_process['wall_ms']:.1f} ms)",
                f"CPU per sign-up under load: gunicorn workers {under_load['gunicorn']:.1f} ms"
                f" + PostgreSQL backends {under_load['postgres']:.1f} ms + wrk "
                f"{under_load['wrk']:.1f} ms",
                *(
                    [
                        "gunicorn workers, their PostgreSQL backends and wrk pinned to 1 CPU: "
                        f"{rate(cores[1]):.0f} sign-ups/s (p95 {cores[1]['p95_us'] / 1000:.0f} ms)"
                        f"; to 2 CPUs: {rate(cores[2]):.0f}/s (p95 "
                        f"{cores[2]['p95_us'] / 1000:.0f} ms): the second CPU gives "
                        f"×{rate(cores[2]) / rate(cores[1]):.2f}"
                    ]
                    if cores
                    else []
                ),
                f"gunicorn peak RSS (master + 2 workers) {peak:.0f} MB; wrk -t2 -c50 on the "
                f"same 2 cores; load average {loads[0]:.1f} before the runs, {loads[1]:.1f} "
                "after (other processes of the machine share its cores)",
            ],
            extra={
                "signup_rates": signup_rates,
                "hello_rates": hello_rates,
                "p95_s": p95,
                "errors": errors,
                "stored": stored,
                "answered": answered,
                "gunicorn_peak_mb": peak,
                "server": server_config,
                "cpu_ms_in_process": in_process,
                "cpu_ms_under_load": under_load,
                "cores": {
                    n: {
                        "rate": rate(r),
                        "p95_s": r["p95_us"] / 1e6,
                        "errors": r["bad"] + r["errors"],
                    }
                    for n, r in cores.items()
                },
                "load_average": loads,
            },
        )
    ]
