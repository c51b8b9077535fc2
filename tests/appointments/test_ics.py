"""The appointment .ics file: RFC 5545 line endings, folding and escaping, parsed back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from office360.appointments_import import ContentLine, content_lines, unescape_text
from office360.core.errors import DomainError
from office360.ics import CalendarEvent, appointment_uid, escape_text, event_ics, fold

MADRID = ZoneInfo("Europe/Madrid")
START = datetime(2026, 3, 10, 10, 0, tzinfo=MADRID)
STAMP = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
TRICKY = 'Línea 1; con, comas\\barra\ny "comillas" ñandú €' + " largo" * 30


def parse_back(text: str) -> dict[str, str]:
    """An independent reader: unfold CRLF+space, split NAME[;params]:value, unescape TEXT."""
    unfolded = re.sub(r"\r\n[ \t]", "", text)
    props: dict[str, str] = {}
    for line in unfolded.split("\r\n"):
        if not line:
            continue
        name, _, value = line.partition(":")
        name = name.split(";")[0]
        if name in props and name in ("BEGIN", "END", "DESCRIPTION"):
            name = f"{name}#{sum(k.startswith(name) for k in props)}"
        props[name] = value
    return props


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def event(**changes) -> CalendarEvent:
    fields = dict(
        uid=appointment_uid(4711, "centro.office360.example"),
        start=START,
        end=START + timedelta(minutes=20),
        summary="Cita: Certificados (B)",
        description=TRICKY,
        location="Oficina Centro, Plaza Mayor 1, 28001 Madrid",
        url="https://citas.example.org/a/4711?t=Zx_9-k",
        reminder=timedelta(hours=1),
    )
    fields.update(changes)
    return CalendarEvent(**fields)  # type: ignore[arg-type]


def test_parsed_back_it_says_what_was_written():
    text = event_ics(event(), STAMP)
    props = parse_back(text)
    assert props["BEGIN"] == "VCALENDAR"
    assert props["VERSION"] == "2.0"
    assert props["UID"] == "appointment-4711@centro.office360.example"
    assert props["DTSTAMP"] == "20260301T120005Z"
    assert props["DTSTART"] == "20260310T090000Z"  # 10:00 in Madrid (CET) is 09:00 UTC
    assert props["DTEND"] == "20260310T092000Z"
    assert unescape(props["SUMMARY"]) == "Cita: Certificados (B)"
    assert unescape(props["DESCRIPTION"]) == TRICKY
    assert unescape(props["LOCATION"]) == "Oficina Centro, Plaza Mayor 1, 28001 Madrid"
    assert props["URL"] == "https://citas.example.org/a/4711?t=Zx_9-k"
    assert props["TRIGGER"] == "-PT60M"
    assert props["STATUS"] == "CONFIRMED"


def test_lines_end_in_crlf_and_fold_at_75_octets_without_splitting_characters():
    data = event_ics(event(), STAMP).encode("utf-8")
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    physical = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) == 75  # the long description was folded
    assert all(len(line) <= 75 for line in physical)
    for line in physical:
        line.decode("utf-8")  # raises if a character was cut in two


def test_escaping_of_text_values():
    assert escape_text("a;b,c\\d\ne\r\nf\rg") == "a\\;b\\,c\\\\d\\ne\\nf\\ng"
    assert escape_text("bell\x07 tab\t") == "bell tab\t"  # controls other than tab are dropped


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_folding_multibyte_text_at_every_offset(width: int):
    char = {1: "a", 2: "ñ", 3: "€", 4: "😀"}[width]
    for prefix in range(0, 6):
        line = "DESCRIPTION:" + "x" * prefix + char * 80
        folded = fold(line)
        pieces = folded.encode("utf-8").split(b"\r\n")
        assert all(len(p) <= 75 for p in pieces)
        assert all(p.startswith(b" ") for p in pieces[1:])
        assert folded.replace("\r\n ", "") == line


def test_short_lines_are_not_folded():
    assert fold("SUMMARY:x") == "SUMMARY:x"
    assert fold("X" * 75) == "X" * 75
    assert fold("X" * 76) == "X" * 75 + "\r\n X"


def test_the_importers_reader_agrees():
    lines = content_lines(event_ics(event(), STAMP))
    by_name: dict[str, ContentLine] = {}
    for cl in lines:
        by_name.setdefault(cl.name, cl)  # the event's DESCRIPTION, not its alarm's
    assert unescape_text(by_name["DESCRIPTION"].value) == TRICKY
    assert by_name["DTSTART"].value == "20260310T090000Z"


def test_cancelled_event_has_no_alarm_and_a_higher_sequence():
    props = parse_back(event_ics(event(status="CANCELLED", sequence=2), STAMP))
    assert props["STATUS"] == "CANCELLED"
    assert props["SEQUENCE"] == "2"
    assert props["BEGIN#1"] == "VEVENT"
    assert "BEGIN#2" not in props and "TRIGGER" not in props


def test_optional_fields_are_left_out_when_empty():
    text = event_ics(event(description="", location="", url="", reminder=None), STAMP)
    props = parse_back(text)
    assert not {"DESCRIPTION", "LOCATION", "URL", "TRIGGER"} & set(props)


@pytest.mark.parametrize(
    "changes",
    [
        {"end": START},
        {"start": START.replace(tzinfo=None)},
        {"uid": "has space@x"},
        {"uid": ""},
        {"summary": "  "},
        {"url": "https://x/\r\nBEGIN:VEVENT"},
        {"url": "not a url"},
        {"url": "https://example.org/a\n"},
        {"uid": "appointment-1@example.org\n"},
        {"sequence": -1},
        {"reminder": timedelta(minutes=-5)},
    ],
)
def test_bad_events_get_a_coded_error(changes):
    with pytest.raises(DomainError) as info:
        event_ics(event(**changes), STAMP)
    assert info.value.code == "ics_invalid"


def test_a_line_break_in_the_summary_cannot_inject_properties():
    text = event_ics(event(summary="x\r\nATTENDEE:mailto:evil@example.org"), STAMP)
    assert "\r\nATTENDEE" not in text
    assert unescape(parse_back(text)["SUMMARY"]) == "x\nATTENDEE:mailto:evil@example.org"
