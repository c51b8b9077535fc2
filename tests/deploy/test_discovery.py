"""mDNS / DNS-SD between a real announcer and a real browser, on loopback only."""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any

import pytest
import requests
from zeroconf import ServiceInfo

from office360.config import parse_settings
from office360.core.errors import DomainError
from office360.discovery import (
    SERVICE_TYPE,
    HubAnnouncement,
    HubAnnouncer,
    HubNotFound,
    announced_url,
    announcer_for,
    find_hub,
    parse_service_info,
    resolve_hub_url,
)

LOOPBACK = ["127.0.0.1"]


def unique_office() -> str:
    # other engineers' tests may announce on this loopback at the same time
    return f"test-{uuid.uuid4().hex[:10]}"


def test_a_client_finds_the_announced_hub() -> None:
    office = unique_office()
    url = "http://127.0.0.1:18360"
    with HubAnnouncer(
        url, [office, "norte"], addresses=LOOPBACK, name=f"hub {office}", interfaces=LOOPBACK
    ):
        started = time.monotonic()
        found = find_hub(timeout=8, office=office, interfaces=LOOPBACK)
        took = time.monotonic() - started
    assert found == HubAnnouncement(url=url, offices=(office, "norte"), name=f"hub {office}")
    assert took < 8


def test_a_device_reaches_the_real_hub_it_discovered(live_hub: Any) -> None:
    office = unique_office()  # "centro" alone could match another test's hub
    with HubAnnouncer(live_hub.url, ["centro", office], addresses=LOOPBACK, interfaces=LOOPBACK):
        url = resolve_hub_url("", office, timeout=8, interfaces=LOOPBACK)
    assert url == live_hub.url
    assert requests.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"


def test_resolve_hub_url_browses_only_when_no_url_is_configured() -> None:
    office = unique_office()
    with HubAnnouncer("http://127.0.0.1:18361/", [office], addresses=LOOPBACK, interfaces=LOOPBACK):
        assert resolve_hub_url("", office, timeout=8, interfaces=LOOPBACK) == (
            "http://127.0.0.1:18361"
        )
    # a configured URL wins and needs no network at all
    assert resolve_hub_url(" http://hub.local:8360/ ", office, timeout=0.01) == (
        "http://hub.local:8360"
    )


def test_no_hub_gives_a_coded_error_after_the_timeout() -> None:
    office = unique_office()
    started = time.monotonic()
    with pytest.raises(HubNotFound) as caught:
        find_hub(timeout=1.0, office=office, interfaces=LOOPBACK)
    assert 0.9 <= time.monotonic() - started < 5
    assert caught.value.code == "hub_not_found"
    assert office in caught.value.message


def test_announcer_refuses_a_bad_url() -> None:
    with pytest.raises(DomainError) as caught:
        HubAnnouncer("hub:8360", ["centro"], addresses=LOOPBACK, interfaces=LOOPBACK)
    assert caught.value.code == "hub_url_invalid"


def test_announced_url() -> None:
    assert announced_url("https://colas.example.org/", "0.0.0.0", 8360, ["10.0.0.5"]) == (
        "https://colas.example.org"
    )
    assert announced_url("", "192.168.1.20", 8360, ["10.0.0.5"]) == "http://192.168.1.20:8360"
    assert announced_url("", "0.0.0.0", 8360, ["10.0.0.5"]) == "http://10.0.0.5:8360"


def test_a_service_without_url_falls_back_to_its_address() -> None:
    info = ServiceInfo(
        SERVICE_TYPE,
        f"old hub.{SERVICE_TYPE}",
        port=8360,
        addresses=[socket.inet_aton("192.168.1.7")],
        properties={"offices": "centro,norte"},
    )
    assert parse_service_info(info) == HubAnnouncement(
        "http://192.168.1.7:8360", ("centro", "norte"), "old hub"
    )
    empty = ServiceInfo(SERVICE_TYPE, f"broken.{SERVICE_TYPE}", port=8360, properties={})
    assert parse_service_info(empty) is None


def test_serves() -> None:
    hub = HubAnnouncement("http://h:8360", ("centro",))
    assert hub.serves(None) and hub.serves("centro") and not hub.serves("norte")


def test_announcer_for_settings_names_every_office() -> None:
    service = {"id": "general", "prefix": "A", "names": {"es": "General"}}
    desk = {"id": "1", "services": ["general"]}
    settings = parse_settings(
        {
            "hub": {"host": "0.0.0.0", "port": 8361},
            "offices": [
                {"id": "centro", "name": "Centro", "services": [service], "desks": [desk]},
                {"id": "norte", "name": "Norte", "services": [service], "desks": [desk]},
            ],
        }
    )
    announcer = announcer_for(settings, addresses=["192.168.1.10"], interfaces=LOOPBACK)
    assert announcer.info.properties == {
        b"v": b"1",
        b"url": b"http://192.168.1.10:8361",
        b"offices": b"centro,norte",
    }
    assert announcer.info.port == 8361
    assert announcer.info.parsed_addresses() == ["192.168.1.10"]
