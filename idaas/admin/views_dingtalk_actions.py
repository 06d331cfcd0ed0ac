"""Console actions on a DingTalk connection that the API already has: reconcile now, register the
HTTP callback, remove the connection (saying what becomes of the people it imported)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from idaas.admin.blueprint import bp, confirm_page, confirmed, done
from idaas.admin.guard import actor, require
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.sync import reconcile, registration, removal


def _conn(name: str) -> DingTalkConnection:
    conn = connections.get(name)
    if conn is None:
        abort(404)
    return conn


def _crumbs(conn: DingTalkConnection) -> list[tuple[str, str | None]]:
    return [
        (gettext("DingTalk sync"), url_for("admin.dingtalk")),
        (conn.name, url_for("admin.dingtalk_connection", name=conn.name)),
    ]


def _details(conn: DingTalkConnection) -> list[tuple[str, str]]:
    return [("CorpID", conn.corp_id), ("AppKey", conn.app_key)]


@bp.route("/dingtalk/<name>/reconcile", methods=["GET", "POST"])
@require("directory.write")
def dingtalk_reconcile(name: str) -> Response:
    """Queue a reconciliation: recover failed pushes and repair drift; its run reports changes."""
    conn = _conn(name)
    page = url_for("admin.dingtalk_connection", name=conn.name)
    if confirmed():
        run, _job = reconcile.reconcile(actor(), conn)
        return done(
            gettext("Reconciliation started."),
            url_for("admin.dingtalk_run", name=conn.name, run_id=run.id),
        )
    return confirm_page(
        title=gettext("Reconcile now"),
        question=gettext(
            "Compare the directory with DingTalk now and repair what drifted? "
            "It uses part of today's DingTalk call budget."
        ),
        confirm_label=gettext("Reconcile now"),
        cancel_url=page,
        crumbs=_crumbs(conn),
        details=_details(conn),
        danger=False,
    )


@bp.route("/dingtalk/<name>/register-callback", methods=["GET", "POST"])
@require("directory.write")
def dingtalk_register_callback(name: str) -> Response:
    """Register this server's callback URL with DingTalk (legacy `register_call_back`)."""
    conn = _conn(name)
    page = url_for("admin.dingtalk_connection", name=conn.name)
    url = registration.callback_url(conn)
    if confirmed():
        try:
            registered = registration.register_legacy(actor(), conn)
        except DingTalkError as error:
            flash(str(error), "error")
            return redirect(page)
        return done(gettext("DingTalk now sends events to %(url)s.", url=registered), page)
    return confirm_page(
        title=gettext("Register the callback"),
        question=gettext(
            "Ask DingTalk to send this organisation's change events to %(url)s? "
            "DingTalk calls the URL to check it first, so it must be reachable from the internet.",
            url=url,
        ),
        confirm_label=gettext("Register the callback"),
        cancel_url=page,
        crumbs=_crumbs(conn),
        details=_details(conn),
        danger=False,
    )


@bp.route("/dingtalk/<name>/delete", methods=["GET", "POST"])
@require("directory.write")
def dingtalk_delete(name: str) -> Response | tuple[str, int]:
    """Remove the connection; with imported people, the admin chooses keep or disable."""
    conn = _conn(name)
    people = removal.imported_count(conn)
    choice = request.form.get("imported") or None
    error_text = None
    if confirmed():
        if people and choice not in removal.CHOICES:
            error_text = gettext("Choose what becomes of the people imported from DingTalk.")
        else:
            try:
                result = removal.remove(actor(), conn, choice if people else None)
            except removal.ChoiceRequired as error:
                error_text = str(error)
            else:
                return done(
                    gettext(
                        "Connection %(name)s removed; %(disabled)d of %(people)d imported "
                        "people disabled.",
                        name=name,
                        disabled=result["disabled"],
                        people=result["people"],
                    ),
                    url_for("admin.dingtalk"),
                )
    return render_template(
        "admin/dingtalk_delete.html",
        conn=conn,
        people=people,
        choice=choice,
        error_text=error_text,
        crumbs=[*_crumbs(conn), (gettext("Remove connection"), None)],
    ), (422 if error_text else 200)
