"""Ticket to ESC/POS bytes through python-escpos, read back with printer.decode."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from printer.decode import DecodeError, Raster, decode
from printer.errors import PrinterError
from printer.escpos_backend import TicketPrinter, choose_code_page, load_profile, printable
from printer.factory import open_printer
from printer.layout import TicketData

MakeTicket = Callable[..., TicketData]
SPANISH = "Pingüino ñandú: ¿á é í ó ú? ¡Sí! 12 €"


def tcp(profile: str = "TM-T88V", paper: int = 80, **kwargs: object) -> TicketPrinter:
    return open_printer(  # type: ignore[arg-type]
        "tcp://127.0.0.1:9", profile=profile, paper_width_mm=paper, **kwargs
    )


def test_native_qr_ticket_reads_as_printed(ticket: TicketData) -> None:
    printer = tcp()
    data = printer.render(ticket)
    doc = decode(data, profile="TM-T88V")
    number = doc.line("A017")
    assert (number.align, number.bold, number.width, number.height) == ("center", True, 6, 6)
    assert doc.line("Información general").align == "center"
    assert "Personas delante: 3" in doc.text_lines
    assert doc.qr_payloads == [ticket.status_url]
    assert [q.native for q in doc.items if hasattr(q, "native")] == [True]
    assert len(doc.cuts) == 1 and not doc.cuts[0].partial
    assert doc.resets == 1
    assert doc.code_pages == ["CP858"]


def test_native_ticket_is_small(ticket: TicketData) -> None:
    assert len(tcp().render(ticket)) <= 2048
    assert len(tcp("TM-T20II", 58).render(ticket)) <= 2048


@pytest.mark.parametrize(
    ("profile", "code_page"),
    [("TM-T88V", "CP858"), ("TM-T88IV", "CP858"), ("TSP600", "CP858"), ("ZJ-5870", "CP1252")],
)
def test_spanish_text_survives_the_code_page(
    make_ticket: MakeTicket, profile: str, code_page: str
) -> None:
    printer = tcp(profile, 58)
    assert printer.code_page == code_page
    doc = decode(printer.render(make_ticket(service_name=SPANISH)), profile=profile)
    assert SPANISH in " ".join(doc.text_lines)
    assert printer.unencodable(make_ticket(service_name=SPANISH)) == ""


def test_code_page_without_euro_transliterates(make_ticket: MakeTicket) -> None:
    printer = tcp("TM-T88V", code_page="CP850")
    doc = decode(printer.render(make_ticket(service_name=SPANISH)))
    assert "Pingüino ñandú: ¿á é í ó ú? ¡Sí! 12 EUR" in doc.text_lines


def test_text_no_code_page_holds_prints_as_question_marks(make_ticket: MakeTicket) -> None:
    printer = tcp()
    strange = make_ticket(service_name="Ελληνικά 漢字 Łódź")
    assert printer.unencodable(strange) == "Εάηικλν字漢"
    doc = decode(printer.render(strange))
    assert "???????? ?? Lódz" in doc.text_lines


def test_profile_without_native_qr_prints_an_image(ticket: TicketData) -> None:
    printer = tcp("POS-5890", 58)
    data = printer.render(ticket)
    doc = decode(data, profile="POS-5890")
    images = [i for i in doc.items if isinstance(i, Raster)]
    assert len(images) == 1 and images[0].width <= printer.geometry.dots
    assert doc.qr_payloads == [ticket.status_url]
    assert doc.cuts == []  # this printer has no cutter
    assert "A017" in doc.text_lines


def test_forced_image_qr_on_a_native_printer(ticket: TicketData) -> None:
    doc = decode(tcp(qr="image").render(ticket))
    assert [i for i in doc.items if isinstance(i, Raster)]
    assert doc.qr_payloads == [ticket.status_url]


def test_partial_cut_when_asked(ticket: TicketData) -> None:
    assert decode(tcp(cut="partial").render(ticket)).cuts[0].partial


@pytest.mark.parametrize(
    ("profile", "paper", "columns"),
    [("TM-T88V", 80, 42), ("TM-T20II", 80, 48), ("POS-5890", 58, 32), ("default", 80, 48)],
)
def test_columns_follow_profile_and_paper(
    ticket: TicketData, profile: str, paper: int, columns: int
) -> None:
    printer = tcp(profile, paper)
    assert printer.geometry.columns == columns
    for line in decode(printer.render(ticket), profile=profile).lines:
        assert line.cells <= columns, line.text


def test_unknown_profile_names_close_ones() -> None:
    with pytest.raises(PrinterError) as caught:
        load_profile("TM-T88")
    assert caught.value.code == "printer_profile_unknown"
    assert "TM-T88V" in caught.value.message


def test_unsupported_code_page() -> None:
    with pytest.raises(PrinterError) as caught:
        choose_code_page(load_profile("ZJ-5870"), "CP858")
    assert caught.value.code == "printer_code_page_unsupported"


def test_printable_keeps_what_the_page_has() -> None:
    assert printable("Año €", "CP858") == "Año €"
    assert printable("Año €", "CP437") == "Año EUR"
    assert printable("“hola” — adiós…", "CP437") == '"hola" - adiós...'


def test_decoder_rejects_unknown_commands() -> None:
    with pytest.raises(DecodeError):
        decode(b"\x1b@hello\x1bZ\n")
    with pytest.raises(DecodeError):
        decode(b"\x1d(k\x05\x00")
