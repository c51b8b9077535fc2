"""The pure layout: what lines a ticket has, in which size, in Spanish and English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from printer.errors import PrinterError
from printer.layout import (
    Cut,
    Qr,
    Text,
    TicketData,
    format_issued,
    format_wait,
    layout_ticket,
    priority_name,
    ticket_text,
)

MakeTicket = Callable[..., TicketData]


@pytest.mark.parametrize(
    ("seconds", "lang", "expected"),
    [
        (0, "es", "menos de 1 min"),
        (59, "en", "under 1 min"),
        (60, "es", "~1 min"),
        (720, "en", "~12 min"),
        (3599, "es", "~1 h 00 min"),
        (3600, "es", "~1 h 00 min"),
        (5430, "en", "~1 h 30 min"),
        (720, "fr", "~12 min"),
    ],
)
def test_wait_is_rounded_to_minutes(seconds: int, lang: str, expected: str) -> None:
    assert format_wait(seconds, lang) == expected


def test_issue_date_in_the_tickets_own_zone() -> None:
    moment = datetime(2026, 11, 5, 8, 7, tzinfo=UTC)
    assert format_issued(moment, "es") == "05/11/2026  08:07"
    assert format_issued(moment, "en") == "5 Nov 2026  08:07"


@pytest.mark.parametrize(
    ("category", "lang", "expected"),
    [
        ("reduced_mobility", "es", "Movilidad reducida"),
        ("pregnancy", "en", "Pregnancy"),
        ("elderly", "es_ES", "Persona mayor"),
        ("large_family", "es", "Large family"),
    ],
)
def test_priority_names(category: str, lang: str, expected: str) -> None:
    assert priority_name(category, lang) == expected


def test_spanish_ticket_reads_top_to_bottom(make_ticket: MakeTicket) -> None:
    lines = ticket_text(layout_ticket(make_ticket(), columns=42))
    assert lines[:4] == ["Oficina 360 Centro", "09/03/2026  09:41", "Su número", "A017"]
    assert "Información general" in lines
    assert "Personas delante: 3" in lines
    assert "Espera estimada: ~12 min" in lines
    assert lines[-1] == "pantalla!"


def test_english_labels(make_ticket: MakeTicket) -> None:
    lines = ticket_text(layout_ticket(make_ticket(lang="en", position=1, footer=""), columns=48))
    assert "Your number" in lines
    assert "You are next" in lines
    assert "Estimated wait: ~12 min" in lines
    assert not any("Conserve" in line for line in lines)


def test_number_is_the_biggest_thing_and_fits_the_paper(make_ticket: MakeTicket) -> None:
    for columns, number in ((42, "A017"), (32, "AB017"), (28, "B1000")):
        texts = [e for e in layout_ticket(make_ticket(number=number), columns=columns)]
        big = next(e for e in texts if isinstance(e, Text) and e.text == number)
        assert big.width == max(e.width for e in texts if isinstance(e, Text))
        assert big.width >= 5 and big.bold and big.align == "center"
        assert len(number) * big.width <= columns


def test_every_line_fits_its_columns(make_ticket: MakeTicket) -> None:
    ticket = make_ticket(
        office_name="Ayuntamiento de Villanueva de la Cañada, Oficina de Atención Ciudadana",
        service_name="Empadronamiento, certificados y volantes de convivencia",
        priority="reduced_mobility",
    )
    for columns in (28, 32, 42, 48):
        for element in layout_ticket(ticket, columns=columns):
            if isinstance(element, Text):
                assert len(element.text) * element.width <= columns, element


def test_priority_mark_only_when_given(make_ticket: MakeTicket) -> None:
    plain = layout_ticket(make_ticket(), columns=42)
    marked = layout_ticket(make_ticket(priority="pregnancy"), columns=42)
    assert not any(isinstance(e, Text) and e.invert for e in plain)
    mark = [e for e in marked if isinstance(e, Text) and e.invert]
    assert [m.text.strip() for m in mark] == ["Atención preferente: Embarazo"]


def test_qr_points_at_status_url_and_ticket_ends_with_cut(make_ticket: MakeTicket) -> None:
    elements = layout_ticket(make_ticket(), columns=42, qr_module_dots=6)
    assert [e for e in elements if isinstance(e, Qr)] == [Qr(make_ticket().status_url, 6)]
    assert isinstance(elements[-1], Cut)


def test_missing_optional_fields_leave_lines_out(make_ticket: MakeTicket) -> None:
    elements = layout_ticket(
        make_ticket(position=None, estimated_wait_s=None, status_url="", footer=None), columns=42
    )
    lines = ticket_text(elements)
    assert not any(isinstance(e, Qr) for e in elements)
    assert not any("Espera" in line or "delante" in line for line in lines)


@pytest.mark.parametrize(
    "changes",
    [
        {"number": "  "},
        {"issued_at": datetime(2026, 3, 9, 9, 41)},
        {"position": 0},
        {"estimated_wait_s": -5},
    ],
)
def test_bad_ticket_data_is_a_coded_error(
    changes: dict[str, object], make_ticket: MakeTicket
) -> None:
    with pytest.raises(PrinterError) as caught:
        make_ticket(**changes)
    assert caught.value.code == "printer_ticket_invalid"
