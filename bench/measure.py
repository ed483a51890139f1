"""Timing with repeats: medians and p95 (nearest rank), never a single run when avoidable."""

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass
class Timing:
    """Seconds per call of one measured thing."""

    samples: list[float]
    extrapolated: bool = False
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(median=self.median, p95=self.p95, n=len(self.samples))
        return d


def repeat(
    fn: Callable[[], object],
    *,
    repeats: int,
    warmup: int = 1,
    budget_s: float | None = None,
    min_repeats: int = 3,
) -> Timing:
    """Call `fn` `repeats` times after `warmup` calls; stop early (after `min_repeats`) once
    `budget_s` seconds have been spent, so slow baselines don't eat the run."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    spent = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        samples.append(elapsed)
        spent += elapsed
        if budget_s is not None and spent > budget_s and len(samples) >= min_repeats:
            break
    return Timing(samples)


def once(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result
