"""DingTalk sign-in services: signed single-use `state`, code exchange, resolving the person.

`state` is signed with the app secret (itsdangerous), expires, and names a server-side nonce
that is consumed on the callback (and must have been issued to this browser), so tampering,
reuse and expiry are all refused. Codes are exchanged exactly once: a code we have already
redeemed is refused before DingTalk is even asked (DingTalk answers 40078 too).

DingTalk docs (under https://open.dingtalk.com/document/development/):
  tutorial-obtaining-user-personal-information, enterprise-internal-application-logon-free.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idaas import audit
from idaas.auth.binding import Person
from idaas.auth.denials import record_denial
from idaas.dingtalk import connections
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.errors import DingTalkError, InvalidCode, NotFound
from idaas.dingtalk.models import DingTalkSingleUse
from idaas.extensions import db, utcnow

log = logging.getLogger(__name__)
STATE_SALT = "idaas.dingtalk.state"
SESSION_NONCES = "idaas_dt_nonces"
MAX_BROWSER_NONCES = 8
#: Expired nonces and code records are deleted on about one in this many new states.
PURGE_ONE_IN = 50


class SignInProblem(Exception):
    """A DingTalk sign-in step failed; `kind` picks the friendly page, `message` is safe."""

    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STATE_SALT)


def state_max_age() -> int:
    """How long a `state` stays valid, in seconds (DINGTALK_STATE_MAX_AGE)."""
    return int(current_app.config["DINGTALK_STATE_MAX_AGE"])


def make_state(source: str, next_target: str | None, app: str | None) -> str:
    """A signed, expiring `state` naming a fresh single-use nonce bound to this browser."""
    nonce = secrets.token_urlsafe(24)
    now = utcnow()
    if secrets.randbelow(PURGE_ONE_IN) == 0:
        purge_expired()
    db.session.add(
        DingTalkSingleUse(
            value_hash=_hash(nonce),
            kind="state",
            created_at=now,
            expires_at=now + timedelta(seconds=state_max_age()),
        )
    )
    db.session.commit()
    mine = [n for n in session.get(SESSION_NONCES, []) if isinstance(n, str)]
    session[SESSION_NONCES] = [*mine, _hash(nonce)][-MAX_BROWSER_NONCES:]
    return _serializer().dumps({"n": nonce, "s": source, "x": next_target or "", "a": app or ""})


def _refuse_state(reason: str, source: str) -> SignInProblem:
    details = {"source": source, "reason": reason}
    record_denial("anonymous", "auth.dingtalk.state_refused", details)
    return SignInProblem("state", reason)


def consume_state(value: str | None, source: str) -> dict[str, str]:
    """Check and consume a `state`: refuse tampering, expiry, reuse, another browser or source."""
    try:
        data = _serializer().loads(value or "", max_age=state_max_age())
    except SignatureExpired:
        raise _refuse_state("expired", source) from None
    except BadSignature:
        raise _refuse_state("tampered", source) from None
    if not isinstance(data, dict) or data.get("s") != source or not data.get("n"):
        raise _refuse_state("tampered", source)
    digest = _hash(str(data["n"]))
    mine = session.get(SESSION_NONCES, [])
    now = utcnow()
    result = db.session.execute(
        update(DingTalkSingleUse)
        .where(
            DingTalkSingleUse.value_hash == digest,
            DingTalkSingleUse.kind == "state",
            DingTalkSingleUse.used_at.is_(None),
            DingTalkSingleUse.expires_at > now,
        )
        .values(used_at=now)
    )
    db.session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _refuse_state("reused", source)
    if digest not in mine:
        raise _refuse_state("other_browser", source)
    session[SESSION_NONCES] = [n for n in mine if n != digest]
    return {"next": str(data.get("x") or ""), "app": str(data.get("a") or "")}


def redeem_once(code: str, source: str) -> None:
    """Record a login code as redeemed; refuse one we have already seen (replay)."""
    if not code or len(code) > 512:
        raise SignInProblem("code", "missing code")
    now = utcnow()
    db.session.add(
        DingTalkSingleUse(
            value_hash=_hash(code), kind="code", created_at=now, expires_at=now + timedelta(hours=1)
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        record_denial("anonymous", "auth.dingtalk.code_replayed", {"source": source})
        raise SignInProblem("code", "replayed") from None


def purge_expired() -> int:
    """Delete expired nonces and code records (housekeeping)."""
    from sqlalchemy import delete

    result = db.session.execute(
        delete(DingTalkSingleUse).where(DingTalkSingleUse.expires_at < utcnow())
    )
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def authorize_url(conn: DingTalkConnection, source: str, state: str) -> str:
    """The DingTalk authorize page for the connection's login generation."""
    redirect_uri = connections.redirect_url(source)
    with connections._http() as http:
        if conn.login_generation == "sns":
            return connections.client(conn, http, sns=True).sns_login_url(redirect_uri, state)
        return connections.client(conn, http).oauth2_login_url(redirect_uri, state)


def _outsider(conn: DingTalkConnection, source: str, detail: str) -> SignInProblem:
    details = {"source": source, "corp_id": conn.corp_id, "reason": detail}
    record_denial(f"dingtalk:{conn.name}", "auth.dingtalk.outsider_refused", details)
    return SignInProblem("outsider", detail, 403)


def _dingtalk_failed(conn: DingTalkConnection, source: str, error: DingTalkError) -> SignInProblem:
    log.warning("DingTalk sign-in via %s failed: %s", conn.name, error)
    audit.record(
        f"dingtalk:{conn.name}",
        "auth.dingtalk.failed",
        None,
        outcome="failure",
        details={"source": source, "errcode": error.errcode, "code": error.code},
    )
    db.session.commit()
    if isinstance(error, InvalidCode):
        return SignInProblem("code", "invalid code")
    return SignInProblem("dingtalk", str(error), 502)


def person_from_qr(conn: DingTalkConnection, source: str, code: str) -> Person:
    """Exchange a QR code and find the person's userid in the configured corp."""
    redeem_once(code, source)
    profile: dict[str, Any] = {}
    with connections._http() as http:
        corp = connections.client(conn, http)
        try:
            if conn.login_generation == "sns":
                info = connections.client(conn, http, sns=True).sns_user_info(code)
                unionid = str(info.get("unionid") or "")
                profile = {"nick": info.get("nick")}
            else:
                tokens = corp.user_access_token(code)
                profile = corp.user_profile(str(tokens["accessToken"]))
                unionid = str(profile.get("unionId") or "")
            if not unionid:
                raise _outsider(conn, source, "no_unionid")
            try:
                found = corp.userid_by_unionid(unionid)
            except NotFound:
                raise _outsider(conn, source, "not_a_member") from None
        except DingTalkError as error:
            raise _dingtalk_failed(conn, source, error) from None
    if str(found.get("contact_type", 0)) not in ("0", "None"):
        raise _outsider(conn, source, "external_contact")
    return Person(
        corp_id=conn.corp_id,
        userid=str(found["userid"]),
        unionid=unionid,
        name=profile.get("nick"),
        mobile=profile.get("mobile") or None,
        email=profile.get("email") or None,
    )


def person_from_micro(conn: DingTalkConnection, source: str, code: str) -> Person:
    """Resolve a micro-app free-login code to the corp's userid; single use."""
    redeem_once(code, source)
    with connections._http() as http:
        try:
            info = connections.client(conn, http).micro_app_user_info(code)
        except DingTalkError as error:
            raise _dingtalk_failed(conn, source, error) from None
    return Person(
        corp_id=conn.corp_id,
        userid=str(info["userid"]),
        unionid=str(info.get("unionid") or "") or None,
        name=info.get("name"),
    )


def enrich(conn: DingTalkConnection, person: Person) -> Person:
    """Fill mobile, email and employee number from the corp's contacts, best effort."""
    try:
        with connections._http() as http:
            user = connections.client(conn, http).get_user(person.userid)
    except (DingTalkError, Exception) as error:  # noqa: BLE001 - enrichment is optional
        log.info("could not read DingTalk contact details: %s", type(error).__name__)
        return person
    mobile = user.get("mobile")
    if mobile and user.get("state_code") and not str(mobile).startswith("+"):
        mobile = f"+{user['state_code']}{mobile}"
    person.mobile = mobile or person.mobile
    person.email = user.get("email") or user.get("org_email") or person.email
    person.job_number = user.get("job_number") or person.job_number
    person.name = person.name or user.get("name")
    return person
