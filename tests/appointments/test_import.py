"""Importing appointments from CSV and iCalendar: every bad row named by line, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from office360.appointments_import import (
    AppointmentImportError,
    AppointmentRow,
    OfficeCatalog,
    catalog_from_settings,
    import_file,
    parse_csv,
    parse_icalendar,
)
from office360.config import parse_settings

CATALOG = {
    "centro": OfficeCatalog("Europe/Madrid", frozenset({"general", "certificates", "taxes"})),
    "norte": OfficeCatalog("Atlantic/Canary", frozenset({"general"})),
}
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def problems(exc: pytest.ExceptionInfo[AppointmentImportError]) -> list[tuple[int, str]]:
    return [(p.line, p.code) for p in exc.value.problems]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# CSV

GOOD_CSV = (
    "id,office,service,start,name,email,phone,mode\n"
    "A-1,centro,certificates,2026-03-10T10:00,Ana García,ana@example.org,+34 600 111 222,\n"
    "A-2,norte,general,2026-03-10 10:00,J. P.,,,video\n"
    'A-3,,taxes,2026-03-10T10:00:00+00:00,"Ruiz, Luis",,,in_person\n'
)


def test_good_csv_gives_every_row_in_utc():
    rows = parse_csv(GOOD_CSV, CATALOG, default_office="centro", now=NOW)
    assert rows == [
        AppointmentRow(
            2,
            "A-1",
            "centro",
            "certificates",
            utc(2026, 3, 10, 9, 0),
            "Ana García",
            "ana@example.org",
            "+34 600 111 222",
            False,
        ),
        # the Canaries are an hour behind the peninsula
        AppointmentRow(
            3, "A-2", "norte", "general", utc(2026, 3, 10, 10, 0), "J. P.", "", "", True
        ),
        AppointmentRow(
            4, "A-3", "centro", "taxes", utc(2026, 3, 10, 10, 0), "Ruiz, Luis", "", "", False
        ),
    ]


def test_spanish_semicolon_export_with_bom_crlf_and_date_time_columns():
    text = (
        "\ufeffReferencia;Oficina;Servicio;Fecha;Hora;Nombre;Teléfono;Modalidad\r\n"
        "R1;centro;general;10/03/2026;09:30;María;612345678;presencial\r\n"
        "\r\n"
        "R2;centro;general;2026-03-11;16:00;Íñigo;;videollamada\r\n"
    )
    rows = parse_csv(text, CATALOG)
    assert [(r.line, r.external_id, r.start, r.video) for r in rows] == [
        (2, "R1", utc(2026, 3, 10, 8, 30), False),
        (4, "R2", utc(2026, 3, 11, 15, 0), True),
    ]


def test_line_numbers_count_physical_lines_across_quoted_line_breaks():
    text = 'service,start,name\ngeneral,2026-03-10T10:00,"Ana\nGarcía"\ngeneral,2026-03-10T10:30,\n'
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(text, CATALOG, default_office="centro")
    assert problems(info) == [(4, "name_missing")]


BAD_CSV = "\n".join(
    [
        "id,office,service,start,name,email,phone,mode",  # 1
        "G-1,centro,general,2026-03-10T10:00,Ana,,,",
        "B-3,sur,general,2026-03-10T10:00,Ana,,,",
        "B-4,centro,passports,2026-03-10T10:00,Ana,,,",
        "B-5,centro,general,mañana,Ana,,,",
        "B-6,centro,general,2026-03-10T10:00,   ,,,",
        "B-7,centro,general,2026-03-10T10:00,Ana,ana@,,",
        "B-8,centro,general,2026-03-10T10:00,Ana,,12ab,",
        "B-9,centro,general,2026-03-10T10:00,Ana,,,hologram",
        "G-1,centro,general,2026-03-10T10:30,Ana,,,",  # 10
        "B-11,centro,general,2026-03-10T10:00,Ana",
        "",
        "B-13,centro,general,2026-03-29T02:30,Ana,,,",
        "B-14,centro,general,2026-02-01T10:00,Ana,,,",
        "B-15,centro,passports,2026-03-10T10:00,Ana,no-at-sign,,",
        "G-16,centro,general,2026-03-10T11:00,Luis,,,",
        "B-17,,general,2026-03-10T10:00,Ana,,,",
        "B-18,centro,general,2026-03-10T10:00," + "x" * 101 + ",,,",
        "",
    ]
)


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported():
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(BAD_CSV, CATALOG, now=NOW)
    assert problems(info) == [
        (3, "office_unknown"),
        (4, "service_unknown"),
        (5, "start_invalid"),
        (6, "name_missing"),
        (7, "email_invalid"),
        (8, "phone_invalid"),
        (9, "mode_invalid"),
        (10, "id_duplicate"),
        (11, "row_columns"),
        (13, "start_invalid"),  # 02:30 does not exist the day the clocks go forward
        (14, "start_in_past"),
        (15, "service_unknown"),
        (15, "email_invalid"),
        (17, "office_missing"),
        (18, "name_too_long"),
    ]
    assert info.value.code == "import_rejected"
    assert "line 3: unknown office 'sur'" in str(info.value)
    assert "(and 10 more)" in str(info.value)
    assert info.value.details["problems"][0] == {
        "line": 3,
        "code": "office_unknown",
        "reason": "unknown office 'sur'",
    }


def test_duplicate_id_names_the_first_line():
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(BAD_CSV, CATALOG, now=NOW)
    dup = next(p for p in info.value.problems if p.code == "id_duplicate")
    assert "line 2" in dup.reason


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("id,office,service,start", [(1, "column_missing")]),
        ("id,office,service,start,name,notes", [(1, "column_unknown")]),
        ("id,office,service,start,name,Name", [(1, "column_duplicate")]),
        ("office,service,start,date,time,name", [(1, "column_missing")]),
        ("office,service,date,name", [(1, "column_missing")]),
        ("service,start,name", [(1, "column_missing")]),  # no office and no default office
    ],
)
def test_header_problems_are_reported_on_line_one(header: str, expected):
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(header + "\ncentro,general,2026-03-10T10:00,Ana\n", CATALOG)
    assert problems(info) == expected


def test_header_after_blank_lines_counts_those_lines():
    with pytest.raises(AppointmentImportError) as info:
        parse_csv("\n\nservice,start,name,colour\n", CATALOG, default_office="centro")
    assert problems(info) == [(3, "column_unknown")]


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(text: str):
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(text, CATALOG)
    assert problems(info) == [(1, "file_empty")]


def test_unclosed_quote_is_reported_not_crashed():
    text = 'office,service,start,name\ncentro,general,2026-03-10T10:00,Ana\ncentro,general,"2026\n'
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(text, CATALOG)
    assert problems(info) == [(3, "csv_invalid")]


def test_header_only_file_imports_nothing_without_error():
    assert parse_csv("office,service,start,name\n", CATALOG) == []


# ---------------------------------------------------------------------------------------------
# Files and encodings


def test_import_file_reads_csv_and_ics_by_extension_and_content(tmp_path: Path):
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(GOOD_CSV, encoding="utf-8")
    ics_file = tmp_path / "export.ics"
    ics_file.write_text(GOOD_ICS, encoding="utf-8")
    unnamed = tmp_path / "export.dat"
    unnamed.write_text(GOOD_ICS, encoding="utf-8")
    assert len(import_file(csv_file, CATALOG, "centro", NOW)) == 3
    assert len(import_file(ics_file, CATALOG, "centro", NOW)) == 3
    assert len(import_file(unnamed, CATALOG, "centro", NOW)) == 3


def test_a_file_in_another_encoding_names_the_first_bad_line(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_bytes(
        "service,start,name\ngeneral,2026-03-10T10:00,Ana\ngeneral,2026-03-10T10:00,Íñigo\n".encode(
            "cp1252"
        )
    )
    with pytest.raises(AppointmentImportError) as info:
        import_file(path, CATALOG, "centro")
    assert problems(info) == [(3, "encoding_invalid")]
    rows = import_file(path, CATALOG, "centro", encoding="cp1252")
    assert rows[1].name == "Íñigo"


def test_missing_file_and_unknown_encoding(tmp_path: Path):
    with pytest.raises(AppointmentImportError) as info:
        import_file(tmp_path / "nope.csv", CATALOG)
    assert problems(info) == [(0, "file_unreadable")]
    (tmp_path / "x.csv").write_text("a")
    with pytest.raises(AppointmentImportError) as info:
        import_file(tmp_path / "x.csv", CATALOG, encoding="klingon")
    assert problems(info) == [(0, "encoding_unknown")]


def test_catalog_from_settings():
    settings = parse_settings(
        {
            "offices": [
                {
                    "id": "centro",
                    "name": "Centro",
                    "timezone": "Europe/Madrid",
                    "services": [{"id": "general", "prefix": "A", "names": {"es": "General"}}],
                    "desks": [{"id": "1", "services": ["general"]}],
                }
            ]
        }
    )
    assert catalog_from_settings(settings) == {
        "centro": OfficeCatalog("Europe/Madrid", frozenset({"general"}))
    }


# ---------------------------------------------------------------------------------------------
# iCalendar

GOOD_ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Other booking system//ES",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Madrid",
        "BEGIN:STANDARD",
        "DTSTART:19701025T030000",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:ev-1@other",
        "DTSTART:20260310T090000Z",
        "SUMMARY:Cita certificados",
        "CATEGORIES:Citas,certificates",
        'ATTENDEE;CN="García, Ana";ROLE=REQ-PARTICIPANT:mailto:ana@example.org',
        "BEGIN:VALARM",
        "DESCRIPTION:not the name",
        "ACTION:DISPLAY",
        "TRIGGER:-PT1H",
        "END:VALARM",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:ev-2@other",
        "DTSTART;TZID=Europe/Madrid:20260310T103000",
        "X-OFFICE360-SERVICE:taxes",
        "X-OFFICE360-NAME:Luis Ruiz\\, hijo",
        "X-OFFICE360-PHONE:+34 600 000 000",
        "X-OFFICE360-MODE:video",
        "DESCRIPTION:a long description that is folded over two lines because it is",
        "  longer than seventy-five octets",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:ev-3@other",
        "DTSTART:20260311T120000",
        "X-OFFICE360-OFFICE:norte",
        "X-OFFICE360-SERVICE:general",
        "SUMMARY:J. P.",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:ev-4@other",
        "STATUS:CANCELLED",
        "DTSTART:20260311T120000",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def test_good_icalendar_gives_every_event():
    rows = parse_icalendar(GOOD_ICS, CATALOG, default_office="centro", now=NOW)
    assert rows == [
        AppointmentRow(
            12,
            "ev-1@other",
            "centro",
            "certificates",
            utc(2026, 3, 10, 9, 0),
            "García, Ana",
            "ana@example.org",
            "",
            False,
        ),
        AppointmentRow(
            24,
            "ev-2@other",
            "centro",
            "taxes",
            utc(2026, 3, 10, 9, 30),
            "Luis Ruiz, hijo",
            "",
            "+34 600 000 000",
            True,
        ),
        AppointmentRow(
            34, "ev-3@other", "norte", "general", utc(2026, 3, 11, 12, 0), "J. P.", "", "", False
        ),
    ]


BAD_ICS = "\n".join(
    [
        "BEGIN:VCALENDAR",  # 1
        "VERSION:2.0",
        "BEGIN:VEVENT",  # 3: no DTSTART
        "UID:b-1",
        "X-OFFICE360-SERVICE:general",
        "SUMMARY:Ana",
        "END:VEVENT",
        "BEGIN:VEVENT",  # 8
        "UID:b-2",
        "DTSTART;VALUE=DATE:20260310",  # 10: all day
        "X-OFFICE360-SERVICE:general",
        "SUMMARY:Ana",
        "END:VEVENT",
        "BEGIN:VEVENT",  # 14
        "UID:b-3",
        "DTSTART;TZID=Romance Standard Time:20260310T100000",  # 16
        "X-OFFICE360-SERVICE:general",
        "SUMMARY:Ana",
        "END:VEVENT",
        "BEGIN:VEVENT",  # 20
        "UID:b-4",
        "DTSTART:20260310T100000Z",
        "X-OFFICE360-SERVICE:passports",  # 23
        "SUMMARY:Ana",
        "END:VEVENT",
        "BEGIN:VEVENT",  # 26: no service at all
        "UID:b-5",
        "DTSTART:20260310T100000Z",
        "SUMMARY:Ana",
        "END:VEVENT",
        "BEGIN:VEVENT",  # 31
        "UID:b-1",  # 32: duplicate
        "DTSTART:20260310T100000Z",
        "X-OFFICE360-SERVICE:general",
        "SUMMARY:Ana",
        "RRULE:FREQ=WEEKLY",  # 36
        "END:VEVENT",
        "BEGIN:VEVENT",  # 38
        "UID:b-7",
        "DTSTART:20260310T100000Z",
        "X-OFFICE360-SERVICE:general",
        "ATTENDEE;CN=Ana:mailto:not-an-address",  # 42
        "END:VEVENT",
        "BEGIN:VEVENT",  # 44: good, still not imported
        "UID:b-8",
        "DTSTART:20260310T100000Z",
        "X-OFFICE360-SERVICE:general",
        "SUMMARY:Ana",
        "END:VEVENT",
        "BEGIN:VEVENT",  # 50
        "UID:b-9",
        "DTSTART:20261310T100000",  # 52: month 13
        "X-OFFICE360-SERVICE:general",
        "END:VEVENT",  # and no name either
        "END:VCALENDAR",
    ]
)


def test_every_bad_event_is_reported_with_its_line_and_nothing_is_imported():
    with pytest.raises(AppointmentImportError) as info:
        parse_icalendar(BAD_ICS, CATALOG, default_office="centro")
    assert problems(info) == [
        (3, "start_missing"),
        (10, "start_invalid"),
        (16, "tzid_unknown"),
        (23, "service_unknown"),
        (26, "service_missing"),
        (32, "id_duplicate"),
        (36, "recurrence_unsupported"),
        (42, "email_invalid"),
        (50, "name_missing"),
        (52, "start_invalid"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [(1, "ics_invalid")]),
        ("BEGIN:VEVENT\nEND:VEVENT\n", [(1, "ics_invalid")]),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VCALENDAR\n", [(4, "ics_invalid")]),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n", [(2, "ics_invalid")]),
        ("BEGIN:VCALENDAR\nthis is not a content line\nEND:VCALENDAR\n", [(2, "ics_invalid")]),
        ('BEGIN:VCALENDAR\nATTENDEE;CN="Ana:mailto:a@b.c\nEND:VCALENDAR\n', [(2, "ics_invalid")]),
        ('BEGIN:VCALENDAR\nATTENDEE;CN="Ana"x:mailto:a@b.c\nEND:VCALENDAR\n', [(2, "ics_invalid")]),
        ("BEGIN:VCALENDAR\nATTENDEE;CN\nEND:VCALENDAR\n", [(2, "ics_invalid")]),
    ],
)
def test_broken_icalendar_structure(text: str, expected):
    with pytest.raises(AppointmentImportError) as info:
        parse_icalendar(text, CATALOG, default_office="centro")
    assert problems(info) == expected


def test_floating_time_that_the_clocks_skip_is_refused():
    text = "\n".join(
        [
            "BEGIN:VCALENDAR",
            "BEGIN:VEVENT",
            "UID:x",
            "DTSTART:20260329T023000",
            "X-OFFICE360-SERVICE:general",
            "SUMMARY:Ana",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    with pytest.raises(AppointmentImportError) as info:
        parse_icalendar(text, CATALOG, default_office="centro")
    assert problems(info) == [(4, "start_invalid")]


def test_only_cr_lf_and_crlf_end_csv_lines():
    text = "service,start,name\rgeneral,2026-03-10T10:00,Ana\u2028Ruiz\r\ngeneral,x,Luis\n"
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(text, CATALOG, default_office="centro")
    assert problems(info) == [(3, "start_invalid")]


def test_names_with_control_or_bidi_characters_are_refused():
    text = (
        "service,start,name\n"
        "general,2026-03-10T10:00,Ana\x00\n"
        "general,2026-03-10T10:30,\u202eadiM\n"
        "general,2026-03-10T11:00,José Núñez\n"
    )
    with pytest.raises(AppointmentImportError) as info:
        parse_csv(text, CATALOG, default_office="centro")
    assert problems(info) == [(2, "name_invalid"), (3, "name_invalid")]
