"""The engine's clock: UTC now plus an offset that tests move forward (a controlled clock)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask import current_app

from idaas.extensions import utcnow


class Clock:
    """Naive-UTC `now()` and epoch `time()`, both shifted by `offset` seconds."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> datetime:
        """The current (shifted) time as a naive UTC datetime, as the tables store it."""
        return utcnow() + timedelta(seconds=self.offset)

    def time(self) -> float:
        """The current (shifted) time in seconds since the epoch."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move this clock forward (tests: a minute of RP downtime, 24 hours to dead letter)."""
        self.offset += seconds


def clock() -> Clock:
    """The current app's engine clock."""
    found: Clock = current_app.extensions["idaas_clock"]
    return found
