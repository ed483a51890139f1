"""BENCHMARKS.md's "How costs grow" section and docs/img/bench-scale.png, from
bench/results/scale.json (make bench-scale): per operation its time at each N and the
slope k of time ∝ N^k, and per N the database's size, peak memory and load."""

import math
from pathlib import Path

from bench.report import _rows
from bench.tables import aligned, duration, markdown_table

SCALE_PLACEHOLDER = "How each cost grows with N is to be written by hand after a full run.\n"
SCALE_LABELS = {
    "load": "loading N supporters (COPY)",
    "refresh_map": "`refresh_map` (public snapshot)",
    "cells_city": "`/api/public/cells`, city viewport",
    "cells_region": "`/api/public/cells`, region viewport",
    "cells_country": "`/api/public/cells`, country viewport",
    "intro": "introduction candidates (in the database)",
}


def _scale_label(r: dict) -> str:
    return SCALE_LABELS.get(r["key"], r["operation"].split(" (")[0])


def _n_short(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    return f"{n / 1000:g}k" if n >= 1000 and n % 100 == 0 else str(n)


def scale_series(scale: dict) -> dict[str, dict]:
    """Per row key: its label, unit and {N: (median s, p95 s or None)}; failed runs of an
    operation as {N: error}."""
    series: dict[str, dict] = {}
    for run in scale["runs"]:
        for result, r in _rows(run):
            if r is None:
                op = result["op"]
                keys = [k for k, v in series.items() if v["op"] == op] or [op]
                for key in keys:
                    entry = series.setdefault(
                        key,
                        {"label": SCALE_LABELS.get(op, op), "op": op, "points": {}, "errors": {}},
                    )
                    entry["errors"][run["n"]] = result["error"]
                continue
            entry = series.setdefault(
                r["key"],
                {"label": _scale_label(r), "op": result["op"], "points": {}, "errors": {}},
            )
            if r["ours"]:
                t = r["ours"]
                entry["points"][run["n"]] = (t["median"], t["p95"] if t["n"] > 1 else None)
    return series


def growth_exponent(points: dict[int, tuple]) -> float | None:
    """k in time ∝ N^k: the least-squares slope of log(time) against log(N)."""
    xy = [(math.log(n), math.log(t[0])) for n, t in points.items() if t[0] > 0]
    if len(xy) < 2:
        return None
    mx = sum(x for x, _ in xy) / len(xy)
    my = sum(y for _, y in xy) / len(xy)
    sxx = sum((x - mx) ** 2 for x, _ in xy)
    return sum((x - mx) * (y - my) for x, y in xy) / sxx if sxx else None


def scale_table(scale: dict) -> list[list[str]]:
    """Rows = operations, columns = N (median, and p95 where repeated), then the growth."""
    sizes = [run["n"] for run in scale["runs"]]
    lines = [["operation", *(f"N = {n:,}" for n in sizes), "growth: time ∝ N^k"]]
    for entry in scale_series(scale).values():
        cells = []
        for n in sizes:
            if n in entry["points"]:
                median, p95 = entry["points"][n]
                cells.append(duration(median) + (f" (p95 {duration(p95)})" if p95 else ""))
            else:
                cells.append(f"not measured: {entry['errors'].get(n, 'no result')}")
        k = growth_exponent(entry["points"])
        lines.append([entry["label"], *cells, "—" if k is None else f"k = {k:.2f}"])
    return lines


def _size(n_bytes: float | None) -> str:
    if n_bytes is None:
        return "—"
    return f"{n_bytes / 2**30:.1f} GB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:,.0f} MB"


def scale_machine_table(scale: dict) -> list[list[str]]:
    lines = [
        [
            "N",
            "database after loading",
            "peak RSS (largest operation)",
            "time taken",
            "load average before → after",
        ]
    ]
    for run in scale["runs"]:
        lines.append(
            [
                f"{run['n']:,}",
                _size(run.get("database_bytes")),
                f"{run['peak_rss_mb']:,.0f} MB" if run.get("peak_rss_mb") else "—",
                f"{run['total_s'] / 60:.1f} min",
                f"{run['load_before'][0]:.1f} → {run['load_after'][0]:.1f}",
            ]
        )
    return lines


def scale_text(scale: dict) -> str:
    return aligned(scale_table(scale)) + "\n\n" + aligned(scale_machine_table(scale))


def scale_section(scale: dict, analysis: str, *, plot: str) -> str:
    m = scale["machine"]
    lines = [
        "## How costs grow (`make bench-scale`)",
        "",
        f"Run on {m['date'][:10]} at commit `{m['commit']}`: {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_mb']:,} MB of memory, PostgreSQL {m['postgresql']}, Python "
        f"{m['python']}; {m['total_s'] / 60:.1f} min in all. Each N is loaded into a fresh "
        "scratch database of its own, which is dropped after it; Sosedi's own times only "
        "(the naive baselines are left out, `--no-baselines`), medians with the p95 where "
        "the operation is repeated. k is the slope of the log-log line through the points: "
        "1 grows as N, 0 does not grow.",
        "",
        f"![How Sosedi's costs grow with N]({plot})",
        "",
        analysis,
        "",
        *markdown_table(scale_table(scale)),
        "",
        *markdown_table(scale_machine_table(scale)),
    ]
    return "\n".join(lines)


def scale_plot(scale: dict, path: Path) -> None:
    """Median time against N, log-log, one line per operation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    sizes = [run["n"] for run in scale["runs"]]
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    for entry in scale_series(scale).values():
        points = sorted(entry["points"].items())
        if not points:
            continue
        k = growth_exponent(entry["points"])
        label = entry["label"].replace("`", "") + ("" if k is None else f" (k = {k:.2f})")
        ax.plot([n for n, _ in points], [t[0] for n, t in points], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _n_short(round(x))))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: duration(y)))
    ax.set_xlabel("supporters (N, log scale)")
    ax.set_ylabel("median time (log scale)")
    ax.set_title("How Sosedi's costs grow with N")
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
