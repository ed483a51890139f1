"""The benchmark's synthetic people (bench/generate.py) load into the real tables as they
are now: a column added to the supporters table without a default must reach the
generator too, or `make bench` fails at its first step."""

import pytest
from django.conf import settings
from django.db import connection

from bench.generate import (
    CONSENT_COLUMNS,
    SUPPORTER_COLUMNS,
    Generator,
    copy_file,
    places_load,
    write_copy_files,
)
from supporters.models import ConsentRecord, Supporter

pytestmark = pytest.mark.django_db


def test_the_benchmarks_people_load_into_the_real_tables(tmp_path):
    generator = Generator(places_load(limit=50), seed=1, resolution=settings.SOSEDI_H3_RESOLUTION)
    people, consents, consent_rows = write_copy_files(
        generator, count=400, directory=tmp_path, batch=150
    )
    with connection.cursor() as cursor:
        copy_file(cursor.cursor, f"supporters_supporter ({SUPPORTER_COLUMNS})", people)
        copy_file(cursor.cursor, f"supporters_consentrecord ({CONSENT_COLUMNS})", consents)

    assert Supporter.objects.filter(location_source="bench").count() == 400
    assert ConsentRecord.objects.count() == consent_rows > 0
    on_the_map = Supporter.objects.filter(consent_public_map=True).count()
    assert 0.6 * 400 < on_the_map < 0.85 * 400  # seed_demo's rate, 72 %
    assert not Supporter.objects.filter(consent_text_messages=True).exists()  # no phones
