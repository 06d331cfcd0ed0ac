"""The `scim.push` delivery target type: each application's SCIM target wants directory changes.

One target per application (key: the application's client_id). Its origin is the SCIM client
that represents the application (`scim:<echo_client or client_id>`), so a change that client
made through our SCIM server is never pushed back to it.
"""

from __future__ import annotations

from sqlalchemy import select

from idaas.applications.models import Application
from idaas.events import targets
from idaas.events.models import ChangeEvent, Delivery
from idaas.events.service import enqueue
from idaas.extensions import db
from idaas.scim.push import log, push
from idaas.scim.push.client import LogEntry, Session
from idaas.scim.push.models import ProvisioningTarget

NAME = "scim.push"
EVENTS = frozenset({"account.*", "group.*", "department.*"})
IGNORED_ACTIONS = frozenset({"password_changed"})


def enabled_targets() -> list[tuple[ProvisioningTarget, Application]]:
    """Every enabled SCIM push target with its (enabled) application (read once per
    transaction)."""
    return list(targets.per_transaction(NAME, _enabled_targets, (ProvisioningTarget, Application)))


def _enabled_targets() -> list[tuple[ProvisioningTarget, Application]]:
    rows = db.session.execute(
        select(ProvisioningTarget, Application)
        .join(Application, Application.id == ProvisioningTarget.application_id)
        .where(ProvisioningTarget.enabled.is_(True), Application.enabled.is_(True))
    )
    return [(row[0], row[1]) for row in rows]


def origin_of(target: ProvisioningTarget, app: Application) -> str:
    """The origin tag of the SCIM client standing for this target (no echo to it)."""
    return f"scim:{target.echo_client or app.client_id}"


def wants(target: ProvisioningTarget, object_type: str) -> bool:
    """Whether the target provisions this kind of object."""
    if object_type == "account":
        return target.users
    if object_type == "group":
        return target.groups
    return object_type == "department" and target.departments != "none"


def _interested(event: ChangeEvent) -> list[targets.Target]:
    if event.action in IGNORED_ACTIONS:
        return []
    return [
        targets.Target(key=app.client_id, origin=origin_of(target, app))
        for target, app in enabled_targets()
        if wants(target, event.object_type)
    ]


def target_by_key(client_id: str) -> ProvisioningTarget | None:
    """The SCIM push target of the application with this client_id."""
    return db.session.scalar(
        select(ProvisioningTarget)
        .join(Application, Application.id == ProvisioningTarget.application_id)
        .where(Application.client_id == client_id)
    )


def _follow_up(target: ProvisioningTarget, key: str, departments: set[int]) -> None:
    """Departments pushed as groups list their members: re-push those the account left or joined."""
    if target.departments != "groups":
        return
    for department_id in sorted(departments):
        enqueue(NAME, key, "department", str(department_id), "updated", origin="system")


def deliver(delivery: Delivery) -> None:
    """Push one object to its target; log every request, also when the attempt fails."""
    target = target_by_key(delivery.target_key)
    if target is None or not target.enabled:
        return  # the target was removed or switched off since: nothing to deliver
    session = Session(target, delivery.uid)
    object_type, object_id = delivery.object_type, delivery.object_id
    try:
        pushed = push.push(session, target, object_type, object_id, create_parents=False)
        if pushed == "reconciled":
            # The target had it already (a retry after a lost answer, a 409): absorbed, counted.
            session.log.append(LogEntry("reconciled", f"{object_type}:{object_id}", None, None))
        if object_type == "account":
            _follow_up(target, delivery.target_key, session.regrouped)
        log.record(session, object_type, object_id)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if isinstance(error, push.ParentNotProvisioned):  # queue the parent (if not queued yet)
            enqueue(NAME, delivery.target_key, "department", str(error.parent_id), "updated")
        log.record(session, object_type, object_id)
        db.session.commit()
        raise


def init_app() -> None:
    """Register the SCIM push target type."""
    targets.register(
        targets.TargetType(
            name=NAME, events=EVENTS, targets=_interested, deliver=deliver, by_kind=True
        )
    )
