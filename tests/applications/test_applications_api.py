"""`/api/v1/applications` CRUD with the `applications:admin` scope (issue 6)."""

from __future__ import annotations

from tests.oidc.helpers import bearer, fetch_token, make_client


def test_applications_crud(client, leak_guard):
    client_id, secret = make_client("applications:admin", leak_guard=leak_guard)
    headers = bearer(fetch_token(client, client_id, secret))
    created = client.post(
        "/api/v1/applications",
        json={
            "name": "ERP",
            "redirect_uris": ["https://erp.example.com/cb"],
            "scopes": ["openid", "profile"],
            "policy": {"groups": [1]},
            "id_token_alg": "RS256",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    leak_guard.register(body["client_secret"])
    app_id = body["client_id"]
    assert created.headers["Location"].endswith(f"/api/v1/applications/{app_id}")
    shown = client.get(f"/api/v1/applications/{app_id}", headers=headers).get_json()
    assert "client_secret" not in shown and shown["policy"]["groups"] == [1]
    changed = client.patch(
        f"/api/v1/applications/{app_id}",
        json={"enabled": False, "subject_type": "pairwise"},
        headers=headers,
    )
    assert changed.status_code == 200 and changed.get_json()["enabled"] is False
    bad = client.patch(
        f"/api/v1/applications/{app_id}", json={"scopes": ["profile"]}, headers=headers
    )
    assert bad.status_code == 422
    listed = client.get("/api/v1/applications", headers=headers).get_json()["items"]
    assert [a["client_id"] for a in listed] == [app_id]
    assert client.delete(f"/api/v1/applications/{app_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/applications/{app_id}", headers=headers).status_code == 404


def test_applications_need_the_scope(client, leak_guard):
    client_id, secret = make_client("directory:read", leak_guard=leak_guard)
    headers = bearer(fetch_token(client, client_id, secret))
    assert client.get("/api/v1/applications", headers=headers).status_code == 403
