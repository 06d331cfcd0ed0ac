"""First-login binding of a DingTalk person to a local account (DESIGN.md §2, "Sign-in paths" 4).

A DingTalk identity is keyed by (corp id, userid); the unionId is stored too. Resolution order:
an existing link -> an account imported from that corp with that userid (external reference)
-> the source's auto-link rule (mobile, email or employee number; exact and unique; never a
name; off by default) -> just-in-time creation if the source allows it -> manual binding on
`/login/bind`, where the person proves a local account with a password (throttled and locked
out like the login form, then MFA). An account holds at most one link per corp and a DingTalk
user at most one account (`directory.link_identity` enforces both). Links go away when the
account is disabled or leaves and, per source policy (default on), when its password changes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, current_app, session
from flask_babel import gettext
from sqlalchemy import select

from idaas import audit
from idaas.auth import mfa
from idaas.auth.denials import record_denial
from idaas.directory import service as directory
from idaas.directory.errors import DirectoryError
from idaas.directory.models import Account
from idaas.directory.normalise import InvalidValue, clean_mobile, email_key
from idaas.extensions import db

log = logging.getLogger(__name__)
PROVIDER = "dingtalk"
PENDING_KEY = "idaas_dt_pending"
DEFERRED_KEY = "idaas_dt_link_after_mfa"


class BindingRefused(Exception):
    """A binding or DingTalk sign-in cannot go on; `message` is safe to show."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Person:
    """A DingTalk person resolved in the configured corp (userid) plus what DingTalk told us."""

    corp_id: str
    userid: str
    unionid: str | None = None
    name: str | None = None
    mobile: str | None = None
    email: str | None = None
    job_number: str | None = None


def reference_system(corp_id: str) -> str:
    """The external-reference system name of accounts imported from a DingTalk corp."""
    return f"dingtalk:{corp_id}"


def _identity_account(person: Person) -> Account | None:
    identity = directory.find_identity(PROVIDER, person.corp_id, person.userid)
    if identity is None:
        return None
    if person.unionid and not identity.union_id:
        identity.union_id = person.unionid
    directory.touch_identity(identity)
    return db.session.get(Account, identity.account_id)


def link(
    origin: str, account: Account, person: Person, linked_via: str, source: Any, notify: bool
) -> None:
    """Create the (corp, userid) link (audited by the directory) and optionally notify (§7)."""
    directory.link_identity(
        origin,
        account.id,
        provider=PROVIDER,
        tenant=person.corp_id,
        subject=person.userid,
        union_id=person.unionid,
        linked_via=linked_via,
    )
    if notify and source is not None and source.setting("notify_on_link"):
        send_link_notification(source.connection_name, person, account)


def send_link_notification(connection_name: str, person: Person, account: Account) -> bool:
    """Tell the person in DingTalk that their account was linked (work notification, §7)."""
    from idaas.dingtalk import connections
    from idaas.dingtalk.errors import DingTalkError

    conn = connections.get(connection_name)
    if conn is None or conn.agent_id is None:
        return False
    text = gettext(
        "Your DingTalk account was linked to the idaas account %(username)s (%(name)s). "
        "If this was not you, contact your IT administrator.",
        username=account.username,
        name=account.display_name,
    )
    try:
        with connections._http() as http:
            connections.client(conn, http).send_work_notification(
                {"msgtype": "text", "text": {"content": text}}, userid_list=[person.userid]
            )
    except (DingTalkError, Exception) as error:  # noqa: BLE001 - a notification never blocks
        log.warning("work notification on link failed: %s", type(error).__name__)
        return False
    return True


def _auto_link_candidate(source: Any, person: Person) -> Account | None:
    """The one account the auto-link rule matches, or None (off, no match, ambiguous, taken)."""
    fields = list(source.setting("auto_link") or [])
    if not fields:
        return None
    matches: set[int] = set()
    region = current_app.config["DEFAULT_PHONE_REGION"]
    for field in fields:
        if field == "mobile" and person.mobile:
            try:
                mobile = clean_mobile(person.mobile, region)
            except InvalidValue:
                mobile = None
            if mobile:
                matches.update(
                    db.session.scalars(select(Account.id).where(Account.mobile == mobile))
                )
        elif field == "email" and person.email:
            key = email_key(person.email.strip())
            matches.update(db.session.scalars(select(Account.id).where(Account.email_key == key)))
        elif field == "employee_number" and person.job_number:
            matches.update(
                db.session.scalars(
                    select(Account.id).where(Account.employee_number == person.job_number.strip())
                )
            )
    reason = None
    candidate = None
    if len(matches) > 1:
        reason = "ambiguous"
    elif len(matches) == 1:
        candidate = db.session.get(Account, next(iter(matches)))
        if candidate is None or candidate.status != "active":
            reason, candidate = "inactive", None
        elif _linked_in_corp(candidate.id, person.corp_id):
            reason, candidate = "account_already_linked", None
    if reason:
        details = {"source": source.name, "userid": person.userid, "reason": reason}
        record_denial(
            f"dingtalk:{source.connection_name}", "auth.dingtalk.auto_link_skipped", details
        )
    return candidate


def _linked_in_corp(account_id: int, corp_id: str) -> bool:
    return any(
        i.provider == PROVIDER and i.tenant == corp_id for i in directory.identities_of(account_id)
    )


def _jit_account(source: Any, person: Person) -> Account | None:
    """A new account for the person when the source allows just-in-time creation."""
    if not source.setting("jit"):
        return None
    region = current_app.config["DEFAULT_PHONE_REGION"]
    try:
        mobile = clean_mobile(person.mobile, region) if person.mobile else None
    except InvalidValue:
        mobile = None
    try:
        return directory.create_account(
            f"dingtalk:{source.connection_name}",
            username=f"dt-{person.userid}".lower()[:64],
            display_name=person.name or person.userid,
            email=person.email or None,
            mobile=mobile,
            employee_number=person.job_number or None,
            password=None,
            must_change_password=False,
        )
    except DirectoryError as error:
        log.info("just-in-time account for a DingTalk person failed: %s", error.message)
        return None


def resolve(source: Any, person: Person) -> Account | None:
    """The account for a DingTalk person (linking it when a rule applies), or None: bind."""
    account = _identity_account(person)
    if account is not None:
        return account
    origin = f"dingtalk:{source.connection_name}"
    reference = directory.find_reference(reference_system(person.corp_id), "account", person.userid)
    if reference is not None:
        imported = db.session.get(Account, int(reference.object_id))
        if imported is not None:
            link(origin, imported, person, "import", source, notify=False)
            return imported
    candidate = _auto_link_candidate(source, person)
    if candidate is not None:
        link(origin, candidate, person, "auto", source, notify=True)
        return candidate
    created = _jit_account(source, person)
    if created is not None:
        link(origin, created, person, "jit", source, notify=False)
        return created
    return None


# ---------------------------------------------------------------------- manual binding


def start_pending(source_name: str, person: Person) -> None:
    """Remember the person waiting to bind (signed session cookie, expiring)."""
    minutes = float(current_app.config["SESSION_PENDING_MINUTES"])
    session[PENDING_KEY] = {
        "source": source_name,
        "person": asdict(person),
        "exp": time.time() + minutes * 60,
    }


def pending() -> tuple[str, Person] | None:
    """The source name and person waiting to bind in this browser, if not expired."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or float(data.get("exp", 0)) < time.time():
        session.pop(PENDING_KEY, None)
        return None
    try:
        return str(data["source"]), Person(**data["person"])
    except (KeyError, TypeError):
        session.pop(PENDING_KEY, None)
        return None


def clear_pending() -> None:
    """Forget the pending binding."""
    session.pop(PENDING_KEY, None)


def bind(source: Any, person: Person, identifier: str, password: str) -> Account:
    """Prove a local account with its password and link the person to it (manual binding).

    Throttled and locked out exactly like the login form (`sources.password.authenticate`);
    raises `SignInFailed` for a bad credential and `BindingRefused` when the account is
    already linked to another DingTalk user of this corp.
    """
    from idaas.auth.sources.password import authenticate

    account = authenticate(identifier, password, f"{source.name}:bind")
    actor = f"user:{account.id}"
    existing = directory.find_identity(PROVIDER, person.corp_id, person.userid)
    if existing is not None and existing.account_id != account.id:
        _refuse(actor, account.id, source, person, "dingtalk_user_already_linked")
    if existing is None:
        if _linked_in_corp(account.id, person.corp_id):
            _refuse(actor, account.id, source, person, "account_already_linked")
        if mfa.is_enrolled(account.id) or mfa.is_required(account.id):
            # The password alone must not create a link: wait until the second factor too.
            _defer_link(source.name, person, account.id)
            return account
        link(actor, account, person, "manual", source, notify=True)
    _bound(actor, account.id, source.name, person)
    return account


def _bound(actor: str, account_id: int, source_name: str, person: Person) -> None:
    audit.record(
        actor,
        "auth.dingtalk.bound",
        f"account:{account_id}",
        details={"source": source_name, "corp_id": person.corp_id, "userid": person.userid},
    )
    db.session.commit()


def _defer_link(source_name: str, person: Person, account_id: int) -> None:
    minutes = float(current_app.config["SESSION_PENDING_MINUTES"])
    session[DEFERRED_KEY] = {
        "source": source_name,
        "person": asdict(person),
        "account_id": account_id,
        "exp": time.time() + minutes * 60,
    }


def finish_deferred_link() -> None:
    """Before each request: make a deferred manual link once its sign-in (MFA) completed."""
    data = session.get(DEFERRED_KEY)
    if not isinstance(data, dict):
        return
    from idaas.auth import sessions, sources

    if float(data.get("exp", 0)) < time.time():
        session.pop(DEFERRED_KEY, None)
        return
    row = sessions.current_any()
    if row is None or row.account_id != data.get("account_id"):
        if row is not None:
            session.pop(DEFERRED_KEY, None)
        return
    if row.state != "active":
        return
    session.pop(DEFERRED_KEY, None)
    account = db.session.get(Account, row.account_id)
    source = sources.get(str(data.get("source")))
    try:
        person = Person(**data["person"])
    except (KeyError, TypeError):
        return
    if account is None or source is None:
        return
    actor = f"user:{account.id}"
    if directory.find_identity(PROVIDER, person.corp_id, person.userid) is not None:
        return
    if _linked_in_corp(account.id, person.corp_id):
        return
    try:
        link(actor, account, person, "manual", source, notify=True)
    except DirectoryError as error:
        log.info("deferred DingTalk link not made: %s", error.message)
        return
    _bound(actor, account.id, source.name, person)


def _refuse(actor: str, account_id: int, source: Any, person: Person, reason: str) -> None:
    details = {"source": source.name, "userid": person.userid, "reason": reason}
    record_denial(actor, "auth.dingtalk.bind", details, f"account:{account_id}")
    raise BindingRefused(
        gettext(
            "This account is already linked to another DingTalk user. Unlink it in the portal "
            "(Linked accounts) first, or ask your IT administrator."
        )
    )


# ---------------------------------------------------------------------- unbinding


def unlink_all(origin: str, account_id: int, reason: str, corp_ids: set[str] | None = None) -> int:
    """Remove the account's DingTalk links (optionally only for some corps); each is audited."""
    count = 0
    for identity in directory.identities_of(account_id):
        if identity.provider != PROVIDER:
            continue
        if corp_ids is not None and identity.tenant not in corp_ids:
            continue
        directory.unlink_identity(origin, identity.id, reason=reason)
        count += 1
    return count


def _policy_corps() -> set[str]:
    """Corps whose sources say links end on a password change (default on)."""
    from idaas.auth import sources
    from idaas.dingtalk import connections

    corps: set[str] = set()
    for source in sources.configured():
        if source.type not in ("dingtalk", "dingtalk_micro"):
            continue
        if not source.settings.get("unlink_on_password_change", True):
            continue
        conn = connections.get(str(source.settings.get("connection") or ""))
        if conn is not None:
            corps.add(conn.corp_id)
    return corps


def on_account_deactivated(
    sender: Flask, *, account_id: int, status: str, origin: str, **extra: Any
) -> None:
    """An account was disabled or left: drop its DingTalk links (deleted rows cascade)."""
    if status == "deleted":
        return
    unlink_all(origin, account_id, f"account_{status}")


def on_password_changed(
    sender: Flask,
    *,
    account_id: int,
    origin: str,
    reset: bool,
    forced: bool = False,
    **extra: Any,
) -> None:
    """A password changed or was reset: drop links of corps whose policy says so.

    A change the person was made to do at sign-in (first sign-in, after an admin reset) keeps
    links: the reset already dropped the old ones, and a link made in this very sign-in would
    otherwise vanish and ask them to bind again next time.
    """
    if forced:
        return
    corps = _policy_corps()
    if corps:
        unlink_all(origin, account_id, "password_reset" if reset else "password_changed", corps)
