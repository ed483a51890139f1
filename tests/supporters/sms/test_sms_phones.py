"""Numbers: whatever way a phone is typed on the join form, the manage page or in an import,
it is stored in E.164; a number no phone can have is refused with a clear message."""

import pytest
from django.urls import reverse

from geo.batch import BatchGeocoder
from supporters import links
from supporters.forms import JoinForm, ProfileForm
from supporters.models import Supporter
from supporters.organize.imports.report import RowError
from supporters.organize.imports.validating import NOT_A_PHONE, RowForm, row_validate
from supporters.phones import phone_key, phone_normalise

pytestmark = pytest.mark.django_db

JOIN = "/join/"


def join_data(**overrides):
    return {
        "display_name": "Аня",
        "email": "anya@example.org",
        "location_text": "Новосибирск",
        "channel": "email",
        "frequency": "weekly",
        **overrides,
    }


def manage(name, supporter):
    return reverse(f"supporters:{name}", args=[links.MANAGE.make(supporter.pk)])


def profile_data(supporter, **overrides):
    return {
        "display_name": supporter.display_name,
        "language": "ru",
        "channel": "email",
        "frequency": "monthly",
        **overrides,
    }


@pytest.mark.parametrize(
    "typed",
    ["+7 916 123-45-67", "8 (916) 123-45-67", "89161234567", "916 123 45 67", "+7(916)1234567"],
)
def test_a_russian_mobile_number_written_any_way_normalises_to_e164(typed):
    assert phone_normalise(typed) == "+79161234567"


def test_a_number_without_a_country_code_is_read_in_the_default_region(settings):
    assert phone_normalise("020 7946 0958", region="GB") == "+442079460958"
    settings.SOSEDI_PHONE_REGION = "GB"
    assert phone_normalise("020 7946 0958") == "+442079460958"
    assert phone_normalise("+7 916 123-45-67") == "+79161234567"  # a country code wins


@pytest.mark.parametrize(
    "typed",
    ["", "12", "call me", "+7 12", "+7 916 123", "+7 000 000-00-00", "0000000000000000000"],
)
def test_what_no_phone_can_have_is_a_value_error(typed):
    with pytest.raises(ValueError):
        phone_normalise(typed)


def test_a_possible_but_unassigned_number_is_refused_though_it_still_has_a_duplicate_key():
    # +7 000 ... has the right length (phone_key's test) but no Russian range starts so.
    assert phone_key("+7 000 123-45-67") == "+70001234567"
    with pytest.raises(ValueError):
        phone_normalise("+7 000 123-45-67")


def test_the_join_form_stores_the_number_in_e164(client):
    response = client.post(JOIN, join_data(phone="8 (916) 123-45-67"))
    assert response.status_code == 302
    assert Supporter.objects.get().phone == "+79161234567"


@pytest.mark.parametrize("typed", ["call me", "+7 000 123-45-67", "12345"])
def test_the_join_form_refuses_an_invalid_number_with_an_example(client, typed):
    response = client.post(JOIN, join_data(phone=typed))
    assert response.status_code == 400
    (error,) = response.context["form"].errors["phone"]
    assert error == "Enter a valid phone number, for example +7 912 345-67-89."
    assert error in response.content.decode()
    assert not Supporter.objects.exists()


def test_the_example_is_one_of_the_configured_regions_numbers(settings):
    settings.SOSEDI_PHONE_REGION = "GB"
    form = JoinForm({"phone": "12"})
    form.is_valid()
    assert form.errors["phone"] == ["Enter a valid phone number, for example +44 7400 123456."]


def test_the_manage_page_stores_a_changed_number_in_e164_and_refuses_an_invalid_one(
    client, make_supporter
):
    supporter = make_supporter(name="Вера")
    response = client.post(
        manage("manage_profile", supporter), profile_data(supporter, phone="8 916 555 00 01")
    )
    assert response.status_code == 302
    supporter.refresh_from_db()
    assert supporter.phone == "+79165550001"
    page = client.get(manage("manage", supporter)).content.decode()
    assert "+7 916 555-00-01" in page  # shown the way people write it

    response = client.post(
        manage("manage_profile", supporter), profile_data(supporter, phone="+7 000 000-00-00")
    )
    assert response.status_code == 400
    assert response.context["profile_form"].errors["phone"] == [
        "Enter a valid phone number, for example +7 912 345-67-89."
    ]
    supporter.refresh_from_db()
    assert supporter.phone == "+79165550001"  # unchanged


def _import_row(phone: str):
    form = RowForm(columns=RowForm.base_fields, places=BatchGeocoder(pin_source="import"))
    return row_validate(
        2, {"email": "a@example.org", "phone": phone, "location": "Kazan"}, form=form
    )


def test_an_import_stores_e164_and_reports_an_invalid_number_in_its_own_words():
    assert _import_row("8 (916) 123-45-67").phone == "+79161234567"
    assert NOT_A_PHONE == "not a valid phone number"
    for typed in ("+7 000 123-45-67", "call me", "x" * 40):
        assert _import_row(typed) == [RowError(2, "phone", "not a valid phone number")]


@pytest.mark.parametrize("typed", ["+7 900 000-00-00", "(495) 123.45.67", "+7 000 000-00-00"])
def test_the_forms_and_the_import_agree_on_a_number(typed):
    valid = typed != "+7 000 000-00-00"
    row = _import_row(typed)
    join, profile = JoinForm({"phone": typed}), ProfileForm({"phone": typed})
    join.is_valid(), profile.is_valid()
    assert ("phone" not in join.errors) is valid and ("phone" not in profile.errors) is valid
    assert isinstance(row, list) is not valid
    if valid:
        assert row.phone == join.cleaned_data["phone"] == profile.cleaned_data["phone"]
