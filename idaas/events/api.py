"""`/api/v1/deliveries` (scope `deliveries:admin`) and `/api/v1/jobs` (scope `jobs:admin`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from flask import url_for
from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.blueprint import ID, bp
from idaas.api.http import json_response, origin
from idaas.api.problems import ApiProblem
from idaas.api.spec import operation
from idaas.events import deliveries, jobs
from idaas.events.clock import clock
from idaas.events.models import Delivery, Job

T = TypeVar("T")
DELIVERIES = ["deliveries:admin"]
JOBS = ["jobs:admin"]
deliveries_operation = partial(operation, tags=["deliveries"], scopes=DELIVERIES)
jobs_operation = partial(operation, tags=["jobs"], scopes=JOBS)


def _found(lookup: Callable[[int], T], object_id: int, missing: type[Exception], what: str) -> T:
    """The object `lookup` finds, or a 404 problem naming `what`."""
    try:
        return lookup(object_id)
    except missing:
        raise ApiProblem(404, "Not Found", f"No such {what}.") from None


def _delivery(delivery_id: int) -> Delivery:
    return _found(deliveries.get_delivery, delivery_id, deliveries.DeliveryNotFound, "delivery")


@bp.get("/deliveries")
@deliveries_operation("List deliveries", query=s.DeliveryListQuery, response=s.DeliveryList)
def list_deliveries(query: s.DeliveryListQuery) -> Response:
    """Deliveries, newest first; `status=dead` lists the dead letters."""
    rows = deliveries.list_deliveries(query.status, query.target_type, query.after_id, query.limit)
    return json_response({"items": [deliveries.delivery_to_dict(r) for r in rows]})


@bp.get(f"/deliveries/<{ID}:delivery_id>")
@deliveries_operation("Get a delivery", response=s.Delivery)
def get_delivery(delivery_id: int) -> Response:
    """One delivery with its attempts, last answer and payload."""
    return json_response(deliveries.delivery_to_dict(_delivery(delivery_id)))


@bp.post(f"/deliveries/<{ID}:delivery_id>/replay")
@deliveries_operation("Replay a dead letter", response=s.Delivery, errors={409})
def replay_delivery(delivery_id: int) -> Response:
    """Put a dead letter back in the queue with a fresh retry window (409 if it is not dead)."""
    _delivery(delivery_id)
    try:
        row = deliveries.replay(delivery_id, origin(), clock().now())
    except deliveries.NotDeadLetter:
        raise ApiProblem(
            409, "Conflict", "Only dead letters can be replayed.", kind="not-dead-letter"
        ) from None
    return json_response(deliveries.delivery_to_dict(row))


def _job(job_id: int) -> Job:
    return _found(jobs.get, job_id, jobs.JobNotFound, "job")


@bp.get("/jobs")
@jobs_operation("List jobs", query=s.JobListQuery, response=s.JobList)
def list_jobs(query: s.JobListQuery) -> Response:
    """Jobs, newest first, with their progress."""
    rows = jobs.list_jobs(query.status, query.kind, query.limit)
    return json_response({"items": [jobs.job_to_dict(j) for j in rows]})


@bp.post("/jobs")
@jobs_operation("Start a job", body=s.JobStart, response=s.Job, status=201, location=True)
def start_job(body: s.JobStart) -> Response:
    """Queue a job of a registered kind (422 for an unknown kind)."""
    try:
        job = jobs.start(body.kind, body.params, origin())
    except jobs.UnknownJobKind:
        raise ApiProblem(
            422,
            "Invalid input",
            "The body is invalid.",
            kind="validation-failed",
            fields={"kind": f"Unknown job kind; known: {', '.join(jobs.kinds())}"},
        ) from None
    return json_response(jobs.job_to_dict(job), 201, location=url_for("api.get_job", job_id=job.id))


@bp.get(f"/jobs/<{ID}:job_id>")
@jobs_operation("Get a job", response=s.Job)
def get_job(job_id: int) -> Response:
    """One job: status, progress, checkpoint, result or error."""
    return json_response(jobs.job_to_dict(_job(job_id)))


@bp.post(f"/jobs/<{ID}:job_id>/cancel")
@jobs_operation("Cancel a job", response=s.Job)
def cancel_job(job_id: int) -> Response:
    """Ask a job to stop: queued jobs end at once, running ones at their next check."""
    _job(job_id)
    return json_response(jobs.job_to_dict(jobs.cancel(job_id, origin())))
