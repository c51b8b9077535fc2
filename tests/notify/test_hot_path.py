"""With nothing to notify, issuing a ticket runs exactly the statements it ran before the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from hub.auth import Principal
from hub.db import make_engine, migrate
from hub.outbox import Outbox
from hub.services import HubService
from office360.config import load_settings
from tests.hubtools import FakeClock, free_port, write_config

KIOSK = Principal(1, "kiosk", "kiosk", None, None)
WEBHOOK = """
[[notifications.webhooks]]
url = "http://127.0.0.1:9/hook"
secret = "0123456789abcdef"
events = ["ticket.issued"]
"""
SMS = """
[notifications.sms]
enabled = true
url = "http://127.0.0.1:9/sms"
"""


@contextmanager
def service(folder: Path, extra: str, with_outbox: bool = True) -> Iterator[HubService]:
    folder.mkdir()
    settings = load_settings(write_config(folder, free_port(), extra), env={})
    url = settings.hub.sqlalchemy_url()
    migrate(url)
    engine = make_engine(url)
    svc = HubService(engine, settings, FakeClock())
    svc.prepare()
    if with_outbox:
        Outbox(svc, settings).attach()  # what the hub's start-up does
    try:
        yield svc
    finally:
        svc.close()
        engine.dispose()


def statements_to_issue(svc: HubService, n: int = 3) -> list[str]:
    """Every statement SQLite runs, as sqlite3 traces them (hot-path statements go straight to
    the DB-API cursor, past SQLAlchemy's events)."""
    seen: list[str] = []
    with svc.transaction(write=False) as conn:
        raw = conn.connection.driver_connection  # the service's own connection on this thread
    raw.set_trace_callback(seen.append)  # type: ignore[union-attr]
    try:
        for _ in range(n):
            svc.run_write(
                "t",
                None,
                "h",
                lambda conn, events: svc.issue_ticket(
                    conn, events, KIOSK, None, "general", None, "es", "walk_in"
                ),
            )
    finally:
        raw.set_trace_callback(None)  # type: ignore[union-attr]
    return seen


def outbox_rows(svc: HubService) -> int:
    with svc.transaction() as conn:
        return int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())


def test_nothing_configured_costs_nothing(tmp_path: Path) -> None:
    with service(tmp_path / "before", "", with_outbox=False) as before:
        baseline = statements_to_issue(before)
    with service(tmp_path / "after", "") as svc:
        assert svc.notify is None, "the hook is installed with nothing to notify"
        after = statements_to_issue(svc)
        assert outbox_rows(svc) == 0
    assert after == baseline
    assert not [s for s in after if "outbox" in s or "ticket_contacts" in s]


def test_a_webhook_adds_one_insert_in_the_same_transaction(tmp_path: Path) -> None:
    with service(tmp_path / "before", "", with_outbox=False) as before:
        baseline = statements_to_issue(before, 1)
    with service(tmp_path / "hook", WEBHOOK) as svc:
        assert svc.notify is not None
        with_hook = statements_to_issue(svc, 1)
        assert outbox_rows(svc) == 1
    extra = [s for s in with_hook if s not in baseline]
    assert len(with_hook) == len(baseline) + 1
    assert len(extra) == 1 and extra[0].startswith("INSERT INTO outbox")
    # in the ticket's own transaction: one BEGIN for the ticket, its event and the outbox row
    begins = [i for i, s in enumerate(with_hook) if s.startswith("BEGIN")]
    ticket_insert = next(i for i, s in enumerate(with_hook) if s.startswith("INSERT INTO tickets"))
    assert len(begins) == 1 and begins[0] < ticket_insert < with_hook.index(extra[0])


def test_sms_only_looks_for_opted_in_tickets_on_queue_changes(tmp_path: Path) -> None:
    with service(tmp_path / "before", "", with_outbox=False) as before:
        baseline = statements_to_issue(before, 1)
    with service(tmp_path / "sms", SMS) as svc:
        with_sms = statements_to_issue(svc, 1)
        assert outbox_rows(svc) == 0  # nobody opted in: nothing to send
    extra = [s for s in with_sms if s not in baseline]
    assert len(extra) == 1 and "ticket_contacts" in extra[0] and extra[0].startswith("SELECT")
