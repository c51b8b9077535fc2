"""HubClient against a real HTTP server on 127.0.0.1 that plays scripted answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from office360.client import HubClient, HubError, HubUnreachable


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    raw: bytes | None = None
    delay_s: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ScriptedHub:
    url: str = ""
    answers: dict[str, deque[Answer]] = field(default_factory=lambda: defaultdict(deque))
    seen: list[Seen] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.answers[f"{method} {path}"].extend(answers)


@pytest.fixture
def hub() -> Iterator[ScriptedHub]:
    script = ScriptedHub()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            script.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            queue = script.answers[f"{self.command} {self.path.split('?')[0]}"]
            answer = (
                queue.popleft() if queue else Answer(404, {"error": "not_found", "message": "?"})
            )
            time.sleep(answer.delay_s)
            data = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
            if answer.status == 204:
                data = b""
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield script
    server.shutdown()
    server.server_close()


def client_for(hub: ScriptedHub, **kwargs: Any) -> HubClient:
    kwargs.setdefault("backoff_s", 0.01)
    return HubClient(hub.url, "secret-token", office="centro", **kwargs)


TICKET = {"id": 7, "number": "A017", "service": "general", "status": "waiting", "position": 3}


def test_get_sends_bearer_token_and_office(hub: ScriptedHub) -> None:
    services = [{"id": "general", "prefix": "A", "names": {"es": "General"}}]
    hub.on("GET", "/api/v1/services", Answer(body=services))
    with client_for(hub) as client:
        assert client.services() == services
    assert hub.seen[0].path == "/api/v1/services?office=centro"
    assert hub.seen[0].headers["Authorization"] == "Bearer secret-token"
    assert "Idempotency-Key" not in hub.seen[0].headers


def test_retried_write_repeats_one_idempotency_key(hub: ScriptedHub) -> None:
    hub.on("POST", "/api/v1/tickets", Answer(503, {}), Answer(502, {}), Answer(201, TICKET))
    with client_for(hub) as client:
        ticket = client.issue_ticket("general", lang="es")
    assert ticket == TICKET
    keys = {seen.headers["Idempotency-Key"] for seen in hub.seen}
    assert len(hub.seen) == 3 and len(keys) == 1 and len(next(iter(keys))) >= 16
    assert hub.seen[0].body == {
        "service": "general",
        "priority": None,
        "lang": "es",
        "channel": "walk_in",
    }


def test_a_slow_answer_is_retried_with_the_same_key(hub: ScriptedHub) -> None:
    hub.on("POST", "/api/v1/tickets", Answer(201, TICKET, delay_s=0.6), Answer(201, TICKET))
    with client_for(hub, timeout_s=0.2) as client:
        assert client.issue_ticket("general", priority="elderly")["number"] == "A017"
    assert len(hub.seen) == 2
    assert hub.seen[0].headers["Idempotency-Key"] == hub.seen[1].headers["Idempotency-Key"]


def test_two_writes_get_two_keys_and_a_given_key_is_used(hub: ScriptedHub) -> None:
    hub.on("POST", "/api/v1/tickets", Answer(201, TICKET), Answer(201, TICKET), Answer(201, TICKET))
    with client_for(hub) as client:
        client.issue_ticket("general")
        client.issue_ticket("general")
        client.issue_ticket("general", idempotency_key="kiosk-1-000042")
    keys = [seen.headers["Idempotency-Key"] for seen in hub.seen]
    assert keys[0] != keys[1] and keys[2] == "kiosk-1-000042"


@pytest.mark.parametrize(
    ("answer", "code", "status"),
    [
        (
            Answer(409, {"error": "ticket_not_waiting", "message": "A017 was called"}),
            "ticket_not_waiting",
            409,
        ),
        (Answer(401, {"error": "unauthorized", "message": "bad token"}), "unauthorized", 401),
        (Answer(422, {"detail": [{"loc": ["body", "service"]}]}), "invalid_request", 422),
        (Answer(500, raw=b"Internal Server Error"), "http_500", 500),
        (Answer(200, raw=b"<html>not json</html>"), "bad_response", 200),
    ],
)
def test_errors_carry_the_hubs_code(
    hub: ScriptedHub, answer: Answer, code: str, status: int
) -> None:
    hub.on("GET", "/api/v1/tickets/7", answer)
    with client_for(hub) as client, pytest.raises(HubError) as caught:
        client.ticket(7)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert not isinstance(caught.value, HubUnreachable)
    assert len(hub.seen) == 1  # a 4xx/500 is an answer, not retried


def test_coded_error_keeps_the_message(hub: ScriptedHub) -> None:
    hub.on(
        "POST",
        "/api/v1/desks/3/start",
        Answer(409, {"error": "no_current_ticket", "message": "call someone first"}),
    )
    with client_for(hub) as client, pytest.raises(HubError) as caught:
        client.desk_action("3", "start")
    assert caught.value.message == "call someone first"


def test_next_with_nobody_waiting_is_none(hub: ScriptedHub) -> None:
    hub.on("POST", "/api/v1/desks/3/next", Answer(204))
    hub.on("POST", "/api/v1/desks/3/next", Answer(200, {**TICKET, "status": "called"}))
    with client_for(hub) as client:
        assert client.desk_action("3", "next") is None
        assert client.desk_action("3", "next")["status"] == "called"


def test_status_token_and_queue_and_health(hub: ScriptedHub) -> None:
    hub.on("GET", "/api/v1/tickets/7", Answer(body=TICKET))
    hub.on("GET", "/api/v1/queue", Answer(body={"office": "centro", "services": [], "desks": []}))
    hub.on("POST", "/api/v1/devices/health", Answer(200, {"ok": True}))
    with client_for(hub) as client:
        client.ticket(7, status_token="abc")
        assert client.queue()["office"] == "centro"
        client.report_health({"device": "display-1", "connection": "connected"})
    assert hub.seen[0].path == "/api/v1/tickets/7?t=abc"
    assert hub.seen[1].path == "/api/v1/queue?office=centro"
    assert hub.seen[2].body == {"device": "display-1", "connection": "connected"}
    assert "Idempotency-Key" in hub.seen[2].headers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_is_hub_unreachable_after_retries() -> None:
    client = HubClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff_s=0.01)
    started = time.monotonic()
    with pytest.raises(HubUnreachable) as caught:
        client.queue()
    assert caught.value.code == "hub_unreachable"
    assert "3 attempt" in caught.value.message
    assert time.monotonic() - started < 2


def test_gateway_errors_exhaust_into_hub_unreachable(hub: ScriptedHub) -> None:
    hub.on("GET", "/healthz", *[Answer(503, {})] * 3)
    with client_for(hub, retries=2) as client, pytest.raises(HubUnreachable) as caught:
        client.healthz()
    assert "HTTP 503" in caught.value.message and len(hub.seen) == 3


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.desk_action("3", "explode"), "invalid_desk_action"),
        (lambda c: c.desk_action("", "next"), "invalid_desk"),
        (lambda c: c.issue_ticket("general", channel="fax"), "invalid_channel"),
        (lambda c: c.issue_ticket(""), "invalid_service"),
        (lambda c: c.ticket(0), "invalid_ticket_id"),
    ],
)
def test_bad_arguments_are_coded_before_any_request(hub: ScriptedHub, call: Any, code: str) -> None:
    with client_for(hub) as client, pytest.raises(HubError) as caught:
        call(client)
    assert caught.value.code == code and caught.value.status is None
    assert hub.seen == []


def test_bad_base_url_is_coded() -> None:
    with pytest.raises(HubError) as caught:
        HubClient("ftp://hub")
    assert caught.value.code == "invalid_hub_url"


def test_desk_ids_are_quoted_into_the_path(hub: ScriptedHub) -> None:
    hub.on("POST", "/api/v1/desks/a%2Fb/pause", Answer(200, {"id": "a/b"}))
    with client_for(hub) as client:
        assert client.desk_action("a/b", "pause") == {"id": "a/b"}
    assert client.events_url() == f"{hub.url}/api/v1/events?office=centro"
