"""The display's health report for the hub (POST /api/v1/devices/health). No Kivy here."""

from __future__ import annotations

import re
import socket
from typing import Any

from office360 import __version__

from .announcer import Announcer
from .board import BoardState


def health_report(board: BoardState, announcer: Announcer) -> dict[str, Any]:
    """POST /api/v1/devices/health body: how this display is doing, never who was called."""
    name = re.sub(r"[^A-Za-z0-9_.:-]", "-", socket.gethostname())[:60] or "unknown"
    return {
        "device": f"display-{name}",
        "version": __version__,
        "details": {
            "connection": board.connection,
            "last_event_id": board.last_event_id,
            "voice": announcer.synthesizer is not None,
            "announcements_pending": announcer.pending,
            "announcements_dropped": announcer.dropped,
            "audio_errors": list(announcer.errors)[-5:],
        },
    }
