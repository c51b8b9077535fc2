"""CPU of the hub's SQLite write path, without HTTP: groups of 16 tickets and a desk action.

Runs HubService.run_batch (the group commit of hub/state.py) on a fresh SQLite file: each group
is 16 tickets over three services and desk 1's next or start, as bench/hub_load.py sends them.
Prints the CPU time of this process per request. To compare two versions of the code on a VM
whose speed moves with its neighbours, alternate them:

    for i in 1 2 3; do
      .venv/bin/python bench/sqlite_write_cost.py --tree ../old; .venv/bin/python bench/sqlite_write_cost.py
    done
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--size", type=int, default=16, help="tickets a group")
    parser.add_argument(
        "--generic", action="store_true", help="tickets one by one (HubService.issue_ticket)"
    )
    parser.add_argument(
        "--desk-every", type=int, default=1, help="a desk action in one group of N (1: in each)"
    )
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    from hub.auth import Principal
    from hub.db import make_engine, migrate
    from hub.services import HubService
    from hub.wal import WalCheckpointer
    from office360.config import load_settings
    from tests.hubtools import write_config

    settings = load_settings(write_config(Path(tempfile.mkdtemp()), 8360))
    url = settings.hub.sqlalchemy_url()
    migrate(url)
    checkpointer = WalCheckpointer(url.removeprefix("sqlite:///"))  # as the hub runs it
    checkpointer.start()
    svc = HubService(make_engine(url, autocheckpoint=False), settings)
    svc.prepare()
    kiosk = Principal(7, "kiosk", "kiosk", "centro", None)
    admin = Principal(11, "admin", "admin", None, None)
    services = ["general", "taxes", "certificates"]

    def ticket(n: int) -> tuple[Any, tuple[Any, ...]]:
        grouped = getattr(svc, "sqlite_tickets", None)
        if grouped is not None and not args.generic:  # as hub/fastpath.py sends them
            from hub.ticket_requests import TicketRequest

            fields = {"service": services[n % 3], "channel": "walk_in", "priority": None}
            request = TicketRequest(kiosk, f"key{n}", "h", fields | {"lang": "es", "office": None})
            return grouped.issue, (request,)

        def work(conn: Any, events: Any) -> Any:
            return svc.issue_ticket(
                conn, events, kiosk, None, services[n % 3], None, "es", "walk_in"
            )

        return svc.run_write, ("kiosk", f"key{n}", "h", work)

    def desk(action: str) -> tuple[Any, tuple[Any, ...]]:
        def work(conn: Any, events: Any) -> Any:
            return svc.desk_action(conn, events, admin, None, "1", action, {})

        return svc.run_write, ("admin", None, "h", work)

    n = 0
    for _ in range(20):  # warm-up: statements prepared, a queue to call from
        svc.run_batch([ticket(n + i) for i in range(16)])
        n += 16
    started, requests = time.process_time(), 0
    for group in range(args.groups):
        items = [ticket(n + i) for i in range(args.size)]
        if group % args.desk_every == 0:
            items += [desk("next" if group // args.desk_every % 2 == 0 else "start")]
        n += args.size
        svc.run_batch(items)
        requests += len(items)
    cpu = time.process_time() - started
    checkpointer.stop()
    print(
        f"{args.tree}: {cpu / requests * 1e6:.0f} µs of CPU a request "
        f"({requests} requests, groups of {args.size} tickets, a desk action in one of "
        f"{args.desk_every})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
