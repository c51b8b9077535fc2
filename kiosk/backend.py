"""The kiosk's devices and network side, brought up in a background thread after the first
frame: the hub clients, the printer, the camera scanner and the barcode scanners.

Their libraries (requests, python-escpos, OpenCV, zxing-cpp, cryptography) take longer to import
than Kivy takes to draw the start screen, so the screen comes first. Nothing in here runs on
the UI thread.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from office360.config import OfficeSettings, Settings

if TYPE_CHECKING:
    from office360.client import HubClient
    from printer.escpos_backend import TicketPrinter

    from .effects import Effects
    from .gate import DecodeGate
    from .offline.sync import OfflineSync
    from .scanner import Deduper, FrameSource, Scanner, SerialScanner, WedgeAccumulator

log = logging.getLogger(__name__)

Post = Callable[[str, Any], None]


@dataclass
class Backend:
    client: HubClient
    health_client: HubClient
    printer: TicketPrinter | None
    effects: Effects
    gate: DecodeGate
    scanner: Scanner | None
    serial: SerialScanner | None
    wedge: WedgeAccumulator | None
    wedge_dedupe: Deduper
    offline: OfflineSync | None = None

    def start(self) -> None:
        if self.offline is not None:
            self.offline.start()
        if self.scanner is not None:
            self.scanner.start()
        if self.serial is not None:
            self.serial.start()

    def stop(self) -> None:
        if self.offline is not None:
            self.offline.stop()
            self.offline.spool.close()
        if self.scanner is not None:
            self.scanner.stop()
        if self.serial is not None:
            self.serial.stop()
        self.client.close()
        self.health_client.close()

    def camera_status(self) -> str:
        if self.scanner is None:
            return "none"
        return self.scanner.state or "starting"


def bring_up(
    settings: Settings,
    office: OfficeSettings,
    hub_url: str,
    post: Post,
    *,
    source_spec: str | None = None,
    source_factory: Callable[[], FrameSource | None] | None = None,
    printer_url: str | None = None,
) -> Backend:
    """Build every device; a part that cannot be set up is logged and left out, never fatal.
    `post(kind, payload)` hands a scanner's codes and states to the UI thread."""
    from office360.client import HubClient

    from .devices import open_kiosk_printer, source_from_settings
    from .effects import Effects
    from .gate import DecodeGate
    from .scanner import Deduper, Scanner, ScannerError, SerialScanner, WedgeAccumulator

    options = settings.kiosk
    device = settings.device
    token = device.resolved_token()
    client = HubClient(
        hub_url, token, office=office.id, timeout_s=device.timeout_s, retries=2, backoff_s=0.2
    )
    health_client = HubClient(
        hub_url, token, office=office.id, timeout_s=device.timeout_s, retries=0
    )
    printer = open_kiosk_printer(settings.printer, printer_url)
    offline = _offline_sync(settings, office, hub_url, token, post)
    effects = Effects(
        client,
        printer,
        office_id=office.id,
        office_name=office.name,
        timezone=office.timezone,
        public_keys=settings.appointments.public_keys,
        only_services=options.services,
        offline=offline.mode if offline is not None else None,
    )
    gate = DecodeGate(max_fps=options.decode_fps, fallback_every=options.fallback_every)
    try:
        source = source_factory() if source_factory else source_from_settings(options, source_spec)
    except ScannerError as exc:
        log.error("no camera: %s: %s", exc.code, exc.message)
        source = None
    scanner = None
    if source is not None:
        scanner = Scanner(
            source,
            lambda code: post("code", code),
            lambda state: post("camera", state),
            decoder=gate,
            dedupe_s=options.dedupe_s,
        )
    serial = None
    if options.serial_scanner:
        serial = SerialScanner(
            options.serial_scanner, lambda code: post("code", code), dedupe_s=options.dedupe_s
        )
    return Backend(
        client=client,
        health_client=health_client,
        printer=printer,
        effects=effects,
        gate=gate,
        scanner=scanner,
        serial=serial,
        wedge=WedgeAccumulator() if options.wedge_scanner else None,
        wedge_dedupe=Deduper(options.dedupe_s),
        offline=offline,
    )


def _offline_sync(
    settings: Settings, office: OfficeSettings, hub_url: str, token: str, post: Post
) -> OfflineSync | None:
    """The offline spool and its sync thread ([kiosk] offline); None when off or unusable."""
    from datetime import UTC, datetime

    from office360.client import HubClient

    from .offline.mode import OfflineMode, ServiceInfo
    from .offline.spool import Spool
    from .offline.sync import OfflineSync, parse_hhmm

    options = settings.kiosk
    if not options.offline or not token:
        return None
    path = settings.device.state_dir / "kiosk-offline.sqlite3"
    try:
        spool = Spool(path, token)
    except (OSError, sqlite3.Error) as exc:
        log.error("offline mode off: the spool %s cannot be opened: %s", path, exc)
        return None
    mode = OfflineMode(
        spool,
        {s.id: ServiceInfo(s.prefix, dict(s.names)) for s in office.services},
        office.timezone,
        now=lambda: datetime.now(UTC),
        on_state=lambda ready, down: post("offline", (ready, down)),
    )
    client = HubClient(
        hub_url, token, office=office.id, timeout_s=settings.device.timeout_s, retries=0
    )
    return OfflineSync(
        client,
        mode,
        block_size=options.offline_block_size,
        refresh_s=options.offline_refresh_s,
        retry_max_s=options.retry_max_s,
        next_day_from=parse_hhmm(options.offline_next_day_from),
    )
