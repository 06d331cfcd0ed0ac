"""API clients and integration requests: the only writer of their tables.

Secrets are generated here, returned to the caller exactly once, and stored as SHA-256 only.
Every change is audited in the same transaction as the change itself.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select, update

from idaas import audit
from idaas.applications.audited import delete_with_audit
from idaas.applications.errors import AlreadyDecided, ClientNotFound, InvalidInput
from idaas.applications.models import (
    ApiClient,
    IntegrationRequest,
    hash_secret,
    request_expiry_cutoff,
)
from idaas.applications.scopes import unknown_scopes
from idaas.extensions import db, utcnow

CLIENT_ID_PREFIX = "ak_"
REFERENCE_PREFIX = "ir_"
SECRET_BYTES = 32
LAST_USED_RESOLUTION = timedelta(minutes=1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_client_id() -> str:
    """A fresh, URL- and Basic-auth-safe client identifier (the AppKey)."""
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def new_reference() -> str:
    """An unguessable integration request reference (never starts with `-`: CLI-safe)."""
    return REFERENCE_PREFIX + secrets.token_urlsafe(24)


def new_secret() -> str:
    """A fresh client secret with 256 bits of entropy (the AppSecret)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def _text(
    fields: dict[str, Any], name: str, limit: int, errors: dict[str, str], required: bool = False
) -> str | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = gettext("This field is required.")
        return None
    if not isinstance(value, str):
        errors[name] = gettext("Must be text.")
        return None
    value = value.strip()
    if len(value) > limit:
        errors[name] = gettext("At most %(limit)s characters.", limit=limit)
    elif _CONTROL.search(value) and name != "reason":
        errors[name] = gettext("Must not contain control characters.")
    elif "\x00" in value:
        errors[name] = gettext("Must not contain NUL characters.")
    return value


def _scopes(value: Any, errors: dict[str, str], field: str = "scopes") -> list[str]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) for s in value):
        errors[field] = gettext("Must be a list of scopes.")
        return []
    scopes = sorted(set(value))
    if not scopes:
        errors[field] = gettext("Grant at least one scope.")
    unknown = unknown_scopes(scopes)
    if unknown:
        errors[field] = gettext("Unknown scope: %(scopes)s", scopes=", ".join(unknown[:5]))
    return scopes


def _validated(
    fields: dict[str, tuple[Any, int]], required: set[str], scopes: Any
) -> tuple[dict[str, str | None], list[str]]:
    """The text fields cleaned to their length limits, and the scopes; InvalidInput lists every
    problem at once."""
    errors: dict[str, str] = {}
    values = {name: value for name, (value, _) in fields.items()}
    clean = {
        name: _text(values, name, limit, errors, required=name in required)
        for name, (_, limit) in fields.items()
    }
    clean_scopes = _scopes(scopes, errors)
    if errors:
        raise InvalidInput(errors)
    return clean, clean_scopes


def _client_details(client: ApiClient) -> dict[str, Any]:
    return {"client_id": client.client_id, "name": client.name, "scopes": client.scopes}


# -- API clients --------------------------------------------------------------------------


def create_client(
    origin: str,
    *,
    name: str,
    scopes: Iterable[str],
    note: str | None = None,
    owner: str | None = None,
) -> tuple[ApiClient, str]:
    """Create an enabled API client; return it and its secret (shown once, never stored)."""
    client, secret = _add_client(origin, name=name, scopes=scopes, note=note, owner=owner)
    db.session.commit()
    return client, secret


def _add_client(
    origin: str, *, name: str, scopes: Iterable[str], note: str | None, owner: str | None
) -> tuple[ApiClient, str]:
    clean, clean_scopes = _validated(
        {"name": (name, 128), "note": (note, 1024), "owner": (owner, 128)},
        {"name"},
        list(scopes) if not isinstance(scopes, str) else scopes,
    )
    secret = new_secret()
    client = ApiClient(
        client_id=new_client_id(),
        name=clean["name"],
        note=clean["note"],
        owner=clean["owner"],
        scopes=clean_scopes,
        secret_hash=hash_secret(secret),
        enabled=True,
        created_by=origin[:128],
    )
    db.session.add(client)
    db.session.flush()
    audit.record(
        origin,
        "api_client.created",
        f"api_client:{client.client_id}",
        details=_client_details(client),
    )
    return client, secret


def get_client(client_id: str) -> ApiClient:
    """An API client by its client id, or ClientNotFound."""
    client = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None:
        raise ClientNotFound(gettext("API client %(id)s does not exist.", id=client_id))
    return client


def find_enabled_client(client_id: str) -> ApiClient | None:
    """The enabled API client with that id, or None (unknown and disabled look alike)."""
    if not client_id or len(client_id) > 64 or "\x00" in client_id:  # PostgreSQL refuses NUL
        return None
    return db.session.scalar(
        select(ApiClient).where(ApiClient.client_id == client_id, ApiClient.enabled.is_(True))
    )


def list_clients() -> list[ApiClient]:
    """All API clients, oldest first."""
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.id)))


def rotate_secret(origin: str, client_id: str) -> tuple[ApiClient, str]:
    """Replace the secret (the old one stops working at once) and refuse older tokens."""
    client = get_client(client_id)
    secret = new_secret()
    now = utcnow()
    client.secret_hash = hash_secret(secret)
    client.secret_rotated_at = now
    client.token_generation += 1
    client.version += 1
    audit.record(
        origin,
        "api_client.secret_rotated",
        f"api_client:{client.client_id}",
        details=_client_details(client),
    )
    db.session.commit()
    return client, secret


def set_enabled(origin: str, client_id: str, enabled: bool) -> ApiClient:
    """Enable or disable a client; disabling also invalidates every token it holds."""
    client = get_client(client_id)
    if client.enabled == enabled:
        return client
    client.enabled = enabled
    if not enabled:
        client.token_generation += 1
    client.version += 1
    action = "api_client.enabled" if enabled else "api_client.disabled"
    audit.record(origin, action, f"api_client:{client.client_id}", details=_client_details(client))
    db.session.commit()
    return client


def delete_client(origin: str, client_id: str) -> None:
    """Delete a client; its tokens stop working because the client no longer exists."""
    client = get_client(client_id)
    details = _client_details(client)
    delete_with_audit(origin, client, "api_client.deleted", f"api_client:{client_id}", details)


def token_client(client_id: str, generation: int) -> ApiClient | None:
    """The client behind an access token, if it is enabled and the token was issued since
    its last rotation or disabling (how a disabled client's tokens stop working)."""
    client = find_enabled_client(client_id)
    if client is None or client.token_generation != generation:
        return None
    return client


def record_token_issued(client: ApiClient, scope: str, jti: str) -> None:
    """Audit an issued access token and remember (to the minute) when the client was used."""
    now = utcnow()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        client.last_used_at = now
    audit.record(
        f"api:{client.client_id}",
        "oauth2.token_issued",
        f"api_client:{client.client_id}",
        details={"grant_type": "client_credentials", "scope": scope, "jti": jti},
    )
    db.session.commit()


def record_token_refused(client_id: str | None, error: str) -> None:
    """Audit a refused token request (bad credentials, disabled client, invalid scope)."""
    db.session.rollback()
    presented = (client_id or "")[:64]
    known = None
    if presented and not _CONTROL.search(presented):
        known = db.session.scalar(
            select(ApiClient.client_id).where(ApiClient.client_id == presented)
        )
        if known is None:
            from idaas.applications.models import Application

            known = db.session.scalar(
                select(Application.client_id).where(Application.client_id == presented)
            )
    from flask import has_request_context, request

    grant_type = "client_credentials"
    if has_request_context():
        grant_type = str(request.form.get("grant_type") or "")[:32] or grant_type
        if _CONTROL.search(grant_type):
            grant_type = "invalid"
    details = {"grant_type": grant_type, "error": error}
    if presented and known is None:
        details["unknown_client_id"] = _CONTROL.sub("?", presented)
    audit.record(
        f"api:{known}" if known else "anonymous",
        "oauth2.token_refused",
        f"api_client:{known}" if known else None,
        outcome="failure",
        details=details,
    )
    db.session.commit()


# -- integration requests ------------------------------------------------------------------


def submit_request(
    *, name: str, contact: str, scopes: Iterable[str], reason: str
) -> IntegrationRequest:
    """Record a third party's request for access; it waits for an administrator."""
    fields = {"name": (name, 128), "contact": (contact, 254), "reason": (reason, 2000)}
    clean, clean_scopes = _validated(fields, set(fields), scopes)
    request = IntegrationRequest(
        reference=new_reference(),
        name=clean["name"],
        contact=clean["contact"],
        scopes=clean_scopes,
        reason=clean["reason"],
        status="pending",
    )
    db.session.add(request)
    db.session.flush()
    audit.record(
        "anonymous",
        "integration_request.submitted",
        f"integration_request:{request.id}",
        details={"name": clean["name"], "contact": clean["contact"], "scopes": clean_scopes},
    )
    db.session.commit()
    return request


def get_request(reference: str) -> IntegrationRequest:
    """An integration request by its opaque reference, or ClientNotFound."""
    request = None
    if reference and len(reference) <= 64:
        request = db.session.scalar(
            select(IntegrationRequest).where(IntegrationRequest.reference == reference)
        )
    if request is None:
        raise ClientNotFound(gettext("No integration request has this reference."))
    return request


def list_requests(status: str | None = None) -> list[IntegrationRequest]:
    """Integration requests, oldest first, optionally only those with `status` (as it is now:
    a pending request past its lifetime is `expired`)."""
    query = select(IntegrationRequest).order_by(IntegrationRequest.id)
    if status in ("pending", "expired"):
        young = IntegrationRequest.created_at >= request_expiry_cutoff()
        query = query.where(
            IntegrationRequest.status == "pending", young if status == "pending" else ~young
        )
    elif status:
        query = query.where(IntegrationRequest.status == status)
    return list(db.session.scalars(query))


def count_pending() -> int:
    """Integration requests waiting for a decision (expired ones are not waiting)."""
    return int(
        db.session.scalar(
            select(func.count()).where(
                IntegrationRequest.status == "pending",
                IntegrationRequest.created_at >= request_expiry_cutoff(),
            )
        )
        or 0
    )


_NOT_PENDING = {
    "approved": lazy_gettext("This integration request was already approved."),
    "rejected": lazy_gettext("This integration request was already rejected."),
    "expired": lazy_gettext(
        "This integration request expired before anyone decided; the requester must submit it "
        "again."
    ),
}


def _pending(reference: str) -> IntegrationRequest:
    request = get_request(reference)
    if request.current_status != "pending":
        raise AlreadyDecided(str(_NOT_PENDING[request.current_status]))
    return request


def _decide(request: IntegrationRequest, origin: str, status: str, **values: Any) -> None:
    """Take the pending request for one decision: a conditional UPDATE, so of two admins
    deciding at once exactly one wins (the other gets AlreadyDecided, nothing written)."""
    taken = db.session.execute(
        update(IntegrationRequest)
        .where(
            IntegrationRequest.id == request.id,
            IntegrationRequest.status == "pending",
            IntegrationRequest.created_at >= request_expiry_cutoff(),
        )
        .values(status=status, decided_by=origin[:128], decided_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        db.session.refresh(request)
        raise AlreadyDecided(str(_NOT_PENDING[request.current_status]))
    db.session.refresh(request)


def approve_request(
    origin: str, reference: str, *, scopes: Iterable[str] | None = None, note: str | None = None
) -> tuple[IntegrationRequest, ApiClient, str]:
    """Approve: create the API client (optionally with fewer scopes) and return its secret."""
    request = _pending(reference)
    granted = list(request.scopes) if scopes is None else list(scopes)
    errors: dict[str, str] = {}
    granted = _scopes(granted, errors)
    beyond = sorted(set(granted) - set(request.scopes or []))
    if beyond and not errors:
        # Approval may narrow a request, never widen it (issue 11 finding 13).
        errors["scopes"] = gettext(
            "Not requested: %(scopes)s. Approve a subset of the request.", scopes=" ".join(beyond)
        )
    if errors:
        raise InvalidInput(errors)
    _decide(request, origin, "approved")
    client, secret = _add_client(
        origin,
        name=request.name,
        scopes=granted,
        owner=request.contact[:128],
        note=note or f"Integration request {request.id}",
    )
    request.api_client_id = client.id
    audit.record(
        origin,
        "integration_request.approved",
        f"integration_request:{request.id}",
        details={"client_id": client.client_id, "scopes": granted},
    )
    db.session.commit()
    return request, client, secret


def reject_request(origin: str, reference: str, *, reason: str) -> IntegrationRequest:
    """Reject with a reason the requester can read."""
    request = _pending(reference)
    errors: dict[str, str] = {}
    clean_reason = _text({"reason": reason}, "reason", 1024, errors, required=True)
    if errors:
        raise InvalidInput(errors)
    _decide(request, origin, "rejected", decision_reason=clean_reason)
    audit.record(
        origin,
        "integration_request.rejected",
        f"integration_request:{request.id}",
        details={"reason": clean_reason},
    )
    db.session.commit()
    return request


# -- applications (OIDC relying parties) ---------------------------------------------------


def launch_url_for(
    client_id: str, *, login_hint: str | None = None, target_link_uri: str | None = None
) -> str | None:
    """IdP-initiated launch URL of an application (OIDC Core §4); see `apps.launch_url_for`."""
    from idaas.applications import apps

    return apps.launch_url_for(client_id, login_hint=login_hint, target_link_uri=target_link_uri)
