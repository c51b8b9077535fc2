"""The phone page speaks the phone's language; where the hub lacks it, the one chosen at the kiosk."""

from __future__ import annotations

import re

import requests

from tests.hubtools import LiveHub


def _page_lang(url: str, **headers: str) -> str:
    r = requests.get(url, headers=headers, timeout=5)
    assert r.status_code == 200, r.text
    found = re.search(r'<html[^>]*\blang="([a-z]{2})"', r.text)
    assert found is not None
    return found.group(1)


def test_the_status_page_follows_the_tickets_language(live_hub: LiveHub) -> None:
    def issue(lang: str) -> str:
        r = requests.post(
            f"{live_hub.url}/api/v1/tickets",
            json={"service": "general", "lang": lang},
            headers=live_hub.headers("kiosk"),
            timeout=5,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["status_url"])

    english, spanish = issue("en"), issue("es")
    assert _page_lang(english) == "en"
    assert _page_lang(english, **{"Accept-Language": "de-DE,de;q=0.9"}) == "en"
    assert _page_lang(english, **{"Accept-Language": "es-ES"}) == "es"  # the phone's own first
    assert _page_lang(english + "&lang=es") == "es"  # the page's own switch wins
    assert _page_lang(english, Cookie="o360_lang=es") == "es"
    assert _page_lang(spanish, **{"Accept-Language": "fr-FR"}) == "es"
