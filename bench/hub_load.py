"""Load on a hub: N keep-alive clients issuing tickets while desks call next, then M SSE
subscribers timing each call from the desk's request to the event's arrival.

    python bench/hub_load.py --start                  # starts its own hub on a free port
    python bench/hub_load.py URL --token TOKEN        # an already running hub (admin token)

Prints throughput and p50/p99 latencies. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Conn:
    """A minimal keep-alive HTTP/1.1 client, so the load generator costs less than the hub."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> Conn:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def post(self, path: str, body: bytes = b"", key: bool = True) -> tuple[int, bytes]:
        headers = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        if key:
            headers += f"Idempotency-Key: {uuid.uuid4().hex}\r\n"
        self.writer.write(headers.encode() + b"\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    def close(self) -> None:
        self.writer.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def next_turn(due: float, interval: float) -> tuple[float, float]:
    """On a schedule (interval > 0), waits for the next due time. Returns the due time and the
    time the request's latency counts from: the due time on a schedule, else now."""
    if not interval:
        return due, time.perf_counter()
    due += interval
    delay = due - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    return due, due


async def load_phase(
    host: str,
    port: int,
    token: str,
    clients: int,
    desks: int,
    seconds: float,
    rate: float = 0,
    desk_rate: float = 0,
    warmup: float = 0,
) -> None:
    """Closed loop (rate 0): each client sends its next request when the last is answered, so
    latency is mostly queueing (clients / throughput). Open loop (rate > 0): the clients together
    send `rate` tickets a second on a fixed schedule, each latency counted from the request's
    scheduled time (a late hub is not excused by the clients waiting for it). Desks call next
    (then start) as fast as they are answered (desk_rate 0), or each `desk_rate` times a second
    on a schedule of its own. The first `warmup` seconds run the same load but are left out of
    the latencies (the hub's first requests after its start run cold code), printed apart."""
    issue_lat: list[float] = []
    call_lat: list[float] = []
    issue_at: list[float] = []
    call_at: list[float] = []
    errors: dict[int, int] = {}
    stop = time.perf_counter() + warmup + seconds
    services = [b'{"service":"general"}', b'{"service":"taxes"}', b'{"service":"certificates"}']

    async def issuer(i: int) -> None:
        conn = await Conn(host, port, token).open()
        n = 0
        interval = clients / rate if rate else 0.0
        due = time.perf_counter() + interval * i / clients
        while time.perf_counter() < stop:
            due, t0 = await next_turn(due, interval)
            status, _ = await conn.post("/api/v1/tickets", services[(i + n) % 3])
            issue_lat.append(time.perf_counter() - t0)
            issue_at.append(t0)
            if status != 201:
                errors[status] = errors.get(status, 0) + 1
            n += 1
        conn.close()

    async def desk(d: int) -> None:
        conn = await Conn(host, port, token).open()
        interval = 1 / desk_rate if desk_rate else 0.0
        due = time.perf_counter() + interval * d / max(desks, 1)
        while time.perf_counter() < stop:
            due, t0 = await next_turn(due, interval)
            status, _ = await conn.post(f"/api/v1/desks/b{d}/next")
            call_lat.append(time.perf_counter() - t0)
            call_at.append(t0)
            if status == 200:
                await conn.post(f"/api/v1/desks/b{d}/start")
            elif status == 204:
                await asyncio.sleep(0.01)
            else:
                errors[status] = errors.get(status, 0) + 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(issuer(i) for i in range(clients)), *(desk(d) for d in range(desks)))
    elapsed = time.perf_counter() - t0 - warmup
    measured = t0 + warmup
    issued = [lat for lat, at in zip(issue_lat, issue_at, strict=True) if at >= measured]
    called = [lat for lat, at in zip(call_lat, call_at, strict=True) if at >= measured]
    pace = f" at {rate:.0f} tickets/s (open loop)" if rate else ""
    desk_pace = f" calling {desk_rate:g} times/s each" if desk_rate else ""
    after = f" after {warmup:g} s of warm-up" if warmup else ""
    print(
        f"load: {clients} issuing clients{pace} + {desks} desks{desk_pace} for {elapsed:.1f} s{after}"
    )
    print(
        f"  tickets issued: {len(issued)} ({len(issued) / elapsed:.0f}/s)  "
        f"p50 {pct(issued, 0.5) * 1000:.1f} ms  p99 {pct(issued, 0.99) * 1000:.1f} ms"
    )
    print(
        f"  desk next: {len(called)} ({len(called) / elapsed:.0f}/s)  "
        f"p50 {pct(called, 0.5) * 1000:.1f} ms  p99 {pct(called, 0.99) * 1000:.1f} ms"
    )
    if warmup:
        warm = [lat for lat, at in zip(issue_lat, issue_at, strict=True) if at < measured]
        print(
            f"  warm-up left out: {len(warm)} tickets, p99 {pct(warm, 0.99) * 1000:.1f} ms; "
            f"p99 of all {pct(issue_lat, 0.99) * 1000:.1f} ms"
        )
    print(f"  non-2xx answers: {errors or 'none'}")
    LAST["requests"] = len(issue_lat) + 2 * len(call_lat)


class SseCounter(asyncio.Protocol):
    """One SSE subscriber reduced to what the benchmark needs: when each `ticket.called` frame
    arrives, keyed by the ticket's number. No HTTP library and no JSON: it shares the cores."""

    def __init__(self, arrivals: dict[str, list[float]], ready: list[int]) -> None:
        self.arrivals = arrivals
        self.ready = ready
        self.buffer = b""
        self.started = False

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.started:
            if b"\r\n\r\n" not in self.buffer:
                return
            self.started = True
            self.ready[0] += 1
            self.buffer = self.buffer.split(b"\r\n\r\n", 1)[1]
        *frames, self.buffer = self.buffer.split(b"\n\n")
        self.ready[1] += len(frames)
        for frame in frames:
            at = frame.find(b"event: ticket.called")
            if at < 0:
                continue
            start = frame.find(b'"number":"', at) + 10
            number = frame[start : frame.find(b'"', start)].decode()
            self.arrivals.setdefault(number, []).append(now)


async def run_subscribers(
    targets: list[tuple[str, int]], token: str, count: int, ready_pipe: Any, done_pipe: Any
) -> None:
    """Open `count` subscribers spread over the targets, report readiness, collect until told."""
    loop = asyncio.get_running_loop()
    arrivals: dict[str, list[float]] = {}
    ready = [0, 0]  # subscribers that got the response head, frames received in all
    transports = []
    for i in range(count):
        host, port = targets[i % len(targets)]
        transport, _ = await loop.create_connection(lambda: SseCounter(arrivals, ready), host, port)
        transport.write(
            f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        transports.append(transport)
    while ready[0] < count:
        await asyncio.sleep(0.05)
    ready_pipe.send(True)
    while not done_pipe.poll():
        await asyncio.sleep(0.05)
    done_pipe.recv()
    ready_pipe.send((arrivals, ready[1]))
    for transport in transports:
        transport.close()


def _subscriber_process(
    targets: list[tuple[str, int]], token: str, count: int, ready_pipe: Any, done_pipe: Any
) -> None:
    asyncio.run(run_subscribers(targets, token, count, ready_pipe, done_pipe))


async def fanout_phase(
    targets: list[tuple[str, int]], token: str, subscribers: int, calls: int
) -> dict[str, float]:
    """Subscribers in a process of their own (spread over `targets`); calls made on the first
    target; each call timed from the desk's request to the event at every subscriber."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    ready_recv, ready_send = ctx.Pipe(duplex=False)
    done_recv, done_send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_subscriber_process, args=(targets, token, subscribers, ready_send, done_recv)
    )
    child.start()
    while not ready_recv.poll(0.05):
        await asyncio.sleep(0)
        if not child.is_alive():
            raise RuntimeError("the subscribers' process died")
    ready_recv.recv()
    host, port = targets[0]
    conn = await Conn(host, port, token).open()
    for _ in range(calls):
        await conn.post("/api/v1/tickets", b'{"service":"general"}')
    sent: dict[str, float] = {}
    await conn.post("/api/v1/desks/fan/start")
    for _ in range(calls):
        t0 = time.perf_counter()
        status, body = await conn.post("/api/v1/desks/fan/next")
        if status == 200:
            sent[json.loads(body)["number"]] = t0
            await conn.post("/api/v1/desks/fan/start")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    done_send.send(True)
    arrivals, frames = ready_recv.recv()
    child.join(10)
    conn.close()
    latencies = [
        arrival - sent[number]
        for number, times in arrivals.items()
        if number in sent
        for arrival in times
    ]
    delivered = sum(len(v) for k, v in arrivals.items() if k in sent)
    figures = {
        "delivered": delivered,
        "expected": len(sent) * subscribers,
        "p50": pct(latencies, 0.5) * 1000,
        "p99": pct(latencies, 0.99) * 1000,
        "max": max(latencies, default=float("nan")) * 1000,
        "frames": frames,
    }
    print(f"fan-out: {subscribers} SSE subscribers over {len(targets)} hub(s), {len(sent)} calls")
    print(
        f"  call-to-event: delivered {delivered}/{figures['expected']}  "
        f"p50 {figures['p50']:.1f} ms  p99 {figures['p99']:.1f} ms  max {figures['max']:.1f} ms"
    )
    return figures


LAST = {"requests": 0}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children (the hub's workers): the hub's
    cost, whatever else loads the machine."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def start_hub(
    desks: int, database_url: str = "", workers: int = 1
) -> tuple[subprocess.Popen[bytes], str, str]:
    from tests.hubtools import free_port, make_token, wait_healthy

    folder = Path(tempfile.mkdtemp(prefix="office360-bench-"))
    port = free_port()
    desk_tables = "".join(
        f'\n  [[offices.desks]]\n  id = "b{d}"\n  services = ["general", "taxes", "certificates"]\n'
        for d in range(desks)
    )
    config = folder / "office360.toml"
    config.write_text(
        f"""
[hub]
port = {port}
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
[[offices.services]]
id = "taxes"
prefix = "C"
names = {{ es = "Tributos" }}
[[offices.services]]
id = "certificates"
prefix = "B"
names = {{ es = "Certificados" }}
[[offices.desks]]
id = "fan"
services = ["general"]
{desk_tables}
"""
    )
    token = make_token(config, "admin")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "office360",
            "hub",
            "--config",
            str(config),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc=proc)
    return proc, url, token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--token", default=os.environ.get("OFFICE360_TOKEN", ""))
    parser.add_argument("--start", action="store_true", help="start a hub of its own")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--desks", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--warmup", type=float, default=1, help="seconds of load run first, left out of the figures"
    )
    parser.add_argument(
        "--rate", type=float, default=0, help="tickets/s in all, on a schedule (0: closed loop)"
    )
    parser.add_argument(
        "--desk-rate", type=float, default=0, help="next calls/s a desk, scheduled (0: flat out)"
    )
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument(
        "--database-url", default="", help="with --start: e.g. postgresql+psycopg://u@host/db"
    )
    parser.add_argument("--workers", type=int, default=1, help="with --start: [hub] workers")
    parser.add_argument(
        "--server-pid", type=int, default=0, help="PostgreSQL's postmaster: report its CPU too"
    )
    args = parser.parse_args()
    probe = min(_speed_probe() for _ in range(3))
    steal_before = _cpu_ticks()
    proc = None
    if args.start:
        proc, url, token = start_hub(args.desks, args.database_url, args.workers)
    elif args.url and args.token:
        url, token = args.url, args.token
    else:
        parser.error("give URL and --token, or --start")
    host, port = url.split("://")[1].split(":")
    try:
        cpu_before = _cpu_seconds(proc.pid) if proc else None
        server_before = _cpu_seconds(args.server_pid) if args.server_pid else 0.0
        client_before = time.process_time()
        asyncio.run(
            load_phase(
                host,
                int(port),
                token,
                args.clients,
                args.desks,
                args.seconds,
                args.rate,
                args.desk_rate,
                args.warmup,
            )
        )
        client = time.process_time() - client_before
        print(
            f"  load generator CPU: {client:.2f} s in all "
            f"({client / max(1, LAST['requests']) * 1000:.2f} ms a request)"
        )
        if args.server_pid:
            server = _cpu_seconds(args.server_pid) - server_before
            print(
                f"  database server CPU: {server:.2f} s in all "
                f"({server / max(1, LAST['requests']) * 1000:.2f} ms a request)"
            )
        if proc and cpu_before is not None:
            cpu = _cpu_seconds(proc.pid) - cpu_before
            print(
                f"  hub process CPU: {cpu:.2f} s in all ({cpu / max(1, LAST['requests']) * 1000:.2f} ms a request)"
            )
        if args.subscribers:
            cpu_before = _cpu_seconds(proc.pid) if proc else None
            figures = asyncio.run(
                fanout_phase([(host, int(port))], token, args.subscribers, args.calls)
            )
            if proc and cpu_before is not None:
                cpu = _cpu_seconds(proc.pid) - cpu_before
                frames = max(1, figures["frames"])
                print(
                    f"  hub process CPU: {cpu:.2f} s in all, subscribing included "
                    f"({cpu / frames * 1e6:.0f} µs per frame received by a subscriber)"
                )
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
    steal = _steal_share(steal_before)
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
        f"{steal:.0%} of CPU time taken by the hypervisor, speed probe {probe:.0f} ms"
    )
    return 0


def _cpu_ticks() -> tuple[int, int]:
    """(steal, all) ticks of /proc/stat: how much the VM's host took from this machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return fields[7], sum(fields)


def _steal_share(before: tuple[int, int]) -> float:
    steal, total = _cpu_ticks()
    return (steal - before[0]) / max(1, total - before[1])


def _speed_probe() -> float:
    """Milliseconds of CPU for a fixed piece of Python work (lower is faster): a
    VM's speed moves with its neighbours, so figures from two runs compare only next to it."""
    started = time.process_time()
    sum(range(5_000_000))
    return (time.process_time() - started) * 1000


if __name__ == "__main__":
    raise SystemExit(main())
