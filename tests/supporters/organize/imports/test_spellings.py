"""The usual spellings of columns: a field proposed for each header, unknown ones ignored."""

import pytest

from supporters.organize.imports.spellings import FIELDS, columns_propose, field_propose
from tests.supporters.organize.imports.files import (
    AN_HEADER,
    CIVICRM_HEADER,
    RUSSIAN_HEADER,
)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Эл. почта", "email"),
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("EMAIL", "email"),
        ("Почта", "email"),
        ("Электронная почта", "email"),
        ("Имя", "first_name"),
        ("ФИО", "name"),
        ("Фамилия, имя, отчество", "name"),
        ("Фамилия", "last_name"),
        ("Отчество", "middle_name"),
        ("Телефон", "phone"),
        ("Тел.", "phone"),
        ("Город", "location"),
        ("Населённый пункт", "location"),
        ("Населенный пункт", "location"),
        ("Адрес", "address"),
        ("Индекс", "postcode"),
        ("Страна", "country"),
        ("Метки", "tags"),
        ("Теги", "tags"),
        ("Дата", "joined_at"),
        ("Дата регистрации", "joined_at"),
        ("Язык", "language"),
        ("Широта", "lat"),
        ("Долгота", "lon"),
        ("Источник согласия", "consent_source"),
        # one field per purpose, by the words that name it
        ("Согласие на рассылку", "consent_email_updates"),
        ("Согласие на получение новостей по email", "consent_email_updates"),
        ("Согласие на показ на карте", "consent_public_map"),
        ("Согласие на знакомство с соседями", "consent_introductions"),
        ("Согласие на приглашения на встречи соседей", "consent_event_invitations"),
        ("Согласие на приглашения на мероприятия", "consent_event_invitations"),
        ("Consent to appear on the map", "consent_public_map"),
        ("Consent: email updates", "consent_email_updates"),
        ("consent_introductions", "consent_introductions"),
        # consent to process personal data is no purpose of Sosedi's
        ("Согласие на обработку персональных данных", ""),
        ("Комментарий", ""),
        ("", ""),
    ],
)
def test_russian_and_english_spellings_propose_their_field(header, field):
    assert field_propose(header) == field


def test_a_civicrm_contact_export_is_recognised():
    assert columns_propose(CIVICRM_HEADER) == {
        "Contact ID": "",
        "Contact Type": "",
        "Sort Name": "",
        "Display Name": "name",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Street Address": "address",
        "City": "location",
        "Postal Code": "postcode",
        "Country": "country",
        "Do Not Email": "email_opt_out",
        "No Bulk Emails (User Opt Out)": "email_opt_out",  # either opt-out counts
        "Preferred Language": "language",
        "Group(s)": "tags",  # both groups and tags become tags
        "Tag(s)": "tags",
    }


def test_an_action_network_export_is_recognised():
    assert columns_propose(AN_HEADER) == {
        "uuid": "",
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "zip_code": "postcode",
        "can2_user_city": "location",
        "can2_state_abbreviated": "",
        "can2_phone": "phone",
        "can2_subscription_status": "consent_email_updates",
        "can2_sms_status": "",
        "can2_user_tags": "tags",
    }


def test_a_russian_spreadsheet_is_recognised_but_for_its_comment():
    assert columns_propose(RUSSIAN_HEADER) == {
        "ФИО": "name",
        "Эл. почта": "email",
        "Телефон": "phone",
        "Город": "location",
        "Метки": "tags",
        "Согласие на рассылку": "consent_email_updates",
        "Согласие на показ на карте": "consent_public_map",
        "Дата": "joined_at",
        "Комментарий": "",
    }


def test_a_field_goes_to_the_first_column_that_spells_it():
    assert columns_propose(["Email", "Почта", "Город", "City", "Метки", "Теги"]) == {
        "Email": "email",
        "Почта": "",
        "Город": "location",
        "City": "",
        "Метки": "tags",
        "Теги": "tags",
    }


def test_every_field_is_proposed_for_its_own_name():
    assert {name: field_propose(name) for name in FIELDS} == {name: name for name in FIELDS}
