"""BENCHMARKS.md's scale section (bench/report.py) from bench/results/scale.json: one row per
operation, one column per N, its growth, and the hand-written analysis kept."""

import json

from bench import report, scale_report

SIZES = (100_000, 1_000_000, 5_000_000)


def timing(median: float, repeats: int = 1) -> dict:
    return {"samples": [median] * repeats, "median": median, "p95": median, "n": repeats}


def result_row(key: str, operation: str, median: float, repeats: int = 1) -> dict:
    return {
        "key": key,
        "operation": operation,
        "ours": timing(median, repeats),
        "baselines": [],  # a scale run measures no naive baseline
        "ratio": None,
        "target": "",
        "met": None,
        "unit": "s" if key == "load" else "ms",
        "notes": [],
        "extra": {},
    }


def scale_run(n: int) -> dict:
    results = [
        {
            "op": "load",
            "rows": [result_row("load", f"loading N supporters ({n // 2:,} consents)", n / 1e5)],
            "peak_rss_mb": 300.0,
            "wall_s": 1.0,
        },
        {
            "op": "cells",
            "rows": [result_row("cells_city", "`/api/public/cells`, city", 0.004, 200)],
            "peak_rss_mb": 140.0,
            "wall_s": 1.0,
        },
    ]
    if n == 5_000_000:
        results.append({"op": "intro", "error": "exit code 1", "wall_s": 1.0, "rows": []})
    else:
        results.append(
            {
                "op": "intro",
                "rows": [result_row("intro", "introduction candidates", 0.001, 300)],
                "peak_rss_mb": 200.0,
                "wall_s": 1.0,
            }
        )
    return {
        "n": n,
        "results": results,
        "load_before": [0.5, 0.5, 0.5],
        "load_after": [1.5, 1.0, 1.0],
        "setup_s": 10.0,
        "total_s": 120.0,
        "peak_rss_mb": 300.0,
        "database_bytes": n * 1100,
    }


SCALE = {
    "machine": {
        "cores": 2,
        "memory_mb": 24_000,
        "cpu": "AMD EPYC",
        "python": "3.11.7",
        "postgresql": "15.18",
        "commit": "abc1234",
        "date": "2026-12-02T10:00:00+00:00",
        "total_s": 360.0,
        "sizes": list(SIZES),
    },
    "runs": [scale_run(n) for n in SIZES],
}


def test_the_scale_table_has_a_row_per_operation_a_column_per_n_and_the_growth():
    header, load, cells, intro = scale_report.scale_table(SCALE)

    assert header == [
        "operation",
        "N = 100,000",
        "N = 1,000,000",
        "N = 5,000,000",
        "growth: time ∝ N^k",
    ]
    assert load == ["loading N supporters (COPY)", "1.0 s", "10.0 s", "50.0 s", "k = 1.00"]
    assert cells[0] == "`/api/public/cells`, city viewport"
    assert cells[1:] == ["4.0 ms (p95 4.0 ms)"] * 3 + ["k = 0.00"]
    # A failed run of an operation says so in its column; the growth is from the others.
    assert intro[3] == "not measured: exit code 1" and intro[4] == "k = 0.00"


def test_the_scale_section_keeps_the_hand_written_analysis(tmp_path):
    (tmp_path / "100000.json").write_text(json.dumps({"machine": {"n": 1}, "results": []}))
    paths = report.Paths(results=tmp_path, markdown=tmp_path / "B.md", img=tmp_path / "img")
    (tmp_path / "B.md").write_text(
        f"# old\n{report.SCALE_START}\nWritten by hand.\n{report.SCALE_END}\n"
    )
    text = report.markdown([], SCALE, paths)

    assert "## How costs grow (`make bench-scale`)" in text
    assert f"{report.SCALE_START}\nWritten by hand.\n{report.SCALE_END}" in text
    assert "![How Sosedi's costs grow with N](img/bench-scale.png)" in text
    assert "| 5,000,000 | 5.1 GB | 300 MB | 2.0 min | 0.5 → 1.5 |" in text

    paths.markdown.unlink()
    assert scale_report.SCALE_PLACEHOLDER in report.markdown([], SCALE, paths)
    assert "How costs grow" not in report.markdown([], None, paths)


def test_scale_json_is_not_taken_for_a_run_of_its_own(tmp_path):
    (tmp_path / "100000.json").write_text(json.dumps({"machine": {"n": 100_000}}))
    (tmp_path / "scale.json").write_text(json.dumps(SCALE))

    assert [r["machine"]["n"] for r in report._runs(tmp_path)] == [100_000]
    assert report._scale(tmp_path)["runs"][0]["n"] == 100_000


def test_write_all_redraws_the_scale_section_and_plot_from_the_kept_results(tmp_path):
    (tmp_path / "scale.json").write_text(json.dumps(SCALE))
    paths = report.Paths(results=tmp_path, markdown=tmp_path / "B.md", img=tmp_path / "img")
    report.write_all(paths)

    assert "How costs grow" in paths.markdown.read_text()
    assert paths.scale_plot.read_bytes().startswith(b"\x89PNG")
