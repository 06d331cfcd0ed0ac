"""`/api/v1` called from the console: the admin's session stands in for a bearer token.

The console's scripts call the JSON API with the session cookie (same origin, `SameSite=Lax`)
and the CSRF token in `X-CSRFToken` for every unsafe method. The admin roles say which API
scopes the session stands for (`roles.AdminRole.api_scopes`), so the same role check guards
the pages and the API. Requests with an `Authorization` header never take this path.
"""

from __future__ import annotations

from flask import current_app, g, request

from idaas.admin import roles
from idaas.api.problems import ApiProblem
from idaas.auth import sessions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authorise_session(scopes: list[str]) -> bool:
    """True when a signed-in admin's roles grant one of `scopes`; 403 problem when they do not.

    Returns False (the caller then demands a bearer token) when there is no Authorization
    header and no signed-in session either.
    """
    if "Authorization" in request.headers:
        return False
    account = sessions.current_account()
    if account is None:
        return False
    granted = roles.api_scopes_of(account.id)
    if not granted or not set(scopes) & granted:
        raise ApiProblem(
            403,
            "Forbidden",
            "Your admin role does not allow this operation.",
            kind="insufficient-role",
        )
    if request.method not in SAFE_METHODS and current_app.config["WTF_CSRF_ENABLED"]:
        from idaas.extensions import csrf

        csrf.protect()
    g.api_admin_id = account.id
    return True


def admin_origin() -> str | None:
    """`admin:<id>` when this API request is made with an admin's console session."""
    admin_id = g.get("api_admin_id")
    return f"admin:{admin_id}" if admin_id is not None else None
