"""OAuth2 endpoints: the token endpoint (RFC 6749 §3.2) and the JWK Set (RFC 7517 §5)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from idaas.extensions import limiter
from idaas.oidc import keys
from idaas.oidc.server import authorization

bp = Blueprint("oidc", __name__)


def _failure_limit() -> str:
    return str(current_app.config["TOKEN_FAILURE_RATE_LIMIT"])


def _failed(response: Response) -> bool:
    return response.status_code in (400, 401)


@bp.post("/oauth2/token")
@bp.post("/oauth/token", endpoint="token_alias")
@limiter.limit(_failure_limit, deduct_when=_failed)
def token() -> Response:
    """Token endpoint (RFC 6749 §3.2, client credentials §4.4; errors §5.2)."""
    return authorization.create_token_response()


@bp.get("/oauth2/jwks")
def jwks() -> Response:
    """The public keys that verify our tokens (RFC 7517 §5)."""
    response = jsonify(keys.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
