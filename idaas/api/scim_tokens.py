"""`/api/v1/clients/<client_id>/scim-tokens`: static SCIM bearer tokens of an API client
(scope `clients:admin`). A token is shown in the response to its creation, once, never again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.blueprint import ID, bp
from idaas.api.http import json_response, no_content, origin
from idaas.api.problems import ApiProblem
from idaas.api.spec import operation
from idaas.scim import tokens
from idaas.scim.models import ScimToken
from idaas.serialise import columns

ADMIN = ["clients:admin"]
scim_tokens_operation = partial(operation, tags=["scim"], scopes=ADMIN)
CLIENT_ID = "string(minlength=1, maxlength=64)"


def token_to_dict(row: ScimToken) -> dict[str, Any]:
    """The public view of a static token (never its value or hash)."""
    return {
        **columns(row, "id name prefix", lists="scopes"),
        **columns(row, "created_by", times="created_at revoked_at last_used_at"),
    }


@bp.get(f"/clients/<{CLIENT_ID}:client_id>/scim-tokens")
@scim_tokens_operation("List a client's SCIM tokens", response=s.ScimTokenList)
def list_scim_tokens(client_id: str) -> Response:
    """The client's static SCIM tokens, revoked ones included."""
    return json_response({"items": [token_to_dict(t) for t in tokens.list_tokens(client_id)]})


@bp.post(f"/clients/<{CLIENT_ID}:client_id>/scim-tokens")
@scim_tokens_operation(
    "Create a SCIM token", body=s.ScimTokenCreate, response=s.NewScimToken, status=201
)
def create_scim_token(client_id: str, body: s.ScimTokenCreate) -> Response:
    """Issue a static bearer token for /scim/v2; the token is in this response only."""
    try:
        row, token = tokens.issue(origin(), client_id, body.name, body.scopes)
    except tokens.TokenError as error:
        raise ApiProblem(
            422,
            "Invalid input",
            str(error),
            kind="validation-failed",
            fields={"scopes": str(error)},
        ) from None
    response = json_response({**token_to_dict(row), "token": token}, 201)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete(f"/clients/<{CLIENT_ID}:client_id>/scim-tokens/<{ID}:token_id>")
@scim_tokens_operation("Revoke a SCIM token", status=204)
def revoke_scim_token(client_id: str, token_id: int) -> Response:
    """Revoke a token at once (idempotent)."""
    try:
        tokens.revoke(origin(), client_id, token_id)
    except tokens.TokenNotFound as error:
        raise ApiProblem(404, "Not Found", str(error)) from None
    return no_content()
