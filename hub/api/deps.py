"""Request dependencies: the hub's state, the caller, the idempotency key."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from office360.core.errors import DomainError

from ..auth import Principal
from ..state import HubState

bearer = HTTPBearer(auto_error=False, description="A token from `office360 token create`")


def hub_state(request: Request) -> HubState:
    return request.app.state.hub  # type: ignore[no-any-return]


State = Annotated[HubState, Depends(hub_state)]


async def optional_principal(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    principal = await state.principal(credentials.credentials)
    if principal is None:
        raise DomainError("unauthorized", "the token is unknown or revoked")
    return principal


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
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
