"""DingTalk corp-level HTTP callback registration (事件订阅, "HTTP" push mode).

DingTalk docs (under https://open.dingtalk.com/document/development/):
  register-callback-events.
The callback crypto is `idaas.dingtalk.crypto`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from idaas.dingtalk.client.transport import DingTalkTransport, flag


class CallbacksApi(DingTalkTransport):
    """Register, read, replace and remove the corp's callback; list failed pushes."""

    def register_callback(self, url: str, token: str, aes_key: str, tags: Iterable[str]) -> None:
        """Register the corp-level callback; DingTalk sends check_url before answering."""
        self.oapi(
            "POST",
            "call_back/register_call_back",
            json={"call_back_tag": list(tags), "token": token, "aes_key": aes_key, "url": url},
        )

    def update_callback(self, url: str, token: str, aes_key: str, tags: Iterable[str]) -> None:
        """Replace the corp-level callback registration."""
        self.oapi(
            "POST",
            "call_back/update_call_back",
            json={"call_back_tag": list(tags), "token": token, "aes_key": aes_key, "url": url},
        )

    def get_callback(self) -> dict[str, Any]:
        """The corp-level callback registration {call_back_tag, token, aes_key, url}."""
        body = self.oapi("GET", "call_back/get_call_back")
        return {k: v for k, v in body.items() if k not in {"errcode", "errmsg", "request_id"}}

    def delete_callback(self) -> None:
        """Remove the corp-level callback registration."""
        self.oapi("GET", "call_back/delete_call_back")

    def failed_callbacks(self) -> dict[str, Any]:
        """Events DingTalk failed to push: {has_more, failed_list}."""
        body = self.oapi("GET", "call_back/get_call_back_failed_result")
        return {"has_more": flag(body.get("has_more")), "failed_list": body.get("failed_list", [])}
