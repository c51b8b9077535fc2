"""`[hub] cors_origins`: a web page served from another host may call the API, with a token
(never with a staff session: credentials are not allowed across origins)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from office360.config import ConfigError, load_settings
from tests.hubtools import FakeClock, ThreadHub, free_port, write_config

ALLOWED = "http://signage.example.test"


@pytest.fixture
def cors_hub(tmp_path: Path, clock: FakeClock) -> Iterator[ThreadHub]:
    port = free_port()
    config = write_config(tmp_path, port)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[hub]\n", f'[hub]\ncors_origins = ["{ALLOWED}"]\n', 1))
    hub = ThreadHub(config, port, clock)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def test_an_allowed_origin_may_issue_tickets_with_a_token(cors_hub: ThreadHub) -> None:
    url = f"{cors_hub.url}/api/v1/tickets"
    preflight = requests.options(
        url,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
        timeout=5,
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers

    issued = requests.post(
        url,
        json={"service": "general"},
        headers=cors_hub.headers("kiosk", Origin=ALLOWED),
        timeout=5,
    )
    assert issued.status_code == 201, issued.text
    assert issued.headers["access-control-allow-origin"] == ALLOWED


def test_another_origin_gets_no_permission(cors_hub: ThreadHub) -> None:
    issued = requests.post(
        f"{cors_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=cors_hub.headers("kiosk", Origin="http://elsewhere.example.test"),
        timeout=5,
    )
    assert "access-control-allow-origin" not in issued.headers


def test_without_the_setting_no_origin_is_allowed(thread_hub: ThreadHub) -> None:
    issued = requests.post(
        f"{thread_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=thread_hub.headers("kiosk", Origin=ALLOWED),
        timeout=5,
    )
    assert issued.status_code == 201
    assert "access-control-allow-origin" not in issued.headers


def test_a_refused_body_and_its_retry_after_reach_the_page(cors_hub: ThreadHub) -> None:
    too_big = requests.post(
        f"{cors_hub.url}/api/v1/tickets",
        data=b"{" + b" " * 70_000 + b"}",
        headers=cors_hub.headers("kiosk", Origin=ALLOWED, **{"Content-Type": "application/json"}),
        timeout=5,
    )
    assert too_big.status_code == 413
    assert too_big.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in too_big.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize("origin", ["http://signage.example.test/", "signage.example.test", "*x"])
def test_an_origin_with_a_path_or_no_scheme_stops_the_hub_at_start(
    tmp_path: Path, origin: str
) -> None:
    config = write_config(tmp_path, free_port())
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[hub]\n", f'[hub]\ncors_origins = ["{origin}"]\n', 1))
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert "cors_origins" in refused.value.key and "not an origin" in refused.value.reason
