"""Console page of an application's SCIM push target: settings, mapping preview, test, dry run,
sync with live progress, and the delivery log (issue 16 item 5 on the issue 14 shell)."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from idaas.admin.blueprint import (
    Action,
    add_actions,
    apply_field_errors,
    bp,
    confirmed_action,
    done,
    job_of,
    or_404,
    run_service,
)
from idaas.admin.guard import actor, require
from idaas.applications.apps import get_application
from idaas.applications.errors import ApplicationError
from idaas.applications.models import Application
from idaas.directory.service import find_by_identifier
from idaas.events import jobs
from idaas.scim.push import jobs as push_jobs
from idaas.scim.push import log, settings
from idaas.scim.push.models import ProvisioningTarget
from idaas.scim.push.preview import preview

LOG_PAGE = 50
AUTH_FIELDS = ("username", "client_id", "token_url", "scope")


class TargetForm(FlaskForm):
    """The SCIM target's settings as the console edits them (the API has the same fields)."""

    enabled = BooleanField(_l("Push changes to this application"))
    base_url = StringField(_l("SCIM base URL"))
    users = BooleanField(_l("Users"))
    groups = BooleanField(_l("Groups"))
    departments = SelectField(
        _l("Departments"),
        choices=[
            SelectChoice("none", _l("Not pushed")),
            SelectChoice("groups", _l("As Groups")),
            SelectChoice("custom", _l("As the custom Department resource")),
        ],
    )
    auth_type = SelectField(
        _l("Authentication"),
        choices=[
            SelectChoice("none", _l("None")),
            SelectChoice("basic", _l("Basic (username and password)")),
            SelectChoice("bearer", _l("Static bearer token")),
            SelectChoice("oauth2", _l("OAuth2 client credentials")),
        ],
    )
    username = StringField(_l("Username (Basic)"), validators=[Optional()])
    client_id = StringField(_l("Client ID (OAuth2)"), validators=[Optional()])
    token_url = StringField(_l("Token URL (OAuth2)"), validators=[Optional()])
    scope = StringField(_l("Scope (OAuth2)"), validators=[Optional()])
    secret = PasswordField(_l("Password, token or client secret"), validators=[Optional()])
    everyone = BooleanField(_l("Everyone"))
    policy = BooleanField(_l("Who the application's access policy lets in"))
    scope_departments = StringField(_l("Department ids"), validators=[Optional()])
    scope_groups = StringField(_l("Group ids"), validators=[Optional()])
    deprovision = SelectField(
        _l("When someone leaves the scope"),
        choices=[
            SelectChoice("deactivate", _l("Deactivate them in the application")),
            SelectChoice("delete", _l("Delete them from the application")),
        ],
    )
    mapping = TextAreaField(_l("Attribute mapping rules (JSON)"), validators=[Optional()])
    preview_account = StringField(_l("Account to preview"), validators=[Optional()])


def _ids(text: str | None) -> list[int] | None:
    """`1, 2 3` -> [1, 2, 3]; None when a part is not a whole number."""
    parts = (text or "").replace(",", " ").split()
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None


def _fill(form: TargetForm, target: ProvisioningTarget | None) -> None:
    if target is None:
        form.users.data, form.departments.data, form.deprovision.data = True, "none", "deactivate"
        form.everyone.data, form.mapping.data = True, "[]"
        return
    scope, auth = dict(target.scope or {}), dict(target.auth or {})
    form.enabled.data, form.base_url.data = target.enabled, target.base_url
    form.users.data, form.groups.data = target.users, target.groups
    form.departments.data, form.auth_type.data = target.departments, target.auth_type
    for name in AUTH_FIELDS:
        getattr(form, name).data = auth.get(name, "")
    form.everyone.data, form.policy.data = scope.get("everyone", False), scope.get("policy", False)
    form.scope_departments.data = " ".join(map(str, scope.get("departments") or []))
    form.scope_groups.data = " ".join(map(str, scope.get("groups") or []))
    form.deprovision.data = target.deprovision
    form.mapping.data = json.dumps(list(target.mapping or []), ensure_ascii=False, indent=2)


def _rules(form: TargetForm) -> Any:
    """The mapping textarea as JSON; a field error (and None) when it is not JSON."""
    try:
        return json.loads(form.mapping.data or "[]")
    except json.JSONDecodeError as exc:
        form.mapping.errors = [gettext("The mapping is not valid JSON: %(e)s", e=exc.msg)]
        return None


def _data(form: TargetForm) -> dict[str, Any] | None:
    """The settings for `settings.save`, or None with the form's field errors set."""
    scope: dict[str, Any] = {"everyone": form.everyone.data, "policy": form.policy.data}
    for key, field in (("departments", form.scope_departments), ("groups", form.scope_groups)):
        ids = _ids(field.data)
        if ids is None:
            field.errors = [gettext("Give whole numbers separated by spaces or commas.")]
        elif ids:
            scope[key] = ids
    rules = _rules(form)
    if form.scope_departments.errors or form.scope_groups.errors or rules is None:
        return None
    data: dict[str, Any] = {
        "enabled": form.enabled.data,
        "base_url": form.base_url.data,
        "users": form.users.data,
        "groups": form.groups.data,
        "departments": form.departments.data,
        "auth_type": form.auth_type.data,
        "auth": {n: getattr(form, n).data for n in AUTH_FIELDS if getattr(form, n).data},
        "scope": scope,
        "deprovision": form.deprovision.data,
        "mapping": rules,
    }
    if form.secret.data:  # empty keeps the stored secret
        data["secret"] = form.secret.data
    return data


def _app(client_id: str) -> Application:
    return or_404(ApplicationError, get_application, client_id)


def _target_app(client_id: str) -> Application:
    """The application, or a 404 when it has no SCIM target yet."""
    app = _app(client_id)
    if settings.find(app) is None:
        abort(404)
    return app


def _crumbs(app: Application) -> list[tuple[str, str | None]]:
    return [
        (gettext("Applications"), url_for("admin.applications")),
        (app.name, url_for("admin.application", client_id=app.client_id)),
        (gettext("Provisioning"), url_for("admin.provisioning", client_id=app.client_id)),
    ]


def _job(job_id: Any, kind: str, app: Application) -> dict[str, Any] | None:
    """A SCIM push job of this application as the API shows it, or None."""
    return job_of(job_id, kind, application=app.client_id)


def _page(app: Application, form: TargetForm | None = None, **extra: Any) -> Any:
    target = settings.find(app)
    if form is None:
        form = TargetForm()
        _fill(form, target)
    failed_only = request.args.get("log") == "failed"
    status = 422 if form.errors else 200
    return render_template(
        "admin/provisioning.html",
        app=app,
        target=target,
        form=form,
        entries=log.entries(target, failed_only=failed_only, limit=LOG_PAGE) if target else [],
        failed_only=failed_only,
        plan=_job(request.values.get("plan"), push_jobs.PLAN, app),
        sync=_job(request.values.get("sync"), push_jobs.SYNC, app),
        job_url=lambda job: url_for(
            "admin.provisioning_job", client_id=app.client_id, job_id=job["id"]
        ),
        crumbs=_crumbs(app)[:-1] + [(gettext("Provisioning"), None)],
        **extra,
    ), status


@bp.get("/applications/<client_id>/provisioning")
@require("applications.read")
def provisioning(client_id: str) -> Any:
    """The application's SCIM target: settings, capabilities, dry run, sync, delivery log."""
    return _page(_app(client_id))


@bp.post("/applications/<client_id>/provisioning")
@require("applications.write")
def provisioning_save(client_id: str) -> Any:
    """Save the target's settings (secrets write-only); the service's errors go on the fields."""
    app = _app(client_id)
    form = TargetForm()
    if form.validate_on_submit() and (data := _data(form)) is not None:
        _, error = run_service(lambda: settings.save(actor(), app.client_id, data))
        if error is None:
            return done(
                gettext("Provisioning settings saved."),
                url_for("admin.provisioning", client_id=app.client_id),
            )
        mapped = {"auth": "username", "scope": "scope_departments"}
        apply_field_errors(form, dict(getattr(error, "fields", {}) or {}), mapped)
    return _page(app, form)


def _account_id(text: str | None) -> int | None:
    """The account a username, email, mobile or id names, or None."""
    text = (text or "").strip()
    account = find_by_identifier(text) if text else None
    if account is not None:
        return int(account.id)
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


@bp.post("/applications/<client_id>/provisioning/preview")
@require("applications.write")
def provisioning_preview(client_id: str) -> Any:
    """The User the target would receive for an account under the mapping in the form."""
    app = _app(client_id)
    form = TargetForm()
    form.validate_on_submit()
    rules = _rules(form)
    account_id = _account_id(form.preview_account.data)
    if account_id is None:
        form.preview_account.errors = [gettext("No such account.")]
    if rules is None or account_id is None:
        return _page(app, form)
    shown, error = run_service(lambda: preview(app.client_id, account_id, rules))
    if error is not None:
        apply_field_errors(form, getattr(error, "fields", None) or {"preview_account": str(error)})
        return _page(app, form)
    return _page(app, form, shown=shown)


@bp.post("/applications/<client_id>/provisioning/test")
@require("applications.write")
def provisioning_test(client_id: str) -> Any:
    """Read the target's ServiceProviderConfig; show what it supports or why it failed."""
    app = _target_app(client_id)
    return _page(app, tested=settings.test_connection(actor(), app.client_id))


@bp.post("/applications/<client_id>/provisioning/dry-run")
@require("applications.write")
def provisioning_dry_run(client_id: str) -> Response:
    """Queue the dry run (a job); the page follows it and then shows the diff."""
    app = _target_app(client_id)
    job = jobs.start(push_jobs.PLAN, {"application": app.client_id}, actor())
    return done(
        gettext("Dry run started."),
        url_for("admin.provisioning", client_id=app.client_id, plan=job.id),
    )


@bp.post("/applications/<client_id>/provisioning/sync")
@require("applications.write")
def provisioning_sync(client_id: str) -> Any:
    """Queue the sync that does exactly what the finished dry run listed."""
    app = _target_app(client_id)
    plan = _job(request.form.get("plan"), push_jobs.PLAN, app)
    if plan is None or plan["status"] != "succeeded":
        return _page(app, refused=gettext("Run a dry run and wait until it has finished first."))
    plan_job = plan["id"]
    params = {"application": app.client_id, "plan_job": plan_job}
    job = jobs.start(push_jobs.SYNC, params, actor())
    return done(
        gettext("Sync started."),
        url_for("admin.provisioning", client_id=app.client_id, plan=plan_job, sync=job.id),
    )


@bp.get("/applications/<client_id>/provisioning/jobs/<int:job_id>")
@require("applications.read")
def provisioning_job(client_id: str, job_id: int) -> Response:
    """A dry run or sync job of this application as JSON, for the live progress bar."""
    app = _app(client_id)
    job = _job(job_id, push_jobs.PLAN, app) or _job(job_id, push_jobs.SYNC, app)
    if job is None:
        abort(404)
    response = Response(json.dumps(job), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _target_action(client_id: str, **action: Any) -> Response:
    app = _target_app(client_id)
    here = url_for("admin.provisioning", client_id=app.client_id)
    details = [(gettext("Application"), app.name)]
    return confirmed_action(app, cancel_url=here, crumbs=_crumbs(app), details=details, **action)


add_actions(
    "/applications/<client_id>/provisioning/{action}",
    "provisioning",
    "applications.write",
    _target_action,
    {
        "remove": Action(
            _l("Remove SCIM push"),
            _l(
                "Remove this application's SCIM target and its delivery log? What it provisioned "
                "stays in the application."
            ),
            _l("Remove"),
            lambda app: settings.delete(actor(), app.client_id),
            _l("The SCIM target has been removed."),
        ),
    },
)
