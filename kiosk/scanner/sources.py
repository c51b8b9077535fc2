"""Frame sources that are not a camera: a video file or a folder of images (demo and tests).

A frame source has `open()`, `read() -> frame | None` (None: the source has ended) and `close()`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .errors import ScannerError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


class FrameSource(Protocol):
    def open(self) -> None:
        """Acquire the device or file; CameraUnavailable when it is not there (yet)."""

    def read(self) -> np.ndarray | None:
        """The next frame, None once a finite source has ended; CameraGone when unplugged."""

    def close(self) -> None:
        """Release the device; safe to call twice."""


def read_image(path: str | Path) -> np.ndarray:
    """An image file as 8-bit grey or BGR; transparency is laid on white, as on a screen."""
    if not Path(path).is_file():
        raise ScannerError("image_unreadable", f"{path}: no such file")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ScannerError("image_unreadable", f"{path}: not a readable image file")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ScannerError("image_unreadable", f"{path}: unsupported pixel type {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return image


class _Paced:
    """Sleeps so that frames come no faster than `fps` (0: as fast as asked)."""

    def __init__(self, fps: float) -> None:
        if fps < 0:
            raise ScannerError("setting_invalid", f"fps must be 0 or more, not {fps}")
        self._interval = 1.0 / fps if fps else 0.0
        self._next = 0.0

    def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


class ImageFolderSource:
    """Every image in a folder, in name order, as frames; `loop` starts over at the end."""

    def __init__(self, folder: str | Path, *, fps: float = 5.0, loop: bool = True) -> None:
        self.folder = Path(folder)
        self.loop = loop
        self._pace = _Paced(fps)
        self._paths: list[Path] = []
        self._index = 0

    def open(self) -> None:
        if not self.folder.is_dir():
            raise ScannerError("source_invalid", f"{self.folder}: not a folder")
        self._paths = sorted(
            p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        if not self._paths:
            raise ScannerError("source_invalid", f"{self.folder}: holds no image files")
        self._index = 0

    def read(self) -> np.ndarray | None:
        if self._index >= len(self._paths):
            if not self.loop or not self._paths:
                return None
            self._index = 0
        path = self._paths[self._index]
        self._index += 1
        self._pace.wait()
        return read_image(path)

    def close(self) -> None:
        self._index = len(self._paths)


class VideoFileSource:
    """A video file's frames at its own frame rate (or `fps`); `loop` rewinds at the end."""

    def __init__(self, path: str | Path, *, fps: float | None = None, loop: bool = True) -> None:
        self.path = Path(path)
        self.loop = loop
        self._fps = fps
        self._pace = _Paced(fps or 0.0)
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        if not self.path.is_file():
            raise ScannerError("source_invalid", f"{self.path}: no such video file")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise ScannerError("source_invalid", f"{self.path}: not a video OpenCV can read")
        self._capture = capture
        if self._fps is None:
            native = capture.get(cv2.CAP_PROP_FPS)
            self._pace = _Paced(native if 0 < native <= 120 else 0.0)

    def read(self) -> np.ndarray | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if not ok and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok:
            return None
        self._pace.wait()
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def source_for_path(
    path: str | Path, *, fps: float | None = None, loop: bool = True
) -> FrameSource:
    """A folder becomes an ImageFolderSource, a file a VideoFileSource."""
    path = Path(path)
    if path.is_dir():
        return ImageFolderSource(path, fps=5.0 if fps is None else fps, loop=loop)
    return VideoFileSource(path, fps=fps, loop=loop)
