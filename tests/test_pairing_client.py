"""The device side of pairing against a real hub on a loopback port."""

from __future__ import annotations

import json
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from hub.pairing import MAX_PENDING_PER_ADDRESS
from office360.client import HubClient
from office360.enrollment import (
    ALPHABET,
    CODE_LENGTH,
    PENDING_FILE_NAME,
    load_pending_code,
    load_token,
    token_path,
)
from office360.pairing_client import (
    BUSY,
    PAIRED,
    STATUS_TEXTS,
    UNREACHABLE,
    WAITING,
    PairingBusy,
    PairingClient,
    PairingError,
    status_text,
)
from tests.hubtools import ThreadHub, database_url_for, free_port


def approve(hub: ThreadHub, code: str) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/pairing/approve",
        json={"code": code},
        headers=hub.headers("admin"),
        timeout=5,
    )


class Recorder:
    def __init__(self) -> None:
        self.codes: list[str] = []
        self.statuses: list[str] = []
        self.changed = threading.Condition()

    def code(self, code: str) -> None:
        with self.changed:
            self.codes.append(code)
            self.changed.notify_all()

    def status(self, status: str) -> None:
        with self.changed:
            self.statuses.append(status)
            self.changed.notify_all()

    def until(self, check: object, timeout_s: float = 10) -> None:
        assert callable(check)
        with self.changed:
            assert self.changed.wait_for(check, timeout_s), (self.codes, self.statuses)


def client_for(url: str, state_dir: Path, seen: Recorder, **kwargs: float) -> PairingClient:
    return PairingClient(
        url,
        "display",
        state_dir,
        office="centro",
        device_name="Sala de espera TV",
        on_code=seen.code,
        on_status=seen.status,
        poll_s=kwargs.get("poll_s", 0.05),
        backoff_max_s=kwargs.get("backoff_max_s", 0.2),
        timeout_s=2,
    )


def in_thread(pairing: PairingClient) -> tuple[threading.Thread, list[str | None]]:
    result: list[str | None] = []
    thread = threading.Thread(target=lambda: result.append(pairing.wait()), daemon=True)
    thread.start()
    return thread, result


def test_approved_code_gives_a_working_token_stored_0600(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    seen = Recorder()
    pairing = client_for(thread_hub.url, tmp_path / "state", seen)
    code = pairing.open()
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
    assert seen.codes == [code] and seen.statuses == [WAITING]
    thread, result = in_thread(pairing)
    time.sleep(0.2)  # a few polls answered 202
    assert not result and not token_path(tmp_path / "state").exists()
    assert approve(thread_hub, code).json()["role"] == "display"
    thread.join(10)
    token = result[0]
    assert token and load_token(tmp_path / "state") == token
    assert stat.S_IMODE(token_path(tmp_path / "state").stat().st_mode) == 0o600
    assert seen.statuses[-1] == PAIRED
    with HubClient(thread_hub.url, token, office="centro") as device:
        assert device.queue("centro")["office"] == "centro"
    # the code was collected: it cannot be collected again, not even with its secret
    again = requests.post(
        f"{thread_hub.url}/api/v1/pairing/collect",
        json={"code": code, "secret": pairing.secret},
        timeout=5,
    )
    assert again.status_code == 409 and again.json()["error"] == "pairing_code_used"
    pairing.close()


def test_a_bystander_who_reads_the_code_cannot_take_the_token(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    seen = Recorder()
    pairing = client_for(thread_hub.url, tmp_path, seen)
    code = pairing.open()
    assert pairing.secret and pairing.secret not in seen.codes  # kept off the screen
    thread, result = in_thread(pairing)
    assert approve(thread_hub, code).status_code == 200
    # what someone who read the code off the screen can send, racing the device
    for body in ({"code": code}, {"code": code, "secret": "guess"}):
        stolen = requests.post(f"{thread_hub.url}/api/v1/pairing/collect", json=body, timeout=5)
        assert (stolen.status_code, stolen.json()["error"]) == (404, "pairing_secret_invalid")
        assert "token" not in stolen.json()
    thread.join(10)
    assert result[0] and load_token(tmp_path) == result[0]
    assert seen.codes == [code]  # the device's own code still worked
    pairing.close()


def test_expired_code_is_replaced_by_a_new_one(thread_hub: ThreadHub, tmp_path: Path) -> None:
    seen = Recorder()
    pairing = client_for(thread_hub.url, tmp_path, seen)
    first = pairing.open()
    thread, result = in_thread(pairing)
    thread_hub.clock.advance(minutes=11)
    seen.until(lambda: len(seen.codes) == 2)
    second = seen.codes[1]
    assert second != first
    late = approve(thread_hub, first)
    assert late.status_code in (404, 409)  # expired (or already swept by the new request)
    assert approve(thread_hub, second).status_code == 200
    thread.join(10)
    assert result[0] and load_token(tmp_path) == result[0]


def test_unreachable_hub_backs_off_then_pairs_when_it_comes(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    seen = Recorder()
    pairing = client_for(thread_hub.url, tmp_path, seen)
    code = pairing.open()
    thread_hub.stop()
    thread, result = in_thread(pairing)
    seen.until(lambda: UNREACHABLE in seen.statuses)
    thread_hub.start()
    seen.until(lambda: seen.statuses[-1] == WAITING)
    assert approve(thread_hub, code).status_code == 200
    thread.join(10)
    assert result[0] and load_token(tmp_path) == result[0]


def test_opening_without_a_hub_is_a_coded_error(tmp_path: Path) -> None:
    pairing = client_for(f"http://127.0.0.1:{free_port()}", tmp_path, Recorder())
    with pytest.raises(PairingError) as caught:
        pairing.open()
    assert caught.value.code == "hub_unreachable"


def test_stop_ends_the_wait_without_a_token(thread_hub: ThreadHub, tmp_path: Path) -> None:
    pairing = client_for(thread_hub.url, tmp_path, Recorder())
    pairing.open()
    thread, result = in_thread(pairing)
    pairing.stop()
    thread.join(5)
    assert result == [None] and not token_path(tmp_path).exists()


@pytest.mark.parametrize("name", ["kiosk/1 (puerta)", "ñandú", ""])
def test_device_names_are_made_acceptable_to_the_hub(
    thread_hub: ThreadHub, tmp_path: Path, name: str
) -> None:
    pairing = PairingClient(thread_hub.url, "kiosk", tmp_path, device_name=name)
    assert pairing.open()


FakeAnswer = tuple[int, dict[str, object], dict[str, str]]


@contextmanager
def fake_hub(answer: Callable[[str, dict[str, Any]], FakeAnswer]) -> Iterator[str]:
    """An HTTP server answering each POST with `answer(path, body)`: (status, body, headers)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, reply, headers = answer(self.path, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


COLLECTED: FakeAnswer = (
    200,
    {"status": "collected", "token": "o360_old", "role": "display", "office": "centro"},
    {},
)
NOT_FOUND: FakeAnswer = (404, {"error": "not_found", "message": "Not Found"}, {})


def test_a_hub_older_than_the_secret_still_pairs_a_new_device(tmp_path: Path) -> None:
    """Such a hub answers no secret and refuses unknown fields: the device sends none."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def old_hub(path: str, body: dict[str, Any]) -> FakeAnswer:
        seen.append((path, body))
        if path == "/api/v1/pairing":
            return 200, {"status": "waiting", "expires_in_s": 600}, {}
        if path == "/api/v1/pairing/collect" and set(body) == {"code"}:
            return COLLECTED
        return 422, {"error": "invalid_request", "message": "extra field"}, {}

    with fake_hub(old_hub) as url:
        pairing = client_for(url, tmp_path / "state", Recorder())
        pairing.open()
        pairing.open()  # a fresh code: there is no secret to withdraw the first one with
        thread, result = in_thread(pairing)
        thread.join(10)
    assert result == ["o360_old"]
    assert [path for path, _ in seen] == [
        "/api/v1/pairing",
        "/api/v1/pairing",
        "/api/v1/pairing/collect",
    ]
    assert "secret" not in seen[-1][1]


def test_a_hub_that_cannot_withdraw_codes_still_pairs_a_device_that_asks_it_to(
    tmp_path: Path,
) -> None:
    """A hub older than withdrawing answers the device's POST /pairing/cancel 404: all the same."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def hub_without_cancel(path: str, body: dict[str, Any]) -> FakeAnswer:
        seen.append((path, body))
        if path == "/api/v1/pairing":
            return 200, {"status": "pending", "expires_at": "…", "secret": f"s{len(seen)}"}, {}
        if path == "/api/v1/pairing/collect":
            return COLLECTED
        return NOT_FOUND

    recorder = Recorder()
    with fake_hub(hub_without_cancel) as url:
        pairing = client_for(url, tmp_path, recorder)
        first = pairing.open()
        second = pairing.open()
        thread, result = in_thread(pairing)
        thread.join(10)
    assert result == ["o360_old"] and recorder.codes == [first, second]
    assert [path for path, _ in seen] == [
        "/api/v1/pairing",
        "/api/v1/pairing/cancel",
        "/api/v1/pairing",
        "/api/v1/pairing/collect",
    ]
    assert seen[1][1] == {"code": first, "secret": "s1"}
    assert seen[3][1] == {"code": second, "secret": "s3"}
    assert load_pending_code(tmp_path) is None  # paired: nothing left to withdraw


def test_a_busy_hub_is_said_as_such_and_tried_again_after_its_retry_after(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    """429 pairing_busy (here: this address has 5 codes waiting) is no unreachable hub: the status
    says the hub is busy pairing, and the code is opened again when the hub's Retry-After says."""
    for code in ("ACDEFG", "HJKMNP", "QRTWXY", "AC3467", "HJ9KMN"):
        assert requests.post(
            f"{thread_hub.url}/api/v1/pairing",
            json={"code": code, "role": "kiosk", "device": "another kiosk"},
            timeout=5,
        ).ok
    thread_hub.clock.advance(minutes=9, seconds=58)  # the first place frees in 2 s
    seen, retries, statuses_at = Recorder(), [], {}

    def status(value: str) -> None:
        statuses_at.setdefault(value, time.monotonic())
        seen.status(value)

    pairing = PairingClient(
        thread_hub.url,
        "display",
        tmp_path,
        office="centro",
        on_code=seen.code,
        on_status=status,
        on_retry=retries.append,
        poll_s=0.05,
        backoff_max_s=0.2,
        timeout_s=2,
    )
    thread, result = in_thread(pairing)
    seen.until(lambda: BUSY in seen.statuses)
    assert seen.codes == [] and retries == [] and UNREACHABLE not in seen.statuses
    assert status_text(BUSY).splitlines() == [
        STATUS_TEXTS[BUSY]["es"],
        STATUS_TEXTS[BUSY]["en"],
    ]
    thread_hub.clock.advance(minutes=1)  # the other kiosk's codes expire
    seen.until(lambda: len(seen.codes) == 1)
    assert statuses_at[WAITING] - statuses_at[BUSY] >= 1.5  # its Retry-After, not the backoff
    assert seen.statuses == [BUSY, WAITING] and retries == []
    assert approve(thread_hub, seen.codes[0]).status_code == 200
    thread.join(10)
    assert result[0] and load_token(tmp_path) == result[0]


def test_a_busy_answer_without_retry_after_waits_busy_retry_s(tmp_path: Path) -> None:
    """A hub older than Retry-After on pairing_busy: the device waits busy_retry_s (30 s)."""
    opened: list[float] = []

    def busy_once(path: str, _body: dict[str, Any]) -> FakeAnswer:
        if path != "/api/v1/pairing":
            return COLLECTED
        opened.append(time.monotonic())
        if len(opened) == 1:
            return 429, {"error": "pairing_busy", "message": "too many"}, {}
        return 200, {"status": "pending", "expires_at": "…", "secret": "s"}, {}

    assert PairingClient("http://hub", "kiosk", tmp_path).busy_retry_s == 30
    seen = Recorder()
    with fake_hub(busy_once) as url:
        pairing = PairingClient(
            url, "kiosk", tmp_path, on_status=seen.status, poll_s=0.05, busy_retry_s=0.5
        )
        with pytest.raises(PairingBusy) as caught:
            pairing.open()
        assert caught.value.retry_after_s == 0.5 and pairing.status == BUSY
        thread, result = in_thread(pairing)
        thread.join(10)
    assert result == ["o360_old"] and seen.statuses[:2] == [BUSY, WAITING]
    assert opened[1] - opened[0] >= 0.5


def test_a_new_code_withdraws_the_previous_one_so_it_holds_no_place(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    """A device replacing its code again and again (5 places per address) keeps one open."""
    seen = Recorder()
    pairing = client_for(thread_hub.url, tmp_path, seen)
    pairing.refresh_s = 0.1
    thread, result = in_thread(pairing)
    seen.until(lambda: len(seen.codes) >= MAX_PENDING_PER_ADDRESS + 3)
    pairing.refresh_s = 600  # keep the next one
    time.sleep(0.3)
    assert BUSY not in seen.statuses and UNREACHABLE not in seen.statuses
    assert pending_codes(thread_hub) == 1
    assert load_pending_code(tmp_path) == (pairing.code, pairing.secret)
    assert pairing.code == seen.codes[-1]
    for old in seen.codes[:-1]:
        assert approve(thread_hub, old).json()["error"] == "pairing_code_unknown"
    assert approve(thread_hub, pairing.code).status_code == 200
    thread.join(10)
    assert result[0] and load_token(tmp_path) == result[0]
    assert load_pending_code(tmp_path) is None
    pairing.close()


def test_after_a_restart_the_device_shows_its_code_again_and_pairs_if_approved_meanwhile(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    before = client_for(thread_hub.url, tmp_path, Recorder())
    first = before.open()
    before.close()  # the process ends without pairing
    kept = tmp_path / PENDING_FILE_NAME
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # it holds the code's secret
    assert load_pending_code(tmp_path) == (first, before.secret)
    assert approve(thread_hub, first).status_code == 200  # while the device was down

    seen = Recorder()
    after = client_for(thread_hub.url, tmp_path, seen)
    assert after.open() == first and seen.codes == [first]  # what the technician typed
    assert pending_codes(thread_hub) == 1
    thread, result = in_thread(after)
    thread.join(10)
    assert result[0] and load_token(tmp_path) == result[0]
    assert seen.codes == [first] and not kept.exists()
    after.close()


def test_after_a_restart_a_code_the_hub_let_expire_is_replaced(
    thread_hub: ThreadHub, tmp_path: Path
) -> None:
    before = client_for(thread_hub.url, tmp_path, Recorder())
    first = before.open()
    before.close()
    thread_hub.clock.advance(minutes=11)  # the device was off longer than a code lives

    seen = Recorder()
    after = client_for(thread_hub.url, tmp_path, seen)
    assert after.open() == first
    thread, result = in_thread(after)
    seen.until(lambda: len(seen.codes) == 2)
    second = seen.codes[1]
    assert second != first and load_pending_code(tmp_path) == (second, after.secret)
    assert pending_codes(thread_hub) == 1
    assert approve(thread_hub, second).status_code == 200
    thread.join(10)
    assert result[0] and load_token(tmp_path) == result[0]
    after.close()


def pending_codes(hub: ThreadHub) -> int:
    """Requests the hub holds that no device has collected."""
    engine = create_engine(database_url_for(hub.config))
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pairing_requests WHERE collected_at IS NULL"
        count = int(conn.execute(text(query)).scalar_one())
    engine.dispose()
    return count
