"""Printer URLs, and the serial, device-file and USB transports."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from printer import PrinterError, PrinterStatus, TicketData, open_printer
from printer.connections import PrinterAddress, parse_url
from printer.decode import decode
from printer.status import replies_for


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://192.168.1.50", PrinterAddress("tcp", host="192.168.1.50", port=9100)),
        ("tcp://printer.lan:9101/", PrinterAddress("tcp", host="printer.lan", port=9101)),
        ("usb://04b8:0202", PrinterAddress("usb", vendor_id=0x04B8, product_id=0x0202)),
        (
            "usb://0416:5011?out_ep=0x03",
            PrinterAddress("usb", vendor_id=0x0416, product_id=0x5011, options={"out_ep": "0x03"}),
        ),
        (
            "serial:///dev/ttyUSB0?baudrate=19200",
            PrinterAddress("serial", path="/dev/ttyUSB0", options={"baudrate": "19200"}),
        ),
        ("file:///dev/usb/lp0", PrinterAddress("file", path="/dev/usb/lp0")),
        (
            "preview:///var/lib/office360/tickets",
            PrinterAddress("preview", path="/var/lib/office360/tickets"),
        ),
        ("preview://tickets", PrinterAddress("preview", path="tickets")),
    ],
)
def test_urls(url: str, expected: PrinterAddress) -> None:
    assert parse_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("lpt://1", "unknown printer type 'lpt'"),
        ("/dev/usb/lp0", "unknown printer type '(none)'"),
        ("tcp://", "give a host"),
        ("tcp://host:99999", "Port out of range"),
        ("tcp://host?x=1", "takes no options"),
        ("usb://04b8", "in hex"),
        ("usb://zz:01", "in hex"),
        ("usb://04b8:0202?speed=1", "unknown option"),
        ("usb://04b8:0202?in_ep=abc", "must be a number"),
        ("serial:///dev/ttyS0?baudrate=fast", "not a number"),
        ("serial:///dev/ttyS0?parity=X", "parity"),
        ("file://", "give a path"),
        ("file:///dev/usb/lp0?x=1", "unknown option"),
    ],
)
def test_bad_urls_are_coded_errors(url: str, reason: str) -> None:
    with pytest.raises(PrinterError) as caught:
        parse_url(url)
    assert caught.value.code == "printer_url_invalid"
    assert reason in caught.value.message


# --- device file ------------------------------------------------------------------------------


def test_device_file_gets_the_job(tmp_path: Path, ticket: TicketData) -> None:
    device = tmp_path / "lp0"
    device.touch()
    printer = open_printer(f"file://{device}")
    assert printer.status() == PrinterStatus.unknown
    printer.print_ticket(ticket)
    assert "A017" in decode(device.read_bytes()).text_lines


def test_missing_device_file(tmp_path: Path, ticket: TicketData) -> None:
    printer = open_printer(f"file://{tmp_path}/lp9")
    assert printer.status() == PrinterStatus.offline
    with pytest.raises(PrinterError) as caught:
        printer.print_ticket(ticket)
    assert caught.value.code == "printer_not_found"


def test_device_nobody_reads_times_out(tmp_path: Path, ticket: TicketData) -> None:
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    printer = open_printer(f"file://{fifo}", timeout_s=0.3)
    with pytest.raises(PrinterError) as caught:  # no reader at all
        printer.print_ticket(ticket)
    assert caught.value.code == "printer_unreachable"
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    filler = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(BlockingIOError):
            while True:  # a printer that stopped taking data: its buffer is full
                os.write(filler, b"\0" * 4096)
        started = time.monotonic()
        with pytest.raises(PrinterError) as caught:
            printer.print_ticket(ticket)
        assert caught.value.code == "printer_timeout"
        assert time.monotonic() - started < 2  # without the timeout: blocked for good
    finally:
        os.close(filler)
        os.close(reader)


# --- serial: a real pseudo-terminal with a printer thread answering on the other side -----------


class PtyPrinter:
    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self.slave = slave
        self.received = bytearray()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            self.received += chunk
            for i in range(len(chunk) - 2):
                if chunk[i : i + 2] == b"\x10\x04":
                    os.write(self.master, b"\x12")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        os.close(self.slave)
        os.close(self.master)


@pytest.fixture
def pty_printer() -> Iterator[PtyPrinter]:
    device = PtyPrinter()
    yield device
    device.close()


def test_serial_printer(pty_printer: PtyPrinter, ticket: TicketData) -> None:
    printer = open_printer(f"serial://{pty_printer.path}?baudrate=19200", timeout_s=1)
    assert printer.status() == PrinterStatus.ok
    printer.print_ticket(ticket)
    deadline = time.monotonic() + 2
    while b"\x1dV" not in pty_printer.received and time.monotonic() < deadline:
        time.sleep(0.01)
    job = bytes(pty_printer.received).replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x04", b"")
    assert "A017" in decode(job).text_lines


def test_missing_serial_port(ticket: TicketData) -> None:
    printer = open_printer("serial:///dev/ttyUSB97")
    assert printer.status() == PrinterStatus.offline
    with pytest.raises(PrinterError) as caught:
        printer.print_ticket(ticket)
    assert caught.value.code == "printer_not_found"


# --- USB ---------------------------------------------------------------------------------------


def test_usb_printer_not_connected(ticket: TicketData) -> None:
    # a real pyusb lookup: this machine has no such printer (or no libusb at all)
    with pytest.raises(PrinterError) as caught:
        open_printer("usb://04b8:0e15").print_ticket(ticket)
    assert caught.value.code in ("printer_not_found", "printer_dependency_missing")


class FakeEndpoint:
    def __init__(self, address: int) -> None:
        self.bEndpointAddress = address


class FakeUsbDevice:
    """Stands in for a USB printer, which cannot be plugged in here."""

    def __init__(self, state: str) -> None:
        self.replies = replies_for(PrinterStatus(state))
        self.written = bytearray()
        self.endpoints = [FakeEndpoint(0x01), FakeEndpoint(0x82)]

    def is_kernel_driver_active(self, interface: int) -> bool:
        return False

    def set_configuration(self) -> None:
        pass

    def get_active_configuration(self) -> dict[tuple[int, int], list[FakeEndpoint]]:
        return {(0, 0): self.endpoints}

    def write(self, endpoint: Any, data: bytes, timeout: int) -> int:
        assert endpoint.bEndpointAddress == 0x01 and 0 < timeout <= 3000
        self.written += data
        self.asked = data[-1]
        return len(data)

    def read(self, endpoint: Any, size: int, timeout: int) -> bytes:
        assert endpoint.bEndpointAddress == 0x82
        return bytes((self.replies[self.asked],))


@pytest.mark.parametrize("state", ["ok", "paper_low", "cover_open"])
def test_usb_printer(monkeypatch: pytest.MonkeyPatch, ticket: TicketData, state: str) -> None:
    import usb.core
    import usb.util

    device = FakeUsbDevice(state)
    monkeypatch.setattr(
        usb.core, "find", lambda **ids: device if ids["idVendor"] == 0x04B8 else None
    )
    monkeypatch.setattr(usb.util, "dispose_resources", lambda dev: None)
    printer = open_printer("usb://04b8:0202")
    assert printer.status() == state
    if state == "cover_open":
        with pytest.raises(PrinterError, match="printer_cover_open"):
            printer.print_ticket(ticket)
        return
    printer.print_ticket(ticket)
    assert "A017" in decode(bytes(device.written)).text_lines
