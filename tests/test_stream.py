"""The SSE parser as a table, and EventStream against a real event server on 127.0.0.1 (and a
real hub, for the opening block of a history that started over)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from office360.stream import (
    CONNECTED,
    RECONNECTING,
    STOPPED,
    EventStream,
    SseEvent,
    SseParser,
    rewound,
)
from tests.hubtools import ThreadHub

# --- the parser -------------------------------------------------------------------------------

PARSER_CASES = [
    (
        "one event",
        b"id: 1\nevent: ticket.called\ndata: {}\n\n",
        [SseEvent("ticket.called", "{}", "1")],
    ),
    ("no event name", b"data: x\n\n", [SseEvent("message", "x", None)]),
    ("multi-line data", b"data: a\ndata: b\n\n", [SseEvent("message", "a\nb", None)]),
    ("CRLF lines", b"id: 5\r\nevent: e\r\ndata: d\r\n\r\n", [SseEvent("e", "d", "5")]),
    ("CR lines", b"id: 5\revent: e\rdata: d\r\r", [SseEvent("e", "d", "5")]),
    ("comment is skipped", b": ping\n\n", []),
    ("no space after colon", b"data:x\n\n", [SseEvent("message", "x", None)]),
    ("only the first space goes", b"data:  x\n\n", [SseEvent("message", " x", None)]),
    (
        "id carries over",
        b"id: 9\ndata: a\n\ndata: b\n\n",
        [SseEvent("message", "a", "9"), SseEvent("message", "b", "9")],
    ),
    ("unknown field ignored", b"foo: bar\ndata: x\n\n", [SseEvent("message", "x", None)]),
    ("unfinished event waits", b"id: 1\ndata: x\n", []),
    ("accents survive", "data: Número\n\n".encode(), [SseEvent("message", "Número", None)]),
]


@pytest.mark.parametrize(
    ("name", "stream", "expected"), PARSER_CASES, ids=[c[0] for c in PARSER_CASES]
)
def test_parser_table(name: str, stream: bytes, expected: list[SseEvent]) -> None:
    assert SseParser().feed(stream) == expected


@pytest.mark.parametrize(
    ("name", "stream", "expected"), PARSER_CASES, ids=[c[0] for c in PARSER_CASES]
)
def test_parser_gives_the_same_events_byte_by_byte(
    name: str, stream: bytes, expected: list[SseEvent]
) -> None:
    parser = SseParser()
    events = [e for i in range(len(stream)) for e in parser.feed(stream[i : i + 1])]
    assert events == expected


def test_parser_counts_comments_and_reads_retry() -> None:
    parser = SseParser()
    parser.feed(b": ping\n\n: ping\nretry: 1500\nid: 3\n\n")
    assert (parser.comments, parser.retry_ms, parser.last_id) == (2, 1500, "3")


# --- a small event server -----------------------------------------------------------------------


class EventServer:
    """Publishes numbered events; a client resumes with Last-Event-ID. Can drop every client."""

    def __init__(self, *, chunked: bool = True, require_token: str = "") -> None:
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.chunked = chunked
        self.require_token = require_token
        self.resume_headers: list[str | None] = []
        self.cond = threading.Condition()
        self.generation = 0
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    def publish(self, kind: str, payload: dict[str, Any]) -> int:
        with self.cond:
            event_id = len(self.events) + 1
            self.events.append((event_id, kind, {"id": event_id, "type": kind, **payload}))
            self.cond.notify_all()
        return event_id

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if owner.chunked else "HTTP/1.0"

            def do_GET(self) -> None:
                if (
                    owner.require_token
                    and self.headers.get("Authorization") != f"Bearer {owner.require_token}"
                ):
                    body = b'{"error": "unauthorized", "message": "bad token"}'
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                last = self.headers.get("Last-Event-ID")
                owner.resume_headers.append(last)
                sent = int(last or 0)
                generation = owner.generation
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                if owner.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._write(b": hello\n\n")
                while True:
                    with owner.cond:
                        owner.cond.wait_for(
                            lambda n=sent: len(owner.events) > n or owner.generation != generation,
                            1.0,
                        )
                        if owner.generation != generation:
                            self.close_connection = True
                            return
                        pending = owner.events[sent:]
                    for event_id, kind, data in pending:
                        self._write(
                            f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data)}\n\n".encode()
                        )
                        sent = event_id

            def _write(self, data: bytes) -> None:
                if owner.chunked:
                    data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
                self.wfile.write(data)
                self.wfile.flush()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.server.allow_reuse_address = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        """Like a hub going down: every open stream ends and the port refuses connections."""
        with self.cond:
            self.generation += 1
            self.cond.notify_all()
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/events?office=centro"


@pytest.fixture
def server() -> Iterator[EventServer]:
    srv = EventServer()
    srv.start()
    yield srv
    if srv.server is not None:
        srv.server.shutdown()
        srv.server.server_close()
    with srv.cond:
        srv.generation += 1
        srv.cond.notify_all()


class Recorder:
    def __init__(self) -> None:
        self.events: list[SseEvent] = []
        self.states: list[str] = []
        self.lock = threading.Lock()

    def on_event(self, event: SseEvent) -> None:
        with self.lock:
            self.events.append(event)

    def on_state(self, state: str) -> None:
        self.states.append(state)

    def ids(self) -> list[int]:
        with self.lock:
            return [int(e.id or 0) for e in self.events]


def wait_until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout_s} s")


def follow(url: str, rec: Recorder, **kwargs: Any) -> EventStream:
    kwargs.setdefault("backoff_s", 0.05)
    kwargs.setdefault("backoff_max_s", 0.2)
    return EventStream(url, rec.on_event, on_state=rec.on_state, **kwargs).start()


def called(number: str) -> dict[str, Any]:
    return {"office": "centro", "ticket": {"number": number, "desk": "3"}}


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "close-delimited"])
def test_live_events_arrive_quickly(chunked: bool) -> None:
    srv = EventServer(chunked=chunked)
    srv.start()
    rec = Recorder()
    stream = follow(srv.url, rec)
    try:
        wait_until(lambda: stream.state == CONNECTED)
        started = time.monotonic()
        srv.publish("ticket.called", called("A001"))
        wait_until(lambda: rec.ids() == [1])
        assert time.monotonic() - started < 0.5
        assert rec.events[0].event == "ticket.called"
        assert rec.events[0].json()["ticket"]["number"] == "A001"
    finally:
        stream.stop()
        srv.stop()


def test_resumes_after_the_hub_restarts_and_misses_nothing(server: EventServer) -> None:
    server.publish("ticket.called", called("A001"))
    rec = Recorder()
    stream = follow(server.url, rec, last_event_id="0")
    try:
        wait_until(lambda: rec.ids() == [1])
        server.stop()
        wait_until(lambda: stream.state == RECONNECTING)
        for n in range(2, 6):  # published while the display cannot reach the hub
            server.publish("ticket.called", called(f"A00{n}"))
        time.sleep(0.3)  # a few refused reconnections
        server.start()  # same port
        wait_until(lambda: len(rec.ids()) == 5)
        assert rec.ids() == [1, 2, 3, 4, 5]
        assert server.resume_headers[-1] == "1"
        assert stream.state == CONNECTED
        assert rec.states[:3] == ["connecting", CONNECTED, RECONNECTING]
        assert rec.states[-1] == CONNECTED
        assert stream.connects >= 2
    finally:
        stream.stop()


def test_a_dropped_connection_resumes_from_the_last_id(server: EventServer) -> None:
    rec = Recorder()
    stream = follow(server.url, rec)
    try:
        wait_until(lambda: stream.state == CONNECTED)
        assert server.resume_headers == [None]
        server.publish("ticket.called", called("A001"))
        server.publish("ticket.called", called("A002"))
        wait_until(lambda: len(rec.ids()) == 2)
        stream.drop_connection()
        wait_until(lambda: len(server.resume_headers) == 2)
        server.publish("ticket.called", called("A003"))
        wait_until(lambda: len(rec.ids()) == 3)
        assert rec.ids() == [1, 2, 3]
        assert server.resume_headers[1] == "2"
    finally:
        stream.stop()


def test_a_refused_token_keeps_retrying_and_says_why() -> None:
    srv = EventServer(require_token="right")
    srv.start()
    rec = Recorder()
    stream = follow(srv.url, rec, token="wrong")
    try:
        wait_until(lambda: stream.last_error is not None and stream.state == RECONNECTING)
        assert "401" in (stream.last_error or "")
        assert rec.events == []
    finally:
        stream.stop()
        srv.stop()


def test_a_failing_handler_does_not_stop_the_stream(server: EventServer) -> None:
    seen: list[str] = []

    def handler(event: SseEvent) -> None:
        seen.append(event.id or "")
        if event.id == "1":
            raise RuntimeError("bad handler")

    stream = EventStream(server.url, handler, backoff_s=0.05).start()
    try:
        server.publish("ticket.called", called("A001"))
        server.publish("ticket.called", called("A002"))
        wait_until(lambda: seen == ["1", "2"])
    finally:
        stream.stop()


def test_stop_is_prompt_while_blocked_reading(server: EventServer) -> None:
    rec = Recorder()
    stream = follow(server.url, rec, read_timeout_s=60)
    wait_until(lambda: stream.state == CONNECTED)
    time.sleep(0.1)
    started = time.monotonic()
    stream.stop()
    assert time.monotonic() - started < 1.0
    assert not stream.running and stream.state == STOPPED


def test_silence_longer_than_the_read_timeout_reconnects() -> None:
    # a peer that accepts and then says nothing, like a half-open link
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while len(accepted) < 2:
            conn, _ = listener.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    rec = Recorder()
    port = listener.getsockname()[1]
    stream = follow(f"http://127.0.0.1:{port}/", rec, read_timeout_s=0.3)
    try:
        wait_until(lambda: len(accepted) == 2)
        assert RECONNECTING in rec.states
        assert "Timeout" in (stream.last_error or "") or "timed out" in (stream.last_error or "")
    finally:
        stream.stop()
        for conn in accepted:
            conn.close()
        listener.close()


# --- the hub's opening block, and a history that started over ---------------------------------

OPENING_CASES = [
    ("id-only block first", [b"id: 3\nretry: 2000\n\n"], "3"),
    ("opening and an event in one chunk", [b"id: 3\n\nid: 4\ndata: x\n\n"], "3"),
    ("a comment before it", [b": hello\n\nid: 7\n\n"], "7"),
    ("byte by byte", [bytes([b]) for b in b"id: 12\r\n\r\n"], "12"),
    ("an event first: no opening", [b"id: 4\ndata: x\n\nid: 2\n\n"], None),
    ("no id at all", [b": ping\n\ndata: x\n\n"], None),
    ("the first id-only block wins", [b"id: 5\n\nid: 9\n\n"], "5"),
]


@pytest.mark.parametrize(
    ("name", "chunks", "expected"), OPENING_CASES, ids=[c[0] for c in OPENING_CASES]
)
def test_parser_reads_the_opening_id(name: str, chunks: list[bytes], expected: str | None) -> None:
    parser = SseParser()
    for chunk in chunks:
        parser.feed(chunk)
    assert parser.opening_id == expected


REWOUND_CASES = [
    (None, "5", False),  # nothing to resume from
    ("5", "5", False),  # the usual resume
    ("5", "9", False),
    ("120", "7", True),  # the hub's database was restored or reset
    ("120", "0", True),
    ("x", "7", True),  # the hub answers an id it never sent with its newest
    ("120", "x", False),  # not this hub's ids
]


@pytest.mark.parametrize(("sent", "opening", "expected"), REWOUND_CASES)
def test_rewound_table(sent: str | None, opening: str, expected: bool) -> None:
    assert rewound(sent, opening) is expected


def _ticket(hub: ThreadHub) -> dict[str, Any]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_a_hub_whose_ids_start_over_says_so_before_its_events(thread_hub: ThreadHub) -> None:
    """A real hub: resuming from an id above its newest (a restored or reset database) reports
    the rewind first, then hands over the events that follow, and resumes from the hub's ids."""
    _ticket(thread_hub)
    log: list[tuple[str, ...]] = []
    lock = threading.Lock()

    def on_event(event: SseEvent) -> None:
        with lock:
            log.append(("event", event.event, event.id or ""))

    def on_rewind(sent: str, opening: str) -> None:
        with lock:
            log.append(("rewind", sent, opening))

    stream = EventStream(
        f"{thread_hub.url}/api/v1/events",
        on_event,
        token=thread_hub.token("display"),
        last_event_id="100000",
        on_rewind=on_rewind,
        backoff_s=0.05,
    ).start()
    try:
        wait_until(lambda: stream.state == CONNECTED and stream.last_event_id != "100000")
        newest = int(stream.last_event_id or 0)
        assert log == [("rewind", "100000", str(newest))]
        issued = _ticket(thread_hub)
        wait_until(lambda: any(e[1] == "ticket.issued" for e in log))
        first = next(e for e in log if e[0] == "event")
        assert int(first[2]) == newest + 1
        stream.drop_connection()  # an ordinary resume after that: no second rewind
        wait_until(lambda: stream.connects == 2)
        again = _ticket(thread_hub)
        wait_until(lambda: sum(e[1] == "ticket.issued" for e in log) == 2)
        assert [e for e in log if e[0] == "rewind"] == [("rewind", "100000", str(newest))]
        assert stream.rewinds == 1
        assert issued["number"] != again["number"]
    finally:
        stream.stop()


def test_a_failing_rewind_handler_does_not_stop_the_stream(thread_hub: ThreadHub) -> None:
    rec = Recorder()

    def on_rewind(_sent: str, _opening: str) -> None:
        raise RuntimeError("bad handler")

    stream = EventStream(
        f"{thread_hub.url}/api/v1/events",
        rec.on_event,
        token=thread_hub.token("display"),
        last_event_id="100000",
        on_rewind=on_rewind,
        backoff_s=0.05,
    ).start()
    try:
        wait_until(lambda: stream.rewinds == 1)
        _ticket(thread_hub)
        wait_until(lambda: any(e.event == "ticket.issued" for e in rec.events))
        assert stream.connects == 1
    finally:
        stream.stop()
