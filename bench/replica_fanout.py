"""Fan-out across hub replicas on one PostgreSQL database (issue 10): M SSE subscribers spread over
R hub processes, desk calls made on the first one, each timed from the desk's request to the
event's arrival at every subscriber (events reach the other replicas through LISTEN/NOTIFY).

    python bench/replica_fanout.py                         # a throw-away PostgreSQL of its own
    python bench/replica_fanout.py --database-url postgresql+psycopg://postgres@127.0.0.1:PORT/DB

Prints delivered/expected, p50, p99 and max, and the hubs' CPU time. Figures go to
docs/benchmarks.md ("Hub").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.hub_load import _cpu_seconds, fanout_phase  # noqa: E402


def start_postgres() -> tuple[str, str]:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test-postgres.sh"), "start"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = dict(
        line.removeprefix("export ").replace("'", "").split("=", 1)
        for line in out.splitlines()
        if line.startswith("export ")
    )
    if "OFFICE360_TEST_PG" not in env:
        raise SystemExit(f"could not start PostgreSQL: {out}")
    return env["OFFICE360_TEST_PG"], env["OFFICE360_TEST_PG_DIR"]


def new_database(server: str) -> str:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


def write_config(folder: Path, database_url: str, workers: int) -> Path:
    config = folder / "office360.toml"
    config.write_text(
        f"""
[hub]
data_dir = "{folder / "data"}"
database_url = "{database_url}"
workers = {workers}
[[offices]]
id = "bench"
name = "Bench"
[[offices.services]]
id = "general"
prefix = "A"
names = {{ es = "General" }}
[[offices.desks]]
id = "fan"
services = ["general"]
"""
    )
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="default: a throw-away server")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="[hub] workers of each replica")
    parser.add_argument("--subscribers", type=int, default=1500)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()

    from tests.hubtools import free_port, make_token, wait_healthy

    pg_dir = None
    url = args.database_url
    if not url:
        server, pg_dir = start_postgres()
        url = new_database(server)
    folder = Path(tempfile.mkdtemp(prefix="office360-replicas-"))
    config = write_config(folder, url, args.workers)
    token = make_token(config, "admin")
    hubs: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        for _ in range(args.replicas):
            port = free_port()
            command = [sys.executable, "-m", "office360", "hub", "--config", str(config)]
            proc = subprocess.Popen(
                [*command, "--port", str(port), "--log-level", "warning"],
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            hubs.append((proc, port))
        for proc, port in hubs:
            wait_healthy(f"http://127.0.0.1:{port}", timeout=60, proc=proc)
        targets = [("127.0.0.1", port) for _, port in hubs]
        cpu_before = sum(_cpu_seconds(p.pid) for p, _ in hubs)
        asyncio.run(fanout_phase(targets, token, args.subscribers, args.calls))
        cpu = sum(_cpu_seconds(p.pid) for p, _ in hubs) - cpu_before
        print(f"  hubs' CPU during the run: {cpu:.2f} s")
    finally:
        for proc, _ in hubs:
            proc.terminate()
        for proc, _ in hubs:
            proc.wait(15)
        if pg_dir:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "test-postgres.sh"), "stop", pg_dir], check=False
            )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
