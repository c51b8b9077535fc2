"""Strip contact details from free text a citizen typed (feedback comments).

What goes: e-mail addresses, also written out ("ana at example dot com", "ana arroba example
punto es", "ana [at] example [dot] com"); phone numbers of 9 to 15 digits however they are
grouped ("+34 600 123 456", "600-12-34-56", "0034 912345678", "(+34) 91 234 56 78"); and
Spanish identity numbers (DNI "12345678Z", NIE "X1234567L"), which are personal data too.
What stays: dates and times ("12.03.2024 10:30"), ticket numbers ("A017"), short numbers and
amounts. Each removal leaves a marker, so a reader sees that something was there.
"""

from __future__ import annotations

import re

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"
ID_MARK = "[id]"
MAX_LENGTH = 1000

_AT = r"(?:\s*@\s*|\s*[\[(<{]\s*(?:at|arroba)\s*[\])>}]\s*|\s+(?:at|arroba)\s+)"
_DOT = r"(?:\.|\s*[\[(<{]\s*(?:dot|punto)\s*[\])>}]\s*|\s+(?:dot|punto)\s+)"
_EMAIL = re.compile(
    rf"(?<![\w.+-])[\w.+-]*\w{_AT}[\w-]+(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}[A-Za-z]{{2,24}}\b",
    re.IGNORECASE,
)
# A run of digits with single separators between them, maybe after + or 00 or "(+34)".
_PHONE = re.compile(r"(?<![\w+])(?:\(\s*)?(?:\+|00)?\d(?:\)?[ .\-]?\(?\d){6,18}(?![\w])")
_DATE_PREFIX = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})")
_ID = re.compile(r"\b(?:\d{8}|[XYZxyz]-?\d{7})-?[A-Za-z]\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t]+")


def strip_contact_details(text: str, max_length: int = MAX_LENGTH) -> str:
    """`text` without e-mail addresses, phone numbers or ID numbers, control characters or runs
    of spaces, cut to `max_length` characters."""
    text = _CONTROL.sub(" ", text)
    text = _EMAIL.sub(EMAIL_MARK, text)
    text = _ID.sub(ID_MARK, text)
    text = _PHONE.sub(_phone_or_not, text)
    text = _SPACES.sub(" ", text).strip()
    return text[:max_length]


def _phone_or_not(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(c.isdigit() for c in found)
    if not 9 <= digits <= 15:
        return found
    date = _DATE_PREFIX.match(found)
    if date and 1 <= int(date.group(1)) <= 31 and 1 <= int(date.group(2)) <= 12:
        rest = found[date.end() :]
        if sum(c.isdigit() for c in rest) < 9:
            return found  # a date, perhaps with the hour after it
    return PHONE_MARK
