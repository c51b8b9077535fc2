"""Estimated wait per service from recent service times and the open desks serving it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean


def mean_service_time(recent_seconds: Sequence[float], default_s: float) -> float:
    """Rolling mean of the most recent service times; the default before any exist."""
    usable = [s for s in recent_seconds if s > 0]
    return fmean(usable) if usable else default_s


def estimated_wait(ahead: int, open_desks: int, mean_service_s: float) -> int | None:
    """Seconds until a ticket with `ahead` people before it is called; None with no open desk."""
    if ahead <= 0:
        return 0
    if open_desks <= 0:
        return None
    return int(math.ceil(ahead / open_desks) * mean_service_s)
