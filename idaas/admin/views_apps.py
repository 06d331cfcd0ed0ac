"""Console pages for applications (OIDC clients), API clients and integration requests."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from idaas.admin import policy_picker
from idaas.admin.blueprint import (
    Action,
    add_actions,
    apply_field_errors,
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
from idaas.applications import apps, service
from idaas.applications.errors import ClientNotFound
from idaas.applications.models import Application, SubAccount
from idaas.applications.scopes import OIDC_SCOPES, SCOPES
from idaas.directory.models import Account
from idaas.extensions import db


class CheckboxesField(SelectMultipleField):
    """A set of checkboxes (keyboard- and screen-reader-friendly multiple choice)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ApplicationForm(FlaskForm):
    """An application's OIDC registration, access policy, tile and sub-account mode."""

    name = StringField("name", validators=[InputRequired(), Length(max=128)])
    description = TextAreaField("description", validators=[Optional(), Length(max=1024)])
    public = BooleanField("public")
    redirect_uris = TextAreaField("redirect_uris", validators=[InputRequired()])
    post_logout_redirect_uris = TextAreaField("post_logout_redirect_uris")
    scopes = CheckboxesField("scopes", choices=[SelectChoice(s, s) for s in OIDC_SCOPES])
    consent_required = BooleanField("consent_required", default=True)
    subject_type = SelectField(
        "subject_type",
        choices=[SelectChoice("public", "public"), SelectChoice("pairwise", "pairwise")],
    )
    access_token_lifetime = IntegerField(
        "access_token_lifetime", validators=[NumberRange(60, 86400)], default=3600
    )
    id_token_lifetime = IntegerField(
        "id_token_lifetime", validators=[NumberRange(60, 86400)], default=3600
    )
    refresh_token_lifetime = IntegerField(
        "refresh_token_lifetime", validators=[NumberRange(300, 365 * 86400)], default=30 * 86400
    )
    backchannel_logout_uri = StringField("backchannel_logout_uri", validators=[Optional()])
    frontchannel_logout_uri = StringField("frontchannel_logout_uri", validators=[Optional()])
    everyone = BooleanField("everyone", default=True)
    policy_departments = TextAreaField("policy_departments")
    policy_groups = CheckboxesField("policy_groups", coerce=int, choices=[])
    policy_roles = CheckboxesField("policy_roles", coerce=int, choices=[])
    policy_accounts = TextAreaField("policy_accounts")
    show_in_portal = BooleanField("show_in_portal", default=True)
    icon_url = StringField("icon_url", validators=[Optional()])
    initiate_login_uri = StringField("initiate_login_uri", validators=[Optional()])
    subaccount_mode = SelectField(
        "subaccount_mode",
        choices=[SelectChoice(m, m) for m in ("direct", "mapping", "association")],
    )
    subaccount_rule = StringField("subaccount_rule", validators=[Optional(), Length(max=64)])


LABELS = {
    "name": (_l("Name"), None),
    "description": (_l("Description"), None),
    "public": (_l("Public client (no secret, PKCE)"), None),
    "redirect_uris": (_l("Redirect URIs"), _l("One per line; matched exactly.")),
    "post_logout_redirect_uris": (_l("Post-logout redirect URIs"), _l("One per line.")),
    "scopes": (_l("Scopes"), None),
    "consent_required": (_l("Ask people for consent"), None),
    "subject_type": (
        _l("Subject identifier"),
        _l("pairwise gives each application its own identifier."),
    ),
    "access_token_lifetime": (_l("Access token lifetime (seconds)"), None),
    "id_token_lifetime": (_l("ID token lifetime (seconds)"), None),
    "refresh_token_lifetime": (_l("Refresh token lifetime (seconds)"), None),
    "backchannel_logout_uri": (_l("Back-channel logout URI"), None),
    "frontchannel_logout_uri": (_l("Front-channel logout URI"), None),
    "everyone": (
        _l("Everyone may use it"),
        _l("Otherwise only the departments, groups, roles and accounts below."),
    ),
    "policy_departments": (
        _l("Departments (and their sub-departments)"),
        _l("One department name per line; add #id when two share a name."),
    ),
    "policy_groups": (_l("Groups"), None),
    "policy_roles": (_l("Roles"), None),
    "policy_accounts": (_l("Accounts"), _l("One username per line.")),
    "show_in_portal": (_l("Show a tile in the portal"), None),
    "icon_url": (_l("Tile icon URL"), None),
    "initiate_login_uri": (_l("Sign-in URL the tile opens"), None),
    "subaccount_mode": (
        _l("Sub-account mode"),
        _l("direct: the username; mapping: a rule; association: people propose, you approve."),
    ),
    "subaccount_rule": (
        _l("Mapping rule"),
        _l("username, employee_number, email_local, mobile or attr:KEY"),
    ),
}


def _labels(form: ApplicationForm) -> None:
    for name, (label, hint) in LABELS.items():
        getattr(form, name).label.text = str(label)
        getattr(form, name).description = str(hint) if hint else ""
    from idaas.directory import service as directory

    form.policy_groups.choices = [SelectChoice(g.id, g.name) for g in directory.list_groups()]
    form.policy_roles.choices = [
        SelectChoice(r.id, r.name)
        for r in directory.list_roles()
        if not r.code.startswith("idaas.")
    ]


def _fields(form: ApplicationForm) -> dict[str, Any] | None:
    """The service's fields from the form; None (with field errors) when a name is unknown."""
    departments, bad_departments = policy_picker.resolve_departments(form.policy_departments.data)
    accounts, bad_accounts = policy_picker.resolve_accounts(form.policy_accounts.data)
    if bad_departments or bad_accounts:
        form.policy_departments.errors = bad_departments
        form.policy_accounts.errors = bad_accounts
        return None
    data: dict[str, Any] = {
        "name": form.name.data,
        "description": form.description.data or None,
        "redirect_uris": _lines(form.redirect_uris.data),
        "post_logout_redirect_uris": _lines(form.post_logout_redirect_uris.data),
        "scopes": form.scopes.data or ["openid"],
        "consent_required": form.consent_required.data,
        "subject_type": form.subject_type.data,
        "access_token_lifetime": form.access_token_lifetime.data,
        "id_token_lifetime": form.id_token_lifetime.data,
        "refresh_token_lifetime": form.refresh_token_lifetime.data,
        "backchannel_logout_uri": form.backchannel_logout_uri.data or None,
        "frontchannel_logout_uri": form.frontchannel_logout_uri.data or None,
        "show_in_portal": form.show_in_portal.data,
        "icon_url": form.icon_url.data or None,
        "initiate_login_uri": form.initiate_login_uri.data or None,
        "subaccount_mode": form.subaccount_mode.data,
        "subaccount_rule": form.subaccount_rule.data or None,
    }
    if form.everyone.data:
        data["policy"] = {"everyone": True}
    else:
        data["policy"] = {
            "everyone": False,
            "departments": departments,
            "groups": sorted(set(form.policy_groups.data or [])),
            "roles": sorted(set(form.policy_roles.data or [])),
            "accounts": accounts,
        }
    return data


def _fill(form: ApplicationForm, app: Application) -> None:
    for name in LABELS:
        if name in ("public", "everyone") or name.startswith("policy_"):
            continue
        value = getattr(app, name)
        if name in ("redirect_uris", "post_logout_redirect_uris"):
            value = "\n".join(value or [])
        getattr(form, name).data = value
    policy = app.policy or {"everyone": True}
    form.everyone.data = bool(policy.get("everyone"))
    form.policy_departments.data = policy_picker.department_lines(policy.get("departments", []))
    form.policy_groups.data = list(policy.get("groups", []))
    form.policy_roles.data = list(policy.get("roles", []))
    form.policy_accounts.data = policy_picker.account_lines(policy.get("accounts", []))


def _app(client_id: str) -> Application:
    return or_404(ClientNotFound, apps.get_application, client_id)


def _crumbs(app: Application | None = None) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [
        (gettext("Applications"), url_for("admin.applications"))
    ]
    if app is not None:
        crumbs.append((app.name, url_for("admin.application", client_id=app.client_id)))
    return crumbs


@bp.get("/applications")
@require("applications.read")
def applications() -> str:
    """Every application with its state and client id."""
    return render_template(
        "admin/applications.html",
        rows=apps.list_applications(),
        crumbs=[(gettext("Applications"), None)],
    )


@bp.route("/applications/new", methods=["GET", "POST"])
@require("applications.write")
def application_new() -> Any:
    """Register an application; a confidential client's secret is shown once."""
    form = ApplicationForm()
    _labels(form)
    if request.method == "GET":
        form.scopes.data = ["openid", "profile", "email"]
    if form.validate_on_submit() and (data := _fields(form)) is not None:
        result, error = run_service(
            lambda: apps.create_application(actor(), public=form.public.data, **data)
        )
        if error is None:
            created, secret = result
            if secret is None:
                return done(
                    gettext("The application has been created."),
                    url_for("admin.application", client_id=created.client_id),
                )
            return secret_page(
                title=gettext("Application created"),
                secret=secret,
                secret_label=gettext("Client secret"),
                client_id=created.client_id,
                next_url=url_for("admin.application", client_id=created.client_id),
                crumbs=_crumbs(created),
            )
        apply_field_errors(form, _mapped(error.fields) or {"name": error_message(error)})
    return render_template(
        "admin/application_form.html",
        form=form,
        app=None,
        crumbs=_crumbs() + [(gettext("New application"), None)],
    ), (422 if form.errors else 200)


def _mapped(fields: dict[str, str]) -> dict[str, str]:
    return {("everyone" if k == "policy" else k): v for k, v in fields.items()}


def _pending(app: Application) -> list[tuple[SubAccount, Account]]:
    rows = db.session.execute(
        select(SubAccount, Account)
        .join(Account, Account.id == SubAccount.account_id)
        .where(SubAccount.application_id == app.id, SubAccount.status == "pending")
        .order_by(SubAccount.id)
    ).all()
    return [(s, a) for s, a in rows]


def _render_app(app: Application, form: ApplicationForm) -> Any:
    return render_template(
        "admin/application_form.html",
        form=form,
        app=app,
        pending=_pending(app),
        crumbs=_crumbs(app),
    ), (422 if form.errors else 200)


@bp.get("/applications/<client_id>")
@require("applications.read")
def application(client_id: str) -> Any:
    """An application's settings (editable with applications.write) and pending sub-accounts."""
    app = _app(client_id)
    form = ApplicationForm()
    _labels(form)
    _fill(form, app)
    return _render_app(app, form)


@bp.post("/applications/<client_id>")
@require("applications.write")
def application_update(client_id: str) -> Any:
    """Save an application's settings; the service's field errors go on the form."""
    app = _app(client_id)
    form = ApplicationForm()
    _labels(form)
    if form.validate_on_submit() and (data := _fields(form)) is not None:
        _, error = run_service(lambda: apps.update_application(actor(), app.client_id, **data))
        if error is None:
            return done(
                gettext("The application has been saved."),
                url_for("admin.application", client_id=app.client_id),
            )
        apply_field_errors(form, _mapped(error.fields) or {"name": error_message(error)})
    return _render_app(app, form)


def _client_secret(
    client_id: str, secret: str, next_url: str, crumbs: list[tuple[str, str | None]]
) -> Response:
    """A rotated client secret, shown once."""
    return secret_page(
        title=gettext("New client secret"),
        secret=secret,
        secret_label=gettext("Client secret"),
        client_id=client_id,
        next_url=next_url,
        crumbs=crumbs,
    )


def _app_action(client_id: str, **action: Any) -> Response:
    app = _app(client_id)
    page = url_for("admin.application", client_id=app.client_id)
    return confirmed_action(
        app,
        next_url=lambda result: url_for("admin.applications") if result == "deleted" else page,
        cancel_url=page,
        crumbs=_crumbs(app),
        details=[(gettext("Application"), f"{app.name} ({app.client_id})")],
        **action,
    )


@bp.route("/applications/<client_id>/rotate-secret", methods=["GET", "POST"])
@require("applications.write")
def application_rotate(client_id: str) -> Response:
    """Replace the client secret (the old one stops working at once); shown once."""

    def run(app: Application) -> Response:
        _, secret = apps.rotate_application_secret(actor(), app.client_id)
        page = url_for("admin.application", client_id=app.client_id)
        return _client_secret(app.client_id, secret, page, _crumbs(app))

    return _app_action(
        client_id,
        title=gettext("Rotate client secret"),
        question=gettext(
            "Replace the client secret? The application stops working until it uses the new one."
        ),
        label=gettext("Rotate secret"),
        run=run,
        success="",
    )


def _delete_application(app: Application) -> str:
    apps.delete_application(actor(), app.client_id)
    return "deleted"


add_actions(
    "/applications/<client_id>/{action}",
    "application",
    "applications.write",
    _app_action,
    {
        "disable": Action(
            _l("Disable application"),
            _l("Disable this application? Nobody can sign in to it and its tokens stop working."),
            _l("Disable"),
            lambda app: apps.set_application_enabled(actor(), app.client_id, False),
            _l("The application has been disabled."),
        ),
        "enable": Action(
            _l("Enable application"),
            _l("Enable this application again?"),
            _l("Enable"),
            lambda app: apps.set_application_enabled(actor(), app.client_id, True),
            _l("The application has been enabled."),
            danger=False,
        ),
        "delete": Action(
            _l("Delete application"),
            _l("Delete this application for good? Its tokens stop working."),
            _l("Delete"),
            _delete_application,
            _l("The application has been deleted."),
        ),
    },
)


@bp.route(
    "/applications/<client_id>/subaccounts/<int:subaccount_id>/<decision>", methods=["GET", "POST"]
)
@require("applications.write")
def application_subaccount(client_id: str, subaccount_id: int, decision: str) -> Response:
    """Approve or reject a proposed sub-account association."""
    if decision not in ("approve", "reject"):
        abort(404)
    app = _app(client_id)
    row = db.session.get(SubAccount, subaccount_id)
    if row is None or row.application_id != app.id:
        abort(404)
    approve = decision == "approve"
    return _app_action(
        client_id,
        title=gettext("Approve sub-account") if approve else gettext("Reject sub-account"),
        question=gettext(
            "Use %(username)s as this person's username in the application?", username=row.username
        )
        if approve
        else gettext("Reject the username %(username)s?", username=row.username),
        label=gettext("Approve") if approve else gettext("Reject"),
        run=lambda app: apps.decide_subaccount(actor(), row.id, approve),
        success=gettext("The sub-account has been decided."),
        danger=not approve,
    )


# -- API clients -------------------------------------------------------------------------


class ClientForm(FlaskForm):
    """A new API client."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=128)])
    scopes = CheckboxesField(_l("Scopes"), choices=[SelectChoice(s, s) for s in SCOPES])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1024)])


@bp.get("/clients")
@require("applications.read")
def clients() -> str:
    """API clients (client credentials) with their scopes and last use."""
    return render_template(
        "admin/clients.html",
        rows=service.list_clients(),
        scopes=SCOPES,
        crumbs=[(gettext("API clients"), None)],
    )


@bp.route("/clients/new", methods=["GET", "POST"])
@require("applications.write")
def client_new() -> Any:
    """Create an API client; its secret is shown once."""
    form = ClientForm()
    if form.validate_on_submit():
        result, error = run_service(
            lambda: service.create_client(
                actor(),
                name=form.name.data,
                scopes=form.scopes.data or [],
                note=form.note.data or None,
            )
        )
        if error is None:
            created, secret = result
            return secret_page(
                title=gettext("API client created"),
                secret=secret,
                secret_label=gettext("Client secret"),
                client_id=created.client_id,
                next_url=url_for("admin.clients"),
                crumbs=[(gettext("API clients"), url_for("admin.clients"))],
            )
        apply_field_errors(form, error.fields or {"name": error_message(error)})
    return render_template(
        "admin/client_new.html",
        form=form,
        scopes=SCOPES,
        crumbs=[
            (gettext("API clients"), url_for("admin.clients")),
            (gettext("New API client"), None),
        ],
    ), (422 if form.errors else 200)


def _client_action(client_id: str, **action: Any) -> Response:
    client = or_404(ClientNotFound, service.get_client, client_id)
    listing = url_for("admin.clients")
    crumbs = [(gettext("API clients"), listing)]
    details = [(gettext("API client"), f"{client.name} ({client.client_id})")]
    return confirmed_action(client, cancel_url=listing, crumbs=crumbs, details=details, **action)


@bp.route("/clients/<client_id>/rotate", methods=["GET", "POST"])
@require("applications.write")
def client_rotate(client_id: str) -> Response:
    """Replace an API client's secret (its tokens stop working); shown once."""

    def run(client: Any) -> Response:
        _, secret = service.rotate_secret(actor(), client.client_id)
        return _client_secret(
            client.client_id,
            secret,
            url_for("admin.clients"),
            [(gettext("API clients"), url_for("admin.clients"))],
        )

    return _client_action(
        client_id,
        title=gettext("Rotate client secret"),
        question=gettext("Replace the secret? Tokens issued with the old one stop working."),
        label=gettext("Rotate secret"),
        run=run,
        success="",
    )


add_actions(
    "/clients/<client_id>/{action}",
    "client",
    "applications.write",
    _client_action,
    {
        "disable": Action(
            _l("Disable API client"),
            _l("Disable this API client? Its tokens are refused at once."),
            _l("Disable"),
            lambda c: service.set_enabled(actor(), c.client_id, False),
            _l("The API client has been disabled."),
        ),
        "enable": Action(
            _l("Enable API client"),
            _l("Enable this API client again?"),
            _l("Enable"),
            lambda c: service.set_enabled(actor(), c.client_id, True),
            _l("The API client has been enabled."),
            danger=False,
        ),
        "delete": Action(
            _l("Delete API client"),
            _l("Delete this API client for good? Its tokens stop working."),
            _l("Delete"),
            lambda c: service.delete_client(actor(), c.client_id),
            _l("The API client has been deleted."),
        ),
    },
)


# -- integration requests ----------------------------------------------------------------


@bp.get("/requests")
@require("applications.read")
def requests() -> str:
    """Integration requests, pending first."""
    status = request.args.get("status") or None
    known = ("pending", "approved", "rejected", "expired")
    rows = service.list_requests(status if status in known else None)
    return render_template(
        "admin/requests.html",
        rows=rows,
        status=status,
        crumbs=[(gettext("Integration requests"), None)],
    )


def _request(reference: str) -> Any:
    return or_404(ClientNotFound, service.get_request, reference)


@bp.route("/requests/<reference>/approve", methods=["GET", "POST"])
@require("applications.write")
def request_approve(reference: str) -> Response:
    """Approve a request: creates the API client; its secret is shown once to hand over."""
    row = _request(reference)
    crumbs = [(gettext("Integration requests"), url_for("admin.requests"))]
    if confirmed():
        result, error = run_service(lambda: service.approve_request(actor(), reference))
        if error is None:
            _, client, secret = result
            return secret_page(
                title=gettext("Request approved"),
                secret=secret,
                secret_label=gettext("Client secret for %(name)s", name=row.name),
                client_id=client.client_id,
                next_url=url_for("admin.requests"),
                crumbs=crumbs,
            )
        flash(error_message(error), "error")
    return confirm_page(
        title=gettext("Approve request"),
        question=gettext(
            "Create an API client for %(name)s with the requested scopes?", name=row.name
        ),
        confirm_label=gettext("Approve"),
        cancel_url=url_for("admin.requests"),
        crumbs=crumbs,
        details=[
            (gettext("Contact"), row.contact),
            (gettext("Scopes"), " ".join(row.scopes)),
            (gettext("Reason"), row.reason),
        ],
        danger=False,
    )


@bp.route("/requests/<reference>/reject", methods=["GET", "POST"])
@require("applications.write")
def request_reject(reference: str) -> Response:
    """Reject a request with a reason the requester can read."""
    row = _request(reference)
    crumbs = [(gettext("Integration requests"), url_for("admin.requests"))]
    reason_error = None
    if confirmed():
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            reason_error = gettext("Say why, so the requester knows what to change.")
        else:
            _, error = run_service(
                lambda: service.reject_request(actor(), reference, reason=reason)
            )
            if error is None:
                return done(gettext("The request has been rejected."), url_for("admin.requests"))
            reason_error = error_message(error)
    return confirm_page(
        title=gettext("Reject request"),
        question=gettext("Reject the request of %(name)s?", name=row.name),
        confirm_label=gettext("Reject"),
        cancel_url=url_for("admin.requests"),
        crumbs=crumbs,
        details=[(gettext("Contact"), row.contact), (gettext("Scopes"), " ".join(row.scopes))],
        reason_field=gettext("Reason (shown to the requester)"),
        reason_error=reason_error,
        status=422 if reason_error else 200,
    )
