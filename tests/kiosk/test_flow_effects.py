"""The flow's commands carried out against a real hub (uvicorn on a loopback port, fake clock)
and the fake network printer (a real TCP server): no Kivy, no mocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kiosk.effects import Effects, Result
from kiosk.flow import (
    CheckIn,
    FlowConfig,
    IssueTicket,
    KioskFlow,
    LoadServices,
    PrintTicket,
    Screen,
    services_from_json,
)
from kiosk.worker import Worker
from office360.client import HubClient
from printer import open_printer
from printer.decode import decode
from printer.fake import FakePrinter
from tests.appointments.apptools import TUESDAY, booked
from tests.hubtools import ThreadHub


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def effects_for(hub: ThreadHub, printer_url: str | None, **kw: Any) -> Effects:
    client = HubClient(hub.url, hub.token("kiosk"), office="centro", timeout_s=3, retries=0)
    printer = open_printer(printer_url, timeout_s=1.0) if printer_url else None
    return Effects(
        client,
        printer,
        office_id="centro",
        office_name="Oficina 360 Centro",
        timezone="Europe/Madrid",
        **kw,
    )


def run(flow: KioskFlow, effects: Effects, commands: list[Any]) -> None:
    """Carry out commands until none are left, as the app's worker does (synchronously here)."""
    while commands:
        command = commands.pop(0)
        if isinstance(command, (IssueTicket, CheckIn, PrintTicket, LoadServices)):
            result = effects.run(command)
            assert isinstance(result, Result)
            commands += getattr(flow, result.method)(*result.args) or []


def make_flow(priorities: tuple[str, ...] = ()) -> KioskFlow:
    return KioskFlow(
        FlowConfig(priority_categories=priorities),
        clock=lambda: 0.0,
        today=lambda: date(2026, 3, 2),
    )


def test_walk_in_ticket_is_printed_with_its_status_qr(
    thread_hub: ThreadHub, fake_printer: FakePrinter
) -> None:
    flow, effects = make_flow(("pregnancy",)), effects_for(thread_hub, fake_printer.url)
    run(flow, effects, flow.start())
    assert [s.id for s in flow.services] == ["general", "certificates", "taxes"]
    flow.choose_language("en")
    flow.go_walk_in()
    flow.choose_service("taxes")
    run(flow, effects, flow.choose_priority("pregnancy"))
    ticket = flow.view.ticket
    assert flow.view.screen is Screen.TICKET and ticket is not None and ticket.printed is True
    assert ticket.number == "C001" and ticket.service_name("en") == "Taxes"
    document = decode(fake_printer.wait_for_jobs(1)[0])
    assert "C001" in document.text and document.qr_payloads == [ticket.status_url]
    assert ticket.status_url.startswith(thread_hub.url + "/status/")


def test_paper_out_keeps_the_ticket_for_the_phone(
    thread_hub: ThreadHub, fake_printer: FakePrinter
) -> None:
    fake_printer.set_state("paper_out")
    flow, effects = make_flow(), effects_for(thread_hub, fake_printer.url)
    run(flow, effects, flow.start())
    flow.go_walk_in()
    run(flow, effects, flow.choose_service("general"))
    ticket = flow.view.ticket
    assert flow.view.screen is Screen.TICKET and ticket is not None
    assert ticket.printed is False and ticket.printer_problem == "printer_paper_out"
    assert ticket.number == "A001" and fake_printer.jobs == []


def test_checked_in_appointment_is_printed(
    thread_hub: ThreadHub, fake_printer: FakePrinter
) -> None:
    appointment = booked(thread_hub, "10:00")  # the hub's clock says 09:30 local: early
    flow, effects = make_flow(), effects_for(thread_hub, fake_printer.url)
    run(flow, effects, flow.code_read(appointment["code"]))
    ticket = flow.view.ticket
    assert flow.view.screen is Screen.TICKET and ticket is not None and ticket.printed is True
    assert ticket.note.startswith("You are early")
    document = decode(fake_printer.wait_for_jobs(1)[0])
    assert ticket.number in document.text and document.qr_payloads == [ticket.status_url]
    # the same code again (another kiosk, a second scan): the same ticket, said so
    run(flow, effects, flow.code_read(appointment["code"]))
    again = flow.view.ticket
    assert again is not None and again.number == ticket.number
    assert again.note.startswith("This appointment was already checked in")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("https://example.org/not-ours", "qr_malformed"),
        ("O360:AAAA", "qr_malformed"),
    ],
)
def test_foreign_codes_are_refused(thread_hub: ThreadHub, code: str, expected: str) -> None:
    flow, effects = make_flow(), effects_for(thread_hub, None)
    run(flow, effects, flow.code_read(code))
    assert flow.view.screen is Screen.ERROR and flow.view.error is not None
    assert flow.view.error.code == expected


def test_an_appointment_for_tomorrow_says_tomorrow(thread_hub: ThreadHub) -> None:
    appointment = booked(thread_hub, "10:00", day=TUESDAY)
    flow, effects = make_flow(), effects_for(thread_hub, None)
    run(flow, effects, flow.code_read(appointment["code"]))
    error = flow.view.error
    assert error is not None and error.code == "appointment_other_day"
    assert error.message.text == "This appointment is for tomorrow."


def test_a_forged_code_is_refused_offline_with_the_public_keys(thread_hub: ThreadHub) -> None:
    """With [appointments] public_keys the kiosk refuses a forged code without the hub."""
    from hub.keys import read_ring
    from office360.config import load_settings

    genuine = booked(thread_hub, "10:00")["code"]
    settings = load_settings(thread_hub.config)
    ring = read_ring(settings.hub.data_dir / settings.appointments.key_file)
    forged = genuine[:-8] + ("A" * 8 if not genuine.endswith("A" * 8) else "B" * 8)
    effects = effects_for(thread_hub, None, public_keys=ring.public_texts())
    thread_hub.stop()  # the hub is gone: the answer comes from the keys alone
    flow = make_flow()
    run(flow, effects, flow.code_read(forged))
    assert flow.view.error is not None and flow.view.error.code == "qr_signature_invalid"


def test_hub_down_means_unavailable(fake_printer: FakePrinter) -> None:
    client = HubClient("http://127.0.0.1:9", "t", timeout_s=0.5, retries=0)
    effects = Effects(client, None, office_id="centro", office_name="x", timezone="UTC")
    flow = make_flow()
    flow.services_loaded(services_from_json([{"id": "general", "names": {"en": "G"}}]))
    flow.go_walk_in()
    commands = flow.choose_service("general")
    result = effects.run(commands[0])
    assert result == Result("request_failed", (commands[0].key, "hub_unreachable"))
    assert getattr(flow, result.method)(*result.args) == [LoadServices(1.0)]
    assert flow.view.screen is Screen.UNAVAILABLE


def test_worker_runs_jobs_in_order_and_survives_a_failing_one() -> None:
    import threading

    got: list[Any] = []
    done = threading.Event()
    worker = Worker(lambda r: (got.append(r), r == 3 and done.set()))
    worker.start()
    worker.submit(lambda: 1)
    worker.submit(lambda: 1 / 0)
    worker.submit(lambda: None)
    worker.submit(lambda: 3)
    assert done.wait(2)
    worker.stop()
    assert got == [1, 3]


def test_demo_folder_holds_a_forged_and_a_foreign_code(
    tmp_path: Path, thread_hub: ThreadHub
) -> None:
    from kiosk.demo_assets import write_demo_folder
    from kiosk.scanner import decode_frame, read_image

    folder = write_demo_folder(tmp_path / "camera", codes=["O360:GENUINE"])
    read = {}
    for image in sorted(folder.glob("*.png")):
        for code in decode_frame(read_image(image)):
            read[code] = image.name
    assert len(read) == 3 and "O360:GENUINE" in read
    forged = next(c for c, name in read.items() if "forged" in name)
    foreign = next(c for c, name in read.items() if "foreign" in name)
    assert not foreign.startswith("O360:")
    flow, effects = make_flow(), effects_for(thread_hub, None)
    run(flow, effects, flow.code_read(forged))
    assert flow.view.error is not None and flow.view.error.code == "qr_unknown_key"
    write_demo_folder(folder)  # written again: the old images go, none pile up
    assert len(list(folder.glob("*.png"))) == 2 * (40 + 3)


def test_decode_gate_spares_the_cpu_while_a_citizen_is_served() -> None:
    from kiosk.gate import DecodeGate

    now_ms = [0]
    calls: list[bool] = []

    def decode(_frame: Any, *, fallback: bool) -> list[str]:
        calls.append(fallback)
        return ["code"]

    gate = DecodeGate(max_fps=10, fallback_every=3, clock=lambda: now_ms[0] / 1000, decode=decode)
    frames = []
    for _ in range(20):  # a second of a 20 fps camera
        frames.append(gate(None))  # type: ignore[arg-type]
        now_ms[0] += 50
    assert sum(1 for f in frames if f) == 10 and calls == [False, False, True] * 3 + [False]
    gate.paused = True
    now_ms[0] += 1000
    assert gate(None) == [] and len(calls) == 10  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DecodeGate(max_fps=0)
