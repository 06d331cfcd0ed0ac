"""Fixtures of the engine tests: a recording loopback receiver and an app with a webhook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.events import procs
from tests.events.recorder import Recorder, serve

FAST_RETRIES = {
    "EVENTS_RETRY_BASE_SECONDS": 0.4,
    "EVENTS_RETRY_MAX_SECONDS": 30.0,
    "EVENTS_DELIVERY_TIMEOUT": 1.0,
    "EVENTS_POLL_SECONDS": 0.2,
}


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    """A recording receiver on a loopback port and its URL."""
    rec = Recorder()
    with serve(rec) as server:
        yield rec, server.url


def hook(url: str, **extra: Any) -> list[dict[str, Any]]:
    """An EVENTS_WEBHOOKS value with one webhook `hook` on department and account events."""
    return [{"name": "hook", "url": url, "events": ["department.*", "account.*"], **extra}]


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    """Workers left by a failed test would drain the next test's jobs and deliveries."""
    yield
    procs.stop_leftovers()
