"""Fixtures of the SCIM push tests: a real scim2-server and an application pushing to it."""

from __future__ import annotations

import time
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


@pytest.fixture(params=["scim2-server", "scimmy"])
def any_target(request: pytest.FixtureRequest) -> Iterator[ScimTarget]:
    """Each SCIM server implementation nobody here wrote, on a loopback port."""
    from tests.scim_push.scimmy_server import scimmy_server

    with scim_server() if request.param == "scim2-server" else scimmy_server() as server:
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


def settled() -> bool:
    """No delivery is pending or running."""
    from sqlalchemy import func, select

    from idaas.events.models import Delivery
    from idaas.extensions import db

    db.session.rollback()
    live = db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.status.in_(("pending", "running")))
    )
    return live == 0


def settle(app: Any, timeout: float = 30.0) -> None:
    """Drain until no delivery is left, including those retried a moment later."""
    deadline = time.monotonic() + timeout
    drain(app)
    while not settled():
        assert time.monotonic() < deadline, "deliveries did not settle"
        time.sleep(0.1)
        drain(app)


from tests.api.conftest import api_as  # noqa: E402,F401  (the /api/v1 helper)


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    """The storm's workers must not outlive a failed test."""
    yield
    procs.stop_leftovers()
