"""`/api/v1/dingtalk/connections/<name>/push` and `.../notifications`: settings, test, dry run,
full push (an engine job), deliveries. Writes need `directory:write`, reads `directory:read`."""

from __future__ import annotations

from werkzeug.wrappers import Response

from idaas.api import schemas as s
from idaas.api.crud import Resource
from idaas.api.http import json_response, origin
from idaas.dingtalk.notify import settings as notify_settings
from idaas.dingtalk.push import service, settings
from idaas.dingtalk.sync.api import CONNECTION, READ, WRITE, _conn
from idaas.events import jobs

PUSH = Resource(CONNECTION, ["dingtalk push"], READ, WRITE, {"response": s.DingTalkSyncObject})


@PUSH.get("/push", "DingTalk push settings")
def get_push_settings(name: str) -> Response:
    """Which local subtree is pushed under which DingTalk department, and the field mapping."""
    return json_response(settings.describe(settings.get(_conn(name))))


@PUSH.patch("/push", "Change DingTalk push settings")
def patch_push_settings(name: str, body: s.DingTalkPushSettingsPatch) -> Response:
    """Change the given settings; a subtree the connection pulls is refused (422)."""
    row = settings.save(origin(), _conn(name), body.model_dump(exclude_unset=True))
    return json_response(settings.describe(row))


@PUSH.post("/push/test", "Test pushing to DingTalk")
def test_push(name: str) -> Response:
    """Token, root department and a write probe, each with what to fix."""
    return json_response(service.test(origin(), _conn(name)))


@PUSH.post("/push/dry-run", "Dry run of a full push")
def dry_run_push(name: str) -> Response:
    """What a full push would create, update and delete (nothing changes)."""
    return json_response(service.dry_run(_conn(name)))


@PUSH.post("/push/sync", "Start a full push", status=202)
def start_push_sync(name: str) -> Response:
    """Queue the full push as a job; follow it at /api/v1/jobs/<id>."""
    job = service.start_sync(origin(), _conn(name))
    return json_response(jobs.job_to_dict(job), 202)


@PUSH.get("/push/deliveries", "Push deliveries")
def push_deliveries(name: str) -> Response:
    """The connection's push deliveries, newest first, and the objects refused (with why)."""
    conn = _conn(name)
    return json_response(
        {"items": service.recent_deliveries(conn), "errors": service.object_errors(conn)}
    )


@PUSH.get("/notifications", "Work-notification settings")
def get_notifications(name: str) -> Response:
    """Which account events send the person a DingTalk work notification."""
    return json_response({"events": notify_settings.events_of(_conn(name))})


@PUSH.put("/notifications", "Set work-notification events")
def put_notifications(name: str, body: s.DingTalkNotifySettings) -> Response:
    """Enable exactly these events (account_linked, password_reset, account_disabled, ...)."""
    events = notify_settings.save(origin(), _conn(name), body.events)
    return json_response({"events": events})
