"""The fields an import fills and the usual spellings of their columns: Russian and
English, spreadsheets' own and those of CiviCRM and Action Network contact exports.

A header is compared without case, spaces or punctuation ('E-mail', 'EMAIL', 'e_mail' are
one spelling). 'Согласие на …' and 'Consent to …' columns are told apart by the purpose
they name. A header nobody spells this way is proposed as ignored; the organizer may
choose a field for it, or ignore a column proposed here.
"""

import re

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from supporters.forms import CONSENT_FIELDS

# Each field an import fills, with its name on the mapping page, in the page's order.
FIELDS = {
    "email": _("email address"),
    "name": _("full name"),
    "first_name": _("first name"),
    "middle_name": _("middle name or patronymic"),
    "last_name": _("last name"),
    "phone": _("phone"),
    "language": _("language (en or ru)"),
    "location": _("town or city"),
    "address": _("street address (places the person; not kept)"),
    "postcode": _("postcode (places the person; not kept)"),
    "country": _("country (places the town)"),
    "lat": _("latitude"),
    "lon": _("longitude"),
    "tags": _("tags"),
    "joined_at": _("date joined"),
    **{
        name: format_lazy("{}: {}", _("consent"), purpose.label)
        for name, purpose in CONSENT_FIELDS.items()
    },
    "email_opt_out": _("opted out of email (yes withdraws the email consent)"),
    "consent_source": _("where the consent was given"),
}
# Fields that several columns may fill: tags are put together, and any opt-out counts
# (CiviCRM has 'Do Not Email' and 'No Bulk Emails').
MANY_COLUMNS = {"tags", "email_opt_out"}
# The fields a person's name is put together from when no column holds the full name.
NAME_PARTS = ("first_name", "middle_name", "last_name")
# The fields that place a person (besides lat and lon); none of them is kept.
PLACE_PARTS = ("location", "address", "postcode", "country")

_SPELLINGS = {
    "email": [
        "email", "emailaddress", "mail", "primaryemail", "emailадрес", "элпочта", "эпочта",
        "электроннаяпочта", "адресэлектроннойпочты", "почта", "почтаemail", "емейл", "емэйл",
        "имейл", "емайл", "эмейл",
    ],
    "name": [
        "name", "fullname", "displayname", "contactname", "фио", "фамилияимяотчество",
        "фамилияимя", "фамилияиимя", "имяфамилия", "имяифамилия", "полноеимя", "имяполностью",
    ],
    "first_name": ["firstname", "first", "givenname", "forename", "имя"],
    "middle_name": ["middlename", "patronymic", "отчество"],
    "last_name": ["lastname", "last", "surname", "familyname", "фамилия"],
    "phone": [
        "phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell",
        "cellphone", "primaryphone", "can2phone", "телефон", "тел", "номертелефона",
        "мобильный", "мобильныйтелефон", "телефонмобильный", "сотовый", "контактныйтелефон",
    ],
    "language": ["language", "lang", "preferredlanguage", "язык"],
    "location": [
        "location", "city", "town", "locality", "usercity", "can2usercity", "город",
        "населенныйпункт", "нп", "городнаселенныйпункт", "городпроживания", "местожительства",
        "местопроживания",
    ],
    "address": [
        "address", "streetaddress", "street", "address1", "addressline1", "useraddress",
        "can2useraddress", "адрес", "адреспроживания", "домашнийадрес", "почтовыйадрес",
        "улица",
    ],
    "postcode": [
        "postcode", "postalcode", "zip", "zipcode", "zippostalcode", "индекс",
        "почтовыйиндекс",
    ],
    "country": ["country", "countrycode", "can2country", "страна"],
    "lat": ["lat", "latitude", "широта"],
    "lon": ["lon", "lng", "long", "longitude", "долгота"],
    "tags": [
        "tags", "tag", "groups", "group", "usertags", "can2usertags", "метки", "метка",
        "теги", "тег", "группы", "ярлыки",
    ],
    "joined_at": [
        "joinedat", "joined", "joindate", "datejoined", "created", "createdat", "createddate",
        "datecreated", "signupdate", "registrationdate", "дата", "датарегистрации",
        "датаподписки", "датадобавления", "датавступления",
    ],
    "consent_email_updates": [
        "subscriptionstatus", "can2subscriptionstatus", "subscribed", "newsletter",
        "emailupdates", "рассылка", "подписка", "подписканарассылку",
    ],
    "email_opt_out": [
        "donotemail", "nobulkemailsuseroptout", "nobulkemails", "isoptout", "optout",
        "emailoptout", "unsubscribed", "отписался", "отписка", "отказотрассылки",
    ],
    "consent_source": ["consentsource", "источниксогласия"],
}  # fmt: skip
SPELLINGS = {spelling: field for field, spellings in _SPELLINGS.items() for spelling in spellings}
for _field in FIELDS:
    SPELLINGS.setdefault(re.sub(r"[\W_]+", "", _field), _field)

# 'Согласие на …' / 'Consent to …': the purpose (or the source) by the words that name it,
# in this order ('приглашения на встречи соседей' is an invitation, not an introduction).
_CONSENT_PREFIXES = ("согласие", "согласен", "consent")
_CONSENT_WORDS = [
    ("consent_source", ("источник", "source", "где", "откуда")),
    ("consent_public_map", ("карт", "map")),
    ("consent_introductions", ("знаком", "introduc")),
    ("consent_event_invitations", ("приглаш", "событ", "мероприят", "встреч", "event", "invit")),
    ("consent_introductions", ("сосед", "neighbour", "neighbor")),
    ("consent_email_updates", ("рассыл", "новост", "email", "mail", "почт", "письм", "update")),
]


def spelling_key(header: str) -> str:
    """A header without case, 'ё', spaces or punctuation: 'Эл. почта' is 'элпочта'."""
    return re.sub(r"[\W_]+", "", header.casefold().replace("ё", "е"))


def field_propose(header: str) -> str:
    """The field a column of this name holds, or '' (ignored) if the name is not known."""
    key = spelling_key(header)
    if key in SPELLINGS:
        return SPELLINGS[key]
    if key.startswith(_CONSENT_PREFIXES):
        for field, words in _CONSENT_WORDS:
            if any(word in key for word in words):
                return field
    return ""


def columns_propose(header: list[str]) -> dict[str, str]:
    """{column: field} for every named column; a field goes to the first column that
    spells it (save the fields of MANY_COLUMNS), later ones are proposed as ignored."""
    columns, taken = {}, set()
    for name in header:
        if not name:
            continue
        field = field_propose(name)
        if field in taken and field not in MANY_COLUMNS:
            field = ""
        columns[name] = field
        taken.add(field)
    return columns
