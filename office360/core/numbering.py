"""Daily ticket numbers per prefix (A001 …), reset at the office's local midnight."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from .errors import Invalid


def local_day(now: datetime, timezone: str) -> date:
    """The office's calendar day at `now` (an aware datetime)."""
    if now.tzinfo is None:
        raise Invalid("naive_datetime", "the clock must give time-zone aware datetimes")
    return now.astimezone(ZoneInfo(timezone)).date()


def format_number(prefix: str, seq: int, width: int = 3) -> str:
    """A017 for prefix A and sequence 17; more digits once a day passes 999."""
    if seq < 1:
        raise Invalid("invalid_sequence", f"ticket sequence must be positive, got {seq}")
    return f"{prefix}{seq:0{width}d}"


def spoken_number(number: str) -> tuple[str, int]:
    """'A017' -> ('A', 17), for announcements that say 'A 17'."""
    prefix = number.rstrip("0123456789")
    digits = number[len(prefix) :]
    return prefix, int(digits) if digits else 0
