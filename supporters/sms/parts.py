"""How many parts a text takes: GSM-7 (160 characters, 153 a part when split) unless a
character is outside it, then UCS-2 (70, 67 a part): any Cyrillic makes a text UCS-2.
static/js/sms-count.js counts the same way as the organizer types."""

from dataclasses import dataclass

# The GSM 03.38 default alphabet, and its extension table (each of those takes two).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM, UCS2 = "GSM-7", "UCS-2"
SINGLE = {GSM: 160, UCS2: 70}
PART = {GSM: 153, UCS2: 67}


@dataclass(frozen=True)
class Parts:
    encoding: str
    length: int  # in the encoding's units: septets for GSM-7, UTF-16 code units for UCS-2
    parts: int


def text_parts(text: str) -> Parts:
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        encoding = GSM
        length = sum(2 if c in GSM_EXTENDED else 1 for c in text)
    else:
        encoding = UCS2
        length = len(text.encode("utf-16-le")) // 2  # an emoji is two units
    if length <= SINGLE[encoding]:
        return Parts(encoding, length, 1 if length else 0)
    return Parts(encoding, length, -(-length // PART[encoding]))
