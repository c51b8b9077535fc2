"""The preview printer: PNG images drawn from the ESC/POS bytes, read back with zxing-cpp."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from printer import PrinterError, PrinterStatus, TicketData, open_printer
from printer.preview import PreviewPrinter, main

MakeTicket = Callable[..., TicketData]


def qr_texts(path: Path) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(path))]


@pytest.mark.parametrize(("profile", "paper"), [("TM-T88V", 80), ("POS-5890", 58)])
def test_png_ticket_carries_the_status_url(
    tmp_path: Path, ticket: TicketData, profile: str, paper: int
) -> None:
    printer = open_printer(f"preview://{tmp_path}/tickets", profile=profile, paper_width_mm=paper)
    assert isinstance(printer, PreviewPrinter)
    assert printer.status() == PrinterStatus.ok
    printer.print_ticket(ticket)
    [png] = (tmp_path / "tickets").glob("*.png")
    assert png.name == "ticket-A017-20260309-094100.png"
    assert printer.last_path == png
    assert qr_texts(png) == [ticket.status_url]
    with Image.open(png) as image:
        assert image.width == printer.geometry.dots + 32
        assert image.height > image.width  # a receipt, not a square
    assert not list((tmp_path / "tickets").glob("*.part"))


def test_number_is_drawn_large(tmp_path: Path, make_ticket: MakeTicket) -> None:
    printer = open_printer(f"preview://{tmp_path}")
    assert isinstance(printer, PreviewPrinter)
    image = printer.image(make_ticket(status_url="", footer=""))
    # the 6x number is the tallest band of rows with ink: 6 x 24 dots
    gray = image.convert("L")
    inked = [min(gray.crop((0, y, gray.width, y + 1)).getdata()) < 100 for y in range(gray.height)]
    runs = [len(list(band)) for ink, band in itertools.groupby(inked) if ink]
    tallest, second = sorted(runs)[-2:][::-1]
    assert tallest >= 80 and tallest > 2 * second


def test_folder_that_is_a_file(tmp_path: Path, ticket: TicketData) -> None:
    blocker = tmp_path / "tickets"
    blocker.write_text("not a folder")
    printer = open_printer(f"preview://{blocker}")
    assert printer.status() == PrinterStatus.error
    with pytest.raises(PrinterError) as caught:
        printer.print_ticket(ticket)
    assert caught.value.code == "printer_write_failed"


def test_docs_screenshots_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 0
    for paper in (80, 58):
        png = tmp_path / f"ticket-{paper}mm.png"
        assert qr_texts(png) == ["http://192.168.1.10:8360/status/17?t=Zq3kL9xW2pVn"]
    assert "ticket-58mm.png" in capsys.readouterr().out
