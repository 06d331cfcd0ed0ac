"""Plain-dict views of API clients and integration requests for the CLI and JSON APIs."""

from __future__ import annotations

from typing import Any

from idaas.applications.models import ApiClient, Application, IntegrationRequest
from idaas.serialise import columns


def client_to_dict(client: ApiClient) -> dict[str, Any]:
    """An API client as JSON-ready data (never the secret or its hash)."""
    return {
        "kind": "api",
        **columns(client, "client_id name note owner", lists="scopes"),
        **columns(
            client,
            "enabled created_by",
            times="created_at secret_rotated_at last_used_at",
        ),
    }


def request_to_dict(request: IntegrationRequest, *, full: bool = True) -> dict[str, Any]:
    """An integration request as JSON-ready data (`full=False`: what the requester may see)."""
    data = {
        **columns(request, "reference name", lists="scopes"),
        "status": request.current_status,
        **columns(request, "", times="created_at decided_at"),
        "decision_reason": request.decision_reason,
    }
    if full:
        data.update(columns(request, "contact reason decided_by"))
    return data


def application_to_dict(app: Application) -> dict[str, Any]:
    """An application and its OIDC client registration (never the secret or its hash)."""
    return {
        "kind": "oidc",
        **columns(app, "client_id name description icon_url"),
        "display_names": dict(app.display_names or {}),
        **columns(app, "enabled show_in_portal initiate_login_uri"),
        "policy": dict(app.policy or {"everyone": True}),
        "public": app.is_public,
        **columns(app, "", lists="redirect_uris post_logout_redirect_uris grant_types scopes"),
        **columns(
            app,
            "token_endpoint_auth_method id_token_alg access_token_lifetime refresh_token_lifetime "
            "id_token_lifetime consent_required pkce_required subject_type sector_identifier "
            "backchannel_logout_uri frontchannel_logout_uri subaccount_mode subaccount_rule "
            "subaccount_as_sub",
        ),
        "claim_mapping": dict(app.claim_mapping or {}),
        **columns(app, "version", times="created_at"),
    }
