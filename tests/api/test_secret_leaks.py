"""A client secret never appears in logs, audit rows, later API/CLI output or the database."""

from __future__ import annotations

import hashlib
import json

import requests
from sqlalchemy import select, text

from idaas.audit.models import AuditEvent


def _database_dump(db) -> str:
    """Every row of every table, as text."""
    chunks = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(text(f'SELECT * FROM "{table.name}"')):
                chunks.append(json.dumps([table.name, *map(str, row)], ensure_ascii=False))
    return "\n".join(chunks)


def test_client_secrets_do_not_leak(app, db, runner, live_server, leak_guard):
    created = json.loads(
        runner.invoke(
            args=[
                "clients",
                "create",
                "--name",
                "Leaky",
                "--scope",
                "directory:read",
                "--scope",
                "directory:write",
                "--scope",
                "clients:admin",
                "--json",
            ]
        ).output
    )
    client_id, first_secret = created["client_id"], created["client_secret"]
    rotated = json.loads(runner.invoke(args=["clients", "rotate", client_id, "--json"]).output)
    secret = rotated["client_secret"]
    leak_guard.register(first_secret, secret)

    base = live_server.url
    tokens = []
    for auth, data in (
        ((client_id, secret), {}),
        (None, {"client_id": client_id, "client_secret": secret}),
    ):
        response = requests.post(
            f"{base}/oauth2/token",
            auth=auth,
            timeout=10,
            data={"grant_type": "client_credentials", **data},
        )
        assert response.status_code == 200
        tokens.append(response.json()["access_token"])
    wrong = requests.post(
        f"{base}/oauth2/token",
        auth=(client_id, first_secret),
        timeout=10,
        data={"grant_type": "client_credentials"},
    )
    assert wrong.status_code == 401
    leak_guard.register(*tokens)
    auth_header = {"Authorization": f"Bearer {tokens[0]}"}

    reference = requests.post(
        f"{base}/api/v1/integration-requests",
        timeout=10,
        json={
            "name": "Vendor",
            "contact": "v@example.com",
            "scopes": ["directory:read"],
            "reason": "Pull accounts",
        },
    ).json()["reference"]
    approval = requests.post(
        f"{base}/api/v1/integration-requests/{reference}/approve",
        json={},
        headers=auth_header,
        timeout=10,
    )
    vendor_secret = approval.json()["client"]["client_secret"]
    leak_guard.register(vendor_secret)
    vendor_id = approval.json()["client"]["client_id"]
    vendor_token = requests.post(
        f"{base}/oauth2/token",
        auth=(vendor_id, vendor_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert vendor_token.status_code == 200
    created_account = requests.post(
        f"{base}/api/v1/accounts", json={"username": "zoe"}, headers=auth_header, timeout=10
    )
    assert created_account.status_code == 201

    later_outputs = [
        runner.invoke(args=["clients", "list", "--json"]).output,
        runner.invoke(args=["clients", "requests", "list", "--json"]).output,
        requests.get(f"{base}/api/v1/integration-requests/{reference}", timeout=10).text,
        requests.get(f"{base}/api/v1/integration-requests", headers=auth_header, timeout=10).text,
        requests.get(f"{base}/api/v1/accounts", headers=auth_header, timeout=10).text,
    ]
    audit_rows = [
        json.dumps([r.actor, r.action, r.target_type, r.target_id, r.details, r.user_agent])
        for r in db.session.scalars(select(AuditEvent))
    ]
    dump = _database_dump(db)
    assert hashlib.sha256(secret.encode()).hexdigest() in dump  # the dump does see the table
    assert client_id in dump and len(audit_rows) >= 8

    assert leak_guard.find([*later_outputs, *audit_rows, dump]) == []
