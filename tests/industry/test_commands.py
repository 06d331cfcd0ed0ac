"""`idaas industry ...`: gateway secrets are shown once, stored encrypted, rotatable, revocable."""

from __future__ import annotations

import json

from tests.industry.conftest import Gateway


def test_secret_issue_rotate_revoke(app, client, runner, leak_guard):
    from idaas.applications import service as clients
    from idaas.audit.models import AuditEvent
    from idaas.extensions import db
    from idaas.industry.models import GatewayKey

    api_client, _ = clients.create_client("system", name="MES", scopes=["industry"])
    key = api_client.client_id
    issued = runner.invoke(args=["industry", "secret", key, "--json"])
    assert issued.exit_code == 0, issued.output
    first = json.loads(issued.output)["app_secret"]
    leak_guard.register(first)
    stored = db.session.scalar(db.select(GatewayKey.secret_encrypted))
    assert first not in stored and len(stored) > 60  # Fernet token, not the secret
    gateway = Gateway(client, key, first)
    assert gateway.data("/industry/user/role/all/list", {}) == []

    rotated = runner.invoke(args=["industry", "secret", key, "--json"])
    second = json.loads(rotated.output)["app_secret"]
    leak_guard.register(second)
    assert second != first
    assert gateway.post("/industry/user/role/all/list", {}).status_code == 401
    assert Gateway(client, key, second).data("/industry/user/role/all/list", {}) == []

    revoked = runner.invoke(args=["industry", "revoke-secret", key, "--json"])
    assert json.loads(revoked.output) == {"app_key": key, "revoked": True}
    refused = Gateway(client, key, second).post("/industry/user/role/all/list", {})
    assert refused.status_code == 400 and refused.get_json()["message"] == "Invalid AppKey"
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {
        "industry.gateway_secret_issued",
        "industry.gateway_secret_rotated",
        "industry.gateway_secret_revoked",
    } <= actions


def test_secret_for_unknown_client_fails(app, runner):
    result = runner.invoke(args=["industry", "secret", "ak_nope"])
    assert result.exit_code != 0 and "does not exist" in result.output


def test_purge_nonces(app, runner):
    from idaas.industry import nonces

    store = nonces.DatabaseNonces()
    assert nonces.consume(store, "ak_x", "old", 1000, 0)
    result = runner.invoke(args=["industry", "purge-nonces", "--json"])
    assert json.loads(result.output) == {"purged": 1}


def test_unreadable_secret_is_a_500_envelope(app, make_app):
    """A gateway secret encrypted with a key the deployment lost: 500, never a stack trace."""
    from cryptography.fernet import Fernet

    from tests.industry.conftest import make_gateway_client
    from tests.industry.signing import envelope, signed_headers

    key, secret = make_gateway_client()
    other = make_app(INDUSTRY_API_ENABLED=True, ENCRYPTION_KEYS=[Fernet.generate_key().decode()])
    path = "/industry/user/role/all/list"
    body = envelope({}, "1.0.1", request_id="trace-500")
    response = other.test_client().post(
        path, data=body, headers=signed_headers(key, secret, path, body)
    )
    assert response.status_code == 500
    assert response.get_json() == {
        "id": "trace-500",
        "code": 500,
        "message": "Internal Error",
        "localizedMsg": "系统错误",
        "data": None,
    }
