"""What every operation shares: its context, the shape of a result row, and the naive
baselines' row-by-row saves and their clean-up."""

from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent


class Ctx:
    def __init__(self, n: int, quick: bool, seed: int, workdir: Path, *, baselines: bool = True):
        self.n = n
        self.quick = quick
        self.seed = seed
        self.workdir = workdir
        # False in the scale runs (`--no-baselines`): only Sosedi's own times are wanted
        # there, and some naive baselines take minutes at 5,000,000.
        self.baselines = baselines

    def scaled(self, quick: int, full: int) -> int:
        return quick if self.quick else full


def row(
    key: str,
    operation: str,
    *,
    ours,
    baselines=(),
    target: str,
    met: bool | None,
    unit: str = "s",
    notes: list[str] | None = None,
    extra: dict | None = None,
) -> dict:
    """One line of the table. `ours` and each baseline are Timing or None."""
    base = [dict(label=label, **t.as_dict()) for label, t in baselines if t is not None]
    ratio = base[0]["median"] / ours.median if base and ours and ours.median > 0 else None
    return {
        "key": key,
        "operation": operation,
        "ours": ours.as_dict() if ours else None,
        "baselines": base,
        "ratio": ratio,
        "target": target,
        "met": met,
        "unit": unit,
        "notes": notes or [],
        "extra": extra or {},
    }


NO_BASELINE = "naive baseline not measured (`--no-baselines`)"


def delete_where_email_endswith(suffix: str) -> int:
    from supporters.demo import _cascade_raw_delete
    from supporters.models import Supporter

    return _cascade_raw_delete(Supporter.objects.filter(email__endswith=suffix))


def consent_records_save(supporter, purposes, *, source: str, wording_version: str) -> None:
    """The naive baselines' consent trail: one ConsentRecord.save() per granted purpose."""
    from supporters.models import ConsentRecord

    for purpose in purposes:
        ConsentRecord(
            supporter=supporter,
            purpose=purpose,
            granted=True,
            source=source,
            wording_version=wording_version,
        ).save()
