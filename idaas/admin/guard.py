"""Who may do what in the console: the signed-in admin, their permissions, `require(...)`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, g, redirect, request, url_for

from idaas.admin import roles
from idaas.auth import sessions
from idaas.directory.models import Account

F = TypeVar("F", bound=Callable[..., Any])


def reset_request_state() -> None:
    """Forget the previous request's admin (an app context may outlive one request)."""
    for key in ("admin_account", "admin_permissions", "api_admin_id"):
        g.pop(key, None)


def current_admin() -> Account | None:
    """The signed-in account of this request if it holds any admin role, else None."""
    if "admin_permissions" not in g:
        account = sessions.current_account()
        g.admin_account = account
        g.admin_permissions = roles.permissions_of(account.id) if account else frozenset()
    account = g.admin_account
    return cast(Account, account) if account is not None and g.admin_permissions else None


def can(permission: str) -> bool:
    """Whether the signed-in admin has `permission` (used by templates to hide what is refused)."""
    return current_admin() is not None and roles.allows(g.admin_permissions, permission)


def actor() -> str:
    """The origin/actor tag of the signed-in admin's changes: `admin:<account id>`."""
    account = current_admin()
    if account is None:
        raise RuntimeError("no admin on this request")
    return f"admin:{account.id}"


def require(permission: str | None = None) -> Callable[[F], F]:
    """Guard a console view: sign-in first, then an admin role with `permission` (403 if not).

    `permission=None` lets any admin in (the dashboard, search).
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if sessions.current() is None:
                pending = sessions.current_any()
                if pending is not None:
                    from idaas.auth import flow

                    return flow.redirect_for(pending)
                target = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("auth.login", next=target))
            if current_admin() is None or (permission is not None and not can(permission)):
                if request.method not in ("GET", "HEAD"):
                    from idaas.admin.services import record_denied

                    account = sessions.current_account()
                    who = f"user:{account.id}" if account else "anonymous"
                    if current_admin() is not None:
                        who = f"admin:{g.admin_account.id}"
                    record_denied(who, str(request.endpoint), request.method)
                abort(403)
            g.account = g.admin_account
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def source_label(source: str) -> str:
    """Who manages a directory object, in the reader's language (`local`, `dingtalk:<conn>`)."""
    from flask_babel import gettext

    if source == "local":
        return str(gettext("Local"))
    kind, _, name = source.partition(":")
    if kind == "dingtalk":
        return str(gettext("DingTalk (%(connection)s)", connection=name))
    return source
