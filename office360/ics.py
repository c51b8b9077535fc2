"""An RFC 5545 calendar file for one appointment, written by hand.

Times are UTC (``...Z``), so no VTIMEZONE is needed; text values are escaped; lines end in CRLF
and are folded at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from office360.core.errors import Invalid

CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//office360//appointments//EN"
MAX_OCTETS = 75
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_UID_RE = re.compile(r"[A-Za-z0-9._@+-]{1,255}")
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""
    url: str = ""
    reminder: timedelta | None = None
    """Alarm this long before the start, or none."""
    status: Literal["CONFIRMED", "CANCELLED"] = "CONFIRMED"
    sequence: int = 0
    """Raise it on every reschedule so calendars replace the old event."""


def appointment_uid(appointment_id: int | str, domain: str) -> str:
    """A UID that stays the same when the appointment is rescheduled."""
    return f"appointment-{appointment_id}@{domain}"


def event_ics(event: CalendarEvent, dtstamp: datetime) -> str:
    """The whole .ics file as text with CRLF line endings; encode it as UTF-8 to serve it."""
    _check(event, dtstamp)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{utc_stamp(dtstamp)}",
        f"DTSTART:{utc_stamp(event.start)}",
        f"DTEND:{utc_stamp(event.end)}",
        f"SEQUENCE:{event.sequence}",
        f"STATUS:{event.status}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.reminder is not None and event.status == "CONFIRMED":
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(event.summary)}",
            f"TRIGGER:-PT{int(event.reminder.total_seconds() // 60)}M",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def utc_stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped; other controls dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\n", "\\n")
    return _CONTROL_RE.sub("", value)


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets, joined by CRLF + space."""
    data = line.encode("utf-8")
    if len(data) <= MAX_OCTETS:
        return line
    pieces: list[bytes] = []
    limit = MAX_OCTETS
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # inside a UTF-8 character
            cut -= 1
        pieces.append(data[:cut])
        data = data[cut:]
        limit = MAX_OCTETS - 1  # continuation lines start with a space
    return "\r\n ".join(piece.decode("utf-8") for piece in pieces)


def _check(event: CalendarEvent, dtstamp: datetime) -> None:
    for name, when in (("start", event.start), ("end", event.end), ("dtstamp", dtstamp)):
        if when.tzinfo is None:
            raise Invalid("ics_invalid", f"{name} must carry its time zone")
    if event.end <= event.start:
        raise Invalid("ics_invalid", "the event must end after it starts")
    if not _UID_RE.fullmatch(event.uid):
        raise Invalid("ics_invalid", f"bad UID {event.uid!r}")
    if not event.summary.strip():
        raise Invalid("ics_invalid", "the event needs a summary")
    if event.url and not _URI_RE.fullmatch(event.url):
        raise Invalid("ics_invalid", f"bad URL {event.url!r}")
    if event.sequence < 0:
        raise Invalid("ics_invalid", "sequence cannot be negative")
    if event.reminder is not None and event.reminder < timedelta(0):
        raise Invalid("ics_invalid", "reminder cannot be negative")
