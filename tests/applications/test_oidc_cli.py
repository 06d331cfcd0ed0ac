"""`idaas clients create --kind oidc`, `idaas apps list|show|disable` (issue 6, scope 8)."""

from __future__ import annotations

import json
from typing import Any


def oidc_args(name: str, redirect_uri: str, *flags: str) -> list[str]:
    """The arguments of `idaas clients create --kind oidc` for one application."""
    return [
        "clients",
        "create",
        "--kind",
        "oidc",
        "--name",
        name,
        "--redirect-uri",
        redirect_uri,
        *flags,
    ]


def create_oidc(runner: Any, name: str, redirect_uri: str, *flags: str) -> dict[str, Any]:
    """`idaas clients create --kind oidc ... --json`, parsed."""
    result = runner.invoke(args=oidc_args(name, redirect_uri, *flags, "--json"))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_create_confidential_and_public_oidc_clients(runner, leak_guard):
    data = create_oidc(
        runner,
        "ERP",
        "https://erp.example.com/cb",
        *("--redirect-uri", "https://erp.example.com/cb2"),
        *("--post-logout-redirect-uri", "https://erp.example.com/bye"),
        *("--scope", "openid", "--scope", "profile", "--grant", "authorization_code"),
        *("--no-consent", "--id-token-alg", "RS256"),
    )
    leak_guard.register(data["client_secret"])
    assert data["client_id"].startswith("app_") and data["id_token_alg"] == "RS256"
    assert data["grant_types"] == ["authorization_code"] and data["consent_required"] is False
    assert data["redirect_uris"] == ["https://erp.example.com/cb", "https://erp.example.com/cb2"]

    spa = create_oidc(runner, "SPA", "https://spa.example.com/cb", "--public")
    assert "client_secret" not in spa and spa["public"] and spa["pkce_required"]
    assert spa["grant_types"] == ["authorization_code", "refresh_token"]

    listed = json.loads(runner.invoke(args=["apps", "list", "--json"]).output)
    assert [a["name"] for a in listed] == ["ERP", "SPA"]
    shown = json.loads(runner.invoke(args=["apps", "show", spa["client_id"], "--json"]).output)
    assert shown["client_id"] == spa["client_id"]
    disabled = runner.invoke(args=["apps", "disable", spa["client_id"], "--json"])
    assert json.loads(disabled.output)["enabled"] is False


def test_oidc_needs_redirect_uri_and_rejects_bad_input(runner):
    missing = runner.invoke(args=["clients", "create", "--kind", "oidc", "--name", "X"])
    assert missing.exit_code != 0 and "--redirect-uri" in missing.output
    bad = runner.invoke(args=oidc_args("X", "https://x.example.com/cb#frag", "--scope", "openid"))
    assert bad.exit_code != 0 and "fragment" in bad.output
    unknown = runner.invoke(args=["apps", "show", "app_nope"])
    assert unknown.exit_code != 0


def test_subaccount_association_from_the_cli(runner, account, leak_guard):
    from idaas.applications import apps

    app, secret = apps.create_application(
        "system",
        name="ERP",
        redirect_uris=["https://erp.example.com/cb"],
        subaccount_mode="association",
    )
    leak_guard.register(secret)
    proposed = runner.invoke(
        args=["apps", "subaccount-propose", app.client_id, "alice", "E-0042", "--json"]
    )
    row = json.loads(proposed.output)
    assert row["status"] == "pending"
    assert apps.app_username(app, account) == (None, "pending")
    decided = runner.invoke(args=["apps", "subaccount-decide", str(row["id"]), "--approve"])
    assert decided.exit_code == 0
    assert apps.app_username(app, account) == ("E-0042", "ok")


def test_rotate_an_application_secret(runner, leak_guard):
    from idaas.applications import apps
    from idaas.oidc.server import authorization

    created = create_oidc(runner, "CRM", "https://crm.example.com/cb")
    old = created["client_secret"]
    rotated = runner.invoke(args=["apps", "rotate-secret", created["client_id"], "--json"])
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.output)["client_secret"]
    leak_guard.register(old, new)
    assert new != old
    app = apps.get_application(created["client_id"])
    assert app.check_client_secret(new) and not app.check_client_secret(old)
    assert authorization.query_client(created["client_id"]) is not None
    public = create_oidc(runner, "SPA", "https://spa.example.com/cb", "--public")
    refused = runner.invoke(args=["apps", "rotate-secret", public["client_id"]])
    assert refused.exit_code != 0 and "public client has no secret" in refused.output
