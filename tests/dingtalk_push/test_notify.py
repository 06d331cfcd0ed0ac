"""DingTalk work notifications for account events (issue 16 item 4), over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import Delivery
from idaas.extensions import db
from tests.dingtalk_push.conftest import drain, link


@pytest.fixture
def person(push_app: Any, sandbox: Any) -> tuple[Any, str]:
    """A Chinese-speaking account linked to a sandbox person."""
    userid = sorted(sandbox.state.users)[0]
    account = service.create_account(
        "admin:1", username="wang", display_name="Wang", locale="zh_CN"
    )
    return account, userid


def test_enabled_events_reach_the_person_in_their_language(
    push_app: Any, sandbox: Any, conn: Any, person: Any
) -> None:
    from idaas.dingtalk.notify import settings

    account, userid = person
    settings.save("admin:1", conn, ["account_linked", "account_disabled", "password_reset"])
    link(account, sandbox, userid)
    service.set_password("admin:1", account.id, "Correct-Horse-42-Battery")
    assert sandbox.state.notifications == []  # the request never waits for DingTalk
    drain(push_app)
    sent = sandbox.state.notifications
    assert [n["userid_list"] for n in sent] == [[userid], [userid]]
    texts = [n["msg"]["text"]["content"] for n in sent]
    assert "钉钉" in texts[0] and "密码" in texts[1]


def test_disabled_events_send_nothing_and_failures_are_retried(
    push_app: Any, sandbox: Any, conn: Any, person: Any
) -> None:
    from idaas.dingtalk.notify import settings

    account, userid = person
    settings.save("admin:1", conn, ["account_disabled"])
    link(account, sandbox, userid)  # account_linked is not enabled: nothing is sent for it
    sandbox.post(
        "/faults",
        {"errors": [{"endpoint": "topapi/message/corpconversation/asyncsend_v2", "errcode": -1}]},
    )
    service.set_status("admin:1", account.id, "disabled")
    from idaas.events.worker import Worker

    Worker(push_app).deliver_once()
    db.session.expire_all()
    [row] = db.session.scalars(select(Delivery).where(Delivery.target_type == "dingtalk.notify"))
    assert (row.status, row.payload["event"]) == ("pending", "account_disabled")
    sandbox.control.delete("/faults")
    db.session.execute(
        Delivery.__table__.update().values(next_attempt_at=row.created_at)  # due now
    )
    db.session.commit()
    drain(push_app)
    [sent] = sandbox.state.notifications
    assert sent["userid_list"] == [userid]
    assert "停用" in sent["msg"]["text"]["content"] or "禁用" in sent["msg"]["text"]["content"]


def test_unknown_events_are_refused(push_app: Any, conn: Any) -> None:
    from idaas.dingtalk.notify import settings
    from idaas.directory.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as raised:
        settings.save("admin:1", conn, ["account_linked", "birthday"])
    assert "birthday" in raised.value.fields["events"]
    assert settings.events_of(conn) == []


def test_two_resets_on_one_day_are_both_told(
    push_app: Any, sandbox: Any, conn: Any, person: Any
) -> None:
    """DingTalk drops the same content to the same person within a day (143106): each message
    carries its event's time, so the second reset is not silently refused."""
    import time_machine

    from idaas.dingtalk.notify import settings

    account, userid = person
    settings.save("admin:1", conn, ["password_reset"])
    link(account, sandbox, userid)
    with time_machine.travel("2026-12-02 09:00:00Z", tick=False):
        service.set_password("admin:1", account.id, "Correct-Horse-42-Battery")
        drain(push_app)
    link(account, sandbox, userid)  # an admin reset unlinks (policy): link again
    with time_machine.travel("2026-12-02 09:05:00Z", tick=False):
        service.set_password("admin:1", account.id, "Other-Horse-43-Battery")
        drain(push_app)
    first, second = sandbox.state.notifications
    assert first["recipients"] == second["recipients"] == [userid]
    assert "09:00:00" in first["msg"]["text"]["content"]
    assert "09:05:00" in second["msg"]["text"]["content"]


def test_the_sandbox_refuses_the_same_content_twice_a_day(
    push_app: Any, sandbox: Any, conn: Any
) -> None:
    import httpx

    userid = sorted(sandbox.state.users)[0]
    msg = {"msgtype": "text", "text": {"content": "same"}}
    with httpx.Client(timeout=10, trust_env=False) as http:
        client = sandbox.client(http)
        client.send_work_notification(msg, userid_list=[userid])
        [task] = client.send_work_notification(msg, userid_list=[userid])
        result = client.get_send_result(task)
    assert result["forbidden_user_id_list"] == [userid]
    assert result["forbidden_list"][0]["code"] == "143106"
