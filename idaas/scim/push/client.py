"""HTTP to one SCIM push target: authentication, the request log, and answers as failures.

Auth: none, Basic, a static bearer token, or OAuth2 client credentials against the target's
token URL (RFC 6749 §4.4). A client-credentials token is cached per process until shortly
before it expires and fetched again on a 401 (every process holds its own valid token, so
several workers need no shared cache). Secrets come from the sealed column and are never
logged: the request log keeps method, path and status, and the target's error text.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from idaas.events import targets, webhooks
from idaas.scim.push.models import ProvisioningTarget
from idaas.security import secretbox

SCIM_JSON = "application/scim+json"
_tokens: dict[tuple[int, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


@dataclass
class LogEntry:
    """One request to the target, for the per-target delivery log (never a secret)."""

    operation: str
    request: str
    status: int | None
    error: str | None


def secret_of(target: ProvisioningTarget) -> str | None:
    """The target's decrypted secret (password, bearer token or client secret), if any."""
    return secretbox.decrypt(target.secret_encrypted) if target.secret_encrypted else None


def forget_token(target: ProvisioningTarget) -> None:
    """Drop the cached client-credentials token of `target` (after a 401 or a settings change)."""
    with _tokens_lock:
        for key in [k for k in _tokens if k[0] == target.id]:
            del _tokens[key]


def _oauth_token(target: ProvisioningTarget) -> str:
    key = (target.id, target.secret_encrypted or "")
    with _tokens_lock:
        cached = _tokens.get(key)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    auth = target.auth or {}
    data = {"grant_type": "client_credentials"}
    if auth.get("scope"):
        data["scope"] = str(auth["scope"])
    try:
        response = webhooks.delivery_client().post(
            str(auth.get("token_url")),
            data=data,
            auth=(str(auth.get("client_id") or ""), secret_of(target) or ""),
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as error:
        raise targets.TemporaryFailure(f"token endpoint: {type(error).__name__}") from None
    if response.status_code != 200:
        failure = (
            targets.PermanentFailure
            if response.status_code in (400, 401)
            else targets.TemporaryFailure
        )
        raise failure(
            f"token endpoint answered HTTP {response.status_code}",
            status=response.status_code,
            answer=response.text,
        )
    body = response.json()
    token = str(body.get("access_token") or "")
    lifetime = float(body.get("expires_in") or 300)
    with _tokens_lock:
        _tokens[key] = (token, time.monotonic() + max(5.0, lifetime - 30))
    return token


def _auth_headers(target: ProvisioningTarget) -> dict[str, str]:
    kind = target.auth_type
    if kind == "bearer":
        return {"Authorization": f"Bearer {secret_of(target) or ''}"}
    if kind == "oauth2":
        return {"Authorization": f"Bearer {_oauth_token(target)}"}
    if kind == "basic":
        pair = f"{(target.auth or {}).get('username') or ''}:{secret_of(target) or ''}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return {}


@dataclass
class Session:
    """Requests to one target on behalf of one delivery or sync step, and their log."""

    target: ProvisioningTarget
    delivery_uid: str | None = None
    log: list[LogEntry] = field(default_factory=list)
    #: departments that pushed accounts left or joined (their member lists are due again)
    regrouped: set[int] = field(default_factory=set)

    def url(self, path: str) -> str:
        """The absolute URL of a path under the target's base URL."""
        return self.target.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one request (again once with a fresh token after a 401); log it; no raising."""
        for attempt in (1, 2):
            headers = {"Accept": SCIM_JSON, **_auth_headers(self.target)}
            if json is not None:
                headers["Content-Type"] = SCIM_JSON
            if self.delivery_uid:
                headers["Idempotency-Key"] = self.delivery_uid
            summary = f"{method} {path}"[:255]
            try:
                response = webhooks.delivery_client().request(
                    method, self.url(path), json=json, params=params, headers=headers
                )
            except httpx.HTTPError as error:
                self.log.append(LogEntry(operation, summary, None, type(error).__name__))
                raise targets.TemporaryFailure(f"{summary}: {type(error).__name__}") from None
            failed = response.status_code >= 400
            self.log.append(
                LogEntry(
                    operation,
                    summary,
                    response.status_code,
                    error_text(response) if failed else None,
                )
            )
            if response.status_code == 401 and self.target.auth_type == "oauth2" and attempt == 1:
                forget_token(self.target)
                continue
            return response
        return response


def error_text(response: httpx.Response) -> str:
    """The target's own words about a failure: the SCIM error `detail`, else the body start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])[:300]
    return response.text[:300]
