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
