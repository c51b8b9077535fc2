"""The display app: wires the event stream, the pure board, the screen and the announcer.

Network work runs in the stream's thread; everything it learns is queued and applied on the
Kivy thread by `_drain`, scheduled through Clock.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import NoTransition, ScreenManager

from office360.client import HubClient, HubError
from office360.config import Settings
from office360.pairing_client import PairingClient
from office360.stream import CONNECTED, EventStream, SseEvent
from office360.watchdog import LoopWatchdog, ready

from .announcer import Announcer, KivyPlayer, Player, Spoken, Synthesizer
from .board import BoardState, apply_event, apply_snapshot, new_history, with_connection
from .checks import check
from .chime import ensure_chime
from .health import health_report
from .screens.board import BoardLayout, BoardScreen
from .screens.pairing import PairingScreen
from .theme import theme_named

log = logging.getLogger(__name__)
KV_DIR = Path(__file__).parent / "kv"
HEALTH_EVERY_S = 60.0


class DisplayApp(App):
    title = "office360 display"

    def __init__(
        self,
        settings: Settings,
        *,
        player: Player | None = None,
        voice: bool = True,
        pairing: PairingClient | None = None,
        **kwargs: Any,
    ) -> None:
        """`player` replaces Kivy's audio; voice=False skips espeak-ng (texts are still made).
        With no token, or given `pairing`, the app shows a pairing code until a technician
        approves it, then the board (office360.pairing_client)."""
        super().__init__(**kwargs)
        if pairing is None and not settings.device.resolved_token():
            pairing = PairingClient.from_settings(settings.device, "display")
        self.pairing = pairing
        self.pairing_screen: PairingScreen | None = None
        self.pairing_listeners: list[Callable[[str, str], None]] = []
        if pairing is not None:
            pairing.on_code = lambda code: self._post("pairing", ("code", code))
            pairing.on_status = lambda status: self._post("pairing", ("status", status))
        self.settings = settings
        self.options = settings.display
        self.office = check(settings)
        self.board = BoardState(office=self.office.id, message=self.options.message)
        self.board_listeners: list[Callable[[BoardState], None]] = []
        self.spoken_listeners: list[Callable[[Spoken], None]] = []
        self.client = HubClient.from_settings(settings.device, retries=1)
        self.stream = EventStream(
            self.client.events_url(self.office.id),
            self._on_sse,
            token=settings.device.resolved_token(),
            on_state=self._on_stream_state,
            on_rewind=self._on_stream_rewind,
            backoff_max_s=self.options.reconnect_max_s,
        )
        cache = _writable(self.options.cache_dir)
        chime = ensure_chime(cache) if self.options.chime else None
        synthesizer: Synthesizer | None = None
        if voice:
            synthesizer = Synthesizer(cache, self.options.espeak, self.options.voice_speed_wpm)
            if not synthesizer.available():
                log.warning("%s not found: the chime only", self.options.espeak)
                synthesizer = None
        self.announcer = Announcer(
            player or KivyPlayer(keep_loaded=(chime,) if chime else ()),
            synthesizer,
            self.options.languages,
            chime=chime,
            volume=self.options.volume,
            on_spoken=self._on_spoken,
        )
        self.screen: BoardScreen | None = None
        self._watchdog = LoopWatchdog()
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def build(self) -> ScreenManager:
        Builder.load_file(str(KV_DIR / "board.kv"))
        layout = BoardLayout(
            office_name=self.office.name,
            languages=tuple(self.options.languages) or tuple(self.office.languages),
            landscape=self.options.orientation == "landscape",
            last_calls=self.options.last_calls,
            show_waiting=self.options.show_waiting,
            show_estimates=self.options.show_estimates,
            blink_s=self.options.blink_s,
            timezone=self.office.timezone,
            service_names={
                s.id: _first_name(s.names, self.options.languages) for s in self.office.services
            },
            service_order=tuple(s.id for s in self.office.services),
        )
        from kivy.core.window import Window

        theme = theme_named(self.options.theme)
        Window.clearcolor = theme.background
        self.screen = BoardScreen(layout, theme, name="board")
        manager = ScreenManager(transition=NoTransition())
        manager.add_widget(self.screen)
        self.screen.show(self.board)
        if self.pairing is not None:
            Builder.load_file(str(KV_DIR / "pairing.kv"))
            self.pairing_screen = PairingScreen(theme, name="pairing")
            self.pairing_screen.show_code(self.pairing.code)
            self.pairing_screen.show_status(self.pairing.status)
            manager.add_widget(self.pairing_screen)
            manager.current = "pairing"
        return manager

    def on_start(self) -> None:
        self.announcer.start()
        if self.pairing is None:
            self._connect()
        else:
            threading.Thread(target=self._pair, name="office360-pairing", daemon=True).start()
        # systemd's watchdog: pinged only while Kivy's main loop keeps running
        Clock.schedule_interval(lambda _dt: self._watchdog.beat(), 1)
        self._watchdog.start()
        ready("display ready")

    def _connect(self) -> None:
        self.stream.start()
        self._fetch_snapshot()
        Clock.schedule_once(self._report_health, 5)
        Clock.schedule_interval(self._report_health, HEALTH_EVERY_S)

    def _pair(self) -> None:
        assert self.pairing is not None
        token = self.pairing.wait()
        if token:
            self._post("paired", token)

    def _paired(self, token: str) -> None:
        """The token arrived (and is stored): leave the pairing screen for the board."""
        self.client.token = token
        self.stream.token = token
        self.pairing = None
        if self.root is not None:
            self.root.current = "board"
        self._connect()

    def on_stop(self) -> None:
        if self.pairing is not None:
            self.pairing.stop()
        self._watchdog.stop()
        self.stream.stop(timeout_s=2)
        self.announcer.stop(timeout_s=2)
        self.client.close()

    # --- from the stream's thread ------------------------------------------------------------

    def _on_sse(self, event: SseEvent) -> None:
        try:
            data = event.json()
        except ValueError:
            log.warning("event %s is not JSON; ignored", event.id)
            return
        if isinstance(data, dict):
            data.setdefault("type", event.event)
            self._post("event", data)

    def _on_stream_state(self, state: str) -> None:
        self._post("connection", state)
        if state == CONNECTED and self.stream.last_event_id is None:
            self._fetch_snapshot()  # nothing to resume from: ask who is called now

    def _on_stream_rewind(self, _sent: str, opening_id: str) -> None:
        """The hub's history was replaced: start the board over from its id and ask who is
        called now. Posted before this connection's events, so they apply after the reset."""
        self._post("new_history", int(opening_id))
        self._fetch_snapshot()

    def _fetch_snapshot(self) -> None:
        def fetch() -> None:
            try:
                self._post("snapshot", self.client.queue(self.office.id))
            except HubError as exc:
                log.info("queue snapshot failed: %s", exc)

        threading.Thread(target=fetch, name="office360-snapshot", daemon=True).start()

    def _report_health(self, _dt: float = 0) -> None:
        report = health_report(self.board, self.announcer)

        def send() -> None:
            try:
                self.client.report_health(report)
            except HubError as exc:
                log.info("health report not delivered: %s", exc)

        threading.Thread(target=send, name="office360-health", daemon=True).start()

    def _on_spoken(self, spoken: Spoken) -> None:
        for listener in self.spoken_listeners:
            listener(spoken)

    def _post(self, kind: str, payload: Any) -> None:
        self._inbox.put((kind, payload))
        Clock.schedule_once(self._drain, 0)

    # --- on the Kivy thread ------------------------------------------------------------------

    def _drain(self, _dt: float = 0) -> None:
        board = self.board
        now = datetime.now(UTC)
        while True:
            try:
                kind, payload = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "event":
                board, announcement = apply_event(
                    board,
                    payload,
                    last_calls=self.options.last_calls,
                    now=now,
                    announce_max_age_s=self.options.announce_max_age_s,
                )
                if announcement is not None:
                    self.announcer.announce(announcement)
            elif kind == "connection":
                board = with_connection(board, payload)
            elif kind == "new_history":
                board = new_history(board, payload)
            elif kind == "snapshot":
                board = apply_snapshot(board, payload, last_calls=self.options.last_calls)
            elif kind == "pairing":
                self._show_pairing(payload)
            elif kind == "paired":
                self._paired(payload)
        if board is self.board:
            return
        self.board = board
        if self.screen is not None:
            self.screen.show(board)
        for listener in self.board_listeners:
            listener(board)

    def _show_pairing(self, change: tuple[str, str]) -> None:
        screen = self.pairing_screen
        if screen is None:
            return
        kind, value = change
        if kind == "code":
            screen.show_code(value)
        else:
            screen.show_status(value)
        for listener in self.pairing_listeners:
            listener(kind, value)


def _first_name(names: dict[str, str], languages: list[str]) -> str:
    for lang in languages:
        if names.get(lang):
            return names[lang]
    return next(iter(names.values()), "")


def _writable(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
        return folder
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "office360-display"
        log.warning("cache %s is not writable; using %s", folder, fallback)
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback
