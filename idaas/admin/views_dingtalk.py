"""Console pages of DingTalk sync: connection, test, import with preview, progress, status."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from idaas.admin.blueprint import (
    Action,
    add_actions,
    apply_field_errors,
    bp,
    confirmed_action,
    done,
    error_message,
    or_404,
)
from idaas.admin.guard import actor, can, require
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.notify import settings as notify_settings
from idaas.dingtalk.push import settings as push_settings
from idaas.dingtalk.sync import registration, runs, settings, status
from idaas.dingtalk.sync.models import SyncRun
from idaas.directory.errors import ValidationFailed
from idaas.events import jobs
from idaas.events.models import Job
from idaas.extensions import db

ROWS_PAGE = 200


class ConnectionForm(FlaskForm):
    """CorpID, AppKey, AppSecret and agent id of a DingTalk connection."""

    name = StringField(_l("Connection name"), validators=[Optional(), Length(max=64)])
    corp_id = StringField("CorpID", validators=[InputRequired(), Length(max=128)])
    app_key = StringField("AppKey", validators=[InputRequired(), Length(max=128)])
    app_secret = PasswordField("AppSecret", validators=[Optional(), Length(max=256)])
    agent_id = StringField("AgentId", validators=[Optional(), Length(max=20)])


class SyncSettingsForm(FlaskForm):
    """The sync settings an administrator changes most (the API has all of them)."""

    FIELDS = ("enabled", "transport", "leavers", "delete_percent", "delete_minimum")

    enabled = BooleanField(_l("Keep the directory in step with DingTalk"))
    transport = SelectField(
        _l("Event transport"),
        choices=[
            SelectChoice("stream", _l("Stream (no public URL needed)")),
            SelectChoice("http", _l("HTTP callback")),
        ],
    )
    leavers = SelectField(
        _l("When someone leaves DingTalk"),
        choices=[
            SelectChoice("disable", _l("Disable the account")),
            SelectChoice("delete", _l("Delete the account after a grace period")),
        ],
    )
    delete_percent = IntegerField(
        _l("Delete protection: percent of imported accounts"), validators=[NumberRange(0, 100)]
    )
    delete_minimum = IntegerField(
        _l("Delete protection: at least this many accounts"), validators=[NumberRange(0, 10**7)]
    )


def _conn(name: str) -> DingTalkConnection:
    conn = connections.get(name)
    if conn is None:
        abort(404)
    return conn


def _run(conn: DingTalkConnection, run_id: int) -> SyncRun:
    return or_404(runs.RunError, runs.get_run, run_id, conn.name)


def _crumbs(conn: DingTalkConnection | None = None) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [(gettext("DingTalk sync"), url_for("admin.dingtalk"))]
    if conn is not None:
        crumbs.append((conn.name, url_for("admin.dingtalk_connection", name=conn.name)))
    return crumbs


@bp.get("/dingtalk")
@require("directory.read")
def dingtalk() -> str:
    """Every DingTalk connection with the health of its sync."""
    rows = [(c, status.status(c)) for c in connections.list_all()]
    return render_template("admin/dingtalk.html", rows=rows, crumbs=_crumbs())


def _save_connection(form: ConnectionForm, name: str, creating: bool) -> Response | None:
    fields: dict[str, Any] = {
        "corp_id": form.corp_id.data,
        "app_key": form.app_key.data,
        "agent_id": form.agent_id.data or "",
    }
    if form.app_secret.data:
        fields["app_secret"] = form.app_secret.data
    elif creating:
        form.app_secret.errors = [gettext("AppSecret is required.")]
        return None
    try:
        row = connections.save(actor(), name, **fields)
    except connections.ConnectionError_ as error:
        apply_field_errors(form, error.fields)
        return None
    return done(gettext("Connection saved."), url_for("admin.dingtalk_connection", name=row.name))


@bp.route("/dingtalk/new", methods=["GET", "POST"])
@require("directory.write")
def dingtalk_new() -> Any:
    """Add a connection: CorpID, AppKey and AppSecret from the DingTalk developer console."""
    form = ConnectionForm()
    if form.validate_on_submit():
        if not (form.name.data or "").strip():
            form.name.errors = [gettext("Give the connection a name.")]
        elif (answer := _save_connection(form, form.name.data or "", True)) is not None:
            return answer
    return render_template(
        "admin/dingtalk_form.html",
        form=form,
        conn=None,
        crumbs=[*_crumbs(), (gettext("New connection"), None)],
    )


@bp.route("/dingtalk/<name>/edit", methods=["GET", "POST"])
@require("directory.write")
def dingtalk_edit(name: str) -> Any:
    """Change a connection's credentials (an empty AppSecret keeps the stored one)."""
    conn = _conn(name)
    form = ConnectionForm(
        data={"corp_id": conn.corp_id, "app_key": conn.app_key, "agent_id": conn.agent_id or ""}
    )
    if form.validate_on_submit() and (answer := _save_connection(form, conn.name, False)):
        return answer
    return render_template(
        "admin/dingtalk_form.html",
        form=form,
        conn=conn,
        crumbs=[*_crumbs(conn), (gettext("Edit"), None)],
    )


def _connection_page(conn: DingTalkConnection, **extra: Any) -> str:
    row = settings.get(conn)
    form = extra.pop("form", None) or SyncSettingsForm(
        data={
            "enabled": row.enabled,
            "transport": row.transport,
            "leavers": row.leavers,
            "delete_percent": row.delete_percent,
            "delete_minimum": row.delete_minimum,
        }
    )
    recent = list(
        db.session.scalars(
            select(SyncRun)
            .where(SyncRun.connection == conn.name)
            .order_by(SyncRun.id.desc())
            .limit(10)
        )
    )
    return render_template(
        "admin/dingtalk_connection.html",
        conn=conn,
        health=status.status(conn),
        described=settings.describe(conn, row, registration.callback_url(conn))
        if can("directory.write")
        else None,
        form=form,
        runs=recent,
        push=push_settings.describe(push_settings.get(conn)),
        notifications=notify_settings.events_of(conn),
        crumbs=_crumbs(conn),
        **extra,
    )


@bp.get("/dingtalk/<name>")
@require("directory.read")
def dingtalk_connection(name: str) -> str:
    """One connection: health, callback values for DingTalk's console, settings, recent runs."""
    return _connection_page(_conn(name))


@bp.post("/dingtalk/<name>/settings")
@require("directory.write")
def dingtalk_settings(name: str) -> Any:
    """Save the sync settings (the service validates; errors go on the fields)."""
    conn = _conn(name)
    form = SyncSettingsForm()
    if form.validate_on_submit():
        data = {key: getattr(form, key).data for key in SyncSettingsForm.FIELDS}
        try:
            settings.save(actor(), conn, data)
        except ValidationFailed as error:
            apply_field_errors(form, error.fields)
        else:
            return done(gettext("Sync settings saved."), url_for(".dingtalk_connection", name=name))
    return _connection_page(conn, form=form), 422


@bp.post("/dingtalk/<name>/test")
@require("directory.write")
def dingtalk_test(name: str) -> str:
    """Check the token, the contacts permissions and the phone/email fields, each in words."""
    conn = _conn(name)
    return _connection_page(conn, checks=settings.test_connection(actor(), conn))


@bp.post("/dingtalk/<name>/import")
@require("directory.write")
def dingtalk_import(name: str) -> Response:
    """Start an import: a preview job reads DingTalk; nothing changes until confirmed."""
    conn = _conn(name)
    run, _job = runs.preview(actor(), conn)
    return redirect(url_for(".dingtalk_run", name=conn.name, run_id=run.id))


@bp.get("/dingtalk/<name>/runs/<int:run_id>")
@require("directory.read")
def dingtalk_run(name: str, run_id: int) -> str:
    """A run: its job's live progress, the preview's rows (invalid first), the decisions."""
    conn = _conn(name)
    run = _run(conn, run_id)
    job = db.session.get(Job, run.job_id) if run.job_id else None
    only_invalid = request.args.get("rows") != "all"
    rows = runs.rows_of(run, invalid=True if only_invalid else None, limit=ROWS_PAGE)
    return render_template(
        "admin/dingtalk_run.html",
        conn=conn,
        run=run,
        job=jobs.job_to_dict(job) if job else None,
        job_url=url_for("api.get_job", job_id=job.id) if job and can("directory.write") else None,
        rows=rows,
        only_invalid=only_invalid,
        crumbs=[*_crumbs(conn), (gettext("Import run %(id)s", id=run.id), None)],
    )


def _run_action(name: str, run_id: int, **action: Any) -> Response:
    conn = _conn(name)
    run = _run(conn, run_id)
    here = url_for(".dingtalk_run", name=conn.name, run_id=run.id)
    details = [(gettext("Run"), run.id), (gettext("Status"), run.status)]
    return confirmed_action(run, cancel_url=here, crumbs=_crumbs(conn), details=details, **action)


add_actions(
    "/dingtalk/<name>/runs/<int:run_id>/{action}",
    "dingtalk",
    "directory.write",
    _run_action,
    {
        "remove-invalid": Action(
            _l("Remove invalid rows"),
            _l("Remove every row with a problem from this import? They are not applied."),
            _l("Remove invalid rows"),
            lambda run: runs.remove_invalid(actor(), run),
            _l("Invalid rows removed."),
        ),
        "confirm": Action(
            _l("Confirm import"),
            _l("Apply this import to the directory now?"),
            _l("Confirm and apply"),
            lambda run: runs.apply(actor(), run),
            _l("Import confirmed; it is being applied."),
            danger=False,
        ),
        "accept-deletions": Action(
            _l("Apply with the deletions"),
            _l(
                "This import disables more accounts than delete protection allows. Apply it anyway?"
            ),
            _l("Disable them and apply"),
            lambda run: runs.apply(actor(), run, accept_deletions=True),
            _l("Import confirmed with its deletions; it is being applied."),
        ),
        "discard": Action(
            _l("Discard import"),
            _l("Discard this import? Nothing of it is applied."),
            _l("Discard"),
            lambda run: runs.discard(actor(), run),
            _l("Import discarded."),
        ),
    },
)


@bp.post("/dingtalk/<name>/runs/<int:run_id>/remove")
@require("directory.write")
def dingtalk_remove_rows(name: str, run_id: int) -> Response:
    """Drop the rows ticked in the preview table."""
    conn = _conn(name)
    run = _run(conn, run_id)
    seqs = [int(s) for s in request.form.getlist("seq") if s.isdigit()]
    here = url_for(".dingtalk_run", name=conn.name, run_id=run.id)
    if not seqs:
        flash(gettext("Tick the rows to remove first."), "error")
        return redirect(here)
    try:
        removed = runs.remove_rows(actor(), run, seqs)
    except runs.RunError as error:
        flash(error_message(error), "error")
        return redirect(here)
    return done(gettext("%(n)d rows removed.", n=removed), here)
