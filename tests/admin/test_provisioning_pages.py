"""The application's Provisioning page against a real scim2-server: settings (secrets never shown
back), mapping preview, test connection, dry run, sync with its job, delivery log, removal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.scim_push.server import ScimTarget, scim_server

SECRET = "Bearer-Secret-9f3a7"


@pytest.fixture
def scim() -> Iterator[ScimTarget]:
    """A scim2-server on a loopback port."""
    with scim_server() as server:
        yield server


@pytest.fixture
def application(app: Any) -> Any:
    """An application to provision."""
    from idaas.applications import apps

    return apps.create_application(
        "system", name="Expenses", redirect_uris=["https://app.example.com/cb"]
    )[0]


def _url(application: Any, tail: str = "") -> str:
    return f"/admin/applications/{application.client_id}/provisioning{tail}"


def _form(base_url: str, **more: Any) -> dict[str, Any]:
    data = {
        "enabled": "y",
        "base_url": base_url,
        "users": "y",
        "departments": "none",
        "auth_type": "none",
        "everyone": "y",
        "deprovision": "deactivate",
        "mapping": "[]",
    }
    data.update(more)
    return data


def _target(db: Any, application: Any) -> Any:
    from idaas.scim.push import settings

    db.session.rollback()
    return settings.find(application)


def test_page_without_target_offers_the_form(admin_client: Any, application: Any) -> None:
    page = admin_client.get(_url(application))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="no-target"' in html and 'id="provisioning-form"' in html
    assert 'id="dry-run"' not in html  # nothing to run before there is a target
    link = admin_client.get(f"/admin/applications/{application.client_id}")
    assert 'id="provisioning-link"' in link.get_data(as_text=True)


def test_save_keeps_the_secret_write_only(
    admin_client: Any, application: Any, db: Any, scim: ScimTarget
) -> None:
    saved = admin_client.post(
        _url(application), data=_form(scim.url, auth_type="bearer", secret=SECRET)
    )
    assert saved.status_code == 302
    target = _target(db, application)
    assert target.base_url == scim.url and target.secret_encrypted
    sealed = target.secret_encrypted
    html = admin_client.get(_url(application)).get_data(as_text=True)
    assert SECRET not in html and 'id="secret-set"' in html
    again = admin_client.post(_url(application), data=_form(scim.url, auth_type="bearer"))
    assert again.status_code == 302
    assert _target(db, application).secret_encrypted == sealed  # empty keeps the stored one


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"base_url": "ftp://nowhere"}, "base_url", "http(s)"),
        ({"base_url": "http://scim.example.com"}, "base_url", "PROVISIONING_ALLOW_HTTP"),
        ({"auth_type": "bearer"}, "secret", "needs a secret"),
        ({"mapping": "[{"}, "mapping", "not valid JSON"),
        ({"mapping": '[{"source": "x"}]'}, "mapping", "needs a source and a target"),
        ({"scope_departments": "1, two"}, "scope_departments", "whole numbers"),
    ],
)
def test_bad_input_is_shown_on_the_field_and_saves_nothing(
    admin_client: Any, application: Any, db: Any, change: dict[str, str], field: str, message: str
) -> None:
    answer = admin_client.post(
        _url(application), data={**_form("https://scim.example.com"), **change}
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert f'id="{field}-error"' in html, message
    assert _target(db, application) is None


def test_preview_shows_what_the_application_would_receive(
    admin_client: Any, application: Any, account: Any
) -> None:
    rules = '[{"source": "username", "target": "externalId", "transform": "uppercase"}]'
    shown = admin_client.post(
        _url(application, "/preview"),
        data=_form("https://scim.example.com", mapping=rules, preview_account="alice"),
    )
    assert shown.status_code == 200
    resource = re.search(r'id="preview-resource">(.*?)</pre>', shown.get_data(as_text=True), re.S)
    assert resource and "ALICE" in resource.group(1)
    by_id = admin_client.post(
        _url(application, "/preview"), data=_form("https://x.example", preview_account=account.id)
    )
    assert "ALICE" not in by_id.get_data(as_text=True)  # the saved (empty) mapping: no rule
    assert 'id="preview-resource"' in by_id.get_data(as_text=True)
    for unknown in ("999999", str(10**20), "nobody"):
        missing = admin_client.post(
            _url(application, "/preview"), data=_form("https://x.example", preview_account=unknown)
        )
        assert missing.status_code == 422
        assert 'id="preview_account-error"' in missing.get_data(as_text=True)


def test_test_dry_run_sync_and_log(
    app: Any, admin_client: Any, application: Any, account: Any, db: Any, scim: ScimTarget
) -> None:
    from idaas.events.worker import Worker

    assert admin_client.post(_url(application), data=_form(scim.url)).status_code == 302
    tested = admin_client.post(_url(application, "/test")).get_data(as_text=True)
    assert 'id="test-capabilities"' in tested and "User" in tested

    started = admin_client.post(_url(application, "/dry-run"))
    plan_id = int(re.search(r"plan=(\d+)", started.location).group(1))
    live = admin_client.get(started.location).get_data(as_text=True)
    assert "data-job-url" in live  # the progress bar follows the job until it ends
    Worker(app).drain()
    job = admin_client.get(_url(application, f"/jobs/{plan_id}")).get_json()
    assert job["status"] == "succeeded" and job["result"]["counts"]["created"] >= 1
    diff = admin_client.get(started.location).get_data(as_text=True)
    assert 'id="plan-items"' in diff and "alice" in diff and 'id="start-sync"' in diff

    synced = admin_client.post(_url(application, "/sync"), data={"plan": str(plan_id)})
    sync_id = int(re.search(r"sync=(\d+)", synced.location).group(1))
    Worker(app).drain()
    result = admin_client.get(_url(application, f"/jobs/{sync_id}")).get_json()
    assert result["status"] == "succeeded"
    assert result["result"]["counts"]["created"] == job["result"]["counts"]["created"]
    assert "alice" in scim.users()
    page = admin_client.get(synced.location).get_data(as_text=True)
    assert 'id="sync-counts"' in page and 'id="delivery-log"' in page and "POST" in page


def test_sync_needs_a_finished_dry_run(
    admin_client: Any, application: Any, db: Any, scim: ScimTarget
) -> None:
    from idaas.events.models import Job

    admin_client.post(_url(application), data=_form(scim.url))
    for plan in ("12345", str(10**20), "x"):
        refused = admin_client.post(_url(application, "/sync"), data={"plan": plan})
        assert refused.status_code == 200 and 'id="sync-refused"' in refused.get_data(as_text=True)
    db.session.rollback()
    assert db.session.query(Job).filter(Job.kind == "scim.push.sync").count() == 0


def test_job_of_another_application_is_not_shown(
    admin_client: Any, application: Any, scim: ScimTarget
) -> None:
    from idaas.events import jobs

    other = jobs.start("scim.push.plan", {"application": "someone-else"}, "system")
    assert admin_client.get(_url(application, f"/jobs/{other.id}")).status_code == 404
    huge = 10**20  # past the id column: a 404 and a plain page, never a database error
    assert admin_client.get(_url(application, f"/jobs/{huge}")).status_code == 404
    assert admin_client.get(_url(application, f"?plan={huge}&sync=x")).status_code == 200


def test_remove_asks_first(admin_client: Any, application: Any, db: Any, scim: ScimTarget) -> None:
    admin_client.post(_url(application), data=_form(scim.url))
    asked = admin_client.get(_url(application, "/remove"))
    assert asked.status_code == 200 and _target(db, application) is not None
    removed = admin_client.post(_url(application, "/remove"), data={"confirm": "yes"})
    assert removed.status_code == 302 and _target(db, application) is None


def test_application_admin_follows_its_jobs_without_jobs_admin(
    role_client: Any, application: Any, scim: ScimTarget
) -> None:
    from idaas.scim.push import settings

    settings.save("system", application.client_id, {"base_url": scim.url})
    client, _ = role_client("application_admin")
    started = client.post(_url(application, "/dry-run"))
    plan_id = int(re.search(r"plan=(\d+)", started.location).group(1))
    assert client.get(_url(application, f"/jobs/{plan_id}")).get_json()["id"] == plan_id
    assert client.get(f"/api/v1/jobs/{plan_id}").status_code == 403  # no jobs:admin


def test_auditor_sees_the_page_read_only(
    role_client: Any, application: Any, db: Any, scim: ScimTarget
) -> None:
    from idaas.scim.push import settings

    settings.save("system", application.client_id, {"base_url": scim.url})
    client, _ = role_client("auditor")
    html = client.get(_url(application)).get_data(as_text=True)
    assert "<fieldset disabled" in html
    assert 'id="save-provisioning"' not in html and 'id="dry-run"' not in html
    assert client.post(_url(application, "/dry-run")).status_code == 403
    assert client.post(_url(application, "/remove"), data={"confirm": "yes"}).status_code == 403
    assert _target(db, application) is not None
