import pytest
from django.urls import reverse

from supporters.models import ConsentRecord, OutboxMessage, Supporter

pytestmark = pytest.mark.django_db

JOIN = reverse("supporters:join")


def join_data(**overrides):
    data = {
        "display_name": "Аня",
        "email": "anya@example.org",
        "location_text": "Новосибирск",
        "channel": "email",
        "frequency": "weekly",
        "topics": ["events"],
    }
    data.update(overrides)
    return data


def test_join_form_starts_with_every_consent_unchecked(client):
    page = client.get(JOIN).content.decode()
    for purpose in ["public_map", "introductions", "event_invitations", "email_updates"]:
        tag = page.split(f'name="consent_{purpose}"')[0].rsplit("<input", 1)[1]
        assert "checked" not in tag


def test_sign_up_with_a_cyrillic_city_stores_only_the_cell_and_locality(client):
    response = client.post(JOIN, join_data(consent_public_map="on", consent_email_updates="on"))

    assert response.status_code == 302
    supporter = Supporter.objects.get(email="anya@example.org")
    assert supporter.status == Supporter.Status.PENDING
    assert supporter.country_code == "RU"
    assert supporter.region == "Novosibirsk Oblast"
    assert supporter.location_precision == "city"
    assert supporter.consent_public_map and supporter.consent_email_updates
    assert not supporter.consent_introductions and not supporter.consent_event_invitations
    records = ConsentRecord.objects.filter(supporter=supporter)
    assert {r.purpose for r in records} == {"public_map", "email_updates"}
    assert all(r.granted and r.source == "form" and r.wording_version for r in records)
    mail = OutboxMessage.objects.get(supporter=supporter)
    assert mail.kind == "confirm" and "/confirm/" in mail.body_text
