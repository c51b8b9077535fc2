"""Which camera frames get decoded: none while the kiosk cannot take a code (a citizen is being
served), at most `max_fps` a second, and the slow fallback cascade on one frame in N.

Decoding every frame at 30 fps with the fallbacks costs more than a core of a small machine
(about 37 ms per empty 640x480 frame here under load), and that CPU is taken from the check-in
request and the print job a citizen is waiting for. A code held up to the camera is still seen
several times a second. Called on the scanner's thread; `paused` is set from the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .scanner import decode_frame


class DecodeGate:
    def __init__(
        self,
        *,
        max_fps: float = 15.0,
        fallback_every: int = 4,
        clock: Callable[[], float] = time.monotonic,
        decode: Callable[..., list[str]] = decode_frame,
    ) -> None:
        if max_fps <= 0 or fallback_every < 1:
            raise ValueError(
                f"max_fps must be > 0 and fallback_every >= 1: {max_fps}, {fallback_every}"
            )
        self.interval = 1.0 / max_fps
        self.fallback_every = fallback_every
        self.clock = clock
        self.decode = decode
        self.paused = False
        self.decoded = 0
        self._last = -1e9

    def __call__(self, frame: np.ndarray) -> list[str]:
        if self.paused:
            return []
        now = self.clock()
        if now - self._last < 0.9 * self.interval:  # a frame a little early still counts
            return []
        self._last = now
        self.decoded += 1
        return self.decode(frame, fallback=self.decoded % self.fallback_every == 0)
