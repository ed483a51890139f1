"""The sign-up POST under 50 concurrent clients, against a hello-world view."""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.ops.common import BENCH, ROOT, Ctx, delete_where_email_endswith, row

SIGNUP_DOMAIN = "signup.bench.invalid"


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


def _wrk(url: str, script: Path, seconds: int, *args: str) -> dict:
    command = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url]
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    return json.loads(line.removeprefix("BENCH_JSON "))


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


def run(ctx: Ctx) -> list[dict]:
    from bench.measure import Timing
    from supporters.models import Supporter

    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk; make setup does it)")
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
    gunicorn = [
        str(Path(sys.executable).with_name("gunicorn")),
        "mapsite.wsgi:application",
        # as docs/deploy/sosedi-web.service runs it
        "--workers",
        "2",
        "--threads",
        os.environ.get("BENCH_THREADS", "4"),
        "--keep-alive",
        "5",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
    try:
        _wait_up(f"{base}/bench/hello/")
        cookie, token = _csrf(base)
        seconds = ctx.scaled(10, 20)
        cities = ",".join(
            urllib.parse.quote(c) for c in ("Москва", "Санкт-Петербург", "Kazan", "Тверь")
        )
        runs = {"hello": [], "signup": []}
        for round_ in range(2):
            runs["hello"].append(_wrk(f"{base}/bench/hello/", BENCH / "hello.lua", seconds))
            runs["signup"].append(
                _wrk(
                    f"{base}/join/",
                    BENCH / "signup.lua",
                    seconds,
                    token,
                    cookie,
                    f"r{round_}",
                    SIGNUP_DOMAIN,
                    cities,
                )
            )
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
    p95 = max(r["p95_us"] for r in runs["signup"]) / 1e6
    signup_rate = sorted(signup_rates)[0]
    share = sum(signup_rates) / sum(hello_rates)
    delete_where_email_endswith(f"@{SIGNUP_DOMAIN}")
    # Throughput rows: the "timings" are seconds per request at the measured rate.
    ours = Timing([1 / r for r in signup_rates], extra={"rates": signup_rates})
    hello = Timing([1 / r for r in hello_rates], extra={"rates": hello_rates})
    return [
        row(
            "signup",
            "sign-up POST, 50 concurrent clients (gunicorn, 2 workers × 4 threads)",
            ours=ours,
            baselines=[("hello-world Django view, same server", hello)],
            target="≥ 100 sign-ups/s, ≥ 30 % of hello-world, p95 ≤ 150 ms, no errors",
            met=signup_rate >= 100 and share >= 0.30 and p95 <= 0.150 and errors == 0,
            unit="rate",
            notes=[
                f"sign-ups/s {' and '.join(f'{r:.0f}' for r in signup_rates)} (two "
                f"{seconds} s runs), hello-world {' and '.join(f'{r:.0f}' for r in hello_rates)}"
                f"/s: {share:.0%} of hello-world",
                f"sign-up latency p50 {max(r['p50_us'] for r in runs['signup']) / 1000:.0f} ms,"
                f" p95 {p95 * 1000:.0f} ms, p99 "
                f"{max(r['p99_us'] for r in runs['signup']) / 1000:.0f} ms; errors "
                f"{errors}; {stored:,} supporters stored for {answered:,} redirects",
                f"gunicorn peak RSS (master + 2 workers) {peak:.0f} MB; wrk -t2 -c50 on the "
                "same 2 cores",
            ],
            extra={
                "signup_rates": signup_rates,
                "hello_rates": hello_rates,
                "p95_s": p95,
                "errors": errors,
                "stored": stored,
                "answered": answered,
                "gunicorn_peak_mb": peak,
            },
        )
    ]
