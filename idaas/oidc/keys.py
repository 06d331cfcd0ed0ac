"""The key store: JWS signing keys generated on first use into the database.

Each algorithm has at most one `active` key (a partial unique index makes concurrent first
starts safe: the loser re-reads the winner's key). Private parts are stored encrypted with
`security.secretbox`; public parts are plain JWKs. `retired` keys are no longer used to sign
but still verify, so rotation (a later issue) is: add a new active key, mark the old one
retired, and drop retired keys once the longest token lifetime has passed. Adding RS256 is one
entry in `GENERATORS`.

Caching across requests, correct with many processes (issue 11 finding 17, issue 18): every
change to the keys (first key, rotation, promotion, expiry) bumps one counter row
(`oidc_key_state.generation`) in the same transaction. Each process keeps the private signing
key, the public key set and the serialised JWKS document in memory and compares its cached
generation with the row at most every KEY_CACHE_CHECK_SECONDS (0: on every use), dropping all
three on a change. A rotated key is published first (`next`) and signs only from
`activates_at`, at least KEY_PUBLISH_SECONDS later, which config validation keeps at two check
intervals or more: so every worker serves a key in its JWKS before any worker signs with it.
A `kid` still unknown to a process refreshes its public keys at once (at most every
`REFRESH_MIN_SECONDS`).
"""

from __future__ import annotations

import hashlib
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
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from idaas import audit
from idaas.extensions import db, utcnow
from idaas.oidc.models import KeyState, SigningKey
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
    # alg -> (private key, monotonic time until which it may sign without a re-read)
    signing: dict[str, tuple[Any, float]] = field(default_factory=dict)
    public: tuple[KeySet, float] | None = None
    jwks: tuple[bytes, str] | None = None  # the JWKS document and its ETag
    last_refresh: float = 0.0
    generation: int | None = None
    checked_at: float = 0.0
    expired_at: float = 0.0

    def clear(self) -> None:
        """Forget every cached key and document."""
        self.signing.clear()
        self.public = None
        self.jwks = None


def _cache() -> _Cache:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get(_EXTENSION)
    if cache is None:
        cache = app.extensions.setdefault(_EXTENSION, _Cache())
    return cache


def _bump_generation() -> None:
    """Tell every process the keys changed (in the caller's transaction; it commits)."""
    changed = db.session.execute(
        update(KeyState).where(KeyState.id == 1).values(generation=KeyState.generation + 1)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        db.session.add(KeyState(id=1, generation=1))


def _fresh_cache() -> _Cache:
    """This process's cache, emptied when another process changed the keys since."""
    cache = _cache()
    now = time.monotonic()
    interval = float(current_app.config["KEY_CACHE_CHECK_SECONDS"])
    if cache.generation is not None and now - cache.checked_at < interval:
        return cache
    generation = int(db.session.scalar(select(KeyState.generation).where(KeyState.id == 1)) or 0)
    cache.checked_at = now
    if generation != cache.generation:
        cache.clear()
        cache.generation = generation
    return cache


def publish_seconds() -> float:
    """How long a new key is published before it may sign (KEY_PUBLISH_SECONDS)."""
    return float(current_app.config["KEY_PUBLISH_SECONDS"])


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
    _bump_generation()
    audit.record("system", "oidc.key_activated", f"signing_key:{due.kid}", details={"alg": alg})
    try:
        db.session.commit()
    except IntegrityError:  # another process promoted it first
        db.session.rollback()
    _cache().clear()
    return True


def _scheduled_rotation(alg: str, row: SigningKey) -> None:
    """Start a rotation when the active key is older than KEY_ROTATION_DAYS (0: never)."""
    days = float(current_app.config["KEY_ROTATION_DAYS"])
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
    # The very first key of an algorithm signs at once: no process can have cached a key set
    # without it, since serving the JWKS creates the key first.
    row = _new_row(alg, "active")
    try:
        _bump_generation()
        db.session.add(row)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _active_row(alg)
        if existing is None:
            raise
        return existing
    _cache().clear()
    return row


def signing_key(alg: str = DEFAULT_ALG) -> Any:
    """The private joserfc key that signs new tokens with `alg` (cached across requests)."""
    cache = _fresh_cache()
    cached = cache.signing.get(alg)
    now = time.monotonic()
    if cached and now < cached[1]:
        return cached[0]
    row = ensure_active_key(alg)
    key = _import_private(row)
    until = now + CACHE_SECONDS
    next_at = db.session.scalar(
        select(SigningKey.activates_at).where(SigningKey.alg == alg, SigningKey.status == "next")
    )
    if next_at is not None:  # re-read when the next key is due
        until = min(until, now + max((next_at - utcnow()).total_seconds(), 0.0))
    _cache().signing[alg] = (key, until)
    return key


def signing_key_set(alg: str = DEFAULT_ALG) -> KeySet:
    """A one-key set with the active key (joserfc then writes its `kid` into the header)."""
    return KeySet([signing_key(alg)])


def verification_keys(kid: str | None = None) -> KeySet:
    """Public keys that verify tokens (next, active, retired); refreshed when `kid` is unknown."""
    cache = _fresh_cache()
    now = time.monotonic()
    public = cache.public
    if public is not None and (kid is None or _has_kid(public[0], kid)):
        return public[0]
    if public is not None and now - cache.last_refresh < REFRESH_MIN_SECONDS:
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


def jwks_document() -> tuple[bytes, str]:
    """The serialised JWKS and its ETag, cached until the key generation changes.

    Also rebuilt when the earliest retired key is due to leave the set (or after
    CACHE_SECONDS), so expiry needs no database read per request.
    """
    cache = _fresh_cache()
    now = time.monotonic()
    if cache.jwks is not None and now < cache.expired_at:
        return cache.jwks
    body = json.dumps(public_jwks(), separators=(",", ":"), sort_keys=True).encode()
    cache = _fresh_cache()  # the calls above may have changed the keys
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    oldest = db.session.scalar(
        select(func.min(SigningKey.retired_at)).where(SigningKey.status == "retired")
    )
    until = now + CACHE_SECONDS
    if oldest is not None:
        due = oldest + timedelta(seconds=longest_token_lifetime()) - utcnow()
        until = min(until, now + max(due.total_seconds(), 0.0))
    cache.jwks = (body, etag)
    cache.expired_at = until
    return cache.jwks


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
        _bump_generation()
        db.session.commit()
        _cache().clear()
    return len(rows)


def rotate(
    origin: str, alg: str = DEFAULT_ALG, overlap: int | None = None, *, wait: bool = False
) -> SigningKey:
    """Publish a new key now; it signs after `overlap` seconds (KEY_ROTATION_OVERLAP).

    The overlap is at least KEY_PUBLISH_SECONDS, so every process serves the key before any
    signs with it. With `wait` (the CLI's "rotate now"), return only once the key is active.
    """
    if alg not in GENERATORS:
        raise ValueError(f"unsupported signing algorithm {alg}")
    if overlap is None:
        overlap = int(current_app.config["KEY_ROTATION_OVERLAP"])
    delay = max(float(overlap), publish_seconds())
    for stale in db.session.scalars(
        select(SigningKey).where(SigningKey.alg == alg, SigningKey.status == "next")
    ):
        stale.status = "expired"
    row = _new_row(alg, "next", utcnow() + timedelta(seconds=delay))
    db.session.add(row)
    _bump_generation()
    audit.record(
        origin,
        "oidc.key_rotated",
        f"signing_key:{row.kid}",
        details={"alg": alg, "overlap": overlap, "publish_seconds": delay},
    )
    db.session.commit()
    _cache().clear()
    if delay <= 0 or wait:
        time.sleep(delay)
        _promote_due(alg)
        db.session.refresh(row)
    return row


def list_keys() -> list[SigningKey]:
    """Every key row, newest first."""
    return list(db.session.scalars(select(SigningKey).order_by(SigningKey.id.desc())))
