"""The one place that maps error codes to HTTP statuses and JSON bodies."""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from office360.core.errors import Conflict, DomainError, Invalid, NotFound

log = logging.getLogger("office360.hub")

# What the database drivers raise when the server is away or the disk refuses a write. The hot path
# (hub/fastsql.py) runs statements on the DB-API cursor, so its errors arrive unwrapped.
try:
    from psycopg import OperationalError as _PostgresError
except ImportError:  # SQLite-only install
    _PostgresError = sqlite3.OperationalError  # type: ignore[misc, assignment]
DATABASE_DOWN = (OperationalError, sqlite3.OperationalError, _PostgresError)
_STORAGE_SIGNS = ("disk is full", "disk i/o error", "no space left", "could not extend file")
_last_logged: dict[str, float] = {}


class WriterUnavailable(Exception):
    """The writer process (hub/writer_process.py) cannot be reached: starting, restarting, gone.
    Nothing of the request was stored, or it was and a retry with its Idempotency-Key replays it."""


STATUS_BY_CODE = {
    "unauthorized": 401,
    "forbidden": 403,
    "csrf_failed": 403,
    "rate_limited": 429,
    "wrong_office": 403,
    "body_too_large": 413,
    "invalid_json": 400,
    "unsupported_media_type": 415,
    "service_unavailable": 503,
    "storage_full": 503,
    "pairing_code_unknown": 404,
    "pairing_code_taken": 409,
    "pairing_busy": 429,
}


def status_for(exc: DomainError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Invalid):
        return 422
    return 400


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "2"}
    return JSONResponse({"error": code, "message": message, **extra}, status, headers=headers)


BODY_PARSE_FAILED = "There was an error parsing the body"
"""FastAPI's detail when a JSON body could not be decoded at all."""


def domain_response(exc: DomainError) -> JSONResponse:
    """A domain error's answer; `retry_after_s` in its details becomes a Retry-After header."""
    response = error_response(status_for(exc), exc.code, exc.message)
    retry_after = exc.details.get("retry_after_s")
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


def handler_for(app: Any, exc: Exception) -> Any:
    """The application's handler for this exception (its most specific class), or None."""
    handlers = app.exception_handlers
    mro = type(exc).__mro__
    return next((handlers[k] for k in mro[: mro.index(Exception)] if k in handlers), None)


def _sent_not_json(request: Request) -> bool:
    """A body came with a Content-Type other than JSON (curl -d sends a form's)."""
    if request.headers.get("content-length", "0") == "0" and "transfer-encoding" not in (
        request.headers
    ):
        return False
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return not (kind == "application/json" or kind.endswith("+json"))


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_req: Request, exc: DomainError) -> JSONResponse:
        return domain_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        if first.get("loc", ("",))[0] == "body" and _sent_not_json(req):
            return error_response(
                415,
                "unsupported_media_type",
                "send the body as JSON, with the header Content-Type: application/json",
            )
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(
            422, "invalid_request", f"{where or 'request'}: {first.get('msg', 'invalid')}"
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        code = codes.get(exc.status_code, "http_error")
        if exc.status_code == 400 and exc.detail == BODY_PARSE_FAILED:  # e.g. not UTF-8, too deep
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        return error_response(exc.status_code, code, str(exc.detail))

    for kind in DATABASE_DOWN:
        app.add_exception_handler(kind, _database_down)  # type: ignore[arg-type]
    app.add_exception_handler(WriterUnavailable, _writer_unavailable)  # type: ignore[arg-type]


async def _writer_unavailable(_req: Request, exc: WriterUnavailable) -> JSONResponse:
    _log_once_a_minute("writer_unavailable", "%s", exc)
    response = error_response(
        503, "service_unavailable", "the hub is restarting its database writer; try again shortly"
    )
    response.headers["Retry-After"] = "1"
    return response


async def _database_down(_req: Request, exc: Exception) -> JSONResponse:
    """503, never a 500: `storage_full` when the disk refused a write (SQLITE_FULL, SQLITE_IOERR,
    PostgreSQL's disk_full), else `service_unavailable`. Nothing of the request was stored."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).lower()
    if any(sign in text for sign in _STORAGE_SIGNS) or getattr(orig, "sqlstate", "") == "53100":
        _log_once_a_minute("storage_full", "the hub's disk refuses writes: %s", orig)
        response = error_response(
            503,
            "storage_full",
            "the hub cannot write to its disk (full or failing); nothing was stored",
        )
        response.headers["Retry-After"] = "30"  # space comes back by a person's hand, not soon
        return response
    _log_once_a_minute("service_unavailable", "the database is unavailable: %s", orig)
    return error_response(
        503, "service_unavailable", "the database is unavailable; try again shortly"
    )


def _log_once_a_minute(code: str, message: str, *args: object) -> None:
    now = time.monotonic()
    if now - _last_logged.get(code, -60.0) >= 60.0:
        _last_logged[code] = now
        log.error(message, *args)
