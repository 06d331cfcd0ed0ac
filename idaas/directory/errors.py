"""Errors raised by the directory service; each carries a message per offending field."""

from __future__ import annotations

from idaas.errors import InvalidFields, ServiceError


class DirectoryError(ServiceError):
    """Base class: a directory write was refused and nothing was changed."""


class ValidationFailed(InvalidFields, DirectoryError):
    """One or more fields are invalid; `fields` maps each to its message."""


class NotFound(DirectoryError):
    """The object does not exist."""


class VersionConflict(DirectoryError):
    """The object changed since the caller read it (a stale ETag)."""


class SourceOwned(DirectoryError):
    """Fields owned by an external authority (e.g. DingTalk) cannot be edited locally."""
