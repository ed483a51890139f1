"""`make bench`: Sosedi's operations at N supporters, each against a naive baseline.

Every run builds its own scratch database on the local cluster, loads N synthetic
supporters with COPY, measures each operation and its naive baseline in the same run
(so that the ratio holds on a busy machine), and writes BENCHMARKS.md and
docs/img/bench.png. See bench/run.py.
"""
