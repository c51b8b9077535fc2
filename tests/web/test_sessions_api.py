"""Sessions as API callers, the public ticket stream, rate limiters and the `office360 user` CLI."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hub.sessions import RateLimiter, hash_password, verify_password
from hub.web.i18n import STRINGS, pick_language
from office360.cli import main
from tests.hubtools import LiveHub

from .webtools import PASSWORD, make_user


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("limit", "window", "steps", "expected"),
    [
        (2, 60, [0, 0, 0], [True, True, False]),
        (2, 60, [0, 0, 61], [True, True, True]),  # the first hit left the window
        (1, 10, [0, 5, 6], [True, False, True]),
        (3, 60, [0, 1, 1, 1], [True, True, True, False]),
    ],
)
def test_rate_limiter_sliding_window(
    limit: int, window: float, steps: list[float], expected: list[bool]
) -> None:
    ticks = Ticks()
    limiter = RateLimiter(clock=ticks)
    got = []
    for step in steps:
        ticks.now += step
        got.append(limiter.allow("k", limit, window))
    assert got == expected


def test_rate_limiter_forgets_old_keys_when_full() -> None:
    ticks = Ticks()
    limiter = RateLimiter(clock=ticks, max_keys=10)
    for i in range(10):
        limiter.allow(f"a{i}", 1, 60)
    ticks.now += 120
    assert limiter.allow("new", 1, 60)
    assert len(limiter._hits) == 1


def test_passwords_verify_and_unknown_logins_never_do() -> None:
    stored = hash_password("s3cret-enough")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "s3cret-enough")
    assert not verify_password(stored, "wrong")
    assert not verify_password(None, "s3cret-enough")
    assert not verify_password("not a hash", "x")


def test_both_languages_have_every_string() -> None:
    assert set(STRINGS["es"]) == set(STRINGS["en"])
    for lang in STRINGS:
        placeholders = {k: set(re.findall(r"{(\w+)}", v)) for k, v in STRINGS[lang].items()}
        assert placeholders == {k: set(re.findall(r"{(\w+)}", v)) for k, v in STRINGS["es"].items()}


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("en", "es", "es", "en"),
        (None, "en", "es", "en"),
        (None, None, "fr-FR,en;q=0.8", "en"),
        (None, None, "de", "es"),
        ("xx", None, None, "es"),
    ],
)
def test_language_choice(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert pick_language(query, cookie, accept) == expected


def signed_in_session(
    hub: LiveHub, login: str = "ana", role: str = "staff"
) -> tuple[requests.Session, str]:
    make_user(hub.config, login, role)
    s = requests.Session()
    page = s.get(f"{hub.url}/signin", timeout=5).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = s.post(
        f"{hub.url}/signin",
        data={"login": login, "password": PASSWORD, "csrf": csrf},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    page = s.get(f"{hub.url}/desk/choose", timeout=5).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    s.post(f"{hub.url}/desk/choose", data={"desk": "1", "csrf": csrf}, timeout=5)
    return s, csrf


def test_a_session_acts_as_its_desk_through_the_api(live_hub: LiveHub) -> None:
    s, csrf = signed_in_session(live_hub)
    requests.post(
        f"{live_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=live_hub.headers("kiosk"),
        timeout=5,
    )
    assert s.get(f"{live_hub.url}/api/v1/queue", timeout=5).status_code == 200
    assert s.post(f"{live_hub.url}/api/v1/desks/1/next", timeout=5).json()["error"] == "csrf_failed"
    r = s.post(f"{live_hub.url}/api/v1/desks/1/next", headers={"X-CSRF-Token": csrf}, timeout=5)
    assert r.status_code == 200 and r.json()["desk"] == "1"
    # The desk chosen bounds the session like a staff token's desk.
    r = s.post(f"{live_hub.url}/api/v1/desks/2/pause", headers={"X-CSRF-Token": csrf}, timeout=5)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    # Bearer tokens work as before, with no CSRF header.
    r = requests.post(
        f"{live_hub.url}/api/v1/desks/2/pause", headers=live_hub.headers("admin"), timeout=5
    )
    assert r.status_code == 200
    # Signed out: the cookie no longer counts.
    page = s.get(f"{live_hub.url}/desk", timeout=5).text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    old = dict(s.cookies)
    s.post(f"{live_hub.url}/signout", data={"csrf": token}, timeout=5)
    r = requests.get(f"{live_hub.url}/api/v1/queue", cookies=old, timeout=5)
    assert r.status_code == 401


def sse_events(response: requests.Response) -> Iterator[tuple[str, dict[str, object]]]:
    kind = ""
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            yield kind, json.loads(line[6:])


def test_the_ticket_stream_carries_only_that_ticket(live_hub: LiveHub) -> None:
    kiosk = live_hub.headers("kiosk")
    mine = requests.post(
        f"{live_hub.url}/api/v1/tickets", json={"service": "general"}, headers=kiosk, timeout=5
    ).json()
    token = mine["status_url"].split("t=")[1]
    bad = requests.get(f"{live_hub.url}/api/v1/tickets/{mine['id']}/events?t=forged", timeout=5)
    assert bad.status_code == 404 and bad.json()["error"] == "unknown_ticket"
    # A bearer token is not enough: the stream is for the status link only.
    r = requests.get(f"{live_hub.url}/api/v1/tickets/{mine['id']}/events", headers=kiosk, timeout=5)
    assert r.status_code == 422
    with requests.get(
        f"{live_hub.url}/api/v1/tickets/{mine['id']}/events?t={token}", stream=True, timeout=5
    ) as stream:
        events = sse_events(stream)
        kind, data = next(events)
        assert kind == "ticket.state" and data["ticket"]["number"] == "A001"  # type: ignore[index]
        assert data["ticket"]["position"] == 1  # type: ignore[index]
        # A priority ticket arrives ahead of mine in the same service; another service's does not count.
        requests.post(
            f"{live_hub.url}/api/v1/tickets", json={"service": "taxes"}, headers=kiosk, timeout=5
        )
        requests.post(
            f"{live_hub.url}/api/v1/tickets",
            json={"service": "general", "priority": "elderly"},
            headers=kiosk,
            timeout=5,
        )
        kind, data = next(events)
        assert (kind, data["position"]) == ("ticket.position", 2)
        staff = live_hub.headers("staff", "1")
        called = requests.post(
            f"{live_hub.url}/api/v1/desks/1/next", headers=staff, timeout=5
        ).json()
        assert called["number"] == "A002"
        kind, data = next(events)
        assert (kind, data["position"]) == ("ticket.position", 1)
        requests.post(f"{live_hub.url}/api/v1/desks/1/start", headers=staff, timeout=5)
        requests.post(f"{live_hub.url}/api/v1/desks/1/next", headers=staff, timeout=5)
        kind, data = next(events)
        assert kind == "ticket.called"
        assert data["ticket"] == {**data["ticket"], "number": "A001", "desk_name": "Mostrador 1"}  # type: ignore[dict-item]
        assert "name" not in json.dumps(data).replace("desk_name", "")


def test_user_cli_adds_lists_and_disables(
    hub_settings_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(hub_settings_file)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert (
        main(
            [
                "user",
                "add",
                "lola",
                "--role",
                "manager",
                "--name",
                "Lola",
                "--password-stdin",
                "--config",
                config,
            ]
        )
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert (
        main(["user", "add", "lola", "--role", "staff", "--password-stdin", "--config", config])
        == 1
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert (
        main(["user", "add", "max", "--role", "staff", "--password-stdin", "--config", config]) == 2
    )
    capsys.readouterr()
    assert main(["user", "list", "--config", config]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"lola\s+manager\s+centro\s+active\s+Lola", listing)
    assert "argon2" not in listing and "max" not in listing
    assert main(["user", "disable", "lola", "--config", config]) == 0
    assert main(["user", "disable", "nobody", "--config", config]) == 1
    main(["user", "list", "--config", config])
    assert re.search(r"lola\s+manager\s+centro\s+disabled", capsys.readouterr().out)
