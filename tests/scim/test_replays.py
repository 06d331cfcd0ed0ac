"""Entra's and Okta's published provisioning request sequences, replayed over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from idaas.directory.models import Account, GroupMember
from idaas.events.models import ChangeEvent
from tests.oidc.helpers import make_client

FIXTURES = Path(__file__).parent / "fixtures"


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, found in ids.items():
            value = value.replace("{" + name + "}", found)
        return value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _contains(actual: Any, expected: Any) -> bool:
    """`expected` is a sub-document of `actual` (lists compared item by item)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def _replay(live_url: str, token: str, fixture: str) -> dict[str, str]:
    steps = json.loads((FIXTURES / fixture).read_text())["steps"]
    ids: dict[str, str] = {}
    with httpx.Client(
        base_url=live_url + "/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as http:
        for step in steps:
            body = _fill(step.get("body"), ids)
            response = http.request(
                step["method"],
                _fill(step["path"], ids),
                content=json.dumps(body) if body is not None else None,
                headers={"Content-Type": "application/scim+json"} if body is not None else {},
            )
            assert response.status_code == step["status"], (step["name"], response.text)
            if response.status_code == 204 or not response.content:
                continue
            data = response.json()
            assert _contains(data, _fill(step.get("expect", {}), ids)), (step["name"], data)
            for name in step.get("absent", []):
                assert name not in data, (step["name"], data)
            for name, key in step.get("capture", {}).items():
                ids[name] = data[key]
    return ids


def _token(live_url: str, leak_guard: Any) -> tuple[str, str]:
    client_id, secret = make_client("scim:read", "scim:write", leak_guard=leak_guard)
    response = httpx.post(
        live_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return client_id, response.json()["access_token"]


def test_entra_sequence(app, db, live_server, leak_guard):
    client_id, token = _token(live_server.url, leak_guard)
    _replay(live_server.url, token, "entra.json")
    assert db.session.scalar(select(Account).where(Account.username == "Test_User_member"))
    origins = set(db.session.scalars(select(ChangeEvent.origin)))
    assert origins == {f"scim:{client_id}"}


def test_okta_sequence(app, db, live_server, leak_guard):
    app.config["PASSWORD_REQUIRED_CLASSES"] = 2  # Okta's sample password: letters and digits
    leak_guard.register("1mz050nq")
    _, token = _token(live_server.url, leak_guard)
    ids = _replay(live_server.url, token, "okta.json")
    db.session.expire_all()
    account = db.session.scalar(select(Account).where(Account.uuid == ids["user"]))
    assert account.status == "active" and account.given_name == "Another"
    assert account.password_hash  # the password was set, never returned
    assert db.session.scalar(select(GroupMember)) is None


@pytest.mark.parametrize(
    "fixture", ["entra.json", "okta.json", "entra_manager.json", "okta_manager.json"]
)
def test_fixtures_cite_their_source(fixture):
    source = json.loads((FIXTURES / fixture).read_text())["source"]
    assert "https://" in source


@pytest.mark.parametrize("fixture", ["entra_manager.json", "okta_manager.json"])
def test_manager_sequences(app, db, live_server, leak_guard, fixture):
    """Entra sets the enterprise manager with a bare id string, Okta with an object."""
    _, token = _token(live_server.url, leak_guard)
    ids = _replay(live_server.url, token, fixture)
    db.session.expire_all()
    report = db.session.scalar(select(Account).where(Account.uuid == ids["user"]))
    manager = db.session.scalar(select(Account).where(Account.uuid == ids["manager"]))
    expected = manager.id if fixture.startswith("okta") else None
    assert report.manager_id == expected
