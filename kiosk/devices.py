"""Opening the kiosk's devices from its settings: the camera or demo source, the printer, the
cache folder. Failures are logged with their code and leave the kiosk running without it."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from office360.config import KioskSettings, PrinterSettings
from printer import PrinterError, open_printer, printer_from_settings
from printer.escpos_backend import TicketPrinter

from .scanner import FrameSource, OpenCVCamera, ScannerError, source_for_path

log = logging.getLogger(__name__)


def source_from_settings(options: KioskSettings, override: str | None = None) -> FrameSource | None:
    """`--source` or [kiosk] camera: an index or /dev/videoN is a camera, a path a demo source;
    "" is none (a barcode scanner only)."""
    spec = (override if override is not None else options.camera).strip()
    if not spec:
        return None
    if spec.isdigit() or spec.startswith("/dev/"):
        return OpenCVCamera(spec, width=options.camera_width, height=options.camera_height)
    if not Path(spec).exists():
        raise ScannerError("source_invalid", f"{spec}: no such image folder or video file")
    return source_for_path(spec)


def open_kiosk_printer(settings: PrinterSettings, url: str | None = None) -> TicketPrinter | None:
    """The configured printer, or `url` with the configured profile; None when it cannot be
    set up (then every ticket goes to the phone QR)."""
    try:
        if url:
            open_printer(url)  # a bad URL is refused here with its code
            settings = settings.model_copy(update={"url": url})
        return printer_from_settings(settings)
    except PrinterError as exc:
        log.error("printer not usable: %s", exc)
        return None


def cache_folder(folder: Path) -> Path:
    """`folder` if it is writable, else a private folder under /tmp."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
        return folder
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"office360-kiosk-{os.getuid()}"
        log.warning("cache %s is not writable; using %s", folder, fallback)
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback
