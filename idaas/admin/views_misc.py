"""Console pages: dashboard, search, groups/roles/attributes, sign-in, keys, administrators."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from idaas.admin import provisioning_health, queries
from idaas.admin import roles as admin_roles
from idaas.admin.blueprint import bp, confirm_page, confirmed, done, error_message, run_service
from idaas.admin.guard import actor, can, require
from idaas.applications import service as applications_service
from idaas.applications.models import ApiClient, Application, SubAccount
from idaas.audit.models import AuditEvent
from idaas.auth import sources
from idaas.directory import service
from idaas.directory.models import Account, Department, Group
from idaas.extensions import db
from idaas.oidc import keys as oidc_keys


def _subsystem(module: str) -> bool:
    """Whether an optional subsystem (SCIM push, delivery worker) is installed in this build."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@bp.get("")
@bp.get("/")
@require()
def dashboard() -> str:
    """Counts, DingTalk connection health, the delivery engine's state and recent failures."""
    from idaas.dingtalk import connections
    from idaas.events.state import engine_state

    status_counts: dict[str, int] = {
        str(status): int(n)
        for status, n in db.session.execute(
            select(Account.status, func.count()).group_by(Account.status)
        )
    }
    counts = {
        "accounts": sum(status_counts.values()),
        "active": status_counts.get("active", 0),
        "disabled": status_counts.get("disabled", 0),
        "departments": queries.count(Department),
        "groups": queries.count(Group),
        "applications": queries.count(Application),
        "clients": queries.count(ApiClient),
        "pending_requests": applications_service.count_pending(),
        "pending_subaccounts": queries.count(SubAccount, SubAccount.status == "pending"),
    }
    failures = (
        list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.outcome != "success")
                .order_by(AuditEvent.id.desc())
                .limit(10)
            )
        )
        if can("audit.read")
        else []
    )
    tested: dict[str | None, AuditEvent] = {}
    for row in db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "dingtalk.connection.tested")
        .order_by(AuditEvent.id.desc())
        .limit(50)
    ):
        tested.setdefault(row.target_id, row)
    return render_template(
        "admin/dashboard.html",
        counts=counts,
        connections=connections.list_all(),
        tested=tested,
        failures=failures,
        has_push=_subsystem("idaas.scim.push"),
        provisioning=provisioning_health.targets(
            scim=can("applications.read"), dingtalk=can("directory.read")
        ),
        engine=engine_state(),
        crumbs=[],
    )


@bp.get("/search")
@require()
def search() -> str:
    """Search accounts, departments and applications (what the admin may see)."""
    q = (request.args.get("q") or "").strip()[:128]
    found: dict[str, list[Any]] = {"accounts": [], "departments": [], "applications": []}
    if q:
        if can("directory.read"):
            found["accounts"] = queries.search_accounts(q)
            found["departments"] = queries.search_departments(q)
        if can("applications.read"):
            found["applications"] = queries.search_applications(q)
    return render_template(
        "admin/search.html",
        q=q,
        search_q=q,
        found=found,
        crumbs=[(gettext("Search"), None)],
    )


@bp.get("/groups")
@require("directory.read")
def groups() -> str:
    """Groups with their member counts."""
    from idaas.directory.models import GroupMember

    rows = service.list_groups()
    counts: dict[int, int] = {
        int(group_id): int(n)
        for group_id, n in db.session.execute(
            select(GroupMember.group_id, func.count()).group_by(GroupMember.group_id)
        )
    }
    return render_template(
        "admin/groups.html", rows=rows, counts=counts, crumbs=[(gettext("Groups"), None)]
    )


@bp.get("/roles")
@require("directory.read")
def roles() -> str:
    """Roles with their permissions (the built-in admin roles included)."""
    return render_template(
        "admin/roles.html",
        rows=service.list_roles(),
        builtin={r.code for r in admin_roles.ROLES.values()},
        crumbs=[(gettext("Roles"), None)],
    )


@bp.get("/attributes")
@require("directory.read")
def attributes() -> str:
    """The data dictionary: custom attribute definitions of accounts and departments."""
    return render_template(
        "admin/attributes.html",
        account_defs=service.definitions("account"),
        department_defs=service.definitions("department"),
        crumbs=[(gettext("Attributes"), None)],
    )


@bp.get("/signin")
@require("settings.read")
def signin() -> str:
    """Sign-in policy in force and the auth sources, with the URLs DingTalk's console needs."""
    from idaas.admin.views_signin_policy import policy_rows
    from idaas.dingtalk import connections

    cfg = current_app.config
    policy = policy_rows()
    issuer = str(cfg["ISSUER"])
    conns = {c.name: c for c in connections.list_all()}
    rows = []
    for src in sources.configured():
        entry: dict[str, Any] = {"source": src, "urls": []}
        if src.type in ("dingtalk", "dingtalk_qr", "dingtalk_micro") or src.type.startswith(
            "dingtalk"
        ):
            name = str(src.settings.get("connection") or "")
            entry["connection"] = conns.get(name)
            entry["urls"] = [
                (
                    gettext("Redirect URL (登录与分享 → 回调域名)"),
                    connections.redirect_url(src.name),
                ),
                (
                    gettext("Micro-app homepage URL (应用首页地址)"),
                    connections.micro_app_url(src.name),
                ),
                (gettext("PC homepage URL (PC端首页地址)"), connections.micro_app_url(src.name)),
                (gettext("Event callback URL (事件订阅)"), f"{issuer}/callbacks/dingtalk/{name}"),
            ]
        rows.append(entry)
    return render_template(
        "admin/signin.html",
        policy=policy,
        rows=rows,
        connections=list(conns.values()),
        crumbs=[(gettext("Sign-in"), None)],
    )


@bp.route("/signin/connections/<name>/test", methods=["GET", "POST"])
@require("settings.write")
def connection_test(name: str) -> Response:
    """Test a DingTalk connection: fetch an access token with its AppKey and AppSecret."""
    from idaas.dingtalk import connections

    row = connections.get(name)
    if row is None:
        abort(404)
    if confirmed():
        result = connections.check(actor(), row)
        flash(result.message, "success" if result.ok else "error")
        from flask import redirect

        return redirect(url_for("admin.signin"))
    return confirm_page(
        title=gettext("Test connection"),
        question=gettext(
            "Ask DingTalk for an access token with this connection's AppKey and AppSecret?"
        ),
        confirm_label=gettext("Test connection"),
        cancel_url=url_for("admin.signin"),
        crumbs=[(gettext("Sign-in"), url_for("admin.signin"))],
        details=[("CorpID", row.corp_id), ("AppKey", row.app_key)],
        danger=False,
    )


@bp.get("/keys")
@require("settings.read")
def keys() -> str:
    """Signing keys with their state (active, next, retired, expired)."""
    return render_template(
        "admin/keys.html", rows=oidc_keys.list_keys(), crumbs=[(gettext("Signing keys"), None)]
    )


@bp.route("/keys/rotate", methods=["GET", "POST"])
@require("settings.write")
def keys_rotate() -> Response:
    """Publish a new signing key now; it starts signing after the overlap."""
    alg = request.values.get("alg") or oidc_keys.DEFAULT_ALG
    if alg not in oidc_keys.supported_algorithms():
        abort(404)
    if confirmed():
        oidc_keys.rotate(actor(), alg)
        return done(gettext("A new key has been published."), url_for("admin.keys"))
    return confirm_page(
        title=gettext("Rotate signing key"),
        question=gettext(
            "Publish a new %(alg)s key now? It signs after the overlap, "
            "once every relying party can see it.",
            alg=alg,
        ),
        confirm_label=gettext("Rotate now"),
        cancel_url=url_for("admin.keys"),
        crumbs=[(gettext("Signing keys"), url_for("admin.keys"))],
        hidden=[("alg", alg)],
    )


@bp.route("/admins", methods=["GET", "POST"])
@require("admin")
def admins() -> Any:
    """Who holds which admin role; grant a role to an account."""
    error_text = None
    if request.method == "POST" and confirmed():
        account = service.find_by_identifier(request.form.get("account", ""))
        key = request.form.get("role", "")
        if account is None:
            error_text = gettext("No account matches that username, email or mobile.")
        else:
            _, error = run_service(lambda: admin_roles.grant(actor(), account.id, key))
            if error is None:
                return done(gettext("The admin role has been granted."), url_for("admin.admins"))
            error_text = error_message(error)
    return render_template(
        "admin/admins.html",
        rows=admin_roles.admins(),
        roles=admin_roles.ROLES,
        permissions=admin_roles.PERMISSIONS,
        error_text=error_text,
        crumbs=[(gettext("Administrators"), None)],
    ), (422 if error_text else 200)


@bp.route("/admins/<int:account_id>/<key>/revoke", methods=["GET", "POST"])
@require("admin")
def admin_revoke(account_id: int, key: str) -> Response:
    """Take an admin role away (never from the last super admin)."""
    if key not in admin_roles.ROLES:
        abort(404)
    account = db.session.get(Account, account_id)
    if account is None:
        abort(404)
    if confirmed():
        _, error = run_service(lambda: admin_roles.revoke(actor(), account_id, key))
        if error is None:
            return done(gettext("The admin role has been revoked."), url_for("admin.admins"))
        flash(error_message(error), "error")
    return confirm_page(
        title=gettext("Revoke admin role"),
        question=gettext(
            "Take the role %(role)s away from %(name)s?",
            role=str(admin_roles.ROLES[key].label),
            name=account.username,
        ),
        confirm_label=gettext("Revoke"),
        cancel_url=url_for("admin.admins"),
        crumbs=[(gettext("Administrators"), url_for("admin.admins"))],
    )
