"""Request and response schemas (they make the OpenAPI document)."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueTicket(Strict):
    service: str = Field(min_length=1, max_length=40)
    priority: str | None = Field(None, max_length=40)
    lang: str | None = Field(None, max_length=8)
    channel: Literal["walk_in", "appointment", "phone", "web"] = "walk_in"
    office: str | None = Field(None, max_length=40)


class Transfer(Strict):
    service: str = Field(min_length=1, max_length=40)


MAX_DETAILS_DEPTH = 8
MAX_DETAILS_BYTES = 4096


def details_problem(details: Any) -> str | None:
    """Why a health report's `details` cannot be kept and listed back, or None when it can: at
    most MAX_DETAILS_DEPTH levels of objects and lists (the object itself is one), string keys,
    finite numbers, at most MAX_DETAILS_BYTES as JSON. Iterative: any depth is safe to check."""
    stack: list[tuple[Any, int]] = [(details, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DETAILS_DEPTH:
                return f"nested deeper than {MAX_DETAILS_DEPTH} levels"
            if isinstance(value, dict):
                if not all(isinstance(key, str) for key in value):
                    return "object keys must be strings"
                children = list(value.values())
            else:
                children = value
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(value, float) and not math.isfinite(value):
            return "numbers must be finite"
        elif not (value is None or isinstance(value, str | int | float | bool)):
            return f"{type(value).__name__} is not a JSON value"
    size = len(json.dumps(details, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DETAILS_BYTES:
        return f"{size} bytes as JSON, more than {MAX_DETAILS_BYTES}"
    return None


class HealthReport(Strict):
    device: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")
    version: str = Field("", max_length=40)
    printer: str = Field("unknown", max_length=40)
    camera: str = Field("unknown", max_length=40)
    details: dict[str, Any] = Field(
        default_factory=dict,
        description=f"free-form JSON: at most {MAX_DETAILS_DEPTH} levels, {MAX_DETAILS_BYTES} bytes",
    )

    @field_validator("details")
    @classmethod
    def _details_fit(cls, details: dict[str, Any]) -> dict[str, Any]:
        problem = details_problem(details)
        if problem:
            raise ValueError(problem)
        return details


class ErrorBody(BaseModel):
    error: str
    message: str


class Ticket(BaseModel):
    id: int
    office: str
    number: str
    service: str
    service_names: dict[str, str]
    status: str
    priority: str | None
    lang: str
    channel: str
    position: int | None
    estimated_wait_s: int | None
    issued_at: str
    called_at: str | None
    desk: str | None
    desk_name: str | None
    recalls: int
    status_url: str | None
    """The citizen's phone page; null for display tokens and in /queue (its token can cancel)."""


class ServiceInfo(BaseModel):
    id: str
    prefix: str
    names: dict[str, str]
    icon: str
    desks: list[str]


class ServiceStats(BaseModel):
    service: str
    waiting: int
    longest_wait_s: int
    estimated_wait_s: int | None


class DeskInfo(BaseModel):
    id: str
    name: str
    services: list[str]
    state: str
    current: Ticket | None = None


class QueueState(BaseModel):
    office: str
    at: str
    services: list[ServiceStats]
    desks: list[DeskInfo]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 415, 422, 503)
}
