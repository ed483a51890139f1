"""The table, BENCHMARKS.md and docs/img/bench.png, from bench/results/<N>.json; the
scale section and docs/img/bench-scale.png (drawn by bench/scale_report.py) from
bench/results/scale.json.

BENCHMARKS.md is rewritten from every results file, largest N first, then the scale
runs; the hand-written analyses between the `analysis` and `scale-analysis` markers are
kept as they are.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench.tables import aligned, duration

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MARKDOWN = ROOT / "BENCHMARKS.md"
IMG = ROOT / "docs" / "img"
PLOT = IMG / "bench.png"
SCALE = "scale.json"
START, END = "<!-- analysis -->", "<!-- /analysis -->"
SCALE_START, SCALE_END = "<!-- scale-analysis -->", "<!-- /scale-analysis -->"
# Sign-ups a second asked for (bench/ops/signup.py judges the row), drawn on the plot.
SIGNUP_TARGET = 250


@dataclass(frozen=True)
class Paths:
    """Where the results are read from and BENCHMARKS.md and its pictures written to."""

    results: Path = RESULTS
    markdown: Path = MARKDOWN
    img: Path = IMG

    @property
    def plot(self) -> Path:
        return self.img / "bench.png"

    @property
    def scale_plot(self) -> Path:
        return self.img / "bench-scale.png"

    def link(self, picture: Path) -> str:
        """The picture's path as BENCHMARKS.md links it."""
        return Path(os.path.relpath(picture, self.markdown.parent)).as_posix()


DEFAULT = Paths()


def _value(t: dict | None, unit: str, which: str = "median") -> str:
    if t is None:
        return "—"
    if unit == "rate":
        return f"{1 / t[which]:,.0f}/s" if which == "median" else "—"
    text = duration(t[which])
    return f"{text} (extrapolated)" if t.get("extrapolated") else text


def _ratio(ours: dict | None, base: dict, unit: str) -> str:
    if not ours or not ours["median"]:
        return ""
    r = base["median"] / ours["median"]
    if unit == "rate":  # seconds per request: base/ours is our rate over the baseline's
        return f"ours is {r:.0%} of it"
    return f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"


def _rows(run: dict):
    for result in run["results"]:
        if result.get("error"):
            yield result, None
        for r in result["rows"]:
            yield result, r


def table_rows(run: dict) -> list[list[str]]:
    lines = []
    for result, r in _rows(run):
        if r is None:
            lines.append([result["op"], f"not measured: {result['error']}", "", "", "", "", ""])
            continue
        unit = r["unit"]
        baselines = "; ".join(
            f"{b['label']}: {_value(b, unit)} ({_ratio(r['ours'], b, unit)})"
            for b in r["baselines"]
        )
        met = {True: "✅ met", False: "❌ not met", None: "—"}[r["met"]]
        p95 = _value(r["ours"], unit, "p95") if r["ours"] and r["ours"]["n"] > 1 else "—"
        if unit == "rate":
            p95 = f"latency {r['extra']['p95_s'] * 1000:.0f} ms"
        lines.append(
            [
                r["operation"],
                _value(r["ours"], unit),
                p95,
                baselines or "—",
                r["target"],
                met,
                f"{result.get('peak_rss_mb', 0):,.0f} MB",
            ]
        )
    return lines


HEADER = [
    "operation",
    "Sosedi, median",
    "p95",
    "naive baseline, same run (ratio)",
    "target at 1,000,000",
    "at this N",
    "peak RSS",
]


def table_text(run: dict) -> str:
    return aligned([HEADER, *table_rows(run)])


def _markdown_section(run: dict) -> str:
    m = run["machine"]
    title = f"## N = {m['n']:,}" + (" (`make bench-quick`)" if m["quick"] else " (`make bench`)")
    lines = [
        title,
        "",
        f"Run on {m['date'][:10]} at commit `{m['commit']}`: {m['cores']} cores "
        f"({m['cpu']}), {m['memory_mb']:,} MB of memory, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}; load average {m['load_before'][0]:.1f} before and "
        f"{m['load_after'][0]:.1f} after (the machine is shared). The whole run took "
        f"{m['total_s'] / 60:.1f} min"
        + (
            f", {m['setup_s']:.0f} s of it creating the database and loading the gazetteer."
            if "setup_s" in m
            else "."
        ),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table_rows(run)]
    lines += ["", "Details:", ""]
    for _result, r in _rows(run):
        if r is None:
            continue
        lines.append(f"- {r['operation']}:")
        lines += [f"  - {note}" for note in r["notes"]]
    return "\n".join(lines)


def _runs(results: Path = RESULTS) -> list[dict]:
    """The normal runs, one file per N (100000.json); not scale.json."""
    runs = [json.loads(p.read_text()) for p in results.glob("*.json") if p.stem.isdigit()]
    return sorted(runs, key=lambda r: -r["machine"]["n"])


def _scale(results: Path = RESULTS) -> dict | None:
    path = results / SCALE
    return json.loads(path.read_text()) if path.exists() else None


def _kept(text: str, start: str, end: str, default: str = "") -> str:
    """The hand-written block between two markers of the current BENCHMARKS.md."""
    if start in text and end in text:
        return text[text.index(start) : text.index(end) + len(end)]
    return f"{start}\n{default}{end}"


INTRO = """# Benchmarks

Generated by `make bench` (N = 1,000,000), `make bench-quick` (N = 100,000) and
`make bench-scale` (100,000, 1,000,000 and 5,000,000, without baselines) from
`bench/results/*.json`; the two analysis sections are written by hand. Each run builds its own
scratch database on the local cluster, loads N synthetic supporters with COPY (the
population model of `seed_demo`: 3,000 Russian localities weighted by population), and
measures every operation and its naive baseline **in the same run**, one after the
other, so that their ratio holds on a busy machine. Times are medians of repeated runs
(p95 where a latency target asks for it); a baseline too slow to run in full is run on a
sample and extrapolated, and says so. Peak RSS is the measuring process's (`getrusage`),
PostgreSQL's own memory not included; for the sign-up row it is gunicorn's.

![Sosedi against the naive baselines]({plot})
"""


def markdown(runs: list[dict], scale: dict | None = None, paths: Paths = DEFAULT) -> str:
    text = paths.markdown.read_text() if paths.markdown.exists() else ""
    parts = [INTRO.format(plot=paths.link(paths.plot)), _kept(text, START, END), ""]
    parts += [_markdown_section(run) + "\n" for run in runs]
    if scale and scale.get("runs"):
        from bench.scale_report import SCALE_PLACEHOLDER, scale_section

        analysis = _kept(text, SCALE_START, SCALE_END, SCALE_PLACEHOLDER)
        parts.append(scale_section(scale, analysis, plot=paths.link(paths.scale_plot)) + "\n")
    return "\n".join(parts)


def plot(runs: list[dict], path: Path = PLOT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        2,
        len(runs),
        figsize=(7.5 * len(runs), 9.5),
        squeeze=False,
        gridspec_kw={"height_ratios": [4, 1]},
    )
    for col, run in enumerate(runs):
        n = run["machine"]["n"]
        timed = [r for _res, r in _rows(run) if r and r["unit"] != "rate" and r["ours"]]
        ax = axes[0][col]
        labels = [r["operation"].replace("`", "").split(" (")[0][:34] for r in timed]
        ours = [r["ours"]["median"] * 1000 for r in timed]
        base = [r["baselines"][0]["median"] * 1000 if r["baselines"] else 0 for r in timed]
        y = range(len(timed))
        ax.barh([i + 0.2 for i in y], base, height=0.4, color="#c8ccd4", label="naive baseline")
        ax.barh([i - 0.2 for i in y], ours, height=0.4, color="#2f6fde", label="Sosedi")
        for i, r in enumerate(timed):
            if r["ratio"]:
                label = f"{r['ratio']:,.0f}×" if r["ratio"] >= 10 else f"{r['ratio']:.1f}×"
                ax.text(max(ours[i], base[i]) * 1.3, i, label, va="center", fontsize=9)
        ax.set_xscale("log")
        ax.set_yticks(list(y), labels, fontsize=9)
        ax.invert_yaxis()
        ax.set_xlabel("median time, ms (log scale)")
        ax.set_title(f"N = {n:,}: time per operation")
        ax.set_xlim(right=max([*ours, *base, 1]) * 20)
        ax.grid(axis="x", alpha=0.3)

        ax2 = axes[1][col]
        signup = next((r for _res, r in _rows(run) if r and r["key"] == "signup"), None)
        if signup:
            rates = [
                sum(signup["extra"]["signup_rates"]) / 2,
                sum(signup["extra"]["hello_rates"]) / 2,
            ]
            ax2.barh([0, 1], rates, color=["#2f6fde", "#c8ccd4"])
            ax2.set_yticks([0, 1], ["sign-up POST", "hello-world view"], fontsize=9)
            ax2.axvline(SIGNUP_TARGET, color="#d04040", linestyle="--", linewidth=1)
            ax2.text(SIGNUP_TARGET, 1.45, f" target {SIGNUP_TARGET}/s", color="#d04040", fontsize=8)
            ax2.set_xlabel("requests/s, 50 concurrent clients, gunicorn 2 workers × 4 threads")
            ax2.invert_yaxis()
        else:
            ax2.axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="upper center", ncol=2, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(paths: Paths = DEFAULT) -> None:
    """BENCHMARKS.md and its pictures from the results kept, without a new run."""
    runs, scale = _runs(paths.results), _scale(paths.results)
    paths.markdown.write_text(markdown(runs, scale, paths))
    if runs:
        plot(runs, paths.plot)
    if scale and scale.get("runs"):
        from bench.scale_report import scale_plot

        scale_plot(scale, paths.scale_plot)


def save(run: dict, paths: Paths = DEFAULT) -> None:
    paths.results.mkdir(parents=True, exist_ok=True)
    (paths.results / f"{run['machine']['n']}.json").write_text(json.dumps(run, indent=1) + "\n")
    write_all(paths)


def save_scale(scale: dict, paths: Paths = DEFAULT) -> None:
    paths.results.mkdir(parents=True, exist_ok=True)
    (paths.results / SCALE).write_text(json.dumps(scale, indent=1) + "\n")
    write_all(paths)


def save_partial(run: dict, paths: Paths = DEFAULT) -> None:
    """Replace only the measured operations in the results kept for this N."""
    path = paths.results / f"{run['machine']['n']}.json"
    if not path.exists():
        save(run, paths)
        return
    kept = json.loads(path.read_text())
    fresh = {r["op"]: r for r in run["results"]}
    kept["results"] = [fresh.pop(r["op"], r) for r in kept["results"]] + list(fresh.values())
    kept["machine"].setdefault("partial_reruns", []).append(
        {"date": run["machine"]["date"], "ops": [r["op"] for r in run["results"]]}
    )
    path.write_text(json.dumps(kept, indent=1) + "\n")
    write_all(paths)


if __name__ == "__main__":
    write_all()
