"""Domain errors with stable snake_case codes. hub/errors.py maps codes to HTTP statuses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An expected failure with a stable code a client can act on."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"


class NotFound(DomainError):
    """The thing named does not exist (unknown service, desk, ticket, office)."""


class Conflict(DomainError):
    """The request is valid but the current state does not allow it."""


class Invalid(DomainError):
    """The request itself is wrong whatever the state."""
