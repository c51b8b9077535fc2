"""What the staff, phone and admin pages share: templates, language, cookies, CSRF, headers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from office360.config import OfficeSettings, Settings

from ..sessions import (
    CSRF_COOKIE,
    RateLimiter,
    StaffSession,
    csrf_from_request,
    secure_cookies,
    session_from_request,
)
from ..state import HubState
from .i18n import pick_language, translator

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
LANG_COOKIE = "o360_lang"
THEME_COOKIE = "o360_theme"
LAYOUT_COOKIE = "o360_layout"  # "low": the low-reach layout for wheelchair users
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)


@dataclass
class WebState:
    """In-memory counters of the pages; one per application (see docs/api.md, "Web pages")."""

    signin: RateLimiter = field(default_factory=RateLimiter)
    take: RateLimiter = field(default_factory=RateLimiter)


def web_state(request: Request) -> WebState:
    web = getattr(request.app.state, "web", None)
    if web is None:
        web = request.app.state.web = WebState()
    return web  # type: ignore[no-any-return]


def hub(request: Request) -> HubState:
    return request.app.state.hub  # type: ignore[no-any-return]


def settings(request: Request) -> Settings:
    return hub(request).service.settings


def language(request: Request, preferred: str | None = None) -> str:
    return pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
        preferred,
    )


def low_reach(request: Request) -> bool:
    """The low-reach layout (controls in the lower half of the screen) is on for this browser."""
    return request.cookies.get(LAYOUT_COOKIE) == "low"


def secure(request: Request) -> bool:
    s = settings(request)
    return secure_cookies(request, s.web.secure_cookies, s.hub.public_url)


def csrf_token(request: Request) -> str:
    """The CSRF cookie's token, or a fresh one that render() will set."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(24)
    return token


def form_csrf_ok(request: Request, presented: str | None, session: StaffSession | None) -> bool:
    """The form's token equals the CSRF cookie and, when signed in, belongs to the session."""
    token = csrf_from_request(request, presented or "")
    if token is None:
        return False
    return session is None or session.csrf_ok(token)


def render(
    request: Request, name: str, status: int = 200, *, private: bool = True, **context: Any
) -> HTMLResponse:
    lang = getattr(request.state, "lang", None) or language(request)  # a page may have chosen
    context.setdefault("session", getattr(request.state, "staff_session", None))
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": translator(lang),
            "csrf": csrf_token(request),
            "high_contrast": request.cookies.get(THEME_COOKIE) == "hc",
            "low_reach": low_reach(request),
            "path": request.url.path,
            "lang_url": lambda code: _with_lang(request, code),
            **context,
        },
        status_code=status,
    )
    return finish(request, response, private=private)


def finish(request: Request, response: Response, *, private: bool = True) -> Response:
    """Security headers, and the cookies this request decided to set."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The status link's token is in the URL: never send it to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if private:
        response.headers["Cache-Control"] = "no-store"
    new_csrf = getattr(request.state, "new_csrf", None)
    if new_csrf and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, new_csrf, httponly=True, samesite="lax", secure=secure(request), path="/"
        )
    lang = request.query_params.get("lang")
    if lang and lang == language(request) and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure(request)
        )
    return response


def _with_lang(request: Request, code: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", code))
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params)
    return f"{request.url.path}?{query}"


def redirect(request: Request, url: str) -> Response:
    return finish(request, RedirectResponse(url, status_code=303))


async def signed_in(request: Request, roles: tuple[str, ...]) -> StaffSession | Response:
    """The session, or a redirect to the sign-in page (403 page for a role that may not enter)."""
    session = await session_from_request(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, f"/signin?next={quote(target, safe='')}")
    if session.role not in roles:
        return render(request, "message.html", 403, title="403", message="err.forbidden")
    return session


def office_of(request: Request, session: StaffSession | None) -> OfficeSettings:
    s = settings(request)
    office = s.office(session.office_id if session else None)
    return office or s.default_office


def service_name(office: OfficeSettings, service_id: str, lang: str) -> str:
    service = next((s for s in office.services if s.id == service_id), None)
    if service is None:
        return service_id
    return service.names.get(lang) or next(iter(service.names.values()))
