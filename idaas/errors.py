"""The base of the errors a service raises when it refuses a change (nothing was written)."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused change: a message for people, and one message per offending input field."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    @staticmethod
    def summary(fields: dict[str, str]) -> str:
        """`field: message; ...`, the message of an error about several fields."""
        return "; ".join(f"{name}: {message}" for name, message in fields.items())


class InvalidFields(ServiceError):
    """One or more fields are invalid; `fields` maps each to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(self.summary(fields), fields)
