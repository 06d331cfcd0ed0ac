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

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector as _ResourceProtector
from authlib.oauth2 import OAuth2Error, rfc7009, rfc7662
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    MissingAuthorizationError,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from authlib.oidc.core import grants as oidc_grants
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from flask import current_app, g, has_request_context
from flask import request as flask_request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from idaas.applications import service as clients
from idaas.applications.apps import CLIENT_ID_PREFIX as APP_CLIENT_PREFIX
from idaas.applications.apps import find_enabled_application
from idaas.applications.models import ApiClient, Application
from idaas.applications.scopes import OIDC_SCOPES, SCOPES, parse_scope
from idaas.extensions import db
from idaas.oidc import claims as oidc_claims
from idaas.oidc import codes, consent, keys, refresh, tokens
from idaas.oidc.models import OidcToken
from idaas.oidc.principal import Principal, epoch, sid_for

REALM = "idaas"
SINGLE_VALUED = ("grant_type", "scope", "client_id", "client_secret")


def issuer() -> str:
    """This deployment's issuer identifier (`iss`), from IDAAS_ISSUER."""
    return str(current_app.config["ISSUER"])


def resource_audience() -> str:
    """The `aud` of access tokens: this deployment's APIs (RFC 9068 §3; default: the issuer)."""
    return str(current_app.config["ACCESS_TOKEN_AUDIENCE"] or issuer())


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
        jti = secrets.token_urlsafe(18)  # 24 characters; one urandom read, not 24 choices
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


class UserAccessTokenGenerator(AccessTokenGenerator):
    """RFC 9068 access tokens for a person's client, plus an opaque refresh token."""

    def __init__(self) -> None:
        super().__init__()
        self.refresh_token_generator = lambda *args, **kwargs: secrets.token_urlsafe(36)

    def _get_expires_in(self, client: Any, grant_type: str) -> int:
        return int(client.access_token_lifetime)

    def get_auth_time(self, user: Any) -> int | None:
        """When the person authenticated (RFC 9068 §2.2.1)."""
        return int(user.auth_time) or None

    def get_acr(self, user: Any) -> str | None:
        """The session's authentication context class."""
        return user.acr

    def get_amr(self, user: Any) -> list[str] | None:
        """The session's authentication methods."""
        return list(user.amr) or None


def _enabled_client(client_id: str) -> ApiClient | Application | None:
    return find_enabled_application(client_id) or clients.find_enabled_client(client_id)


class AuthorizationServer(_AuthorizationServer):
    """authlib's server wired to our client store; errors follow RFC 6749 §5.2."""

    def query_client(self, client_id: str) -> ApiClient | Application | None:
        """Enabled clients only: unknown and disabled clients are both `invalid_client`.

        authlib asks more than once per request (authorization: validation, then response),
        so the answer is remembered for the request.
        """
        if not has_request_context():
            return _enabled_client(client_id)
        asked: dict[str, Any] = flask_request.environ.setdefault("idaas.clients", {})
        if client_id not in asked:
            asked[client_id] = _enabled_client(client_id)
        return cast(ApiClient | Application | None, asked[client_id])

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Apps: record the issue (hash/jti); API clients: audit and touch last-used."""
        if isinstance(request.client, Application):
            tokens.save_token(token, request, g.pop("idaas_token_jti", ""))
            return
        clients.record_token_issued(
            request.client, token.get("scope", ""), g.pop("idaas_token_jti", "")
        )

    def load_config(self, config: Any) -> None:
        """Our JWT generator instead of authlib's opaque tokens; scopes from `SCOPES`."""
        self.register_token_generator("default", AccessTokenGenerator())
        user_tokens = UserAccessTokenGenerator()
        self.register_token_generator("authorization_code", user_tokens)
        self.register_token_generator("refresh_token", user_tokens)
        self.scopes_supported = [*SCOPES, *OIDC_SCOPES]

    def create_token_response(self, request: Any = None) -> Any:
        """The token endpoint (RFC 6749 §3.2): refuse malformed requests before any grant."""
        try:
            problem = _malformed_token_request()
            if problem is not None:
                raise problem
            return super().create_token_response(request)
        except OAuth2Error as error:  # e.g. insecure_transport, raised before authlib's try
            return self.handle_error_response(None, error)
        except ValueError:  # an error description would echo forbidden characters
            return self.handle_error_response(None, InvalidRequestError("Malformed request."))

    def create_endpoint_response(self, name: str, request: Any = None) -> Any:
        """Revocation, introspection, end-session: malformed input is a 400, never a 500."""
        try:
            return super().create_endpoint_response(name, request)
        except ValueError:
            return self.handle_error_response(None, InvalidRequestError("Malformed request."))

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Any:
        """Audit a refused token request, then answer with the RFC 6749 §5.2 error body."""
        if flask_request.endpoint in ("oidc.token", "oidc.token_alias"):
            clients.record_token_refused(_presented_client_id(), str(error.error))
        else:
            db.session.rollback()
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


CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 §4.1 with single-use hashed codes and strict scopes."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        """Refuse scopes the client was not registered for (RFC 6749 §4.1.2.1 invalid_scope)."""
        super().validate_requested_scope()
        wanted = set(parse_scope(self.request.payload.scope))
        if not wanted or not wanted <= set(self.request.client.scopes or []):
            raise InvalidScopeError("The requested scope is not allowed for this client.")

    def generate_token(
        self,
        user: Any = None,
        scope: Any = None,
        grant_type: Any = None,
        expires_in: Any = None,
        include_refresh_token: bool = True,
    ) -> Any:
        """A refresh token only for `offline_access` (OIDC Core §11) and apps with that grant."""
        if (
            current_app.config["REFRESH_REQUIRES_OFFLINE_ACCESS"]
            and "offline_access" not in (scope or "").split()
        ):
            include_refresh_token = False
        return super().generate_token(user, scope, grant_type, expires_in, include_refresh_token)

    def generate_authorization_code(self) -> str:
        """48 URL-safe characters (288 bits) from one urandom read."""
        return secrets.token_urlsafe(36)

    def save_authorization_code(self, code: str, request: Any) -> None:
        """Store the code's hash with the request's facts (RFC 6749 §4.1.2)."""
        codes.save_code(code, request, request.user)

    def query_authorization_code(self, code: str, client: Any) -> Any:
        """The unused, unexpired code of this client, claimed atomically; reuse revokes."""
        if not isinstance(client, Application):
            return None
        return codes.claim_code(code, client)

    def delete_authorization_code(self, authorization_code: Any) -> None:
        """Codes are marked used when claimed; nothing more to do."""

    def authenticate_user(self, authorization_code: Any) -> Any:
        """The person behind the code, if still active."""
        return codes.principal_of_code(authorization_code, self.request.client)

    def create_token_response(self) -> Any:
        """Issue the tokens and commit the code's use with the token record."""
        result = super().create_token_response()
        db.session.commit()
        return result


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) with S256 only; required for public clients and where configured."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """Require a challenge where needed and refuse `plain` (RFC 7636 §4.4.1)."""
        data = grant.request.payload.data
        client = grant.request.client
        needed = bool(getattr(client, "is_public", True) or getattr(client, "pkce_required", True))
        if needed and not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: Any) -> str | None:
        """The stored challenge."""
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str | None:
        """The stored challenge method."""
        return authorization_code.code_challenge_method


class OpenIDCode(oidc_grants.OpenIDCode):
    """ID tokens (OIDC Core §3.1.3.6) signed with the client's algorithm from the key store."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """A nonce already used by this client is a replay (OIDC Core §15.5.2)."""
        return codes.nonce_used(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: Any) -> Any:
        """The active key of the client's ID token algorithm."""
        return keys.signing_key_set(client.id_token_alg)

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        """`iss`, `aud` and `exp` from the client's ID token lifetime."""
        now = int(time.time())
        return {
            "iss": issuer(),
            "aud": client.client_id,
            "iat": now,
            "exp": now + client.id_token_lifetime,
        }

    def generate_user_info(self, user: Any, scope: str) -> dict[str, Any]:
        """Claims by scope plus `sid`, `auth_time`, `acr`, `amr` of the session."""
        client = g.idaas_oidc_request_client
        claims = oidc_claims.user_claims(client, user.account, scope, user.subject)
        claims["auth_time"] = user.auth_time
        if user.acr:
            claims["acr"] = user.acr
        if user.amr:
            claims["amr"] = list(user.amr)
        if user.auth_session_id is not None:
            claims["sid"] = sid_for(user.auth_session_id)
        return claims

    def encode_id_token(self, token: Any, request: Any) -> Any:
        """Remember the client for `generate_user_info`, then encode."""
        g.idaas_oidc_request_client = request.client
        return super().encode_id_token(token, request)


class OpenIDToken(OpenIDCode):
    """A fresh ID token on refresh (OIDC Core §12.2), same claims rules."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 §6 with rotation on every use and family revocation on reuse (RFC 9700 §4.14)."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Any:
        """The token row this client may redeem; reuse after the grace period revokes."""
        return refresh.find(refresh_token, self.request.client)

    def authenticate_user(self, refresh_token: Any) -> Any:
        """The person, if still active and still inside the app's access policy."""
        from idaas.applications.apps import policy_refusal
        from idaas.directory.models import Account

        app = self.request.client
        account = db.session.get(Account, refresh_token.account_id)
        if account is None or account.status != "active":
            return None
        reason = policy_refusal(app, account)
        if reason is not None:
            tokens.revoke_family(refresh_token.family)
            consent.record_decision(app, account, False, reason, refresh_token.scope)
            raise InvalidGrantError("The person may no longer use this application.")
        return Principal(
            account=account,
            subject=refresh_token.subject,
            auth_session_id=refresh_token.auth_session_id,
            auth_time=refresh_token.auth_time,
            acr=refresh_token.acr,
            amr=list(refresh_token.amr or []),
        )

    def revoke_old_credential(self, refresh_token: Any) -> None:
        """Nothing: `create_token_response` claimed the token before issuing."""

    def create_token_response(self) -> Any:
        """Claim the token (conditional UPDATE), issue, store the successor, commit together.

        A redemption that loses the claim gets the winner's pair within the grace period.
        """
        row = self.request.refresh_token
        row_id = row.id
        if row.rotated_at is None and refresh.claim(row):
            status, body, headers = super().create_token_response()
            refresh.remember_successor(row_id, body)
            db.session.commit()
            return status, body, headers
        replay = refresh.successor(row_id)
        if replay is None:
            raise InvalidGrantError("The refresh token was already used.")
        return 200, replay, self.TOKEN_RESPONSE_HEADER


def _presented(token_string: str) -> tuple[Any, str] | None:
    """The issue record of a token we issued and its kind (`access` or `refresh`), or None."""
    if token_string.count(".") == 2:
        try:
            header = jws.extract_compact(token_string.encode("ascii")).protected
            if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
                return None  # an ID or logout token is not a token of this endpoint
            key_set = keys.verification_keys(header.get("kid"))
            decoded = jwt.decode(token_string, key_set, algorithms=keys.supported_algorithms())
            jti, client_id = decoded.claims.get("jti"), decoded.claims.get("client_id")
            # only applications' tokens have a row; an API client's token is self-contained
            is_app = isinstance(client_id, str) and client_id.startswith(APP_CLIENT_PREFIX)
            row = tokens.token_by_jti(str(jti)) if jti and is_app else None
            if row is None:
                api_token = _api_client_token(dict(decoded.claims))
                return (api_token, "access") if api_token is not None else None
            return row, "access"
        except (JoseError, ValueError, TypeError, KeyError, UnicodeError):
            return None
    row = db.session.scalar(
        select(OidcToken).where(OidcToken.refresh_hash == tokens.digest(token_string))
    )
    return (row, "refresh") if row is not None else None


def _token_from_string(token_string: str) -> Any:
    """The issue record of an access (JWT) or refresh token we issued, or None."""
    found = _presented(token_string)
    return found[0] if found is not None else None


@dataclass
class ApiClientToken:
    """A client-credentials access token (self-contained, no row), for introspection."""

    client_id: str
    scope: str
    subject: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_hash: None = None
    revoked_at: None = None
    rotated_at: None = None

    def is_expired(self) -> bool:
        """Whether `exp` has passed."""
        return datetime.now(UTC).replace(tzinfo=None) >= self.access_expires_at

    def check_client(self, client: Any) -> bool:
        """Whether `client` holds this token."""
        return bool(client.get_client_id() == self.client_id)


def _api_client_token(claims: dict[str, Any]) -> ApiClientToken | None:
    """A still-valid client-credentials token of an enabled, unrotated API client."""
    client_id, generation = claims.get("client_id"), claims.get("client_gen")
    if not isinstance(client_id, str) or not isinstance(generation, int):
        return None
    holder = authorization.query_client(client_id)  # often the introspecting client itself
    if not isinstance(holder, ApiClient) or holder.token_generation != generation:
        return None
    if claims.get("iss") != issuer():
        return None
    return ApiClientToken(
        client_id=client_id,
        scope=str(claims.get("scope", "")),
        subject=str(claims.get("sub", client_id)),
        issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC).replace(tzinfo=None),
        access_expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC).replace(tzinfo=None),
    )


class RevocationEndpoint(rfc7009.RevocationEndpoint):
    """RFC 7009: revoke an access or refresh token (a refresh token takes its family)."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        """Find the token whatever the hint says (RFC 7009 §2.1)."""
        return _token_from_string(token_string)

    def revoke_token(self, token: Any, request: Any) -> None:
        """Revoke and audit (client-credentials tokens end with their client's rotation)."""
        if isinstance(token, OidcToken):
            tokens.revoke_token_row(token, f"app:{token.client_id}")


class IntrospectionEndpoint(rfc7662.IntrospectionEndpoint):
    """RFC 7662 for confidential apps (their own tokens) and API clients with tokens:introspect."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        """The token's record and kind, or None (answered as inactive)."""
        return _presented(token_string)

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        """Apps see their own tokens; API clients need the tokens:introspect scope."""
        if isinstance(client, Application):
            return bool(token.client_id == client.client_id)
        return "tokens:introspect" in (client.scopes or [])

    def introspect_token(self, token: Any, kind: str = "access") -> dict[str, Any]:
        """The RFC 7662 §2.2 response, decided by the presented token's kind and own expiry.

        An access token is active until its own `exp` (whatever its row's refresh token does);
        a refresh token reports its own `exp`. Both end with the app's token generation.
        """
        if isinstance(token, ApiClientToken):
            active = not token.is_expired()
            expires = token.access_expires_at
        elif kind == "refresh":
            active = tokens.live_refresh_token(token)
            expires = token.refresh_expires_at
        else:
            active = tokens.live_access_token(token.jti) is not None
            expires = token.access_expires_at
        if not active or expires is None:
            return {"active": False}
        body = {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "sub": token.subject,
            "iss": issuer(),
            "iat": epoch(token.issued_at),
            "exp": epoch(expires),
        }
        if kind == "access":
            body["token_type"] = "Bearer"
        return body

    def create_endpoint_response(self, request: Any) -> Any:
        """Unknown tokens and tokens of other clients are simply inactive."""
        client = self.authenticate_endpoint_client(request)
        self.check_params(request, client)
        found = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if found is None or not self.check_permission(found[0], client, request):
            return 200, {"active": False}, default_json_headers
        return 200, self.introspect_token(found[0], found[1]), default_json_headers


class EndSessionEndpoint(_EndSessionEndpoint):
    """RP-Initiated Logout 1.0: `id_token_hint`, exact `post_logout_redirect_uri`, `state`."""

    def get_server_jwks(self) -> Any:
        """Keys that may have signed an ID token."""
        return keys.verification_keys()

    def end_session(self, end_session_request: Any) -> None:
        """End the idaas session of this browser (the view tells the RPs)."""
        from idaas.auth import sessions

        row = sessions.current_any()
        if row is not None:
            sessions.revoke(row, "rp_logout", f"user:{row.account_id}")
            g.idaas_logout_session = row.id
            db.session.commit()


authorization = AuthorizationServer()
authorization.register_grant(ClientCredentialsGrant)
authorization.register_grant(
    AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDCode(require_nonce=False)]
)
authorization.register_grant(RefreshTokenGrant, [OpenIDToken()])
authorization.register_endpoint(RevocationEndpoint)
authorization.register_endpoint(IntrospectionEndpoint)
authorization.register_endpoint(EndSessionEndpoint)
require_oauth = ResourceProtector()
require_oauth.register_token_validator(AccessTokenValidator())


def current_client_id() -> str:
    """The client id of the access token of the current request."""
    token = g.get("authlib_server_oauth2_token")
    if token is None:
        raise RuntimeError("no access token on this request")
    return str(token["client_id"])
