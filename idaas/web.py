"""Cross-cutting HTTP behaviour: security headers, cookies, error rendering, language switch."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import get_locale, gettext
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
)
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)
bp = Blueprint("web", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
JSON_PREFIXES = ("/api/", "/oauth2/", "/oauth/", "/scim/", "/_sandbox/", "/readyz", "/healthz")


def is_safe_path(target: str | None) -> bool:
    """True for a same-origin absolute path (no scheme, no host, no `//` or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def csp_allowing_frames(urls: list[str]) -> str:
    """The baseline CSP plus `frame-src` for the origins of `urls` (logout iframes)."""
    origins = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls})
    return CONTENT_SECURITY_POLICY + "; frame-src " + " ".join(origins)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with too-deep nesting reported as invalid JSON (a 400), not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON; a RecursionError becomes a ValueError that Flask answers with 400."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without its per-request work when there is no cookie.

    Most requests (APIs, tokens, documents) carry no session cookie: they get an empty session
    without building a signer or raising and catching a KeyError for the missing cookie.
    """

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        """An empty session when the request has no session cookie, else Flask's."""
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def _body_limits() -> None:
    """Enforce MAX_CONTENT_LENGTH (finding 10); SCIM Bulk (RFC 7644 §3.7) may send more.

    werkzeug refuses a too-large Content-Length itself but silently truncates a chunked body
    at the limit; read such a body here (at most the limit) and refuse it with 413.
    """
    if request.path.startswith("/scim/") and request.path.rstrip("/").endswith("/Bulk"):
        request.max_content_length = int(current_app.config["SCIM_BULK_MAX_PAYLOAD"])
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    limit = request.max_content_length
    if chunked and request.content_length is None and limit is not None:
        if len(request.get_data(cache=True)) >= limit:
            raise RequestEntityTooLarge()


def wants_json() -> bool:
    """Whether the current request should get a JSON error rather than an HTML page."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@bp.get("/lang/<code>")
def switch_language(code: str) -> Response:
    """Remember the chosen UI language in a cookie and go back to a same-origin page."""
    target = request.args.get("next")
    response = redirect(target if target and is_safe_path(target) else "/")
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang",
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def _problem(status: int, title: str, detail: str | None = None) -> Response:
    """An RFC 9457 problem document."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def handle_http_error(error: HTTPException) -> Response:
    """Render an HTTP error as problem+json for machines or a friendly page for people."""
    status = error.code or 500
    if wants_json():
        response = _problem(status, error.name, error.description)
    else:
        from idaas.ui import error_context

        response = Response(
            render_template("errors/error.html", **error_context(status)),
            status,
            mimetype="text/html",
        )
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return response


def handle_unexpected_error(error: Exception) -> Response:
    """Log an unexpected error and answer 500 without a stack trace."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    if isinstance(error, RecursionError):  # input nested too deeply for any parser: the client's
        return handle_http_error(BadRequest(gettext("The request is nested too deeply.")))
    log.exception("unhandled error on %s %s", request.method, request.path)
    internal = InternalServerError(gettext("Something went wrong on our side. Please try again."))
    return handle_http_error(internal)


def security_headers(app: Flask) -> list[tuple[str, str]]:
    """The security header baseline (names and values) for `app`."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if app.config["PREFERRED_URL_SCHEME"] == "https":
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def add_security_headers(response: Response) -> Response:
    """Apply the security header baseline unless a view set its own value."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for name, value in current_app.extensions["idaas_security_headers"]:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def init_app(app: Flask) -> None:
    """Cookie flags, headers, error handlers and the language switch."""
    secure = app.config["PREFERRED_URL_SCHEME"] == "https"
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.jinja_env.globals["get_locale"] = get_locale
    app.json = JSONProvider(app)
    app.session_interface = CookieSessionInterface()
    app.extensions["idaas_security_headers"] = security_headers(app)
    app.before_request(_body_limits)
    app.after_request(add_security_headers)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
    app.register_blueprint(bp)
    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops:
        # The client address, scheme and host come from the trusted proxies' X-Forwarded-*
        # headers (the rightmost `hops` values), so per-IP limits key on the real client.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
