"""Keyboard-wedge USB barcode scanners: they type the code, then Enter.

In the kiosk these arrive as key presses (Kivy's on_key_down); the app feeds each key to a
`WedgeAccumulator` with the time it came. A scanner types a whole code in a burst (a few ms a key);
a person is far slower, so a gap longer than `max_gap_s` between keys starts over, and what a person
types never becomes a code.
"""

from __future__ import annotations

from .errors import ScannerError

ENTER_KEYS = frozenset({"\r", "\n", "enter", "return", "numpadenter", "kp_enter"})


class WedgeAccumulator:
    def __init__(
        self,
        *,
        max_gap_s: float = 0.08,
        min_length: int = 4,
        max_length: int = 4096,
        terminators: frozenset[str] = ENTER_KEYS,
    ) -> None:
        if max_gap_s <= 0 or min_length < 1 or max_length < min_length:
            raise ScannerError(
                "setting_invalid",
                f"wedge settings out of range: max_gap_s={max_gap_s}, "
                f"min_length={min_length}, max_length={max_length}",
            )
        self.max_gap_s = max_gap_s
        self.min_length = min_length
        self.max_length = max_length
        self.terminators = terminators
        self._chars: list[str] = []
        self._last_key_at: float | None = None

    @property
    def pending(self) -> str:
        """What has been typed in the current burst, not yet ended by Enter."""
        return "".join(self._chars)

    def feed(self, key: str, now: float) -> str | None:
        """Feed one key: a single character, or a key name such as "enter". Returns the code
        when Enter ends a fast burst of at least `min_length` characters, else None."""
        too_slow = self._last_key_at is not None and now - self._last_key_at > self.max_gap_s
        self._last_key_at = now
        if too_slow:
            self._chars.clear()
        if key.lower() in self.terminators or key in self.terminators:
            code = "".join(self._chars)
            self.reset()
            if too_slow or len(code) < self.min_length:
                return None
            return code
        if len(key) != 1 or not key.isprintable():
            return None  # shift, arrows, function keys: not part of a code
        if len(self._chars) >= self.max_length:
            self._chars.clear()
        self._chars.append(key)
        return None

    def feed_text(self, text: str, now: float, *, key_interval_s: float = 0.002) -> list[str]:
        """Feed a string as a scanner would type it; the codes it completes (for tests, demos)."""
        codes = []
        for i, key in enumerate(text):
            code = self.feed("enter" if key in "\r\n" else key, now + i * key_interval_s)
            if code is not None:
                codes.append(code)
        return codes

    def reset(self) -> None:
        self._chars.clear()
        self._last_key_at = None
