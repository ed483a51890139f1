"""Texting a segment of 10,000: started and every text written with its delivery job, as
the worker does, against one text and one job saved a person at a time."""

import time

from bench.ops.common import Ctx, row
from bench.ops.invitations import MOSCOW, jobs_delete_after, jobs_mark

PEOPLE = 10_000
RADIUS_KM = 6  # 15,286 active people, 10,000 of them given a number
SAMPLE = 500
TARGET_S = 10.0
BODY = "Соседи, в субботу в 11:00 убираем парк у пруда. Перчатки и мешки дадим. Придёте?"


def _phones_give(centre, *, count: int) -> list:
    """Give `count` active people of the segment's area a mobile number and the texts
    consent (the generated population has neither); returns their ids, to undo."""
    from django.contrib.gis.measure import D
    from django.db import connection

    from supporters.models import Supporter

    ids = list(
        Supporter.objects.filter(
            status=Supporter.Status.ACTIVE,
            phone="",
            consent_text_messages=False,
            location__dwithin=(centre, D(km=RADIUS_KM)),
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE supporters_supporter s SET phone = '+7999' || lpad(n::text, 7, '0'),"
            " consent_text_messages = true"
            " FROM unnest(%s::uuid[]) WITH ORDINALITY AS t(id, n) WHERE s.id = t.id",
            [ids],
        )
    return ids


def _phones_take_back(ids: list) -> None:
    from supporters.models import Supporter

    Supporter.objects.filter(pk__in=ids).update(phone="", consent_text_messages=False)


def run(ctx: Ctx) -> list[dict]:
    from django.conf import settings
    from django.contrib.gis.geos import Point
    from django.utils import timezone

    from bench.measure import Timing, repeat
    from geo.nearest import places_nearest
    from geo.timezones import ANYWHERE_KM
    from supporters.organize.audit import Actor
    from supporters.organize.models import Segment
    from supporters.sms.models import Texting, TextMessage
    from supporters.sms.services import quiet_until, text_compose
    from supporters.sms.tasks import deliver_text
    from supporters.sms.texting import (
        _zone,
        texting_audience,
        texting_members,
        texting_prepare,
        texting_start,
        texting_text,
    )

    centre = Point(*MOSCOW, srid=4326)
    mark = jobs_mark()
    ids = _phones_give(centre, count=PEOPLE)
    segment = Segment.objects.create(name="Центр Москвы", centre=centre, radius_km=RADIUS_KM)
    found = {}

    def cleanup():
        TextMessage.objects.filter(kind__startswith="texting:").delete()
        Texting.objects.filter(segment=segment).delete()
        jobs_delete_after(mark)

    cleanups: list[float] = []

    def texting():
        started = time.perf_counter()
        cleanup()
        cleanups.append(time.perf_counter() - started)
        # What the coordinator's Send does, then what the worker's job does.
        sending = texting_start(
            segment=segment, body=BODY, actor=Actor(user=None), confirm_count=shown
        )
        texting_prepare(texting_id=sending.pk, batch=settings.SOSEDI_MAILING_BATCH)
        found["texts"] = TextMessage.objects.filter(texting=sending).count()
        found["held"] = TextMessage.objects.filter(
            texting=sending, not_before__isnull=False
        ).count()

    try:
        shown = texting_audience(segment=segment, body=BODY).recipients  # the form's count
        ours = repeat(texting, repeats=ctx.scaled(1, 3), warmup=0)
        ours = Timing([s - c for s, c in zip(ours.samples, cleanups, strict=True)])
        cleanup()

        # Baseline: each recipient's zone looked up, and their text and its job saved, one
        # person at a time (each in its own transaction).
        sending = Texting.objects.create(segment=segment, body=BODY, recipients_total=PEOPLE)
        people = list(texting_members(segment=segment).order_by("pk")[:SAMPLE])
        now = timezone.now()
        started = time.perf_counter()
        for person in people:
            (place,) = places_nearest(
                [(person.location.x, person.location.y)], within_km=ANYWHERE_KM
            )
            text = text_compose(
                supporter=person,
                kind=f"texting:{sending.pk}",
                body=texting_text(body=BODY, language=person.language),
                not_before=quiet_until(_zone(place), now=now),
            )
            text.texting = sending
            text.save()
            if text.not_before is None:
                deliver_text.defer(text_id=text.pk)
            else:
                deliver_text.configure(schedule_at=text.not_before).defer(text_id=text.pk)
        per_person = (time.perf_counter() - started) / len(people)
    finally:
        cleanup()
        segment.delete()
        _phones_take_back(ids)
    naive = Timing([per_person * PEOPLE], extrapolated=True)
    return [
        row(
            "texting",
            f"texting a segment of {found['texts']:,} prepared",
            ours=ours,
            baselines=[("one text + one job saved at a time, extrapolated", naive)],
            target=f"≤ {TARGET_S:.0f} s",
            met=ours.median <= TARGET_S and found["texts"] >= PEOPLE,
            notes=[
                f"{PEOPLE:,} people within {RADIUS_KM} km of central Moscow given a number "
                "and the texts consent for the run (the generated population has neither) "
                "and taken back after it",
                "texting_start (the Send button, which counts the audience again), then "
                "texting_prepare (the worker's job): each text held for "
                "the quiet hours of its recipient's zone, with its delivery job; "
                f"{found['held']:,} held for quiet hours in the last sample",
                f"baseline: {len(people)} people one at a time, extrapolated to {PEOPLE:,}",
                "each run leaves its audit entry (the audit log is append-only)",
            ],
        )
    ]
