"""The pairing screen: a device with no token shows its one-time code until a technician approves
it. Layout in display/kv/pairing.kv; the waiting itself is office360.pairing_client."""

from __future__ import annotations

from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from office360 import pairing_client as texts
from office360.enrollment import format_code

from ..theme import Theme


class PairingScreen(Screen):
    code_text = StringProperty("")
    command_text = StringProperty("")
    instruction_text = StringProperty(texts.instruction_text())
    status_text = StringProperty("")
    unit = NumericProperty(10)
    font_bold = StringProperty("Roboto")
    font_regular = StringProperty("Roboto")
    text_color = ColorProperty((1, 1, 1, 1))
    dim_color = ColorProperty((1, 1, 1, 1))
    accent_color = ColorProperty((1, 1, 0, 1))

    def __init__(self, theme: Theme, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.font_bold = theme.font_bold
        self.font_regular = theme.font_regular
        self.text_color = theme.text
        self.dim_color = theme.dim
        self.accent_color = theme.accent
        self.bind(size=self._resize)
        self._resize()

    def _resize(self, *_args: object) -> None:
        self.unit = max(min(self.width, self.height) / 100, 1)

    def show_code(self, code: str) -> None:
        # No code (opening one, or the hub is busy): nothing to enter, so no instruction either.
        self.code_text = format_code(code) if code else "…"
        self.instruction_text = texts.instruction_text() if code else ""
        self.command_text = texts.approve_command(code)

    def show_status(self, status: str) -> None:
        self.status_text = texts.status_text(status)
