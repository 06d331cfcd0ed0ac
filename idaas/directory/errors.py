"""Errors raised by the directory service; each carries a message per offending field."""

from __future__ import annotations

from idaas.errors import ServiceError


class DirectoryError(ServiceError):
    """Base class: a directory write was refused and nothing was changed."""


class ValidationFailed(DirectoryError):
    """One or more fields are invalid; `fields` maps each to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(self.summary(fields), fields)


class NotFound(DirectoryError):
    """The object does not exist."""


class VersionConflict(DirectoryError):
    """The object changed since the caller read it (a stale ETag)."""


class SourceOwned(DirectoryError):
    """Fields owned by an external authority (e.g. DingTalk) cannot be edited locally."""
