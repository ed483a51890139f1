"""`python -m bench [--n N] [--quick]`: the benchmark run, end to end.
`python -m bench --scale 100000,1000000,5000000`: how the costs grow with N.

1. creates a scratch database on the local cluster (BENCH_DB, default sosedi_bench_run;
   never the dev database, never a database it did not create), migrates it and loads
   the gazetteer;
2. runs each operation of bench/ops/ in a process of its own, which measures the
   operation and its naive baseline in the same run, and records the process's peak
   memory (getrusage of the child);
3. prints the table, keeps the results in bench/results/N.json, rewrites BENCHMARKS.md
   from every results file there (so the quick and the 1,000,000 runs sit side by side)
   and draws docs/img/bench.png; then drops the scratch database (unless --keep).

In scale mode (`make bench-scale`) steps 1 and 2 are repeated for each N with loading,
refresh_map, the cells viewports and introduction candidates only, without their naive
baselines, and the scratch database is dropped after each N; the results, with each N's
database size, peak memory and load average, are kept in bench/results/scale.json (after
every N, so a failed large N keeps the smaller ones) and BENCHMARKS.md gets its "How costs
grow" section and docs/img/bench-scale.png. --results-dir writes all of it elsewhere.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import report, scale_report, scratch
from bench.ops import OPS

ROOT = Path(__file__).resolve().parent.parent
ORDER = list(OPS)
SCALE_OPS = ["load", "refresh_map", "cells", "intro"]


def machine() -> dict:
    def sh(*command: str) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False).stdout
        except OSError:
            return ""

    mem = next(
        (line.split() for line in sh("free", "-m").splitlines() if line.startswith("Mem")), []
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    pg = sh("psql", scratch.server_url(), "-Atc", "show server_version").strip()
    return {
        "cores": int(sh("nproc").strip() or os.cpu_count() or 0),
        "memory_mb": int(mem[1]) if len(mem) > 1 else None,
        "cpu": cpu,
        "load_before": os.getloadavg(),
        "python": platform.python_version(),
        "postgresql": pg,
        "commit": sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD").strip(),
    }


def run_op(name: str, args, env: dict, *, n: int, baselines: bool = True) -> dict:
    """One operation in a child process; its rows, wall time and peak RSS."""
    command = [
        sys.executable,
        "-m",
        "bench.ops",
        name,
        "--n",
        str(n),
        "--seed",
        str(args.seed),
        "--workdir",
        str(args.workdir),
    ]
    if args.quick:
        command.append("--quick")
    if not baselines:
        command.append("--no-baselines")
    if name in args.profile:
        command.append("--profile")
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - started
    line = next((x for x in out.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if child.returncode != 0 or line is None:
        return {"op": name, "error": f"exit code {child.returncode}", "wall_s": elapsed, "rows": []}
    return {
        "op": name,
        "rows": json.loads(line.removeprefix("BENCH_RESULT ")),
        "wall_s": elapsed,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def django_command(env: dict, *command: str) -> None:
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def bench_env(url: str, workdir: Path) -> dict:
    return dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="mapsite.settings",
        DJANGO_ENV="development",
        DEBUG="false",
        SOSEDI_GEOCODER="",
        SOSEDI_MAP_REFRESH_CRON="",
        SOSEDI_IMPORT_DIR=str(workdir / "imports"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )


def database_setup(env: dict) -> float:
    """Migrate the scratch database and load the gazetteer; seconds taken."""
    t0 = time.monotonic()
    django_command(env, "migrate", "--noinput", "-v", "0")
    django_command(env, "load_gazetteer", "-v", "0")
    elapsed = time.monotonic() - t0
    print(f"bench: migrated and loaded the gazetteer in {elapsed:.0f} s", flush=True)
    return elapsed


def database_bytes(name: str) -> int:
    with psycopg.connect(scratch.server_url(), autocommit=True) as conn:
        return conn.execute("SELECT pg_database_size(%s)", [name]).fetchone()[0]


def measure(name: str, args, env: dict, *, n: int, baselines: bool = True) -> dict:
    print(f"bench: {name} ...", flush=True)
    result = run_op(name, args, env, n=n, baselines=baselines)
    status = result.get("error") or f"{result['peak_rss_mb']:.0f} MB peak"
    print(f"bench: {name} done in {result['wall_s']:.0f} s ({status})", flush=True)
    return result


def scale_main(args, sizes: list[int], ops: list[str], paths: report.Paths) -> None:
    """Each N in a scratch database of its own: load, then the scale operations."""
    started = time.monotonic()
    info = machine()
    info.update(sizes=sizes, seed=args.seed, quick=args.quick)
    info["date"] = datetime.now(tz=UTC).isoformat(timespec="seconds")
    scale = {"machine": info, "runs": []}
    print(
        f"bench: scale runs at N = {', '.join(f'{n:,}' for n in sizes)} on {info['cores']} "
        f"cores, {info['memory_mb']:,} MB; scratch database {args.db}",
        flush=True,
    )
    for n in sizes:
        print(f"\nbench: N = {n:,}", flush=True)
        one = {"n": n, "load_before": os.getloadavg(), "results": []}
        t0 = time.monotonic()
        env = bench_env(scratch.scratch_create(args.db), args.workdir)
        try:
            one["setup_s"] = database_setup(env)
            for name in ops:
                one["results"].append(measure(name, args, env, n=n, baselines=False))
                if name == "load":
                    one["database_bytes"] = database_bytes(args.db)
        finally:
            scratch.scratch_drop(args.db)
            shutil.rmtree(args.workdir / "imports", ignore_errors=True)
        one["total_s"] = time.monotonic() - t0
        one["load_after"] = os.getloadavg()
        one["peak_rss_mb"] = max((r.get("peak_rss_mb", 0) for r in one["results"]), default=0)
        scale["runs"].append(one)
        info["total_s"] = time.monotonic() - started
        print(f"\n{report.table_text(one)}", flush=True)
        if not args.no_report:
            report.save_scale(scale, paths)
    print(f"\n{scale_report.scale_text(scale)}")
    if not args.no_report:
        print(f"\nbench: {paths.results / report.SCALE} and {paths.markdown} written")
    print(f"bench: finished in {info['total_s'] / 60:.1f} min", flush=True)


def _sizes(text: str) -> list[int]:
    sizes = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError("a comma-separated list of positive N")
    return sorted(set(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description="Sosedi benchmarks against naive baselines.")
    parser.add_argument("--n", type=int, default=1_000_000, help="supporters to load")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (make bench-quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", scratch.DEFAULT_NAME))
    parser.add_argument("--only", default="", help="comma-separated operations (default all)")
    parser.add_argument("--profile", default="", help="operations to run under pyinstrument")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a kept scratch database (skips creating and loading)",
    )
    parser.add_argument("--no-report", action="store_true", help="print only")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument(
        "--scale",
        type=_sizes,
        metavar="N,N,...",
        help="how costs grow: load, refresh_map, cells and intro at each N, no baselines",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=report.RESULTS,
        help="where results are kept; elsewhere than bench/results, BENCHMARKS.md and the "
        "plots go there too unless --markdown and --img-dir say otherwise",
    )
    parser.add_argument("--markdown", type=Path, help="BENCHMARKS.md to write")
    parser.add_argument("--img-dir", type=Path, help="where the plots go (docs/img)")
    args = parser.parse_args()
    args.profile = [p for p in args.profile.split(",") if p]
    default_out = args.results_dir.resolve() == report.RESULTS.resolve()
    paths = report.Paths(
        results=args.results_dir,
        markdown=args.markdown
        or (report.MARKDOWN if default_out else args.results_dir / "BENCHMARKS.md"),
        img=args.img_dir or (report.IMG if default_out else args.results_dir / "img"),
    )
    ops = [o for o in args.only.split(",") if o] or (SCALE_OPS if args.scale else ORDER)
    unknown = set(ops) - set(ORDER)
    if unknown:
        parser.error(f"unknown operations: {', '.join(sorted(unknown))}")
    if args.scale:
        if args.reuse or args.keep:
            parser.error("--scale makes and drops a scratch database per N: no --reuse, --keep")
        scale_main(args, args.scale, ops, paths)
        return
    if args.reuse:
        ops = [o for o in ops if o != "load"] if not args.only else ops

    started = time.monotonic()
    info = machine()
    info.update(n=args.n, quick=args.quick, date=datetime.now(tz=UTC).isoformat(timespec="seconds"))
    print(
        f"bench: N={args.n:,} on {info['cores']} cores, {info['memory_mb']:,} MB; "
        f"scratch database {args.db}",
        flush=True,
    )

    url = scratch.database_url(args.db) if args.reuse else scratch.scratch_create(args.db)
    env = bench_env(url, args.workdir)
    results = []
    try:
        if not args.reuse:
            info["setup_s"] = database_setup(env)
        for name in ops:
            results.append(measure(name, args, env, n=args.n))
    finally:
        if not args.keep:
            scratch.scratch_drop(args.db)
        shutil.rmtree(args.workdir / "imports", ignore_errors=True)
    info["total_s"] = time.monotonic() - started
    info["load_after"] = os.getloadavg()
    run = {"machine": info, "results": results}
    print()
    print(report.table_text(run))
    if not args.no_report and not args.only:
        report.save(run, paths)
    elif not args.no_report:
        report.save_partial(run, paths)
    print(f"\nbench: finished in {info['total_s'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
