"""Integration requests: a third party asks, an administrator approves or rejects."""

from __future__ import annotations

from sqlalchemy import select

from idaas.audit.models import AuditEvent
from tests.oidc.helpers import fetch_token

REQUEST = {
    "name": "HR console",
    "contact": "it@hr.example.com",
    "scopes": ["directory:read", "directory:write"],
    "reason": "Sync new hires.\nDaily.",
}


def test_request_then_approve_creates_a_working_client(app, client, api_as, db, leak_guard):
    submitted = client.post("/api/v1/integration-requests", json=REQUEST)
    assert submitted.status_code == 201
    status = submitted.get_json()
    reference = status["reference"]
    assert reference.startswith("ir_") and len(reference) >= 35
    assert status["status"] == "pending" and "contact" not in status
    assert submitted.headers["Location"] == f"/api/v1/integration-requests/{reference}"
    assert client.get(f"/api/v1/integration-requests/{reference}").get_json()["status"] == "pending"

    reader = api_as("directory:read")
    refused = reader("GET", "/integration-requests")
    assert refused.status_code == 403 and refused.get_json()["error"] == "insufficient_scope"

    admin = api_as("clients:admin")
    listed = admin("GET", "/integration-requests?status=pending").get_json()["items"]
    assert [r["reference"] for r in listed] == [reference]
    assert listed[0]["contact"] == "it@hr.example.com"

    approved = admin(
        "POST", f"/integration-requests/{reference}/approve", {"scopes": ["directory:read"]}
    )
    assert approved.status_code == 200
    assert approved.headers["Cache-Control"] == "no-store"
    new_client = approved.get_json()["client"]
    secret = new_client["client_secret"]
    leak_guard.register(secret)
    assert new_client["scopes"] == ["directory:read"]
    assert approved.get_json()["request"]["status"] == "approved"

    token = fetch_token(client, new_client["client_id"], secret)
    assert (
        client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    public = client.get(f"/api/v1/integration-requests/{reference}").get_json()
    assert public["status"] == "approved" and secret not in str(public)

    again = admin("POST", f"/integration-requests/{reference}/approve", {})
    assert again.status_code == 409
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "integration_request.submitted",
        "integration_request.approved",
        "api_client.created",
    } <= actions


def test_reject_with_a_reason_the_requester_sees(app, client, api_as):
    reference = client.post("/api/v1/integration-requests", json=REQUEST).get_json()["reference"]
    admin = api_as("clients:admin")
    rejected = admin(
        "POST",
        f"/integration-requests/{reference}/reject",
        {"reason": "Use the SCIM connector instead."},
    )
    assert rejected.status_code == 200
    seen = client.get(f"/api/v1/integration-requests/{reference}").get_json()
    assert seen["status"] == "rejected"
    assert seen["decision_reason"] == "Use the SCIM connector instead."
    assert (
        admin("POST", f"/integration-requests/{reference}/reject", {"reason": "again"}).status_code
        == 409
    )
    assert client.get("/api/v1/integration-requests/unknown-reference").status_code == 404


def test_bad_requests_and_rate_limit(make_app, leak_guard):
    app = make_app(INTEGRATION_REQUEST_RATE_LIMIT="2 per hour")
    http = app.test_client()
    bad = http.post("/api/v1/integration-requests", json={**REQUEST, "scopes": ["root"]})
    assert bad.status_code == 422 and "scopes.0" in bad.get_json()["fields"]
    assert http.post("/api/v1/integration-requests", json=REQUEST).status_code == 201
    limited = http.post("/api/v1/integration-requests", json=REQUEST)
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
