"""Second factor: TOTP (RFC 6238) enrolment and verification, recovery codes, remembered devices.

TOTP secrets are encrypted at rest with `secretbox`; recovery codes and device tokens are
high-entropy random values stored as SHA-256, and each recovery code works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from urllib.parse import quote, urlencode

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update

from idaas import audit
from idaas.auth.models import AccountMfa, RecoveryCode, RememberedDevice
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from idaas.security import secretbox, signin_policy

DIGITS = 6
STEP = 30
WINDOW = 1  # accept the previous and the next time step (clock drift), RFC 6238 section 5.2
RECOVERY_CODES = 10
DEVICE_COOKIE = "idaas_device"
DEVICE_SALT = "idaas.auth.device"


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, SHA1(), STEP, enforce_key_length=False)


def _row(account_id: int) -> AccountMfa | None:
    return db.session.get(AccountMfa, account_id)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def is_enrolled(account_id: int) -> bool:
    """Whether the account has a confirmed TOTP authenticator."""
    row = _row(account_id)
    return bool(row and row.totp_confirmed_at and row.totp_secret)


def is_required(account_id: int) -> bool:
    """Whether MFA is required for the account (globally or for this account)."""
    if signin_policy.effective().mfa_required:
        return True
    row = _row(account_id)
    return bool(row and row.required)


def set_required(origin: str, account_id: int, required: bool) -> None:
    """Require (or stop requiring) MFA for one account; audited and committed."""
    row = _row(account_id) or AccountMfa(account_id=account_id)
    row.required = required
    db.session.add(row)
    audit.record(
        origin, "auth.mfa.required", f"account:{account_id}", details={"required": required}
    )
    db.session.commit()


def start_enrolment(account_id: int) -> str:
    """Create (or reuse) an unconfirmed TOTP secret; return it in base32 for the authenticator."""
    row = _row(account_id) or AccountMfa(account_id=account_id)
    db.session.add(row)
    if row.totp_secret and not row.totp_confirmed_at:
        secret = secretbox.decrypt(row.totp_secret)
    else:
        secret = base64.b32encode(secrets.token_bytes(20)).decode()
        row.totp_secret = secretbox.encrypt(secret)
        row.totp_confirmed_at = None
        row.totp_last_step = None
    db.session.commit()
    return secret


def provisioning_uri(account: Account, secret: str) -> str:
    """The `otpauth://totp/...` URI that authenticator apps read from the QR code."""
    issuer = str(current_app.config["MFA_ISSUER_NAME"])
    label = quote(f"{issuer}:{account.username}")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP}
    )
    return f"otpauth://totp/{label}?{query}"


def qr_data_uri(uri: str) -> str:
    """The QR code of `uri` as an SVG `data:` URI (allowed by our CSP's img-src)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step at which `code` is valid (within the window, after `last_step`), or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = _totp(base64.b32decode(secret))
    now_step = int(time.time()) // STEP
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue  # a code is good once (RFC 6238 section 5.2)
        expected = totp.generate(step * STEP)
        if hmac.compare_digest(expected, code.encode()):
            return step
    return None


def confirm_enrolment(account_id: int, code: str, actor: str) -> list[str] | None:
    """Confirm the pending authenticator with a code; return new recovery codes, or None."""
    row = _row(account_id)
    if row is None or not row.totp_secret or row.totp_confirmed_at:
        return None
    step = _matching_step(secretbox.decrypt(row.totp_secret), code, None)
    if step is None:
        audit.record(
            actor,
            "auth.mfa.enrol",
            f"account:{account_id}",
            outcome="failure",
            details={"reason": "bad_code"},
        )
        db.session.commit()
        return None
    row.totp_confirmed_at = utcnow()
    row.totp_last_step = step
    codes = _new_recovery_codes(account_id)
    audit.record(actor, "auth.mfa.enrol", f"account:{account_id}", details={"factor": "totp"})
    db.session.commit()
    return codes


def _new_recovery_codes(account_id: int) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(account_id=account_id, code_hash=_hash(raw)))
    return codes


def regenerate_recovery_codes(account_id: int, actor: str) -> list[str]:
    """Replace all recovery codes with ten new ones (shown once); audited and committed."""
    codes = _new_recovery_codes(account_id)
    audit.record(
        actor, "auth.mfa.recovery_codes", f"account:{account_id}", details={"count": len(codes)}
    )
    db.session.commit()
    return codes


def recovery_codes_left(account_id: int) -> int:
    """How many unused recovery codes the account has."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def verify(account_id: int, code: str, actor: str) -> str | None:
    """Check a TOTP or recovery code; return the method (`otp` or `recovery`) or None. Audited."""
    row = _row(account_id)
    method = None
    if row is not None and row.totp_secret and row.totp_confirmed_at:
        step = _matching_step(secretbox.decrypt(row.totp_secret), code, row.totp_last_step)
        if step is not None:
            row.totp_last_step = step
            method = "otp"
    if method is None:
        normalised = "".join(ch for ch in code.lower() if ch.isalnum())
        if len(normalised) == 10:
            used = db.session.execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.account_id == account_id,
                    RecoveryCode.code_hash == _hash(normalised),
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=utcnow())
            )
            if used.rowcount:  # type: ignore[attr-defined]
                method = "recovery"
    if method is None:
        audit.record(
            actor,
            "auth.mfa.verify",
            f"account:{account_id}",
            outcome="failure",
            details={"reason": "bad_code"},
        )
    else:
        audit.record(actor, "auth.mfa.verify", f"account:{account_id}", details={"method": method})
    db.session.commit()
    return method


def disable(account_id: int, actor: str) -> None:
    """Remove the authenticator, recovery codes and remembered devices; audited, committed."""
    row = _row(account_id)
    if row is not None:
        row.totp_secret, row.totp_confirmed_at, row.totp_last_step = None, None, None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    forget_devices(account_id)
    audit.record(actor, "auth.mfa.disabled", f"account:{account_id}")
    db.session.commit()


def remember_days() -> int:
    """How long a remembered device skips MFA (0: the option is off)."""
    return int(current_app.config["MFA_REMEMBER_DEVICE_DAYS"])


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt=DEVICE_SALT)


def remember_device(account_id: int) -> str:
    """Remember this browser for the account; return the signed cookie value (caller commits)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        RememberedDevice(
            account_id=account_id,
            token_hash=_hash(token),
            expires_at=utcnow() + timedelta(days=remember_days()),
            user_agent=(request.user_agent.string or "")[:256] or None,
        )
    )
    return _device_serializer().dumps([account_id, token])


def remember_this_device(account_id: int, actor: str) -> str:
    """Remember this browser after a passed MFA step; audited and committed; the cookie value."""
    value = remember_device(account_id)
    audit.record(actor, "auth.mfa.device_remembered", f"account:{account_id}")
    db.session.commit()
    return value


def device_remembered(account_id: int) -> bool:
    """Whether this request's device cookie is a live remembered device of the account."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or not remember_days():
        return False
    try:
        owner, token = _device_serializer().loads(raw)
    except (BadSignature, ValueError, TypeError):
        return False
    if owner != account_id or not isinstance(token, str):
        return False
    found = db.session.scalar(
        select(RememberedDevice.id).where(
            RememberedDevice.account_id == account_id,
            RememberedDevice.token_hash == _hash(token),
            RememberedDevice.expires_at > utcnow(),
        )
    )
    return found is not None


def forget_devices(account_id: int) -> None:
    """Forget every remembered device of the account (the caller commits)."""
    db.session.execute(delete(RememberedDevice).where(RememberedDevice.account_id == account_id))


def reset(origin: str, account_id: int) -> None:
    """Admin reset: remove the account's authenticator so it enrols again."""
    disable(account_id, origin)
