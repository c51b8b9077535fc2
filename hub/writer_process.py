"""One process owning the SQLite writes of the hot requests (`[hub] writer_process = true`).

On one core, a hub process both speaks HTTP and writes to SQLite; at 1,000 tickets a second that
is nearly all of the core, and a few per cent taken by the machine builds a queue. Here the
supervisor (hub/workers.py) forks one more child, the writer, which runs the application's state
but no HTTP: the HTTP workers send it the plain ticket and desk requests that hub/fastpath.py
answers (already checked and authenticated) over a Unix socket, and it writes them in the same
groups a single hub writes (HubState.write_batched), then sends back the finished answer. Every
other write (the FastAPI routes: admin, appointments, transfers, ...) is made by the HTTP worker
itself under the file's write lock, as with `[hub] workers` > 1; events reach each worker's
subscribers through the file (hub/replication.py SqliteEventTailer).

The socket lives in a folder only the hub's user can open (mkdtemp, 0700): whoever can connect
can issue tickets as any caller.

Frames, each preceded by its length (4 bytes, big-endian):
- request: JSON `[id, kind, principal's fields, idempotency_key, request_hash, payload]`, kind "ticket"
  (payload: fastpath issue_fields) or "desk" (payload: `[office, desk, action, body]`);
- answer: id (4 bytes), HTTP status (2 bytes), length of the headers (4 bytes), the headers as
  JSON `[[name, value], ...]` (none: a JSON body), then the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import struct
import tempfile
from typing import Any

import orjson
from starlette.requests import Request

from office360.core.errors import DomainError

from .auth import Principal
from .errors import WriterUnavailable, domain_response, error_response, handler_for
from .pg_desks import DeskRequest
from .services import Outcome
from .state import HubState
from .ticket_requests import TicketRequest

log = logging.getLogger("office360.hub.writer")
SOCKET_NAME = "writer.sock"
_LENGTH = struct.Struct(">I")
_ANSWER = struct.Struct(">IHI")
CONNECT_FOR_S = 10.0
"""How long an HTTP worker waits for the writer to (re)start before answering 503."""
STOP_WRITES_S = 5.0
"""How long a stopping writer waits for the writes it has in hand."""


def socket_folder() -> str:
    return tempfile.mkdtemp(prefix="office360-writer-")


def remove_socket_folder(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


Answer = tuple[int, list[tuple[bytes, bytes]] | None, bytes]
"""HTTP status, headers (None: JSON), body."""


def outcome_answer(outcome: Outcome) -> Answer:
    if outcome.status == 204:
        return 204, [], b""
    return outcome.status, None, orjson.dumps(outcome.body)


# --- the HTTP worker's side ---------------------------------------------------------------------


class WriterClient:
    """One connection to the writer per HTTP worker, shared by all its requests."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Future[asyncio.StreamWriter] | None = None
        self._closed = False
        self._pending: dict[int, asyncio.Future[Answer]] = {}
        self._out: list[bytes] = []
        self._next_id = 0

    async def ticket(self, request: TicketRequest) -> Answer:
        return await self._call(
            "ticket", request.principal, request.idem_key, request.request_hash, request.fields
        )

    async def desk(self, request: DeskRequest) -> Answer:
        payload = [request.office_id, request.desk_id, request.action, request.body]
        return await self._call(
            "desk", request.principal, request.idem_key, request.request_hash, payload
        )

    async def _call(
        self, kind: str, principal: Principal, key: str | None, digest: str, payload: Any
    ) -> Answer:
        writer = self._writer if self._writer is not None else await self._connected()
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        rid = self._next_id
        who = (principal.token_id, principal.name, principal.role)
        who += (principal.office_id, principal.desk_id)
        frame = orjson.dumps([rid, kind, who, key, digest, payload])
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Answer] = loop.create_future()
        self._pending[rid] = done
        self._out.append(_LENGTH.pack(len(frame)) + frame)
        if len(self._out) == 1:  # one send a turn of the loop for the requests that came in it
            loop.call_soon(self._send, writer)
        try:
            return await done
        finally:
            self._pending.pop(rid, None)

    def _send(self, writer: asyncio.StreamWriter) -> None:
        out, self._out = self._out, []
        if writer is self._writer:
            writer.writelines(out)
        # else the connection was lost: its callers have been answered 503

    async def _connected(self) -> asyncio.StreamWriter:
        """Every caller waits for the same attempt, so none waits more than CONNECT_FOR_S."""
        if self._closed:
            raise WriterUnavailable("this hub process is stopping")
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._connect())
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> asyncio.StreamWriter:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_FOR_S
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
                break
            except OSError as exc:
                if loop.time() >= deadline or self._closed:
                    raise WriterUnavailable(f"the writer process is not answering: {exc}") from exc
                await asyncio.sleep(0.05)
        self._writer = writer
        self._reader_task = asyncio.create_task(self._read(reader))
        return writer

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                size = _LENGTH.unpack(await reader.readexactly(4))[0]
                frame = await reader.readexactly(size)
                rid, status, headers_size = _ANSWER.unpack_from(frame)
                start = _ANSWER.size
                headers = None
                if headers_size:
                    pairs = orjson.loads(frame[start : start + headers_size])
                    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
                body = frame[start + headers_size :]
                done = self._pending.get(rid)
                if done is not None and not done.done():
                    done.set_result((status, headers, body))
        except (asyncio.IncompleteReadError, OSError) as exc:
            log.warning("lost the writer process (%s); reconnecting at the next write", exc)
        finally:
            if self._writer is not None:
                self._writer.close()
            self._writer = None
            for done in self._pending.values():
                if not done.done():
                    done.set_exception(WriterUnavailable("the writer process went away"))
            self._pending.clear()

    async def close(self) -> None:
        self._closed = True
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# --- the writer's side --------------------------------------------------------------------------


async def write_ticket(state: HubState, request: TicketRequest) -> Outcome:
    """What a single hub does with a plain ticket request (hub/fastpath.py)."""
    svc = state.service
    if svc.pg_tickets is not None:
        return await state.write_grouped(svc.pg_tickets.write_many, request)
    return await state.write_batched(svc.sqlite_tickets.issue, request)


async def write_desk(state: HubState, r: DeskRequest) -> Outcome:
    """A desk action on SQLite, as a single hub writes it (PostgreSQL: see hub/fastpath.py)."""
    svc = state.service
    return await state.write_batched(
        svc.run_write,
        r.principal.scope,
        r.idem_key,
        r.request_hash,
        lambda conn, events: svc.desk_action(
            conn, events, r.principal, r.office_id, r.desk_id, r.action, r.body
        ),
    )


class WriterServer:
    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = path
        self._out: dict[asyncio.StreamWriter, list[bytes]] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    async def serve(self) -> None:
        """Until SIGTERM or SIGINT; the application's lifespan (state, WAL thread, watchdog) runs
        around it as it does around an HTTP server."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        async with self.app.router.lifespan_context(self.app):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            server = await asyncio.start_unix_server(self._connection, path=self.path)
            os.chmod(self.path, 0o600)
            log.info("hub writer process listening on %s", self.path)
            async with server:
                await stop.wait()
                # The supervisor stops the HTTP workers first; what they sent is still answered.
                server.close()
                if self._tasks:
                    await asyncio.wait(set(self._tasks), timeout=STOP_WRITES_S)
                for writer in list(self._out):
                    self._send(writer)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._out[writer] = []
        try:
            while True:
                size = _LENGTH.unpack(await reader.readexactly(4))[0]
                frame = await reader.readexactly(size)
                task = asyncio.ensure_future(self._answer(writer, frame))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the worker or this process stops
        finally:
            self._out.pop(writer, None)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, frame: bytes) -> None:
        rid = 0
        try:
            rid, kind, who, key, digest, payload = orjson.loads(frame)
            answer = await self._write(kind, Principal(*who), key, digest, payload)
        except Exception as exc:
            answer = await self._error(exc)
        status, headers, body = answer
        encoded = b""
        if headers is not None:
            encoded = orjson.dumps([[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers])
        head = _ANSWER.pack(rid, status, len(encoded))
        out = self._out.get(writer)
        if out is None:
            return  # the worker went away; it answers its callers 503
        out.append(_LENGTH.pack(len(head) + len(encoded) + len(body)) + head + encoded + body)
        if len(out) == 1:  # one send a turn of the loop for all the answers of a group
            asyncio.get_running_loop().call_soon(self._send, writer)

    def _send(self, writer: asyncio.StreamWriter) -> None:
        out = self._out.get(writer)
        if out:
            self._out[writer] = []
            writer.writelines(out)

    async def _write(
        self, kind: str, caller: Principal, key: str | None, digest: str, payload: Any
    ) -> Answer:
        state: HubState = self.app.state.hub
        if kind == "ticket":
            outcome = await write_ticket(state, TicketRequest(caller, key, digest, payload))
        elif kind == "desk":
            outcome = await write_desk(state, DeskRequest(caller, key, digest, *payload))
        else:
            raise ValueError(f"unknown request kind {kind!r}")
        return outcome_answer(outcome)

    async def _error(self, exc: Exception) -> Answer:
        """The answer the application's exception handlers give (hub/errors.py)."""
        if isinstance(exc, DomainError):
            response = domain_response(exc)
        else:
            handler = handler_for(self.app, exc)
            if handler is None:
                log.error("write failed in the writer process", exc_info=exc)
                response = error_response(500, "internal_error", "the write failed")
            else:
                scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
                response = await handler(Request(scope), exc)
        return response.status_code, list(response.raw_headers), bytes(response.body)
