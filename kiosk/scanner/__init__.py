"""The kiosk's scanner: QR codes from a camera, a video or image folder, a keyboard-wedge or a
serial barcode scanner. No Kivy in here; the app wires it.

Public interface for the kiosk app:

- ``decode_frame(frame: numpy.ndarray) -> list[str]``: every QR code's text in a BGR, BGRA or
  grey uint8 frame, each once; zxing-cpp first, then a measured fallback cascade (decode.py).
  Bad input raises ``ScannerError`` with code ``frame_invalid``.
- ``Scanner(source, on_code, on_state, dedupe_s=3.0)``: runs a frame source in a background
  thread. ``start()``, ``stop()``; ``on_code(text)`` for each code not seen in the last
  ``dedupe_s`` seconds; ``on_state(state)`` with ``"ok"``, ``"no_camera"`` (unplugged or not
  there yet: it reopens by itself with back-off) or ``"error"``; ``latest_frame`` is the newest
  frame for a preview and ``frame_count`` counts them. Both callbacks run on the scanner's
  thread: a Kivy app passes them on with ``Clock.schedule_once``. ``fallback_every=N`` runs the
  decoder's fallbacks on one frame in N only, for slow machines (docs/benchmarks.md).
- Frame sources (``open``/``read``/``close``): ``OpenCVCamera(0 | "/dev/video0")``,
  ``VideoFileSource(path)``, ``ImageFolderSource(folder)``, ``source_for_path(path)``, and
  ``FakeCamera([frames or texts])`` with ``unplug()``/``replug()``.
- ``WedgeAccumulator().feed(key, now) -> str | None``: feed it every key press; it returns the
  code when a keyboard-wedge scanner's fast burst ends with Enter, and ignores human typing.
- ``SerialScanner(port, on_code, on_state)``: a serial scanner, same callbacks as ``Scanner``.
- ``FakeScanner(on_code, on_state)``: ``scan(text)``, ``unplug()``, ``replug()`` for app tests.
- ``Deduper(window_s).accept(code, now)``: the dedupe rule, for codes from the wedge.
"""

from .camera import OpenCVCamera, parse_device
from .decode import available_decoders, decode_frame
from .dedupe import Deduper
from .errors import CameraGone, CameraUnavailable, ScannerError
from .fake import FakeCamera, FakeScanner, empty_frame, qr_frame
from .runner import STATE_ERROR, STATE_NO_CAMERA, STATE_OK, Scanner
from .serial_scanner import SerialScanner
from .sources import FrameSource, ImageFolderSource, VideoFileSource, read_image, source_for_path
from .wedge import WedgeAccumulator

__all__ = [
    "STATE_ERROR",
    "STATE_NO_CAMERA",
    "STATE_OK",
    "CameraGone",
    "CameraUnavailable",
    "Deduper",
    "FakeCamera",
    "FakeScanner",
    "FrameSource",
    "ImageFolderSource",
    "OpenCVCamera",
    "Scanner",
    "ScannerError",
    "SerialScanner",
    "VideoFileSource",
    "WedgeAccumulator",
    "available_decoders",
    "decode_frame",
    "empty_frame",
    "parse_device",
    "qr_frame",
    "read_image",
    "source_for_path",
]
