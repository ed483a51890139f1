"""Which encoding a text file is in: UTF-8 or UTF-16 when the bytes say so, else the
Cyrillic single-byte encoding whose reading looks most like Russian.

Windows-1251 and KOI8-R both decode any byte string, so the choice between them is a
score: each Cyrillic letter adds the logarithm of its frequency in Russian text (the
wrong table turns frequent letters into rare ones), a capital letter right after a small
one costs as much as a rare letter (the two tables swap the cases), and a symbol that
is no letter or common punctuation (KOI8-R's box drawing read from Windows-1251 text)
costs more. General-purpose detectors guess cp1257, Shift-JIS or Big5 for a few short
Russian lines; the score only ever chooses between the two encodings lists are in.
"""

import codecs
import math
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# The encodings an organizer can choose, with their names on the page.
ENCODINGS = {
    "utf-8": _("UTF-8"),
    "utf-16": _("UTF-16"),
    "cp1251": _("Windows-1251 (Cyrillic)"),
    "koi8_r": _("KOI8-R (Cyrillic)"),
}
CYRILLIC = ("cp1251", "koi8_r")

# Letters per thousand in Russian prose (о, е, а... ъ).
_FREQUENCY = dict(
    zip(
        "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
        [110, 85, 80, 74, 67, 63, 55, 47, 45, 44, 35, 32, 30, 28, 26, 20, 19, 17, 17, 16, 16,
         14, 12, 10, 9, 7, 6, 5, 4, 3, 3, 1, 1],
        strict=True,
    )
)  # fmt: skip
_LETTER_SCORE = {letter: math.log(n / 1000) for letter, n in _FREQUENCY.items()}
_CASE_FLIP = math.log(1 / 1000)
_STRAY_SYMBOL = 3 * math.log(1 / 1000)
_COMMON = set(" \t\r\n.,;:!?'\"«»()[]-–—_/\\@#№%+*=<>&|$€₽")
# Enough text to tell the two apart; scoring a whole 60,000-row file would take seconds.
_SAMPLE = 200_000


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a key of ENCODINGS


class UndecodableError(ValueError):
    """The bytes are not text in the encoding asked for."""


def cyrillic_score(text: str) -> float:
    """How much `text` reads like Russian (higher is more); 0 for text without Cyrillic."""
    score, previous = 0.0, ""
    for ch in text[:_SAMPLE]:
        lower = ch.lower()
        if lower in _LETTER_SCORE:
            score += _LETTER_SCORE[lower]
            if ch != lower and previous.islower():
                score += _CASE_FLIP
        elif ord(ch) > 127 and not ch.isalnum() and ch not in _COMMON:
            score += _STRAY_SYMBOL
        previous = ch
    return score


def _utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le' or '-be' when every other byte of the start is zero (Latin text) and
    the text so read has lines or separators."""
    head = raw[:2000]
    if len(head) < 4 or len(head) % 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    if odd > 0.6 * half and even == 0:
        codec = "utf-16-le"
    elif even > 0.6 * half and odd == 0:
        codec = "utf-16-be"
    else:
        return None
    text = head.decode(codec, errors="replace")
    return codec if any(mark in text for mark in "\n,;\t") else None


def encoding_guess(raw: bytes) -> str:
    """The encoding of `raw`, one of ENCODINGS."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(raw):
        return "utf-16"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    readings = {}
    for encoding in CYRILLIC:
        try:
            readings[encoding] = cyrillic_score(raw[:_SAMPLE].decode(encoding))
        except UnicodeDecodeError:
            continue  # 0x98 is no character in Windows-1251
    return max(readings, key=readings.get) if readings else "cp1251"


def text_decode(raw: bytes, *, encoding: str = "") -> Decoded:
    """The file's text in `encoding`, or in the guessed one; a BOM is dropped."""
    encoding = encoding or encoding_guess(raw)
    codec = {"utf-8": "utf-8-sig"}.get(encoding, encoding)
    if encoding == "utf-16" and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = _utf16_without_bom(raw) or "utf-16-le"
    try:
        return Decoded(raw.decode(codec), encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UndecodableError(encoding) from exc
