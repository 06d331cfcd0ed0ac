"""Errors raised by the applications service; each carries a message per offending field."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base class: a change to API clients or integration requests was refused."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(ApplicationError):
    """One or more fields are invalid; `fields` maps each to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()), fields)


class ClientNotFound(ApplicationError):
    """No API client (or integration request) with that identifier."""


class AlreadyDecided(ApplicationError):
    """The integration request was already approved or rejected."""
