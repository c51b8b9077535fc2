"""Ticket printing on ESC/POS thermal printers (python-escpos 3.1).

The interface the kiosk uses:

    from printer import TicketData, open_printer, printer_from_settings, PrinterError, PrinterStatus

    printer = printer_from_settings(settings.printer)      # or open_printer("tcp://10.0.0.9:9100",
                                                           #   profile="TM-T88V", paper_width_mm=80)
    if printer.status() in (PrinterStatus.ok, PrinterStatus.paper_low, PrinterStatus.unknown):
        try:
            printer.print_ticket(TicketData(office_name=..., number="A017", service_name=...,
                                            lang="es", issued_at=aware_datetime, position=3,
                                            estimated_wait_s=540, priority=None,
                                            status_url="http://.../status/17?t=...", footer=None))
        except PrinterError as exc:       # exc.code: printer_paper_out, printer_timeout, ...
            offer_the_phone_qr(exc.code)

- `open_printer(url, *, profile=None, paper_width_mm=80, timeout_s=3.0) -> TicketPrinter`;
  URL forms:
  tcp://HOST[:9100], usb://VID:PID, serial:///dev/ttyUSB0?baudrate=19200, file:///dev/usb/lp0,
  preview:///FOLDER (a PNG per ticket). Bad URL, profile or code page: PrinterError at once.
- `TicketPrinter.status() -> PrinterStatus` (ok, paper_low, paper_out, cover_open, offline, error;
  unknown where the connection cannot read) never raises; `print_ticket(ticket)` raises
  `PrinterError(code, message)` (codes in printer.errors.CODES). No call blocks beyond timeout_s
  (name resolution of a host name aside: configure printers by IP address).
- `TicketData.footer`: None prints the configured footer for the ticket's language; "" none.
- Labels are printed in Spanish or English (other languages fall back to English).
- `printer.fake.FakePrinter`: a TCP printer on 127.0.0.1 for tests; `printer.decode.decode(bytes)`
  turns recorded bytes back into styled lines, QR payloads and cuts.
"""

from __future__ import annotations

from .errors import PrinterError
from .escpos_backend import TicketPrinter
from .factory import open_printer, printer_from_settings
from .layout import TicketData
from .status import PrinterStatus

__all__ = [
    "PrinterError",
    "PrinterStatus",
    "TicketData",
    "TicketPrinter",
    "open_printer",
    "printer_from_settings",
]
