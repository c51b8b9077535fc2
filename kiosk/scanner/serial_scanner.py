"""Serial (RS-232 or USB-CDC) barcode scanners: one code per line, read in a background thread.

States are the camera's: "ok", "no_camera" (the port is not there: unplugged) and "error".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from .errors import CameraGone, CameraUnavailable, ScannerError
from .runner import RETRY_DELAYS_S, CodeCallback, DeviceWorker, StateCallback, _ignore_state

MAX_LINE_BYTES = 4096


def decode_line(raw: bytes) -> str:
    for encoding in ("utf-8", "shift_jis"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


class LineSplitter:
    """Bytes in, complete lines out; CR, LF or CRLF end a line; blank lines are dropped."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[str]:
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._buffer:
                    line = decode_line(bytes(self._buffer)).strip()
                    self._buffer.clear()
                    if line:
                        yield line
            elif len(self._buffer) < self.max_line_bytes:
                self._buffer.append(byte)
            else:  # no terminator for far too long: noise on the line, start over
                self._buffer.clear()


class SerialScanner(DeviceWorker):
    """`SerialScanner("/dev/ttyACM0", on_code, on_state).start()`; pyserial is imported on open."""

    thread_name = "serial-scanner"

    def __init__(
        self,
        port: str,
        on_code: CodeCallback,
        on_state: StateCallback = _ignore_state,
        *,
        baudrate: int = 9600,
        dedupe_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        super().__init__(
            on_code, on_state, dedupe_s=dedupe_s, clock=clock, retry_delays_s=retry_delays_s
        )
        self.port = port
        self.baudrate = baudrate
        self._serial = None  # serial.Serial once open
        self._lines = LineSplitter()

    def _open(self) -> None:
        try:
            import serial
        except ImportError as exc:
            raise ScannerError("decoder_missing", "pyserial is not installed") from exc
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0.2)
        except (serial.SerialException, OSError) as exc:
            raise CameraUnavailable(f"serial scanner {self.port}: {exc}") from exc
        self._lines = LineSplitter()

    def _step(self) -> bool:
        import serial

        if self._serial is None:
            raise CameraGone(f"serial scanner {self.port}: not open")
        try:
            data = self._serial.read(256)
        except (serial.SerialException, OSError) as exc:
            raise CameraGone(f"serial scanner {self.port}: {exc}") from exc
        for line in self._lines.feed(data):
            self.offer(line)
        return True

    def _close(self) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None
