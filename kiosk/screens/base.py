"""What every screen shares: the big button, the context a screen needs to show a View."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kivy.app import App
from kivy.properties import OptionProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from ..flow import ServiceChoice, View


@dataclass(frozen=True)
class Context:
    tr: Callable[[str], str]
    office_name: str
    languages: tuple[str, ...]
    services: tuple[ServiceChoice, ...]
    priorities: tuple[str, ...]
    offer_phone_qr: bool


class BigButton(Button):
    """A touch target at least a thumb wide; `target` says what a tap means to the app."""

    target = StringProperty("")
    kind = OptionProperty("secondary", options=["primary", "secondary"])

    def on_release(self) -> None:
        app = App.get_running_app()
        if app is not None and self.target:
            app.tap(self.target)


class KioskScreen(Screen):
    def update(self, view: View, ctx: Context) -> None:
        raise NotImplementedError


def big_button(text: str, target: str, kind: str = "secondary") -> BigButton:
    return BigButton(text=text, target=target, kind=kind)
