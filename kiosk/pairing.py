"""The kiosk before it has a token: show a pairing code until a technician approves it.

office360.pairing_client does the talking (in a thread of its own): it opens a code, polls the hub,
replaces a code before it expires and stores the token (mode 0600 in [device] state_dir). Here its
news is shown on the Kivy thread: the code on the pairing screen (or there, that the hub is busy
pairing other devices and the kiosk will try again by itself), or, while the hub cannot be
reached, the kiosk's usual "temporarily unavailable" screen, until the hub answers again. The
app (kiosk/app.py) then goes on to its start screen with the token, without a restart.

Imported only when the kiosk has no token, so a paired kiosk never loads it; Kivy is imported
only in `build` (kiosk/run.py makes the client before Kivy is configured).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from office360.config import Settings
from office360.pairing_client import BUSY, WAITING, PairingClient

from .flow import Screen, View

if TYPE_CHECKING:
    from kivy.uix.screenmanager import ScreenManager

    from .app import KioskApp
    from .screens.pairing import PairingScreen

log = logging.getLogger(__name__)
KV_FILE = Path(__file__).parent / "kv" / "pairing.kv"
SCREEN_NAME = "pairing"
Listener = Callable[[str, Any], None]


def kiosk_pairing_client(settings: Settings, hub_url: str) -> PairingClient:
    """A client for this kiosk: the hub found at start, the kiosk's name, its retry limit."""
    device = settings.device.model_copy(update={"hub_url": hub_url})
    return PairingClient.from_settings(
        device,
        "kiosk",
        device_name=settings.kiosk.device_name,
        backoff_max_s=settings.kiosk.retry_max_s,
    )


class PairingStage:
    def __init__(self, app: KioskApp, client: PairingClient) -> None:
        self.app = app
        self.client = client
        self.screen: PairingScreen | None = None
        self.listeners: list[Listener] = []
        """Called on the Kivy thread with ("code", CODE), ("status", STATUS), ("retry", S)."""
        self.attempts = 0
        client.on_code = lambda code: app._post("pairing", ("code", code))
        client.on_status = lambda status: app._post("pairing", ("status", status))
        client.on_retry = lambda delay: app._post("pairing", ("retry", delay))

    def build(self, manager: ScreenManager) -> None:
        from kivy.lang import Builder

        from .screens.pairing import PairingScreen

        Builder.load_file(str(KV_FILE))
        self.screen = PairingScreen(name=SCREEN_NAME)
        self.screen.show_code(self.client.code)
        self.screen.show_status(self.client.status)
        self.screen.show_device(self.client.hub_url, self.client.device_name)
        manager.add_widget(self.screen)
        manager.current = SCREEN_NAME

    def start(self) -> None:
        threading.Thread(target=self._wait, name="kiosk-pairing", daemon=True).start()

    def stop(self) -> None:
        self.client.stop()

    def _wait(self) -> None:
        try:
            token = self.client.wait()
        except Exception:  # e.g. the state dir became read-only: say so, keep the screen up
            log.exception("pairing stopped")
            return
        finally:
            self.client.close()
        if token:
            self.app._post("paired", token)

    # --- on the Kivy thread --------------------------------------------------------------------

    def changed(self, kind: str, value: Any) -> None:
        screen = self.screen
        if screen is None:
            return
        if kind == "code":
            screen.show_code(value)
        elif kind == "status":
            screen.show_status(value)
        if kind == "retry":
            self.attempts += 1
            self._show_unavailable(float(value))
        elif kind == "code" or value in (WAITING, BUSY):
            self.attempts = 0  # the hub answers: the code again, or that it is busy pairing
            self._show(SCREEN_NAME)
        for listener in self.listeners:
            listener(kind, value)

    def _show_unavailable(self, retry_in_s: float) -> None:
        app = self.app
        view = View(
            Screen.UNAVAILABLE,
            app.flow.view.lang,
            retry_in_s=retry_in_s,
            attempts=self.attempts,
        )
        app.screens[Screen.UNAVAILABLE].update(view, app.context(view.lang))
        self._show(Screen.UNAVAILABLE.value)
        for listener in app.view_listeners:
            listener(view)

    def _show(self, name: str) -> None:
        if self.app.manager is not None and self.app.manager.current != name:
            self.app.manager.current = name
