"""Fakes for tests and demos: a camera that plays back frames (or QR codes drawn from texts)
and can be unplugged, a scanner the app can drive by hand, and frame makers.

The frame makers need the `qrcode` package (in the kiosk extra).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable

import cv2
import numpy as np

from .errors import CameraGone, CameraUnavailable
from .runner import STATE_NO_CAMERA, STATE_OK, CodeCallback, StateCallback, _ignore_state
from .sources import _Paced

Size = tuple[int, int]  # (width, height), as OpenCV and screens say it


def qr_matrix(text: str, *, border: int = 4) -> np.ndarray:
    """The modules of a QR code for `text`, True = dark, quiet zone included."""
    import qrcode

    qr = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def empty_frame(size: Size = (640, 480), *, seed: int = 0) -> np.ndarray:
    """A BGR scene with no code in it: soft shapes, edges, text and sensor noise."""
    width, height = size
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 220, (max(2, height // 24), max(2, width // 24), 3), dtype=np.uint8)
    frame = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(max(4, width * height // 70_000)):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(10, width // 4)), int(rng.integers(10, height // 4))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(frame, (x, y), (x + w, y + h), colour, int(rng.integers(-1, 5)))
    scale = height / 480
    cv2.putText(
        frame,
        "Oficina de atencion",
        (width // 10, height // 3),
        cv2.FONT_HERSHEY_SIMPLEX,
        1.5 * scale,
        (30, 30, 30),
        max(1, int(3 * scale)),
    )
    noise = rng.normal(0.0, 4.0, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def qr_frame(
    text: str,
    size: Size = (640, 480),
    *,
    module_px: int = 6,
    angle_deg: float = 0.0,
    blur_sigma: float = 0.0,
    contrast: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """A BGR frame as a camera would see a code held up: the code (dark on white) in the middle
    of a scene, turned by `angle_deg`, blurred, with its contrast scaled around mid-grey."""
    width, height = size
    code = qr_matrix(text)
    paper = np.where(code, 0, 255).astype(np.uint8)
    paper = np.kron(paper, np.ones((module_px, module_px), dtype=np.uint8))
    side = paper.shape[0]
    if side > min(width, height):
        raise ValueError(f"a {side}px code does not fit a {width}x{height} frame")
    frame = empty_frame(size, seed=seed)
    top, left = (height - side) // 2, (width - side) // 2
    frame[top : top + side, left : left + side] = paper[:, :, None]
    if angle_deg:
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, 1.0)
        frame = cv2.warpAffine(frame, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if blur_sigma:
        frame = cv2.GaussianBlur(frame, (0, 0), blur_sigma)
    if contrast != 1.0:
        frame = np.clip(128.0 + (frame.astype(np.float32) - 128.0) * contrast, 0, 255)
        frame = frame.astype(np.uint8)
    return frame


class FakeCamera:
    """A frame source (see sources.FrameSource) that plays back what it is given.

    Items are frames (numpy arrays) or texts, drawn as QR frames of `size`. When none are left it
    delivers an empty scene, as a camera looking at nobody does. `unplug()` makes `read` raise
    CameraGone and `open` raise CameraUnavailable until `replug()`. It records how it was used.
    """

    def __init__(
        self, items: Iterable[np.ndarray | str] = (), *, size: Size = (640, 480), fps: float = 30.0
    ) -> None:
        self.size = size
        self._pace = _Paced(fps)
        self._items: deque[np.ndarray] = deque()
        self._lock = threading.Lock()
        self._idle = empty_frame(size, seed=1)
        self.plugged = True
        self.is_open = False
        self.open_count = 0
        self.frames_read = 0
        self._fail_next: Exception | None = None
        self.push(*items)

    def push(self, *items: np.ndarray | str) -> None:
        frames = [qr_frame(i, self.size) if isinstance(i, str) else i for i in items]
        with self._lock:
            self._items.extend(frames)

    def unplug(self) -> None:
        self.plugged = False

    def replug(self) -> None:
        self.plugged = True

    def fail_next_read(self, error: Exception) -> None:
        self._fail_next = error

    def open(self) -> None:
        if not self.plugged:
            raise CameraUnavailable("fake camera: unplugged")
        self.is_open = True
        self.open_count += 1

    def read(self) -> np.ndarray:
        if not self.plugged or not self.is_open:
            raise CameraGone("fake camera: unplugged")
        if self._fail_next is not None:
            error, self._fail_next = self._fail_next, None
            raise error
        self._pace.wait()
        with self._lock:
            frame = self._items.popleft() if self._items else self._idle
        self.frames_read += 1
        return frame

    def close(self) -> None:
        self.is_open = False


class FakeScanner:
    """Stands in for `Scanner` in app tests that do not need frames: `scan("text")` reports a
    code (deduped, on the caller's thread), `unplug()`/`replug()` report the state."""

    def __init__(
        self,
        on_code: CodeCallback,
        on_state: StateCallback = _ignore_state,
        *,
        dedupe_s: float = 3.0,
    ) -> None:
        from .dedupe import Deduper

        self.on_code = on_code
        self.on_state = on_state
        self.dedupe = Deduper(dedupe_s)
        self.state: str | None = None
        self.latest_frame: np.ndarray | None = None
        self.running = False

    def start(self) -> None:
        self.running = True
        self._set_state(STATE_OK)

    def stop(self, timeout_s: float = 2.0) -> None:
        self.running = False

    def scan(self, text: str, now: float | None = None) -> bool:
        """True when the code got through to on_code."""
        if not self.running or self.state != STATE_OK:
            return False
        if not self.dedupe.accept(text, time.monotonic() if now is None else now):
            return False
        self.on_code(text)
        return True

    def unplug(self) -> None:
        self._set_state(STATE_NO_CAMERA)

    def replug(self) -> None:
        self._set_state(STATE_OK)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.on_state(state)
