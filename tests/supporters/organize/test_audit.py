"""The audit log: written for every view, export and message; nobody can rewrite it."""

import pytest
from django.contrib.gis.geos import Point
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from supporters import services as supporter_services
from supporters.organize.models import AuditEntry, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def moscow_segment(make_supporter):
    for i in range(3):
        make_supporter(lon=37.62, lat=55.75, email=f"m{i}@example.org", consents=["email_updates"])
    make_supporter(lon=30.31, lat=59.94, email="spb@example.org", consents=["email_updates"])
    return Segment.objects.create(name="Moscow", centre=Point(37.62, 55.75, srid=4326), radius_km=5)


def test_viewing_people_exporting_and_mailing_each_append_one_entry(as_role, moscow_segment):
    client = as_role("coordinator")
    pk = moscow_segment.pk
    client.get(reverse("organize:segment_people", args=[pk]), REMOTE_ADDR="203.0.113.7")
    client.get(reverse("organize:segment_export", args=[pk, "people", "csv"]))
    client.get(reverse("organize:segment_export", args=[pk, "cells", "geojson"]))
    client.post(
        reverse("organize:mailing_create", args=[pk]),
        {"subject": "Meet on Saturday", "body": "Hi {name}", "confirm_count": 3},
    )
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.row_count) for e in entries] == [
        ("view_people", 3),
        ("export", 3),
        ("export", 1),  # one cell
        ("mailing", 3),
    ]
    first = entries[0]
    assert first.actor == "coordinator-user" and first.client == "203.0.113.7"
    assert first.filter["radius_km"] == 5 and first.filter["centre"] == [37.62, 55.75]
    assert entries[1].filter["level"] == "people" and entries[2].filter["format"] == "geojson"
    # The log holds the filter, never who was in it.
    for e in entries:
        assert "example.org" not in str(e.filter) + e.detail


def test_organizers_aggregate_views_are_not_person_level_and_not_logged(as_role, moscow_segment):
    client = as_role("organizer")
    client.get(reverse("organize:dashboard"))
    client.get(reverse("organize:segment", args=[moscow_segment.pk]))
    assert not AuditEntry.objects.exists()


def test_the_database_refuses_to_update_or_delete_an_entry():
    entry = AuditEntry.objects.create(actor="x", action="export", filter={}, row_count=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(row_count=0)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM supporters_auditentry")
    assert AuditEntry.objects.get(pk=entry.pk).row_count == 1


def test_the_admin_site_shows_the_log_read_only(as_role):
    AuditEntry.objects.create(actor="x", action="export", filter={"a": 1}, row_count=1)
    client = as_role("admin")
    listing = client.get(reverse("organize:audit"))
    assert listing.status_code == 200 and b"export" in listing.content.lower()
    entry = AuditEntry.objects.get()
    page = client.get(reverse("admin:supporters_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert b'name="row_count"' not in page.content  # no editable field
    assert (
        client.post(reverse("admin:supporters_auditentry_delete", args=[entry.pk])).status_code
        == 403
    )


def test_erasing_a_person_leaves_the_log_and_the_log_does_not_name_them(as_role, moscow_segment):
    client = as_role("coordinator")
    client.get(reverse("organize:segment_export", args=[moscow_segment.pk, "people", "csv"]))
    from supporters.models import Supporter

    person = Supporter.objects.get(email="m0@example.org")
    person_id = str(person.pk)
    supporter_services.supporter_erase(supporter=person)
    assert not Supporter.objects.filter(pk=person_id).exists()
    assert AuditEntry.objects.count() == 1
    assert person_id not in str(AuditEntry.objects.values_list("filter", "detail").get())


def test_the_client_address_can_be_kept_as_a_keyed_hash(as_role, moscow_segment, settings):
    settings.SOSEDI_AUDIT_HASH_IP = True
    as_role("coordinator").get(
        reverse("organize:segment_people", args=[moscow_segment.pk]), REMOTE_ADDR="203.0.113.7"
    )
    client = AuditEntry.objects.get().client
    assert client.startswith("hmac:") and "203.0.113" not in client
