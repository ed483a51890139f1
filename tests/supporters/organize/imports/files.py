"""Files made the way organizers make them: a Russian spreadsheet saved as CSV by Excel
(Windows-1251, semicolons, CRLF, dates as DD.MM.YYYY), an old KOI8-R list, an .xlsx
workbook with a formula and a date, Excel's 'Unicode text' (UTF-16, tabs), and contact
exports of CiviCRM and Action Network. Each comes with what an import should make of it.
"""

import csv
import io
import re
import zipfile
from datetime import date

RUSSIAN_HEADER = [
    "ФИО",
    "Эл. почта",
    "Телефон",
    "Город",
    "Метки",
    "Согласие на рассылку",
    "Согласие на показ на карте",
    "Дата",
    "Комментарий",
]
RUSSIAN_ROWS = [
    # 2: good; the tags are one quoted cell holding a ';'
    ["Анна Смирнова", "anna@example.org", "+7 900 000-00-01", "Казань", "волонтёр;водитель",
     "да", "да", "01.05.2024", "пришла на пикет"],
    # 3: good, consent refused
    ["Борис Петров", "boris@example.org", "", "Пермь", "", "нет", "", "15.03.2023", ""],
    # 4: not an address
    ["Вера", "not-an-email", "", "Казань", "", "да", "", "", ""],
    # 5: a town nobody knows (the same address comes back in row 13)
    ["Глеб", "gleb@example.org", "", "Ккккккк", "", "", "", "", ""],
    # 6: a date in the future
    ["Дарья", "daria@example.org", "", "Екатеринбург", "", "", "", "31.12.2999", ""],
    # 7: the address of row 2, which is imported
    ["Анна С.", "ANNA@example.org", "", "Москва", "", "", "", "", ""],
    # 8: the bad address of row 4 again: its own reason, not 'the same address as row 4'
    ["Вера опять", "not-an-email", "", "Пермь", "", "", "", "", ""],
    # 9: good: a consent without a source in the row (the file gives one)
    ["Егор", "egor@example.org", "", "Москва", "", "да", "", "", ""],
    # 10: neither yes nor no
    ["Жанна", "zhanna@example.org", "", "Москва", "", "может быть", "", "", ""],
    # 11: blank (a spreadsheet's empty line): skipped
    [""] * 9,
    # 12: not a valid phone number
    ["Зоя", "zoya@example.org", "позвонить вечером", "Тверь", "", "", "", "", ""],
    # 13: row 5's address, now with a town: imported, row 5 having been refused
    ["Глеб Иванов", "gleb@example.org", "", "Самара", "", "", "", "", ""],
]  # fmt: skip
RUSSIAN_IMPORTED = {
    "anna@example.org",
    "boris@example.org",
    "egor@example.org",
    "gleb@example.org",
}
RUSSIAN_REFUSED = {
    (4, "Эл. почта", "not a valid email address"),
    (5, "Город", "We could not find “Ккккккк”. Try the name of your town or city."),
    (6, "Дата", "not a date (YYYY-MM-DD or DD.MM.YYYY) in the past"),
    (7, "Эл. почта", "the same address as row 2, imported there"),
    (8, "Эл. почта", "not a valid email address"),
    (10, "Согласие на рассылку", "not yes or no"),
    (12, "Телефон", "not a valid phone number"),
}


def _csv(header: list[str], rows: list[list[str]], **dialect) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, **dialect)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def russian_excel_csv() -> bytes:
    """As Excel in a Russian locale saves 'CSV (разделители — точки с запятой)'."""
    return _csv(RUSSIAN_HEADER, RUSSIAN_ROWS, delimiter=";", lineterminator="\r\n").encode("cp1251")


def koi8_list() -> bytes:
    """An old list in KOI8-R: capitals in the header, a town in capitals."""
    text = "ПОЧТА,ИМЯ,ГОРОД\r\nolga@example.org,Ольга Сергеевна,Санкт-Петербург\r\n"
    text += "pavel@example.org,Павел,НОВОСИБИРСК\r\n"
    return text.encode("koi8_r")


def excel_unicode_text() -> bytes:
    """Excel's 'Unicode text': UTF-16 with a BOM, tab-separated."""
    header = ["E-mail", "Имя", "Населённый пункт", "Теги", "Согласие на приглашения",
              "Источник согласия"]  # fmt: skip
    rows = [
        ["irina@example.org", "Ирина", "Нижний Новгород", "соседи, субботник", "да",
         "анкета на субботнике"],
        ["kirill@example.org", "Кирилл", "Самара", "", "нет", ""],
        ["lena@example.org", "Лена", "", "", "", ""],
    ]  # fmt: skip
    return _csv(header, rows, delimiter="\t", lineterminator="\r\n").encode("utf-16")


def workbook() -> bytes:
    """An .xlsx as Excel saves it: the email is a formula (with the value Excel last
    calculated), the date a date cell, the phone a number, the consent TRUE."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Список"
    sheet.append(["Email", "Имя", "Фамилия", "Город", "Телефон", "Дата", "Согласие на рассылку",
                  "Метки"])  # fmt: skip
    sheet.append(['=LOWER("Olga@Example.org")', "Ольга", "Смирнова", "Казань", 79001234567,
                  date(2024, 5, 1), True, "волонтёр;водитель"])  # fmt: skip
    sheet.append(["petr@example.org", "Пётр", "", "Пермь", None, date(2023, 1, 9), False, None])
    sheet.append(["not-an-email", "Х", "", "Казань", None, None, None, None])
    sheet["F2"].number_format = "DD.MM.YYYY"
    book.create_sheet("Ignored").append(["email"])
    buffer = io.BytesIO()
    book.save(buffer)
    return with_cached_values(buffer.getvalue(), {"A2": "olga@example.org"})


def with_cached_values(raw: bytes, values: dict[str, str]) -> bytes:
    """The workbook with the values of its formula cells as Excel stores them when it
    saves (openpyxl writes formulas without their values)."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                for ref, value in values.items():
                    xml = re.sub(
                        rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/>',
                        rf'<c r="{ref}"\1 t="str"><f>\2</f><v>{value}</v>',
                        xml,
                    )
                data = xml.encode()
            target.writestr(item, data)
    return out.getvalue()


CIVICRM_HEADER = [
    "Contact ID", "Contact Type", "Sort Name", "Display Name", "First Name", "Last Name",
    "Email", "Phone", "Street Address", "City", "Postal Code", "Country", "Do Not Email",
    "No Bulk Emails (User Opt Out)", "Preferred Language", "Group(s)", "Tag(s)",
]  # fmt: skip


def civicrm_export() -> bytes:
    """CiviCRM's 'Export contacts' (primary fields): UTF-8, every field quoted."""
    rows = [
        ["12", "Individual", "Smirnova, Anna", "Anna Smirnova", "Anna", "Smirnova",
         "anna.s@example.org", "+7 912 000-00-00", "ул. Баумана, 1", "Kazan", "420111",
         "Russia", "0", "0", "ru_RU", "Newsletter, Volunteers", "Driver"],
        # no display name: first and last name put together; asked not to be emailed
        ["13", "Individual", "", "", "Boris", "Orlov", "boris.o@example.org", "", "",
         "Perm", "", "Russia", "1", "0", "en_US", "", ""],
        # a bulk-mail opt-out; a town named as in several countries, placed in the row's
        ["14", "Individual", "Ivanova, Maria", "Maria Ivanova", "Maria", "Ivanova",
         "maria.i@example.org", "", "", "Petropavlovsk", "", "Russia", "0", "1", "", "", ""],
        # a language Sosedi does not speak
        ["15", "Individual", "Weber, Jan", "Jan Weber", "Jan", "Weber", "jan.w@example.org",
         "", "", "Moscow", "", "Russia", "0", "0", "de_DE", "", ""],
    ]  # fmt: skip
    return _csv(CIVICRM_HEADER, rows, quoting=csv.QUOTE_ALL, lineterminator="\n").encode()


AN_HEADER = [
    "uuid", "first_name", "last_name", "email", "zip_code", "can2_user_city",
    "can2_state_abbreviated", "can2_phone", "can2_subscription_status", "can2_sms_status",
    "can2_user_tags",
]  # fmt: skip


def action_network_export() -> bytes:
    """Action Network's activist download: UTF-8, commas, tags joined by ', '."""
    rows = [
        ["a1b2-0001", "Svetlana", "Kim", "svetlana@example.org", "620000", "Yekaterinburg",
         "", "+79120000001", "subscribed", "subscribed", "rally-2024, volunteer"],
        ["a1b2-0002", "Timur", "", "timur@example.org", "", "Kazan", "", "", "unsubscribed",
         "", ""],
        ["a1b2-0003", "Ulyana", "Li", "ulyana@example.org", "", "Samara", "", "", "bouncing",
         "", "donor"],
        ["a1b2-0004", "", "", "", "", "Moscow", "", "", "subscribed", "", ""],
    ]  # fmt: skip
    return _csv(AN_HEADER, rows, lineterminator="\n").encode()
