"""Application-scoped permissions of roles: the resource codes of one application (`resCode`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import gettext
from sqlalchemy import delete, select

from idaas.directory.errors import ValidationFailed
from idaas.directory.models import ApplicationPermission, Role, RoleAssignment
from idaas.directory.service.roles import get_role
from idaas.directory.service.unit import record_change, unit_of_work
from idaas.extensions import db

DEFAULT_ACTION = "access"
# Resource codes are opaque to idaas (an app's appConfig resCode or a pageId): printable, no spaces.
RESOURCE_PATTERN = re.compile(r"^[!-~]{1,255}$")
APPLICATION_PATTERN = re.compile(r"^[!-~]{1,64}$")


def _clean_codes(codes: Iterable[object], field: str, errors: dict[str, str]) -> list[str]:
    cleaned: set[str] = set()
    for code in codes:
        if not isinstance(code, str) or not RESOURCE_PATTERN.match(code):
            errors[field] = gettext(
                "Each resource code is 1-255 printable characters without spaces."
            )
            return []
        cleaned.add(code)
    return sorted(cleaned)


def application_permissions(
    application: str, role_ids: Iterable[int] | None = None
) -> dict[int, list[tuple[str, str]]]:
    """Role id -> its (resource, action) pairs in `application`, sorted."""
    query = select(
        ApplicationPermission.role_id, ApplicationPermission.resource, ApplicationPermission.action
    ).where(ApplicationPermission.application == application)
    if role_ids is not None:
        query = query.where(ApplicationPermission.role_id.in_(list(role_ids)))
    found: dict[int, list[tuple[str, str]]] = {}
    for role_id, resource, action in db.session.execute(query.order_by(ApplicationPermission.id)):
        found.setdefault(role_id, []).append((resource, action))
    return found


def resources_of(account_id: int, application: str) -> set[str]:
    """The resource codes of `application` that the account's roles grant."""
    query = (
        select(ApplicationPermission.resource)
        .join(RoleAssignment, RoleAssignment.role_id == ApplicationPermission.role_id)
        .where(
            RoleAssignment.account_id == account_id,
            ApplicationPermission.application == application,
        )
    )
    return set(db.session.scalars(query))


def set_application_permissions(
    origin: str,
    role_id: int,
    application: str,
    *,
    grant: Iterable[object] = (),
    revoke: Iterable[object] = (),
) -> Role:
    """Grant and revoke resource codes of `application` on a role, in one transaction."""
    errors: dict[str, str] = {}
    if not isinstance(application, str) or not APPLICATION_PATTERN.match(application):
        errors["application"] = gettext("Unknown application.")
    granted = _clean_codes(grant, "grant", errors)
    revoked = _clean_codes(revoke, "revoke", errors)
    both = sorted(set(granted) & set(revoked))
    if both:
        errors["revoke"] = gettext(
            "A resource cannot be granted and revoked at once: %(codes)s.", codes=", ".join(both)
        )
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        role = get_role(role_id)
        held = set(application_permissions(application, [role.id]).get(role.id, []))
        held_codes = {resource for resource, _ in held}
        added = [code for code in granted if code not in held_codes]
        removed = [code for code in revoked if code in held_codes]
        for code in added:
            db.session.add(
                ApplicationPermission(
                    role_id=role.id, application=application, resource=code, action=DEFAULT_ACTION
                )
            )
        if removed:
            db.session.execute(
                delete(ApplicationPermission).where(
                    ApplicationPermission.role_id == role.id,
                    ApplicationPermission.application == application,
                    ApplicationPermission.resource.in_(removed),
                )
            )
        if added or removed:
            role.version += 1
            record_change(
                origin,
                "role",
                role.id,
                "updated",
                role.version,
                {
                    "application_permissions": {
                        "application": application,
                        "granted": added,
                        "revoked": removed,
                    }
                },
            )
    return role
