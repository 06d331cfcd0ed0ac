"""A tiny OpenID Connect relying party that shows the claims it received (demo and tests).

It is deliberately a *client* of idaas built only on authlib's Flask client, so it checks idaas
the way an independent application would: discovery, code flow with PKCE (S256) and nonce,
ID token validation against the JWKS, userinfo, RP-initiated logout, third-party-initiated
login (`initiate_login_uri`), and back- and front-channel logout receivers.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, jsonify, redirect, render_template, request, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.wrappers import Response

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class LogoutRegistry:
    """Session ids (`sid`) that idaas told us to end, and the logout tokens received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ended_sids: set[str] = set()
        self.ended_subjects: set[str] = set()
        self.received: list[dict[str, Any]] = []

    def end(self, claims: dict[str, Any], channel: str) -> None:
        """Remember a verified logout request."""
        with self._lock:
            if claims.get("sid"):
                self.ended_sids.add(str(claims["sid"]))
            elif claims.get("sub"):
                self.ended_subjects.add(str(claims["sub"]))
            self.received.append({"channel": channel, **claims})

    def is_ended(self, sid: str | None, sub: str | None) -> bool:
        """Whether a local session with this sid/sub was logged out by idaas."""
        with self._lock:
            return (sid in self.ended_sids) or (sub in self.ended_subjects)


def create_relying_party(
    issuer: str,
    client_id: str,
    client_secret: str | None,
    *,
    public_base: str,
    scope: str = "openid profile email phone",
    title: str = "Demo app",
    secret_key: str | None = None,
) -> Flask:
    """Build the demo RP for `issuer`, reachable by browsers at `public_base`."""
    app = Flask(__name__, template_folder="templates")
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_urlsafe(32),
        SESSION_COOKIE_NAME=f"rp_{client_id[:16]}",
        SESSION_COOKIE_SAMESITE="Lax",
        RP_TITLE=title,
        RP_ISSUER=issuer.rstrip("/"),
        RP_PUBLIC_BASE=public_base.rstrip("/"),
    )
    oauth = OAuth(app)
    client_kwargs: dict[str, Any] = {"scope": scope, "code_challenge_method": "S256"}
    if client_secret is None:
        client_kwargs["token_endpoint_auth_method"] = "none"
    idaas = oauth.register(
        "idaas",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )
    logouts = LogoutRegistry()
    app.extensions["rp_logouts"] = logouts

    def url(path: str) -> str:
        return f"{app.config['RP_PUBLIC_BASE']}{path}"

    def verify_logout_token(token: str) -> dict[str, Any]:
        """Validate a logout token (OpenID Back-Channel Logout 1.0 §2.6)."""
        keys = KeySet.import_key_set(idaas.fetch_jwk_set(force=True))
        decoded = jwt.decode(token, keys)
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": app.config["RP_ISSUER"]},
            aud={"essential": True, "value": client_id},
            iat={"essential": True},
            jti={"essential": True},
        )
        registry.validate(claims)
        if BACKCHANNEL_EVENT not in (claims.get("events") or {}):
            raise JoseError("events claim lacks the back-channel logout event")
        if "nonce" in claims:
            raise JoseError("a logout token must not contain a nonce")
        if not claims.get("sid") and not claims.get("sub"):
            raise JoseError("a logout token needs sid or sub")
        return claims

    @app.before_request
    def end_logged_out_sessions() -> None:
        claims = session.get("id_claims") or {}
        if claims and logouts.is_ended(claims.get("sid"), claims.get("sub")):
            session.clear()

    @app.get("/")
    def home() -> str:
        """Show the signed-in person's claims, or a sign-in button."""
        return render_template(
            "rp/home.html",
            title=app.config["RP_TITLE"],
            id_claims=session.get("id_claims"),
            userinfo=session.get("userinfo"),
            error=request.args.get("error"),
        )

    def start_login(**extra: str) -> Response:
        try:
            return idaas.authorize_redirect(url("/callback"), **extra)
        except requests.RequestException:
            return redirect("/?error=idaas_unreachable")

    @app.get("/login")
    def login() -> Response:
        """Start the authorization code flow (PKCE S256 and nonce are added by authlib)."""
        names = ("login_hint", "prompt", "ui_locales", "max_age", "acr_values")
        return start_login(**{k: request.args[k] for k in names if request.args.get(k)})

    @app.get("/initiate")
    def initiate() -> Response:
        """Third-party-initiated login (OIDC Core §4): idaas sends `iss`, we start a login."""
        if request.args.get("iss", "").rstrip("/") != app.config["RP_ISSUER"]:
            abort(400, "unknown issuer")
        hint = request.args.get("login_hint")
        return start_login(**({"login_hint": hint} if hint else {}))

    @app.get("/callback")
    def callback() -> Response:
        """Exchange the code, validate the ID token, fetch userinfo."""
        if request.args.get("error"):
            return redirect(f"/?error={request.args['error']}")
        try:
            token = idaas.authorize_access_token()
            userinfo = idaas.userinfo(token=token)
        except (OAuthError, JoseError, ValueError, requests.RequestException) as error:
            return redirect(f"/?error={type(error).__name__}")
        session.clear()
        session["id_claims"] = dict(token["userinfo"])
        session["userinfo"] = dict(userinfo)
        session["id_token"] = token["id_token"]
        session["refresh_token"] = token.get("refresh_token")
        return redirect("/")

    @app.post("/refresh")
    def refresh() -> Response:
        """Use the refresh token (RFC 6749 §6), keep the rotated one, re-read userinfo."""
        refresh_token = session.get("refresh_token")
        if not refresh_token:
            return redirect("/?error=no_refresh_token")
        try:
            token = idaas.fetch_access_token(
                grant_type="refresh_token", refresh_token=refresh_token
            )
            userinfo = idaas.userinfo(token=token)
        except (OAuthError, ValueError, requests.RequestException) as error:
            return redirect(f"/?error={getattr(error, 'error', type(error).__name__)}")
        session["refresh_token"] = token.get("refresh_token")
        session["userinfo"] = dict(userinfo)
        session["refreshed"] = int(session.get("refreshed") or 0) + 1
        return redirect("/")

    @app.post("/logout")
    def logout() -> Response:
        """RP-initiated logout: clear our session and send the browser to idaas."""
        id_token = session.get("id_token")
        session.clear()
        result = idaas.create_logout_url(
            post_logout_redirect_uri=url("/logged-out"), id_token_hint=id_token
        )
        return redirect(result["url"])

    @app.get("/logged-out")
    def logged_out() -> str:
        """Where idaas sends the browser after RP-initiated logout."""
        return render_template(
            "rp/logged_out.html", title=app.config["RP_TITLE"], state=request.args.get("state")
        )

    @app.post("/backchannel-logout")
    def backchannel_logout() -> tuple[Response, int]:
        """Receive a logout token (OpenID Back-Channel Logout 1.0 §2.5)."""
        token = request.form.get("logout_token", "")
        try:
            claims = verify_logout_token(token)
        except (JoseError, ValueError) as error:
            return jsonify(error="invalid_request", error_description=str(error)), 400
        except requests.RequestException:
            return jsonify(error="temporarily_unavailable"), 503
        logouts.end(claims, "backchannel")
        response = jsonify()
        response.headers["Cache-Control"] = "no-store"
        return response, 200

    @app.get("/frontchannel-logout")
    def frontchannel_logout() -> str:
        """Front-channel logout (OpenID Front-Channel Logout 1.0 §2): end the session by sid."""
        if request.args.get("iss", "").rstrip("/") == app.config["RP_ISSUER"] and request.args.get(
            "sid"
        ):
            logouts.end({"sid": request.args["sid"]}, "frontchannel")
        return ""

    @app.get("/_rp/state")
    def state() -> Response:
        """What this RP has been told (for tests and the curious)."""
        return jsonify(
            logouts=logouts.received,
            signed_in=bool(session.get("id_claims")),
            id_claims=session.get("id_claims"),
            userinfo=session.get("userinfo"),
            refreshed=session.get("refreshed", 0),
        )

    return app
