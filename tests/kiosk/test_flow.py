"""The kiosk's view-model without Kivy: screens, commands, stale answers, time-outs, hub outages."""

from __future__ import annotations

from datetime import date
from itertools import count
from typing import Any

import pytest

from kiosk.flow import (
    Action,
    Beep,
    CheckIn,
    FlowConfig,
    IssueTicket,
    KioskFlow,
    LoadServices,
    PrintTicket,
    Screen,
    ServiceChoice,
    services_from_json,
    wait_minutes,
)

SERVICES = [
    ServiceChoice("general", {"es": "Información general", "en": "General information"}, "info"),
    ServiceChoice("taxes", {"es": "Tributos", "en": "Taxes"}, "euro"),
]
TICKET = {
    "id": 7,
    "number": "A017",
    "service": "general",
    "service_names": {"es": "Información general", "en": "General information"},
    "position": 3,
    "estimated_wait_s": 540,
    "status_url": "http://hub/status/7?t=abc",
    "issued_at": "2026-03-02T09:00:00+00:00",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_flow(clock: Clock | None = None, **config: Any) -> KioskFlow:
    keys = count(1)
    settings = {"priority_categories": ("reduced_mobility", "pregnancy"), **config}
    return KioskFlow(
        FlowConfig(**settings),
        SERVICES,
        clock=clock or Clock(),
        today=lambda: date(2026, 3, 2),
        new_key=lambda: f"k{next(keys)}",
    )


def test_walk_in_with_priority_issues_prints_and_shows_the_ticket() -> None:
    flow = make_flow()
    assert flow.start() == [LoadServices()]
    assert flow.choose_language("en") == []
    assert flow.go_walk_in() == [] and flow.view.screen is Screen.SERVICES
    assert flow.choose_service("general") == [] and flow.view.screen is Screen.PRIORITY
    assert flow.choose_priority("pregnancy") == [IssueTicket("k1", "general", "pregnancy", "en")]
    assert flow.view.screen is Screen.ISSUING
    commands = flow.ticket_received("k1", TICKET)
    assert commands == [PrintTicket("k1", TICKET, "en", "pregnancy")]
    assert flow.printed("k1") == []
    view = flow.view
    assert view.screen is Screen.TICKET and view.lang == "en"
    assert view.ticket is not None and view.ticket.number == "A017" and view.ticket.printed is True
    assert view.ticket.status_url == TICKET["status_url"]


def test_no_priority_step_when_no_categories_are_offered() -> None:
    flow = make_flow(priority_categories=())
    flow.go_walk_in()
    assert flow.choose_service("taxes") == [IssueTicket("k1", "taxes", None, "es")]


def test_appointment_code_beeps_and_checks_in() -> None:
    flow = make_flow()
    assert flow.code_read("  O360:ABC \n") == [Beep(), CheckIn("k1", "O360:ABC", "es")]
    assert flow.view.screen is Screen.ISSUING


@pytest.mark.parametrize(
    ("setup", "accepted"),
    [
        ([], True),  # start screen
        (["go_scan"], True),
        (["go_walk_in"], False),  # choosing a service: a code must not jump ahead
        (["go_walk_in", "choose_service:general"], False),  # priority step
        (["go_walk_in", "choose_service:general", "choose_priority:"], False),  # issuing
    ],
)
def test_codes_are_accepted_only_where_they_make_sense(setup: list[str], accepted: bool) -> None:
    flow = make_flow()
    for step in setup:
        name, _, arg = step.partition(":")
        method = getattr(flow, name)
        method(arg or None) if ":" in step else method()
    assert bool(flow.code_read("O360:X")) is accepted


def test_paper_out_offers_the_phone_qr_and_keeps_the_ticket() -> None:
    flow = make_flow(priority_categories=())
    flow.go_walk_in()
    flow.choose_service("general")
    flow.ticket_received("k1", TICKET)
    flow.print_failed("k1", "printer_paper_out")
    ticket = flow.view.ticket
    assert flow.view.screen is Screen.TICKET
    assert ticket is not None and ticket.printed is False
    assert ticket.printer_problem == "printer_paper_out" and ticket.number == "A017"


def test_a_printer_seen_offline_is_not_waited_for() -> None:
    flow = make_flow(priority_categories=())
    flow.printer_status("offline")
    flow.go_walk_in()
    flow.choose_service("general")
    assert flow.ticket_received("k1", TICKET) == []  # no PrintTicket
    assert flow.view.screen is Screen.TICKET and flow.view.ticket is not None
    assert (
        flow.view.ticket.printed is False and flow.view.ticket.printer_problem == "printer_offline"
    )


def test_paper_out_is_tried_again_for_the_next_citizen() -> None:
    flow = make_flow(priority_categories=())
    flow.printer_status("paper_out")  # someone may have refilled it since the last report
    flow.go_walk_in()
    flow.choose_service("general")
    assert isinstance(flow.ticket_received("k1", TICKET)[0], PrintTicket)


@pytest.mark.parametrize(
    ("code", "when", "message", "actions"),
    [
        (
            "qr_malformed",
            None,
            "This code is not an appointment of this office.",
            (Action.SCAN_AGAIN, Action.WALK_IN, Action.HOME),
        ),
        (
            "qr_signature_invalid",
            None,
            "We cannot validate this code.",
            (Action.WALK_IN, Action.HOME),
        ),
        (
            "qr_wrong_office",
            None,
            "This code is not from this office.",
            (Action.WALK_IN, Action.HOME),
        ),
        ("qr_expired", None, "This appointment code has expired.", (Action.WALK_IN, Action.HOME)),
        (
            "appointment_other_day",
            date(2026, 3, 3),
            "This appointment is for tomorrow.",
            (Action.WALK_IN, Action.HOME),
        ),
        (
            "appointment_other_day",
            date(2026, 3, 1),
            "This appointment was yesterday.",
            (Action.WALK_IN, Action.HOME),
        ),
        (
            "appointment_other_day",
            date(2026, 3, 9),
            "This appointment is for {date}.",
            (Action.WALK_IN, Action.HOME),
        ),
        (
            "appointment_other_day",
            None,
            "This appointment is for another day.",
            (Action.WALK_IN, Action.HOME),
        ),
        (
            "appointment_cancelled",
            None,
            "This appointment was cancelled.",
            (Action.WALK_IN, Action.HOME),
        ),
        (
            "appointment_too_early",
            None,
            "It is too early to check in for your appointment.",
            (Action.HOME,),
        ),
        (
            "appointment_late_refused",
            None,
            "The time of your appointment has passed.",
            (Action.WALK_IN, Action.HOME),
        ),
        ("forbidden", None, "This kiosk is out of service.", (Action.HOME,)),
        ("something_new", None, "Something went wrong.", (Action.HOME,)),
    ],
)
def test_refused_codes_say_why_and_what_next(
    code: str, when: date | None, message: str, actions: tuple[Action, ...]
) -> None:
    flow = make_flow()
    flow.code_read("O360:X")
    assert flow.request_failed("k1", code, when) == []
    error = flow.view.error
    assert flow.view.screen is Screen.ERROR and error is not None
    assert error.code == code and error.message.text == message and error.actions == actions
    assert error.hint.text  # always a next step
    if "{date}" in message:
        assert dict(error.message.params) == {"date": "09/03/2026"}


@pytest.mark.parametrize(
    ("action", "screen"),
    [("walk_in", Screen.SERVICES), ("scan_again", Screen.SCAN), ("home", Screen.START)],
)
def test_error_buttons_lead_on(action: str, screen: Screen) -> None:
    flow = make_flow()
    flow.code_read("x")
    flow.request_failed("k1", "qr_malformed")
    flow.error_action(action)
    assert flow.view.screen is screen and flow.view.error is None


def test_a_late_answer_to_an_abandoned_request_is_ignored() -> None:
    clock = Clock()
    flow = make_flow(clock, priority_categories=(), issuing_timeout_s=10)
    flow.go_walk_in()
    flow.choose_service("general")
    clock.now += 11
    assert flow.tick() and flow.view.screen is Screen.ERROR  # never left waiting
    assert flow.ticket_received("k1", TICKET) == []
    assert flow.view.screen is Screen.ERROR and flow.view.ticket is None


@pytest.mark.parametrize(
    ("steps", "limit_s"),
    [
        (["go_walk_in"], 30),
        (["go_scan"], 30),
        (["go_walk_in", "choose_service:general"], 30),
        (["code_read:x", "request_failed:k1:qr_expired"], 12),
        (
            [
                "go_walk_in",
                "choose_service:general",
                "choose_priority:",
                "ticket_received:k1",
                "printed:k1",
            ],
            20,
        ),
    ],
)
def test_idle_returns_to_start_and_forgets_everything(steps: list[str], limit_s: float) -> None:
    clock = Clock()
    flow = make_flow(clock)
    flow.choose_language("en")
    for step in steps:
        name, *args = step.split(":")
        if name == "ticket_received":
            flow.ticket_received(args[0], TICKET)
        elif name == "choose_priority":
            flow.choose_priority(None)
        else:
            getattr(flow, name)(*args)
    clock.now += limit_s - 0.5
    assert not flow.tick() and flow.view.screen is not Screen.START
    clock.now += 1
    assert flow.tick()
    view = flow.view
    assert view.screen is Screen.START and view.lang == "es"  # back to the default language
    assert view.ticket is None and view.error is None and view.service is None
    assert flow.pending is None


def test_a_touch_keeps_the_session_alive() -> None:
    clock = Clock()
    flow = make_flow(clock)
    flow.go_walk_in()
    clock.now += 25
    flow.touched()
    clock.now += 25
    assert not flow.tick() and flow.view.screen is Screen.SERVICES


def test_language_alone_is_forgotten_on_the_start_screen() -> None:
    clock = Clock()
    flow = make_flow(clock)
    flow.choose_language("en")
    clock.now += 31
    assert flow.tick() and flow.view.lang == "es"
    assert flow.choose_language("xx") == [] and flow.view.lang == "es"  # not offered


def test_hub_unreachable_backs_off_then_recovers() -> None:
    flow = make_flow(priority_categories=(), retry_first_s=1, retry_max_s=5)
    flow.go_walk_in()
    flow.choose_service("general")
    assert flow.request_failed("k1", "hub_unreachable") == [LoadServices(1)]
    assert flow.view.screen is Screen.UNAVAILABLE and flow.view.attempts == 1
    delays = [flow.services_failed("hub_unreachable")[0].delay_s for _ in range(4)]  # type: ignore[union-attr]
    assert delays == [2, 4, 5, 5]
    assert flow.view.attempts == 5
    assert flow.code_read("O360:X") == []  # nothing to do with a code meanwhile
    flow.services_loaded(SERVICES[:1])
    assert flow.view.screen is Screen.START and flow.services == tuple(SERVICES[:1])
    assert flow.request_failed("k1", "hub_unreachable") == []  # stale


def test_hub_lost_in_the_background_interrupts_nobody() -> None:
    flow = make_flow()
    flow.go_walk_in()
    assert flow.hub_lost() == [] and flow.view.screen is Screen.SERVICES
    flow.back()
    assert flow.hub_lost() == [LoadServices(1.0)] and flow.view.screen is Screen.UNAVAILABLE


def test_services_failing_with_an_answer_keeps_configured_services() -> None:
    flow = make_flow()
    assert flow.services_failed("forbidden") == [] and flow.view.screen is Screen.START
    assert flow.services == tuple(SERVICES)


def test_camera_state_is_shown_and_recovers() -> None:
    flow = make_flow()
    flow.go_scan()
    flow.camera_state("no_camera")
    assert flow.view.camera_ok is False and flow.view.screen is Screen.SCAN
    flow.camera_state("ok")
    assert flow.view.camera_ok is True


@pytest.mark.parametrize(
    ("screen_steps", "expected"),
    [
        (["go_scan", "back"], Screen.START),
        (["go_walk_in", "back"], Screen.START),
        (["go_walk_in", "choose_service:general", "back"], Screen.SERVICES),
    ],
)
def test_back(screen_steps: list[str], expected: Screen) -> None:
    flow = make_flow()
    flow.choose_language("en")
    for step in screen_steps:
        name, *args = step.split(":")
        getattr(flow, name)(*args)
    assert flow.view.screen is expected and flow.view.lang == "en"


def test_unknown_service_or_category_is_ignored() -> None:
    flow = make_flow()
    flow.go_walk_in()
    assert flow.choose_service("nope") == [] and flow.view.screen is Screen.SERVICES
    flow.choose_service("general")
    assert flow.choose_priority("vip") == [] and flow.view.screen is Screen.PRIORITY


@pytest.mark.parametrize(
    ("only", "ids"),
    [((), ["general", "taxes", "x"]), (("taxes", "general", "nope"), ["taxes", "general"])],
)
def test_services_from_the_hub(only: tuple[str, ...], ids: list[str]) -> None:
    items = [
        {"id": "general", "names": {"es": "G"}, "icon": "info"},
        {"id": "taxes", "names": {"es": "T"}},
        {"id": "x", "names": {}},
        {"names": {"es": "no id"}},
        "garbage",
    ]
    assert [s.id for s in services_from_json(items, only)] == ids  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(None, None), (0, 1), (59, 1), (60, 1), (61, 2), (540, 9)]
)
def test_wait_minutes(seconds: int | None, minutes: int | None) -> None:
    assert wait_minutes(seconds) == minutes


def test_service_names_fall_back() -> None:
    service = ServiceChoice("x", {"es": "Uno"})
    assert service.name("en") == "Uno" and SERVICES[0].name("en") == "General information"
