"""Scanner errors, each with a stable code."""

from __future__ import annotations

from office360.core.errors import DomainError


class ScannerError(DomainError):
    """A scanner input or device problem: `frame_invalid`, `image_unreadable`, `decoder_missing`,
    `source_invalid`, `setting_invalid`, `camera_unavailable`, `camera_gone`."""


class CameraUnavailable(ScannerError):
    """The camera (or scanner device) cannot be opened now; it may appear later."""

    def __init__(self, message: str) -> None:
        super().__init__("camera_unavailable", message)


class CameraGone(ScannerError):
    """The camera stopped delivering frames (unplugged); close it and reopen later."""

    def __init__(self, message: str) -> None:
        super().__init__("camera_gone", message)
