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
from typing import Any

from flask import current_app
from joserfc.jwk import ECKey, KeySet, import_key
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idaas.extensions import db
from idaas.oidc.models import SigningKey
from idaas.security import secretbox

DEFAULT_ALG = "ES256"
CACHE_SECONDS = 300.0
REFRESH_MIN_SECONDS = 10.0
_EXTENSION = "idaas_key_store"


def _generate_es256(kid: str) -> Any:
    """A new P-256 key for ES256 (RFC 7518 §3.4)."""
    return ECKey.generate_key("P-256", {"kid": kid, "alg": "ES256", "use": "sig"}, private=True)


# Algorithm -> key generator; RS256 and others are added here.
GENERATORS: dict[str, Callable[[str], Any]] = {"ES256": _generate_es256}


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


def ensure_active_key(alg: str = DEFAULT_ALG) -> SigningKey:
    """The active key row for `alg`, generating and storing one the first time."""
    if alg not in GENERATORS:
        raise ValueError(f"unsupported signing algorithm {alg}")
    row = _active_row(alg)
    if row is not None:
        return row
    kid = secrets.token_urlsafe(12)
    key = GENERATORS[alg](kid)
    row = SigningKey(
        kid=kid,
        alg=alg,
        status="active",
        public_jwk=key.as_dict(private=False),
        private_jwk_encrypted=secretbox.encrypt(json.dumps(key.as_dict(private=True))),
    )
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
    key = _import_private(ensure_active_key(alg))
    cache.signing[alg] = (key, now)
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
            select(SigningKey).where(SigningKey.status.in_(("active", "retired")))
        )
        keys = KeySet([import_key(dict(row.public_jwk)) for row in rows])
        cache.public = (keys, now)
        cache.last_refresh = now
    return keys


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def public_jwks() -> dict[str, Any]:
    """The JWK Set document (RFC 7517 §5) of every key that may have signed a live token."""
    ensure_active_key(DEFAULT_ALG)
    return dict(verification_keys().as_dict(private=False))
