"""Webhook subscriptions, their signature, and one delivery over HTTP.

A receiver verifies a delivery by recomputing
``HMAC-SHA256(secret, f"{X-Office360-Timestamp}.{body}")`` and comparing it with the hex digest in
``X-Office360-Signature: sha256=...``; it should refuse timestamps more than a few minutes old
(replays) and drop a ``X-Office360-Delivery`` id it has already processed (delivery is at least once).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import Connection, delete, insert, select

from office360.config import WebhookSettings

from .tables import webhook_subscriptions as subs_table

USER_AGENT = "office360-webhooks/1"
DEFAULT_EVENTS = ("ticket.*", "appointment.*")


@dataclass(frozen=True)
class Subscription:
    key: str
    """"config:N" (N-th in the file) or "api:ID" (added through the admin API)."""
    url: str
    secret: str
    events: tuple[str, ...]
    description: str = ""
    created_at: datetime | None = None

    def wants(self, event_type: str) -> bool:
        return any(matches(pattern, event_type) for pattern in self.events)

    @property
    def source(self) -> str:
        return self.key.split(":", 1)[0]


def matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def from_config(hooks: list[WebhookSettings]) -> list[Subscription]:
    out = []
    for index, hook in enumerate(hooks):
        secret = os.environ.get(hook.secret_env, "") if hook.secret_env else hook.secret
        out.append(
            Subscription(f"config:{index}", hook.url, secret, tuple(hook.events), hook.description)
        )
    return out


# --- the admin API's subscriptions (SQL) -----------------------------------------------------


def load_api_subscriptions(conn: Connection) -> list[Subscription]:
    rows = conn.execute(select(subs_table).order_by(subs_table.c.id)).all()
    return [
        Subscription(f"api:{r.id}", r.url, r.secret, tuple(r.events), r.description, r.created_at)
        for r in rows
    ]


def add_subscription(
    conn: Connection, url: str, secret: str, events: list[str], description: str, now: datetime
) -> int:
    result = conn.execute(
        insert(subs_table).values(
            url=url, secret=secret, events=events, description=description, created_at=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def delete_subscription(conn: Connection, sub_id: int) -> bool:
    return conn.execute(delete(subs_table).where(subs_table.c.id == sub_id)).rowcount > 0


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# --- signing and sending -----------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (used by the tests' receiver)."""
    return hmac.compare_digest(signature(secret, timestamp, body).encode(), header.encode())


def signed_headers(secret: str, delivery_id: str, body: bytes, event_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Office360-Event": event_type,
        "X-Office360-Delivery": delivery_id,
        "X-Office360-Timestamp": timestamp,
        "X-Office360-Signature": signature(secret, timestamp, body),
    }


def post(url: str, body: bytes, headers: dict[str, Any], timeout_s: float) -> int:
    """POST once; the HTTP status (network errors raise requests.RequestException)."""
    response = requests.post(
        url,
        data=body,
        headers=headers,
        timeout=(min(timeout_s, 5.0), timeout_s),
        allow_redirects=False,
    )
    response.close()
    return response.status_code
