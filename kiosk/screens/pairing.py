"""The pairing screen: a kiosk with no token shows its one-time code, in Spanish and English, until
a technician approves it. Layout in kiosk/kv/pairing.kv; the waiting is kiosk/pairing.py."""

from __future__ import annotations

from kivy.properties import StringProperty

from office360 import pairing_client as texts
from office360.enrollment import format_code

from .base import KioskScreen

TITLE = "Emparejar este quiosco · Pair this kiosk"


class PairingScreen(KioskScreen):
    """Not a flow screen: no View, no controls (nothing to reach, whatever [kiosk] low_reach)."""

    title_text = StringProperty(TITLE)
    code_text = StringProperty("…")
    instruction_text = StringProperty(texts.instruction_text())
    command_text = StringProperty("")
    status_text = StringProperty("")
    details_text = StringProperty("")

    def show_code(self, code: str) -> None:
        # No code (opening one, or the hub is busy): nothing to enter, so no instruction either.
        self.code_text = format_code(code) if code else "…"
        self.instruction_text = texts.instruction_text() if code else ""
        self.command_text = texts.approve_command(code)

    def show_status(self, status: str) -> None:
        self.status_text = texts.status_text(status)

    def show_device(self, hub_url: str, device_name: str) -> None:
        """Which hub the code is for and the name the technician will see there."""
        self.details_text = f"{hub_url} · {device_name}"
