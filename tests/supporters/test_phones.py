"""supporters/phones.py: one key however a number is written."""

import pytest

from supporters.phones import phone_key, phone_shown


@pytest.mark.parametrize(
    "written",
    ["+7 916 123-45-67", "8 (916) 123-45-67", "89161234567", "916 123 45 67", "+7(916)1234567"],
)
def test_the_ways_of_writing_a_russian_mobile_number_are_one_key(written):
    assert phone_key(written) == "+79161234567"
    assert phone_shown(phone_key(written)) == "+7 916 123-45-67"


def test_a_number_without_a_country_code_is_read_as_one_of_the_configured_country(settings):
    assert phone_key("020 7946 0958", region="GB") == "+442079460958"
    settings.SOSEDI_PHONE_REGION = "GB"
    assert phone_key("020 7946 0958") == "+442079460958"
    assert phone_key("+7 916 123-45-67") == "+79161234567"  # a country code wins


@pytest.mark.parametrize("written", ["", "123", "abc", "+7 12", "0000000000000000000"])
def test_what_cannot_be_a_phone_number_has_no_key(written):
    assert phone_key(written) == ""


def test_an_extension_is_not_part_of_the_key():
    assert phone_key("+7 495 123-45-67 доб. 12") == phone_key("+7 495 123-45-67")
