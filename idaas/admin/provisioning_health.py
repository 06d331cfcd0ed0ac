"""The dashboard's health of provisioning targets: SCIM push per application, DingTalk push per
connection, each with its state, last success, pending and dead deliveries and last error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from sqlalchemy import func, select

from idaas.applications.models import Application
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.push import target as dingtalk_target
from idaas.dingtalk.push.models import PushSettings
from idaas.events.models import Delivery
from idaas.extensions import db
from idaas.scim.push import deliver as scim_target
from idaas.scim.push.models import ProvisioningTarget

#: Last errors looked at, newest first; enough to find one per target of a real installation.
ERROR_WINDOW = 200


@dataclass(frozen=True)
class TargetHealth:
    """One provisioning target as the dashboard shows it."""

    kind: str
    name: str
    enabled: bool
    last_success: datetime | None
    pending: int
    dead: int
    last_error: str | None
    url: str


def _delivery_facts(
    types: list[str],
) -> tuple[
    dict[tuple[str, str], dict[str, int]],
    dict[tuple[str, str], datetime],
    dict[tuple[str, str], str],
]:
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for kind, key, status, n in db.session.execute(
        select(Delivery.target_type, Delivery.target_key, Delivery.status, func.count())
        .where(Delivery.target_type.in_(types), Delivery.status.in_(("pending", "running", "dead")))
        .group_by(Delivery.target_type, Delivery.target_key, Delivery.status)
    ):
        counts.setdefault((kind, key), {})[status] = int(n)
    success = {
        (kind, key): when
        for kind, key, when in db.session.execute(
            select(Delivery.target_type, Delivery.target_key, func.max(Delivery.delivered_at))
            .where(Delivery.target_type.in_(types), Delivery.status == "delivered")
            .group_by(Delivery.target_type, Delivery.target_key)
        )
    }
    errors: dict[tuple[str, str], str] = {}
    for kind, key, error in db.session.execute(
        select(Delivery.target_type, Delivery.target_key, Delivery.last_error)
        .where(
            Delivery.target_type.in_(types),
            Delivery.last_error.is_not(None),
            Delivery.status.in_(("pending", "running", "dead")),
        )
        .order_by(Delivery.last_attempt_at.desc())
        .limit(ERROR_WINDOW)
    ):
        errors.setdefault((kind, key), str(error))
    return counts, success, errors


def targets(scim: bool, dingtalk: bool) -> list[TargetHealth]:
    """SCIM push targets (when `scim`) and DingTalk push connections (when `dingtalk`)."""
    if not (scim or dingtalk):
        return []
    types = [
        name
        for name, wanted in ((scim_target.NAME, scim), (dingtalk_target.NAME, dingtalk))
        if wanted
    ]
    counts, success, errors = _delivery_facts(types)
    found: list[TargetHealth] = []

    def health(kind: str, type_name: str, key: str, name: str, enabled: bool, url: str) -> None:
        n = counts.get((type_name, key), {})
        found.append(
            TargetHealth(
                kind=kind,
                name=name,
                enabled=enabled,
                last_success=success.get((type_name, key)),
                pending=n.get("pending", 0) + n.get("running", 0),
                dead=n.get("dead", 0),
                last_error=errors.get((type_name, key)),
                url=url,
            )
        )

    if scim:
        for target, client_id, app_name in db.session.execute(
            select(ProvisioningTarget, Application.client_id, Application.name)
            .join(Application, Application.id == ProvisioningTarget.application_id)
            .order_by(Application.name)
        ):
            url = url_for("admin.provisioning", client_id=client_id)
            health("scim", scim_target.NAME, client_id, app_name, target.enabled, url)
    if dingtalk:
        # Push settings outlive a removed connection; only live connections have a page.
        for row in db.session.scalars(
            select(PushSettings)
            .join(DingTalkConnection, DingTalkConnection.name == PushSettings.connection)
            .order_by(PushSettings.connection)
        ):
            url = url_for("admin.dingtalk_push", name=row.connection)
            health(
                "dingtalk", dingtalk_target.NAME, row.connection, row.connection, row.enabled, url
            )
    return found
