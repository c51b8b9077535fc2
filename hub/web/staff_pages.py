"""Plugs the staff, phone and admin pages into the hub application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import admin, admin_notifications, auth_pages, desk, phone
from .common import HERE, WebState


def install(app: FastAPI) -> None:
    for module in (auth_pages, desk, phone, admin, admin_notifications):
        app.include_router(module.router)
    # The booking pages share hub/web/static: mount it once, whoever comes first.
    if not any(getattr(r, "path", None) == "/static" for r in app.routes):
        app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.web = WebState()
