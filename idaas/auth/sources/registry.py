"""The registry of sign-in method types (`AuthSource` subclasses) by name."""

from __future__ import annotations

from idaas.auth.sources.base import AuthSource

_TYPES: dict[str, type[AuthSource]] = {}


def register_type(cls: type[AuthSource]) -> type[AuthSource]:
    """Make a source type available to configured sources (usable as a class decorator)."""
    _TYPES[cls.type] = cls
    return cls


def source_types() -> dict[str, type[AuthSource]]:
    """The registered source types by name."""
    return dict(_TYPES)
