"""First-run set-up: the administrator role and a first administrator account."""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select

from idaas.directory import service
from idaas.directory.models import Account, Role
from idaas.security.passwords import verify_password

ADMIN_ROLE = "idaas.admin"
ADMIN_PERMISSION = ("idaas", "admin")


def generate_password(length: int = 20) -> str:
    """A random password that satisfies any sane policy (all four character classes)."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(not c.isalnum() for c in candidate)
        ):
            return candidate


def ensure_admin_role(origin: str) -> Role:
    """The built-in administrator role, created on first use."""
    from idaas.extensions import db

    role = db.session.scalar(select(Role).where(Role.code == ADMIN_ROLE))
    if role is None:
        role = service.create_role(
            origin,
            code=ADMIN_ROLE,
            name="Administrator",
            description="Full access to the admin console and CLI.",
            permissions=[ADMIN_PERMISSION],
        )
    return role


def ensure_administrator(
    origin: str, username: str, password: str | None
) -> tuple[Account, str | None]:
    """Create the administrator if missing; return it and the generated password, if any.

    A given `password` becomes the administrator's current one (no forced change).
    """
    role = ensure_admin_role(origin)
    account = service.find_by_identifier(username)
    generated = None
    if account is None:
        generated = None if password else generate_password()
        account = service.create_account(
            origin,
            username=username,
            display_name="Administrator",
            password=password or generated,
            must_change_password=generated is not None,
        )
    elif password:
        same = verify_password(account.password_hash, password)[0]
        if not same or account.must_change_password:
            # A password the operator chose is final: no forced change at the next sign-in.
            service.set_password(origin, account.id, password, enforce_policy=not same)
    service.set_role_assignment(origin, role.id, account.id, True)
    return account, generated
