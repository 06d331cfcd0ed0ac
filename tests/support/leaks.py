"""Track secret values used by tests and find them where they must never appear."""

from __future__ import annotations

import logging


class LeakGuard(logging.Handler):
    """Captures every log record; `find()` reports which registered secrets appear in them."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.secrets: set[str] = set()
        self.messages: list[str] = []

    def register(self, *values: str | None) -> None:
        """Remember values (passwords, client secrets, tokens) that must never be logged."""
        self.secrets.update(v for v in values if v and len(v) >= 6)

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the formatted message, including any exception text."""
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.messages.append(text)

    def find(self, extra_texts: list[str] = ()) -> list[str]:  # type: ignore[assignment]
        """The registered secrets that appear in captured logs or in `extra_texts`."""
        haystack = "\n".join([*self.messages, *extra_texts])
        return sorted(secret for secret in self.secrets if secret in haystack)
