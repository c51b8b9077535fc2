"""Printing to the fake network printer: a real TCP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from printer import PrinterError, PrinterStatus, TicketData, open_printer
from printer.decode import decode
from printer.fake import FakePrinter


def test_ticket_arrives_as_printed(fake_printer: FakePrinter, ticket: TicketData) -> None:
    printer = open_printer(fake_printer.url, profile="TM-T88V")
    printer.print_ticket(ticket)
    [job] = fake_printer.wait_for_jobs(1)
    doc = decode(job, profile="TM-T88V")
    assert doc.line("A017").width == 6
    assert "Información general" in doc.text_lines
    assert "Conserve este tique. ¡Le llamaremos por la pantalla!" in " ".join(doc.text_lines)
    assert doc.qr_payloads == [ticket.status_url]
    assert len(doc.cuts) == 1
    assert printer.last_job_bytes == len(job)
    # asked before printing (printer, paper) and after (printer, paper)
    assert fake_printer.status_queries == [1, 4, 1, 4]


def test_configured_footer_in_the_tickets_language(
    fake_printer: FakePrinter, make_ticket: object
) -> None:
    printer = open_printer(fake_printer.url, footers={"es": "Gracias", "en": "Thank you"})
    printer.print_ticket(make_ticket(lang="en", footer=None))  # type: ignore[operator]
    printer.print_ticket(make_ticket(lang="es_ES", footer=None))  # type: ignore[operator]
    first, second = fake_printer.wait_for_jobs(2)
    assert decode(first).text_lines[-1] == "Thank you"
    assert decode(second).text_lines[-1] == "Gracias"


@pytest.mark.parametrize(
    "state", ["ok", "paper_low", "paper_out", "cover_open", "offline", "error"]
)
def test_status_is_read_from_the_printer(fake_printer: FakePrinter, state: str) -> None:
    fake_printer.set_state(state)
    assert open_printer(fake_printer.url).status() == state


@pytest.mark.parametrize("state", ["paper_out", "cover_open", "offline", "error"])
def test_no_paper_comes_out_when_the_printer_cannot_print(
    fake_printer: FakePrinter, ticket: TicketData, state: str
) -> None:
    fake_printer.set_state(state)
    with pytest.raises(PrinterError) as caught:
        open_printer(fake_printer.url).print_ticket(ticket)
    assert caught.value.code == f"printer_{state}"
    assert fake_printer.jobs == []


def test_paper_low_still_prints(fake_printer: FakePrinter, ticket: TicketData) -> None:
    fake_printer.set_state("paper_low")
    open_printer(fake_printer.url).print_ticket(ticket)
    assert len(fake_printer.wait_for_jobs(1)) == 1


def test_connection_dropped_mid_job(fake_printer: FakePrinter, ticket: TicketData) -> None:
    fake_printer.set_state(drop_after=100)
    with pytest.raises(PrinterError) as caught:
        open_printer(fake_printer.url).print_ticket(ticket)
    assert caught.value.code == "printer_disconnected"
    [partial] = fake_printer.wait_for_jobs(1)
    assert len(partial) == 100
    # the next job goes through once the printer is back
    fake_printer.set_state(drop_after=None)
    open_printer(fake_printer.url).print_ticket(ticket)
    assert len(fake_printer.wait_for_jobs(2)[1]) > 100


def test_slow_printer_never_blocks_past_the_timeout(
    fake_printer: FakePrinter, ticket: TicketData
) -> None:
    fake_printer.set_state(delay_s=3.0)
    printer = open_printer(fake_printer.url, timeout_s=0.3)
    started = time.monotonic()
    assert printer.status() == PrinterStatus.offline
    assert time.monotonic() - started < 1.5  # the reply would come after 3 s
    started = time.monotonic()
    with pytest.raises(PrinterError) as caught:
        printer.print_ticket(ticket)
    assert caught.value.code == "printer_timeout"
    assert time.monotonic() - started < 1.5


def test_slow_but_within_timeout_prints(fake_printer: FakePrinter, ticket: TicketData) -> None:
    fake_printer.set_state(delay_s=0.05)
    open_printer(fake_printer.url, timeout_s=2).print_ticket(ticket)
    assert len(fake_printer.wait_for_jobs(1)) == 1


def test_printer_that_never_answers_status(fake_printer: FakePrinter, ticket: TicketData) -> None:
    fake_printer.set_state(silent=True)
    asking = open_printer(fake_printer.url, timeout_s=0.2)
    assert asking.status() == PrinterStatus.offline
    not_asking = open_printer(fake_printer.url, timeout_s=0.2, ask_status=False)
    assert not_asking.status() == PrinterStatus.unknown
    not_asking.print_ticket(ticket)
    assert "A017" in decode(fake_printer.wait_for_jobs(1)[0]).text_lines


def test_unreachable_printer(ticket: TicketData) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    printer = open_printer(f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    assert printer.status() == PrinterStatus.offline
    with pytest.raises(PrinterError) as caught:
        printer.print_ticket(ticket)
    assert caught.value.code == "printer_unreachable"


def test_fake_printer_rejects_unknown_state(fake_printer: FakePrinter) -> None:
    with pytest.raises(ValueError):
        fake_printer.set_state("on_fire")
