"""The background sender: claims due outbox rows, sends each in a thread, marks the result.

Delivery is at least once: a row is marked sent only after the receiver answered, so a hub that
dies between the two sends that message again after restart (a row left 'sending' is due again
once its claim expires; on SQLite, where one hub process owns the file, at once on start-up).
Receivers drop repeats by the `X-Office360-Delivery` id, which stays the same on every attempt.
Sending never blocks the queue: the network waits happen in this worker's own threads, with
timeouts, and the database work per message is two short transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import Row

from office360.config import Settings

from . import appointments_repo as arepo
from . import notify_email, notify_sms
from . import outbox as ob
from .state import HubState
from .webhooks import load_api_subscriptions, post, signed_headers

if TYPE_CHECKING:
    from .appointments_service import AppointmentService

log = logging.getLogger("office360.outbox")
REFRESH_SUBSCRIPTIONS_S = 15.0
PURGE_EVERY_S = 3600.0
IDLE_POLL_S = 30.0
RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Result:
    status: str  # sent | retry | failed | cancelled
    error: str | None = None
    http_status: int | None = None


def http_result(code: int) -> Result:
    """2xx: delivered. 408/425/429 and 5xx: try again later. Anything else (a 4xx, or a redirect,
    which is not followed): the receiver refuses the message, and retrying would not change that."""
    if 200 <= code < 300:
        return Result("sent", http_status=code)
    if code in RETRY_STATUSES or code >= 500:
        return Result("retry", f"HTTP {code}", code)
    return Result("failed", f"HTTP {code}", code)


def backoff(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential, with jitter so receivers coming back are not hit by every sender at once."""
    ceiling = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


Job = Callable[[], Result]


class OutboxWorker:
    def __init__(
        self,
        state: HubState,
        outbox: ob.Outbox,
        settings: Settings,
        appointments: AppointmentService | None = None,
        *,
        sender: bool = True,
    ) -> None:
        """`sender`: this process claims and sends (one hub worker of several on SQLite; every
        replica on PostgreSQL); the others only enqueue in their write transactions."""
        self.state = state
        self.sender = sender
        self.outbox = outbox
        self.settings = settings
        self.config = settings.notifications
        self.appointments = appointments
        self.single_process = settings.hub.sqlalchemy_url().startswith("sqlite")
        self.pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="outbox")
        self.inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._email_env: Any = None

    # --- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the subscriptions and install the hook before the hub serves its first request."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            if not self._wake.is_set():
                loop.call_soon_threadsafe(self._wake.set)

        await self.state.run(self._load, self.single_process and self.sender)
        if not self.sender:
            self._task = asyncio.create_task(self._refresh_forever(), name="outbox-subscriptions")
            return
        self.outbox.wake = wake
        self._task = asyncio.create_task(self.run(), name="outbox")

    async def stop(self) -> None:
        self.outbox.wake = lambda: None
        for task in (self._task, *self.inflight):
            if task is not None:
                task.cancel()
        for task in (self._task, *self.inflight):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        # A send still running in a thread ends at its timeout; its row stays claimed and is
        # sent again after restart (receivers dedupe by delivery id).
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _load(self, release: bool) -> None:
        with self.state.service.transaction() as conn:
            if release:
                released = ob.release_claims(conn)
                if released:
                    log.info(
                        "%d message(s) interrupted by the last stop will be sent again", released
                    )
            subs = load_api_subscriptions(conn)
        self.outbox.set_api_subscriptions(subs)

    def _refresh(self) -> None:
        with self.state.service.transaction(write=False) as conn:
            subs = load_api_subscriptions(conn)
        if subs != self.outbox.api_subscriptions:
            self.outbox.set_api_subscriptions(subs)

    def _purge(self) -> None:
        now = self.state.service.clock()
        with self.state.service.transaction() as conn:
            ob.purge(conn, now - timedelta(days=self.config.retention_days))
            ob.purge_contacts(conn, now - timedelta(hours=self.config.contact_max_hours))

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SUBSCRIPTIONS_S)
            with contextlib.suppress(Exception):
                await self.state.run(self._refresh)

    # --- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        refreshed = purged = time.monotonic()
        with contextlib.suppress(Exception):
            await self.state.run(self._purge)
        while True:
            try:
                if time.monotonic() - refreshed > REFRESH_SUBSCRIPTIONS_S:
                    refreshed = time.monotonic()
                    await self.state.run(self._refresh)  # added by another replica
                if time.monotonic() - purged > PURGE_EVERY_S:
                    purged = time.monotonic()
                    await self.state.run(self._purge)
                # Cleared before claiming: a row enqueued or a send finished from now on wakes us.
                self._wake.clear()
                free = self.config.concurrency - len(self.inflight)
                claimed = await self.state.run(self._claim, free) if free > 0 else []
                for row in claimed:
                    task = asyncio.create_task(self._deliver(row))
                    self.inflight.add(task)
                    task.add_done_callback(self.inflight.discard)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unavailable; never die
                log.exception("outbox worker")
            poll = self.config.poll_s if self.outbox.active() or self.inflight else IDLE_POLL_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)

    def _claim(self, limit: int) -> list[Row[Any]]:
        svc = self.state.service
        now = svc.clock()
        with svc.transaction() as conn:
            return ob.claim(conn, now, timedelta(seconds=self.config.claim_s), limit)

    async def _deliver(self, row: Row[Any]) -> None:
        try:
            job = await self.state.run(self._prepare, row)
            if isinstance(job, Result):
                result = job
            else:
                result = await asyncio.get_running_loop().run_in_executor(self.pool, job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            result = Result("retry", f"{type(exc).__name__}: {exc}")
        try:
            await self.state.run(self._record, row, result)
        finally:
            self._wake.set()

    def _record(self, row: Row[Any], result: Result) -> None:
        svc = self.state.service
        now = svc.clock()
        status, retry_at = result.status, None
        if status == "retry":
            if row.attempts >= self.config.max_attempts:
                status = ob.FAILED
            else:
                status = ob.PENDING
                delay = backoff(row.attempts, self.config.retry_base_s, self.config.retry_max_s)
                retry_at = now + timedelta(seconds=delay)
        with svc.transaction() as conn:
            ob.finish(
                conn,
                row,
                status,
                now,
                error=result.error,
                http_status=result.http_status,
                retry_at=retry_at,
            )
        where = ob.mask_destination(row.kind, row.destination)
        if status == ob.SENT:
            log.info("%s %s sent to %s", row.kind, row.dedupe_key, where)
        elif status == ob.PENDING:
            log.warning(
                "%s %s to %s failed (%s); attempt %d, next in %.0f s",
                row.kind,
                row.dedupe_key,
                where,
                result.error,
                row.attempts,
                (retry_at - now).total_seconds() if retry_at else 0,
            )
        else:
            log.warning("%s %s to %s %s: %s", row.kind, row.dedupe_key, where, status, result.error)

    # --- what to send (inside a transaction: reads only) ----------------------------------------

    def _prepare(self, row: Row[Any]) -> Job | Result:
        if row.kind == ob.WEBHOOK:
            return self._webhook_job(row)
        if row.kind == ob.SMS:
            return self._sms_job(row)
        if row.kind == ob.EMAIL:
            return self._email_job(row)
        return Result("failed", f"unknown kind {row.kind!r}")

    def _webhook_job(self, row: Row[Any]) -> Job | Result:
        sub = self.outbox.subscription(row.target or "")
        if sub is None:
            return Result("cancelled", "the subscription was deleted")
        body = row.payload.encode()
        timeout = 10.0

        def job() -> Result:
            headers = signed_headers(sub.secret, row.dedupe_key, body, row.event_type or "")
            try:
                return http_result(post(sub.url, body, headers, timeout))
            except requests.RequestException as exc:
                return Result("retry", _network_error(exc))

        return job

    def _sms_job(self, row: Row[Any]) -> Job | Result:
        config = self.outbox.sms
        if config is None:
            return Result("cancelled", "SMS is not configured")
        text = json.loads(row.payload)["text"]

        def job() -> Result:
            try:
                return http_result(notify_sms.send(config, row.destination, text))
            except requests.RequestException as exc:
                return Result("retry", _network_error(exc))

        return job

    def _email_job(self, row: Row[Any]) -> Job | Result:
        config = self.outbox.email
        if config is None or self.appointments is None:
            return Result("cancelled", "e-mail is not configured")
        content = self.email_content(row)
        if isinstance(content, Result):
            return content
        if self._email_env is None:
            self._email_env = notify_email.environment(config.templates_dir)
        env = self._email_env
        sender = config.sender or "office360 <noreply@office360.invalid>"

        def job() -> Result:
            try:
                message = notify_email.compose(env, content, sender)
            except Exception as exc:  # a broken override template: no retry will fix it
                return Result("failed", f"template: {exc}")
            try:
                notify_email.send(config, message)
            except notify_email.PermanentFailure as exc:
                return Result("failed", str(exc))
            except Exception as exc:  # a dead server, a timeout, a 4xx answer: try again later
                return Result("retry", f"{type(exc).__name__}: {exc}")
            return Result("sent")

        return job

    def email_content(self, row: Row[Any]) -> notify_email.EmailContent | Result:
        """The e-mail as of now, or why it is no longer worth sending."""
        from .appointments_service import calendar_file

        assert self.appointments is not None
        payload = json.loads(row.payload)
        kind = payload["template"]
        svc = self.state.service
        with svc.transaction(write=False) as conn:
            appointment = arepo.get_appointment(conn, payload["appointment_id"])
        if appointment is None:
            return Result("cancelled", "the appointment no longer exists")
        current = appointment.sequence == payload["sequence"]
        if kind in ("confirmation", "reminder", "rescheduled") and (
            appointment.status != "booked" or not current
        ):
            return Result("cancelled", "superseded: the appointment changed")
        if kind == "cancelled" and appointment.status != "cancelled":
            return Result("cancelled", "superseded: the appointment is not cancelled")
        office = svc.offices.get(appointment.office_id)
        if office is None:
            return Result("failed", f"unknown office {appointment.office_id}")
        names = next((s.names for s in office.services if s.id == appointment.service_id), {})
        context = notify_email.appointment_context(
            office,
            names,
            appointment.lang,
            appointment.name,
            appointment.slot_at,
            appointment.slot_minutes,
            self.appointments.video_url(appointment),
        )
        with_code = kind != "cancelled"
        with_ics = kind in ("confirmation", "rescheduled", "cancelled")
        return notify_email.EmailContent(
            kind=kind,
            lang=appointment.lang,
            to=row.destination,
            context=context,
            qr_text=self.appointments.code_for(appointment) if with_code else None,
            ics=calendar_file(self.appointments, appointment, None) if with_ics else None,
            ics_name="cita.ics" if appointment.lang == "es" else "appointment.ics",
            headers={"X-Office360-Delivery": row.dedupe_key},
        )


def _network_error(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__
