"""`/api/v1/dingtalk/connections/<name>/...`: sync settings, test, preview/confirm/apply, status.

Long work (preview, apply, reconcile) is queued as an engine job: the answer is 202 with the run
and its job, whose progress `/api/v1/jobs/<id>` shows. Writes need `directory:write`, reads
`directory:read`.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.blueprint import bp
from idaas.api.crud import Resource
from idaas.api.http import json_response, origin
from idaas.api.problems import ApiProblem
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.sync import events, reconcile, registration, removal, runs, settings, status
from idaas.dingtalk.sync.models import SyncRun
from idaas.events import jobs as engine
from idaas.events.models import Job
from idaas.extensions import db

READ = ["directory:read", "directory:write"]
WRITE = ["directory:write"]
NAME = "string(minlength=1, maxlength=64)"
RUN = "int(min=1, max=2147483647)"
CONNECTION = f"/dingtalk/connections/<{NAME}:name>"
SYNC = Resource(CONNECTION, ["dingtalk sync"], READ, WRITE, {"response": s.DingTalkSyncObject})


def _conn(name: str) -> DingTalkConnection:
    conn = connections.get(name)
    if conn is None:
        raise ApiProblem(404, "Not Found", f"DingTalk connection {name} does not exist.")
    return conn


def _run(conn: DingTalkConnection, run_id: int) -> SyncRun:
    try:
        return runs.get_run(run_id, conn.name)
    except runs.RunError as error:
        raise ApiProblem(404, "Not Found", str(error)) from None


def job_of(run: SyncRun) -> dict[str, Any] | None:
    """The engine job working on a run: id, URL, status and progress."""
    job = db.session.get(Job, run.job_id) if run.job_id else None
    if job is None:
        return None
    data = engine.job_to_dict(job)
    return {
        "id": job.id,
        "url": f"{bp.url_prefix}/jobs/{job.id}",
        "kind": job.kind,
        "status": job.status,
        "progress": data["progress"],
        "error": job.error,
    }


def run_to_dict(run: SyncRun) -> dict[str, Any]:
    """A run for the API and the CLI."""
    return {
        "id": run.id,
        "connection": run.connection,
        "kind": run.kind,
        "status": run.status,
        "counts": run.counts,
        "progress": {"total": run.total, "done": run.done, "failed": run.failed, "step": run.step},
        "message": run.message,
        "calls": run.calls,
        "result": run.result,
        "job": job_of(run),
        "created_at": run.created_at.isoformat() + "Z",
        "finished_at": run.finished_at.isoformat() + "Z" if run.finished_at else None,
    }


def _state(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except runs.RunError as error:
        raise ApiProblem(409, "Conflict", str(error), kind="run-state") from None


@SYNC.get("/sync/settings", "DingTalk sync settings")
def get_sync_settings(name: str) -> Response:
    """The sync settings, with the callback URL, token and AES key to paste into DingTalk."""
    conn = _conn(name)
    row = settings.get(conn)
    return json_response(settings.describe(conn, row, registration.callback_url(conn)))


@SYNC.patch("/sync/settings", "Change DingTalk sync settings")
def patch_sync_settings(name: str, body: s.DingTalkSyncSettingsPatch) -> Response:
    """Change the given settings; invalid values change nothing (422 with a reason per field)."""
    conn = _conn(name)
    row = settings.save(origin(), conn, body.model_dump(exclude_unset=True))
    return json_response(settings.describe(conn, row, registration.callback_url(conn)))


@SYNC.post("/sync/test", "Test the DingTalk connection for sync")
def test_sync_connection(name: str) -> Response:
    """Token, contacts permissions, phone/email visibility and scope, each with what to fix."""
    return json_response(settings.test_connection(origin(), _conn(name)))


def _started(run: SyncRun) -> Response:
    return json_response(
        run_to_dict(runs.get_run(run.id)), 202, location=f"{bp.url_prefix}/jobs/{run.job_id}"
    )


@SYNC.post("/sync/preview", "Preview a full import", status=202)
def preview_import(name: str) -> Response:
    """Queue a job that reads DingTalk and plans the import without changing anything; returns
    the run with its job (`job.url`)."""
    return _started(runs.preview(origin(), _conn(name))[0])


@SYNC.get(f"/sync/runs/<{RUN}:run_id>", "A sync run")
def get_sync_run(name: str, run_id: int) -> Response:
    """A run with its counts, progress and result."""
    return json_response(run_to_dict(_run(_conn(name), run_id)))


@SYNC.get(f"/sync/runs/<{RUN}:run_id>/rows", "Rows of a sync run")
def get_sync_rows(name: str, run_id: int, query: s.DingTalkSyncRowsQuery) -> Response:
    """Planned creates, updates, moves and disables, each invalid row with its reasons."""
    run = _run(_conn(name), run_id)
    rows = runs.rows_of(run, invalid=query.invalid, limit=min(query.limit, 1000), after=query.after)
    return json_response(
        {
            "items": [
                {
                    "seq": r.seq,
                    "object_type": r.object_type,
                    "external_id": r.external_id,
                    "action": r.action,
                    "name": r.name,
                    "changes": r.changes,
                    "errors": r.errors,
                    "removed": r.removed,
                    "applied": r.applied,
                }
                for r in rows
            ]
        }
    )


@SYNC.post(f"/sync/runs/<{RUN}:run_id>/remove", "Remove rows from a previewed run")
def remove_sync_rows(name: str, run_id: int, body: s.DingTalkSyncRemove) -> Response:
    """Drop every invalid row in one action (`invalid: true`) or the rows listed."""
    run = _run(_conn(name), run_id)
    if body.invalid:
        count = _state(runs.remove_invalid, origin(), run)
    else:
        count = _state(runs.remove_rows, origin(), run, body.seqs)
    return json_response({"removed": count})


@SYNC.post(f"/sync/runs/<{RUN}:run_id>/confirm", "Confirm and apply a run", status=202)
def confirm_sync_run(name: str, run_id: int, body: s.DingTalkSyncConfirm) -> Response:
    """Approve and queue the apply job (idempotent, resumable; 202 with the run and its job);
    it stops at delete protection unless accepted. A held event batch is applied at once (200)."""
    conn = _conn(name)
    run = _run(conn, run_id)
    if run.kind == "events":
        if run.status != "held":
            raise ApiProblem(409, "Conflict", "Only a held event batch can be confirmed.")
        events.release(origin(), run, approve=True)
        events.apply_pending(conn)
        return json_response(run_to_dict(runs.get_run(run.id)))
    _state(runs.apply, origin(), run, accept_deletions=body.accept_deletions)
    return _started(run)


@SYNC.post(f"/sync/runs/<{RUN}:run_id>/discard", "Discard a run")
def discard_sync_run(name: str, run_id: int) -> Response:
    """Throw a previewed or held run away; nothing of it is applied."""
    run = _run(_conn(name), run_id)
    if run.kind == "events":
        events.release(origin(), run, approve=False)
        return json_response(run_to_dict(runs.get_run(run.id)))
    return json_response(run_to_dict(_state(runs.discard, origin(), run)))


@SYNC.post("/sync/reconcile", "Reconcile now", status=202)
def reconcile_now(name: str) -> Response:
    """Queue a job that recovers failed pushes and repairs drift within the call budget; its
    run reports the changes."""
    return _started(reconcile.reconcile(origin(), _conn(name))[0])


@SYNC.post("/sync/register-callback", "Register the HTTP callback (legacy API)")
def register_callback(name: str) -> Response:
    """`register_call_back` with this connection's URL, token and AES key (§6.1 B)."""
    return json_response({"url": registration.register_legacy(origin(), _conn(name))})


@SYNC.get("/status", "DingTalk sync status")
def sync_status(name: str) -> Response:
    """Last import, last event, lag, events per minute, calls today by API, errors as actions."""
    return json_response(status.status(_conn(name)))


@SYNC.delete("", "Remove a DingTalk connection", status=204, response=None)
def delete_connection(name: str, query: s.DingTalkConnectionDeleteQuery) -> Response:
    """Remove the connection; with imported people, `imported=keep|disable` is required."""
    conn = _conn(name)
    try:
        removal.remove(origin(), conn, query.imported)
    except removal.ChoiceRequired as error:
        raise ApiProblem(409, "Conflict", str(error), kind="choice-required") from None
    return Response(status=204)
