"""A loopback HTTP receiver that records every delivery and answers as a test scripts it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.support.live import LiveServer


@dataclass
class Hit:
    """One request the receiver got."""

    at: float
    ended: float
    delivery: str
    body: dict[str, Any]
    form: dict[str, str]
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""


@dataclass
class Recorder:
    """Records requests; `answer(request, n)` returns (status, headers, delay) for the n-th."""

    answer: Callable[[Request, int], tuple[int, dict[str, str], float]] | None = None
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    active: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        started = time.time()
        raw = request.get_data()
        try:
            body = json.loads(raw) if request.is_json else {}
        except ValueError:
            body = {}
        delivery = request.headers.get("Idempotency-Key", "")
        with self.lock:
            number = len(self.hits) + sum(self.active.values())
            if delivery and self.active.get(delivery):
                self.overlaps.append(delivery)
            self.active[delivery] = self.active.get(delivery, 0) + 1
        status, headers, delay = (
            self.answer(request, number) if self.answer is not None else (200, {}, 0.0)
        )
        if delay:
            time.sleep(delay)
        with self.lock:
            self.active[delivery] -= 1
            self.hits.append(
                Hit(
                    started,
                    time.time(),
                    delivery,
                    body,
                    dict(request.form),
                    status,
                    dict(request.headers),
                    raw,
                )
            )
        return Response(f"answer {status}", status=status, headers=headers)(environ, start_response)

    def delivered(self) -> list[Hit]:
        """The hits answered with 2xx."""
        with self.lock:
            return [h for h in self.hits if 200 <= h.status < 300]

    def wait_for(self, predicate: Callable[[Recorder], bool], timeout: float = 30.0) -> None:
        """Wait until `predicate(self)` holds, or fail."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate(self):
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; {len(self.hits)} hits so far")


def serve(recorder: Recorder) -> LiveServer:
    """Serve the recorder on a loopback port (use as a context manager)."""
    return LiveServer(recorder)
