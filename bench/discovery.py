"""How long a kiosk or display waits to find the hub by mDNS, on loopback.

    .venv/bin/python bench/discovery.py [rounds]

Prints the hub's announcement time (probing included) and the client's find_hub() time, each
as p50 and max over the rounds. Loopback has no network delay: on a LAN add a few ms.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

from office360.discovery import HubAnnouncer, find_hub

LOOPBACK = ["127.0.0.1"]


def one_round() -> tuple[float, float]:
    office = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    announcer = HubAnnouncer(
        "http://127.0.0.1:8360", [office], addresses=LOOPBACK, interfaces=LOOPBACK
    )
    announcer.start()
    announced = time.perf_counter() - started
    try:
        started = time.perf_counter()
        find_hub(timeout=10, office=office, interfaces=LOOPBACK)
        found = time.perf_counter() - started
    finally:
        announcer.close()
    return announced, found


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results = [one_round() for _ in range(rounds)]
    for label, values in (
        ("announce (hub start)", [a for a, _ in results]),
        ("find_hub (device)", [f for _, f in results]),
    ):
        print(
            f"{label:22s} p50 {statistics.median(values) * 1000:7.0f} ms"
            f"   max {max(values) * 1000:7.0f} ms   ({rounds} rounds)"
        )


if __name__ == "__main__":
    main()
