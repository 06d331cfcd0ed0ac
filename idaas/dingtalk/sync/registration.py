"""Registering the HTTP callback: the console way (paste URL, token, AES key) or the legacy API."""

from __future__ import annotations

from flask import current_app, url_for

from idaas import audit
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import Conflict
from idaas.dingtalk.sync import clients, events, settings
from idaas.extensions import db

TAGS = sorted(events.USER_EVENTS | events.DEPT_EVENTS | events.ORG_EVENTS)


def callback_url(conn: DingTalkConnection) -> str:
    """The URL to give DingTalk: the issuer plus `/callbacks/dingtalk/<connection>` (§6.1)."""
    path = url_for("dingtalk_callbacks.callback", name=conn.name, _external=False)
    return f"{current_app.config['ISSUER'].rstrip('/')}{path}"


def register_legacy(origin: str, conn: DingTalkConnection, url: str | None = None) -> str:
    """`register_call_back` (update when one exists); DingTalk checks the URL first (§6.1 B).

    The corp-level push is encrypted with the corpId as owner key, so the setting follows.
    """
    row = settings.get(conn)
    previous = row.callback_owner
    row.callback_owner = "corp"
    db.session.commit()
    target = url or callback_url(conn)
    try:
        with clients.http_client() as http:
            client = clients.for_sync(conn, http)
            try:
                client.register_callback(
                    target, row.callback_token or "", settings.aes_key(row), TAGS
                )
            except Conflict:
                client.update_callback(
                    target, row.callback_token or "", settings.aes_key(row), TAGS
                )
    except Exception:
        row = settings.get(conn)
        row.callback_owner = previous
        db.session.commit()
        raise
    audit.record(
        origin,
        "dingtalk.sync.callback_registered",
        f"dingtalk_connection:{conn.id}",
        details={"url": target, "mode": "register_call_back"},
    )
    db.session.commit()
    return target
