"""What one hub process holds while it runs: the use cases, the broker, the database thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine

from .auth import Principal, TokenCache, hash_token
from .events import Broker
from .repository import token_by_hash
from .services import HubService, Outcome

T = TypeVar("T")


@dataclass
class HubState:
    engine: Engine
    service: HubService
    broker: Broker = field(default_factory=Broker)
    tokens: TokenCache = field(default_factory=TokenCache)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="db")
    )

    writer: ThreadPoolExecutor | None = None
    """The thread of writes on a server database (not SQLite), made at its first use: they commit
    one at a time (the advisory lock, HubService.transaction); on several threads the lock's holder
    also waited for the GIL between its round trips while the others waited for the lock."""
    inline: bool = False
    tailed: bool = False
    """PostgreSQL: events reach the broker through the EventTailer (in id order across replicas)."""
    publish: Callable[[list[dict[str, Any]]], None] | None = None
    """Where committed events go (default: the broker; SQLite workers: the SqliteEventTailer)."""
    committed: Callable[[list[dict[str, Any]]], None] | None = None
    """PostgreSQL: told of this process's committed events (EventTailer.committed)."""
    remote: Any = None
    """`[hub] writer_process`: the WriterClient (hub/writer_process.py) that the plain ticket and
    desk requests of hub/fastpath.py go to instead of this process's database connection."""
    _grouped: list[tuple[Any, asyncio.Future[Outcome]]] = field(default_factory=list, repr=False)
    _grouping: bool = field(default=False, repr=False)
    """A group is being written, or queued on the writer thread."""
    _grouped_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _batch: list[tuple[Callable[..., Outcome], tuple[Any, ...], asyncio.Future[Outcome]]] = field(
        default_factory=list, repr=False
    )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Database work: on the loop itself when it is an SQLite file (sub-millisecond, and one
        writer at a time anyway), else in the thread pool so a slow server never blocks the loop."""
        if self.inline:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def write(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        if self.engine.dialect.name == "postgresql":  # on the writer, between ticket groups
            outcome = await asyncio.get_running_loop().run_in_executor(self._writer(), fn, *args)
        else:
            outcome = await self.run(fn, *args)
        if outcome.events:  # published only now: the transaction has committed
            if not self.tailed:
                (self.publish or self.broker.publish)(outcome.events)
            elif self.committed is not None:
                self.committed(outcome.events)
        return outcome

    async def write_grouped(
        self, many: Callable[[list[Any]], list[Outcome | Exception]], item: Any
    ) -> Outcome:
        """Group commit on a server database: `many` writes the items that arrived while the
        previous group was being written, in one transaction (hub/pg_tickets.py), on the writer
        thread, which goes from one group to the next without waiting for the event loop (other
        writes queued meanwhile go in between); the first item of a quiet moment goes alone."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        with self._grouped_lock:
            self._grouped.append((item, done))
            start = not self._grouping
            self._grouping = True
        if start:
            self._writer().submit(self._write_group, loop, many)
        return await done

    def _writer(self) -> ThreadPoolExecutor:
        """The thread of writes on a server database (HubService.writer())."""
        if self.writer is None:
            self.writer = self.service.writer()
        return self.writer

    def _write_group(
        self,
        loop: asyncio.AbstractEventLoop,
        many: Callable[[list[Any]], list[Outcome | Exception]],
    ) -> None:
        """On the writer thread: one group, then the next one queued behind the other writes."""
        with self._grouped_lock:
            group, self._grouped = self._grouped, []
            if not group:
                self._grouping = False
                return
        try:
            results = many([item for item, _ in group])
        except Exception as exc:
            results = [exc] * len(group)
        if self.committed is not None:
            self.committed([e for r in results if isinstance(r, Outcome) for e in r.events])
        dones = [done for _, done in group]
        try:
            loop.call_soon_threadsafe(self._settle, dones, results)
            self._writer().submit(self._write_group, loop, many)
        except RuntimeError:  # the hub is stopping (its loop or writer closed)
            with self._grouped_lock:
                self._grouping = False

    async def write_batched(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        """write(), with group commit on SQLite: writes that arrive in the same turn of the event
        loop share one transaction, each in its own savepoint (one that fails leaves the others
        alone), and one commit. For use cases that do all their database work through
        HubService.transaction(). (On PostgreSQL the plain tickets are grouped by write_grouped()
        and hub/pg_tickets.py, which pipeline the statements: see docs/benchmarks.md.)"""
        if not self.inline:
            return await self.write(fn, *args)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        self._batch.append((fn, args, done))
        if len(self._batch) == 1:
            loop.call_soon(self._flush)
        return await done

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        try:
            results = self.service.run_batch([(fn, args) for fn, args, _ in batch])
        except Exception as exc:  # the commit itself failed: nothing of the batch is stored
            results = [exc] * len(batch)
        self._settle([done for _, _, done in batch], results)

    def _settle(
        self, dones: list[asyncio.Future[Outcome]], results: list[Outcome | Exception]
    ) -> None:
        """Publish a committed group's events, in id order, then answer each of its writers."""
        events = [e for r in results if isinstance(r, Outcome) for e in r.events]
        if events and not self.tailed:
            (self.publish or self.broker.publish)(events)
        for done, result in zip(dones, results, strict=True):
            if done.cancelled():
                continue
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)

    async def principal(self, token: str) -> Principal | None:
        token_hash = hash_token(token)
        hit, principal = self.tokens.get(token_hash)
        if hit:
            return principal
        principal = await self.run(self._load_principal, token_hash)
        self.tokens.put(token_hash, principal)
        return principal

    def _load_principal(self, token_hash: str) -> Principal | None:
        with self.service.transaction(write=False) as conn:
            row = token_by_hash(conn, token_hash)
        if row is None or row.revoked_at is not None:
            return None
        return Principal(row.id, row.name, row.role, row.office_id, row.desk_id)
