"""Who and what a target provisions: its scope (departments, groups, or the app's policy)."""

from __future__ import annotations

from idaas.applications.apps import policy_matches
from idaas.applications.models import Application
from idaas.directory.models import Account, Group
from idaas.extensions import db
from idaas.scim.push.models import ProvisioningTarget


def policy_of(target: ProvisioningTarget) -> dict[str, object]:
    """The people the target provisions, as an access-policy dict."""
    scope = dict(target.scope or {})
    if scope.get("policy"):
        app = db.session.get(Application, target.application_id)
        return dict((app.policy if app else None) or {"everyone": True})
    if not any(scope.get(k) for k in ("departments", "groups", "roles", "accounts")):
        return {"everyone": True}
    return scope


def account_in_scope(target: ProvisioningTarget, account: Account | None) -> bool:
    """Whether the target should hold `account` (active or not): deleted ones never are."""
    if account is None or not target.users:
        return False
    return policy_matches(policy_of(target), account)


def group_in_scope(target: ProvisioningTarget, group: Group | None) -> bool:
    """Whether the target should hold `group`: all groups, or those the scope names."""
    if group is None or not target.groups:
        return False
    named = (target.scope or {}).get("groups")
    return not named or group.id in named
