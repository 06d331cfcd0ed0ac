"""DingTalk work notifications (工作通知): asynchronous sends and their results.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  asynchronous-sending-of-enterprise-session-messages,
  gets-the-result-of-sending-messages-asynchronously-to-the-enterprise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from idaas.dingtalk.client.transport import DingTalkTransport, _comma

NOTIFY_MAX_USERS = 100
NOTIFY_MAX_DEPTS = 20


class NotificationsApi(DingTalkTransport):
    """Work notifications in batches, and their per-recipient results."""

    def send_work_notification(
        self,
        msg: Mapping[str, Any],
        userid_list: Iterable[str] = (),
        dept_id_list: Iterable[int] = (),
        to_all_user: bool = False,
        agent_id: int | None = None,
    ) -> list[int]:
        """Send a work notification in batches (<=100 users, 20 depts); return task ids."""
        agent = agent_id or self.app.agent_id
        if agent is None:
            raise ValueError("a work notification needs the app's agent_id")
        users, depts = list(userid_list), list(dept_id_list)
        if not to_all_user and not users and not depts:
            raise ValueError("give userid_list, dept_id_list or to_all_user")
        batches: list[dict[str, Any]] = []
        if to_all_user:
            batches.append({"to_all_user": True})
        for i in range(0, len(users), NOTIFY_MAX_USERS):
            batches.append({"userid_list": _comma(users[i : i + NOTIFY_MAX_USERS])})
        for i in range(0, len(depts), NOTIFY_MAX_DEPTS):
            batches.append({"dept_id_list": _comma(depts[i : i + NOTIFY_MAX_DEPTS])})
        task_ids = []
        for batch in batches:
            payload = {"agent_id": agent, "to_all_user": False, "msg": dict(msg), **batch}
            body = self.oapi("POST", "topapi/message/corpconversation/asyncsend_v2", json=payload)
            task_ids.append(int(body["task_id"]))
        return task_ids

    def get_send_result(self, task_id: int, agent_id: int | None = None) -> dict[str, Any]:
        """The per-recipient result of a send (kept 24 h)."""
        body = self.oapi(
            "POST",
            "topapi/message/corpconversation/getsendresult",
            json={"agent_id": agent_id or self.app.agent_id, "task_id": task_id},
        )
        return dict(body["send_result"])
