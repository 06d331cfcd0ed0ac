"""`/api/v1/applications/<client_id>/provisioning`: SCIM push settings, test, preview, dry run,
sync and the delivery log. Scope `provisioning:admin` (or `applications:admin`)."""

from __future__ import annotations

from flask import url_for
from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.applications import CLIENT_ID
from idaas.api.crud import Resource
from idaas.api.http import json_response, no_content, origin
from idaas.api.problems import ApiProblem
from idaas.events import jobs
from idaas.events.models import Job
from idaas.scim.push import jobs as push_jobs
from idaas.scim.push import log, settings
from idaas.scim.push.models import ProvisioningTarget
from idaas.scim.push.preview import preview

ADMIN = ["provisioning:admin", "applications:admin"]
PROVISIONING = Resource(
    f"/applications/<{CLIENT_ID}:client_id>/provisioning", ["provisioning"], ADMIN, ADMIN
)


def _target(client_id: str) -> ProvisioningTarget:
    try:
        return settings.get(client_id)[1]
    except settings.NoTarget:
        raise ApiProblem(
            404, "Not Found", f"Application {client_id} has no SCIM push target."
        ) from None


def _queued(job: Job) -> Response:
    return json_response(jobs.job_to_dict(job), 202, location=url_for("api.get_job", job_id=job.id))


@PROVISIONING.get("", "Get SCIM push settings", response=s.ProvisioningOut)
def get_provisioning(client_id: str) -> Response:
    """The application's SCIM push target (never its secret)."""
    _target(client_id)
    app, target = settings.get(client_id)
    return json_response(settings.to_dict(target, app))


@PROVISIONING.put("", "Set SCIM push settings", response=s.ProvisioningOut)
def put_provisioning(client_id: str, body: s.ProvisioningSettings) -> Response:
    """Create or change the target; omitted members keep their value, `secret` is write-only."""
    target = settings.save(origin(), client_id, body.model_dump(exclude_unset=True))
    app, _ = settings.get(client_id)
    return json_response(settings.to_dict(target, app))


@PROVISIONING.delete("", "Remove SCIM push", status=204)
def delete_provisioning(client_id: str) -> Response:
    """Remove the target with its log (what it provisioned stays there)."""
    _target(client_id)
    settings.delete(origin(), client_id)
    return no_content()


@PROVISIONING.post("/test", "Test the SCIM target", response=s.ProvisioningTestResult)
def test_provisioning(client_id: str) -> Response:
    """Read the target's ServiceProviderConfig; adapt to PATCH and filter support."""
    _target(client_id)
    return json_response(settings.test_connection(origin(), client_id))


@PROVISIONING.post("/preview", "Preview the mapping for an account", response=s.ProvisioningPreview)
def preview_provisioning(client_id: str, body: s.ProvisioningPreviewRequest) -> Response:
    """The User the target would receive for the account (nothing is saved or sent)."""
    return json_response(preview(client_id, body.account_id, body.mapping))


@PROVISIONING.post("/dry-run", "Start a dry run", response=s.Job, status=202, location=True)
def dry_run_provisioning(client_id: str) -> Response:
    """Queue the diff of the target against the directory (a job; its result is the diff)."""
    _target(client_id)
    return _queued(jobs.start(push_jobs.PLAN, {"application": client_id}, origin()))


@PROVISIONING.post("/sync", "Apply a dry run", response=s.Job, status=202, location=True)
def sync_provisioning(client_id: str, body: s.ProvisioningSyncRequest) -> Response:
    """Queue the full sync that does exactly what the finished dry run `plan_job` listed."""
    _target(client_id)
    try:
        push_jobs.planned_by(body.plan_job, client_id)
    except push_jobs.PlanNotReady:
        raise ApiProblem(
            422,
            "Invalid input",
            "The body is invalid.",
            kind="validation-failed",
            fields={"plan_job": "Give a finished dry run of this application."},
        ) from None
    params = {"application": client_id, "plan_job": body.plan_job}
    return _queued(jobs.start(push_jobs.SYNC, params, origin()))


@PROVISIONING.get("/deliveries", "The target's delivery log", response=s.ProvisioningLogList)
def provisioning_log(client_id: str, query: s.ProvisioningLogQuery) -> Response:
    """Requests to the target, newest first: summary, status and the target's error text."""
    target = _target(client_id)
    rows = log.entries(
        target, failed_only=query.failed, before_id=query.before_id, limit=query.limit
    )
    return json_response({"items": [log.to_dict(r) for r in rows]})
