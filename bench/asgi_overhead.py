"""CPU that the hub's ASGI stack adds in front of the fast path (hub/fastpath.py).

Calls the application in-process, without a server or a socket, with `POST /api/v1/tickets` and an
unknown bearer token: the fast path answers 401 without touching the database, so what is measured
is the way in and out (middleware, scope handling, the error answer). Prints the CPU time a request,
the best of several rounds.

    .venv/bin/python bench/asgi_overhead.py [--requests 5000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BODY = b'{"service":"general"}'


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/tickets",
        "raw_path": b"/api/v1/tickets",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8360),
        "headers": [
            (b"host", b"hub"),
            (b"authorization", b"Bearer unknown"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
    }


async def measure(requests: int, rounds: int) -> tuple[float, list[int]]:
    from hub.app import create_app
    from office360.config import load_settings
    from tests.hubtools import free_port, write_config

    app = create_app(load_settings(write_config(Path(tempfile.mkdtemp()), free_port())))
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    best = float("inf")
    async with app.router.lifespan_context(app):
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(requests):
                await app(scope(), receive, send)
            best = min(best, (time.process_time() - started) / requests)
    return best, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    best, statuses = asyncio.run(measure(args.requests, args.rounds))
    assert set(statuses) == {401}, set(statuses)
    print(
        f"ASGI stack around the fast path: {best * 1e6:.1f} µs of CPU a request (401, best round)"
    )


if __name__ == "__main__":
    main()
