"""DingTalk Stream mode: opening a connection (the socket is `idaas.dingtalk.stream`).

DingTalk docs (under https://open.dingtalk.com/document/development/):
  configure-stream-push.
The protocol as implemented by github.com/open-dingtalk/dingtalk-stream-sdk-python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from idaas.dingtalk.client.transport import DingTalkTransport
from idaas.dingtalk.errors import DingTalkError


class StreamApi(DingTalkTransport):
    """`connections/open`: the endpoint and single-use ticket of one Stream socket."""

    def open_stream_connection(
        self,
        subscriptions: Iterable[Mapping[str, str]] = ({"type": "EVENT", "topic": "*"},),
        *,
        ua: str = "idaas-stream/0.1",
        local_ip: str = "",
    ) -> dict[str, str]:
        """`connections/open`: a single-use {endpoint, ticket} for one Stream socket.

        Needs no access token: the body carries the AppKey/AppSecret. The Stream socket itself is
        `idaas.dingtalk.stream.StreamConsumer`'s job.
        """
        body: dict[str, Any] = {
            "clientId": self.app.app_key,
            "clientSecret": self.app.app_secret,
            "subscriptions": [dict(s) for s in subscriptions],
            "ua": ua,
        }
        if local_ip:
            body["localIp"] = local_ip
        # Bad credentials raise InvalidCredentials (400 invalidClientIdOrSecret).
        answer = self.api("POST", "v1.0/gateway/connections/open", json=body, auth=False)
        endpoint, ticket = answer.get("endpoint"), answer.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise DingTalkError(
                f"connections/open answered without endpoint and ticket: {answer!r:.200}",
                api="v1.0/gateway/connections/open",
            )
        return {"endpoint": endpoint, "ticket": ticket}
