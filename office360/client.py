"""HubClient: the kiosk's and the display's way to the hub over HTTP.

Timeouts on every request; network failures and 502/503/504 are retried with exponential
backoff; a write carries one Idempotency-Key that every retry repeats, so the hub answers a
retried write with its first answer instead of doing it twice.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

DESK_ACTIONS = frozenset(
    {"next", "recall", "start", "finish", "no-show", "transfer", "pause", "resume"}
)
CHANNELS = frozenset({"walk_in", "appointment", "phone", "web"})
RETRY_STATUSES = frozenset({502, 503, 504})


class HubError(Exception):
    """The hub said no (a coded JSON error), or its answer made no sense.

    `status` is the HTTP status, or None when the error was found before any request.
    """

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.status!r})"


class HubUnreachable(HubError):
    """No answer from the hub after every retry (connection refused, timeout, DNS, 5xx gateway)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__("hub_unreachable", message, status)


class HubClient:
    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        office: str = "",
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.25,
        backoff_max_s: float = 4.0,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise HubError(
                "invalid_hub_url", f"hub URL must start with http:// or https://: {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.office = office
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.session = session or requests.Session()

    @classmethod
    def from_settings(cls, device: Any, **kwargs: Any) -> HubClient:
        """Build from the `[device]` section (office360.config.DeviceSettings)."""
        return cls(
            device.hub_url,
            device.resolved_token(),
            office=device.office,
            timeout_s=device.timeout_s,
            **kwargs,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the API -------------------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        return self._request("GET", "/healthz")

    def services(self, office: str | None = None) -> list[dict[str, Any]]:
        return self._request("GET", "/api/v1/services", params=self._office(office))

    def issue_ticket(
        self,
        service: str,
        priority: str | None = None,
        lang: str | None = None,
        channel: str = "walk_in",
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        if not service:
            raise HubError("invalid_service", "name the service for the ticket")
        if channel not in CHANNELS:
            raise HubError("invalid_channel", f"channel must be one of {sorted(CHANNELS)}")
        body = {"service": service, "priority": priority, "lang": lang, "channel": channel}
        return self._request("POST", "/api/v1/tickets", json=body, idempotency_key=idempotency_key)

    def checkin(
        self, code: str, lang: str | None = None, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """POST /checkin with a scanned appointment code → {"outcome", "reason", "ticket", ...}
        (201 checked in now, 200 already checked in: the same ticket)."""
        if not code or len(code) > 1100:
            raise HubError("qr_malformed", "an appointment code is 1 to 1100 characters")
        body: dict[str, Any] = {"code": code, "lang": lang}
        if self.office:
            body["office"] = self.office
        return self._request("POST", "/api/v1/checkin", json=body, idempotency_key=idempotency_key)

    def ticket(self, ticket_id: int, status_token: str | None = None) -> dict[str, Any]:
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id < 1:
            raise HubError(
                "invalid_ticket_id", f"ticket id must be a positive integer: {ticket_id!r}"
            )
        params = {"t": status_token} if status_token else None
        return self._request("GET", f"/api/v1/tickets/{ticket_id}", params=params)

    def queue(self, office: str | None = None) -> dict[str, Any]:
        return self._request("GET", "/api/v1/queue", params=self._office(office))

    def desk_action(
        self,
        desk: str,
        action: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any] | None:
        """POST /desks/{desk}/{action}; None when `next` finds nobody waiting (204)."""
        if action not in DESK_ACTIONS:
            raise HubError(
                "invalid_desk_action", f"desk action must be one of {sorted(DESK_ACTIONS)}"
            )
        if not desk:
            raise HubError("invalid_desk", "name the desk")
        path = f"/api/v1/desks/{quote(str(desk), safe='')}/{action}"
        return self._request("POST", path, json=dict(body or {}), idempotency_key=idempotency_key)

    def report_health(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._request("POST", "/api/v1/devices/health", json=dict(payload))

    def reserve_blocks(self, size: int, next_day: bool = False) -> dict[str, Any]:
        """This kiosk's offline number blocks (kiosk token; see docs/api.md)."""
        return self._request(
            "POST", "/api/v1/devices/blocks", json={"size": size, "next_day": next_day}
        )

    def send_offline(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Tickets issued while the hub was unreachable; a result per item."""
        return self._request("POST", "/api/v1/tickets/offline", json={"items": items})

    def devices(self, office: str | None = None) -> list[dict[str, Any]]:
        """The last health report of each kiosk and display (manager or admin token)."""
        return self._request("GET", "/api/v1/devices", params=self._office(office))

    def events_url(self, office: str | None = None) -> str:
        chosen = office or self.office
        suffix = f"?office={quote(chosen, safe='')}" if chosen else ""
        return f"{self.base_url}/api/v1/events{suffix}"

    # --- plumbing ------------------------------------------------------------------------------

    def _office(self, office: str | None) -> dict[str, str] | None:
        chosen = office or self.office
        return {"office": chosen} if chosen else None

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if method != "GET":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        url = self.base_url + path
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt))
            try:
                response = self.session.request(
                    method, url, params=params, json=json, headers=headers, timeout=self.timeout_s
                )
            except requests.RequestException as exc:
                last_problem = f"{method} {url}: {type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRY_STATUSES:
                last_problem = f"{method} {url}: HTTP {response.status_code}"
                response.close()
                continue
            return _decode(response)
        raise HubUnreachable(f"no answer after {self.retries + 1} attempt(s): {last_problem}")

    def _delay(self, attempt: int) -> float:
        base = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return base * random.uniform(0.8, 1.2)


def _decode(response: requests.Response) -> Any:
    status = response.status_code
    if status == 204:
        return None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if 200 <= status < 300:
        if payload is None and response.content:
            raise HubError("bad_response", f"the hub answered HTTP {status} with no JSON", status)
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        message = payload.get("message")
        return _raise(payload["error"], str(message or payload["error"]), status)
    if isinstance(payload, dict) and "detail" in payload:
        return _raise("invalid_request", str(payload["detail"])[:300], status)
    text = response.text.strip()[:200] or response.reason or "no details"
    return _raise(f"http_{status}", text, status)


def _raise(code: str, message: str, status: int) -> Any:
    raise HubError(code, message, status)
