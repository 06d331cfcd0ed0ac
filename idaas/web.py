"""Cross-cutting HTTP behaviour: security headers, cookies, error rendering, language switch."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request
from flask_babel import get_locale, gettext
from werkzeug.exceptions import HTTPException, InternalServerError
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
    log.exception("unhandled error on %s %s", request.method, request.path)
    internal = InternalServerError(gettext("Something went wrong on our side. Please try again."))
    return handle_http_error(internal)


def add_security_headers(response: Response) -> Response:
    """Apply the security header baseline unless a view set its own value."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["PREFERRED_URL_SCHEME"] == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    """Cookie flags, headers, error handlers and the language switch."""
    secure = app.config["PREFERRED_URL_SCHEME"] == "https"
    app.config.setdefault("SESSION_COOKIE_SECURE", secure)
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.jinja_env.globals["get_locale"] = get_locale
    app.after_request(add_security_headers)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
    app.register_blueprint(bp)
