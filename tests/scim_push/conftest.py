"""Fixtures of the SCIM push tests: a real scim2-server and an application pushing to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.events import procs
from tests.scim_push.server import ScimTarget, scim_server

FAST = {
    "EVENTS_RETRY_BASE_SECONDS": 0.2,
    "EVENTS_RETRY_MAX_SECONDS": 2.0,
    "EVENTS_DELIVERY_TIMEOUT": 1.0,
    "EVENTS_POLL_SECONDS": 0.1,
}


@pytest.fixture
def target() -> Iterator[ScimTarget]:
    """A scim2-server on a loopback port."""
    with scim_server() as server:
        yield server


def make_application(name: str = "Expenses", **fields: Any) -> Any:
    """An application (OIDC client) to provision."""
    from idaas.applications import apps

    return apps.create_application(
        "system", name=name, redirect_uris=["https://app.example.com/cb"], **fields
    )[0]


def push_to(app_row: Any, url: str, **settings: Any) -> Any:
    """Give the application a SCIM push target at `url`; test it (capabilities)."""
    from idaas.scim.push import settings as push_settings

    target = push_settings.save("admin:1", app_row.client_id, {"base_url": url, **settings})
    push_settings.test_connection("admin:1", app_row.client_id)
    return target


def drain(app: Any) -> None:
    """Run every due delivery and job in this process."""
    from idaas.events.worker import Worker

    Worker(app).drain()


from tests.api.conftest import api_as  # noqa: E402,F401  (the /api/v1 helper)


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    """The storm's workers must not outlive a failed test."""
    yield
    procs.stop_leftovers()
