"""The measured operations, one per process: `python -m bench.ops NAME --n N [--quick]`.

Each operation runs in a process of its own (started by bench/run.py) so that its peak
memory is its own, and prints one line `BENCH_RESULT {json}` with its rows: the
operation's timings, its baselines' timings from the same process, the target and
whether it was met. Times are in seconds.

An operation is a module of this package with a `run(ctx) -> list[dict]`; OPS names
them in the order a full run measures them, and only the one measured is imported.
"""

import importlib
from collections.abc import Callable

OPS = {
    "load": "load",
    "refresh_map": "refresh_map",
    "cells": "cells",
    "intro": "intro",
    "heatmap": "heatmap",
    "hotspots": "hotspots",
    "import": "csv_import",
    "signup": "signup",
    "invitations": "invitations",
    "groups": "groups",
    "texting": "texting",
}


def op_run(name: str) -> Callable:
    """The `run` function of operation `name`."""
    return importlib.import_module(f"bench.ops.{OPS[name]}").run
