"""The user claims a granted scope releases (OIDC Core §5.4, plus the idaas scopes)."""

from __future__ import annotations

from typing import Any

from idaas.applications import apps
from idaas.applications.models import Application
from idaas.directory.models import Account
from idaas.oidc.principal import epoch


def user_claims(app: Application, account: Account, scope: str, subject: str) -> dict[str, Any]:
    """The claims the granted `scope` releases (OIDC Core §5.4, plus idaas scopes)."""
    from idaas.directory import service as directory

    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": subject}
    if "profile" in scopes:
        username, _ = apps.app_username(app, account)
        claims.update(
            name=account.display_name,
            preferred_username=username or account.username,
            locale=(account.locale or "zh-CN").replace("_", "-"),
            updated_at=epoch(account.updated_at),
        )
        for claim, key in (app.claim_mapping or {}).items():
            value = (account.attributes or {}).get(key)
            if value is not None and claim not in claims:
                claims[claim] = value
    if "email" in scopes and account.email:
        claims.update(email=account.email, email_verified=bool(account.email_verified))
    if "phone" in scopes and account.mobile:
        claims.update(
            phone_number=account.mobile, phone_number_verified=bool(account.mobile_verified)
        )
    if "employee_number" in scopes and account.employee_number:
        claims["employee_number"] = account.employee_number
    if "departments" in scopes:
        memberships = sorted(account.memberships, key=lambda m: (not m.is_primary, m.sort_order))
        departments = []
        for membership in memberships:
            department = directory.get_department(membership.department_id)
            departments.append(
                {"id": department.id, "name": department.name, "primary": membership.is_primary}
            )
        claims["departments"] = departments
    if "groups" in scopes:
        claims["groups"] = [g.name for g in directory.groups_of(account.id)]
    if "roles" in scopes:
        claims["roles"] = [r.name for r in directory.roles_of(account.id)]
    return claims
