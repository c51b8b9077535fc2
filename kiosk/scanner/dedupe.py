"""Ignore a code seen again within a few seconds: a citizen holds a phone up for many frames."""

from __future__ import annotations

from .errors import ScannerError


class Deduper:
    """`accept(code, now)` is True the first time a code is seen, then False until it has been
    out of sight for `window_s` seconds. Every sighting restarts the window, so a code held in
    front of the camera is reported once. The clock is the caller's (seconds, monotonic)."""

    def __init__(self, window_s: float = 3.0) -> None:
        if window_s < 0:
            raise ScannerError(
                "setting_invalid", f"the dedupe window must be 0 s or more: {window_s}"
            )
        self.window_s = window_s
        self._last_seen: dict[str, float] = {}

    def accept(self, code: str, now: float) -> bool:
        self._forget_before(now - self.window_s)
        fresh = code not in self._last_seen
        self._last_seen[code] = now
        return fresh

    def forget(self) -> None:
        """Forget every code, e.g. when the kiosk returns to its start screen."""
        self._last_seen.clear()

    def __len__(self) -> int:
        return len(self._last_seen)

    def _forget_before(self, cutoff: float) -> None:
        # insertion order is not sighting order once a code is seen twice: scan them all
        stale = [code for code, seen in self._last_seen.items() if seen < cutoff]
        for code in stale:
            del self._last_seen[code]
