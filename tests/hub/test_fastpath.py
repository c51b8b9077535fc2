"""hub/fastpath.py answers plain ticket and desk requests as the FastAPI routes would."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from hub.fastpath import Plain, desk_query, issue_fields
from tests.hubtools import ThreadHub

VALID = {"service": "general", "channel": "walk_in", "priority": None, "lang": None, "office": None}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"service":"general"}', VALID),
        (
            b'{"service":"general","lang":"en","channel":"web"}',
            {**VALID, "lang": "en", "channel": "web"},
        ),
        (b'{"service":"general","office":null,"priority":null}', VALID),
        (b'{"service":"' + b"s" * 40 + b'"}', {**VALID, "service": "s" * 40}),
        # anything unusual is left to FastAPI, whose answer is the reference
        (b'{"service":"' + b"s" * 41 + b'"}', None),
        (b'{"service":""}', None),
        (b'{"service":7}', None),
        (b'{"service":"general","channel":{}}', None),
        (b'{"service":"general","channel":"fax"}', None),
        (b'{"service":"general","lang":"' + b"x" * 9 + b'"}', None),
        (b'{"service":"general","priority":3}', None),
        (b'{"service":"general","extra":1}', None),
        (b'["general"]', None),
        (b"{not json", None),
        (b"", None),
    ],
)
def test_issue_fields(raw: bytes, expected: dict[str, Any] | None) -> None:
    assert issue_fields(raw) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {}),
        ("service=taxes", {"service": "taxes"}),
        ("office=centro&service=taxes", {"office": "centro", "service": "taxes"}),
        ("service=", None),
        ("service=a&service=b", None),
        ("desk=1", None),
        ("service=" + "x" * 41, None),
    ],
)
def test_desk_query(query: str, expected: dict[str, str] | None) -> None:
    assert desk_query(query) == expected


@pytest.mark.parametrize(
    ("headers", "token", "key", "json"),
    [
        (
            [(b"authorization", b"Bearer abc"), (b"content-type", b"application/json")],
            "abc",
            None,
            True,
        ),
        ([(b"authorization", b"bearer abc"), (b"idempotency-key", b"k1")], "abc", "k1", False),
        ([(b"authorization", b"Basic abc")], None, None, False),
        ([(b"authorization", b"Bearer ")], None, None, False),
        ([(b"cookie", b"o360_session=x")], None, None, False),
        ([(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")], None, None, False),
        ([(b"authorization", b"Bearer a"), (b"idempotency-key", b"k" * 201)], None, None, False),
        ([(b"authorization", b"Bearer a"), (b"content-length", b"100")], "a", None, False),
        # bodies BodyLimit must see: over the limit, declared oddly, or chunked
        ([(b"authorization", b"Bearer a"), (b"content-length", b"101")], None, None, False),
        ([(b"authorization", b"Bearer a"), (b"content-length", b"-1")], None, None, False),
        ([(b"authorization", b"Bearer a"), (b"transfer-encoding", b"chunked")], None, None, False),
        ([(b"authorization", b"Bearer a"), (b"origin", b"http://x.test")], None, None, False),
    ],
)
def test_plain_headers(
    headers: list[tuple[bytes, bytes]], token: str | None, key: str | None, json: bool
) -> None:
    plain = Plain.of(headers, max_body=100)
    if token is None:
        assert plain is None
    else:
        assert plain is not None
        assert (plain.token, plain.key, plain.json) == (token, key, json)


def _post(hub: ThreadHub, path: str, headers: dict[str, str], fast: bool, body: bytes) -> Any:
    # "application/json; charset=utf-8" is valid JSON for FastAPI but not plain for the fast path
    content_type = "application/json" if fast else "application/json; charset=utf-8"
    return requests.post(
        f"{hub.url}/api/v1{path}",
        data=body,
        headers={**headers, "Content-Type": content_type},
        timeout=5,
    )


SAME_ANSWERS = [
    ("kiosk", None, "/tickets", b'{"service":"nope"}'),
    ("kiosk", None, "/tickets", b'{"service":"general","priority":"vip"}'),
    ("display", None, "/tickets", b'{"service":"general"}'),
    ("kiosk", None, "/tickets", b'{"service":"general","office":"elsewhere"}'),
    ("kiosk", None, "/desks/1/next", b""),
    ("staff", "2", "/desks/1/next", b""),
    ("staff", "1", "/desks/1/recall", b""),
    ("staff", "1", "/desks/99/next", b""),
    ("staff", "1", "/desks/1/next?service=taxes", b""),
]


@pytest.mark.parametrize(("role", "desk", "path", "body"), SAME_ANSWERS)
def test_errors_are_the_routes_errors(
    thread_hub: ThreadHub, role: str, desk: str | None, path: str, body: bytes
) -> None:
    headers = thread_hub.headers(role, desk)
    fast = _post(thread_hub, path, headers, True, body)
    routed = _post(thread_hub, path, headers, False, body)
    assert fast.status_code >= 400
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())


def test_unknown_token_is_refused_alike(thread_hub: ThreadHub) -> None:
    headers = {"Authorization": "Bearer o360_not-a-token"}
    fast = _post(thread_hub, "/tickets", headers, True, b'{"service":"general"}')
    routed = _post(thread_hub, "/tickets", headers, False, b'{"service":"general"}')
    assert fast.status_code == 401
    assert (fast.status_code, fast.json(), fast.headers.get("www-authenticate")) == (
        routed.status_code,
        routed.json(),
        routed.headers.get("www-authenticate"),
    )


def test_tickets_and_calls_are_the_routes_answers(thread_hub: ThreadHub) -> None:
    kiosk = thread_hub.headers("kiosk")
    fast = _post(thread_hub, "/tickets", kiosk, True, b'{"service":"general","lang":"en"}')
    routed = _post(thread_hub, "/tickets", kiosk, False, b'{"service":"general","lang":"en"}')
    assert fast.status_code == routed.status_code == 201
    a, b = fast.json(), routed.json()
    assert a.keys() == b.keys()
    different = {k for k in a if a[k] != b[k]}
    assert different == {"id", "number", "position", "estimated_wait_s", "status_url"}
    assert b["position"] == a["position"] + 1

    staff = thread_hub.headers("staff", "1")
    called = _post(thread_hub, "/desks/1/next", staff, True, b"")
    assert called.status_code == 200 and called.json()["id"] == a["id"]
    started = _post(thread_hub, "/desks/1/start", staff, False, b"")
    assert started.json()["status"] == "serving"
    # the same Idempotency-Key gets the first answer back on either path
    keyed = {**staff, "Idempotency-Key": "call-1"}
    first = _post(thread_hub, "/desks/1/next", keyed, True, b"")
    again = _post(thread_hub, "/desks/1/next", keyed, False, b"")
    assert first.status_code == 200
    assert (again.status_code, again.json()) == (first.status_code, first.json())
