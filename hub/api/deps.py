"""Request dependencies: the hub's state, the caller, the idempotency key."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from office360.core.errors import DomainError

from ..auth import Principal
from ..sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    csrf_from_request,
    session_from_request,
)
from ..state import HubState

bearer = HTTPBearer(auto_error=False, description="A token from `office360 token create`")


async def hub_state(request: Request) -> HubState:  # async: a plain def would run in a thread
    return request.app.state.hub  # type: ignore[no-any-return]


State = Annotated[HubState, Depends(hub_state)]


async def optional_principal(
    state: State,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal | None:
    if credentials is None:
        return await _session_principal(request)
    principal = await state.principal(credentials.credentials)
    if principal is None:
        raise DomainError("unauthorized", "the token is unknown or revoked")
    return principal


async def _session_principal(request: Request) -> Principal | None:
    """A signed-in staff member's browser session stands in for a bearer token. Its writes must
    carry the session's CSRF token in the X-CSRF-Token header; without it the caller counts as
    anonymous (so a public write, such as cancelling with a status link, still works)."""
    if SESSION_COOKIE not in request.cookies:
        return None
    session = await session_from_request(request)
    if session is None:
        return None
    if request.method not in SAFE_METHODS and not session.csrf_ok(csrf_from_request(request)):
        request.state.csrf_refused = True
        return None
    return session.principal()


async def require_principal(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        if getattr(request.state, "csrf_refused", False):
            raise DomainError("csrf_failed", f"send the page's CSRF token in {CSRF_HEADER}")
        raise DomainError("unauthorized", "send Authorization: Bearer <token>")
    return principal


Caller = Annotated[Principal, Depends(require_principal)]
MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat a write with the same key to get the first answer back",
    ),
]


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()
