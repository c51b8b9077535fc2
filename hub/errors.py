"""The one place that maps error codes to HTTP statuses and JSON bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from office360.core.errors import Conflict, DomainError, Invalid, NotFound

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


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_req: Request, exc: DomainError) -> JSONResponse:
        return error_response(status_for(exc), exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(
            422, "invalid_request", f"{where or 'request'}: {first.get('msg', 'invalid')}"
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        code = codes.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(OperationalError)
    async def _db_down(_req: Request, exc: OperationalError) -> JSONResponse:
        message = "the database is unavailable; try again shortly"
        if "disk" in str(exc.orig).lower() or "full" in str(exc.orig).lower():
            message = "the hub's disk is full; nothing was stored"
        return error_response(503, "service_unavailable", message)
