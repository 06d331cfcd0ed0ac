"""Self-service password reset (issue 17): prove who you are through DingTalk, MFA, new password.

Three ways to prove the DingTalk identity linked to an account: scan the QR code, open the
page from the DingTalk workbench (free login), or receive a one-time code (and a one-time link)
as a DingTalk work notification (dingtalk-api.md §7). A proof becomes a short-lived ticket held
by this browser; the ticket goes through MFA when the account has it, and is consumed exactly
once (conditional UPDATE + row count) together with the new password, in one transaction.

Nothing tells an unknown account from a known one: a code request for an unknown or unlinked
account stores a decoy row that refuses every code the same way, and the notification is sent
after the response, so the answer takes as long either way.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, session
from limits import parse
from sqlalchemy import delete, select, update

from idaas import audit
from idaas.auth.denials import record_denial
from idaas.auth.reset_models import PasswordResetCode, PasswordResetTicket
from idaas.directory import service as directory
from idaas.directory.models import Account
from idaas.extensions import db, limiter, utcnow

log = logging.getLogger(__name__)
#: The `next` a DingTalk state carries when it proves an identity for a reset, not a sign-in.
RESET_MARK = "reset:dingtalk"
TICKET_KEY = "idaas_reset_ticket"
PROVIDER = "dingtalk"
CODE_DIGITS = 6
#: Expired codes and tickets are deleted on about one in this many code requests.
METHODS = ("dingtalk_qr", "dingtalk_workbench", "dingtalk_code")


class ResetRefused(Exception):
    """A reset step cannot go on; `kind` picks the message shown (never which check failed)."""

    def __init__(self, kind: str, status: int = 400) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class Notification:
    """A code to send after the response: connection, DingTalk userid and the message text."""

    connection: str
    userid: str
    text: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _minutes(key: str) -> timedelta:
    return timedelta(minutes=float(current_app.config[key]))


def enabled() -> bool:
    """Whether administrators allow self-service reset (PASSWORD_RESET_ENABLED)."""
    return bool(current_app.config["PASSWORD_RESET_ENABLED"])


def is_reset_state(state: dict[str, str]) -> bool:
    """Whether a consumed DingTalk `state` was issued to prove an identity for a reset."""
    return state.get("next") == RESET_MARK


def throttled(kind: str, value: str) -> bool:
    """Count one attempt of `kind` for `value` (an IP or a typed identifier); True when over.

    Counters live in Flask-Limiter's storage (Redis when configured), shared by every process.
    """
    spec = current_app.config.get(
        "PASSWORD_RESET_RATE_LIMIT_ACCOUNT"
        if kind == "identifier"
        else "PASSWORD_RESET_RATE_LIMIT_IP"
    )
    if not spec or not limiter.enabled:
        return False
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    key = _hash(" ".join(value.split()).casefold())[:32] if kind == "identifier" else value or "-"
    return not limiter.limiter.hit(parse(str(spec)), prefix, "idaas-reset", kind, key)


# ------------------------------------------------------------------ finding the DingTalk identity


def account_for_person(corp_id: str, userid: str) -> Account | None:
    """The active account a DingTalk person is linked to (a link, or imported from the corp)."""
    identity = directory.find_identity(PROVIDER, corp_id, userid)
    account: Account | None = None
    if identity is not None:
        account = db.session.get(Account, identity.account_id)
    else:
        reference = directory.find_reference(f"dingtalk:{corp_id}", "account", userid)
        if reference is not None:
            account = db.session.get(Account, int(reference.object_id))
    if account is None or account.status != "active":
        return None
    return account


def _notification_target(account: Account | None) -> tuple[str, str] | None:
    """(connection name, userid) to send an account's code to, or None (no usable link)."""
    from idaas.dingtalk import connections

    if account is None or account.status != "active":
        return None
    for identity in directory.identities_of(account.id):
        if identity.provider != PROVIDER:
            continue
        for conn in connections.list_all():
            if conn.corp_id == identity.tenant and conn.agent_id is not None:
                return conn.name, identity.subject
    return None


# ------------------------------------------------------------------ codes by work notification


def request_code(identifier: str, ip: str, message: Any) -> tuple[str, Notification | None]:
    """Store a code request; return its public id and the notification to send (or None).

    `message(code, link_token)` builds the notification text in the person's language. An
    unknown, inactive or unlinked account gets a decoy row and no notification.
    """
    account = directory.find_by_identifier(identifier)
    target = _notification_target(account)
    request_id = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    link_token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        PasswordResetCode(
            id=request_id,
            account_id=account.id if (account is not None and target) else None,
            code_hash=_hash(f"{request_id}:{code}"),
            link_hash=_hash(link_token),
            created_at=now,
            expires_at=now + _minutes("PASSWORD_RESET_CODE_MINUTES"),
            attempts=0,
        )
    )
    audit.record(
        "anonymous",
        "auth.password_reset.code_requested",
        f"account:{account.id}" if account is not None else None,
        outcome="success" if target else "denied",
        details={
            "ip": ip,
            "reason": None if target else ("unknown" if account is None else "no_dingtalk_link"),
        },
    )
    db.session.commit()
    if target is None:
        return request_id, None
    return request_id, Notification(target[0], target[1], message(code, link_token))


def purge_expired() -> int:
    """Delete expired codes and tickets (the housekeeping job); return how many rows went."""
    now = utcnow()
    gone = 0
    for model in (PasswordResetCode, PasswordResetTicket):
        result = db.session.execute(delete(model).where(model.expires_at < now))
        gone += int(result.rowcount or 0)  # type: ignore[attr-defined]
    db.session.commit()
    return gone


def send_notification(app: Any, notification: Notification) -> bool:
    """Send a code as a DingTalk work notification (§7); log, never raise (after the response)."""
    from idaas.dingtalk import connections
    from idaas.dingtalk.errors import DingTalkError

    with app.app_context():
        conn = connections.get(notification.connection)
        if conn is None:
            return False
        try:
            with connections._http() as http:
                connections.client(conn, http).send_work_notification(
                    {"msgtype": "text", "text": {"content": notification.text}},
                    userid_list=[notification.userid],
                )
        except (DingTalkError, Exception) as error:  # noqa: BLE001 - logged, person can retry
            log.warning("password-reset work notification failed: %s", type(error).__name__)
            return False
        finally:
            db.session.remove()
    return True


def _redeem(condition: Any, request_id: str | None, ip: str) -> int:
    """Consume one code row matching `condition` (single use); return its account id."""
    now = utcnow()
    attempts = int(current_app.config["PASSWORD_RESET_CODE_ATTEMPTS"])
    result = db.session.execute(
        update(PasswordResetCode)
        .where(
            condition,
            PasswordResetCode.used_at.is_(None),
            PasswordResetCode.expires_at > now,
            PasswordResetCode.attempts < attempts,
            PasswordResetCode.account_id.is_not(None),
        )
        .values(used_at=now)
        .returning(PasswordResetCode.account_id)
    )
    account_id = result.scalar()
    if account_id is None:
        if request_id:
            db.session.execute(
                update(PasswordResetCode)
                .where(PasswordResetCode.id == request_id)
                .values(attempts=PasswordResetCode.attempts + 1)
            )
        record_denial("anonymous", "auth.password_reset.code_refused", {"ip": ip})
        raise ResetRefused("code")
    db.session.commit()
    return int(account_id)


def redeem_code(request_id: str, code: str, ip: str) -> int:
    """Check a typed code against its request: single use, short-lived, few attempts."""
    digits = "".join(ch for ch in code if ch.isdigit())[: CODE_DIGITS + 2]
    condition = (PasswordResetCode.id == request_id) & (
        PasswordResetCode.code_hash == _hash(f"{request_id}:{digits}")
    )
    return _redeem(condition, request_id, ip)


def redeem_link(link_token: str, ip: str) -> int:
    """Check the one-time link from the notification: single use, short-lived."""
    return _redeem(PasswordResetCode.link_hash == _hash(link_token), None, ip)


# ------------------------------------------------------------------ tickets


def refuse_unlinked(actor: str, method: str) -> None:
    """Record that a DingTalk identity with no linked account asked to reset a password."""
    details = {"reason": "not_linked", "method": method}
    record_denial(actor, "auth.password_reset.refused", details)


def start_ticket(account_id: int, method: str) -> None:
    """Give this browser a ticket to set a new password for `account_id` (audited)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        PasswordResetTicket(
            token_hash=_hash(token),
            account_id=account_id,
            method=method,
            mfa_done=False,
            created_at=now,
            expires_at=now + _minutes("PASSWORD_RESET_TICKET_MINUTES"),
        )
    )
    audit.record(
        f"user:{account_id}",
        "auth.password_reset.identity_proven",
        f"account:{account_id}",
        details={"method": method},
    )
    db.session.commit()
    session[TICKET_KEY] = token


def current_ticket() -> PasswordResetTicket | None:
    """This browser's unused, unexpired ticket, or None."""
    token = session.get(TICKET_KEY)
    if not isinstance(token, str):
        return None
    row = db.session.scalar(
        select(PasswordResetTicket).where(PasswordResetTicket.token_hash == _hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def forget_ticket() -> None:
    """Drop the ticket from this browser."""
    session.pop(TICKET_KEY, None)


def mfa_needed(ticket: PasswordResetTicket) -> bool:
    """Whether the ticket still has to pass the account's second factor."""
    from idaas.auth import mfa

    return not ticket.mfa_done and mfa.is_enrolled(ticket.account_id)


def verify_mfa(ticket: PasswordResetTicket, code: str) -> bool:
    """Check a TOTP or recovery code for the ticket's account (audited by `mfa.verify`)."""
    from idaas.auth import lockout, mfa

    actor = f"user:{ticket.account_id}"
    if mfa.verify(ticket.account_id, code, actor) is not None:
        ticket.mfa_done = True
        db.session.commit()
        return True
    if lockout.register_failure(ticket.account_id, actor):
        ticket.used_at = utcnow()  # too many wrong codes: the ticket is spent
        forget_ticket()
    db.session.commit()
    return False


def complete(ticket: PasswordResetTicket, password: str) -> None:
    """Consume the ticket and set the new password in one transaction (policy checked).

    Raise ResetRefused("ticket") when the ticket was used meanwhile (a concurrent submit), or
    the directory's ValidationFailed when the password breaks the policy (the ticket survives).
    """
    if mfa_needed(ticket):
        raise ResetRefused("mfa", 403)
    account_id = ticket.account_id
    now = utcnow()
    result = db.session.execute(
        update(PasswordResetTicket)
        .where(
            PasswordResetTicket.id == ticket.id,
            PasswordResetTicket.used_at.is_(None),
            PasswordResetTicket.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise ResetRefused("ticket", 409)
    audit.record(
        f"user:{account_id}",
        "auth.password_reset.completed",
        f"account:{account_id}",
        details={"method": ticket.method},
    )
    from idaas.auth import lockout

    lockout.clear_failures(account_id)  # proving who you are also lifts a lockout
    # set_password commits the ticket's UPDATE and the audit row with the new hash, or rolls
    # all of it back when the policy refuses the password.
    directory.set_password(f"user:{account_id}", account_id, password)
    forget_ticket()
