"""Phone numbers compared as numbers: "8 (916) 123-45-67" and "+7 916 1234567" are one."""

import phonenumbers
from django.conf import settings


def phone_key(phone: str, *, region: str = "") -> str:
    """The number in E.164 ("+79161234567"), or "" if it cannot be a phone number.

    A number written without a country code is read as one of `region` (default
    SOSEDI_PHONE_REGION). An extension is not part of the key.
    """
    try:
        number = phonenumbers.parse(phone, region or settings.SOSEDI_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_shown(key: str) -> str:
    """A key written the international way, for people: "+7 916 123-45-67"."""
    number = phonenumbers.parse(key)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_normalise(text: str, *, region: str = "") -> str:
    """The number a person typed, in E.164 ("+79161234567"); ValueError if it is not a
    number a phone can have (phonenumbers' is_valid_number: a real range of a real country).

    Stricter than phone_key, which only asks whether it could be a number: what is stored
    must be one a text can reach. A number without a country code is read as one of
    `region` (default SOSEDI_PHONE_REGION); an extension is dropped.
    """
    try:
        number = phonenumbers.parse(text, region or settings.SOSEDI_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_example(*, region: str = "") -> str:
    """A mobile number of `region` as people write it, for form errors ("+7 912 345-67-89")."""
    region = region or settings.SOSEDI_PHONE_REGION
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    number = number or phonenumbers.example_number(region)
    if number is None:
        return "+7 912 345-67-89"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
