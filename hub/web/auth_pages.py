"""Staff sign-in and sign-out pages."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import users_repo
from ..sessions import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    client_address,
    session_from_request,
    start_session,
    verify_password,
)
from .common import finish, form_csrf_ok, hub, redirect, render, secure, settings, web_state

router = APIRouter(include_in_schema=False)
HOME_BY_ROLE = {"staff": "/desk", "manager": "/admin", "admin": "/admin"}


def _safe_next(target: str | None) -> str | None:
    """Only a path on this hub (never //host or a scheme), so sign-in cannot redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return None


async def read_form(request: Request) -> dict[str, str]:
    """Form fields as short strings (anything long or a file is cut or dropped)."""
    out: dict[str, str] = {}
    with contextlib.suppress(Exception):
        form = await request.form(max_files=0, max_fields=30)
        for key, value in form.items():
            if isinstance(value, str):
                out[key[:40]] = value[:500]
    return out


@router.get("/signin")
async def signin_page(request: Request, next: str | None = None) -> Response:
    return render(request, "signin.html", next=_safe_next(next) or "", error=None, login="")


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await read_form(request)
    login = form.get("login", "").strip()[:80]
    password = form.get("password", "")[:200]
    target = _safe_next(form.get("next"))
    page: dict[str, Any] = {"next": target or "", "login": login}
    if not form_csrf_ok(request, form.get("csrf"), None):
        return render(request, "signin.html", 403, error="csrf.failed", **page)
    web = settings(request).web
    window_s = web.signin_window_minutes * 60
    limiter = web_state(request).signin
    address_key = f"addr:{client_address(request)}"
    login_key = f"login:{login.lower()}"
    if limiter.count(login_key, window_s) >= web.signin_max_failures or not limiter.allow(
        address_key, web.signin_max_per_address, window_s
    ):
        wait = max(
            limiter.retry_after(login_key, window_s), limiter.retry_after(address_key, window_s)
        )
        response = render(
            request,
            "signin.html",
            429,
            error="signin.limited",
            minutes=max(1, -(-wait // 60)),
            **page,
        )
        response.headers["Retry-After"] = str(max(wait, 1))
        return response
    state = hub(request)
    svc = state.service

    def find_user() -> Any:
        with svc.transaction() as conn:
            return users_repo.user_by_login(conn, login)

    user = await state.run(find_user) if login else None
    known = user is not None and user.active
    # argon2 costs tens of milliseconds: off the event loop and off the database thread.
    ok = await asyncio.to_thread(verify_password, user.password_hash if known else None, password)
    if not (ok and known):
        limiter.hit(login_key)
        return render(request, "signin.html", 401, error="signin.failed", **page)
    limiter.reset(login_key)

    def begin() -> tuple[str, str]:
        with svc.transaction() as conn:
            users_repo.purge_sessions(conn, svc.clock())
            return start_session(conn, user.id, svc.clock(), web.session_hours)

    session_id, csrf = await state.run(begin)
    response = redirect(request, target or HOME_BY_ROLE.get(user.role, "/desk"))
    max_age = int(web.session_hours * 3600)
    is_secure = secure(request)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=is_secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_secure,
        path="/",
    )
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    form = await read_form(request)
    session = await session_from_request(request)
    if session is not None:
        if not form_csrf_ok(request, form.get("csrf"), session):
            return render(request, "message.html", 403, title="403", message="csrf.failed")
        state = hub(request)

        def end() -> None:
            with state.service.transaction() as conn:
                users_repo.delete_session(conn, session.id_hash)

        await state.run(end)
    response = redirect(request, "/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return finish(request, response)
