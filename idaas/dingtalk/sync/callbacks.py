"""`/callbacks/dingtalk/<connection>`: DingTalk's HTTP push (§6.2, §6.3).

Verify the signature, the timestamp window, the owner key and replay; decrypt; store the event;
answer the encrypted `success` (DingTalk waits 1.5 s at most); apply it afterwards.
Refusals are audited and change nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from idaas.dingtalk.crypto import CallbackCrypto, CallbackCryptoError, CallbackVerifier
from idaas.dingtalk.sync import events, settings

bp = Blueprint("dingtalk_callbacks", __name__)


class _NoReplayCache:
    """Replay is checked in the database (shared by every process), not in memory."""

    def check_and_add(self, timestamp: str, nonce: str, now: float) -> bool:
        """Always new here; `events.store` refuses a seen (timestamp, nonce)."""
        return True


def _refuse(conn_id: Any, name: str, reason: str, status: int = 403) -> tuple[Response, int]:
    events.record_refused_push(name, conn_id, reason)
    return jsonify({"error": reason}), status


@bp.post("/callbacks/dingtalk/<name>")
def callback(name: str) -> Any:
    """Receive one DingTalk push: verify, store, answer the encrypted success (§6.2); the job
    that applies it is queued once the answer is sent."""
    found = settings.with_connection(name)
    if found is None:
        return jsonify({"error": "unknown connection"}), 404
    conn, row = found
    crypto = CallbackCrypto(
        row.callback_token or "", settings.aes_key(row), settings.owner_key(conn, row)
    )
    verifier = CallbackVerifier(
        crypto,
        window=float(current_app.config["DINGTALK_CALLBACK_WINDOW"]),
        replay_cache=_NoReplayCache(),
    )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refuse(conn.id, name, "the body is not a JSON object", 400)
    try:
        payload = verifier.open(request.args, body)
    except CallbackCryptoError as error:
        return _refuse(conn.id, name, type(error).__name__)
    timestamp = str(request.args.get("timestamp") or request.args.get("timeStamp") or "")
    nonce = str(request.args.get("nonce") or "")
    try:
        stored = events.store(
            name, "http", payload, replay_key=f"{timestamp}:{nonce}"[:96], queue=False
        )
    except events.Replayed:
        return _refuse(conn.id, name, "ReplayedCallback")
    response = jsonify(verifier.reply("success"))
    if stored:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        response.call_on_close(lambda: events.apply_soon(app, name))
    return response
