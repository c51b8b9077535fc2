"""Shared fixtures for the printer tests: a sample ticket and a fake network printer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from printer.fake import FakePrinter
from printer.layout import TicketData

STATUS_URL = "http://192.168.1.10:8360/status/17?t=Zq3kL9xW2pVn"


def _make_ticket(**changes: object) -> TicketData:
    fields: dict[str, object] = {
        "office_name": "Oficina 360 Centro",
        "number": "A017",
        "service_name": "Información general",
        "lang": "es",
        "issued_at": datetime(2026, 3, 9, 9, 41, tzinfo=ZoneInfo("Europe/Madrid")),
        "position": 4,
        "estimated_wait_s": 720,
        "priority": None,
        "status_url": STATUS_URL,
        "footer": "Conserve este tique. ¡Le llamaremos por la pantalla!",
    }
    fields.update(changes)
    return TicketData(**fields)  # type: ignore[arg-type]


@pytest.fixture
def make_ticket() -> Callable[..., TicketData]:
    """make_ticket(**changes): the sample ticket with some fields changed."""
    return _make_ticket


@pytest.fixture
def ticket() -> TicketData:
    return _make_ticket()


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake
