"""Console page "Push to DingTalk" of a connection: settings, test, dry run, full push with live
progress, refused objects, deliveries, and which account events send work notifications."""

from __future__ import annotations

import json
from typing import Any

import httpx
from flask import render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from idaas.admin.blueprint import bp, done, job_of
from idaas.admin.guard import actor, can, require
from idaas.admin.views_dingtalk import _conn, _crumbs
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import DingTalkError
from idaas.dingtalk.notify import settings as notify
from idaas.dingtalk.notify.messages import EVENTS
from idaas.dingtalk.push import full, service, settings
from idaas.dingtalk.push.actions import message_for
from idaas.directory.errors import ValidationFailed

EVENT_LABELS = {
    "account_linked": _l("A DingTalk identity is linked to the account"),
    "password_reset": _l("The password is reset"),
    "account_disabled": _l("The account is disabled"),
    "association_approved": _l("A pending application association is approved"),
}


def _event_labels() -> dict[str, str]:
    return {name: str(EVENT_LABELS.get(name, name)) for name in EVENTS}


def _number(text: str | None, name: str, errors: dict[str, str]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        errors[name] = gettext("Give a whole number.")
        return None
    return int(text)


def _settings_data(errors: dict[str, str]) -> dict[str, Any]:
    """The form's push settings for `settings.save`; format problems go in `errors`."""
    data: dict[str, Any] = {
        "enabled": request.form.get("enabled") == "y",
        "disabled": request.form.get("disabled", "delete"),
    }
    for name in ("source_department_id", "root_dept_id"):
        value = _number(request.form.get(name), name, errors)
        if value is not None:
            data[name] = value
    try:
        data["mapping"] = json.loads(request.form.get("mapping") or "[]")
    except json.JSONDecodeError as exc:
        errors["mapping"] = gettext("The mapping is not valid JSON: %(e)s", e=exc.msg)
    return data


def _page(conn: DingTalkConnection, status: int = 200, **extra: Any) -> Any:
    described = settings.describe(settings.get(conn))
    form = extra.pop("form", None) or {
        **described,
        "mapping": json.dumps(described["mapping"], ensure_ascii=False, indent=2),
    }
    job = job_of(request.values.get("job"), full.JOB_KIND, connection=conn.name)
    return render_template(
        "admin/dingtalk_push.html",
        conn=conn,
        form=form,
        errors=extra.pop("errors", {}),
        events=notify.events_of(conn),
        event_labels=_event_labels(),
        deliveries=service.recent_deliveries(conn, limit=50),
        refused=service.object_errors(conn),
        job=job,
        job_url=url_for("api.get_job", job_id=job["id"])
        if job and can("directory.write")
        else None,
        crumbs=[*_crumbs(conn), (gettext("Push to DingTalk"), None)],
        **extra,
    ), status


@bp.get("/dingtalk/<name>/push")
@require("directory.read")
def dingtalk_push(name: str) -> Any:
    """The connection's push: settings, refused objects, deliveries, work notifications."""
    return _page(_conn(name))


@bp.post("/dingtalk/<name>/push")
@require("directory.write")
def dingtalk_push_save(name: str) -> Any:
    """Save the push settings; one authority per subtree is the service's to refuse."""
    conn = _conn(name)
    errors: dict[str, str] = {}
    data = _settings_data(errors)
    if not errors:
        try:
            settings.save(actor(), conn, data)
        except ValidationFailed as error:
            errors = dict(error.fields)
        else:
            return done(gettext("Push settings saved."), url_for(".dingtalk_push", name=name))
    form = {
        **data,
        **{k: request.form.get(k, "") for k in ("source_department_id", "root_dept_id")},
    }
    form["mapping"] = request.form.get("mapping", "")
    return _page(conn, 422, form=form, errors=errors)


def _call(conn: DingTalkConnection, call: Any) -> tuple[Any, str | None]:
    """Run a push service that talks to DingTalk; (result, None) or (None, what went wrong)."""
    try:
        return call(), None
    except ValidationFailed as error:
        return None, " ".join(error.fields.values())
    except DingTalkError as error:
        return None, message_for(error)
    except httpx.HTTPError as error:
        return None, gettext("Could not reach DingTalk: %(e)s", e=type(error).__name__)


@bp.post("/dingtalk/<name>/push/test")
@require("directory.write")
def dingtalk_push_test(name: str) -> Any:
    """Token, root department and a write probe, each with what to fix."""
    conn = _conn(name)
    checks, problem = _call(conn, lambda: service.test(actor(), conn))
    return _page(conn, checks=checks, problem=problem)


@bp.post("/dingtalk/<name>/push/dry-run")
@require("directory.write")
def dingtalk_push_dry_run(name: str) -> Any:
    """What a full push would create, update and delete now (nothing changes)."""
    conn = _conn(name)
    planned, problem = _call(conn, lambda: service.dry_run(conn))
    return _page(conn, planned=planned, problem=problem)


@bp.post("/dingtalk/<name>/push/sync")
@require("directory.write")
def dingtalk_push_sync(name: str) -> Any:
    """Queue the full push as a job; the page follows its progress."""
    conn = _conn(name)
    job, problem = _call(conn, lambda: service.start_sync(actor(), conn))
    if problem is not None:
        return _page(conn, 422, problem=problem)
    return done(gettext("Full push started."), url_for(".dingtalk_push", name=name, job=job.id))


@bp.post("/dingtalk/<name>/notifications")
@require("directory.write")
def dingtalk_notifications(name: str) -> Response | Any:
    """Enable exactly the ticked account events as work notifications."""
    conn = _conn(name)
    try:
        notify.save(actor(), conn, request.form.getlist("events"))
    except ValidationFailed as error:
        return _page(conn, 422, errors={"events": " ".join(error.fields.values())})
    return done(gettext("Work-notification settings saved."), url_for(".dingtalk_push", name=name))
