"""Console pages for accounts: the table with filters and bulk actions, create, detail, actions."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import EmailField, StringField
from wtforms.validators import InputRequired, Length, Optional

from idaas.admin import app_access, queries, services
from idaas.admin.blueprint import (
    Action,
    add_actions,
    apply_field_errors,
    ask_then_write,
    bp,
    confirm_page,
    confirmed,
    confirmed_action,
    done,
    error_message,
    or_404,
    run_service,
    secret_page,
)
from idaas.admin.guard import actor, require
from idaas.admin.table import paginate
from idaas.audit.models import AuditEvent
from idaas.auth import lockout, mfa, sessions
from idaas.directory import service
from idaas.directory.errors import NotFound
from idaas.directory.models import ACCOUNT_STATUSES, Account, Department
from idaas.directory.service.unit import OWNED_FIELDS
from idaas.extensions import db

PROFILE = ("username", "display_name", "email", "mobile", "employee_number", "title")
BULK_LIMIT = 200


class AccountForm(FlaskForm):
    """The profile fields of an account."""

    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[InputRequired(), Length(max=128)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=32)])
    employee_number = StringField(_l("Employee number"), validators=[Optional(), Length(max=64)])
    title = StringField(_l("Job title"), validators=[Optional(), Length(max=128)])


def _account(account_id: int) -> Account:
    return or_404(NotFound, service.get_account, account_id)


def owned_fields(account: Account) -> frozenset[str]:
    """Profile fields an external source (DingTalk, SCIM) owns for this account."""
    kind = account.source.split(":", 1)[0]
    return OWNED_FIELDS.get(kind, {}).get("account", frozenset())


def _crumbs(account: Account | None = None) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [(gettext("Accounts"), url_for("admin.accounts"))]
    if account is not None:
        crumbs.append((account.display_name, url_for("admin.account", account_id=account.id)))
    return crumbs


def _password_page(account: Account, password: str, title: str, label: str) -> Response:
    """Show an account's new password once, then back to the account."""
    return secret_page(
        title=title,
        secret=password,
        secret_label=label,
        next_url=url_for("admin.account", account_id=account.id),
        crumbs=_crumbs(account),
    )


def _filters() -> tuple[dict[str, Any], str | None]:
    args = request.args
    filters: dict[str, Any] = {}
    problem = None
    if args.get("q"):
        filters["q"] = args["q"][:128]
    for name, key in (("department", "department_id"), ("group", "group_id"), ("role", "role_id")):
        value = args.get(name, type=int)
        if value:
            filters[key] = value
    if args.get("status") in ACCOUNT_STATUSES:
        filters["status"] = args["status"]
    if "department_id" in filters and db.session.get(Department, filters["department_id"]) is None:
        problem = gettext("That department does not exist (any more).")
        filters.pop("department_id")
    return filters, problem


@bp.get("/accounts")
@require("directory.read")
def accounts() -> Any:
    """The accounts table: search, filters (department/status/source/group/role), sort, pages."""
    filters, problem = _filters()
    if problem:
        flash(problem, "error")
    query = service.accounts_query(**filters)
    source = request.args.get("source", "")
    if source == "local":
        query = query.where(Account.source == "local")
    elif source in ("dingtalk", "scim"):
        query = query.where(Account.source.startswith(source + ":"))
    page = paginate(
        "accounts",
        query,
        Account.id,
        {"username": Account.username_key, "id": Account.id, "created": Account.created_at},
        "username",
    )
    dept_ids = {m.department_id for a in page.items for m in a.memberships if m.is_primary}
    return render_template(
        "admin/accounts.html",
        page=page,
        departments=queries.departments_by_id(dept_ids),
        department=queries.departments_by_id({filters["department_id"]}).get(
            filters["department_id"]
        )
        if "department_id" in filters
        else None,
        groups=service.list_groups(),
        roles=service.list_roles(),
        statuses=ACCOUNT_STATUSES,
        crumbs=[(gettext("Accounts"), None)],
    )


@bp.post("/accounts/bulk")
@require("directory.write")
def accounts_bulk() -> Response:
    """Disable or enable the selected accounts (confirm page first for disabling)."""
    action = request.form.get("action")
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:BULK_LIMIT]
    back = request.form.get("back") or url_for("admin.accounts")
    if not back.startswith("/admin/"):
        back = url_for("admin.accounts")
    if action not in ("disable", "enable") or not ids:
        flash(gettext("Select at least one account and an action."), "error")
        return redirect(back)
    if action == "disable" and request.form.get("confirm") != "yes":
        names = list(db.session.scalars(select(Account.username).where(Account.id.in_(ids))))
        return confirm_page(
            title=gettext("Disable accounts"),
            question=gettext(
                "Disable %(num)d account(s)? They are signed out and cannot sign in.",
                num=len(names),
            ),
            confirm_label=gettext("Disable"),
            cancel_url=back,
            crumbs=_crumbs(),
            details=[
                (gettext("Accounts"), ", ".join(names[:20]) + (" …" if len(names) > 20 else ""))
            ],
            hidden=[("action", action), ("back", back), *[("ids", i) for i in ids]],
        )
    if action == "disable":
        confirmed()
    status = "disabled" if action == "disable" else "active"
    changed, failed = 0, 0
    for account_id in ids:
        _, error = run_service(partial(service.set_status, actor(), account_id, status))
        if error is None:
            changed += 1
            if status == "disabled":
                sessions.revoke_all(account_id, "admin_disabled", actor())
        else:
            failed += 1
    message = gettext("%(num)d account(s) changed.", num=changed)
    if failed:
        message += " " + gettext("%(num)d could not be changed.", num=failed)
    return done(message, back)


@bp.route("/accounts/new", methods=["GET", "POST"])
@require("directory.write")
def account_new() -> Any:
    """Create an account (in `?department=<id>`); a generated first password is shown once."""
    department_id = request.args.get("department", type=int)
    department = db.session.get(Department, department_id) if department_id else None
    form = AccountForm()
    if form.validate_on_submit():
        from idaas.directory.bootstrap import generate_password

        password = generate_password()
        profile: dict[str, Any] = {name: getattr(form, name).data or None for name in PROFILE}
        created, error = run_service(
            lambda: service.create_account(
                actor(),
                **profile,
                password=password,
                must_change_password=True,
                memberships=[department.id] if department else [],
            )
        )
        if error is None:
            label = gettext("First password of %(name)s", name=created.username)
            return _password_page(created, password, gettext("Account created"), label)
        apply_field_errors(form, error.fields or {"username": error_message(error)})
    return render_template(
        "admin/account_new.html",
        form=form,
        department=department,
        crumbs=_crumbs() + [(gettext("New account"), None)],
    ), (422 if form.errors else 200)


def _detail(account: Account, form: AccountForm, status: int = 200) -> Any:
    owned = owned_fields(account)
    dept_ids = {m.department_id for m in account.memberships}
    trail = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "account", AuditEvent.target_id == str(account.id))
            .order_by(AuditEvent.id.desc())
            .limit(20)
        )
    )
    definitions = service.definitions("account")
    return render_template(
        "admin/account.html",
        account=account,
        form=form,
        owned=owned,
        departments=queries.departments_by_id(dept_ids),
        groups=service.groups_of(account.id),
        roles=service.roles_of(account.id),
        all_groups=service.list_groups(),
        all_roles=service.list_roles(),
        definitions=definitions,
        identities=service.identities_of(account.id),
        live_sessions=sessions.live_sessions(account.id),
        mfa_enrolled=mfa.is_enrolled(account.id),
        locked=lockout.is_locked(account.id),
        trail=trail,
        app_access=app_access.of(account),
        crumbs=_crumbs(account),
    ), status


@bp.get("/accounts/<int:account_id>")
@require("directory.read")
def account(account_id: int) -> Any:
    """One account: profile, memberships, groups, roles, attributes, identities, sessions, audit."""
    acc = _account(account_id)
    form = AccountForm(obj=acc)
    return _detail(acc, form)


@bp.post("/accounts/<int:account_id>")
@require("directory.write")
def account_update(account_id: int) -> Any:
    """Save the profile fields this console may change (not those an external source owns)."""
    acc = _account(account_id)
    form = AccountForm()
    owned = owned_fields(acc)
    if form.validate_on_submit():
        changes = {
            name: (getattr(form, name).data or None)
            for name in PROFILE
            if name not in owned and (getattr(form, name).data or None) != getattr(acc, name)
        }
        _, error = run_service(lambda: service.update_account(actor(), acc.id, **changes))
        if error is None:
            return done(
                gettext("The account has been saved."),
                url_for("admin.account", account_id=acc.id),
            )
        db.session.refresh(acc)
        apply_field_errors(form, error.fields or {"username": error_message(error)})
    return _detail(acc, form, 422)


@bp.post("/accounts/<int:account_id>/subaccounts/<client_id>")
@require("applications.write")
def account_subaccount(account_id: int, client_id: str) -> Response:
    """Set the person's username in an association-mode application (approved at once)."""
    acc = _account(account_id)
    page = url_for("admin.account", account_id=acc.id) + "#app-access-title"
    username = request.form.get("username", "")
    _, error = run_service(lambda: services.assign_subaccount(actor(), client_id, acc.id, username))
    if error is not None:
        flash(error_message(error), "error")
        return redirect(page)
    return done(gettext("The username in the application has been set."), page)


def _account_action(account_id: int, **action: Any) -> Response:
    acc = _account(account_id)
    page = url_for("admin.account", account_id=acc.id)
    details = [(gettext("Account"), f"{acc.display_name} ({acc.username})")]
    return confirmed_action(acc, cancel_url=page, crumbs=_crumbs(acc), details=details, **action)


def _disable(acc: Account) -> None:
    service.set_status(actor(), acc.id, "disabled")
    sessions.revoke_all(acc.id, "admin_disabled", actor())


add_actions(
    "/accounts/<int:account_id>/{action}",
    "account",
    "directory.write",
    _account_action,
    {
        "disable": Action(
            _l("Disable account"),
            _l("Disable this account? It is signed out and cannot sign in."),
            _l("Disable"),
            _disable,
            _l("The account has been disabled."),
        ),
        "enable": Action(
            _l("Enable account"),
            _l("Enable this account so it can sign in again?"),
            _l("Enable"),
            lambda acc: service.set_status(actor(), acc.id, "active"),
            _l("The account has been enabled."),
            danger=False,
        ),
        "mfa-reset": Action(
            _l("Reset two-step verification"),
            _l(
                "Remove this account's authenticator and recovery codes? "
                "It enrols again at next sign-in."
            ),
            _l("Reset"),
            lambda acc: mfa.reset(actor(), acc.id),
            _l("Two-step verification has been reset."),
        ),
        "unlock": Action(
            _l("Clear lockout"),
            _l("Clear the failed sign-in attempts and lift the lockout?"),
            _l("Clear lockout"),
            lambda acc: lockout.unlock(actor(), acc.id),
            _l("The lockout has been cleared."),
            danger=False,
        ),
    },
)


@bp.route("/accounts/<int:account_id>/delete", methods=["GET", "POST"])
@require("directory.write")
def account_delete(account_id: int) -> Response:
    """Delete an account for good."""
    acc = _account(account_id)
    return ask_then_write(
        lambda: service.delete_account(actor(), acc.id),
        gettext("The account has been deleted."),
        url_for("admin.accounts"),
        title=gettext("Delete account"),
        question=gettext("Delete %(name)s for good? This cannot be undone.", name=acc.username),
        label=gettext("Delete"),
        crumbs=_crumbs(acc),
        cancel_url=url_for("admin.account", account_id=acc.id),
    )


@bp.route("/accounts/<int:account_id>/password-reset", methods=["GET", "POST"])
@require("directory.write")
def account_password_reset(account_id: int) -> Response:
    """Set a generated one-time password (shown once) and sign the account out everywhere."""

    def run(acc: Account) -> Response:
        password = services.reset_password(actor(), acc.id)
        label = gettext("One-time password of %(name)s", name=acc.username)
        return _password_page(acc, password, gettext("Password reset"), label)

    return _account_action(
        account_id,
        title=gettext("Reset password"),
        question=gettext(
            "Replace the password with a one-time password that must be changed at next sign-in? "
            "The account is signed out everywhere."
        ),
        label=gettext("Reset password"),
        run=run,
        success="",
    )


@bp.route("/accounts/<int:account_id>/sessions/<int:session_id>/revoke", methods=["GET", "POST"])
@require("directory.write")
def account_session_revoke(account_id: int, session_id: int) -> Response:
    """Sign out one session of the account."""

    def run(acc: Account) -> None:
        if not services.revoke_session(actor(), acc.id, session_id):
            abort(404)

    return _account_action(
        account_id,
        title=gettext("Sign out session"),
        question=gettext("Sign this session out?"),
        label=gettext("Sign out"),
        run=run,
        success=gettext("The session has been signed out."),
    )


@bp.route("/accounts/<int:account_id>/identities/<int:identity_id>/unlink", methods=["GET", "POST"])
@require("directory.write")
def account_identity_unlink(account_id: int, identity_id: int) -> Response:
    """Remove a linked DingTalk identity; the next DingTalk sign-in asks to bind again."""
    return _account_action(
        account_id,
        title=gettext("Unlink identity"),
        question=gettext(
            "Unlink this DingTalk identity? The person must bind again at next DingTalk sign-in."
        ),
        label=gettext("Unlink"),
        run=lambda acc: service.unlink_identity(
            actor(), identity_id, reason="admin", account_id=acc.id
        ),
        success=gettext("The identity has been unlinked."),
    )


@bp.get("/accounts/export.csv")
@require("directory.read")
def accounts_export() -> Any:
    """Download the filtered accounts as CSV (the import's columns)."""
    from flask import Response as FlaskResponse
    from flask import stream_with_context

    from idaas.admin import csv_io

    filters, _ = _filters()
    body = stream_with_context(csv_io.export_accounts(service.accounts_query(**filters)))
    response = FlaskResponse(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="idaas-accounts.csv"'
    return response


@bp.route("/accounts/import", methods=["GET", "POST"])
@require("directory.write")
def accounts_import() -> Any:
    """Upload a CSV, see every row's problems, then import the valid rows."""
    from idaas.admin import csv_io

    crumbs = _crumbs() + [(gettext("Import CSV"), None)]
    rows: list[csv_io.Row] = []
    file_error = None
    sealed = None
    if request.method == "POST":
        confirmed()  # CSRF
        if request.form.get("confirm") == "yes":
            data = csv_io.unseal(request.form.get("sealed", ""))
            if data is None:
                abort(400)
            rows, file_error = csv_io.parse(data)
            if file_error is None:
                created, failed = csv_io.apply(actor(), rows)
                return render_template(
                    "admin/accounts_import.html",
                    rows=failed,
                    created=created,
                    file_error=None,
                    sealed=None,
                    crumbs=crumbs,
                )
        else:
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                file_error = gettext("Choose a CSV file.")
            else:
                data = upload.read(csv_io.MAX_BYTES + 1)
                rows, file_error = csv_io.parse(data)
                if file_error is None:
                    sealed = csv_io.seal(data)
    return render_template(
        "admin/accounts_import.html",
        rows=rows,
        created=None,
        file_error=file_error,
        sealed=sealed,
        columns=csv_io.COLUMNS,
        crumbs=crumbs,
    ), (422 if file_error else 200)
