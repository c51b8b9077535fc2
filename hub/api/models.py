"""Request and response schemas (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class HealthReport(Strict):
    device: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")
    version: str = Field("", max_length=40)
    printer: str = Field("unknown", max_length=40)
    camera: str = Field("unknown", max_length=40)
    details: dict[str, Any] = Field(default_factory=dict)


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
    status_url: str


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
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}
