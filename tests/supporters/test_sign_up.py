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


def test_joining_again_with_a_known_address_looks_the_same_and_mails_the_owner(client):
    first = client.post(JOIN, join_data())
    Supporter.objects.filter(email="anya@example.org").update(
        status="active", confirmed_at="2026-01-01T00:00Z"
    )
    second = client.post(JOIN, join_data(email="ANYA@example.org", display_name="Someone else"))

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Supporter.objects.count() == 1
    assert Supporter.objects.get().display_name == "Аня"
    kinds = list(OutboxMessage.objects.order_by("created_at").values_list("kind", flat=True))
    assert kinds == ["confirm", "already_registered"]
    assert "/manage/" in OutboxMessage.objects.get(kind="already_registered").body_text


def test_joining_again_before_confirming_resends_a_confirmation_link(client):
    client.post(JOIN, join_data())
    client.post(JOIN, join_data())
    assert Supporter.objects.count() == 1
    assert OutboxMessage.objects.filter(kind="confirm").count() == 2


def test_an_unknown_place_is_a_form_error_with_suggestions_and_saves_nothing(client):
    response = client.post(JOIN, join_data(location_text="Новосибирскк"))

    assert response.status_code == 400
    page = response.content.decode()
    assert "We could not find" in page
    assert 'data-value="Novosibirsk' in page or 'data-value="Новосибирск' in page
    assert not Supporter.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("lat,lon", [("91", "10"), ("-90.5", "0"), ("10", "180.01"), ("0", "-181")])
def test_pin_coordinates_out_of_range_are_a_bad_request(client, lat, lon):
    response = client.post(JOIN, join_data(location_text="", pin_lat=lat, pin_lon=lon))
    assert response.status_code == 400
    assert not Supporter.objects.exists()


def test_a_pin_is_snapped_to_its_cell_and_named_after_the_nearest_town(client):
    response = client.post(JOIN, join_data(location_text="", pin_lat="55.0302", pin_lon="82.9204"))

    assert response.status_code == 302
    supporter = Supporter.objects.get()
    assert supporter.location_source == "pin"
    assert (supporter.location.y, supporter.location.x) != (55.0302, 82.9204)
    assert supporter.location.distance(supporter.location.__class__(82.9204, 55.0302)) < 0.01
    assert supporter.country_code == "RU"


def test_required_fields_and_a_bad_email_are_reported(client):
    response = client.post(JOIN, join_data(display_name="", email="not-an-email"))
    assert response.status_code == 400
    assert response.context["form"].errors.keys() >= {"display_name", "email"}
    assert not Supporter.objects.exists()


def test_phone_channel_needs_a_phone_number(client):
    response = client.post(JOIN, join_data(channel="phone", phone=""))
    assert response.status_code == 400
    assert "phone" in response.context["form"].errors


def test_html_typed_into_the_form_is_escaped_wherever_it_is_shown(client):
    evil = '<script>alert("x")</script>'
    response = client.post(JOIN, join_data(display_name=evil, location_text=evil))
    assert response.status_code == 400
    assert evil not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()

    client.post(JOIN, join_data(display_name=evil))
    mail = OutboxMessage.objects.get()
    outbox_page = client.get(reverse("supporters:dev_outbox_message", args=[mail.pk]))
    assert evil not in outbox_page.content.decode()


def test_sign_ups_per_address_are_limited_per_hour_and_the_ip_is_not_stored(client, settings):
    from supporters.models import RateLimitEvent

    settings.SOSEDI_SIGNUPS_PER_IP_PER_HOUR = 3
    codes = [
        client.post(
            JOIN, join_data(email=f"p{i}@example.org"), REMOTE_ADDR="203.0.113.9"
        ).status_code
        for i in range(4)
    ]
    assert codes == [302, 302, 302, 429]
    assert Supporter.objects.count() == 3
    assert not RateLimitEvent.objects.filter(key__contains="203.0.113.9").exists()
    # Another address is not affected.
    other = client.post(JOIN, join_data(email="q@example.org"), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302


def test_the_development_outbox_lists_each_mail_and_no_flash_notices(client, settings):
    settings.DEBUG = True
    client.post(JOIN, join_data())
    mail = OutboxMessage.objects.get()
    page = client.get(reverse("supporters:dev_outbox")).content.decode()
    assert reverse("supporters:dev_outbox_message", args=[mail.pk]) in page
    assert mail.subject in page
    # The outbox's rows are not mistaken for the site's flash messages.
    assert 'class="messages"' not in page


def test_a_phone_must_look_like_a_phone_number_as_in_an_import(client):
    response = client.post(JOIN, join_data(channel="phone", phone="call me"))
    assert response.status_code == 400 and "phone" in response.context["form"].errors
    assert not Supporter.objects.exists()
    response = client.post(JOIN, join_data(channel="phone", phone="+7 (900) 123-45-67"))
    assert response.status_code == 302
    assert Supporter.objects.get().phone == "+79001234567"  # stored in E.164


def test_joining_with_an_address_merged_into_another_record_mails_that_person(
    client, make_supporter
):
    from supporters.organize.audit import Actor
    from supporters.organize.merge import supporter_merge

    kept = make_supporter(email="anya@example.org", name="Аня")
    old = make_supporter(email="anya.old@example.org", name="Аня")
    supporter_merge(kept=kept, merged=old, actor=Actor(user=None))
    OutboxMessage.objects.all().delete()

    fresh = client.post(JOIN, join_data(email="someone.new@example.org"))
    again = client.post(JOIN, join_data(email="ANYA.OLD@example.org", display_name="Other"))

    assert fresh.status_code == again.status_code == 302
    assert fresh["Location"] == again["Location"]  # the same page: nothing told
    assert not Supporter.objects.filter(email__iexact="anya.old@example.org").exists()
    assert Supporter.objects.get(pk=kept.pk).display_name == "Аня"
    mail = OutboxMessage.objects.get(kind="already_registered")
    assert (mail.supporter, mail.to_email) == (kept, "anya@example.org")
