"""Client-side flow control: each app under N calls per second per API.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  how-to-process-api-throttling-on-the-dingtalk-server.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator


class RateLimiter:
    """A sliding one-second window per (app key, API); `acquire` sleeps until a call may go out."""

    def __init__(
        self,
        qps: float | None = 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.qps = qps
        self.clock = clock
        self.sleep = sleep
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, app_key: str, api: str) -> float:
        """Block until a call to `api` for `app_key` fits in the window; return seconds waited."""
        if not self.qps:
            return 0.0
        limit = max(1, int(self.qps))
        waited = 0.0
        while True:
            delay = self._try(app_key, api, limit)
            if delay <= 0:
                return waited
            self.sleep(delay)
            waited += delay

    def _try(self, app_key: str, api: str, limit: int) -> float:
        """Take a place in the window (0) or say how long to wait for one."""
        with self._lock:
            window = self._windows.setdefault((app_key, api), deque())
            now = self.clock()
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) < limit:
                window.append(now)
                return 0.0
            return 1.0 - (now - window[0]) + 0.001


def backoff_delays(
    first: float = 1.0, factor: float = 2.0, cap: float = 16.0, tries: int = 6
) -> Iterator[float]:
    """Delays after throttle responses: about 1 s, then exponential (1, 2, 4, …) up to `cap`."""
    delay = first
    for _ in range(tries):
        yield min(delay, cap)
        delay *= factor
