"""Errors raised by the directory service; each carries a message per offending field."""

from __future__ import annotations


class DirectoryError(Exception):
    """Base class: a directory write was refused and nothing was changed."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DirectoryError):
    """One or more fields are invalid; `fields` maps each to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
        super().__init__(summary, fields)


class NotFound(DirectoryError):
    """The object does not exist."""


class VersionConflict(DirectoryError):
    """The object changed since the caller read it (a stale ETag)."""


class SourceOwned(DirectoryError):
    """Fields owned by an external authority (e.g. DingTalk) cannot be edited locally."""
