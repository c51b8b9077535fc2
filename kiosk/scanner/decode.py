"""Find QR codes in a camera frame: zxing-cpp first, then a short fallback cascade.

The cascade was picked with `bench/decode_photos.py` and `bench/decode_frames.py` (figures in
docs/benchmarks.md): zxing-cpp on the grey frame reads almost everything in about a millisecond;
when it reads nothing, zxing-cpp in "pure" mode and then pyzbar each rescue photos it misses. Both
fallbacks run on a copy shrunk to at most FALLBACK_MAX_SIDE pixels: pyzbar on a full 1080p frame
takes about 160 ms, on a 640-pixel copy of a busy scene up to 30 ms, on a 480-pixel copy about
half that, which keeps an empty frame inside its budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cache
from types import ModuleType

import cv2
import numpy as np

from .errors import ScannerError

log = logging.getLogger(__name__)

FALLBACK_MAX_SIDE = 480

Decoder = Callable[[np.ndarray], list[str]]


def to_grey(frame: object) -> np.ndarray:
    """A 2-D uint8 view or copy of `frame` (grey, BGR or BGRA); ScannerError `frame_invalid`."""
    if not isinstance(frame, np.ndarray):
        raise ScannerError("frame_invalid", f"a frame must be a numpy array, not {type(frame)}")
    if frame.dtype != np.uint8:
        raise ScannerError("frame_invalid", f"a frame must hold uint8 pixels, not {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        grey = frame
    elif frame.ndim == 3 and frame.shape[2] == 3:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    else:
        raise ScannerError("frame_invalid", f"a frame must be grey, BGR or BGRA, not {frame.shape}")
    if grey.shape[0] < 8 or grey.shape[1] < 8:
        raise ScannerError("frame_invalid", f"a frame of {grey.shape} is too small to hold a code")
    return np.ascontiguousarray(grey)


@cache
def _zxingcpp() -> ModuleType | None:
    try:
        import zxingcpp
    except ImportError as exc:
        log.warning("zxing-cpp is not installed (%s); pip install zxing-cpp", exc)
        return None
    return zxingcpp


@cache
def _pyzbar() -> ModuleType | None:
    try:
        from pyzbar import pyzbar
    except ImportError as exc:  # the Python package, or Debian's libzbar0, is missing
        log.warning("pyzbar is unavailable (%s); apt install libzbar0; pip install pyzbar", exc)
        return None
    return pyzbar


def available_decoders() -> list[str]:
    return [name for name, mod in (("zxing-cpp", _zxingcpp()), ("pyzbar", _pyzbar())) if mod]


def _require_a_decoder() -> None:
    if _zxingcpp() is None and _pyzbar() is None:
        raise ScannerError(
            "decoder_missing", "no QR decoder is installed: pip install zxing-cpp (or pyzbar)"
        )


def decode_zxing(grey: np.ndarray) -> list[str]:
    """zxing-cpp alone. Plain text mode keeps the text exact (Shift_JIS, control characters)."""
    zx = _zxingcpp()
    if zx is None:
        return []
    found = zx.read_barcodes(grey, formats=zx.BarcodeFormat.QRCode, text_mode=zx.TextMode.Plain)
    return _unique(b.text for b in found)


def decode_pyzbar(grey: np.ndarray) -> list[str]:
    """pyzbar alone. zbar hands back text it has already converted to UTF-8 where it could."""
    zb = _pyzbar()
    if zb is None:
        return []
    found = zb.decode(grey, symbols=[zb.ZBarSymbol.QRCODE])
    return _unique(_bytes_to_text(symbol.data) for symbol in found)


def decode_zxing_pure(grey: np.ndarray) -> list[str]:
    """zxing-cpp told the image is nothing but one upright code (a screenshot, a printed design),
    with one global threshold: reads codes edge to edge or over a picture, where the finder
    search fails. Costs well under a millisecond on a 640-pixel image with no code in it."""
    zx = _zxingcpp()
    if zx is None:
        return []
    found = zx.read_barcodes(
        grey,
        formats=zx.BarcodeFormat.QRCode,
        text_mode=zx.TextMode.Plain,
        binarizer=zx.Binarizer.GlobalHistogram,
        is_pure=True,
    )
    # with is_pure, "nothing found" comes back as one invalid result
    return _unique(b.text for b in found if b.valid)


def shrink(grey: np.ndarray, max_side: int = FALLBACK_MAX_SIDE) -> np.ndarray:
    side = max(grey.shape)
    if side <= max_side:
        return grey
    scale = max_side / side
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


# The fallbacks, in order, each on the frame shrunk to FALLBACK_MAX_SIDE (see the module doc).
FALLBACKS: list[tuple[str, Decoder]] = [
    ("zxing-cpp pure", decode_zxing_pure),
    ("pyzbar", decode_pyzbar),
]


def decode_grey(grey: np.ndarray, *, fallback: bool = True) -> list[str]:
    """The pipeline on a grey frame; `fallback=False` runs zxing-cpp alone."""
    codes = decode_zxing(grey)
    if codes or not fallback:
        return codes
    small = shrink(grey)
    for _name, step in FALLBACKS:
        codes = step(small)
        if codes:
            return codes
    return []


def decode_frame(frame: np.ndarray, *, fallback: bool = True) -> list[str]:
    """Every QR code's text in `frame` (BGR, BGRA or grey uint8), each once, in reading order."""
    _require_a_decoder()
    return decode_grey(to_grey(frame), fallback=fallback)


def _bytes_to_text(data: bytes) -> str:
    for encoding in ("utf-8", "shift_jis"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))
