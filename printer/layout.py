"""Ticket data to printable elements: pure, no I/O, no python-escpos.

`layout_ticket()` decides what a person reads on the paper (which lines, in which size, where the
QR goes); escpos_backend turns the elements into ESC/POS bytes and preview draws the same bytes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .errors import PrinterError

Align = Literal["left", "center", "right"]

CHAR_DOTS = 12
"""Width of one Font A character in dots, on every profile python-escpos knows."""

MAX_NUMBER_SCALE = 6


@dataclass(frozen=True)
class TicketData:
    """What the kiosk knows about a ticket; the fields of the hub's ticket plus names."""

    office_name: str
    number: str
    service_name: str
    lang: str
    issued_at: datetime
    """Aware; printed in its own time zone, so convert it to the office's zone first."""
    position: int | None
    """1 for the next to be called."""
    estimated_wait_s: int | None
    priority: str | None
    """A priority category id such as "reduced_mobility", or None."""
    status_url: str
    footer: str | None
    """None: the printer's configured footer for `lang`; "": no footer."""

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise PrinterError("printer_ticket_invalid", "the ticket has no number")
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise PrinterError("printer_ticket_invalid", "issued_at must be an aware datetime")
        if self.position is not None and self.position < 1:
            raise PrinterError("printer_ticket_invalid", f"position {self.position} is below 1")
        if self.estimated_wait_s is not None and self.estimated_wait_s < 0:
            raise PrinterError("printer_ticket_invalid", "estimated_wait_s is negative")


@dataclass(frozen=True)
class Text:
    text: str
    align: Align = "left"
    bold: bool = False
    width: int = 1
    """Character width multiplier, 1..8."""
    height: int = 1
    invert: bool = False


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Qr:
    payload: str
    module_dots: int


@dataclass(frozen=True)
class Cut:
    pass


Element = Text | Feed | Qr | Cut

LABELS: dict[str, dict[str, str]] = {
    "es": {
        "your_number": "Su número",
        "priority": "Atención preferente",
        "people_ahead": "Personas delante: {n}",
        "next": "Usted es el siguiente",
        "wait": "Espera estimada: {wait}",
        "under_minute": "menos de 1 min",
        "minutes": "{m} min",
        "hours": "{h} h {m:02d} min",
        "scan": "¿Prefiere el móvil? Escanee el código para seguir su turno.",
    },
    "en": {
        "your_number": "Your number",
        "priority": "Priority service",
        "people_ahead": "People ahead of you: {n}",
        "next": "You are next",
        "wait": "Estimated wait: {wait}",
        "under_minute": "under 1 min",
        "minutes": "{m} min",
        "hours": "{h} h {m:02d} min",
        "scan": "Prefer your phone? Scan the code to follow your turn.",
    },
}
FALLBACK_LANG = "en"

PRIORITY_NAMES: dict[str, dict[str, str]] = {
    "es": {
        "reduced_mobility": "Movilidad reducida",
        "pregnancy": "Embarazo",
        "elderly": "Persona mayor",
        "accompanied": "Persona acompañada",
    },
    "en": {
        "reduced_mobility": "Reduced mobility",
        "pregnancy": "Pregnancy",
        "elderly": "Senior citizen",
        "accompanied": "Accompanied person",
    },
}

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DEFAULT_FOOTERS: dict[str, str] = {
    "es": "Conserve este tique. ¡Le llamaremos por la pantalla!",
    "en": "Keep this ticket. You will be called on the screen.",
}


def labels(lang: str) -> dict[str, str]:
    return LABELS.get(_base_lang(lang), LABELS[FALLBACK_LANG])


def _base_lang(lang: str) -> str:
    return lang.split("_")[0].split("-")[0].lower()


def format_wait(seconds: int, lang: str) -> str:
    words = labels(lang)
    if seconds < 60:
        return words["under_minute"]
    minutes = round(seconds / 60)
    if minutes < 60:
        return "~" + words["minutes"].format(m=minutes)
    return "~" + words["hours"].format(h=minutes // 60, m=minutes % 60)


def format_issued(moment: datetime, lang: str) -> str:
    if _base_lang(lang) == "es":
        return moment.strftime("%d/%m/%Y  %H:%M")
    return f"{moment.day} {MONTHS_EN[moment.month - 1]} {moment.year}  {moment:%H:%M}"


def priority_name(category: str, lang: str) -> str:
    names = PRIORITY_NAMES.get(_base_lang(lang), PRIORITY_NAMES[FALLBACK_LANG])
    return names.get(category, category.replace("_", " ").capitalize())


def columns_for(dots: int) -> int:
    return max(16, dots // CHAR_DOTS)


def layout_ticket(
    ticket: TicketData, *, columns: int = 48, qr_module_dots: int = 6
) -> list[Element]:
    """The elements of one ticket, top to bottom, ending with a cut."""
    words = labels(ticket.lang)
    out: list[Element] = []

    def wrapped(text: str, *, bold: bool = False, height: int = 1, invert: bool = False) -> None:
        for line in textwrap.wrap(text, columns - 2 if invert else columns) or [""]:
            out.append(Text(f" {line} " if invert else line, "center", bold, 1, height, invert))

    wrapped(ticket.office_name, bold=True, height=2)
    out.append(Text(format_issued(ticket.issued_at, ticket.lang), align="center"))
    out.append(Feed(1))
    out.append(Text(words["your_number"], align="center"))
    scale = max(1, min(MAX_NUMBER_SCALE, columns // len(ticket.number)))
    out.append(Text(ticket.number, align="center", bold=True, width=scale, height=scale))
    if ticket.priority:
        mark = f"{words['priority']}: {priority_name(ticket.priority, ticket.lang)}"
        wrapped(mark, bold=True, invert=True)
    out.append(Feed(1))
    wrapped(ticket.service_name, bold=True, height=2)
    out.append(Feed(1))
    if ticket.position is not None:
        ahead = ticket.position - 1
        text = words["next"] if ahead == 0 else words["people_ahead"].format(n=ahead)
        out.append(Text(text, align="center"))
    if ticket.estimated_wait_s is not None:
        wait = format_wait(ticket.estimated_wait_s, ticket.lang)
        out.append(Text(words["wait"].format(wait=wait), align="center"))
    if ticket.status_url:
        out.append(Feed(1))
        out.append(Qr(ticket.status_url, qr_module_dots))
        wrapped(words["scan"])
    if ticket.footer:
        out.append(Feed(1))
        wrapped(ticket.footer)
    out.append(Cut())
    return out


def ticket_text(elements: list[Element]) -> list[str]:
    """The text lines of a layout, for logs and tests."""
    return [e.text for e in elements if isinstance(e, Text)]
