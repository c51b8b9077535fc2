"""create_app(settings): the hub's ASGI application. Nothing is created at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from office360 import __version__, watchdog
from office360.config import Settings

from . import errors, privacy, repository
from .api import appointments as appointments_api
from .api import contacts, desks, events, pairing, queue, tickets, webhooks
from .api import reports as reports_api
from .appointments_service import AppointmentService
from .db import make_engine, migrate
from .errors import error_response
from .outbox import Outbox
from .outbox_worker import OutboxWorker
from .services import Clock, HubService, utcnow
from .state import HubState
from .web import booking, dashboard, mount_static, staff_pages

log = logging.getLogger("office360.hub")
PURGE_EVERY_S = 3600


def create_app(
    settings: Settings, *, clock: Clock = utcnow, run_migrations: bool = True
) -> FastAPI:
    url = settings.hub.sqlalchemy_url()
    sqlite = url.startswith("sqlite")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_migrations:
            migrate(url)
        engine = make_engine(url)
        service = HubService(engine, settings, clock)
        service.prepare()
        state = HubState(
            engine,
            service,
            executor=ThreadPoolExecutor(1 if sqlite else 8, thread_name_prefix="db"),
            inline=sqlite and settings.hub.sqlite_on_loop,
            tailed=not sqlite,
        )
        app.state.hub = state
        app.state.appointments = AppointmentService(service)
        app.state.appointments.prepare()
        app.state.outbox = Outbox(service, settings)  # notifications (hub/outbox_worker.py)
        notifier = OutboxWorker(state, app.state.outbox, settings, app.state.appointments)
        await notifier.start()
        # Long-lived objects out of the collector's way: full collections stalled event fan-out.
        gc.collect()
        gc.freeze()
        tailer = None
        if state.tailed:
            from .replication import EventTailer

            tailer = EventTailer(url, state.broker, asyncio.get_running_loop())
            await asyncio.get_running_loop().run_in_executor(None, tailer.start)
        purger = asyncio.create_task(_purge_forever(state, settings))
        keepalive = asyncio.create_task(watchdog.asyncio_keepalive())
        announcer = await _announce(settings) if settings.hub.announce else None
        watchdog.ready(f"serving {', '.join(o.id for o in settings.offices)}")
        log.info("hub ready on %s (%s)", settings.hub.base_url(), url.split("://")[0])
        try:
            yield
        finally:
            watchdog.stopping()
            keepalive.cancel()
            purger.cancel()
            await notifier.stop()
            if announcer is not None:
                await asyncio.get_running_loop().run_in_executor(None, announcer.close)
            if tailer is not None:
                await asyncio.get_running_loop().run_in_executor(None, tailer.stop)
            state.broker.close_all()
            state.executor.shutdown(wait=True)
            service.close()
            engine.dispose()

    app = FastAPI(
        docs_url=None,  # its page loads scripts from a CDN; the office LAN may have no Internet
        redoc_url=None,
        title="office360 hub",
        version=__version__,
        description="Queue server of one office (or a region). Errors are "
        '`{"error": code, "message": text}`.',
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (tickets, desks, queue, events, pairing, webhooks, contacts):
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
    return app


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
