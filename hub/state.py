"""What one hub process holds while it runs: the use cases, the broker, the database thread."""

from __future__ import annotations

import asyncio
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

    inline: bool = False
    tailed: bool = False
    """PostgreSQL: events reach the broker through the EventTailer (in id order across replicas)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Database work: on the loop itself when it is an SQLite file (sub-millisecond, and one
        writer at a time anyway), else in the thread pool so a slow server never blocks the loop."""
        if self.inline:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def write(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        outcome = await self.run(fn, *args)
        if not self.tailed:
            # Published only now: the transaction has committed.
            self.broker.publish(outcome.events)
        return outcome

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
