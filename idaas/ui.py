"""What every page shows around its content: branding, labels in the page's language, error pages.

Branding comes from the instance config (`BRAND_NAME`, `BRAND_LOGO_URL`, `BRAND_LOGIN_NOTICE`);
a name or notice may be one string or one per language. Sign-in methods and applications get
per-language display names; authorization-server errors are explained in plain words (the
RFC 6749 code stays in small print).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from flask import Flask, current_app, request, session, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

DEFAULT_NAME = "idaas"
#: Display names that only say what the method is: shown through the catalogue instead.
GENERIC_SOURCE_NAMES = {
    "password": {"", "password", "密码", "密码登录"},
    "dingtalk": {"", "dingtalk", "钉钉", "dingtalk qr", "钉钉扫码登录"},
    "dingtalk_micro": {"", "dingtalk workbench", "钉钉工作台"},
}
SOURCE_LABELS = {
    "password": _l("Password"),
    "dingtalk": _l("DingTalk"),
    "dingtalk_micro": _l("DingTalk workbench"),
}
#: How a session's first factor was proven (auth_session.channel) -> a label.
CHANNEL_LABELS = {
    "password": _l("Password"),
    "pwd": _l("Password"),
    "dingtalk_qr": _l("DingTalk QR code"),
    "dingtalk_workbench": _l("DingTalk workbench"),
    "dingtalk": _l("DingTalk"),
}
#: RFC 6749 §4.1.2.1 / §5.2 and OIDC Core §3.1.2.6 error codes in plain words.
OIDC_ERRORS = {
    "invalid_client": _l("The application is not registered here, or it is turned off."),
    "unauthorized_client": _l("The application is not allowed to sign people in this way."),
    "invalid_request": _l("The application's sign-in request is incomplete or malformed."),
    "invalid_scope": _l("The application asked for permissions that do not exist here."),
    "unsupported_response_type": _l(
        "The application asked for a kind of answer idaas does not give."
    ),
    "access_denied": _l("Access to this application was refused."),
    "server_error": _l("Something went wrong on our side. Please try again."),
    "temporarily_unavailable": _l("The service is busy. Please try again in a moment."),
    "invalid_redirect_uri": _l(
        "The application asked to return to an address it did not register."
    ),
    "login_required": _l("You need to sign in first."),
    "consent_required": _l("The application needs your permission first."),
    "interaction_required": _l("You need to sign in or confirm something first."),
    "account_selection_required": _l("Choose an account first."),
    "request_not_supported": _l(
        "The application's sign-in request uses a feature idaas does not support."
    ),
    "request_uri_not_supported": _l(
        "The application's sign-in request uses a feature idaas does not support."
    ),
}
ERROR_PAGES: dict[int, tuple[Any, Any]] = {
    400: (
        _l("Bad request"),
        _l("The page could not understand what was sent. Go back and try again."),
    ),
    401: (_l("Sign-in needed"), _l("Sign in to see this page.")),
    403: (_l("Not allowed"), _l("Your account is not allowed to open this page.")),
    404: (
        _l("Page not found"),
        _l("This address does not exist here. Check it, or start again from the home page."),
    ),
    405: (_l("Not possible here"), _l("This page cannot be used this way. Go back and try again.")),
    409: (
        _l("Changed meanwhile"),
        _l("Something changed while you were working. Reload the page and try again."),
    ),
    410: (_l("No longer available"), _l("This link has expired or was already used.")),
    413: (_l("Too large"), _l("What was sent is too large.")),
    415: (_l("Not accepted"), _l("What was sent is in a format this page does not accept.")),
    429: (_l("Too many attempts"), _l("Please wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("Something went wrong on our side. Please try again.")),
    502: (
        _l("Service unreachable"),
        _l("A service idaas depends on did not answer. Please try again shortly."),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l("The service is busy or being maintained. Please try again shortly."),
    ),
}


def localised(value: Any) -> str:
    """A configured text in the page's language: a string, or a mapping by language code."""
    if isinstance(value, dict):
        locale = str(get_locale() or "")
        for key in (locale, locale.split("_")[0], current_app.config["BABEL_DEFAULT_LOCALE"]):
            if value.get(key):
                return str(value[key])
        return str(next(iter(value.values()), ""))
    return str(value or "")


def brand() -> dict[str, str]:
    """The organisation's name, logo and login notice for the current page."""
    config = current_app.config
    return {
        "name": localised(config["BRAND_NAME"]) or DEFAULT_NAME,
        "logo": str(config["BRAND_LOGO_URL"]) or url_for("static", filename="img/logo.svg"),
        "notice": localised(config["BRAND_LOGIN_NOTICE"]),
    }


def source_label(source: Any) -> str:
    """A sign-in method's name in the page's language (its per-language names, else the type's)."""
    names = source.settings.get("display_names") if hasattr(source, "settings") else None
    if isinstance(names, dict) and names:
        return localised(names)
    typed = str(getattr(source, "display_name", "") or "")
    generic = GENERIC_SOURCE_NAMES.get(source.type, set())
    if typed.strip().casefold() in generic and source.type in SOURCE_LABELS:
        return str(SOURCE_LABELS[source.type])
    return typed


def channel_label(channel: str | None, methods: list[str] | None = None) -> str:
    """How a session signed in, e.g. "DingTalk QR code + two-step verification"."""
    used = list(methods or [])
    first = channel or (used[0] if used else "password")
    label = str(CHANNEL_LABELS.get(first, CHANNEL_LABELS["password"]))
    if {"otp", "recovery", "device"} & set(used):
        return str(gettext("%(method)s + two-step verification", method=label))
    return label


def app_name(app: Any) -> str:
    """An application's name in the page's language (its `display_names`, else `name`)."""
    names = getattr(app, "display_names", None)
    if isinstance(names, dict) and names:
        return localised(names)
    return str(getattr(app, "name", "") or "")


def oidc_error_text(code: str | None) -> str:
    """A plain-words explanation of an OAuth 2.0 / OIDC error code."""
    text = OIDC_ERRORS.get(code or "")
    return str(text) if text else gettext("The application sent a request idaas cannot accept.")


def error_context(status: int) -> dict[str, Any]:
    """Title and text of the error page for an HTTP status, in the page's language."""
    title, text = ERROR_PAGES.get(status, ERROR_PAGES[500 if status >= 500 else 400])
    return {"status": status, "title": str(title), "text": str(text)}


def inside_dingtalk() -> bool:
    """Whether the page is open in DingTalk's own web view (its user agent says so, §3.1)."""
    return "dingtalk" in request.headers.get("User-Agent", "").lower()


def pending_app(next_target: str | None) -> Any:
    """The application a pending authorization request (`oidc:<id>`) signs in to, or None."""
    if not next_target or not next_target.startswith("oidc:"):
        return None
    from idaas.applications import apps
    from idaas.oidc.pending import PENDING_KEY

    entry = (session.get(PENDING_KEY) or {}).get(next_target.split(":", 1)[1])
    if not isinstance(entry, dict):
        return None
    client_id = (parse_qs(str(entry.get("q") or "")).get("client_id") or [""])[0]
    return apps.find_enabled_application(client_id) if client_id else None


def init_app(app: Flask) -> None:
    """Make branding and the label helpers available to every template."""
    app.context_processor(
        lambda: {
            "brand": brand(),
            "reset_enabled": bool(current_app.config["PASSWORD_RESET_ENABLED"]),
        }
    )
    helpers = (source_label, channel_label, app_name, oidc_error_text, inside_dingtalk, pending_app)
    app.jinja_env.globals.update({helper.__name__: helper for helper in helpers})
