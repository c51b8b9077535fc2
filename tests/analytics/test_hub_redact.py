"""Contact details are stripped from feedback comments; ordinary text, dates and numbers stay."""

from __future__ import annotations

import pytest

from office360.core.redact import EMAIL_MARK, ID_MARK, PHONE_MARK, strip_contact_details

CASES = [
    # e-mail addresses, plain and written out
    ("escríbanme a ana.garcia+cita@example.com gracias", f"escríbanme a {EMAIL_MARK} gracias"),
    ("mail: ANA_G@correo.gob.es.", f"mail: {EMAIL_MARK}."),
    ("ana @ example.com", EMAIL_MARK),
    ("ana at example dot com", EMAIL_MARK),
    ("ana AT example DOT co DOT uk please", f"{EMAIL_MARK} please"),
    ("ana [at] example [dot] com", EMAIL_MARK),
    ("ana(at)example(dot)org", EMAIL_MARK),
    ("mi correo es ana arroba example punto es", f"mi correo es {EMAIL_MARK}"),
    ("ana{arroba}example{punto}es", EMAIL_MARK),
    # Spanish and foreign phone numbers
    ("llámenme al +34 600 123 456", f"llámenme al {PHONE_MARK}"),
    ("600-12-34-56", PHONE_MARK),
    ("móvil 600123456.", f"móvil {PHONE_MARK}."),
    ("(+34) 91 234 56 78 o 0034 912345678", f"{PHONE_MARK} o {PHONE_MARK}"),
    ("+34600123456", PHONE_MARK),
    ("tel. 91.234.56.78", f"tel. {PHONE_MARK}"),
    ("612 34 56 78, por la tarde", f"{PHONE_MARK}, por la tarde"),
    ("UK: +44 20 7946 0958", f"UK: {PHONE_MARK}"),
    # identity numbers
    ("DNI 12345678Z", f"DNI {ID_MARK}"),
    ("NIE X-1234567-L y nada más", f"NIE {ID_MARK} y nada más"),
    # what must stay
    ("Muy amables, 10 de 10", "Muy amables, 10 de 10"),
    ("Esperé 25 minutos con el número A017 en el mostrador 3", None),
    ("Vine el 12/03/2024 a las 10:30", None),
    ("Vine el 12.03.2024 10:30", None),
    ("el 04-03-2024 a las 9", None),
    ("pagué 1.234,56 € en 2024", None),
    ("very nice at desk. Thanks", None),
    ("I was at home", None),
    ("código postal 28013", None),
    ("@ayuntamiento en redes", None),
    # whitespace and control characters
    ("  muy\tbien \x00 gracias  ", "muy bien gracias"),
    ("línea 1\nlínea 2", "línea 1\nlínea 2"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_strip_contact_details(text: str, expected: str | None) -> None:
    assert strip_contact_details(text) == (text if expected is None else expected)


def test_long_comments_are_cut() -> None:
    assert strip_contact_details("a" * 5000) == "a" * 1000
    assert strip_contact_details("bien " * 10, max_length=9) == "bien bien"
