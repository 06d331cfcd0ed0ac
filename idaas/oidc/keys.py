"""The key store: JWS signing keys generated on first use into the database.

Each algorithm has at most one `active` key (a partial unique index makes concurrent first
starts safe: the loser re-reads the winner's key). Private parts are stored encrypted with
`security.secretbox`; public parts are plain JWKs. `retired` keys are no longer used to sign
but still verify, so rotation (a later issue) is: add a new active key, mark the old one
retired, and drop retired keys once the longest token lifetime has passed. Adding RS256 is one
entry in `GENERATORS`.

Keys are cached per app for `CACHE_SECONDS`; an unknown `kid` refreshes the public cache at
once (at most every `REFRESH_MIN_SECONDS`), so a key created by another process is picked up.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from idaas import audit
from idaas.extensions import db, utcnow
from idaas.oidc.models import SigningKey
from idaas.security import secretbox

DEFAULT_ALG = "ES256"
CACHE_SECONDS = 300.0
REFRESH_MIN_SECONDS = 10.0
_EXTENSION = "idaas_key_store"


def _generate_es256(kid: str) -> Any:
    """A new P-256 key for ES256 (RFC 7518 §3.4)."""
    return ECKey.generate_key("P-256", {"kid": kid, "alg": "ES256", "use": "sig"}, private=True)


def _generate_rs256(kid: str) -> Any:
    """A new 2048-bit RSA key for RS256 (RFC 7518 §3.3)."""
    return RSAKey.generate_key(2048, {"kid": kid, "alg": "RS256", "use": "sig"}, private=True)


# Algorithm -> key generator.
GENERATORS: dict[str, Callable[[str], Any]] = {"ES256": _generate_es256, "RS256": _generate_rs256}


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    signing: dict[str, tuple[Any, float]] = field(default_factory=dict)
    public: tuple[KeySet, float] | None = None
    last_refresh: float = 0.0


def _cache() -> _Cache:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get(_EXTENSION)
    if cache is None:
        cache = app.extensions.setdefault(_EXTENSION, _Cache())
    return cache


def supported_algorithms() -> list[str]:
    """The JWS algorithms the store can sign and verify with."""
    return sorted(GENERATORS)


def _import_private(row: SigningKey) -> Any:
    return import_key(json.loads(secretbox.decrypt(row.private_jwk_encrypted)))


def _active_row(alg: str) -> SigningKey | None:
    return db.session.scalar(
        select(SigningKey).where(SigningKey.alg == alg, SigningKey.status == "active")
    )


def _new_row(alg: str, status: str, activates_at: datetime | None = None) -> SigningKey:
    kid = secrets.token_urlsafe(12)
    key = GENERATORS[alg](kid)
    return SigningKey(
        kid=kid,
        alg=alg,
        status=status,
        activates_at=activates_at,
        public_jwk=key.as_dict(private=False),
        private_jwk_encrypted=secretbox.encrypt(json.dumps(key.as_dict(private=True))),
    )


def _promote_due(alg: str) -> bool:
    """Make a due `next` key active and retire the old one (rotation's second step)."""
    now = utcnow()
    due = db.session.scalar(
        select(SigningKey)
        .where(SigningKey.alg == alg, SigningKey.status == "next")
        .where(SigningKey.activates_at <= now)
        .order_by(SigningKey.id)
        .limit(1)
    )
    if due is None:
        return False
    old = _active_row(alg)
    if old is not None:
        old.status = "retired"
        old.retired_at = now
        db.session.flush()
    due.status = "active"
    audit.record("system", "oidc.key_activated", f"signing_key:{due.kid}", details={"alg": alg})
    try:
        db.session.commit()
    except IntegrityError:  # another process promoted it first
        db.session.rollback()
    cache = _cache()
    cache.signing.pop(alg, None)
    cache.public = None
    return True


def _scheduled_rotation(alg: str, row: SigningKey) -> None:
    """Start a rotation when the active key is older than KEY_ROTATION_DAYS (0: never)."""
    days = float(current_app.config.get("KEY_ROTATION_DAYS") or 0)
    if days <= 0 or utcnow() - row.created_at < timedelta(days=days):
        return
    pending = db.session.scalar(
        select(SigningKey.id).where(SigningKey.alg == alg, SigningKey.status == "next")
    )
    if pending is None:
        rotate("system", alg)


def ensure_active_key(alg: str = DEFAULT_ALG) -> SigningKey:
    """The active key row for `alg`, generating and storing one the first time."""
    if alg not in GENERATORS:
        raise ValueError(f"unsupported signing algorithm {alg}")
    _promote_due(alg)
    row = _active_row(alg)
    if row is not None:
        _scheduled_rotation(alg, row)
        return row
    row = _new_row(alg, "active")
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _active_row(alg)
        if existing is None:
            raise
        return existing
    _cache().public = None
    return row


def signing_key(alg: str = DEFAULT_ALG) -> Any:
    """The private joserfc key that signs new tokens with `alg` (cached)."""
    cache = _cache()
    cached = cache.signing.get(alg)
    now = time.monotonic()
    if cached and now - cached[1] < CACHE_SECONDS:
        return cached[0]
    row = ensure_active_key(alg)
    key = _import_private(row)
    cache.signing[alg] = (key, now)
    next_at = db.session.scalar(
        select(SigningKey.activates_at).where(SigningKey.alg == alg, SigningKey.status == "next")
    )
    if next_at is not None:  # re-check when the next key is due
        remaining = (next_at - utcnow()).total_seconds()
        cache.signing[alg] = (key, now - CACHE_SECONDS + min(max(remaining, 0.0), CACHE_SECONDS))
    return key


def signing_key_set(alg: str = DEFAULT_ALG) -> KeySet:
    """A one-key set with the active key (joserfc then writes its `kid` into the header)."""
    return KeySet([signing_key(alg)])


def verification_keys(kid: str | None = None) -> KeySet:
    """Public keys that verify tokens (active and retired); refreshed when `kid` is unknown."""
    cache = _cache()
    now = time.monotonic()
    public = cache.public
    fresh = public is not None and now - public[1] < CACHE_SECONDS
    known = public is not None and (kid is None or _has_kid(public[0], kid))
    if fresh and known:
        return public[0]  # type: ignore[index]
    if public is not None and fresh and now - cache.last_refresh < REFRESH_MIN_SECONDS:
        return public[0]
    with cache.lock:
        rows = db.session.scalars(
            select(SigningKey).where(SigningKey.status.in_(("next", "active", "retired")))
        )
        keys = KeySet([import_key(dict(row.public_jwk)) for row in rows])
        cache.public = (keys, now)
        cache.last_refresh = now
    return keys


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def public_jwks() -> dict[str, Any]:
    """The JWK Set document (RFC 7517 §5): next, active and retired (unexpired) keys."""
    ensure_active_key(DEFAULT_ALG)
    expire_retired()
    return dict(verification_keys().as_dict(private=False))


def longest_token_lifetime() -> int:
    """Seconds the longest-lived signed token may stay valid (ID, access, logout tokens)."""
    from idaas.applications.models import Application

    row = db.session.execute(
        select(func.max(Application.id_token_lifetime), func.max(Application.access_token_lifetime))
    ).one()
    per_app = max(int(row[0] or 0), int(row[1] or 0))
    return max(int(current_app.config["ACCESS_TOKEN_LIFETIME"]), per_app)


def expire_retired() -> int:
    """Drop retired keys from the JWKS once the longest token lifetime has passed."""
    cutoff = utcnow() - timedelta(seconds=longest_token_lifetime())
    rows = list(
        db.session.scalars(
            select(SigningKey).where(
                SigningKey.status == "retired", SigningKey.retired_at <= cutoff
            )
        )
    )
    for row in rows:
        row.status = "expired"
        audit.record("system", "oidc.key_expired", f"signing_key:{row.kid}", details={})
    if rows:
        db.session.commit()
        _cache().public = None
    return len(rows)


def rotate(origin: str, alg: str = DEFAULT_ALG, overlap: int | None = None) -> SigningKey:
    """Publish a new key now; it signs after `overlap` seconds (KEY_ROTATION_OVERLAP)."""
    if alg not in GENERATORS:
        raise ValueError(f"unsupported signing algorithm {alg}")
    if overlap is None:
        overlap = int(current_app.config.get("KEY_ROTATION_OVERLAP", 3600))
    for stale in db.session.scalars(
        select(SigningKey).where(SigningKey.alg == alg, SigningKey.status == "next")
    ):
        stale.status = "expired"
    row = _new_row(alg, "next", utcnow() + timedelta(seconds=max(overlap, 0)))
    db.session.add(row)
    audit.record(
        origin,
        "oidc.key_rotated",
        f"signing_key:{row.kid}",
        details={"alg": alg, "overlap": overlap},
    )
    db.session.commit()
    cache = _cache()
    cache.public = None
    cache.signing.pop(alg, None)
    if overlap <= 0:
        _promote_due(alg)
    return row


def list_keys() -> list[SigningKey]:
    """Every key row, newest first."""
    return list(db.session.scalars(select(SigningKey).order_by(SigningKey.id.desc())))
