"""OAuth2 / OpenID Connect endpoints; thin views over `server.authorization` and the services."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from idaas.applications import apps
from idaas.applications.errors import InvalidInput
from idaas.applications.models import Application
from idaas.applications.scopes import OIDC_SCOPES
from idaas.auth import flow, sessions
from idaas.extensions import db, limiter
from idaas.oidc import claims as oidc_claims
from idaas.oidc import consent, documents, keys, logout, tokens
from idaas.oidc import hint as hint_check
from idaas.oidc.pending import PENDING_KEY
from idaas.oidc.principal import epoch, principal_for
from idaas.oidc.server import AccessTokenValidator, authorization, issuer
from idaas.web import csp_allowing_frames

bp = Blueprint("oidc", __name__)
MAX_PENDING = 5


def _failure_limit() -> str:
    return str(current_app.config["TOKEN_FAILURE_RATE_LIMIT"])


def _failed(response: Response) -> bool:
    return response.status_code in (400, 401)


@bp.post("/oauth2/token")
@bp.post("/oauth/token", endpoint="token_alias")
@limiter.limit(_failure_limit, deduct_when=_failed)
def token() -> Response:
    """Token endpoint (RFC 6749 §3.2: §4.1.3 code, §6 refresh, §4.4 client credentials)."""
    return authorization.create_token_response()


@bp.get("/oauth2/jwks")
def jwks() -> Response:
    """The public keys that verify our tokens (RFC 7517 §5); cached, with an ETag."""
    body, etag = keys.jwks_document()
    return _cached_document(body, etag, max_age=documents.JWKS_MAX_AGE)


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    """OpenID Provider metadata (OIDC Discovery 1.0 §3), only what we implement; cached."""
    body, etag = documents.discovery_document()
    return _cached_document(body, etag, max_age=documents.DISCOVERY_MAX_AGE)


CORS_ENDPOINTS = frozenset(
    {"oidc.discovery", "oidc.jwks", "oidc.token", "oidc.userinfo", "oidc.revoke", "oidc.introspect"}
)


@bp.after_app_request
def _cors(response: Response) -> Response:
    """CORS for browser-based relying parties on the machine endpoints, never with credentials.

    Cookies are never read on these endpoints (bearer tokens and client authentication only),
    so any origin may call them (Fetch standard §3.2; OAuth 2.0 for Browser-Based Apps §6).
    """
    if request.endpoint in CORS_ENDPOINTS:
        response.headers.update(documents.CORS_HEADERS)
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
    return response


def _cached_document(body: bytes, etag: str, max_age: int) -> Response:
    """A constant JSON document with validators (RFC 9111 §4.3), readable cross-origin."""
    if etag in request.headers.get("If-None-Match", ""):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


# -- authorization endpoint ------------------------------------------------------------------


def _check_csrf() -> None:
    """This blueprint is CSRF-exempt for RPs; its own forms check the token here."""
    if not current_app.config["WTF_CSRF_ENABLED"]:
        return
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        abort(400)


def _error_page(error: OAuth2Error) -> tuple[str, int]:
    """OIDC Core §3.1.2.6 / RFC 6749 §4.1.2.1: never redirect to an unverified URI."""
    db.session.rollback()
    return (
        render_template("oidc/error.html", error=error.error, description=error.description),
        400,
    )


def _redirect_error(error: OAuth2Error, grant: Any = None) -> Any:
    """Send the error to the verified redirect URI in the requested response mode."""
    db.session.rollback()
    if not error.redirect_uri:
        return _error_page(error)
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    state = request.values.get("state")
    if state:
        params.append(("state", state))
    params.append(("iss", issuer()))  # RFC 9207 §2
    return _respond(error.redirect_uri, params)


def _respond(redirect_uri: str, params: list[tuple[str, str]]) -> Any:
    """`query` (302) or `form_post` (OAuth 2.0 Form Post Response Mode §2)."""
    if request.values.get("response_mode") == "form_post":
        return render_template("oidc/form_post.html", action=redirect_uri, params=params)
    sep = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + sep + urlencode(params))


def _remember_request() -> str:
    """Keep this authorization request so sign-in can resume it (`oidc:<id>`)."""
    pending = dict(session.get(PENDING_KEY) or {})
    while len(pending) >= MAX_PENDING:
        pending.pop(next(iter(pending)))
    request_id = secrets.token_urlsafe(12)
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "_r"]
    pending[request_id] = {"q": urlencode(query), "t": int(time.time())}
    session[PENDING_KEY] = pending
    return request_id


def _resume(request_id: str) -> str | None:
    """The authorization URL a finished sign-in returns to."""
    entry = (session.get(PENDING_KEY) or {}).get(request_id)
    if not entry:
        return None
    return f"/oauth2/authorize?{entry['q']}&_r={request_id}"


def _fresh_login_done() -> bool:
    """Whether this request resumes a sign-in that happened after it was first made."""
    request_id = request.args.get("_r")
    entry = (session.get(PENDING_KEY) or {}).get(request_id) if request_id else None
    row = sessions.current()
    return bool(entry and row and epoch(row.authenticated_at) >= entry["t"] - 1)


def _to_login(reauthenticate: bool) -> Response:
    """Send the browser to sign in, then back here (OIDC Core §3.1.2.3).

    A signed-in person asked to sign in again keeps the current session until the new
    sign-in succeeds (a GET must not sign anyone out).
    """
    if reauthenticate:
        flow.request_reauthentication()
    request_id = _remember_request()
    return redirect(url_for("auth.login", next=f"oidc:{request_id}"))


def _hint_mismatch(account: Any) -> bool:
    hint = (request.args.get("login_hint") or "").strip().lower()
    if not hint:
        return False
    known = {account.username.lower(), (account.email or "").lower(), account.mobile or ""}
    return hint not in known


@bp.route("/oauth2/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    """Authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2): sign-in, policy, consent."""
    row = sessions.current()
    account = sessions.current_account() if row is not None else None
    prompts = set((request.values.get("prompt") or "").split())
    resumed = _fresh_login_done() if request.args.get("_r") else False
    try:
        grant = authorization.get_consent_grant(end_user=account)
    except OAuth2Error as error:
        return _redirect_error(error)
    except ValueError:
        # authlib refuses to build an error whose description would echo non-ASCII, `"` or
        # `\` from the request (finding 11): answer 400 without echoing anything.
        return _error_page(InvalidRequestError("The authorization request is malformed."))
    app: Application = grant.request.client
    redirect_uri = grant.redirect_uri

    def fail(error_class: type[OAuth2Error], description: str) -> Any:
        return _redirect_error(error_class(description=description, redirect_uri=redirect_uri))

    needs_login = account is None
    if account is not None and not resumed:
        max_age = request.values.get("max_age")
        if max_age is not None:
            try:
                limit = int(max_age)
            except ValueError:
                return fail(InteractionRequiredError, "max_age must be a number of seconds.")
            if time.time() - epoch(row.authenticated_at) > limit:  # type: ignore[union-attr]
                needs_login = True
        if "login" in prompts or _hint_mismatch(account):
            needs_login = True
        wanted_acr = (request.values.get("acr_values") or "").split()
        if wanted_acr == ["mfa"] and row.acr != "mfa":  # type: ignore[union-attr]
            from idaas.auth import mfa

            if mfa.is_enrolled(account.id):
                needs_login = True
    if needs_login:
        if "none" in prompts:
            return fail(LoginRequiredError, "The person must sign in.")
        return _to_login(reauthenticate=account is not None)
    assert account is not None and row is not None
    scopes = grant.request.scope.split()
    reason = apps.policy_refusal(app, account)
    if reason is not None:
        consent.record_decision(app, account, False, reason, grant.request.scope)
        return fail(AccessDeniedError, "You are not allowed to use this application.")
    _, state = apps.app_username(app, account)
    if state != "ok":
        consent.record_decision(app, account, False, f"subaccount_{state}", "")
        if "none" in prompts:
            return fail(AccessDeniedError, "Your account in this application is not ready.")
        return _subaccount_page(app, state, 403)
    consent_needed = app.consent_required and (
        "consent" in prompts or not consent.has_consent(account.id, app.client_id, scopes)
    )
    if consent_needed:
        if "none" in prompts:
            return fail(ConsentRequiredError, "The person must consent.")
        if request.method == "POST" and request.form.get("decision"):
            _check_csrf()
            if request.form["decision"] != "allow":
                consent.record_decision(app, account, False, "consent_refused", "")
                return fail(AccessDeniedError, "The person refused consent.")
            consent.grant_consent(account.id, app.client_id, scopes)
        else:
            return render_template(
                "oidc/consent.html",
                app=app,
                scopes=[(s, OIDC_SCOPES.get(s, s)) for s in scopes if s != "openid"],
                action=request.full_path,
            )
    principal = principal_for(app, account, row)
    # committed with the code it leads to (save_authorization_code)
    consent.record_decision(app, account, True, "allowed", grant.request.scope, commit=False)
    response = authorization.create_authorization_response(grant=grant, grant_user=principal)
    if response.status_code == 302:
        # RFC 9207 §2: the issuer identifier in every authorization response.
        location = response.headers["Location"]
        response.headers["Location"] = location + "&" + urlencode({"iss": issuer()})
    if request.values.get("response_mode") == "form_post" and response.status_code == 302:
        from urllib.parse import parse_qsl, urlsplit

        location = response.headers["Location"]
        params = parse_qsl(urlsplit(location).query)
        return render_template("oidc/form_post.html", action=redirect_uri, params=params)
    return response


# -- userinfo, revocation, introspection ---------------------------------------------------


def _bearer_error(status: int, error: str | None, description: str) -> Response:
    body = jsonify(error=error, error_description=description) if error else jsonify()
    challenge = 'Bearer realm="idaas"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    body.status_code = status
    body.headers["WWW-Authenticate"] = challenge
    return body


@bp.route("/oauth2/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    """UserInfo endpoint (OIDC Core §5.3): claims the token's scopes release, bearer only."""
    header = request.headers.get("Authorization", "")
    token_string = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not token_string and request.method == "POST":
        token_string = request.form.get("access_token", "")
    if not token_string:
        return _bearer_error(401, None, "")
    try:
        claims = AccessTokenValidator().authenticate_token(token_string)
    except OAuth2Error:
        return _bearer_error(401, "invalid_token", "The access token is invalid or has expired.")
    found = tokens.live_access_token(str(claims.get("jti")))
    if found is None:
        return _bearer_error(401, "invalid_token", "The access token was revoked.")
    row, account, app = found
    if "openid" not in row.scope.split():
        return _bearer_error(403, "insufficient_scope", "The openid scope is required.")
    response = jsonify(oidc_claims.user_claims(app, account, row.scope, row.subject))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oauth2/revoke")
def revoke() -> Response:
    """Token revocation (RFC 7009 §2)."""
    return authorization.create_endpoint_response("revocation")


@bp.post("/oauth2/introspect")
def introspect() -> Response:
    """Token introspection (RFC 7662 §2)."""
    return authorization.create_endpoint_response("introspection")


@bp.route("/oauth2/logout", methods=["GET", "POST"])
def end_session() -> Any:
    """RP-Initiated Logout 1.0 §2-3: confirm without a valid hint, tell every RP, redirect."""
    try:
        end_request = authorization.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return _error_page(error)
    confirmed = False
    if request.method == "POST" and request.form.get("confirm"):
        _check_csrf()
        confirmed = True
    hint = request.values.get("id_token_hint") or ""
    claims = end_request.id_token_claims
    if claims is not None and not (
        hint_check.is_id_token(hint)
        and hint_check.matches_session(claims, issuer(), sessions.current_any())
    ):
        end_request.id_token_claims = None  # not this browser's ID token: ask (finding 8)
    if end_request.needs_confirmation and not confirmed:
        if sessions.current_any() is None:
            return render_template("oidc/logged_out.html", frames=[], next_url=None)
        return render_template("oidc/logout_confirm.html", action=request.full_path)
    row = sessions.current_any()
    session_id = row.id if row is not None else None
    response = authorization.create_endpoint_response("end_session", end_request)
    g.pop("idaas_ended_sessions", None)
    found = logout.sessions_ended([session_id], "system") if session_id is not None else []
    frames = logout.frontchannel_urls(found)
    if frames:
        target = end_request.redirect_uri
        page = current_app.make_response(
            render_template("oidc/logged_out.html", frames=frames, next_url=target)
        )
        page.headers["Content-Security-Policy"] = csp_allowing_frames(frames)
        return page
    return response or render_template("oidc/logged_out.html", frames=[], next_url=None)


def init_resume(app: Any) -> None:
    """Let the sign-in flow resume pending authorization requests (`oidc:<id>`)."""
    flow.register_resume_handler(app, "oidc", _resume)


@bp.get("/portal/launch/<client_id>")
def launch(client_id: str) -> Any:
    """IdP-initiated sign-in from a portal tile (OIDC Core §4, `initiate_login_uri` + `iss`)."""
    account = sessions.current_account()
    if account is None:
        return redirect(url_for("auth.login", next=request.path))
    app = apps.find_enabled_application(client_id)
    if app is None:
        abort(404)
    reason = apps.policy_refusal(app, account)
    if reason is not None:
        consent.record_decision(app, account, False, reason, "")
        abort(403)
    url = apps.launch_url_for(client_id)
    if url is None:
        abort(404)
    return redirect(url)


portal_bp = Blueprint("oidc_portal", __name__, url_prefix="/portal")


@portal_bp.get("/permissions")
@sessions.login_required
def consents() -> str:
    """The applications the person granted access to (OIDC Core §3.1.2.4), revocable."""
    from idaas.auth.forms import ConfirmForm

    rows = [
        (row, app, [(s, OIDC_SCOPES.get(s, s)) for s in row.scopes if s != "openid"])
        for row, app in consent.consents_of(g.account.id)
        if app is not None
    ]
    return render_template("oidc/consents.html", rows=rows, form=ConfirmForm())


@portal_bp.post("/permissions/<client_id>/revoke")
@sessions.login_required
def revoke_consent(client_id: str) -> Response:
    """Withdraw consent: the app asks again next time and its tokens stop working."""
    from flask import flash
    from flask_babel import gettext

    if consent.revoke_consent(g.account.id, client_id):
        flash(gettext("Access withdrawn."), "success")
    return redirect(url_for("oidc_portal.consents"))


def _subaccount_page(app: Application, state: str, status: int, error: str | None = None) -> Any:
    """Explain why the app cannot be opened yet; in association mode, offer a proposal form."""
    can_propose = app.subaccount_mode == "association" and state in ("missing", "rejected")
    page = render_template(
        "oidc/subaccount.html", app=app, state=state, can_propose=can_propose, error=error
    )
    return page, status


@portal_bp.post("/apps/<client_id>/subaccount")
@sessions.login_required
def propose_subaccount(client_id: str) -> Any:
    """Propose my username in an association-mode app (主子账号); an administrator approves it."""
    app = apps.find_enabled_application(client_id)
    if app is None or app.subaccount_mode != "association":
        abort(404)
    _, state = apps.app_username(app, g.account)
    if state not in ("missing", "rejected"):
        return _subaccount_page(app, state, 409)
    try:
        apps.propose_subaccount(
            f"user:{g.account.id}", client_id, g.account.id, request.form.get("username", "")
        )
    except InvalidInput as error:
        return _subaccount_page(app, state, 422, error=next(iter(error.fields.values()), None))
    return _subaccount_page(app, "pending", 200)
