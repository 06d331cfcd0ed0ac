"""The constant documents: OpenID Provider metadata and the JWKS, served ahead of Flask.

Both change only with configuration or a key change (`keys` keeps the JWKS cached and
invalidated across processes by the key generation), so a GET for either is answered by a WSGI
middleware from the cached bytes with validators (ETag, Cache-Control; RFC 9111 §4.3), the
security header baseline and CORS, without the per-request work of the full stack (session,
rate limiter, locale, hooks). HEAD, OPTIONS and any failure go through the Flask routes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from flask import Flask, current_app

from idaas.applications.scopes import OIDC_SCOPES
from idaas.oidc import keys
from idaas.oidc.server import issuer

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/oauth2/jwks"
DISCOVERY_MAX_AGE = 300
JWKS_MAX_AGE = 60
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "WWW-Authenticate, ETag",
}


def discovery_document() -> tuple[bytes, str]:
    """The serialised discovery document and its ETag, built once per app (config only)."""
    cached = current_app.extensions.get("idaas_discovery")
    if cached is None:
        body = json.dumps(_discovery(), separators=(",", ":")).encode()
        cached = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        current_app.extensions["idaas_discovery"] = cached
    return cast(tuple[bytes, str], cached)


def _discovery() -> dict[str, Any]:
    """OpenID Provider metadata (OIDC Discovery 1.0 §3)."""
    base = issuer().rstrip("/")
    return dict(
        issuer=issuer(),
        authorization_endpoint=f"{base}/oauth2/authorize",
        token_endpoint=f"{base}/oauth2/token",
        userinfo_endpoint=f"{base}/oauth2/userinfo",
        jwks_uri=f"{base}/oauth2/jwks",
        revocation_endpoint=f"{base}/oauth2/revoke",
        introspection_endpoint=f"{base}/oauth2/introspect",
        end_session_endpoint=f"{base}/oauth2/logout",
        scopes_supported=list(OIDC_SCOPES),
        response_types_supported=["code"],
        response_modes_supported=["query", "form_post"],
        grant_types_supported=["authorization_code", "refresh_token", "client_credentials"],
        subject_types_supported=["public", "pairwise"],
        id_token_signing_alg_values_supported=keys.supported_algorithms(),
        token_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        revocation_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        introspection_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
        ],
        code_challenge_methods_supported=["S256"],
        claims_supported=[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "name",
            "preferred_username",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
            "locale",
            "updated_at",
            "departments",
            "groups",
            "roles",
            "employee_number",
        ],
        acr_values_supported=["pwd", "mfa"],
        prompt_values_supported=["none", "login", "consent"],
        claims_parameter_supported=False,
        request_parameter_supported=False,
        request_uri_parameter_supported=False,
        frontchannel_logout_supported=True,
        frontchannel_logout_session_supported=True,
        backchannel_logout_supported=True,
        backchannel_logout_session_supported=True,
        authorization_response_iss_parameter_supported=True,
    )


class ConstantDocuments:
    """WSGI middleware answering GET of the discovery document and the JWKS from the cache."""

    def __init__(self, app: Flask, wrapped: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wrapped = wrapped
        self.routes: dict[str, tuple[Callable[[], tuple[bytes, str]], int, str]] = {
            DISCOVERY_PATH: (discovery_document, DISCOVERY_MAX_AGE, "oidc.discovery"),
            JWKS_PATH: (keys.jwks_document, JWKS_MAX_AGE, "oidc.jwks"),
        }
        self.headers = [*app.extensions["idaas_security_headers"], *CORS_HEADERS.items()]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Serve a constant document, or hand the request to the app."""
        route = self.routes.get(environ.get("PATH_INFO", ""))
        if route is None or environ.get("REQUEST_METHOD") != "GET":
            return self.wrapped(environ, start_response)
        started = time.perf_counter()
        produce, max_age, endpoint = route
        try:
            with self.app.app_context():
                body, etag = produce()
        except Exception:  # the Flask route reports (and logs) the failure
            return self.wrapped(environ, start_response)
        headers = [*self.headers, ("ETag", etag), ("Cache-Control", f"public, max-age={max_age}")]
        if etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            status, body = "304 NOT MODIFIED", b""
        else:
            status = "200 OK"
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        metrics = self.app.extensions.get("idaas_metrics")
        if metrics is not None:
            metrics.observe(endpoint, "GET", status[:3], time.perf_counter() - started)
        return [body]


def init_app(app: Flask) -> None:
    """Put the constant-document middleware in front of the app."""
    app.wsgi_app = ConstantDocuments(app, app.wsgi_app)  # type: ignore[method-assign]
