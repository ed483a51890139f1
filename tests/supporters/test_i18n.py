"""The UI and the emails in Russian and English: negotiation, switching, mail, errors, catalog."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.signals import setting_changed
from django.urls import reverse

from supporters.models import OutboxMessage, Supporter

pytestmark = pytest.mark.django_db

PO = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
LANDING = reverse("supporters:landing")
JOIN = reverse("supporters:join")
SET_LANGUAGE = reverse("set_language")
RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalog():
    """`make setup` compiles the catalog (*.mo is not in git); do it here if it is stale."""
    if MO.exists() and MO.stat().st_mtime >= PO.stat().st_mtime:
        return
    subprocess.run(
        [sys.executable, "manage.py", "compilemessages", "-v", "0", "-l", "ru", "--ignore=.venv"],
        cwd=settings.BASE_DIR,
        check=True,
    )
    # Forget catalogs loaded before the .mo existed, as overriding LOCALE_PATHS would.
    setting_changed.send(
        sender=None, setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=False
    )


def join_data(**overrides):
    data = {
        "display_name": "Аня Петрова",
        "email": "anya@example.org",
        "location_text": "Новосибирск",
        "channel": "email",
        "frequency": "weekly",
        "topics": ["events"],
    }
    data.update(overrides)
    return data


# --- pages -----------------------------------------------------------------------------


def test_landing_page_is_in_russian_when_the_browser_asks_for_it(client):
    page = client.get(LANDING, **RU).content.decode()

    assert '<html lang="ru">' in page
    assert "Найдите неравнодушных людей прямо там, где вы живёте." in page
    assert "Что мы обещаем" in page
    assert "Присоединиться" in page
    assert "Find the people who care" not in page


def test_landing_page_is_in_english_by_default(client):
    page = client.get(LANDING).content.decode()

    assert '<html lang="en">' in page
    assert "Find the people who care, right where you live." in page
    assert "Присоединиться" not in page


def test_join_page_is_in_russian_with_the_consent_purposes(client):
    page = client.get(JOIN, **RU).content.decode()

    assert "Присоединяйтесь к соседям" in page
    assert "Присоединиться" in page
    # Labels are shown with a capital first letter.
    for label in [
        "Быть на публичной карте",
        "Получать предложения познакомиться",
        "Получать приглашения на события",
        "Получать новости по почте",
    ]:
        assert label in page
    assert "раз в месяц" in page and "Ваше имя" in page
    assert "Join your neighbours" not in page


def test_join_page_is_in_english_by_default(client):
    page = client.get(JOIN).content.decode()

    assert "Join your neighbours" in page
    assert "Appear on the public map" in page
    assert "Присоединяйтесь" not in page


def test_an_unsupported_browser_language_falls_back_to_english(client):
    page = client.get(LANDING, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en">' in page and "What we promise" in page


def test_switching_language_sticks_for_later_requests(client):
    response = client.post(SET_LANGUAGE, {"language": "ru", "next": JOIN})

    assert response.status_code == 302
    assert response["Location"] == JOIN
    # No Accept-Language from here on: the choice alone decides.
    assert "Присоединяйтесь к соседям" in client.get(JOIN).content.decode()
    assert "Что мы обещаем" in client.get(LANDING).content.decode()

    client.post(SET_LANGUAGE, {"language": "en", "next": LANDING})
    page = client.get(LANDING, **RU).content.decode()
    assert "What we promise" in page  # the explicit choice beats the browser's preference


# --- emails ----------------------------------------------------------------------------


def test_a_supporter_who_signed_up_in_russian_gets_russian_mail(make_supporter):
    supporter = make_supporter(name="Аня Петрова", language="ru")

    confirm = OutboxMessage.objects.get(supporter=supporter, kind="confirm")
    assert confirm.subject == "Подтвердите, что хотите присоединиться к Sosedi"
    assert confirm.body_text.startswith("Здравствуйте, Аня Петрова!")
    assert "/confirm/" in confirm.body_text
    assert "Ссылка действует 72 часа." in confirm.body_text  # Russian plural of 72

    welcome = OutboxMessage.objects.get(supporter=supporter, kind="welcome")
    assert welcome.subject == "Добро пожаловать в Sosedi"
    assert "Ваша регистрация подтверждена." in welcome.body_text
    assert "/manage/" in welcome.body_text
    for message in (confirm, welcome):
        assert not re.search(r"\b(Hello|link|Welcome)\b", message.subject + message.body_text)


def test_an_english_supporter_gets_english_mail(make_supporter):
    supporter = make_supporter(name="Ann Peters", language="en")

    confirm = OutboxMessage.objects.get(supporter=supporter, kind="confirm")
    assert confirm.subject == "Confirm that you want to join Sosedi"
    assert confirm.body_text.startswith("Hello Ann Peters,")
    assert "The link works for 72 hours." in confirm.body_text

    welcome = OutboxMessage.objects.get(supporter=supporter, kind="welcome")
    assert welcome.subject == "Welcome to Sosedi"
    assert not re.search("[а-яё]", confirm.body_text + welcome.body_text, re.IGNORECASE)


def test_joining_from_a_russian_browser_stores_the_language_and_mails_in_russian(client):
    response = client.post(JOIN, join_data(consent_public_map="on"), **RU)

    assert response.status_code == 302
    supporter = Supporter.objects.get(email="anya@example.org")
    assert supporter.language == "ru"
    mail = OutboxMessage.objects.get(supporter=supporter)
    assert mail.subject.startswith("Подтвердите")
    assert "Проверьте почту" in client.get(response["Location"], **RU).content.decode()


def test_mail_follows_the_recipient_language_not_the_requester(client, make_supporter):
    make_supporter(email="anya@example.org", language="ru")
    client.post(reverse("supporters:manage_request"), {"email": "anya@example.org"})
    client.post(JOIN, join_data())  # English request, address already on the list

    link = OutboxMessage.objects.get(kind="manage_link")
    assert link.subject == "Ваша ссылка для управления данными в Sosedi"
    again = OutboxMessage.objects.get(kind="already_registered")
    assert again.subject == "Вы уже в списке Sosedi"


def test_changing_the_profile_language_changes_the_mail_language(make_supporter):
    from supporters import services

    supporter = make_supporter(email="ann@example.org", language="en")
    services.supporter_update_profile(
        supporter=supporter,
        display_name=supporter.display_name,
        phone="",
        language="ru",
        preferences=services.Preferences(channel="email", frequency="monthly", topics=[]),
    )
    services.manage_link_send(email="ann@example.org")
    assert OutboxMessage.objects.get(kind="manage_link").subject.startswith("Ваша ссылка")


# --- form errors -----------------------------------------------------------------------


def test_form_errors_are_translated(client):
    response = client.post(JOIN, {"channel": "phone", "frequency": "weekly"}, **RU)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Обязательное поле." in page  # Django's own catalog
    assert "Укажите, где вы живёте: город, почтовый индекс или адрес." in page
    assert "Укажите номер телефона, если хотите, чтобы с вами связывались по телефону." in page
    assert "This field is required." not in page


def test_an_unknown_place_error_is_translated_with_russian_quotes(client):
    response = client.post(JOIN, join_data(location_text="Новосибирскк"), **RU)

    assert response.status_code == 400
    assert "Мы не нашли «Новосибирскк»." in response.content.decode()
    assert not Supporter.objects.exists()


def test_form_errors_stay_english_by_default(client):
    page = client.post(JOIN, {"channel": "email", "frequency": "weekly"}).content.decode()
    assert "This field is required." in page
    assert "Tell us where you live" in page


# --- the catalog -----------------------------------------------------------------------


def _unquote(parts: list[str]) -> str:
    raw = "".join(parts)
    return raw.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def po_entries(po: Path = PO) -> list[dict]:
    """The .po as a list of entries: flags, msgid, msgid_plural, msgstr / msgstr[n]."""
    entries, entry, key = [], None, None
    for line in po.read_text(encoding="utf-8").splitlines() + [""]:
        starts_entry = line.startswith("#") or line.startswith("msgid ")
        if entry and (not line.strip() or (starts_entry and entry.get("_done"))):
            if "msgid" in entry:
                entries.append(entry)
            entry = None
        if not line.strip():
            continue
        if entry is None:
            entry = {"flags": set(), "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        else:
            m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line)
            if m:
                key = m.group(1)
                entry[key] = [m.group(2)[1:-1]]
                if key.startswith("msgstr"):
                    entry["_done"] = True
            else:
                assert line.startswith('"'), f"unexpected line in {PO.name}: {line!r}"
                entry[key].append(line[1:-1])
    return [{k: (_unquote(v) if isinstance(v, list) else v) for k, v in e.items()} for e in entries]


def _translations(entry: dict) -> list[str]:
    return [v for k, v in entry.items() if k.startswith("msgstr")]


def test_every_string_marked_for_translation_is_in_the_catalog(tmp_path):
    """makemessages, run over a copy of the code, finds nothing the catalog lacks: a string
    missing there shows in English on the Russian pages, or half-translated."""
    root = Path(settings.BASE_DIR)
    apps = [d for d in root.iterdir() if (d / "__init__.py").exists() and d.name != "tests"]
    for d in [*apps, root / "templates", root / "locale"]:
        shutil.copytree(d, tmp_path / d.name, ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    shutil.copy(root / "manage.py", tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ru", "-v", "0", "--no-location"],
        cwd=tmp_path,
        check=True,
    )
    have = {e["msgid"] for e in po_entries() if not e["obsolete"]}
    found = {e["msgid"] for e in po_entries(tmp_path / PO.relative_to(root)) if not e["obsolete"]}
    assert sorted(found - have) == []


def test_the_catalog_header_has_russian_plural_forms():
    header = next(e for e in po_entries() if e["msgid"] == "")
    assert "Language: ru\n" in header["msgstr"]
    assert (
        "Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
        "(n%100<10 || n%100>=20) ? 1 : 2);\n"
    ) in header["msgstr"]
    assert "fuzzy" not in header["flags"]


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = [e for e in po_entries() if e["msgid"] and not e["obsolete"]]
    assert len(entries) > 150
    for entry in entries:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        strs = _translations(entry)
        if "msgid_plural" in entry:
            assert len(strs) == 3, entry["msgid"]
        assert strs and all(s.strip() for s in strs), f"untranslated: {entry['msgid']!r}"


def test_plural_forms_follow_russian_rules():
    from django.utils import translation

    plurals = [e for e in po_entries() if "msgid_plural" in e]
    if not plurals:
        pytest.skip("no plural messages in the catalog yet")
    # 1, 21 → one; 2–4, 22 → few; 5–20, 11–14, 25 → many.
    cases = {1: 0, 21: 0, 101: 0, 2: 1, 4: 1, 22: 1, 5: 2, 11: 2, 12: 2, 14: 2, 20: 2, 25: 2}
    with translation.override("ru"):
        for entry in plurals:
            for n, form in cases.items():
                got = translation.ngettext(entry["msgid"], entry["msgid_plural"], n)
                assert got == entry[f"msgstr[{form}]"], (entry["msgid"], n, got)


PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{\{\s*\w+\s*\}\}|</?[a-z][^>]*>")


def test_translations_keep_every_placeholder_and_tag():
    for entry in po_entries():
        if not entry["msgid"]:
            continue
        wanted = sorted(PLACEHOLDER.findall(entry["msgid"] + entry.get("msgid_plural", "")))
        for key, text in entry.items():
            if key.startswith("msgstr"):
                # A singular form may leave out the number (e.g. "один час").
                found = sorted(set(PLACEHOLDER.findall(text)))
                assert set(found) <= set(wanted), (entry["msgid"], text)
                if key == "msgstr":
                    assert found == sorted(set(wanted)), (entry["msgid"], text)


def test_russian_text_uses_guillemets_not_straight_or_english_quotes():
    for entry in po_entries():
        if entry["msgid"]:
            for text in _translations(entry):
                # Quotes inside HTML tags (href="…") are markup, not prose.
                prose = re.sub(r"<[^>]*>", "", text)
                assert not re.search(r"[\"“”„]", prose), text


def test_product_name_stays_in_latin_letters():
    for entry in po_entries():
        if "Sosedi" in entry["msgid"]:
            for text in _translations(entry):
                assert "Sosedi" in text and "Соседи" not in text, text
