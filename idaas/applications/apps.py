"""Downstream applications (OIDC relying parties): the only writer of their tables.

An application is its OIDC client (one row): registration metadata per OIDC Registration §2,
the access policy, the portal tile and the per-application sub-account (主子账号) rules.
Secrets follow the API clients' handling: 256 random bits, shown once, SHA-256 at rest.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from idaas import audit
from idaas.applications.audited import delete_with_audit
from idaas.applications.errors import ClientNotFound, InvalidInput
from idaas.applications.models import (
    ID_TOKEN_ALGS,
    OIDC_GRANT_TYPES,
    SUBACCOUNT_MODES,
    SUBJECT_TYPES,
    Application,
    SubAccount,
    hash_secret,
)
from idaas.applications.scopes import unknown_oidc_scopes
from idaas.directory.models import Account
from idaas.extensions import db, utcnow

CLIENT_ID_PREFIX = "app_"
DEFAULT_SCOPES = ("openid", "profile", "email", "phone", "offline_access")
DEFAULT_GRANTS = ("authorization_code", "refresh_token")
POLICY_KEYS = ("departments", "groups", "roles", "accounts")
MAPPING_RULES = ("username", "employee_number", "email_local", "mobile")
#: Fields that take one of a fixed set of values, and the message when they do not.
_CHOICES: dict[str, tuple[tuple[str, ...], Any]] = {
    "id_token_alg": (ID_TOKEN_ALGS, lazy_gettext("Choose ES256 or RS256.")),
    "subject_type": (SUBJECT_TYPES, lazy_gettext("Choose public or pairwise.")),
    "subaccount_mode": (SUBACCOUNT_MODES, lazy_gettext("Choose direct, mapping or association.")),
}
LIFETIME_LIMITS = {
    "access_token_lifetime": (60, 86400),
    "id_token_lifetime": (60, 86400),
    "refresh_token_lifetime": (300, 365 * 86400),
}
EDITABLE = (
    "name",
    "display_names",
    "description",
    "icon_url",
    "enabled",
    "show_in_portal",
    "initiate_login_uri",
    "policy",
    "redirect_uris",
    "post_logout_redirect_uris",
    "scopes",
    "grant_types",
    "id_token_alg",
    "consent_required",
    "pkce_required",
    "subject_type",
    "sector_identifier",
    "backchannel_logout_uri",
    "frontchannel_logout_uri",
    "subaccount_mode",
    "subaccount_rule",
    "subaccount_as_sub",
    "claim_mapping",
    *LIFETIME_LIMITS,
)


def _uri(value: Any, field: str, errors: dict[str, str]) -> str | None:
    """An absolute http(s) URI without a fragment (RFC 6749 §3.1.2)."""
    if not isinstance(value, str) or not value or len(value) > 512:
        errors[field] = gettext("Must be an absolute http(s) URI of at most 512 characters.")
        return None
    try:
        parts = urlsplit(value)
        parts.hostname  # noqa: B018 - raises ValueError on a malformed authority
    except ValueError:
        errors[field] = gettext("Not a valid URI.")
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        errors[field] = gettext(
            "Not an absolute http(s) URI without a fragment: %(uri)s", uri=value[:80]
        )
        return None
    if any(ord(ch) < 33 for ch in value):
        errors[field] = gettext("Must not contain spaces or control characters.")
        return None
    return value


def _uris(values: Any, field: str, errors: dict[str, str], required: bool = False) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        errors[field] = gettext("Must be a list of URIs.")
        return []
    clean = [u for u in (_uri(v, field, errors) for v in values) if u]
    if required and not clean and field not in errors:
        errors[field] = gettext("Register at least one URI.")
    if len(clean) > 20:
        errors[field] = gettext("At most 20 URIs.")
    return list(dict.fromkeys(clean))


def _policy(value: Any, errors: dict[str, str]) -> dict[str, Any]:
    if value is None:
        return {"everyone": True}
    if not isinstance(value, dict) or set(value) - {"everyone", *POLICY_KEYS}:
        errors["policy"] = "Use everyone, or any of: " + ", ".join(POLICY_KEYS) + "."
        return {}
    if value.get("everyone"):
        return {"everyone": True}
    clean: dict[str, Any] = {"everyone": False}
    for key in POLICY_KEYS:
        ids = value.get(key) or []
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in ids
        ):
            errors["policy"] = f"policy.{key} must be a list of ids."
            return {}
        clean[key] = sorted(set(ids))
    return clean


def _display_names(value: Any, errors: dict[str, str]) -> dict[str, str] | None:
    """Per-language names: {language code: name}, codes from LANGUAGES, names <= 128 chars."""
    if not value:
        return None
    languages = current_app.config["LANGUAGES"]
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        errors["display_names"] = gettext("Must map language codes to names.")
        return None
    unknown = sorted(set(value) - set(languages))
    if unknown:
        errors["display_names"] = gettext(
            "Unknown language %(unknown)s; use %(known)s.",
            unknown=", ".join(unknown),
            known=", ".join(languages),
        )
        return None
    clean = {k: v.strip() for k, v in value.items() if v.strip()}
    if any(len(v) > 128 for v in clean.values()):
        errors["display_names"] = gettext("Each name is at most 128 characters.")
        return None
    return clean or None


def _check(fields: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Validate the editable fields present in `fields`; return them cleaned."""
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in EDITABLE:
            errors[key] = gettext("Unknown field.")
        elif key == "name":
            if not isinstance(value, str) or not value.strip() or len(value.strip()) > 128:
                errors[key] = gettext("Required, at most 128 characters.")
            else:
                clean[key] = value.strip()
        elif key in ("description", "sector_identifier", "subaccount_rule"):
            if value is not None and (not isinstance(value, str) or len(value) > 1024):
                errors[key] = gettext("Must be text.")
            else:
                clean[key] = value or None
        elif key in ("icon_url", "initiate_login_uri", "backchannel_logout_uri"):
            clean[key] = _uri(value, key, errors) if value else None
        elif key == "display_names":
            clean[key] = _display_names(value, errors)
        elif key == "frontchannel_logout_uri":
            clean[key] = _uri(value, key, errors) if value else None
        elif key in ("redirect_uris", "post_logout_redirect_uris"):
            clean[key] = _uris(value, key, errors, required=key == "redirect_uris")
        elif key in ("enabled", "show_in_portal", "consent_required", "pkce_required"):
            clean[key] = bool(value)
        elif key == "subaccount_as_sub":
            clean[key] = bool(value)
        elif key == "policy":
            clean[key] = _policy(value, errors)
        elif key == "scopes":
            scopes = sorted(set(value or []))
            unknown = unknown_oidc_scopes(scopes)
            if unknown or "openid" not in scopes:
                errors[key] = "Include openid; unknown: " + ", ".join(unknown)
            clean[key] = scopes
        elif key == "grant_types":
            grants = sorted(set(value or []))
            if not grants or set(grants) - set(OIDC_GRANT_TYPES):
                errors[key] = gettext("Choose from: %(grants)s", grants=", ".join(OIDC_GRANT_TYPES))
            clean[key] = grants
        elif key in _CHOICES:
            allowed, message = _CHOICES[key]
            if value not in allowed:
                errors[key] = str(message)
            clean[key] = value
        elif key == "claim_mapping":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 64
                for k, v in value.items()
            ):
                errors[key] = gettext("Must map claim names to attribute keys.")
            clean[key] = dict(value or {})
        elif key in LIFETIME_LIMITS:
            low, high = LIFETIME_LIMITS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                errors[key] = gettext("Between %(low)s and %(high)s seconds.", low=low, high=high)
            clean[key] = value
    mode, rule = clean.get("subaccount_mode"), clean.get("subaccount_rule")
    if mode == "mapping" and rule not in MAPPING_RULES and not str(rule or "").startswith("attr:"):
        errors["subaccount_rule"] = (
            "Mapping needs a rule: " + ", ".join(MAPPING_RULES) + ", attr:KEY"
        )
    return clean


def _details(app: Application) -> dict[str, Any]:
    return {"client_id": app.client_id, "name": app.name}


def create_application(
    origin: str,
    *,
    name: str,
    redirect_uris: Iterable[str],
    public: bool = False,
    scopes: Iterable[str] | None = None,
    grant_types: Iterable[str] | None = None,
    **fields: Any,
) -> tuple[Application, str | None]:
    """Register an application and its OIDC client; return it and its secret (shown once)."""
    errors: dict[str, str] = {}
    wanted = {
        "name": name,
        "redirect_uris": list(redirect_uris),
        "scopes": list(scopes) if scopes else list(DEFAULT_SCOPES),
        "grant_types": list(grant_types) if grant_types else list(DEFAULT_GRANTS),
        **fields,
    }
    wanted.setdefault("policy", None)
    clean = _check(wanted, errors)
    problem = unique_sub_problem(
        clean.get("subaccount_mode", "direct"),
        clean.get("subaccount_rule"),
        bool(clean.get("subaccount_as_sub")),
    )
    if problem:
        errors["subaccount_as_sub"] = problem
    if errors:
        raise InvalidInput(errors)
    secret = None if public else secrets.token_urlsafe(32)
    app = Application(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
        secret_hash=hash_secret(secret) if secret else None,
        token_endpoint_auth_method="none" if public else "client_secret_basic",
        created_by=origin[:128],
        **{"pkce_required": True, "consent_required": True, **clean},
    )
    if public:
        app.pkce_required = True
    db.session.add(app)
    db.session.flush()
    audit.record(
        origin, "application.created", f"application:{app.client_id}", details=_details(app)
    )
    db.session.commit()
    return app, secret


def get_application(client_id: str) -> Application:
    """An application by client id, or ClientNotFound."""
    app = None
    if client_id and len(client_id) <= 64:
        app = db.session.scalar(select(Application).where(Application.client_id == client_id))
    if app is None:
        raise ClientNotFound(gettext("Application %(id)s does not exist.", id=client_id))
    return app


def find_enabled_application(client_id: str | None) -> Application | None:
    """The enabled application with that client id, or None."""
    if not client_id or len(client_id) > 64 or not client_id.startswith(CLIENT_ID_PREFIX):
        return None
    return db.session.scalar(
        select(Application).where(Application.client_id == client_id, Application.enabled.is_(True))
    )


def list_applications() -> list[Application]:
    """All applications, oldest first."""
    return list(db.session.scalars(select(Application).order_by(Application.id)))


def update_application(
    origin: str, client_id: str, *, expected_version: int | None = None, **fields: Any
) -> Application:
    """Change registration fields; disabling invalidates the tokens it holds."""
    app = get_application(client_id)
    if expected_version is not None and expected_version != app.version:
        raise InvalidInput({"version": gettext("The application changed since you read it.")})
    errors: dict[str, str] = {}
    clean = _check(fields, errors)
    problem = unique_sub_problem(
        clean.get("subaccount_mode", app.subaccount_mode),
        clean.get("subaccount_rule", app.subaccount_rule),
        bool(clean.get("subaccount_as_sub", app.subaccount_as_sub)),
    )
    if problem:
        errors["subaccount_as_sub"] = problem
    if errors:
        raise InvalidInput(errors)
    if app.is_public and clean.get("pkce_required") is False:
        raise InvalidInput({"pkce_required": gettext("Public clients always use PKCE.")})
    for key, value in clean.items():
        setattr(app, key, value)
    if clean.get("enabled") is False:
        app.token_generation += 1
    app.version += 1
    audit.record(
        origin,
        "application.updated",
        f"application:{app.client_id}",
        details={**_details(app), "fields": sorted(clean)},
    )
    db.session.commit()
    return app


def set_application_enabled(origin: str, client_id: str, enabled: bool) -> Application:
    """Enable or disable an application (disabled: no sign-in, no tile, tokens refused)."""
    return update_application(origin, client_id, enabled=enabled)


def rotate_application_secret(origin: str, client_id: str) -> tuple[Application, str]:
    """Replace a confidential client's secret; shown once."""
    app = get_application(client_id)
    if app.is_public:
        raise InvalidInput({"client_id": gettext("A public client has no secret.")})
    secret = secrets.token_urlsafe(32)
    app.secret_hash = hash_secret(secret)
    app.version += 1
    audit.record(origin, "application.secret_rotated", f"application:{app.client_id}")
    db.session.commit()
    return app, secret


def delete_application(origin: str, client_id: str) -> None:
    """Delete an application; its tokens stop working with it."""
    app = get_application(client_id)
    details = _details(app)
    delete_with_audit(origin, app, "application.deleted", f"application:{client_id}", details)


# -- access policy ------------------------------------------------------------------------


def policy_refusal(app: Application, account: Account) -> str | None:
    """Why `account` may not use `app` (None when allowed): the policy's reason, for audit."""
    if not app.enabled:
        return "application_disabled"
    if account.status != "active":
        return f"account_{account.status}"
    if policy_matches(app.policy or {"everyone": True}, account):
        return None
    return "not_in_access_policy"


def policy_matches(policy: dict[str, Any], account: Account) -> bool:
    """Whether `account` is among the people a policy names (whatever its status).

    `{"everyone": true}` or any of departments (with sub-departments), groups, roles, accounts.
    """
    from idaas.directory import service as directory

    if policy.get("everyone", False):
        return True
    if account.id in (policy.get("accounts") or []):
        return True
    allowed_departments: set[int] = set()
    for department_id in policy.get("departments") or []:
        try:
            allowed_departments.update(directory.subtree_ids(department_id))
        except Exception:  # a department deleted since: it allows nobody
            continue
    if allowed_departments & {m.department_id for m in account.memberships}:
        return True
    if set(policy.get("groups") or []) & {g.id for g in directory.groups_of(account.id)}:
        return True
    return bool(set(policy.get("roles") or []) & {r.id for r in directory.roles_of(account.id)})


def apps_visible_to(account: Account) -> list[Application]:
    """Enabled portal applications whose policy lets `account` in, by name."""
    rows = db.session.scalars(
        select(Application)
        .where(Application.enabled.is_(True), Application.show_in_portal.is_(True))
        .order_by(Application.name)
    )
    return [app for app in rows if policy_refusal(app, account) is None]


def launch_url_for(
    client_id: str, *, login_hint: str | None = None, target_link_uri: str | None = None
) -> str | None:
    """Where to send a signed-in person to open an app (IdP-initiated, OIDC Core §4).

    `initiate_login_uri` with `iss` (and `login_hint`, `target_link_uri`), or, for apps
    without one, an authorization request to our own endpoint with the app's only redirect
    URI; None for an unknown/disabled app or one with no way in.
    """
    app = find_enabled_application(client_id)
    if app is None:
        return None
    if app.initiate_login_uri:
        params = {"iss": str(current_app.config["ISSUER"])}
        if login_hint:
            params["login_hint"] = login_hint
        if target_link_uri:
            params["target_link_uri"] = target_link_uri
        sep = "&" if urlsplit(app.initiate_login_uri).query else "?"
        return app.initiate_login_uri + sep + urlencode(params)
    redirect_uri = app.get_default_redirect_uri()
    if redirect_uri is None or app.pkce_required:
        return None  # the app must create the PKCE verifier itself
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(s for s in app.scopes if s != "offline_access"),
        "state": secrets.token_urlsafe(16),
    }
    return "/oauth2/authorize?" + urlencode(query)


# -- sub-accounts (主子账号) ----------------------------------------------------------------


UNIQUE_MAPPING_RULES = ("username", "employee_number", "mobile")  # unique in the directory


def unique_sub_problem(mode: str | None, rule: str | None, as_sub: bool) -> str | None:
    """Why the sub-account cannot serve as `sub` (not unique per account), or None.

    Two accounts must never share a `sub` (OIDC Core §2; issue 11 finding 5): a mapping is
    allowed only on a directory-unique value, an attribute only when defined unique.
    """
    if not as_sub or mode in (None, "direct", "association"):
        return None  # association usernames are checked when computed (`app_username`)
    rule = rule or "username"
    if rule in UNIQUE_MAPPING_RULES:
        return None
    if rule.startswith("attr:"):
        from idaas.directory.models import AttributeDefinition

        unique = db.session.scalar(
            select(AttributeDefinition.unique).where(
                AttributeDefinition.target == "account", AttributeDefinition.key == rule[5:]
            )
        )
        if unique:
            return None
    return str(
        gettext("The sub-account can be the subject only when the mapping is unique per account.")
    )


def _shared_sub(app: Application, account: Account, username: str) -> bool:
    """Whether another account would get the same sub-account as `sub` in this app."""
    if app.subaccount_mode == "association":
        other = db.session.scalar(
            select(SubAccount.id).where(
                SubAccount.application_id == app.id,
                SubAccount.username == username,
                SubAccount.status == "approved",
                SubAccount.account_id != account.id,
            )
        )
        return other is not None
    return unique_sub_problem(app.subaccount_mode, app.subaccount_rule, True) is not None


def app_username(app: Application, account: Account) -> tuple[str | None, str]:
    """The person's username in `app` and its state: `ok`, `pending`, `missing`, `conflict`.

    `conflict`: the app uses the sub-account as `sub` and it is not unique to this account.
    """
    username, state = _app_username(app, account)
    if state == "ok" and username and app.subaccount_as_sub and app.subaccount_mode != "direct":
        if _shared_sub(app, account, username):
            return None, "conflict"
    return username, state


def _app_username(app: Application, account: Account) -> tuple[str | None, str]:
    if app.subaccount_mode == "direct":
        return account.username, "ok"
    if app.subaccount_mode == "mapping":
        rule = app.subaccount_rule or "username"
        value: Any = None
        if rule == "username":
            value = account.username
        elif rule == "employee_number":
            value = account.employee_number
        elif rule == "email_local":
            value = (account.email or "").split("@", 1)[0] or None
        elif rule == "mobile":
            value = account.mobile
        elif rule.startswith("attr:"):
            value = (account.attributes or {}).get(rule[5:])
        return (str(value), "ok") if value not in (None, "") else (None, "missing")
    row = db.session.scalar(
        select(SubAccount).where(
            SubAccount.application_id == app.id, SubAccount.account_id == account.id
        )
    )
    if row is None:
        return None, "missing"
    if row.status != "approved":
        return None, row.status
    return row.username, "ok"


def propose_subaccount(origin: str, client_id: str, account_id: int, username: str) -> SubAccount:
    """Propose the person's username in an association-mode app; an admin approves it."""
    app = get_application(client_id)
    clean = (username or "").strip()
    if not clean or len(clean) > 128 or any(ord(ch) < 32 for ch in clean):
        raise InvalidInput({"username": gettext("Required, at most 128 printable characters.")})
    row = db.session.scalar(
        select(SubAccount).where(
            SubAccount.application_id == app.id, SubAccount.account_id == account_id
        )
    )
    if row is None:
        row = SubAccount(application_id=app.id, account_id=account_id, username=clean)
        db.session.add(row)
    row.username, row.status, row.proposed_by = clean, "pending", origin[:128]
    row.decided_by, row.decided_at = None, None
    db.session.flush()
    audit.record(
        origin,
        "application.subaccount_proposed",
        f"application:{app.client_id}",
        details={"account_id": account_id, "username": clean},
    )
    db.session.commit()
    return row


def _app_name(application_id: int) -> str:
    app = db.session.get(Application, application_id)
    return app.name if app is not None else ""


def decide_subaccount(origin: str, subaccount_id: int, approve: bool) -> SubAccount:
    """Approve or reject a proposed sub-account (admin)."""
    row = db.session.get(SubAccount, subaccount_id)
    if row is None:
        raise ClientNotFound(gettext("No such sub-account."))
    row.status = "approved" if approve else "rejected"
    row.decided_by, row.decided_at = origin[:128], utcnow()
    audit.record(
        origin,
        "application.subaccount_" + row.status,
        f"subaccount:{row.id}",
        details={"account_id": row.account_id, "username": row.username},
    )
    if approve:  # targets (e.g. a DingTalk work notification) hear of it with the decision
        from idaas.events.service import append_change

        append_change(
            "account",
            row.account_id,
            "subaccount_approved",
            origin,
            0,
            {"application": _app_name(row.application_id), "username": row.username},
        )
    db.session.commit()
    return row
