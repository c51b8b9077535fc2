"""The daily purge erases personal data after [privacy] personal_data_days; the KPIs stay the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from hub import tables as t
from hub.app import _purge_once
from tests.hubtools import ThreadHub

from .test_hub_feedback import post, serve, token_of
from .test_hub_reports_api import kpis, make_day


def hub_state(hub: ThreadHub) -> Any:
    return hub.server.config.app.state.hub


def add_appointment(state: Any, appointment_id: int, days_from_now: int) -> None:
    now = state.service.clock()
    values = {
        "id": appointment_id,
        "office_id": "centro",
        "service_id": "general",
        "slot_at": now + timedelta(days=days_from_now),
        "slot_minutes": 15,
        "channel": "web",
        "video": False,
        "name": "Ana García",
        "email": "ana@example.com",
        "phone": "+34600123456",
        "lang": "es",
        "status": "booked",
        "manage_token_hash": "0" * 64,
        "sequence": 0,
        "created_at": now,
        "updated_at": now,
    }
    with state.service.transaction() as conn:
        conn.execute(insert(t.appointments).values(**values))


def test_purge_erases_personal_data_and_keeps_the_kpis(thread_hub: ThreadHub) -> None:
    make_day(thread_hub)
    done = serve(thread_hub)
    r = post(thread_hub, done["id"], {"rating": 2, "comment": "lento"}, token_of(done))
    assert r.status_code == 201
    state = hub_state(thread_hub)
    settings = state.service.settings
    assert settings.privacy.personal_data_days == 30
    add_appointment(state, 101, days_from_now=0)  # its slot is today: erased 30 days on
    add_appointment(state, 102, days_from_now=60)  # still ahead then: kept
    with state.service.transaction() as conn:
        conn.execute(
            insert(t.ticket_contacts).values(
                ticket_id=done["id"],
                phone="+34600123456",
                lang="es",
                created_at=state.service.clock(),
            )
        )
    before = kpis(thread_hub).json()

    _purge_once(state, settings)  # the same day: nothing is old enough yet
    thread_hub.clock.advance(days=29)
    _purge_once(state, settings)
    with state.service.transaction() as conn:
        assert conn.execute(select(t.feedback.c.comment)).scalar_one() == "lento"
        assert len(conn.execute(select(t.ticket_contacts)).all()) == 1

    thread_hub.clock.advance(days=2)
    _purge_once(state, settings)
    with state.service.transaction() as conn:
        feedback = conn.execute(select(t.feedback.c.rating, t.feedback.c.comment)).one()
        people = {
            row.id: (row.name, row.email, row.phone) for row in conn.execute(select(t.appointments))
        }
        contacts = conn.execute(select(t.ticket_contacts)).all()
    assert tuple(feedback) == (2, None)
    assert people == {
        101: ("", None, None),
        102: ("Ana García", "ana@example.com", "+34600123456"),
    }
    assert contacts == []

    after = kpis(thread_hub).json()
    assert after["groups"] == before["groups"]
    assert after["feedback"][0]["mean_rating"] == before["feedback"][0]["mean_rating"] == 2.0
    assert (before["feedback"][0]["comments"], after["feedback"][0]["comments"]) == (1, 0)
