"""The device side of pairing: show a code, wait for a technician to approve it, keep the token.

    pairing = PairingClient(hub_url, "display", state_dir, on_code=show, on_status=say)
    pairing.open()            # a fresh code registered with the hub (PairingError if unreachable)
    token = pairing.wait()    # polls until approved; stored with store_token(); None if stopped

wait() opens a code itself when open() was not called (or failed).

The hub answers the opening with a secret that collecting the token needs; it stays in this
object (never on screen), so a bystander who reads the code cannot collect the token, and in
state_dir (mode 0600, office360.enrollment.store_pending_code): opening a new code first withdraws
the previous one with its secret, even after a restart, so that stale codes do not hold the
places the hub keeps for devices waiting (per client address and in all). A hub that does not
know withdrawing answers 404, which changes nothing.

A hub with too many devices waiting answers 429 `pairing_busy`: the screen says so (BUSY) and
the code is opened again after the hub's Retry-After (`busy_retry_s` when it sends none).

A code is replaced by a new one, announced through `on_code`, a minute before it expires (so
a technician never types a code about to die) and whenever the hub says it has expired or no
longer knows it. No Kivy here: the UI passes callbacks, which are called in the caller's thread;
the texts every pairing screen shows (kiosk and display) are here too.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from .core.errors import DomainError
from .enrollment import (
    CODE_TTL,
    DeviceRole,
    forget_pending_code,
    format_code,
    load_pending_code,
    new_pairing_code,
    store_pending_code,
    store_token,
)

log = logging.getLogger(__name__)

# Status codes handed to `on_status`, with what a screen shows for them.
WAITING = "waiting"
BUSY = "busy"
UNREACHABLE = "unreachable"
PAIRED = "paired"
STATUS_TEXTS: dict[str, dict[str, str]] = {
    WAITING: {
        "es": "Esperando la aprobación del técnico…",
        "en": "Waiting for a technician to approve…",
    },
    BUSY: {
        "es": "El hub está emparejando otros dispositivos; se reintentará solo en breve…",
        "en": "The hub is busy pairing other devices; trying again by itself shortly…",
    },
    UNREACHABLE: {
        "es": "No se puede contactar con el hub; reintentando…",
        "en": "Cannot reach the hub; retrying…",
    },
    PAIRED: {"es": "Emparejado. Iniciando…", "en": "Paired. Starting…"},
}
INSTRUCTIONS: dict[str, str] = {
    "es": "Introduzca este código en la página de administración del hub, o ejecute:",
    "en": "Enter this code on the hub's admin page, or run:",
}
SCREEN_LANGUAGES = ("es", "en")
REFRESH_BEFORE_EXPIRY_S = 60.0
BUSY_RETRY_S = 30.0
"""How long a device waits after a busy answer with no Retry-After (a hub older than it)."""
NEW_CODE_ERRORS = {
    "pairing_code_expired",
    "pairing_code_used",
    "pairing_code_unknown",
    "pairing_code_taken",
    "pairing_secret_invalid",
}


class PairingError(DomainError):
    """The hub could not be reached or refused the request."""


class PairingBusy(PairingError):
    """The hub has too many devices waiting to pair: open a code again after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__("pairing_busy", message)
        self.retry_after_s = retry_after_s


def approve_command(code: str) -> str:
    """What a technician runs on the hub for this code ("" while there is no code)."""
    return f"office360 device approve {format_code(code)}" if code else ""


def instruction_text(languages: tuple[str, ...] = SCREEN_LANGUAGES) -> str:
    return "\n".join(INSTRUCTIONS[lang] for lang in languages if lang in INSTRUCTIONS)


def status_text(status: str, languages: tuple[str, ...] = SCREEN_LANGUAGES) -> str:
    """The status in each language, one line each ("" for no status)."""
    texts = STATUS_TEXTS.get(status, {})
    return "\n".join(texts[lang] for lang in languages if lang in texts)


class PairingClient:
    def __init__(
        self,
        hub_url: str,
        role: DeviceRole,
        state_dir: str | Path,
        *,
        office: str = "",
        device_name: str = "",
        on_code: Callable[[str], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        on_retry: Callable[[float], None] | None = None,
        poll_s: float = 2.0,
        backoff_max_s: float = 30.0,
        busy_retry_s: float = BUSY_RETRY_S,
        timeout_s: float = 5.0,
        session: requests.Session | None = None,
        refresh_s: float = CODE_TTL.total_seconds() - REFRESH_BEFORE_EXPIRY_S,
    ) -> None:
        """`on_retry(delay_s)` follows each failed attempt to reach the hub (not a busy answer:
        the hub was reached); `refresh_s` is how long a code is shown before a fresh one replaces
        it."""
        self.hub_url = hub_url.strip().rstrip("/")
        self.role = role
        self.state_dir = Path(state_dir)
        self.office = office
        self.device_name = _device_name(device_name or socket.gethostname())
        self.on_code = on_code or (lambda _code: None)
        self.on_status = on_status or (lambda _status: None)
        self.on_retry = on_retry or (lambda _delay: None)
        self.poll_s = poll_s
        self.backoff_max_s = backoff_max_s
        self.busy_retry_s = busy_retry_s
        self.timeout_s = timeout_s
        self.refresh_s = refresh_s
        self.session = session or requests.Session()
        self.code = ""
        self.secret = ""
        """What the hub answered when `code` was opened; sent only to collect the token, or to
        withdraw the code when the next one is opened."""
        self.status = ""
        self._shown_code = ""
        self._opened_at = 0.0
        self._busy_until = 0.0
        """time.monotonic() before which a busy hub asked not to be asked again."""
        self._stop = threading.Event()
        self._resumed = False
        """The code kept from before a restart (state_dir/pairing.pending) has been looked at."""

    @classmethod
    def from_settings(cls, device: Any, role: DeviceRole, **kwargs: Any) -> PairingClient:
        """From the `[device]` section (office360.config.DeviceSettings)."""
        return cls(
            device.hub_url,
            role,
            device.state_dir,
            office=device.office,
            timeout_s=device.timeout_s,
            **kwargs,
        )

    def stop(self) -> None:
        """Make `wait()` return None soon (from any thread)."""
        self._stop.set()

    def open(self) -> str:
        """Register a fresh code with the hub and announce it, after withdrawing the device's
        previous one; PairingError when that fails (PairingBusy: the hub has too many devices
        waiting; the status is BUSY and no code is shown)."""
        try:
            return self._open()
        except PairingBusy as exc:
            self._busy_until = time.monotonic() + exc.retry_after_s
            self._show_code("")
            self._set_status(BUSY)
            raise

    def _open(self) -> str:
        self.check_state_dir()
        if not self._resumed:
            self._resumed = True
            kept = load_pending_code(self.state_dir)
            if kept is not None:  # a restart: the same code again (it may be approved already)
                return self._resume(*kept)
        self._withdraw_previous()
        for _ in range(5):  # a clash with another device's pending code is retried at once
            code = new_pairing_code()
            body: dict[str, Any] = {"code": code, "role": self.role, "device": self.device_name}
            if self.office:
                body["office"] = self.office
            status, answer = self._post("/api/v1/pairing", body)
            if status == 200:
                self.code = code
                self.secret = str(answer.get("secret") or "")
                self._opened_at = time.monotonic()
                if self.secret:  # a hub older than the secret answers none
                    self._keep_pending(code, self.secret)
                self._show_code(code)
                self._set_status(WAITING)
                return code
            if answer.get("error") != "pairing_code_taken":
                raise PairingError(
                    str(answer.get("error") or f"http_{status}"),
                    str(answer.get("message") or "the hub refused the pairing request"),
                )
        raise PairingError("pairing_code_taken", "the hub refused five fresh codes")

    def wait(self) -> str | None:
        """Poll until the code is approved: store the token and return it. Network errors back
        off (up to backoff_max_s), a busy hub is asked again after its Retry-After; an expired or
        unknown code is replaced by a new one."""
        delay = self.poll_s if self.code else max(self._busy_until - time.monotonic(), 0.0)
        while not self._stop.wait(delay):
            try:
                if not self.code:
                    self.open()
                    delay = self.poll_s
                    continue
                body = {"code": self.code}
                if self.secret:  # a hub older than the secret answers none, and takes none
                    body["secret"] = self.secret
                status, answer = self._post("/api/v1/pairing/collect", body)
            except PairingBusy as exc:
                log.info("pairing: %s; trying again in %.0f s", exc, exc.retry_after_s)
                delay = exc.retry_after_s
                continue
            except PairingError as exc:
                log.info("pairing: %s", exc)
                self._set_status(UNREACHABLE)
                delay = min(max(delay * 2, self.poll_s), self.backoff_max_s)
                self.on_retry(delay)
                continue
            delay = self.poll_s
            if status == 200 and answer.get("token"):
                path = store_token(self.state_dir, str(answer["token"]))
                forget_pending_code(self.state_dir)
                log.info("paired as %s; token stored in %s", answer.get("role"), path)
                self._set_status(PAIRED)
                return str(answer["token"]).strip()
            if status == 202:
                self._set_status(WAITING)
                if time.monotonic() - self._opened_at >= self.refresh_s:
                    log.info("pairing code %s is about to expire; making a new one", self.code)
                    self.code = ""
                    delay = 0.01
            elif answer.get("error") in NEW_CODE_ERRORS:
                log.info("pairing code %s: %s; making a new one", self.code, answer["error"])
                forget_pending_code(self.state_dir)  # the hub holds no place for it any more
                self.code = ""
                delay = 0.01
            else:
                log.warning("pairing: unexpected answer %s %s", status, answer)
                self._set_status(UNREACHABLE)
                delay = min(delay * 2, self.backoff_max_s)
                self.on_retry(delay)
        return None

    def check_state_dir(self) -> None:
        """The token must be storable before a technician approves: PairingError otherwise."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            probe = self.state_dir / f".probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise PairingError(
                "state_dir_not_writable", f"[device] state_dir {self.state_dir}: {exc}"
            ) from None

    def close(self) -> None:
        self.session.close()

    def _resume(self, code: str, secret: str) -> str:
        """Show the code this device opened before it restarted: a technician may be typing it,
        or have approved it. wait() collects it, or replaces it once the hub says it is gone."""
        self.code, self.secret = code, secret
        self._opened_at = time.monotonic()
        log.info("pairing: showing again the code %s opened before a restart", code)
        self._show_code(code)
        self._set_status(WAITING)
        return code

    def _withdraw_previous(self) -> None:
        """Withdraw the code opened before, in this run or an earlier one: whatever the hub
        answers (cancelled, unknown, or 404 from a hub that does not know withdrawing) it is
        forgotten; PairingError when the hub cannot be reached (kept, for the next attempt)."""
        previous = load_pending_code(self.state_dir)
        if previous is None:
            return
        code, secret = previous
        status, answer = self._post("/api/v1/pairing/cancel", {"code": code, "secret": secret})
        outcome = answer.get("status") or answer.get("error") or f"http_{status}"
        log.info("previous pairing code %s withdrawn: %s", code, outcome)
        forget_pending_code(self.state_dir)

    def _keep_pending(self, code: str, secret: str) -> None:
        try:
            store_pending_code(self.state_dir, code, secret)
        except OSError as exc:  # only the withdrawing of this code later is lost
            log.warning("pairing: cannot keep the open code in %s: %s", self.state_dir, exc)

    def _show_code(self, code: str) -> None:
        if code != self._shown_code:
            self._shown_code = code
            self.on_code(code)

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.on_status(status)

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body); network failures and 5xx are PairingError (retry later), 429
        is PairingBusy."""
        try:
            response = self.session.post(self.hub_url + path, json=body, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise PairingError("hub_unreachable", f"{self.hub_url}: {exc}") from None
        if response.status_code >= 500:
            raise PairingError("hub_unavailable", f"{self.hub_url}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code == 429:
            message = str(answer.get("message") or "too many devices are waiting to pair")
            raise PairingBusy(f"{self.hub_url}: {message}", self._retry_after(response))
        return response.status_code, answer

    def _retry_after(self, response: requests.Response) -> float:
        """The hub's Retry-After in seconds (at least 1, at most a code's lifetime), else
        busy_retry_s."""
        try:
            seconds = int(response.headers.get("Retry-After", ""))
        except ValueError:  # none, or an HTTP date: no hub sends one
            return self.busy_retry_s
        return float(min(max(seconds, 1), int(CODE_TTL.total_seconds())))


def _device_name(name: str) -> str:
    """The hub accepts letters, digits, space and _ . : - (up to 80)."""
    cleaned = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in " _.:-") else "-" for ch in name
    )
    return cleaned.strip()[:80] or "device"
