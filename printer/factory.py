"""open_printer(url) and printer_from_settings(settings.printer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .connections import parse_url
from .escpos_backend import TicketPrinter

if TYPE_CHECKING:
    from office360.config import PrinterSettings


def open_printer(
    url: str,
    *,
    profile: str | None = None,
    paper_width_mm: int = 80,
    timeout_s: float = 3.0,
    code_page: str = "auto",
    qr: str = "auto",
    cut: str = "full",
    footers: Mapping[str, str] | None = None,
    ask_status: bool = True,
) -> TicketPrinter:
    """A printer for `url`; raises PrinterError for a bad URL, profile or code page.

    Opening connects to nothing: each status() and print_ticket() call connects on its own.
    """
    address = parse_url(url)
    kwargs = dict(
        profile=profile,
        paper_width_mm=paper_width_mm,
        timeout_s=timeout_s,
        code_page=code_page,
        qr=qr,
        cut=cut,
        footers=footers,
        ask_status=ask_status,
    )
    if address.scheme == "preview":
        from .preview import PreviewPrinter

        return PreviewPrinter(address, **kwargs)  # type: ignore[arg-type]
    return TicketPrinter(address, **kwargs)  # type: ignore[arg-type]


def printer_from_settings(settings: PrinterSettings) -> TicketPrinter:
    return open_printer(
        settings.url,
        profile=settings.profile,
        paper_width_mm=settings.paper_width_mm,
        timeout_s=settings.timeout_s,
        code_page=settings.code_page,
        qr=settings.qr,
        cut=settings.cut,
        footers=settings.footer,
        ask_status=settings.ask_status,
    )
