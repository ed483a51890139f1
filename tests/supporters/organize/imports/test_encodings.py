"""Which encoding a file is in: the bytes' own marks, else the Cyrillic reading most like
Russian, on short lists and capitals too."""

import pytest

from supporters.organize.imports.encodings import (
    UndecodableError,
    cyrillic_score,
    encoding_guess,
    text_decode,
)

CYRILLIC_LISTS = [
    "Эл. почта;Имя;Город;Согласие на рассылку\nanna@example.org;Анна;Казань;да\n",
    "email;name\nolga@example.org;Ольга Смирнова\n",
    "email,Город\nx@example.org,Казань\n",
    "email,city\nx@example.org,МОСКВА\n",  # capitals only
    "email,city\nx@example.org,ЯРОСЛАВЛЬ\ny@example.org,НИЖНИЙ НОВГОРОД\n",
    "email,name\nx@example.org,Юлия\n",
    "email,city\nx@example.org,Уфа\n",
    "ФИО,Почта,Город\nИванов Иван,ivan@example.org,Москва\nПетров Пётр,p@example.org,Пермь\n",
]


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
@pytest.mark.parametrize("text", CYRILLIC_LISTS)
def test_windows_1251_and_koi8_r_are_told_apart_even_in_a_few_short_lines(text, encoding):
    raw = text.encode(encoding)
    assert encoding_guess(raw) == encoding
    assert text_decode(raw).text == text


@pytest.mark.parametrize(
    ("raw", "encoding", "text"),
    [
        ("\ufeffemail,имя\n".encode(), "utf-8", "email,имя\n"),
        ("email,имя\n".encode(), "utf-8", "email,имя\n"),
        (b"email,name\n", "utf-8", "email,name\n"),  # ASCII is UTF-8
        ("email\tимя\n".encode("utf-16"), "utf-16", "email\tимя\n"),  # with its BOM
        ("email\tname\n".encode("utf-16-le"), "utf-16", "email\tname\n"),  # zeros tell
        ("email\tname\n".encode("utf-16-be"), "utf-16", "email\tname\n"),
    ],
)
def test_unicode_is_known_by_its_bom_or_its_bytes(raw, encoding, text):
    assert encoding_guess(raw) == encoding
    assert text_decode(raw).text == text


def test_the_wrong_table_reads_less_like_russian():
    raw = "Смирнова Анна, Казань".encode("cp1251")
    assert cyrillic_score(raw.decode("cp1251")) > cyrillic_score(raw.decode("koi8_r"))
    assert cyrillic_score("email,name") == 0


def test_an_encoding_chosen_for_bytes_that_are_not_in_it_is_refused():
    with pytest.raises(UndecodableError):
        text_decode("имя".encode("cp1251"), encoding="utf-8")
    assert text_decode("имя".encode("cp1251"), encoding="cp1251").text == "имя"
