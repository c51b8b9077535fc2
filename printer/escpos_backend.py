"""Layout elements to ESC/POS bytes through python-escpos, and the TicketPrinter that sends them.

Bytes are made by python-escpos's `Dummy` printer with the configured profile, then written by a
transport from `connections` so that every call stays within the timeout.
"""

from __future__ import annotations

import difflib
import logging
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from .connections import Deadline, PrinterAddress, Transport, transport_for
from .errors import PrinterError
from .layout import Cut, Element, Feed, Qr, Text, TicketData, columns_for, layout_ticket
from .status import DLE_EOT, PrinterStatus, query

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "TM-T88V"
CODE_PAGE_PREFERENCE = ("CP858", "CP1252", "ISO_8859-15", "CP850", "CP437")
"""Tried in order by `code_page = "auto"`; the first three hold every Spanish letter and €."""
TRANSLITERATIONS = {
    "€": "EUR",
    "“": '"',
    "”": '"',
    "„": '"',
    "‘": "'",
    "’": "'",
    "–": "-",
    "—": "-",
    "…": "...",
    "«": '"',
    "»": '"',
    "·": "-",
    "\u00a0": " ",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
}
QR_EC_LEVEL = 1  # python-escpos QR_ECLEVEL_M: survives a creased ticket


def _escpos() -> Any:
    try:
        from office360.config import escpos_capabilities

        escpos_capabilities()  # imported first here: it must not set up logging
        from escpos import capabilities, printer
    except ImportError:
        raise PrinterError(
            "printer_dependency_missing", "pip install 'office360[printer]' (python-escpos)"
        ) from None
    return capabilities, printer


def profile_names() -> list[str]:
    capabilities, _ = _escpos()
    return sorted(capabilities.CAPABILITIES["profiles"])


def load_profile(name: str | None) -> Any:
    """The python-escpos profile, or PrinterError("printer_profile_unknown") naming close ones."""
    capabilities, _ = _escpos()
    name = name or DEFAULT_PROFILE
    known = capabilities.CAPABILITIES["profiles"]
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f"; known: {', '.join(sorted(known))}"
        )
        raise PrinterError("printer_profile_unknown", f"no printer profile {name!r}{hint}")
    return capabilities.get_profile(name)


@dataclass(frozen=True)
class Geometry:
    dots: int
    """Printable width in dots."""
    columns: int
    """Font A characters per line."""
    dpi: int


def geometry(profile: Any, paper_width_mm: int) -> Geometry:
    if paper_width_mm not in (58, 80):
        raise PrinterError(
            "printer_ticket_invalid", f"paper_width_mm must be 80 or 58, not {paper_width_mm}"
        )
    media = profile.profile_data.get("media", {})
    dpi = media.get("dpi") if isinstance(media.get("dpi"), int) else 203
    width = media.get("width", {})
    pixels, mm = width.get("pixels"), width.get("mm")
    wide = paper_width_mm == 80
    if isinstance(pixels, int) and isinstance(mm, int | float) and (mm >= 70) == wide:
        dots = pixels
    else:
        printable_mm = 72 if wide else 48
        dots = round(printable_mm * dpi / 25.4 / 8) * 8
        if isinstance(pixels, int):
            dots = min(dots, pixels)
    return Geometry(dots=dots, columns=columns_for(dots), dpi=dpi)


@lru_cache(maxsize=64)
def code_page_chars(name: str) -> frozenset[str]:
    """The characters above ASCII a code page holds, from python-escpos's table."""
    capabilities, _ = _escpos()
    data = capabilities.CAPABILITIES["encodings"].get(name, {})
    if "data" in data:
        return frozenset("".join(data["data"]))
    if "python_encode" in data:
        return frozenset(bytes(range(128, 256)).decode(data["python_encode"], errors="ignore"))
    return frozenset()


def choose_code_page(profile: Any, requested: str = "auto") -> str:
    available = profile.get_code_pages()
    if requested.lower() != "auto":
        name = requested.upper()
        if name not in available:
            raise PrinterError(
                "printer_code_page_unsupported",
                f"profile has no code page {requested!r}; it has {', '.join(sorted(available))}",
            )
        return str(name)
    for name in CODE_PAGE_PREFERENCE:
        if name in available:
            return name
    return "CP437" if "CP437" in available else str(next(iter(available)))


def lost_characters(text: str, code_page: str) -> set[str]:
    """The characters of `text` that print as '?' in `code_page`, even after transliteration."""
    chars = code_page_chars(code_page)
    return {c for c in text if ord(c) >= 128 and c not in chars and not _fallback(c, chars)}


def _fallback(char: str, chars: frozenset[str]) -> str:
    if char in TRANSLITERATIONS:
        return TRANSLITERATIONS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and all(ord(c) < 128 or c in chars for c in base):
        return base
    return ""


def printable(text: str, code_page: str) -> str:
    """`text` with every character the code page lacks transliterated, or '?' as a last resort."""
    chars = code_page_chars(code_page)
    out = []
    for char in text:
        if ord(char) < 128 or char in chars:
            out.append(char if char.isprintable() or char == "\n" else " ")
        else:
            out.append(_fallback(char, chars) or "?")
    return "".join(out)


def render_escpos(
    elements: list[Element],
    *,
    profile_name: str,
    geometry: Geometry,
    code_page: str,
    qr: str = "auto",
    cut: str = "full",
) -> bytes:
    """ESC/POS bytes for the elements, made by python-escpos's Dummy printer."""
    _, printer = _escpos()
    dummy = printer.Dummy(profile=profile_name)
    dummy.hw("INIT")
    dummy.charcode(code_page)
    native_qr = qr == "native" or (qr == "auto" and bool(dummy.profile.supports("qrCode")))
    style: dict[str, Any] = {"align": "left", "bold": False, "invert": False, "size": (1, 1)}

    def apply(
        align: str, bold: bool = False, invert: bool = False, size: tuple[int, int] = (1, 1)
    ) -> None:
        changes: dict[str, Any] = {}
        if style["align"] != align:
            changes["align"] = align
        if style["bold"] != bold:
            changes["bold"] = bold
        if style["invert"] != invert:
            changes["invert"] = invert
        if style["size"] != size:
            changes.update(custom_size=True, width=size[0], height=size[1])
        if changes:
            dummy.set(**changes)
            style.update(align=align, bold=bold, invert=invert, size=size)

    for element in elements:
        if isinstance(element, Text):
            apply(element.align, element.bold, element.invert, (element.width, element.height))
            dummy.textln(printable(element.text, code_page))
        elif isinstance(element, Feed):
            apply(style["align"], size=(1, 1))
            dummy.ln(element.lines)
        elif isinstance(element, Qr):
            if native_qr:
                apply("center")
                dummy.qr(element.payload, ec=QR_EC_LEVEL, size=element.module_dots, native=True)
                dummy.ln()
            else:  # the image carries its own left margin: printers differ on centring images
                apply("left")
                dummy.image(qr_image(element.payload, element.module_dots, geometry.dots))
        elif isinstance(element, Cut):
            apply("left")
            dummy.cut(mode="PART" if cut == "partial" else "FULL")
    return bytes(dummy.output)


def qr_image(payload: str, module_dots: int, width_dots: int) -> Any:
    """A QR code as a 1-bit image centred on the paper width (for profiles without GS ( k)."""
    import qrcode
    from PIL import Image

    code = qrcode.QRCode(
        border=2, box_size=module_dots, error_correction=qrcode.constants.ERROR_CORRECT_M
    )
    code.add_data(payload)
    code.make(fit=True)
    symbol = code.make_image().get_image().convert("1")
    if symbol.width > width_dots:
        symbol = symbol.resize((width_dots, width_dots), Image.Resampling.NEAREST)
    left = (width_dots - symbol.width) // 2
    page = Image.new("1", (left + symbol.width, symbol.height), 1)
    page.paste(symbol, (left, 0))
    return page


class TicketPrinter:
    """One configured printer. Each call opens the connection, does its work, and closes it."""

    def __init__(
        self,
        address: PrinterAddress,
        *,
        profile: str | None = None,
        paper_width_mm: int = 80,
        timeout_s: float = 3.0,
        code_page: str = "auto",
        qr: str = "auto",
        cut: str = "full",
        footers: Mapping[str, str] | None = None,
        ask_status: bool = True,
    ) -> None:
        if timeout_s <= 0:
            raise PrinterError("printer_ticket_invalid", "timeout_s must be above 0")
        self.address = address
        self.profile_name = profile or DEFAULT_PROFILE
        self.profile = load_profile(self.profile_name)
        self.geometry = geometry(self.profile, paper_width_mm)
        self.paper_width_mm = paper_width_mm
        self.timeout_s = timeout_s
        self.code_page = choose_code_page(self.profile, code_page)
        self.qr = qr
        self.cut = cut
        self.footers = dict(footers or {})
        self.ask_status = ask_status
        self.last_job_bytes = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return str(self.address)

    @property
    def can_read_status(self) -> bool:
        return self.ask_status and self._transport().readable

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} {self.profile_name} {self.paper_width_mm} mm>"

    def _transport(self) -> Transport:
        return transport_for(self.address)

    def layout(self, ticket: TicketData) -> list[Element]:
        if ticket.footer is None:
            lang = ticket.lang.split("_")[0]
            ticket = replace(
                ticket, footer=self.footers.get(ticket.lang, self.footers.get(lang, ""))
            )
        module = 6 if self.geometry.dots >= 500 else 5
        return layout_ticket(ticket, columns=self.geometry.columns, qr_module_dots=module)

    def render(self, ticket: TicketData) -> bytes:
        """The ESC/POS bytes print_ticket() sends for `ticket`."""
        return render_escpos(
            self.layout(ticket),
            profile_name=self.profile_name,
            geometry=self.geometry,
            code_page=self.code_page,
            qr=self.qr,
            cut=self.cut,
        )

    def unencodable(self, ticket: TicketData) -> str:
        """Characters of the ticket's text that this printer's code page will print as '?'."""
        texts = " ".join(e.text for e in self.layout(ticket) if isinstance(e, Text))
        return "".join(sorted(lost_characters(texts, self.code_page)))

    def status(self) -> PrinterStatus:
        """The printer's state now; never raises, never takes longer than timeout_s."""
        with self._lock:
            deadline = Deadline(self.timeout_s)
            transport = self._transport()
            try:
                transport.open(deadline)
                if not (self.ask_status and transport.readable):
                    return PrinterStatus.unknown
                return _ask(transport, deadline)
            except PrinterError as exc:
                log.info("printer %s status: %s", self.url, exc)
                if exc.code in ("printer_permission_denied", "printer_dependency_missing"):
                    return PrinterStatus.error
                return PrinterStatus.offline
            finally:
                transport.close()

    def print_ticket(self, ticket: TicketData) -> None:
        """Print one ticket or raise PrinterError; returns within timeout_s."""
        data = self.render(ticket)
        if lost := self.unencodable(ticket):
            log.warning("printer_text_unencodable: %r print as '?' on %s", lost, self.code_page)
        with self._lock:
            deadline = Deadline(self.timeout_s)
            transport = self._transport()
            try:
                transport.open(deadline)
                check = self.ask_status and transport.readable
                if check:
                    _refuse_unless_printable(_ask(transport, deadline), "")
                transport.write(data, deadline)
                if check:
                    _refuse_unless_printable(
                        _ask(transport, deadline), " while printing: the ticket may be incomplete"
                    )
            finally:
                transport.close()
            self.last_job_bytes = len(data)


def _ask(transport: Transport, deadline: Deadline) -> PrinterStatus:
    def ask(n: int) -> int:
        transport.write(DLE_EOT + bytes((n,)), deadline)
        return transport.read_byte(deadline)

    return query(ask)


def _refuse_unless_printable(status: PrinterStatus, when: str) -> None:
    if not status.can_print:
        raise PrinterError(f"printer_{status.value}", f"the printer reports {status.value}{when}")
