"""The `webhook` target type: POST change events as JSON to configured URLs.

`EVENTS_WEBHOOKS` is a list of `{"name", "url", "events": ["account.*"], "secret", "origin"}`.
Each POST carries the delivery's stable id (`Idempotency-Key`, also in the body) and, with a
secret, `X-Idaas-Signature: sha256=<hex HMAC of the body>`. 2xx is success; 429/503 with
`Retry-After` wait that long; 408, 425, 429 and 5xx and network errors retry with backoff;
any other 4xx dead-letters at once.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import hmac
import json
import ssl
import threading
import weakref
from typing import Any

import httpx
from flask import current_app

from idaas.events import targets
from idaas.events.models import ChangeEvent, Delivery

NAME = "webhook"
RETRYABLE = {408, 425, 429}
_local = threading.local()


def configured() -> list[dict[str, Any]]:
    """The configured webhooks."""
    value = current_app.config["EVENTS_WEBHOOKS"]
    if isinstance(value, str):
        value = json.loads(value)
    return [dict(item) for item in value]


def _interested(event: ChangeEvent) -> list[targets.Target]:
    event_type = f"{event.object_type}.{event.action}"
    return [
        targets.Target(key=str(hook["name"]), origin=hook.get("origin"))
        for hook in configured()
        if any(fnmatch.fnmatchcase(event_type, p) for p in hook.get("events") or ["*"])
    ]


class _ThreadClient:
    """A thread's HTTP client, closed when the thread ends (its keep-alive sockets with it)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        weakref.finalize(self, client.close)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (CA bundle loaded once) for every thread's client: it is costly to build."""
    return httpx.create_ssl_context()


def delivery_client() -> httpx.Client:
    """This thread's HTTP client for outbound deliveries (a kept-alive pool; no redirects)."""
    holder = getattr(_local, "holder", None)
    if holder is None:
        timeout = float(current_app.config["EVENTS_DELIVERY_TIMEOUT"])
        holder = _local.holder = _ThreadClient(
            httpx.Client(timeout=timeout, follow_redirects=False, verify=_tls())
        )
    return holder.client


def body(delivery: Delivery) -> dict[str, Any]:
    """The JSON document POSTed for one delivery."""
    payload = delivery.payload or {}
    return {
        "id": delivery.uid,
        "type": f"{delivery.object_type}.{delivery.action}",
        "object": {"type": delivery.object_type, "id": delivery.object_id},
        "origin": delivery.origin,
        "version": payload.get("version"),
        "changes": payload.get("changes") or {},
        "coalesced": delivery.coalesced,
        "attempt": delivery.attempts,
    }


def deliver(delivery: Delivery) -> None:
    """POST one delivery to its webhook; raise a typed failure unless it answered 2xx."""
    hook = next((h for h in configured() if str(h["name"]) == delivery.target_key), None)
    if hook is None:
        raise targets.PermanentFailure(f"webhook {delivery.target_key!r} is not configured")
    data = json.dumps(body(delivery), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": delivery.uid}
    if hook.get("secret"):
        digest = hmac.new(str(hook["secret"]).encode(), data, hashlib.sha256).hexdigest()
        headers["X-Idaas-Signature"] = f"sha256={digest}"
    try:
        response = delivery_client().post(str(hook["url"]), content=data, headers=headers)
    except httpx.TimeoutException as error:
        raise targets.TemporaryFailure(f"timed out: {type(error).__name__}") from None
    except httpx.HTTPError as error:
        raise targets.TemporaryFailure(f"network error: {type(error).__name__}") from None
    raise_for_answer(response)


def raise_for_answer(response: httpx.Response) -> None:
    """Turn a non-2xx answer into RetryLater, TemporaryFailure or PermanentFailure."""
    status = response.status_code
    if 200 <= status < 300:
        return
    answer = response.text[:300]
    retry_after = targets.retry_after_seconds(response.headers.get("Retry-After"))
    if retry_after is not None and status in (429, 503):
        raise targets.RetryLater(retry_after, f"HTTP {status}", status=status, answer=answer)
    if status >= 500 or status in RETRYABLE:
        raise targets.TemporaryFailure(f"HTTP {status}", status=status, answer=answer)
    raise targets.PermanentFailure(f"HTTP {status}", status=status, answer=answer)


def init_app() -> None:
    """Register the webhook target type."""
    targets.register(
        targets.TargetType(
            name=NAME, events=frozenset({"*"}), targets=_interested, deliver=deliver, by_kind=True
        )
    )
