"""The hub's web pages: Jinja2 templates and static files shared by every page.

`templates` renders from hub/web/templates; `mount_static(app)` serves hub/web/static at /static
(office360.css is the shared style sheet: each page keeps its own rules under its own scope,
e.g. `.booking`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

# Pages hold no third-party content; the manage links carry a token, so no Referer leaves.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def mount_static(app: FastAPI) -> None:
    if not any(getattr(r, "path", None) == "/static" for r in app.routes):
        app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
