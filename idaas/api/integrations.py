"""`/api/v1/integration-requests`: a third party asks for access (no token needed, rate
limited); an administrator (a client with the `clients:admin` scope, or the CLI) approves or
rejects. The requester follows the status with the opaque reference it got back.
"""

from __future__ import annotations

from functools import partial

from flask import current_app, url_for
from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.blueprint import bp
from idaas.api.http import json_response, origin
from idaas.api.spec import operation
from idaas.applications import service
from idaas.applications.serialise import client_to_dict, request_to_dict
from idaas.extensions import limiter

ADMIN = ["clients:admin"]
public_operation = partial(operation, tags=["integration requests"], scopes=None)
admin_operation = partial(operation, tags=["integration requests"], scopes=ADMIN)
REFERENCE = "string(minlength=1, maxlength=64)"


def _submit_limit() -> str:
    return str(current_app.config["INTEGRATION_REQUEST_RATE_LIMIT"])


def _status_limit() -> str:
    return str(current_app.config["INTEGRATION_STATUS_RATE_LIMIT"])


@bp.post("/integration-requests")
@limiter.limit(_submit_limit)
@public_operation(
    "Request API access",
    body=s.IntegrationRequestCreate,
    response=s.IntegrationRequestStatus,
    status=201,
    location=True,
    errors={429},
)
def submit_integration_request(body: s.IntegrationRequestCreate) -> Response:
    """Ask for an API client; keep the returned `reference` to follow the status."""
    request = service.submit_request(**body.model_dump())
    return json_response(
        request_to_dict(request, full=False),
        201,
        location=url_for("api.integration_request_status", reference=request.reference),
    )


@bp.get(f"/integration-requests/<{REFERENCE}:reference>")
@limiter.limit(_status_limit)
@public_operation(
    "Follow an integration request", response=s.IntegrationRequestStatus, errors={429}
)
def integration_request_status(reference: str) -> Response:
    """The status (and any rejection reason) of a request, by its opaque reference."""
    return json_response(request_to_dict(service.get_request(reference), full=False))


@bp.get("/integration-requests")
@admin_operation(
    "List integration requests", query=s.IntegrationListQuery, response=s.IntegrationRequestList
)
def list_integration_requests(query: s.IntegrationListQuery) -> Response:
    """Integration requests, oldest first (administrators)."""
    return json_response(
        {"items": [request_to_dict(r) for r in service.list_requests(query.status)]}
    )


@bp.post(f"/integration-requests/<{REFERENCE}:reference>/approve")
@admin_operation(
    "Approve an integration request", body=s.IntegrationApprove, response=s.Approval, errors={409}
)
def approve_integration_request(reference: str, body: s.IntegrationApprove) -> Response:
    """Create the API client; the response shows its secret this one time only."""
    request, client, secret = service.approve_request(
        origin(), reference, scopes=body.scopes, note=body.note
    )
    response = json_response(
        {
            "request": request_to_dict(request),
            "client": {**client_to_dict(client), "client_secret": secret},
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post(f"/integration-requests/<{REFERENCE}:reference>/reject")
@admin_operation(
    "Reject an integration request",
    body=s.IntegrationReject,
    response=s.IntegrationRequest,
    errors={409},
)
def reject_integration_request(reference: str, body: s.IntegrationReject) -> Response:
    """Reject with a reason the requester will see."""
    request = service.reject_request(origin(), reference, reason=body.reason)
    return json_response(request_to_dict(request))
