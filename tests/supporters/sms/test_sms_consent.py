"""The text-messages consent: offered with the phone on the join form and on the manage
page, recorded like the others (time, source, wording version); someone who joined by
text (no email, no name) has a manage page that works and cannot grant mail-only
consents."""

import re

import pytest
from django.urls import reverse

from geo.batch import BatchGeocoder
from supporters import links
from supporters.consent import EXPLANATIONS, WORDING_VERSION
from supporters.models import ConsentRecord, Purpose, Supporter
from supporters.organize.imports.report import RowError
from supporters.organize.imports.validating import RowForm, row_validate

pytestmark = pytest.mark.django_db

JOIN = "/join/"
TEXTS = "consent_text_messages"


def join_data(**overrides):
    return {
        "display_name": "Аня",
        "email": "anya@example.org",
        "location_text": "Новосибирск",
        "channel": "phone",
        "frequency": "weekly",
        "phone": "+7 916 123-45-67",
        **overrides,
    }


def manage(name, supporter):
    return reverse(f"supporters:{name}", args=[links.MANAGE.make(supporter.pk)])


def _checked(page: str, name: str) -> bool:
    return " checked" in re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def test_the_join_form_offers_texts_next_to_the_phone_unticked_with_its_script(client):
    page = client.get(JOIN).content.decode()
    assert not _checked(page, TEXTS)
    assert str(EXPLANATIONS[Purpose.TEXT_MESSAGES]) in page
    assert "Reply STOP" in page
    # Just after the phone field, in a box the script hides while the phone is empty.
    after_phone = page.split('name="phone"', 1)[1]
    assert after_phone.index(f'name="{TEXTS}"') < after_phone.index("</fieldset>")
    assert 'data-needs-phone="id_phone"' in page
    assert "/static/js/text-consent.js" in page


def test_texts_granted_on_the_join_form_are_recorded_with_source_and_wording(client):
    response = client.post(JOIN, join_data(**{TEXTS: "on", "consent_public_map": "on"}))
    assert response.status_code == 302
    supporter = Supporter.objects.get()
    assert supporter.consent_text_messages and supporter.phone == "+79161234567"
    record = supporter.consent_records.get(purpose="text_messages")
    assert (record.granted, record.source, record.wording_version) == (
        True,
        ConsentRecord.Source.FORM,
        WORDING_VERSION,
    )


def test_texts_ticked_without_a_phone_are_a_form_error_and_nobody_joins(client):
    response = client.post(JOIN, join_data(channel="email", phone="", **{TEXTS: "on"}))
    assert response.status_code == 400
    assert response.context["form"].errors[TEXTS] == ["Give a phone number to get text messages."]
    assert "Give a phone number to get text messages." in response.content.decode()
    assert not Supporter.objects.exists()


def test_an_invalid_phone_with_texts_ticked_gets_the_phones_error_only(client):
    response = client.post(JOIN, join_data(channel="email", phone="call me", **{TEXTS: "on"}))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "phone" in errors and TEXTS not in errors


def test_the_history_holds_a_grant_on_the_join_form_and_a_withdrawal_on_the_manage_page(client):
    client.post(JOIN, join_data(**{TEXTS: "on", "consent_public_map": "on"}))
    supporter = Supporter.objects.get()
    page = client.get(manage("manage", supporter)).content.decode()
    assert _checked(page, TEXTS) and "+7 916 123-45-67" in page

    response = client.post(manage("manage_consents", supporter), {"consent_public_map": "on"})
    assert response.status_code == 302
    supporter.refresh_from_db()
    assert not supporter.consent_text_messages and supporter.consent_public_map
    history = [
        (r.purpose, r.granted, r.source, r.wording_version)
        for r in supporter.consent_records.filter(purpose="text_messages").order_by("created_at")
    ]
    assert history == [
        ("text_messages", True, "form", WORDING_VERSION),
        ("text_messages", False, "manage_page", WORDING_VERSION),
    ]
    page = client.get(manage("manage", supporter)).content.decode()
    assert not _checked(page, TEXTS)
    assert page.count("receive text messages") == 2  # two rows of history (the box: "Receive")

    # Given again from the manage page: a third record.
    client.post(manage("manage_consents", supporter), {"consent_public_map": "on", TEXTS: "on"})
    assert supporter.consent_records.filter(purpose="text_messages").count() == 3


def test_the_manage_page_refuses_texts_for_someone_without_a_phone(client, make_supporter):
    supporter = make_supporter(consents=["public_map"])
    page = client.get(manage("manage", supporter)).content.decode()
    assert "Text messages need your phone number" in page
    response = client.post(manage("manage_consents", supporter), {TEXTS: "on"})
    assert response.status_code == 400
    assert response.context["consents_form"].errors[TEXTS] == [
        "Add your phone number below first, then allow text messages."
    ]
    supporter.refresh_from_db()
    assert supporter.consent_public_map and not supporter.consent_text_messages
    assert not supporter.consent_records.filter(purpose="text_messages").exists()


def test_the_number_cannot_be_removed_while_texts_are_allowed(client, texter):
    supporter = texter(name="Вера")
    response = client.post(
        manage("manage_profile", supporter),
        {"display_name": "Вера", "language": "ru", "channel": "email", "frequency": "monthly"},
    )
    assert response.status_code == 400
    assert "stop them above before removing your number" in response.content.decode()
    supporter.refresh_from_db()
    assert supporter.phone.startswith("+7916")


def _joined_by_text(make_supporter) -> Supporter:
    """As a sign-up by text leaves someone: a phone, texts allowed, no email, no name."""
    supporter = make_supporter(consents=["public_map"])
    Supporter.objects.filter(pk=supporter.pk).update(
        email="", display_name="", phone="+79161112233", channel="phone"
    )
    supporter.refresh_from_db()
    ConsentRecord.objects.create(
        supporter=supporter,
        purpose="text_messages",
        granted=True,
        source=ConsentRecord.Source.TEXT_MESSAGE,
        wording_version=WORDING_VERSION,
    )
    Supporter.objects.filter(pk=supporter.pk).update(consent_text_messages=True)
    supporter.refresh_from_db()
    return supporter


def test_someone_who_joined_by_text_has_a_manage_page_that_works(client, make_supporter):
    supporter = _joined_by_text(make_supporter)
    response = client.get(manage("manage", supporter))
    assert response.status_code == 200
    page = response.content.decode()
    assert "none: you joined by text message" in page and "+7 916 111-22-33" in page
    assert "text message" in page  # the consent's source in the history
    assert _checked(page, TEXTS)

    # Saving their profile asks for a name (a form error, not a failure), then saves.
    data = {"display_name": "", "language": "ru", "channel": "phone", "frequency": "weekly"}
    response = client.post(manage("manage_profile", supporter), data | {"phone": "+79161112233"})
    assert response.status_code == 400 and "display_name" in response.context["profile_form"].errors
    data["display_name"] = "Оля"
    response = client.post(manage("manage_profile", supporter), data | {"phone": "+79161112233"})
    assert response["Location"].endswith("?saved=profile")
    supporter.refresh_from_db()
    assert (supporter.display_name, supporter.language, supporter.email) == ("Оля", "ru", "")

    Supporter.objects.filter(pk=supporter.pk).update(consent_text_messages=False, channel="email")
    response = client.post(manage("manage_profile", supporter), data | {"channel": "email"})
    assert response.status_code == 400
    assert "keep a phone number" in response.content.decode()


@pytest.mark.parametrize("purpose", ["email_updates", "introductions"])
def test_without_an_address_the_mail_only_consents_cannot_be_granted(
    client, make_supporter, purpose
):
    supporter = _joined_by_text(make_supporter)
    response = client.post(manage("manage_consents", supporter), {f"consent_{purpose}": "on"})
    assert response.status_code == 400
    assert response.context["consents_form"].errors[f"consent_{purpose}"] == [
        "This needs an email address, and we have none for you."
    ]
    supporter.refresh_from_db()
    assert not getattr(supporter, f"consent_{purpose}") and supporter.consent_text_messages
    # The others are theirs to give: the map and texts need no address.
    response = client.post(
        manage("manage_consents", supporter), {"consent_public_map": "on", TEXTS: "on"}
    )
    assert response.status_code == 302


def test_an_import_row_allowing_texts_needs_a_number():
    form = RowForm(columns=RowForm.base_fields, places=BatchGeocoder(pin_source="import"))
    base = {"email": "a@example.org", "location": "Kazan", "consent_source": "paper form"}
    refused = row_validate(2, base | {TEXTS: "yes"}, form=form)
    assert refused == [RowError(2, TEXTS, "text messages need a phone number in the row")]
    row = row_validate(3, base | {TEXTS: "да", "phone": "8 916 123 45 67"}, form=form)
    assert (row.phone, row.consents) == ("+79161234567", {"text_messages": True})
