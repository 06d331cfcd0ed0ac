"""Sync settings per DingTalk connection, and "test connection" in words (issue 15 item 1)."""

from __future__ import annotations

from typing import Any

import httpx
from flask_babel import gettext
from sqlalchemy import select

from idaas import audit
from idaas.dingtalk import authority, connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.crypto import BadAesKey, aes_key_bytes, generate_aes_key, random_nonce
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.push.models import PushSettings
from idaas.dingtalk.sync.advice import action_for
from idaas.dingtalk.sync.mapping import EMAIL_FIELDS, validate_rules
from idaas.dingtalk.sync.models import SyncSettings
from idaas.directory.errors import ValidationFailed
from idaas.directory.models import Department
from idaas.extensions import db
from idaas.security import secretbox, signin_policy

TRANSPORTS = ("stream", "http")
PASSWORD_MODES = ("none", "initial")
LEAVER_POLICIES = ("disable", "delete")
EDITABLE = (
    "enabled",
    "target_department_id",
    "root_dept_id",
    "email_field",
    "password_mode",
    "initial_password",
    "leavers",
    "leaver_delete_days",
    "unlink_leavers",
    "mapping",
    "transport",
    "callback_owner",
    "delete_percent",
    "delete_minimum",
    "reconcile_budget",
)


def system_of(conn: DingTalkConnection) -> str:
    """The external-reference system of a connection's corp (as `auth/binding.py` reads it)."""
    return f"dingtalk:{conn.corp_id}"


def origin_of(conn: DingTalkConnection) -> str:
    """The directory origin and source of everything this connection writes."""
    return f"dingtalk:{conn.name}"


def get(conn: DingTalkConnection) -> SyncSettings:
    """The connection's settings, created with the defaults (and callback secrets) on first use."""
    row = db.session.get(SyncSettings, conn.name)
    if row is None:
        row = SyncSettings(
            connection=conn.name,
            callback_token=random_nonce(24),
            callback_aes_key_enc=secretbox.encrypt(generate_aes_key()),
        )
        db.session.add(row)
        db.session.commit()
    return row


def with_connection(name: str) -> tuple[DingTalkConnection, SyncSettings] | None:
    """A connection and its settings by name, read in one statement (the callback's path)."""
    found = db.session.execute(
        select(DingTalkConnection, SyncSettings)
        .outerjoin(SyncSettings, SyncSettings.connection == DingTalkConnection.name)
        .where(DingTalkConnection.name == name)
    ).first()
    if found is None:
        return None
    conn, row = found
    return conn, row if row is not None else get(conn)


def aes_key(row: SyncSettings) -> str:
    """The decrypted callback AES key (never log it)."""
    assert row.callback_aes_key_enc is not None
    return secretbox.decrypt(row.callback_aes_key_enc)


def owner_key(conn: DingTalkConnection, row: SyncSettings) -> str:
    """AppKey for console registration, corpId for register_call_back (§6.1, §6.3 step 5)."""
    return conn.corp_id if row.callback_owner == "corp" else conn.app_key


def _choice(
    data: dict[str, Any], key: str, options: tuple[str, ...], errors: dict[str, str]
) -> None:
    if key in data and data[key] not in options:
        errors[key] = gettext("Must be one of: %(options)s.", options=", ".join(options))


def _int(data: dict[str, Any], key: str, low: int, high: int, errors: dict[str, str]) -> None:
    if key not in data:
        return
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[key] = gettext(
            "Must be a whole number from %(low)d to %(high)d.", low=low, high=high
        )


def save(origin: str, conn: DingTalkConnection, data: dict[str, Any]) -> SyncSettings:
    """Validate and store settings (only the keys given change); audited; commits."""
    unknown = set(data) - set(EDITABLE)
    errors: dict[str, str] = {k: gettext("This field cannot be changed.") for k in unknown}
    _choice(data, "email_field", EMAIL_FIELDS, errors)
    _choice(data, "password_mode", PASSWORD_MODES, errors)
    _choice(data, "leavers", LEAVER_POLICIES, errors)
    _choice(data, "transport", TRANSPORTS, errors)
    _choice(data, "callback_owner", ("app", "corp"), errors)
    _int(data, "root_dept_id", 1, 2**62, errors)
    _int(data, "leaver_delete_days", 0, 3650, errors)
    _int(data, "delete_percent", 0, 100, errors)
    _int(data, "delete_minimum", 0, 10**7, errors)
    _int(data, "reconcile_budget", 10, 10**7, errors)
    for key in ("enabled", "unlink_leavers"):
        if key in data and not isinstance(data[key], bool):
            errors[key] = gettext("Must be true or false.")
    target = data.get("target_department_id")
    if target is not None and (
        isinstance(target, bool)
        or not isinstance(target, int)
        or db.session.get(Department, target) is None
    ):
        errors["target_department_id"] = gettext("Unknown department.")
    mapping = None
    if "mapping" in data:
        try:
            mapping = validate_rules(data["mapping"])
        except ValueError as exc:
            errors["mapping"] = str(exc)
    row = get(conn)
    password = data.get("initial_password")
    mode = data.get("password_mode", row.password_mode)
    if mode == "initial" and password is None and row.initial_password_enc is None:
        errors["initial_password"] = gettext("Give the initial password for imported people.")
    if password is not None:
        problems = signin_policy.effective().password.violations(str(password), [], [])
        if problems:
            errors["initial_password"] = " ".join(problems)
    if errors:
        db.session.rollback()
        raise ValidationFailed(errors)
    for key in EDITABLE:
        if key not in data or key == "initial_password":
            continue
        setattr(row, key, mapping if key == "mapping" else data[key])
    if password is not None:
        row.initial_password_enc = secretbox.encrypt(str(password))
    conflict = authority.conflict(conn, row, db.session.get(PushSettings, conn.name))
    if conflict:
        db.session.rollback()
        raise ValidationFailed({"enabled": conflict})
    audit.record(
        origin,
        "dingtalk.sync.settings_changed",
        f"dingtalk_connection:{conn.id}",
        details={"changed": sorted(k for k in data if k != "initial_password")},
    )
    db.session.commit()
    return row


def initial_password(row: SyncSettings) -> str | None:
    """The initial password for imported people when the mode says so."""
    if row.password_mode != "initial" or not row.initial_password_enc:
        return None
    return secretbox.decrypt(row.initial_password_enc)


def describe(conn: DingTalkConnection, row: SyncSettings, callback_url: str) -> dict[str, Any]:
    """Settings for people and scripts, with what to paste into DingTalk's console (§6.1 A)."""
    return {
        "connection": conn.name,
        **{k: getattr(row, k) for k in EDITABLE if k != "initial_password"},
        "initial_password": "set" if row.initial_password_enc else None,
        "callback": {
            "url": callback_url,
            "token": row.callback_token,
            "aes_key": aes_key(row),
            "owner_key": owner_key(conn, row),
        },
    }


def check_aes_key(value: str) -> bool:
    """Whether a string is a valid 43-character DingTalk AES key (§6.3 step 1)."""
    try:
        aes_key_bytes(value)
    except BadAesKey:
        return False
    return True


def all_enabled() -> list[SyncSettings]:
    """Settings of connections whose sync is enabled."""
    return list(db.session.scalars(select(SyncSettings).where(SyncSettings.enabled.is_(True))))


def test_connection(origin: str, conn: DingTalkConnection) -> dict[str, Any]:
    """Token, contacts permissions, phone/email permissions and scope; each check in words."""
    row = get(conn)
    checks: list[dict[str, Any]] = []

    def outcome(name: str, ok: bool, message: str) -> bool:
        checks.append({"check": name, "ok": ok, "message": message})
        return ok

    try:
        with httpx.Client(timeout=connections.HTTP_TIMEOUT, trust_env=False) as http:
            dt = connections.client(conn, http)
            try:
                dt.fetch_token()
                outcome("token", True, gettext("DingTalk accepted the AppKey and AppSecret."))
                dt.list_sub_departments(row.root_dept_id)
                outcome("departments", True, gettext("The app can read the department tree."))
                page = dt.list_users_page(row.root_dept_id, 0, 1)
                outcome("people", True, gettext("The app can read people."))
                people = page.get("list") or []
                if people:
                    person = people[0]
                    outcome(
                        "mobile",
                        bool(person.get("mobile")),
                        gettext("Mobile numbers are visible.")
                        if person.get("mobile")
                        else gettext("Mobile numbers are hidden: grant 手机号码信息."),
                    )
                    email = person.get(row.email_field)
                    outcome(
                        "email",
                        bool(email),
                        gettext("Email addresses are visible.")
                        if email
                        else gettext(
                            "No email address came back: grant 邮箱等个人信息, or pick the "
                            "other email field."
                        ),
                    )
            except DingTalkError as error:
                name = "token" if not checks else ("departments" if len(checks) == 1 else "people")
                outcome(name, False, action_for(error))
    except httpx.HTTPError as error:
        outcome("network", False, gettext("Could not reach DingTalk: %(e)s", e=str(error)))
    ok = all(c["ok"] for c in checks)
    failed = {"checks": [c["check"] for c in checks if not c["ok"]]}
    connections.record_test(origin, conn, "dingtalk.sync.tested", ok, failed)
    return {"ok": ok, "checks": checks}
