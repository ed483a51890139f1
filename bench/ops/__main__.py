import argparse
import json
import os
from pathlib import Path

from bench.ops import OPS, op_run
from bench.ops.common import ROOT, Ctx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(OPS))
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--no-baselines", action="store_true", help="skip the naive baselines")
    parser.add_argument("--profile", action="store_true", help="pyinstrument, to workdir")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mapsite.settings")
    import django

    django.setup()
    args.workdir.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(args.n, args.quick, args.seed, args.workdir, baselines=not args.no_baselines)
    if args.profile:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            rows = op_run(args.name)(ctx)
        out = args.workdir / f"profile-{args.name}.html"
        out.write_text(profiler.output_html())
        (args.workdir / f"profile-{args.name}.txt").write_text(profiler.output_text())
    else:
        rows = op_run(args.name)(ctx)
    print("BENCH_RESULT " + json.dumps(rows), flush=True)


if __name__ == "__main__":
    main()
