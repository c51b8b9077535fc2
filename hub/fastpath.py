"""A lean ASGI path for the two hottest requests: issuing a ticket and a desk's simple actions.

FastAPI's routing, dependency solving and validation cost about a third of the hub's CPU on these
requests. This middleware answers them itself only when the request is plain: a bearer token, a
JSON body of the documented shape (or, for desk actions, the documented query), nothing unusual.
Anything else (a browser session, a malformed or unexpected body, a transfer) goes on to the
FastAPI routes, which stay the reference: same use cases, same error bodies, same OpenAPI schema.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from office360.core.errors import DomainError

from .api.deps import request_hash
from .errors import domain_response, handler_for
from .pg_desks import ACTIONS as PG_DESK_ACTIONS
from .pg_desks import DeskRequest
from .pg_tickets import TicketRequest
from .state import HubState
from .writer_process import Answer, outcome_answer, write_desk, write_ticket

TICKETS_PATH = "/api/v1/tickets"
DESKS_PREFIX = "/api/v1/desks/"
DESK_ACTIONS = frozenset({"next", "recall", "start", "finish", "no-show", "pause", "resume"})
CHANNELS = frozenset({"walk_in", "appointment", "phone", "web"})
# field -> (shortest, longest) for the optional string fields of IssueTicket (api/models.py)
OPTIONAL_FIELDS = {"priority": 40, "lang": 8, "office": 40}
MAX_KEY = 200  # deps.IdempotencyKey
MAX_ID = 40  # desk, office and service ids
JSON_HEADERS = [(b"content-type", b"application/json")]


class Plain:
    """What the fast path needs from a request's headers, or None when it must not handle it."""

    __slots__ = ("json", "key", "token")

    def __init__(self, token: str, key: str | None, json: bool) -> None:
        self.token = token
        self.key = key
        self.json = json

    @classmethod
    def of(cls, headers: list[tuple[bytes, bytes]], max_body: int) -> Plain | None:
        """None also for a body that is chunked or declared over `max_body`: BodyLimit (hub/app.py),
        behind the fast path, answers those."""
        token: str | None = None
        key: str | None = None
        json = False
        for name, value in headers:
            if name == b"content-length":
                if not value.isdigit() or int(value) > max_body:
                    return None
                continue
            if name in (b"transfer-encoding", b"origin"):
                return None  # a chunked body (BodyLimit), a browser's request (CORS, sessions)
            if name == b"authorization":
                if token is not None:
                    return None
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not credentials:
                    return None
                token = credentials
            elif name == b"idempotency-key":
                if key is not None or len(value) > MAX_KEY:
                    return None
                key = value.decode("latin-1")
            elif name == b"content-type":
                json = value == b"application/json"
        if token is None:
            return None
        return cls(token, key, json)


def issue_fields(raw: bytes) -> dict[str, Any] | None:
    """The IssueTicket body when it is plainly valid, else None (FastAPI then answers)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or not body.keys() <= {"service", "channel", *OPTIONAL_FIELDS}:
        return None
    service = body.get("service")
    if not isinstance(service, str) or not 1 <= len(service) <= MAX_ID:
        return None
    channel = body.get("channel", "walk_in")
    if not isinstance(channel, str) or channel not in CHANNELS:
        return None
    for name, longest in OPTIONAL_FIELDS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > longest):
            return None
    return {
        "service": service,
        "channel": channel,
        "priority": body.get("priority"),
        "lang": body.get("lang"),
        "office": body.get("office"),
    }


def desk_query(query: str) -> dict[str, str] | None:
    """office and service from a desk action's query string, when plainly valid."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in ("office", "service") or name in found or not 1 <= len(value) <= MAX_ID:
            return None
        found[name] = value
    return found


class FastPath:
    """In front of the whole application (hub/app.py HubApp): `app` is the application's own
    stack, which gets every request the fast path does not answer."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path == TICKETS_PATH and not scope["query_string"]:
                if await self._issue(scope, receive, send):
                    return
            elif path.startswith(DESKS_PREFIX):
                desk, _, action = path[len(DESKS_PREFIX) :].partition("/")
                plain = action in DESK_ACTIONS and 1 <= len(desk) <= MAX_ID
                if plain and await self._desk(scope, receive, send, desk, action):
                    return
        await self.app(scope, receive, send)

    async def _issue(self, scope: Scope, receive: Receive, send: Send) -> bool:
        plain = Plain.of(scope["headers"], self.max_body)
        if plain is None or not plain.json:
            return False
        raw, receive = await _read_body(receive)
        fields = issue_fields(raw)
        if fields is None:
            await self.app(scope, receive, send)
            return True
        state: HubState = scope["app"].state.hub
        try:
            caller = await _caller(state, plain.token)
            digest = request_hash("POST", "/tickets", raw)
            request = TicketRequest(caller, plain.key, digest, fields)
            if state.remote is not None:
                answer = await state.remote.ticket(request)
            else:
                answer = outcome_answer(await write_ticket(state, request))
        except Exception as exc:
            await _error(scope, receive, send, exc)
            return True
        await _answer(send, answer)
        return True

    async def _desk(
        self, scope: Scope, receive: Receive, send: Send, desk: str, action: str
    ) -> bool:
        plain = Plain.of(scope["headers"], self.max_body)
        raw_query: bytes = scope["query_string"]
        if plain is None or not raw_query.isascii():
            return False
        query_string = raw_query.decode("ascii")
        query = desk_query(query_string)
        if query is None:
            return False
        raw, receive = await _read_body(receive)
        state: HubState = scope["app"].state.hub
        svc = state.service
        body = {"service": query["service"]} if "service" in query else {}
        office = query.get("office")
        try:
            caller = await _caller(state, plain.token)
            digest = request_hash("POST", f"/desks/{desk}/{action}?{query_string}", raw)
            desk_request = DeskRequest(caller, plain.key, digest, office, desk, action, body)
            if svc.pg_desks is not None and (
                action in PG_DESK_ACTIONS or (action == "next" and not body)
            ):
                outcome = await state.write_grouped(svc.pg_tickets.write_many, desk_request)
                answer = outcome_answer(outcome)
            elif state.remote is not None:
                answer = await state.remote.desk(desk_request)
            else:
                answer = outcome_answer(await write_desk(state, desk_request))
        except Exception as exc:
            await _error(scope, receive, send, exc)
            return True
        await _answer(send, answer)
        return True


async def _caller(state: HubState, token: str) -> Any:
    principal = await state.principal(token)
    if principal is None:
        raise DomainError("unauthorized", "the token is unknown or revoked")
    return principal


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (BodyLimit, outside, has bounded it), and a receive that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return raw, replay


async def _answer(send: Send, answer: Answer) -> None:
    status, headers, content = answer
    if headers is None:
        headers = [(b"content-length", str(len(content)).encode()), *JSON_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _error(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Answer as the application's exception handlers would (hub/errors.py)."""
    if isinstance(exc, DomainError):
        response = domain_response(exc)
        await response(scope, receive, send)
        return
    handler = handler_for(scope["app"], exc)
    if handler is None:
        raise exc
    response = await handler(Request(scope, receive), exc)
    await response(scope, receive, send)
