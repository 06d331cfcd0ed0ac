"""Plain-dict views of API clients and integration requests for the CLI and JSON APIs."""

from __future__ import annotations

from typing import Any

from idaas.applications.models import ApiClient, IntegrationRequest


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
        "created_at": client.created_at.isoformat() + "Z",
        "secret_rotated_at": client.secret_rotated_at.isoformat() + "Z",
        "last_used_at": client.last_used_at.isoformat() + "Z" if client.last_used_at else None,
    }


def request_to_dict(request: IntegrationRequest, *, full: bool = True) -> dict[str, Any]:
    """An integration request as JSON-ready data (`full=False`: what the requester may see)."""
    data: dict[str, Any] = {
        "reference": request.reference,
        "status": request.status,
        "name": request.name,
        "scopes": list(request.scopes or []),
        "created_at": request.created_at.isoformat() + "Z",
        "decided_at": request.decided_at.isoformat() + "Z" if request.decided_at else None,
        "decision_reason": request.decision_reason,
    }
    if full:
        data.update(contact=request.contact, reason=request.reason, decided_by=request.decided_by)
    return data
