"""A DingTalk connection's "Push to DingTalk" page against the sandbox corp: settings (one
authority per subtree refused in words), test, dry run, full push with its job, refused objects,
work-notification events."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.admin.conftest import sign_in
from tests.conftest import ADMIN_PASSWORD
from tests.dingtalk_push import conftest as fixtures
from tests.dingtalk_push.conftest import drain, dt_children

# the push tests' fixtures: a live sandbox corp, idaas connected to it, a pushed subtree
sandbox, push_app, conn = fixtures.sandbox, fixtures.push_app, fixtures.conn
root_dept, hq = fixtures.root_dept, fixtures.hq

PAGE = "/admin/dingtalk/corp/push"


@pytest.fixture
def root_client(push_app: Any) -> Any:
    """The super admin `root`, signed in."""
    from idaas.directory.bootstrap import ensure_administrator
    from idaas.extensions import db

    root, _ = ensure_administrator("system", "root", ADMIN_PASSWORD)
    root.must_change_password = False
    db.session.commit()
    return sign_in(push_app.test_client(), "root", ADMIN_PASSWORD)


def _settings(push_app: Any) -> Any:
    from idaas.dingtalk import connections
    from idaas.dingtalk.push import settings
    from idaas.extensions import db

    db.session.rollback()
    return settings.describe(settings.get(connections.require("corp")))


def test_page_and_link(root_client: Any) -> None:
    summary = root_client.get("/admin/dingtalk/corp").get_data(as_text=True)
    assert 'id="push-summary"' in summary and 'id="push-open"' in summary
    html = root_client.get(PAGE).get_data(as_text=True)
    assert 'id="push-settings-form"' in html and 'id="notify-form"' in html
    assert root_client.get(f"{PAGE}?job={10**20}").status_code == 200  # no such job


def test_save_settings_and_refuse_bad_input(
    push_app: Any, root_client: Any, root_dept: int
) -> None:
    from idaas.directory import service

    department = service.create_department("admin:1", name="Sales")
    form = {"enabled": "y", "source_department_id": str(department.id), "disabled": "keep"}
    form |= {"root_dept_id": str(root_dept), "mapping": "[]"}
    assert root_client.post(PAGE, data=form).status_code == 302
    saved = _settings(push_app)
    assert saved["enabled"] and saved["root_dept_id"] == root_dept and saved["disabled"] == "keep"
    for bad, field in (
        ({"root_dept_id": "abc"}, "root_dept_id"),
        ({"source_department_id": "999999"}, "source_department_id"),
        ({"mapping": "[{"}, "mapping"),
    ):
        answer = root_client.post(PAGE, data={**form, "disabled": "delete", **bad})
        assert answer.status_code == 422 and f'id="{field}-error"' in answer.get_data(as_text=True)
        assert _settings(push_app)["disabled"] == "keep"  # nothing changed


def test_test_dry_run_and_full_push(
    push_app: Any, root_client: Any, hq: Any, sandbox: Any, root_dept: int
) -> None:
    from idaas.directory import service

    service.create_department("admin:1", name="Finance", parent_id=hq.id)
    tested = root_client.post(f"{PAGE}/test").get_data(as_text=True)
    assert 'id="push-test-result"' in tested and "✗" not in tested
    planned = root_client.post(f"{PAGE}/dry-run").get_data(as_text=True)
    assert 'id="push-plan-items"' in planned and "Finance" in planned
    assert "Finance" not in dt_children(sandbox, root_dept)  # a dry run changes nothing
    started = root_client.post(f"{PAGE}/sync")
    job_id = int(re.search(r"job=(\d+)", started.location).group(1))
    assert "data-job-url" in root_client.get(started.location).get_data(as_text=True)
    drain(push_app)
    assert "Finance" in dt_children(sandbox, root_dept)
    done = root_client.get(f"/api/v1/jobs/{job_id}").get_json()
    assert done["status"] == "succeeded"


def test_push_needs_settings_first(root_client: Any, push_app: Any) -> None:
    from idaas.events.models import Job
    from idaas.extensions import db

    answer = root_client.post(f"{PAGE}/sync")
    assert answer.status_code == 422 and 'id="push-problem"' in answer.get_data(as_text=True)
    db.session.rollback()
    assert db.session.query(Job).count() == 0


def test_notification_events(push_app: Any, root_client: Any) -> None:
    from idaas.dingtalk import connections
    from idaas.dingtalk.notify import settings as notify
    from idaas.extensions import db

    answer = root_client.post(
        "/admin/dingtalk/corp/notifications", data={"events": ["password_reset", "bogus"]}
    )
    assert answer.status_code == 422 and 'id="events-error"' in answer.get_data(as_text=True)
    ok = root_client.post(
        "/admin/dingtalk/corp/notifications",
        data={"events": ["password_reset", "account_disabled"]},
    )
    db.session.rollback()
    assert ok.status_code == 302  # the sandbox connection has its agent id
    assert notify.events_of(connections.require("corp")) == ["account_disabled", "password_reset"]
    page = root_client.get(PAGE).get_data(as_text=True)
    assert 'id="event-password_reset" checked' in page
