"""The kiosk app: wires the flow (view-model), the screens, the scanners, the hub and the printer.

Threads: the bring-up of the devices (backend.py) right after the first frame, the camera
scanner, a worker that runs hub requests and printing one at a time, and a short-lived thread
per health report. Whatever they learn is put in `_inbox` and applied on the Kivy thread by
`_drain` (scheduled with Clock.schedule_once). Nothing here blocks the UI.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.audio import SoundLoader
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from office360 import __version__
from office360.config import OfficeSettings, Settings
from office360.watchdog import LoopWatchdog, ready

from .beep import ensure_beep
from .devices import cache_folder
from .flow import (
    ACCEPTS_CODES,
    Beep,
    Command,
    FlowConfig,
    KioskFlow,
    LoadServices,
    Screen,
    ServiceChoice,
    View,
)
from .i18n import translator
from .memory import map_large_blocks, release_free_memory
from .worker import Worker

if TYPE_CHECKING:
    from office360.pairing_client import PairingClient

    from .backend import Backend
    from .pairing import PairingStage
    from .scanner import FrameSource

from .screens.base import Context, KioskScreen
from .screens.error import ErrorScreen
from .screens.issuing import IssuingScreen
from .screens.priority import PriorityScreen
from .screens.scan import ScanScreen
from .screens.services import ServicesScreen
from .screens.start import StartScreen
from .screens.ticket import TicketScreen
from .screens.unavailable import UnavailableScreen
from .theme import metrics_for, theme_named

log = logging.getLogger(__name__)
KV_DIR = Path(__file__).parent / "kv"
SCREENS: dict[Screen, type[KioskScreen]] = {
    Screen.START: StartScreen,
    Screen.SCAN: ScanScreen,
    Screen.SERVICES: ServicesScreen,
    Screen.PRIORITY: PriorityScreen,
    Screen.ISSUING: IssuingScreen,
    Screen.TICKET: TicketScreen,
    Screen.ERROR: ErrorScreen,
    Screen.UNAVAILABLE: UnavailableScreen,
}
PREVIEW_FPS = 15
MEMORY_TRIM_S = 10  # freed heap pages back to the kernel, while nobody is being served
BUSY_DELAY_S = 0.3


class KioskApp(App):
    title = "office360 kiosk"
    theme = ObjectProperty(None)
    metrics = ObjectProperty(None)

    def __init__(
        self,
        settings: Settings,
        office: OfficeSettings,
        hub_url: str,
        *,
        source_spec: str | None = None,
        source_factory: Callable[[], FrameSource | None] | None = None,
        printer_url: str | None = None,
        pairing: PairingClient | None = None,
        **kwargs: Any,
    ) -> None:
        """With no token in [device] (or given `pairing`), the kiosk first shows a pairing code
        until a technician approves it (kiosk/pairing.py), then starts as usual."""
        self.settings = settings
        self.kiosk = settings.kiosk
        self.office = office
        self.hub_url = hub_url
        self._device_options = {
            "source_spec": source_spec,
            "source_factory": source_factory,
            "printer_url": printer_url,
        }
        super().__init__(**kwargs)
        map_large_blocks()
        self.theme = theme_named("high_contrast" if self.kiosk.high_contrast else "standard")
        self.metrics = metrics_for(*Window.size, **self._metric_options())
        self.cache = cache_folder(self.kiosk.cache_dir)
        categories = self.kiosk.priority_categories
        if categories is None:
            categories = settings.queue.priority_categories
        self.flow = KioskFlow(
            FlowConfig(
                languages=tuple(self.kiosk.languages or office.languages),
                priority_categories=tuple(categories),
                idle_timeout_s=self.kiosk.idle_timeout_s,
                ticket_screen_s=self.kiosk.ticket_screen_s,
                error_screen_s=self.kiosk.error_screen_s,
                retry_max_s=self.kiosk.retry_max_s,
            ),
            _configured_services(office, self.kiosk.services),
            clock=time.monotonic,
        )
        # Jobs wait in the worker's queue until the backend is up and the worker starts.
        self.worker = Worker(lambda result: self._post("result", result))
        self.backend: Backend | None = None
        self.view_listeners: list[Callable[[View], None]] = []
        self.beep_listeners: list[Callable[[], None]] = []
        self.screens: dict[Screen, KioskScreen] = {}
        self.manager: ScreenManager | None = None
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._shown: tuple[View, str] | None = None
        self._busy_pending: Any = None
        self._beep: Any = None
        self._health_running = threading.Event()
        self._watchdog = LoopWatchdog()
        self.pairing: PairingStage | None = None
        if pairing is not None or not settings.device.resolved_token():
            from .pairing import PairingStage, kiosk_pairing_client

            self.pairing = PairingStage(self, pairing or kiosk_pairing_client(settings, hub_url))

    def _metric_options(self) -> dict[str, Any]:
        return {"text_scale": self.kiosk.text_scale, "low_reach": self.kiosk.low_reach}

    # --- Kivy lifecycle ------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        Builder.load_file(str(KV_DIR / "widgets.kv"))
        for screen in SCREENS:
            Builder.load_file(str(KV_DIR / f"{screen.value}.kv"))
        manager = ScreenManager(transition=NoTransition())
        for screen, cls in SCREENS.items():
            self.screens[screen] = cls(name=screen.value)
            manager.add_widget(self.screens[screen])
        self.screens[Screen.SCAN].ids.preview.set_accent(self.theme.accent)
        self.manager = manager
        Window.bind(
            on_resize=self._on_resize,
            on_key_down=self._on_key_down,
            on_touch_down=self._on_any_touch,
        )
        Window.clearcolor = self.theme.background
        self.render()
        if self.pairing is not None:
            self.pairing.build(manager)
        return manager

    def on_start(self) -> None:
        Clock.schedule_interval(self._tick, 0.5)
        Clock.schedule_interval(self._show_preview, 1 / PREVIEW_FPS)
        Clock.schedule_interval(lambda _dt: self._report_health(), self.kiosk.health_interval_s)
        Clock.schedule_interval(lambda _dt: self._watchdog.beat(), 1)
        Clock.schedule_interval(self._release_memory, MEMORY_TRIM_S)
        self._watchdog.start()
        if self.pairing is None:
            self._serve()
        else:
            self.pairing.start()
            ready("kiosk pairing")  # up and showing its code; serving waits for the token

    def _serve(self) -> None:
        self.apply(self.flow.start())
        threading.Thread(target=self._bring_up, name="kiosk-bring-up", daemon=True).start()

    def _paired(self, token: str) -> None:
        """The technician approved the code and the token is stored: start, without a restart."""
        device = self.settings.device.model_copy(update={"token": token})
        self.settings = self.settings.model_copy(update={"device": device})
        self.pairing = None
        self._shown = None
        self.render()
        self._serve()

    def _bring_up(self) -> None:
        from .backend import bring_up

        try:
            backend = bring_up(
                self.settings, self.office, self.hub_url, self._post, **self._device_options
            )
        except Exception:  # e.g. a broken install: say so, keep the screen up
            log.exception("the kiosk's devices could not be set up")
            return
        beep = None
        if self.kiosk.beep:
            try:
                beep = ensure_beep(self.cache)
            except OSError:
                log.warning("no beep: %s is not writable", self.cache)
        self._post("backend", (backend, beep))

    def _backend_ready(self, backend: Backend, beep: Path | None) -> None:
        self.backend = backend
        if beep is not None:
            try:
                self._beep = SoundLoader.load(str(beep))
                if self._beep is not None:
                    self._beep.volume = self.kiosk.volume
            except Exception:  # no sound device: the kiosk works without the beep
                log.warning("the beep cannot be played here", exc_info=True)
        backend.gate.paused = self.flow.view.screen not in ACCEPTS_CODES
        backend.start()
        self.worker.start()
        Clock.schedule_once(lambda _dt: self._report_health(), 2)
        ready("kiosk ready")

    def on_stop(self) -> None:
        if self.pairing is not None:
            self.pairing.stop()
        self._watchdog.stop()
        self.worker.stop()
        if self.backend is not None:
            self.backend.stop()

    # --- touches and keys (UI thread) ----------------------------------------------------------

    def tap(self, target: str) -> None:
        flow = self.flow
        kind, _, value = target.partition(":")
        handlers: dict[str, Callable[[], list[Command]]] = {
            "scan": flow.go_scan,
            "walk_in": flow.go_walk_in,
            "back": flow.back,
            "done": flow.done,
            "lang": lambda: flow.choose_language(value),
            "service": lambda: flow.choose_service(value),
            "priority": lambda: flow.choose_priority(None if value == "none" else value),
            "action": lambda: flow.error_action(value),
        }
        handler = handlers.get(kind)
        if handler is None:
            log.warning("unknown touch target %r", target)
            return
        self.apply(handler())
        self.render()

    def _on_any_touch(self, *_args: Any) -> bool:
        self.flow.touched()  # any touch keeps the citizen's session alive
        return False

    def _on_key_down(
        self, _window: Any, key: int, _scancode: int, text: str | None, *_: Any
    ) -> bool:
        backend = self.backend
        if backend is None or backend.wedge is None:
            return False
        name = "enter" if key in (13, 271) else (text or "")
        if not name:
            return False
        code = backend.wedge.feed(name, time.monotonic())
        if code is None:
            return False
        if backend.wedge_dedupe.accept(code, time.monotonic()):
            self._on_code(code)
        return True

    def _on_resize(self, _window: Any, width: int, height: int) -> None:
        self.metrics = metrics_for(width, height, **self._metric_options())

    # --- from other threads --------------------------------------------------------------------

    def _post(self, kind: str, payload: Any = None) -> None:
        self._inbox.put((kind, payload))
        Clock.schedule_once(self._drain, 0)

    def _drain(self, _dt: float = 0) -> None:
        while True:
            try:
                kind, payload = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "result":
                self._on_result(payload)
            elif kind == "code":
                self._on_code(payload)
            elif kind == "camera":
                self.flow.camera_state(payload)
            elif kind == "printer":
                self.flow.printer_status(payload)
            elif kind == "hub_lost":
                self.apply(self.flow.hub_lost())
            elif kind == "offline":  # kiosk/offline: numbers left, hub away
                self.apply(self.flow.offline_state(*payload))
            elif kind == "backend":
                self._backend_ready(*payload)
            elif kind == "pairing" and self.pairing is not None:
                self.pairing.changed(*payload)
            elif kind == "paired":
                self._paired(payload)
        self.render()

    def _on_code(self, code: str) -> None:
        self.apply(self.flow.code_read(code))
        self.render()

    def _on_result(self, result: Any) -> None:
        method = getattr(self.flow, result.method)
        self.apply(method(*result.args) or [])
        if result.method == "print_failed":
            self._report_health()  # the hub hears of it now, not at the next interval

    # --- carrying out the flow's commands ------------------------------------------------------

    def apply(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, Beep):
                self._play_beep()
            elif isinstance(command, LoadServices) and command.delay_s > 0:
                Clock.schedule_once(
                    lambda _dt, c=command: self.worker.submit(lambda: self._carry_out(c)),
                    command.delay_s,
                )
            else:
                self.worker.submit(lambda c=command: self._carry_out(c))

    def _carry_out(self, command: Command) -> Any:
        """On the worker thread, which starts only once the backend is up."""
        assert self.backend is not None
        return self.backend.effects.run(command)

    def _play_beep(self) -> None:
        if self._beep is not None:
            self._beep.stop()
            self._beep.play()
        for listener in self.beep_listeners:
            listener()

    # --- showing the view ----------------------------------------------------------------------

    def context(self, lang: str) -> Context:
        categories = self.flow.config.priority_categories
        return Context(
            tr=translator(lang, self.cache / "locale"),
            office_name=self.office.name,
            languages=self.flow.config.languages,
            services=self.flow.services,
            priorities=categories,
            offer_phone_qr=self.kiosk.offer_phone_qr,
        )

    def render(self, *, busy_now: bool = False) -> None:
        view = self.flow.view
        if self.backend is not None:
            self.backend.gate.paused = view.screen not in ACCEPTS_CODES
        key = (view, ",".join(s.id for s in self.flow.services))
        if self.manager is None or self._shown == key or self.pairing is not None:
            return
        # A check-in or ticket usually takes a fraction of a second (the beep has already said
        # the code was read): show "one moment" only if it takes longer, rather than flash it,
        # and leave the CPU to the request meanwhile.
        entering_busy = self._shown is None or self._shown[0].screen is not Screen.ISSUING
        if view.screen is Screen.ISSUING and entering_busy and not busy_now:
            if self._busy_pending is None:
                self._busy_pending = Clock.schedule_once(
                    lambda _dt: self._show_busy(), BUSY_DELAY_S
                )
            return
        if self._busy_pending is not None:
            self._busy_pending.cancel()
            self._busy_pending = None
        self._shown = key
        screen = self.screens[view.screen]
        screen.update(view, self.context(view.lang))
        self.manager.current = view.screen.value
        for listener in self.view_listeners:
            listener(view)

    def _show_busy(self) -> None:
        self._busy_pending = None
        if self.flow.view.screen is Screen.ISSUING:
            self.render(busy_now=True)

    def _tick(self, _dt: float) -> None:
        if self.flow.tick():
            self.render()

    def _release_memory(self, _dt: float) -> None:
        if self.flow.view.screen is not Screen.ISSUING:
            release_free_memory()

    def _show_preview(self, _dt: float) -> None:
        backend = self.backend
        if backend is None or backend.scanner is None or self.flow.view.screen is not Screen.SCAN:
            return
        self.screens[Screen.SCAN].ids.preview.show(backend.scanner.latest_frame)

    # --- device health -------------------------------------------------------------------------

    def camera_status(self) -> str:
        return "starting" if self.backend is None else self.backend.camera_status()

    def frame_count(self) -> int:
        scanner = self.backend.scanner if self.backend else None
        return scanner.frame_count if scanner else 0

    def _report_health(self) -> None:
        if self.backend is None or self._health_running.is_set():
            return
        self._health_running.set()
        camera = self.camera_status()
        details = {
            "office": self.office.id,
            "screen": self.flow.view.screen.value,
            "frames": self.frame_count(),
            "print_problem": self.backend.effects.print_problem,
        }
        threading.Thread(
            target=self._health_job, args=(camera, details), name="kiosk-health", daemon=True
        ).start()

    def _health_job(self, camera: str, details: dict[str, Any]) -> None:
        from office360.client import HubError, HubUnreachable

        assert self.backend is not None
        try:
            printer = self.backend.effects.printer_status()
            self._post("printer", printer)
            self.backend.health_client.report_health(
                {
                    "device": self.kiosk.device_name,
                    "version": __version__,
                    "printer": printer,
                    "camera": camera,
                    "details": details,
                }
            )
        except HubUnreachable:
            self._post("hub_lost")
        except HubError as exc:
            log.warning("health report refused: %s", exc)
        except Exception:
            log.exception("health report failed")
        finally:
            self._health_running.clear()


def _configured_services(office: OfficeSettings, only: list[str]) -> list[ServiceChoice]:
    """The office's services from the configuration, until the hub says otherwise."""
    choices = {s.id: ServiceChoice(s.id, dict(s.names), s.icon) for s in office.services}
    if only:
        return [choices[s] for s in only if s in choices]
    return list(choices.values())
