"""A SCIM push target's settings: validate and save (secrets sealed), show, test the connection."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from idaas import audit, mapping
from idaas.applications.apps import get_application
from idaas.applications.errors import InvalidInput
from idaas.applications.models import Application
from idaas.extensions import db, utcnow
from idaas.scim.push import log, resources
from idaas.scim.push.client import Session, forget_token
from idaas.scim.push.models import (
    AUTH_TYPES,
    DEPARTMENT_MODES,
    DEPROVISION,
    ProvisioningTarget,
)
from idaas.security import secretbox

SCOPE_LISTS = ("departments", "groups", "roles", "accounts")
NEEDS_SECRET = ("basic", "bearer", "oauth2")


class NoTarget(LookupError):
    """The application has no SCIM push target."""


def find(app: Application) -> ProvisioningTarget | None:
    """The application's SCIM push target, if it has one."""
    return db.session.scalar(
        select(ProvisioningTarget).where(ProvisioningTarget.application_id == app.id)
    )


def get(client_id: str) -> tuple[Application, ProvisioningTarget]:
    """The application (ClientNotFound) and its target (NoTarget)."""
    app = get_application(client_id)
    target = find(app)
    if target is None:
        raise NoTarget(client_id)
    return app, target


def is_loopback(host: str | None) -> bool:
    """Whether a URL's host is this machine (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(value: Any, errors: dict[str, str], name: str) -> str | None:
    text = str(value or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        parts, host = urlsplit(""), None
    if parts.scheme not in ("http", "https") or not host or len(text) > 512:
        errors[name] = gettext("Give an http(s) URL.")
        return None
    if (
        parts.scheme == "http"
        and not is_loopback(host)
        and not current_app.config["PROVISIONING_ALLOW_HTTP"]
    ):
        errors[name] = gettext(
            "Give an https URL: the target receives people's data and credentials. Plain http "
            "is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost), or everywhere "
            "when PROVISIONING_ALLOW_HTTP is set."
        )
        return None
    return text.rstrip("/")


def _scope(value: Any, errors: dict[str, str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        errors["scope"] = gettext("The scope must be an object.")
        return {}
    clean: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("everyone", "policy"):
            clean[key] = bool(item)
        elif (
            key in SCOPE_LISTS
            and isinstance(item, list)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in item)
        ):
            clean[key] = sorted(set(item))
        else:
            errors["scope"] = gettext("Unknown or malformed scope entry %(key)s.", key=key)
    return clean


def _choice(
    data: dict[str, Any], name: str, choices: tuple[str, ...], errors: dict[str, str]
) -> None:
    if name in data and data[name] not in choices:
        errors[name] = gettext("Choose one of: %(choices)s.", choices=", ".join(choices))


def _clean(
    data: dict[str, Any], target: ProvisioningTarget
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    allowed = {
        "enabled", "base_url", "users", "groups", "departments", "auth_type", "auth",
        "secret", "scope", "deprovision", "mapping", "echo_client",
    }  # fmt: skip
    for name in set(data) - allowed:
        errors[name] = gettext("This field cannot be changed.")
    for name in ("enabled", "users", "groups"):
        if name in data:
            if not isinstance(data[name], bool):
                errors[name] = gettext("Give true or false.")
            clean[name] = bool(data[name])
    _choice(data, "departments", DEPARTMENT_MODES, errors)
    _choice(data, "auth_type", AUTH_TYPES, errors)
    _choice(data, "deprovision", DEPROVISION, errors)
    for name in ("departments", "auth_type", "deprovision"):
        if name in data:
            clean[name] = data[name]
    if "base_url" in data or not target.base_url:
        clean["base_url"] = _url(data.get("base_url"), errors, "base_url")
    if "scope" in data:
        clean["scope"] = _scope(data["scope"], errors)
    if "mapping" in data:
        try:
            clean["mapping"] = mapping.validate_rules(data["mapping"], resources.valid_target)
        except ValueError as exc:
            errors["mapping"] = str(exc)
    if "echo_client" in data:
        echo = str(data["echo_client"] or "").strip()
        if len(echo) > 64:
            errors["echo_client"] = gettext("At most 64 characters.")
        clean["echo_client"] = echo or None
    if "auth" in data:
        auth = data["auth"]
        if not isinstance(auth, dict) or not all(
            k in ("username", "client_id", "token_url", "scope") for k in auth
        ):
            errors["auth"] = gettext("Give username, client_id, token_url or scope.")
        else:
            clean["auth"] = {k: str(v) for k, v in auth.items() if v not in (None, "")}
    if "secret" in data and data["secret"] is not None and not isinstance(data["secret"], str):
        errors["secret"] = gettext("The secret must be text.")
    kind = clean.get("auth_type", target.auth_type)
    auth = clean.get("auth", target.auth or {})
    if kind == "basic" and not auth.get("username"):
        errors["auth"] = gettext("Basic authentication needs a username.")
    if kind == "oauth2":
        if not auth.get("client_id"):
            errors["auth"] = gettext("OAuth2 needs a client_id.")
        elif "token_url" not in errors:
            _url(auth.get("token_url"), errors, "auth")
    has_secret = data.get("secret") if "secret" in data else target.secret_encrypted
    if kind in NEEDS_SECRET and not has_secret:
        errors["secret"] = gettext("This authentication needs a secret.")
    return clean, errors


def save(origin: str, client_id: str, data: dict[str, Any]) -> ProvisioningTarget:
    """Create or change the application's target (only the fields given); commit; audited.

    `secret` is write-only: a new value replaces the sealed one, null removes it.
    """
    app = get_application(client_id)
    target = find(app)
    created = target is None
    if target is None:
        target = ProvisioningTarget(
            application_id=app.id, base_url="", auth={}, scope={}, mapping=[], capabilities={}
        )
    clean, errors = _clean(data if isinstance(data, dict) else {"": None}, target)
    if errors:
        db.session.rollback()
        raise InvalidInput(errors)
    for name, value in clean.items():
        setattr(target, name, value)
    if "secret" in data:
        secret = data["secret"]
        target.secret_encrypted = secretbox.encrypt(secret) if secret else None
    if created:
        db.session.add(target)
    target.updated_at = utcnow()
    if target.id:
        forget_token(target)
    changed = sorted(set(clean) | ({"secret"} if "secret" in data else set()))
    audit.record(
        origin,
        "provisioning.created" if created else "provisioning.updated",
        f"application:{client_id}",
        details={"fields": changed},
    )
    db.session.commit()
    return target


def delete(origin: str, client_id: str) -> None:
    """Remove the application's SCIM push target (its log and memory go with it); commit."""
    _, target = get(client_id)
    db.session.delete(target)
    audit.record(origin, "provisioning.deleted", f"application:{client_id}")
    db.session.commit()


def to_dict(target: ProvisioningTarget, app: Application) -> dict[str, Any]:
    """The JSON form of a target: settings and capabilities, never the secret."""
    return {
        "application": app.client_id,
        "enabled": target.enabled,
        "base_url": target.base_url,
        "users": target.users,
        "groups": target.groups,
        "departments": target.departments,
        "auth_type": target.auth_type,
        "auth": dict(target.auth or {}),
        "secret_set": bool(target.secret_encrypted),
        "scope": dict(target.scope or {}),
        "deprovision": target.deprovision,
        "mapping": list(target.mapping or []),
        "echo_client": target.echo_client,
        "capabilities": dict(target.capabilities or {}),
    }


def test_connection(origin: str, client_id: str) -> dict[str, Any]:
    """Read the target's ServiceProviderConfig and ResourceTypes; adapt to them; commit.

    Returns what it supports (`patch`, `filter`, `bulk`, resource types) or why it failed.
    """
    _, target = get(client_id)
    session = Session(target)
    report: dict[str, Any] = {"ok": False}
    try:
        response = session.request("GET", "ServiceProviderConfig", operation="test")
        report["status"] = response.status_code
        if response.is_redirect:
            report["message"] = gettext(
                "The target redirected to %(location)s; idaas follows no redirect (it could "
                "lead to plain http): give the final URL as the base URL.",
                location=response.headers.get("Location", "?"),
            )
        elif response.status_code != 200:
            report["message"] = gettext(
                "The target answered HTTP %(status)d: %(error)s",
                status=response.status_code,
                error=session.log[-1].error or "",
            )
        else:
            config = response.json()
            types = session.request("GET", "ResourceTypes", operation="test")
            names = []
            if types.status_code == 200:
                names = [
                    str(r.get("name") or r.get("id")) for r in types.json().get("Resources") or []
                ]
            capabilities = {
                "patch": bool((config.get("patch") or {}).get("supported")),
                "filter": bool((config.get("filter") or {}).get("supported")),
                "bulk": bool((config.get("bulk") or {}).get("supported")),
                "resource_types": names,
                "checked_at": utcnow().isoformat() + "Z",
            }
            target.capabilities = capabilities
            report.update(ok=True, **capabilities)
    except Exception as exc:  # a network error or a body that is not JSON: say so in words
        report["message"] = gettext("The target could not be reached: %(error)s", error=str(exc))
    log.record(session, "target", str(target.id))
    audit.record(
        origin, "provisioning.tested", f"application:{client_id}", details={"ok": report["ok"]}
    )
    db.session.commit()
    return report
