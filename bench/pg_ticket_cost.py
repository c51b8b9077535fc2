"""CPU a ticket and a desk action cost on PostgreSQL, in the hub and in the server.

Issues N tickets through HubService on one thread, first on the generic path (run_write +
issue_ticket: a round trip a statement), then on hub/pg_tickets.py (pipeline mode) one at a time
and in groups of 16; then desk 1 calls next + start on each path (hub/pg_desks.py). Prints for
each the wall time, the hub's CPU (this process) and the server's CPU (the postmaster and its
backends) a request. CPU does not depend on what else loads the machine; wall time does.

    .venv/bin/python bench/pg_ticket_cost.py --database-url postgresql+psycopg://u@host:port/db \
        --server-pid POSTMASTER_PID [--tickets 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hub_load import _cpu_seconds
from hub.auth import Principal
from hub.db import make_engine, migrate
from hub.pg_tickets import TicketRequest
from hub.services import HubService
from office360.config import load_settings
from tests.hubtools import write_config


def measure(
    label: str, count: int, server_pid: int, issue: Callable[[int], object], per: int = 1
) -> None:
    """`count` calls of `issue`, each issuing `per` tickets."""
    issue(-1)  # warm: statements prepared, caches filled
    server_before = _cpu_seconds(server_pid) if server_pid else 0.0
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    for n in range(count):
        issue(n)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    server = (_cpu_seconds(server_pid) - server_before) if server_pid else 0.0
    count *= per
    print(
        f"{label}: {count} requests, {wall / count * 1000:.2f} ms wall, "
        f"hub CPU {cpu / count * 1000:.3f} ms, server CPU {server / count * 1000:.3f} ms a request"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="office360-pgcost-"))
    settings = load_settings(write_config(folder, 8360, database_url=args.database_url))
    migrate(args.database_url)
    service = HubService(make_engine(args.database_url), settings)
    service.prepare()
    assert service.pg_tickets is not None, "not a PostgreSQL URL"
    kiosk = Principal(0, "bench", "kiosk", "centro", None)
    pid = os.getpid()

    def fields(n: int) -> dict[str, object]:
        return {"service": "general", "channel": "walk_in", "priority": None, "lang": "es"} | {
            "office": None
        }

    def generic(n: int) -> object:
        return service.run_write(
            kiosk.scope,
            f"g-{pid}-{n}",
            "h",
            lambda conn, events: service.issue_ticket(
                conn, events, kiosk, None, "general", None, "es", "walk_in"
            ),
        )

    def pipelined(n: int) -> object:
        return service.pg_tickets.write_one(TicketRequest(kiosk, f"p-{pid}-{n}", "h", fields(n)))

    def grouped(n: int) -> object:
        group = [TicketRequest(kiosk, f"q-{pid}-{n}-{i}", "h", fields(n)) for i in range(16)]
        return service.pg_tickets.write_many(group)

    measure("generic path", args.tickets, args.server_pid, generic)
    measure("pipeline path", args.tickets, args.server_pid, pipelined)
    measure("pipeline path, groups of 16", args.tickets // 16, args.server_pid, grouped, 16)
    admin = Principal(0, "bench", "admin", None, None)

    def generic_desk(n: int) -> object:
        for action in ("next", "start"):
            service.run_write(
                admin.scope,
                None,
                "h",
                lambda conn, events, a=action: service.desk_action(
                    conn, events, admin, "centro", "1", a, {}
                ),
            )
        return None

    def pipelined_desk(n: int) -> object:
        for action in ("next", "start"):
            service.pg_desks.act(admin, None, "h", "centro", "1", action)
        return None

    pairs = min(args.tickets, 1000) // 4
    measure("desk next + start, generic path", pairs, args.server_pid, generic_desk, 2)
    measure("desk next + start, pipeline path", pairs, args.server_pid, pipelined_desk, 2)
    service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
