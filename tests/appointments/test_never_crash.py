"""Arbitrary input to the code and file readers gives a coded error, never a crash."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from office360.appointments_import import (
    AppointmentImportError,
    OfficeCatalog,
    parse_csv,
    parse_icalendar,
)
from office360.qrtoken import SCHEME, Claims, TokenError, generate_signing_key, verify

KEY = generate_signing_key("k1")
KEYS = {KEY.kid: KEY.public_key}
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TOKEN = KEY.sign(Claims(5, "centro", "general", NOW, NOW + timedelta(hours=1)))
CATALOG = {"centro": OfficeCatalog("Europe/Madrid", frozenset({"general"}))}
B32 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        B32.map(lambda body: SCHEME + body),
        st.binary(min_size=65, max_size=200).map(
            lambda raw: SCHEME + base64.b32encode(raw).decode().rstrip("=")
        ),
    )
)
def test_any_text_is_a_token_error_not_a_crash(text: str):
    try:
        verify(text, KEYS, NOW)
    except TokenError as exc:
        assert exc.code.startswith("qr_")
    else:
        assert text.strip() == TOKEN  # only the genuine code gets through


LINES = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "BEGIN:VCALENDAR",
                "END:VCALENDAR",
                "BEGIN:VEVENT",
                "END:VEVENT",
                "UID:a",
                "DTSTART:20260310T100000Z",
                "DTSTART;TZID=Europe/Madrid:20260310T100000",
                "X-OFFICE360-SERVICE:general",
                "SUMMARY:Ana",
                'ATTENDEE;CN="A":mailto:a@b.c',
                "service,start,name",
                "general,2026-03-10T10:00,Ana",
                '"',
                ";",
                " folded",
            ]
        ),
    ),
    max_size=15,
)


@settings(max_examples=300, deadline=None)
@given(LINES, st.sampled_from(["\n", "\r\n"]))
def test_any_file_is_rows_or_an_import_error(lines: list[str], newline: str):
    text = newline.join(lines)
    for parse in (parse_csv, parse_icalendar):
        try:
            rows = parse(text, CATALOG, "centro")
        except AppointmentImportError as exc:
            assert exc.problems
            assert all(p.line >= 0 for p in exc.problems)
        else:
            assert all(r.start.tzinfo is UTC for r in rows)
