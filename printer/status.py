"""Real-time status (DLE EOT n) replies mapped to one PrinterStatus.

Each reply is one byte with bits 1 and 4 set and bits 0 and 7 clear. The bits used here:
  n=1 printer status:  bit 3 offline
  n=2 offline cause:   bit 2 cover open, bit 5 stopped by paper end, bit 6 error
  n=3 error cause:     bit 3 autocutter, bit 5 unrecoverable, bit 6 auto-recoverable
  n=4 paper sensor:    bits 2-3 roll near its end, bits 5-6 roll end
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

DLE_EOT = b"\x10\x04"

FIXED_MASK = 0b1001_0011
FIXED_BITS = 0b0001_0010
OFFLINE = 0x08
COVER_OPEN = 0x04
PAPER_END_STOP = 0x20
ERROR_OCCURRED = 0x40
PAPER_NEAR_END = 0x0C
PAPER_END = 0x60


class PrinterStatus(StrEnum):
    ok = "ok"
    paper_low = "paper_low"
    paper_out = "paper_out"
    cover_open = "cover_open"
    offline = "offline"
    error = "error"
    unknown = "unknown"
    """The connection cannot read (a device file, a printer told not to be asked)."""

    @property
    def can_print(self) -> bool:
        return self in (PrinterStatus.ok, PrinterStatus.paper_low, PrinterStatus.unknown)


def is_status_byte(value: int) -> bool:
    return value & FIXED_MASK == FIXED_BITS


def query(ask: Callable[[int], int]) -> PrinterStatus:
    """Ask as few questions as needed. `ask(n)` sends DLE EOT n and returns the reply byte."""
    printer = ask(1)
    if not is_status_byte(printer):
        return PrinterStatus.error
    if printer & OFFLINE:
        cause = ask(2)
        if not is_status_byte(cause):
            return PrinterStatus.error
        if cause & COVER_OPEN:
            return PrinterStatus.cover_open
        if cause & PAPER_END_STOP:
            return PrinterStatus.paper_out
        if cause & ERROR_OCCURRED:
            return PrinterStatus.error
    paper = ask(4)
    if not is_status_byte(paper):
        return PrinterStatus.error
    if paper & PAPER_END:
        return PrinterStatus.paper_out
    if printer & OFFLINE:
        return PrinterStatus.offline
    if paper & PAPER_NEAR_END:
        return PrinterStatus.paper_low
    return PrinterStatus.ok


def replies_for(status: PrinterStatus) -> dict[int, int]:
    """The bytes a printer in `status` answers to DLE EOT 1..4 (used by the fake printer)."""
    ok = FIXED_BITS
    table = {
        PrinterStatus.ok: (ok, ok, ok, ok),
        PrinterStatus.paper_low: (ok, ok, ok, ok | PAPER_NEAR_END),
        PrinterStatus.paper_out: (
            ok | OFFLINE,
            ok | PAPER_END_STOP,
            ok,
            ok | PAPER_NEAR_END | PAPER_END,
        ),
        PrinterStatus.cover_open: (ok | OFFLINE, ok | COVER_OPEN, ok, ok),
        PrinterStatus.offline: (ok | OFFLINE, ok, ok, ok),
        PrinterStatus.error: (ok | OFFLINE, ok | ERROR_OCCURRED, ok | 0x08, ok),
    }
    if status not in table:
        raise ValueError(f"no real-time replies for {status!r}")
    return dict(zip((1, 2, 3, 4), table[status], strict=True))
