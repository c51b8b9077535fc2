"""A small office day, small enough to work out every KPI by hand (see test_kpi.py)."""

from __future__ import annotations

from datetime import datetime

from office360.core.kpi import TicketRecord

DAY1 = "2024-03-04"
DAY2 = "2024-03-05"


def at(clock: str, day: str = DAY1) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}")


def scenario() -> list[TicketRecord]:
    """Eight tickets of office `centro`: services general and taxes, desks 1 and 2.

    ticket  service  channel      desk  wait (s)   call->start  service  how it ended
    T1      general  walk_in      1     240        60           600      done
    T2      general  walk_in      1     780        30           300      done
    T3      general  appointment  2     120 *      60           480      done, 10 min early
    T4      general  phone        2     900        -            -        no-show, 1 recall
    T5      taxes    appointment  1     120        60           1200     transferred, 3 min late
    T6      taxes    web          -     -          -            -        cancelled
    T7      taxes    appointment  2     1320       60           300      done, 8 min late
    T8      general  walk_in      1     60         60           600      done, came by transfer
    (* counted from the slot, not the check-in.)
    (T8 is on the second day.)
    """
    return [
        TicketRecord(
            "centro",
            "general",
            "1",
            "walk_in",
            at("09:00"),
            at("09:04"),
            at("09:05"),
            at("09:15"),
            "done",
        ),
        TicketRecord(
            "centro",
            "general",
            "1",
            "walk_in",
            at("09:02"),
            at("09:15"),
            at("09:15:30"),
            at("09:20:30"),
            "done",
        ),
        TicketRecord(
            "centro",
            "general",
            "2",
            "appointment",
            at("09:20"),
            at("09:32"),
            at("09:33"),
            at("09:41"),
            "done",
            slot_at=at("09:30"),
            checked_in_at=at("09:20"),
        ),
        TicketRecord(
            "centro", "general", "2", "phone", at("08:58"), at("09:13"), status="no_show", recalls=1
        ),
        TicketRecord(
            "centro",
            "taxes",
            "1",
            "appointment",
            at("10:03"),
            at("10:05"),
            at("10:06"),
            at("10:26"),
            "transferred",
            slot_at=at("10:00"),
            checked_in_at=at("10:03"),
        ),
        TicketRecord("centro", "taxes", None, "web", at("10:10"), status="cancelled"),
        TicketRecord(
            "centro",
            "taxes",
            "2",
            "appointment",
            at("10:08"),
            at("10:30"),
            at("10:31"),
            at("10:36"),
            "done",
            slot_at=at("10:00"),
            checked_in_at=at("10:08"),
        ),
        TicketRecord(
            "centro",
            "general",
            "1",
            "walk_in",
            at("09:00", DAY2),
            at("09:01", DAY2),
            at("09:02", DAY2),
            at("09:12", DAY2),
            "done",
            transferred=True,
        ),
    ]
