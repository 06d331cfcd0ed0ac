"""The OAuth2 authorization server and resource protector (DESIGN.md convention 6).

`authorization` is authlib's Flask `AuthorizationServer`; this issue registers only the
client-credentials grant (RFC 6749 §4.4). Access tokens are JWTs per RFC 9068, signed by the
key store (`oidc.keys`). `require_oauth` is authlib's `ResourceProtector` with a bearer
validator (RFC 6750) that verifies our JWTs with joserfc and re-checks the client on every
request, which is how a disabled, rotated or deleted client's tokens stop working.

Nothing here holds per-app state: issuer, audience and lifetime are read from `current_app`
at call time, so one module-level server serves every app built in a process.
"""

from __future__ import annotations

from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector as _ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    InvalidScopeError,
    MissingAuthorizationError,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from flask import current_app, g
from flask import request as flask_request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from werkzeug.exceptions import HTTPException

from idaas.applications import service as clients
from idaas.applications.models import ApiClient
from idaas.applications.scopes import SCOPES, parse_scope
from idaas.oidc import keys

REALM = "idaas"
SINGLE_VALUED = ("grant_type", "scope", "client_id", "client_secret")


def issuer() -> str:
    """This deployment's issuer identifier (`iss`), from IDAAS_ISSUER."""
    return str(current_app.config["ISSUER"])


def resource_audience() -> str:
    """The `aud` of access tokens: this deployment's APIs (RFC 9068 §3; default: the issuer)."""
    return str(current_app.config.get("ACCESS_TOKEN_AUDIENCE") or issuer())


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 JWT access tokens signed with the key store's active key."""

    def __init__(self) -> None:
        super().__init__(issuer=None, alg=keys.DEFAULT_ALG)

    @property
    def issuer(self) -> str:
        """The current app's issuer."""
        return issuer()

    @issuer.setter
    def issuer(self, value: Any) -> None:
        """Ignored: the issuer comes from the app at call time."""

    def get_jwks(self) -> Any:
        """The active signing key as a one-key set (its `kid` goes into the JWS header)."""
        return keys.signing_key_set(self.alg)

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        """Our resource servers, not the client (RFC 9068 §3)."""
        return resource_audience()

    def get_jti(self, client: Any, grant_type: str, user: Any, scope: str) -> str:
        """A unique token id, remembered for the audit row."""
        jti = generate_token(24)
        g.idaas_token_jti = jti
        return jti

    def get_extra_claims(
        self, client: Any, grant_type: str, user: Any, scope: str
    ) -> dict[str, Any]:
        """`client_gen`: the client's token generation, so rotation and disabling revoke."""
        return {"client_gen": int(client.token_generation)}

    def _get_expires_in(self, client: Any, grant_type: str) -> int:
        return int(current_app.config["ACCESS_TOKEN_LIFETIME"])


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4 with both client authentication methods and strict scopes."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        """Authenticate the client and refuse any scope it was not granted (§3.3, §5.2)."""
        super().validate_token_request()
        requested = self.request.payload.scope
        if requested is None:
            return
        wanted = parse_scope(requested)
        granted = set(self.request.client.scopes or [])
        if not wanted or not set(wanted) <= granted:
            raise InvalidScopeError("The requested scope exceeds the scope granted to the client.")

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Issue the token: the requested scope, or every granted scope when none was asked."""
        client: ApiClient = self.request.client
        requested = self.request.payload.scope
        scope = " ".join(parse_scope(requested)) if requested else " ".join(client.scopes or [])
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class AuthorizationServer(_AuthorizationServer):
    """authlib's server wired to our client store; errors follow RFC 6749 §5.2."""

    def query_client(self, client_id: str) -> ApiClient | None:
        """Enabled clients only: unknown and disabled clients are both `invalid_client`."""
        return clients.find_enabled_client(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Nothing to store (self-contained JWTs): audit the issue and touch last-used."""
        clients.record_token_issued(
            request.client, token.get("scope", ""), g.pop("idaas_token_jti", "")
        )

    def load_config(self, config: Any) -> None:
        """Our JWT generator instead of authlib's opaque tokens; scopes from `SCOPES`."""
        self.register_token_generator("default", AccessTokenGenerator())
        self.scopes_supported = list(SCOPES)

    def create_token_response(self, request: Any = None) -> Any:
        """The token endpoint (RFC 6749 §3.2): refuse malformed requests before any grant."""
        try:
            problem = _malformed_token_request()
            if problem is not None:
                raise problem
            return super().create_token_response(request)
        except OAuth2Error as error:  # e.g. insecure_transport, raised before authlib's try
            return self.handle_error_response(None, error)

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Any:
        """Audit the refusal, then answer with the RFC 6749 §5.2 error body."""
        clients.record_token_refused(_presented_client_id(), str(error.error))
        return super().handle_error_response(request, error)


def _presented_client_id() -> str | None:
    basic_id, _ = extract_basic_authorization(flask_request.headers)
    return basic_id or flask_request.form.get("client_id")


def _malformed_token_request() -> OAuth2Error | None:
    """RFC 6749 §3.2, §3.2.1, §5.2 checks authlib leaves to the application."""
    form = flask_request.form
    for name in SINGLE_VALUED:
        if len(form.getlist(name)) > 1:
            return InvalidRequestError(f"The '{name}' parameter is repeated.")
    if any(name in flask_request.args for name in SINGLE_VALUED):
        return InvalidRequestError("Send the parameters in the request body, not in the URL.")
    if not form.get("grant_type"):
        return InvalidRequestError("The 'grant_type' parameter is missing.")
    basic = (flask_request.headers.get("Authorization") or "").lower().startswith("basic ")
    if basic and form.get("client_secret"):
        return InvalidRequestError("Use one client authentication method, not two.")
    return None


class BearerError(HTTPException):
    """A refused bearer-token request (RFC 6750 §3): 401 or 403 with a WWW-Authenticate challenge.

    Blueprints render it their way (problem+json for /api, SCIM errors for /scim); its
    `challenge` must be sent as the `WWW-Authenticate` header.
    """

    def __init__(
        self, status: int, error: str | None, description: str, scope: str | None = None
    ) -> None:
        super().__init__(description)
        self.code = status
        self.error = error
        self.scope = scope

    @property
    def challenge(self) -> str:
        """The `WWW-Authenticate` value (RFC 6750 §3)."""
        parts = [f'realm="{REALM}"']
        if self.error:
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{self.description}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return "Bearer " + ", ".join(parts)


class AccessTokenValidator(JWTBearerTokenValidator):
    """Verifies our RFC 9068 access tokens (joserfc) and that their client is still allowed."""

    def __init__(self) -> None:
        super().__init__(issuer=None, resource_server=None, realm=REALM)

    def authenticate_token(self, token_string: str) -> JWTAccessTokenClaims:
        """Verify the signature with our keys and the `typ`, `iss`, `aud` and time claims."""
        try:
            header = jws.extract_compact(token_string.encode("ascii")).protected
            if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
                raise InvalidTokenError(description="Not an access token.", realm=REALM)
            key_set = keys.verification_keys(header.get("kid"))
            token = jwt.decode(token_string, key_set, algorithms=keys.supported_algorithms())
            options: dict[str, Any] = {
                "iss": {"essential": True, "value": issuer()},
                "aud": {"essential": True, "value": resource_audience()},
                "exp": {"essential": True},
                "iat": {"essential": True},
                "sub": {"essential": True},
                "jti": {"essential": True},
                "client_id": {"essential": True},
            }
            claims = JWTAccessTokenClaims(token.claims, token.header, options)
            claims.validate()
        except InvalidTokenError:
            raise
        except (JoseError, ValueError, TypeError, KeyError, UnicodeError) as exc:
            raise InvalidTokenError(
                description="The access token is invalid or has expired.", realm=REALM
            ) from exc
        return claims

    def validate_token(
        self, token: JWTAccessTokenClaims, scopes: Any, request: Any, **kwargs: Any
    ) -> None:
        """Refuse tokens of disabled, deleted or rotated clients; then check the scope."""
        client_id, generation = token.get("client_id"), token.get("client_gen")
        if not isinstance(client_id, str) or not isinstance(generation, int):
            raise InvalidTokenError(description="The access token is invalid.", realm=REALM)
        if clients.token_client(client_id, generation) is None:
            raise InvalidTokenError(
                description="The client of this access token is disabled or gone.", realm=REALM
            )
        if self.scope_insufficient(token.get("scope", ""), scopes):
            raise InsufficientScopeError()


class ResourceProtector(_ResourceProtector):
    """authlib's protector raising `BearerError` (with its RFC 6750 challenge)."""

    def raise_error_response(self, error: OAuth2Error) -> None:
        """Turn authlib's error into a BearerError; no token at all gets a bare challenge."""
        if isinstance(error, MissingAuthorizationError | UnsupportedTokenTypeError):
            raise BearerError(401, None, "A bearer access token is required.")
        if isinstance(error, InsufficientScopeError):
            raise BearerError(
                403,
                "insufficient_scope",
                "The access token lacks the scope this operation needs.",
                scope=(getattr(error, "required", None) or [None])[0],
            )
        if isinstance(error, InvalidTokenError):
            raise BearerError(401, "invalid_token", str(error.description))
        raise BearerError(400, "invalid_request", str(error.description or "Bad request."))

    def acquire_token(self, scopes: Any = None, **kwargs: Any) -> Any:
        """Validate the request's bearer token; remember the scopes for the challenge."""
        try:
            return super().acquire_token(scopes, **kwargs)
        except InsufficientScopeError as error:
            error.required = list(scopes or [])
            raise


authorization = AuthorizationServer()
authorization.register_grant(ClientCredentialsGrant)
require_oauth = ResourceProtector()
require_oauth.register_token_validator(AccessTokenValidator())


def current_client_id() -> str:
    """The client id of the access token of the current request."""
    token = g.get("authlib_server_oauth2_token")
    if token is None:
        raise RuntimeError("no access token on this request")
    return str(token["client_id"])
