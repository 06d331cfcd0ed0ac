"""Errors raised by the applications service; each carries a message per offending field."""

from __future__ import annotations

from idaas.errors import InvalidFields, ServiceError


class ApplicationError(ServiceError):
    """Base class: a change to API clients or integration requests was refused."""


class InvalidInput(InvalidFields, ApplicationError):
    """One or more fields are invalid; `fields` maps each to its message."""


class ClientNotFound(ApplicationError):
    """No API client (or integration request) with that identifier."""


class AlreadyDecided(ApplicationError):
    """The integration request was already approved or rejected."""
