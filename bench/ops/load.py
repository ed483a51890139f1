"""Loading N supporters: COPY against one save() a row."""

import os
import shutil
import time

from bench.ops.common import (
    NO_BASELINE,
    Ctx,
    consent_records_save,
    delete_where_email_endswith,
    row,
)

PURPOSES = ("public_map", "introductions", "event_invitations", "email_updates")


def run(ctx: Ctx) -> list[dict]:
    from django.conf import settings

    from bench.generate import Generator, bulk_load, places_load, write_copy_files
    from bench.measure import Timing, once

    places = places_load()
    resolution = settings.SOSEDI_H3_RESOLUTION
    gen = Generator(places, seed=ctx.seed, resolution=resolution)
    copy_dir = ctx.workdir / "copy"
    gen_s, (people_path, consent_path, consents) = once(
        lambda: write_copy_files(gen, count=ctx.n, directory=copy_dir)
    )
    conninfo = os.environ["DATABASE_URL"].replace("postgis://", "postgresql://", 1)
    load_s, phases = once(lambda: bulk_load(conninfo, people_path, consent_path))
    shutil.rmtree(copy_dir, ignore_errors=True)

    ours = Timing([load_s])
    rate = ctx.n / load_s
    notes = [
        "secondary indexes and the foreign key dropped, both tables COPYed at once "
        "on two connections, indexes rebuilt on two, key re-added, ANALYZE: "
        + ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in phases.items())
        + f"; {rate:,.0f} supporters/s",
        f"generating the rows (numpy, bench/generate.py) took {gen_s:.1f} s more, "
        "outside the timed load",
    ]
    baselines = []
    if ctx.baselines:
        sample, per_row = _per_row_sample(ctx, places, resolution)
        baseline = Timing(per_row, extrapolated=True)
        naive_total = Timing([sum(per_row) / sample * ctx.n], extrapolated=True)
        baselines = [("per-row save(), extrapolated from a sample", naive_total)]
        notes.append(
            f"baseline: {sample:,} people saved one by one, median "
            f"{baseline.median * 1000:.1f} ms each, extrapolated to N"
        )
    else:
        notes.append(NO_BASELINE)
    return [
        row(
            "load",
            f"loading N supporters (COPY, with {consents:,} consent records)",
            ours=ours,
            baselines=baselines,
            target="under 60 s",
            met=load_s < 60,
            notes=notes,
            extra={"generate_s": gen_s, "rows_per_s": rate, "phases": phases},
        )
    ]


def _per_row_sample(ctx: Ctx, places, resolution: int) -> tuple[int, list[float]]:
    """The naive way: one save() per person and per consent, each its own transaction;
    seconds per person for a sample."""
    from bench.generate import Generator
    from supporters.models import Supporter

    sample = ctx.scaled(1000, 2000)
    sample_domain = "sample.bench.sosedi.invalid"
    sgen = Generator(
        places, seed=ctx.seed + 1, resolution=resolution, prefix="s", domain=sample_domain
    )
    b = sgen.batch(0, sample)
    per_row = []
    for i in range(sample):
        p = places[b.place[i]]
        language = str(b.language[i])
        started = time.perf_counter()
        s = Supporter(
            email=b.emails[i],
            display_name=b.names[i],
            language=language,
            status=str(b.status[i]),
            confirmed_at=b.confirmed[i] or None,
            city=p.name_ru if language == "ru" and p.name_ru else p.name,
            region=p.region,
            country_code=p.country_code,
            cell=b.cell[i],
            location=f"SRID=4326;POINT({b.lon[i]} {b.lat[i]})",
            location_precision="street",
            location_source="bench",
            frequency=str(b.frequency[i]),
            topics=b.topics[i].strip("{}").split(",") if b.topics[i] != "{}" else [],
            **{f"consent_{x}": bool(g) for x, g in zip(PURPOSES, b.consents[i], strict=True)},
        )
        s.save()
        granted = [x for x, g in zip(PURPOSES, b.consents[i], strict=True) if g]
        consent_records_save(s, granted, source="demo", wording_version="bench")
        per_row.append(time.perf_counter() - started)
    delete_where_email_endswith(f"@{sample_domain}")
    return sample, per_row
