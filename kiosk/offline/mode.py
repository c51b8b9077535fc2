"""Issuing while the hub is unreachable: a number from the kiosk's reserved blocks, kept in the
spool first, shaped like the hub's ticket so the flow, the screen and the printer take it as is."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from office360.core.numbering import local_day

from .spool import Spool

OFFLINE_REASON = "offline_ticket"
"""The reason the flow receives with an offline ticket (it shows the matching note)."""

# Printed at the foot of an offline ticket (the printer's labels are Spanish or English).
PRINTED_NOTE = {
    "es": "Número emitido sin conexión con el sistema: es válido. Atienda a la pantalla.",
    "en": "Number issued while the office system was unreachable: it is valid. Watch the screen.",
}


@dataclass(frozen=True)
class ServiceInfo:
    prefix: str
    names: Mapping[str, str]


class OfflineMode:
    """Shared by the worker that issues tickets and the sync thread (offline/sync.py)."""

    def __init__(
        self,
        spool: Spool,
        services: Mapping[str, ServiceInfo],
        timezone: str,
        *,
        now: Callable[[], datetime],
        on_state: Callable[[bool, bool], None] = lambda _ready, _down: None,
        skip_hub_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spool = spool
        self.services = dict(services)
        self.timezone = timezone
        self.now = now
        self.on_state = on_state
        self.skip_hub_s = skip_hub_s
        self.monotonic = monotonic
        self._down_until = 0.0
        self.hub_down = False
        self.on_spooled: Callable[[], None] = lambda: None
        """Set by the sync thread: a ticket waits to be sent."""
        self._lock = threading.Lock()

    # --- is the hub there? -------------------------------------------------------------------

    def hub_unreachable(self) -> None:
        """A request found the hub gone: for a while, issue offline at once instead of making
        each citizen wait for the network time-outs first (the sync thread keeps trying)."""
        with self._lock:
            self._down_until = self.monotonic() + self.skip_hub_s
            self.hub_down = True

    def hub_reachable(self) -> None:
        with self._lock:
            self._down_until = 0.0
            self.hub_down = False

    def hub_known_down(self) -> bool:
        with self._lock:
            return self.monotonic() < self._down_until

    # --- issuing -----------------------------------------------------------------------------

    def today(self) -> str:
        return local_day(self.now(), self.timezone).isoformat()

    def ready(self) -> bool:
        """True while a walk-in number is left for today."""
        return self.spool.numbers_left(self.today()) > 0

    def report(self) -> None:
        """Tell the kiosk (on_state) whether it can issue offline and whether the hub is away."""
        self.on_state(self.ready(), self.hub_down)

    def issue(
        self,
        service: str,
        priority: str | None,
        lang: str,
        *,
        local_id: str,
        channel: str = "walk_in",
        appointment_code: str | None = None,
    ) -> dict[str, Any] | None:
        """A ticket from the spool (stored before this returns), or None with no number left."""
        info = self.services.get(service)
        if info is None:
            return None
        now = self.now()
        spooled = self.spool.issue(
            service,
            local_day(now, self.timezone).isoformat(),
            now,
            lang,
            priority=priority,
            channel=channel,
            appointment_code=appointment_code,
            local_id=local_id,
        )
        self.report()
        if spooled is None:
            return None
        self.on_spooled()
        return {
            "number": spooled.number,
            "service": service,
            "service_names": dict(info.names),
            "status": "waiting",
            "priority": spooled.priority,
            "lang": spooled.lang,
            "channel": spooled.channel,
            "position": None,
            "estimated_wait_s": None,
            "issued_at": spooled.issued_at.isoformat(),
            "status_url": "",  # the phone page needs the hub: none offline
            "offline": True,
            "local_id": spooled.local_id,
        }


def printed_note(lang: str) -> str:
    return PRINTED_NOTE.get(lang, PRINTED_NOTE["en"])
