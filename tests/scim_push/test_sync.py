"""Full sync through the API: the dry-run diff equals what the sync then does; CLI too."""

from __future__ import annotations

import json
from typing import Any

import httpx

from idaas.directory import service
from tests.scim_push.conftest import drain, make_application, push_to

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _job(api: Any, app: Any, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.get_json()
    drain(app)
    job = api("GET", f"/jobs/{response.get_json()['id']}").get_json()
    assert job["status"] == "succeeded", job
    return job["result"]


def _dry_run_then_sync(api: Any, app: Any, client_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    base = f"/applications/{client_id}/provisioning"
    plan_response = api("POST", f"{base}/dry-run")
    planned = _job(api, app, plan_response)
    done = _job(
        api, app, api("POST", f"{base}/sync", json={"plan_job": plan_response.get_json()["id"]})
    )
    return planned, done


def test_the_dry_run_diff_equals_what_the_sync_does(app: Any, api_as: Any, target: Any) -> None:
    api = api_as("provisioning:admin", "jobs:admin")
    application = make_application()
    push_to(application, target.url, enabled=False)  # nothing pushed in real time
    accounts = [service.create_account("admin:1", username=f"user{n}") for n in range(6)]
    team = service.create_group("admin:1", name="Team")
    for account in accounts[:3]:
        service.set_group_membership("admin:1", team.id, account.id, True)
    service.set_status("admin:1", accounts[5].id, "disabled")
    httpx.post(  # already there (created by hand): found and updated, not duplicated
        f"{target.url}/Users", json={"schemas": [USER], "userName": "user0", "title": "x"}
    )
    base = f"/applications/{application.client_id}/provisioning"
    assert api("PUT", base, json={"enabled": True}).status_code == 200

    planned, done = _dry_run_then_sync(api, app, application.client_id)
    assert planned["counts"] == {
        "created": 6, "updated": 1, "deactivated": 0, "deleted": 0, "unchanged": 0, "failed": 0,
    }  # fmt: skip
    assert {i["name"]: i["op"] for i in planned["items"]}["user0"] == "updated"
    assert done["counts"] == {k: v for k, v in planned["counts"].items() if k != "unchanged"}
    users = target.users()
    assert sorted(users) == [f"user{n}" for n in range(6)]
    assert users["user5"]["active"] is False and users["user0"]["externalId"] == accounts[0].uuid
    members = {m["value"] for m in target.groups()["Team"]["members"]}
    assert members == {users[f"user{n}"]["id"] for n in range(3)}

    again, _ = _dry_run_then_sync(api, app, application.client_id)
    assert again["items"] == [] and again["counts"]["unchanged"] == 7

    # The scope shrinks to the team: the others are deactivated, exactly as planned.
    assert (
        api("PUT", base, json={"enabled": False, "scope": {"groups": [team.id]}}).status_code == 200
    )
    planned, done = _dry_run_then_sync(api, app, application.client_id)
    assert planned["counts"]["deactivated"] == 2  # user5 was inactive already
    assert done["counts"] == {k: v for k, v in planned["counts"].items() if k != "unchanged"}
    users = target.users()
    assert [name for name, u in sorted(users.items()) if u["active"]] == ["user0", "user1", "user2"]


def test_a_sync_needs_a_finished_dry_run_of_the_same_app(
    app: Any, api_as: Any, target: Any
) -> None:
    api = api_as("provisioning:admin")
    application = make_application()
    push_to(application, target.url)
    response = api(
        "POST", f"/applications/{application.client_id}/provisioning/sync", json={"plan_job": 999}
    )
    assert response.status_code == 422
    assert "plan_job" in response.get_json()["fields"]


def test_settings_api_validates_and_never_shows_the_secret(
    app: Any, api_as: Any, target: Any
) -> None:
    api = api_as("provisioning:admin")
    application = make_application()
    base = f"/applications/{application.client_id}/provisioning"
    assert api("GET", base).status_code == 404
    bad = api(
        "PUT",
        base,
        json={"base_url": "ftp://x", "auth_type": "basic", "mapping": [{"source": "a"}]},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) >= {"base_url", "auth", "secret", "mapping"}
    assert api("GET", base).status_code == 404  # nothing half-written
    good = api(
        "PUT",
        base,
        json={
            "base_url": target.url,
            "auth_type": "bearer",
            "secret": "tok-123",
            "deprovision": "delete",
        },
    )
    assert good.status_code == 200, good.get_json()
    body = good.get_json()
    assert body["secret_set"] is True and "tok-123" not in json.dumps(body)
    tested = api("POST", f"{base}/test").get_json()
    assert tested["ok"] is True and tested["patch"] is True and "User" in tested["resource_types"]
    account = service.create_account("admin:1", username="ada", email="ada@example.com")
    shown = api(
        "POST",
        f"{base}/preview",
        json={
            "account_id": account.id,
            "mapping": [{"source": "email", "target": "userName", "transform": "uppercase"}],
        },
    ).get_json()
    assert shown["resource"]["userName"] == "ADA@EXAMPLE.COM" and shown["errors"] == []
    log = api("GET", f"{base}/deliveries").get_json()["items"]
    assert log and log[0]["request"] == "GET ResourceTypes"
    assert api_as("directory:read")("GET", base).status_code == 403
    assert api("DELETE", base).status_code == 204


def test_cli_dry_run_and_sync(app: Any, runner: Any, target: Any) -> None:
    application = make_application()
    push_to(application, target.url, enabled=False)
    service.create_account("admin:1", username="ada")
    shown = runner.invoke(args=["provisioning", "show", application.client_id, "--json"])
    assert json.loads(shown.output)["base_url"] == target.url
    queued = runner.invoke(args=["provisioning", "dry-run", application.client_id, "--json"])
    job_id = json.loads(queued.output)["id"]
    drain(app)
    waited = runner.invoke(args=["jobs", "wait", str(job_id), "--json"])
    assert json.loads(waited.output)["result"]["counts"]["created"] == 1
    synced = runner.invoke(
        args=["provisioning", "sync", application.client_id, "--plan", str(job_id), "--json"]
    )
    drain(app)
    result = runner.invoke(args=["jobs", "wait", str(json.loads(synced.output)["id"]), "--json"])
    assert json.loads(result.output)["result"]["counts"]["created"] == 1
    assert "ada" in target.users()
    logged = runner.invoke(args=["provisioning", "log", application.client_id])
    assert "POST Users -> 201" in logged.output
