"""Run a scanning device in a background thread: open it, read, hand codes over, reopen it
when it goes away. `Scanner` reads frames from a camera or file source and decodes them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from .decode import decode_frame
from .dedupe import Deduper
from .errors import CameraGone, CameraUnavailable, ScannerError
from .sources import FrameSource

log = logging.getLogger(__name__)

STATE_OK = "ok"
STATE_NO_CAMERA = "no_camera"
STATE_ERROR = "error"

RETRY_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)

CodeCallback = Callable[[str], None]
StateCallback = Callable[[str], None]


def _ignore_state(_state: str) -> None:
    pass


class DeviceWorker:
    """The thread, the state and the reconnection; subclasses say how to open, read and close.

    `on_code` and `on_state` are called on the worker thread: a Kivy app hands them to its UI
    thread with `Clock.schedule_once`. `on_state` is called once at the start, then on changes.
    """

    thread_name = "scanner"

    def __init__(
        self,
        on_code: CodeCallback,
        on_state: StateCallback = _ignore_state,
        *,
        dedupe_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        if not retry_delays_s or min(retry_delays_s) < 0:
            raise ScannerError("setting_invalid", f"retry delays must be >= 0 s: {retry_delays_s}")
        self.on_code = on_code
        self.on_state = on_state
        self.dedupe = Deduper(dedupe_s)
        self.clock = clock
        self.retry_delays_s = tuple(retry_delays_s)
        self._state: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- subclass hooks
    def _open(self) -> None:
        raise NotImplementedError

    def _step(self) -> bool:
        """Read once and hand over what was read; False when a finite source has ended."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- public
    @property
    def state(self) -> str | None:
        return self._state

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for a finite source to end (or for `stop`)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def offer(self, code: str) -> None:
        """Hand a read code over, unless it was seen within the dedupe window."""
        with self._lock:
            fresh = self.dedupe.accept(code, self.clock())
        if fresh:
            try:
                self.on_code(code)
            except Exception:
                log.exception("%s: on_code(%r) failed", self.thread_name, code)

    # ----------------------------------------------------------------- the loop
    def _run(self) -> None:
        opened = False
        try:
            while not self._stop.is_set():
                if not opened:
                    opened = self._try_open()
                    if not opened:
                        self._back_off()
                    continue
                try:
                    if not self._step():
                        return
                    self._failures = 0
                except CameraGone as exc:
                    log.warning("%s: %s", self.thread_name, exc.message)
                    self._set_state(STATE_NO_CAMERA)
                    opened = self._safe_close()
                except Exception:
                    log.exception("%s: reading failed", self.thread_name)
                    self._set_state(STATE_ERROR)
                    opened = self._safe_close()
                    self._back_off()
        finally:
            if opened:
                self._safe_close()

    def _try_open(self) -> bool:
        try:
            self._open()
        except CameraUnavailable as exc:
            log.info("%s: %s", self.thread_name, exc.message)
            self._set_state(STATE_NO_CAMERA)
            return False
        except Exception:
            log.exception("%s: opening failed", self.thread_name)
            self._set_state(STATE_ERROR)
            return False
        self._failures = 0
        self._set_state(STATE_OK)
        return True

    def _safe_close(self) -> bool:
        try:
            self._close()
        except Exception:
            log.exception("%s: closing failed", self.thread_name)
        return False

    def _back_off(self) -> None:
        delay = self.retry_delays_s[min(self._failures, len(self.retry_delays_s) - 1)]
        self._failures += 1
        self._stop.wait(delay)

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        try:
            self.on_state(state)
        except Exception:
            log.exception("%s: on_state(%r) failed", self.thread_name, state)


class Scanner(DeviceWorker):
    """Reads frames from `source`, keeps the latest one for a preview, decodes each, and calls
    `on_code(text)` for every code not seen in the last `dedupe_s` seconds.

    `fallback_every=N` runs the decoder's fallback cascade on one frame in N only (zxing-cpp alone
    on the others): on a slow machine, a code held up for a second is still seen by it several
    times, and the camera keeps its frame rate. Only for the default decoder."""

    thread_name = "camera-scanner"

    def __init__(
        self,
        source: FrameSource,
        on_code: CodeCallback,
        on_state: StateCallback = _ignore_state,
        *,
        decoder: Callable[[np.ndarray], list[str]] = decode_frame,
        fallback_every: int = 1,
        dedupe_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        super().__init__(
            on_code, on_state, dedupe_s=dedupe_s, clock=clock, retry_delays_s=retry_delays_s
        )
        self.source = source
        if fallback_every < 1:
            raise ScannerError(
                "setting_invalid", f"fallback_every must be 1 or more: {fallback_every}"
            )
        self.decoder = decoder
        self.fallback_every = fallback_every
        self._latest: np.ndarray | None = None
        self.frame_count = 0

    @property
    def latest_frame(self) -> np.ndarray | None:
        """The newest frame (BGR or grey, as the source gives it) for a preview; never written
        to after it is published, so the UI thread may read it without a lock."""
        return self._latest

    def _open(self) -> None:
        self.source.open()

    def _close(self) -> None:
        self.source.close()

    def _step(self) -> bool:
        frame = self.source.read()
        if frame is None:
            return False
        self._latest = frame
        self.frame_count += 1
        try:
            if self.decoder is decode_frame and self.frame_count % self.fallback_every:
                codes = decode_frame(frame, fallback=False)
            else:
                codes = self.decoder(frame)
        except ScannerError as exc:  # one bad frame is not a broken camera
            log.warning("%s: %s: %s", self.thread_name, exc.code, exc.message)
            self._set_state(STATE_ERROR)
            return True
        self._set_state(STATE_OK)
        for code in codes:
            self.offer(code)
        return True
