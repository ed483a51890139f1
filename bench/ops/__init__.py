"""The measured operations, one per process: `python -m bench.ops NAME --n N [--quick]`.

Each operation runs in a process of its own (started by bench/run.py) so that its peak
memory is its own, and prints one line `BENCH_RESULT {json}` with its rows: the
operation's timings, its baselines' timings from the same process, the target and
whether it was met. Times are in seconds.
"""

from bench.ops import (
    cells,
    csv_import,
    heatmap,
    hotspots,
    intro,
    load,
    refresh_map,
    signup,
)

OPS = {
    "load": load.run,
    "refresh_map": refresh_map.run,
    "cells": cells.run,
    "intro": intro.run,
    "heatmap": heatmap.run,
    "hotspots": hotspots.run,
    "import": csv_import.run,
    "signup": signup.run,
}
