"""create_app(settings): the hub's ASGI application. Nothing is created at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from office360 import __version__, watchdog
from office360.config import Settings

from . import errors, privacy, reports_repo, repository
from .api import appointments as appointments_api
from .api import contacts, desks, events, offline, pairing, queue, tickets, webhooks
from .api import reports as reports_api
from .appointments_service import AppointmentService
from .db import make_engine, migrate
from .errors import error_response
from .fastpath import FastPath
from .outbox import Outbox
from .outbox_worker import OutboxWorker
from .services import Clock, HubService, utcnow
from .state import HubState
from .web import booking, dashboard, mount_static, staff_pages

log = logging.getLogger("office360.hub")
PURGE_EVERY_S = 3600


def create_app(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    run_migrations: bool = True,
    worker: int = 0,
    workers: int = 1,
    writer_socket: str | None = None,
) -> FastAPI:
    """`worker` of `workers` processes (hub/workers.py); worker 0 also runs the once-per-hub jobs.
    `writer_socket`: where the writer process listens (hub/writer_process.py), for HTTP workers."""
    url = settings.hub.sqlalchemy_url()
    sqlite = url.startswith("sqlite")
    shared_sqlite = sqlite and workers > 1

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_migrations:
            migrate(url)
        engine = make_engine(url, autocheckpoint=not sqlite)
        sqlite_path = url.removeprefix("sqlite:///")
        checkpointer = None
        if sqlite:  # the log copied back off the event loop
            from .wal import WalCheckpointer

            checkpointer = WalCheckpointer(sqlite_path)
            checkpointer.start()
        service = HubService(engine, settings, clock)
        if shared_sqlite:
            lock_path = sqlite_path + ".lock"
            service.write_lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        service.prepare()
        state = HubState(
            engine,
            service,
            executor=ThreadPoolExecutor(1 if sqlite else 8, thread_name_prefix="db"),
            inline=sqlite and settings.hub.sqlite_on_loop,
            tailed=not sqlite,
        )
        sqlite_tailer = None
        if shared_sqlite:  # several processes on one file: events travel through the file
            from .replication import SqliteEventTailer

            sqlite_tailer = SqliteEventTailer(sqlite_path, state.broker)
            state.publish = sqlite_tailer.published
        if writer_socket is not None:
            from .writer_process import WriterClient

            state.remote = WriterClient(writer_socket)
        app.state.hub = state
        app.state.appointments = AppointmentService(service)
        app.state.appointments.prepare()
        app.state.outbox = Outbox(service, settings)  # notifications (hub/outbox_worker.py)
        notifier = OutboxWorker(
            state,
            app.state.outbox,
            settings,
            app.state.appointments,
            sender=not shared_sqlite or worker == 0,  # SQLite: claims are released at start
        )
        await notifier.start()
        # Long-lived objects out of the collector's way: full collections stalled event fan-out.
        gc.collect()
        gc.freeze()
        # KPI reports (issue 9): their own engine; office-days that are over kept in the background
        app.state.report_engine = reports_repo.read_engine(url)
        warm_stop = threading.Event()
        if worker == 0:  # the others read what it stores in kpi_days
            asyncio.get_running_loop().run_in_executor(
                None, reports_repo.warm_quietly, app.state.report_engine, settings, warm_stop
            )
        tailer = None
        if state.tailed:
            from .replication import EventTailer

            tailer = EventTailer(url, state.broker, asyncio.get_running_loop())
            await asyncio.get_running_loop().run_in_executor(None, tailer.start)
            state.committed = tailer.committed
        primary = worker == 0
        purger = asyncio.create_task(_purge_forever(state, settings)) if primary else None
        keepalive = asyncio.create_task(watchdog.asyncio_keepalive())
        announcer = await _announce(settings) if settings.hub.announce and primary else None
        watchdog.ready(f"serving {', '.join(o.id for o in settings.offices)}")
        log.info("hub ready on %s (%s)", settings.hub.base_url(), url.split("://")[0])
        try:
            yield
        finally:
            watchdog.stopping()
            warm_stop.set()
            keepalive.cancel()
            if purger is not None:
                purger.cancel()
            await notifier.stop()
            if announcer is not None:
                await asyncio.get_running_loop().run_in_executor(None, announcer.close)
            if tailer is not None:
                await asyncio.get_running_loop().run_in_executor(None, tailer.stop)
            if sqlite_tailer is not None:
                sqlite_tailer.close()
            if state.remote is not None:
                await state.remote.close()
            state.broker.close_all()
            state.executor.shutdown(wait=True)
            service.close()
            if service.write_lock is not None:
                os.close(service.write_lock)
            engine.dispose()
            if checkpointer is not None:
                checkpointer.stop()

    app = HubApp(
        docs_url=None,  # its page loads scripts from a CDN; the office LAN may have no Internet
        redoc_url=None,
        title="office360 hub",
        version=__version__,
        description="Queue server of one office (or a region). Errors are "
        '`{"error": code, "message": text}`.',
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (offline, tickets, desks, queue, events, pairing, webhooks, contacts):
        app.include_router(module.router)
    app.include_router(appointments_api.router)
    app.include_router(reports_api.router)  # results: KPIs, planner, feedback (issue 9)
    app.include_router(dashboard.router)  # /admin/dashboard (issue 9)
    app.include_router(booking.router)
    mount_static(app)
    staff_pages.install(app)  # hub/web: sign-in, desk panel, phone pages, admin

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodyLimit, max_bytes=settings.hub.max_body_bytes)
    if settings.hub.cors_origins:  # outermost, so that BodyLimit's 413 carries it too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.hub.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    app.fast_path = FastPath(app.whole_stack, settings.hub.max_body_bytes)
    return app


class HubApp(FastAPI):
    """FastAPI with hub/fastpath.py in front of its whole stack: plain ticket and desk requests
    skip its routing and also its error and telemetry middleware (6-8 % of a request's CPU)."""

    fast_path: FastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None and scope["type"] == "http":
            scope["app"] = self
            await self.fast_path(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def whole_stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


class BodyLimit:
    """Refuse bodies over the limit with 413 before the application reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        if declared is not None or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        # A body without Content-Length (chunked) is read here, up to the limit, then replayed.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "body_too_large", f"request bodies are limited to {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


async def _announce(settings: Settings) -> Any:
    """Announce the hub over mDNS/DNS-SD so devices with no hub URL find it (off the loop: ~1.6 s)."""
    from office360.discovery import announcer_for

    try:
        announcer = announcer_for(settings)
        await asyncio.get_running_loop().run_in_executor(None, announcer.start)
    except Exception:  # no multicast on this network: the hub still serves; devices need hub_url
        log.exception("mDNS announcement failed; devices must be given [device] hub_url")
        return None
    log.info("announced on the LAN as %s", announcer.info.name)
    return announcer


async def _purge_forever(state: HubState, settings: Settings) -> None:
    while True:
        try:
            await state.run(_purge_once, state, settings)
        except Exception:  # the purge must never take the hub down
            log.exception("purge failed")
        await asyncio.sleep(PURGE_EVERY_S)


def _purge_once(state: HubState, settings: Settings) -> None:
    now = state.service.clock()
    with state.service.transaction() as conn:
        repository.purge_events(conn, now - timedelta(days=settings.hub.event_retention_days))
        repository.purge_idempotent(
            conn, now - timedelta(hours=settings.hub.idempotency_retention_hours)
        )
        privacy.purge_daily(conn, state, now, settings.privacy.personal_data_days)
