"""A USB camera through OpenCV, as a frame source for `Scanner` (which runs it in its thread).

Unplugging shows as failed reads and, on Linux, the /dev/videoN node vanishing: `read` then raises
CameraGone and the Scanner reopens the camera with back-off until it is back. A camera that comes
back may get another index; a stable /dev/v4l/by-id/... path avoids that.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from .errors import CameraGone, CameraUnavailable, ScannerError

READ_TIMEOUT_MS = 2000


def parse_device(text: str | int) -> int | str:
    """ "0" -> 0 (camera index); "/dev/video2" or a by-id path stays a path."""
    if isinstance(text, int):
        if text < 0:
            raise ScannerError("source_invalid", f"a camera index is 0 or more, not {text}")
        return text
    text = text.strip()
    if text.isdigit():
        return int(text)
    if text.startswith("/"):
        return text
    raise ScannerError(
        "source_invalid", f"{text!r} is not a camera: give an index (0) or a path (/dev/video0)"
    )


class OpenCVCamera:
    """`open()`, `read()`, `close()` over cv2.VideoCapture (V4L2 on Linux)."""

    def __init__(
        self,
        device: int | str,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        gone_after_failures: int = 5,
    ) -> None:
        self.device = parse_device(device)
        self.width = width
        self.height = height
        self.fps = fps
        self.gone_after_failures = max(1, gone_after_failures)
        self._capture: cv2.VideoCapture | None = None

    @property
    def node(self) -> Path | None:
        """The device file on Linux (/dev/videoN), which disappears when the camera is unplugged."""
        if isinstance(self.device, str):
            return Path(self.device)
        return Path(f"/dev/video{self.device}") if sys.platform.startswith("linux") else None

    def open(self) -> None:
        self.close()
        node = self.node
        if node is not None and not node.exists():
            raise CameraUnavailable(f"camera {self.device}: {node} does not exist (unplugged?)")
        target: int | str = self.device
        if isinstance(target, str):
            target = os.path.realpath(target)  # by-id symlinks -> /dev/videoN
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        capture = cv2.VideoCapture(target, backend)
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(
                f"camera {self.device}: cannot be opened (busy or not a camera)"
            )
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a stale queue
        capture.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS)
        if self.width and self.height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        if self.fps:
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        self._capture = capture

    def read(self) -> np.ndarray:
        if self._capture is None:
            raise CameraGone(f"camera {self.device}: not open")
        for attempt in range(self.gone_after_failures):
            ok, frame = self._capture.read()
            if ok and frame is not None:
                return frame
            node = self.node
            if node is not None and not node.exists():
                break
            time.sleep(0.02 * (attempt + 1))
        raise CameraGone(f"camera {self.device}: stopped delivering frames")

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
