"""What push maps: account fields -> DingTalk user fields, through the shared mapping engine."""

from __future__ import annotations

from typing import Any

import pytest

from idaas.dingtalk.push.fields import FieldsRefused, dingtalk_mobile, user_fields, validate
from idaas.directory import service
from tests.dingtalk_push.conftest import drain, dt_user


def _account(**fields: Any) -> Any:
    values = {"username": "li", "display_name": "Li Lei", "mobile": "+8613900000002", **fields}
    return service.create_account("admin:1", **values)


def test_default_rules_map_the_profile(push_app: Any) -> None:
    account = _account(email="li@example.com", employee_number="E7", title="Engineer")
    assert user_fields(account, []) == {
        "name": "Li Lei",
        "mobile": "13900000002",
        "email": "li@example.com",
        "job_number": "E7",
        "title": "Engineer",
    }


def test_mobile_in_dingtalk_form() -> None:
    assert dingtalk_mobile("+8613900000002") == "13900000002"
    assert dingtalk_mobile("+14155552671") == "+1-4155552671"


def test_admin_rules_win_over_the_defaults(push_app: Any) -> None:
    account = _account(employee_number="e7", attributes=None)
    rules = validate(
        [
            {"source": "{employee_number}@corp.example", "target": "org_email"},
            {"source": "employee_number", "target": "job_number", "transform": "uppercase"},
            {"source": "title", "target": "work_place", "transform": "default", "default": "HQ"},
        ]
    )
    fields = user_fields(account, rules)
    assert (fields["org_email"], fields["job_number"], fields["work_place"]) == (
        "e7@corp.example",
        "E7",
        "HQ",
    )


def test_a_refusing_rule_and_a_missing_mobile_are_clear_per_object_errors(push_app: Any) -> None:
    account = _account(mobile=None, employee_number="x1")
    rules = validate(
        [
            {
                "source": "employee_number",
                "target": "job_number",
                "transform": "regex",
                "pattern": "^E[0-9]+$",
            }
        ]
    )
    with pytest.raises(FieldsRefused) as refused:
        user_fields(account, rules)
    by_field = {e["field"]: e["message"] for e in refused.value.errors}
    assert "job_number" in by_field and "mobile number" in by_field["mobile"]


def test_only_dingtalk_user_fields_can_be_targets() -> None:
    with pytest.raises(ValueError, match="unknown target"):
        validate([{"source": "username", "target": "password"}])


def test_a_mapped_field_arrives_in_dingtalk(
    push_app: Any, sandbox: Any, conn: Any, hq: Any
) -> None:
    from idaas.dingtalk.push import settings

    settings.save(
        "admin:1",
        conn,
        {"mapping": [{"source": "{employee_number}@corp.example", "target": "org_email"}]},
    )
    _account(employee_number="E9", memberships=[{"department_id": hq.id, "is_primary": True}])
    drain(push_app)
    user = dt_user(sandbox, "13900000002")
    assert (user.job_number, user.org_email) == ("E9", "E9@corp.example")
