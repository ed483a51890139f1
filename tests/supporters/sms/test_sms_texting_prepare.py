"""texting_prepare, the worker's job: the segment searched once, then written by batches of
the ids it found, each person once, and finished by a last search."""

import pytest
from django.contrib.gis.geos import Point

from supporters.organize.audit import Actor
from supporters.organize.models import Segment
from supporters.sms import texting as service
from supporters.sms.models import Texting, TextMessage

pytestmark = pytest.mark.django_db

MOSCOW = {"lon": 37.62, "lat": 55.75}


def test_batches_of_found_ids_write_only_recipients_and_the_last_search_finishes(
    texter, make_supporter, settings
):
    settings.SOSEDI_SMS_QUIET_HOURS = ()
    segment = Segment.objects.create(name="Centre", centre=Point(37.62, 55.75), radius_km=10)
    people = [texter(**MOSCOW) for _ in range(3)]
    no_consent = make_supporter(**MOSCOW, phone="+79160000001")
    texting = service.texting_start(
        segment=segment, body="Saturday", confirm_count=3, actor=Actor(user=None)
    )

    among = [people[0].pk, no_consent.pk]
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=10, among=among) == 1
    assert service.texting_prepare_batch(texting_id=texting.pk, batch=10, among=among) == 0
    texting.refresh_from_db()
    assert texting.status == Texting.Status.PREPARING  # a batch of given ids never finishes

    assert service.texting_prepare(texting_id=texting.pk, batch=1) == 2
    assert service.texting_prepare(texting_id=texting.pk, batch=1) == 0
    written = TextMessage.objects.filter(texting=texting)
    assert sorted(t.supporter_id for t in written) == sorted(p.pk for p in people)
    texting.refresh_from_db()
    assert (texting.status, texting.recipients_total) == (Texting.Status.SENDING, 3)
