"""Push settings per DingTalk connection (one authority per subtree: `dingtalk.authority`)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from idaas import audit
from idaas.dingtalk import authority
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.push.fields import validate as validate_mapping
from idaas.dingtalk.push.models import PushSettings
from idaas.dingtalk.sync.models import SyncSettings
from idaas.directory.errors import ValidationFailed
from idaas.directory.models import Department
from idaas.events import targets
from idaas.extensions import db

EDITABLE = ("enabled", "source_department_id", "root_dept_id", "disabled", "mapping")
DISABLED_POLICIES = ("delete", "keep")


def get(conn: DingTalkConnection) -> PushSettings:
    """The connection's push settings (defaults, not stored, until first saved)."""
    row = db.session.get(PushSettings, conn.name)
    return row or PushSettings(connection=conn.name, enabled=False, disabled="delete", mapping=[])


def enabled() -> list[PushSettings]:
    """Settings of every connection that pushes (read once per transaction)."""
    return list(targets.per_transaction("dingtalk.push", _enabled, (PushSettings,)))


def _enabled() -> list[PushSettings]:
    return list(db.session.scalars(select(PushSettings).where(PushSettings.enabled.is_(True))))


def _check(data: dict[str, Any], errors: dict[str, str]) -> None:
    for key in set(data) - set(EDITABLE):
        errors[key] = gettext("This field cannot be changed.")
    if "enabled" in data and not isinstance(data["enabled"], bool):
        errors["enabled"] = gettext("Must be true or false.")
    if "disabled" in data and data["disabled"] not in DISABLED_POLICIES:
        errors["disabled"] = gettext(
            "Must be one of: %(options)s.", options=", ".join(DISABLED_POLICIES)
        )
    root = data.get("root_dept_id")
    if "root_dept_id" in data and (
        isinstance(root, bool) or not isinstance(root, int) or not 1 <= root <= 2**62
    ):
        errors["root_dept_id"] = gettext(
            "Must be a whole number from %(low)d to %(high)d.", low=1, high=2**62
        )
    source = data.get("source_department_id")
    if "source_department_id" in data and (
        isinstance(source, bool)
        or not isinstance(source, int)
        or db.session.get(Department, source) is None
    ):
        errors["source_department_id"] = gettext("Unknown department.")
    if "mapping" in data:
        try:
            data["mapping"] = validate_mapping(data["mapping"])
        except ValueError as exc:
            errors["mapping"] = str(exc)


def save(origin: str, conn: DingTalkConnection, data: dict[str, Any]) -> PushSettings:
    """Validate and store settings (only the keys given change); audited; commits."""
    data = dict(data)
    errors: dict[str, str] = {}
    _check(data, errors)
    if errors:
        raise ValidationFailed(errors)
    row = db.session.get(PushSettings, conn.name)
    if row is None:
        row = PushSettings(connection=conn.name, enabled=False, disabled="delete", mapping=[])
        db.session.add(row)
    for key in EDITABLE:
        if key in data:
            setattr(row, key, data[key])
    if row.enabled and (row.source_department_id is None or row.root_dept_id is None):
        errors["enabled"] = gettext(
            "Choose the local department to push and the DingTalk department to push under first."
        )
    conflict = authority.conflict(conn, db.session.get(SyncSettings, conn.name), row)
    if conflict:
        errors["enabled"] = conflict
    if errors:
        db.session.rollback()
        raise ValidationFailed(errors)
    audit.record(
        origin,
        "dingtalk.push.settings_changed",
        f"dingtalk_connection:{conn.id}",
        details={"changed": sorted(data)},
    )
    db.session.commit()
    return row


def describe(row: PushSettings) -> dict[str, Any]:
    """Settings for people and scripts."""
    return {
        "connection": row.connection,
        "enabled": bool(row.enabled),
        "source_department_id": row.source_department_id,
        "root_dept_id": row.root_dept_id,
        "disabled": row.disabled or "delete",
        "mapping": list(row.mapping or []),
    }
