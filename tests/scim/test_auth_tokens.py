"""Who may call /scim/v2: client-credentials tokens with SCIM scopes, and static tokens."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from idaas.applications import service as clients
from idaas.audit.models import AuditEvent
from idaas.scim import tokens
from idaas.scim.models import ScimToken
from tests.oidc.helpers import bearer, fetch_token, make_client
from tests.scim.conftest import SCIM, new_user


def _error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    return body


def test_no_token_is_a_scim_401_with_a_challenge(client):
    response = client.get("/scim/v2/Users")
    _error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_garbage_token_is_401(client):
    response = client.get("/scim/v2/Users", headers=bearer("not-a-token"))
    _error(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_token_without_scim_scope_is_403(app, client, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    token = fetch_token(client, client_id, secret)
    response = client.get("/scim/v2/Users", headers=bearer(token))
    _error(response, 403)
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_read_scope_reads_but_cannot_write(scim_as):
    reader = scim_as("scim:read")
    assert reader("GET", "/Users").status_code == 200
    _error(reader("POST", "/Users", new_user()), 403)
    assert reader("GET", '/Users?filter=userName eq "bjensen"').get_json()["totalResults"] == 0


def test_disabled_client_token_stops_working(scim):
    assert scim("GET", "/Users").status_code == 200
    clients.set_enabled("system", scim.client_id, False)
    _error(scim("GET", "/Users"), 401)


def _api_admin(client, leak_guard):
    client_id, secret = make_client("clients:admin", name="Admin", leak_guard=leak_guard)
    return bearer(fetch_token(client, client_id, secret))


def test_static_token_life_cycle_over_the_api(app, client, db, leak_guard):
    """Create (shown once, stored as SHA-256), use, list, revoke (audited): all via /api/v1."""
    hr_id, _ = make_client("scim:read", "scim:write", name="HR", leak_guard=leak_guard)
    admin = _api_admin(client, leak_guard)
    created = client.post(
        f"/api/v1/clients/{hr_id}/scim-tokens", json={"name": "HR console"}, headers=admin
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
    data = created.get_json()
    token = data["token"]
    leak_guard.register(token)
    assert token.startswith(tokens.TOKEN_PREFIX)
    assert data["scopes"] == ["scim:read", "scim:write"]
    row = db.session.scalar(select(ScimToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str([row.name, row.prefix, row.scopes, row.token_hash])

    made = client.post(
        "/scim/v2/Users",
        data='{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann",'
        ' "active": true}',
        content_type=SCIM,
        headers=bearer(token),
    )
    assert made.status_code == 201, made.get_data(as_text=True)

    listed = client.get(f"/api/v1/clients/{hr_id}/scim-tokens", headers=admin).get_json()
    assert [t["name"] for t in listed["items"]] == ["HR console"]
    assert "token" not in listed["items"][0]
    assert listed["items"][0]["last_used_at"] is not None

    revoked = client.delete(f"/api/v1/clients/{hr_id}/scim-tokens/{data['id']}", headers=admin)
    assert revoked.status_code == 204
    _error(client.get("/scim/v2/Users", headers=bearer(token)), 401)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"scim_token.created", "scim_token.revoked"} <= actions


def test_static_token_needs_the_clients_scim_scopes(app, client, leak_guard):
    other_id, _ = make_client("directory:read", name="No SCIM", leak_guard=leak_guard)
    admin = _api_admin(client, leak_guard)
    refused = client.post(
        f"/api/v1/clients/{other_id}/scim-tokens", json={"name": "x"}, headers=admin
    )
    assert refused.status_code == 422
    missing = client.post("/api/v1/clients/ak_nope/scim-tokens", json={"name": "x"}, headers=admin)
    assert missing.status_code == 404


def test_read_only_static_token(app, client, leak_guard):
    hr_id, _ = make_client("scim:read", "scim:write", name="HR", leak_guard=leak_guard)
    _, token = tokens.issue("system", hr_id, "reader", ["scim:read"])
    leak_guard.register(token)
    assert client.get("/scim/v2/Users", headers=bearer(token)).status_code == 200
    response = client.post("/scim/v2/Users", data="{}", content_type=SCIM, headers=bearer(token))
    _error(response, 403)


def test_static_token_dies_with_its_client(app, client, leak_guard):
    hr_id, _ = make_client("scim:read", "scim:write", name="HR", leak_guard=leak_guard)
    _, token = tokens.issue("system", hr_id, "console")
    leak_guard.register(token)
    clients.set_enabled("system", hr_id, False)
    _error(client.get("/scim/v2/Users", headers=bearer(token)), 401)


def test_last_used_is_written_at_most_once_a_minute(app, client, db, leak_guard, monkeypatch):
    """A conditional UPDATE keeps writes to one a minute, whatever the request rate."""
    hr_id, _ = make_client("scim:read", name="HR", leak_guard=leak_guard)
    row, token = tokens.issue("system", hr_id, "console")
    leak_guard.register(token)
    start = tokens.utcnow()
    now = [start]
    monkeypatch.setattr(tokens, "utcnow", lambda: now[0])
    client.get("/scim/v2/Users", headers=bearer(token))
    db.session.expire_all()
    assert db.session.get(ScimToken, row.id).last_used_at == start
    now[0] = start + timedelta(seconds=59)
    client.get("/scim/v2/Users", headers=bearer(token))
    db.session.expire_all()
    assert db.session.get(ScimToken, row.id).last_used_at == start
    now[0] = start + timedelta(seconds=61)
    client.get("/scim/v2/Users", headers=bearer(token))
    db.session.expire_all()
    assert db.session.get(ScimToken, row.id).last_used_at == start + timedelta(seconds=61)


def test_cli_scim_tokens(app, runner, leak_guard):
    import json

    hr_id, _ = make_client("scim:read", "scim:write", name="HR", leak_guard=leak_guard)
    made = runner.invoke(
        args=["clients", "scim-tokens", "create", hr_id, "--name", "cli", "--json"]
    )
    assert made.exit_code == 0, made.output
    data = json.loads(made.output)
    leak_guard.register(data["token"])
    listed = runner.invoke(args=["clients", "scim-tokens", "list", hr_id])
    assert "cli" in listed.output and data["token"] not in listed.output
    gone = runner.invoke(args=["clients", "scim-tokens", "revoke", hr_id, str(data["id"])])
    assert gone.exit_code == 0, gone.output
    assert tokens.verify(data["token"]) is None
    bad = runner.invoke(args=["clients", "scim-tokens", "revoke", hr_id, "999"])
    assert bad.exit_code != 0
