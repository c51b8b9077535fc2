"""Plugs the staff, phone and admin pages into the hub application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse
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
    # Pages link /static/favicon.svg; browsers that still ask for /favicon.ico get the same icon.
    app.add_api_route("/favicon.ico", _favicon, methods=["GET"], include_in_schema=False)


async def _favicon() -> FileResponse:
    return FileResponse(
        HERE / "static" / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
