"""Fixtures of the text-message tests: people who accept texts."""

import pytest

from supporters.models import ConsentRecord, Purpose, Supporter
from supporters.services import consent_set

PHONES = iter(f"+7916{n:07d}" for n in range(1000001, 9999999))


@pytest.fixture
def texter(make_supporter):
    """An active supporter with a mobile number (E.164) who accepts texts, through the
    consent service (so their consent history holds the grant). `channel="phone"` makes
    texts their channel for invitations and group mail too."""

    def make(*, phone=None, channel="email", **kw):
        supporter = make_supporter(**kw)
        Supporter.objects.filter(pk=supporter.pk).update(
            phone=phone or next(PHONES), channel=channel
        )
        supporter.refresh_from_db()
        consent_set(
            supporter=supporter,
            purpose=Purpose.TEXT_MESSAGES,
            granted=True,
            source=ConsentRecord.Source.FORM,
        )
        supporter.refresh_from_db()
        return supporter

    return make
