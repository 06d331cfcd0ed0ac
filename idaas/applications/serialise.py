"""Plain-dict views of API clients and integration requests for the CLI and JSON APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from idaas.applications.models import ApiClient, Application, IntegrationRequest


def _iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as RFC 3339 with `Z`, or None."""
    return moment.isoformat() + "Z" if moment else None


def client_to_dict(client: ApiClient) -> dict[str, Any]:
    """An API client as JSON-ready data (never the secret or its hash)."""
    return {
        "kind": "api",
        "client_id": client.client_id,
        "name": client.name,
        "note": client.note,
        "owner": client.owner,
        "scopes": list(client.scopes or []),
        "enabled": client.enabled,
        "created_by": client.created_by,
        "created_at": _iso(client.created_at),
        "secret_rotated_at": _iso(client.secret_rotated_at),
        "last_used_at": _iso(client.last_used_at),
    }


def request_to_dict(request: IntegrationRequest, *, full: bool = True) -> dict[str, Any]:
    """An integration request as JSON-ready data (`full=False`: what the requester may see)."""
    data: dict[str, Any] = {
        "reference": request.reference,
        "status": request.status,
        "name": request.name,
        "scopes": list(request.scopes or []),
        "created_at": _iso(request.created_at),
        "decided_at": _iso(request.decided_at),
        "decision_reason": request.decision_reason,
    }
    if full:
        data.update(contact=request.contact, reason=request.reason, decided_by=request.decided_by)
    return data


def application_to_dict(app: Application) -> dict[str, Any]:
    """An application and its OIDC client registration (never the secret or its hash)."""
    return {
        "kind": "oidc",
        "client_id": app.client_id,
        "name": app.name,
        "description": app.description,
        "icon_url": app.icon_url,
        "display_names": dict(app.display_names or {}),
        "enabled": app.enabled,
        "show_in_portal": app.show_in_portal,
        "initiate_login_uri": app.initiate_login_uri,
        "policy": dict(app.policy or {"everyone": True}),
        "public": app.is_public,
        "redirect_uris": list(app.redirect_uris or []),
        "post_logout_redirect_uris": list(app.post_logout_redirect_uris or []),
        "grant_types": list(app.grant_types or []),
        "scopes": list(app.scopes or []),
        "token_endpoint_auth_method": app.token_endpoint_auth_method,
        "id_token_alg": app.id_token_alg,
        "access_token_lifetime": app.access_token_lifetime,
        "refresh_token_lifetime": app.refresh_token_lifetime,
        "id_token_lifetime": app.id_token_lifetime,
        "consent_required": app.consent_required,
        "pkce_required": app.pkce_required,
        "subject_type": app.subject_type,
        "sector_identifier": app.sector_identifier,
        "backchannel_logout_uri": app.backchannel_logout_uri,
        "frontchannel_logout_uri": app.frontchannel_logout_uri,
        "subaccount_mode": app.subaccount_mode,
        "subaccount_rule": app.subaccount_rule,
        "subaccount_as_sub": app.subaccount_as_sub,
        "claim_mapping": dict(app.claim_mapping or {}),
        "version": app.version,
        "created_at": _iso(app.created_at),
    }
