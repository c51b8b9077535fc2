"""The device side of pairing against a real hub on a loopback port."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest
import requests

from office360.client import HubClient
from office360.enrollment import ALPHABET, CODE_LENGTH, load_token, token_path
from office360.pairing_client import PAIRED, UNREACHABLE, WAITING, PairingClient, PairingError
from tests.hubtools import ThreadHub, free_port


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


def test_a_hub_older_than_the_secret_still_pairs_a_new_device(tmp_path: Path) -> None:
    """Such a hub answers no secret and refuses unknown fields: the device sends none."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    collected: list[dict[str, object]] = []

    class OldHub(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/api/v1/pairing":
                answer, status = {"status": "waiting", "expires_in_s": 600}, 200
            elif set(body) != {"code"}:
                answer, status = {"error": "invalid_request", "message": "extra field"}, 422
            else:
                collected.append(body)
                answer = {"status": "collected", "token": "o360_old", "role": "display"}
                answer, status = answer | {"office": "centro"}, 200
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), OldHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        pairing = client_for(url, tmp_path / "state", Recorder())
        pairing.open()
        thread, result = in_thread(pairing)
        thread.join(10)
        assert result == ["o360_old"]
        assert collected and "secret" not in collected[0]
    finally:
        server.shutdown()
