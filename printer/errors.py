"""PrinterError: every printing failure carries a stable snake_case code the kiosk can translate."""

from __future__ import annotations

# code -> what it means; the kiosk maps these codes to sentences a citizen understands
CODES: dict[str, str] = {
    "printer_url_invalid": "the printer URL cannot be understood",
    "printer_profile_unknown": "python-escpos knows no printer profile by that name",
    "printer_code_page_unsupported": "the printer profile has no such code page",
    "printer_unreachable": "nothing answers at the printer's address",
    "printer_not_found": "the USB printer or device file is not there",
    "printer_permission_denied": "the device exists but this user may not open it",
    "printer_timeout": "the printer did not answer within the timeout",
    "printer_disconnected": "the connection dropped while printing",
    "printer_paper_out": "the printer has no paper",
    "printer_cover_open": "the printer's cover is open",
    "printer_offline": "the printer reports it is offline",
    "printer_error": "the printer reports an error (cutter jam, head too hot, ...)",
    "printer_dependency_missing": "a Python package needed for this connection is not installed",
    "printer_write_failed": "the ticket could not be written",
    "printer_ticket_invalid": "the ticket data cannot be printed",
}


class PrinterError(Exception):
    """A printing failure with a stable `code` (a key of `CODES`) and a message for technicians."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"PrinterError({self.code!r}, {self.message!r})"
