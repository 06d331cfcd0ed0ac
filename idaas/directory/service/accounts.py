"""Account writes and reads: identifiers, memberships, passwords and status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import BindParameter, Select, bindparam, delete, literal, or_, select, text

from idaas.directory import signals
from idaas.directory.errors import NotFound, ValidationFailed
from idaas.directory.models import (
    ACCOUNT_STATUSES,
    LOCAL_SOURCE,
    Account,
    Department,
    ExternalReference,
    GroupMember,
    Membership,
    PasswordHistory,
    RoleAssignment,
)
from idaas.directory.normalise import (
    InvalidValue,
    clean_email,
    clean_mobile,
    clean_text,
    clean_username,
    email_key,
    username_key,
)
from idaas.directory.service import unit
from idaas.directory.service.attributes import merge_values, validate_values
from idaas.directory.service.departments import subtree_ids
from idaas.directory.service.unit import (
    _hold_write_lock,
    check_version,
    check_writable,
    fetch,
    raise_if,
    record_change,
    unit_of_work,
)
from idaas.extensions import db, utcnow
from idaas.security import signin_policy
from idaas.security.passwords import hash_password

PROFILE_FIELDS = (
    "username",
    "display_name",
    "given_name",
    "family_name",
    "email",
    "mobile",
    "employee_number",
    "title",
    "locale",
)
UPDATABLE = (*PROFILE_FIELDS, "attributes", "memberships", "manager_id")
# Any number: it only has to be the same in every process that changes a manager.
MANAGER_LOCK = 0x6D616E61
MembershipSpec = dict[str, Any]


def get_account(account_id: int) -> Account:
    """An account by id, or NotFound."""
    return fetch(Account, account_id, lazy_gettext("Account %(id)s does not exist."))


def get_account_by_uuid(account_uuid: str) -> Account:
    """An account by its public uuid, or NotFound."""
    account = db.session.scalar(select(Account).where(Account.uuid == account_uuid))
    if account is None:
        raise NotFound(gettext("Account %(id)s does not exist.", id=account_uuid))
    return account


def find_by_identifier(identifier: str) -> Account | None:
    """The account whose username, email or mobile (any formatting) is `identifier`."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    conditions = [Account.username_key == username_key(identifier)]
    if "@" in identifier:
        conditions.append(Account.email_key == email_key(identifier))
    try:
        mobile = clean_mobile(identifier, current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidValue:
        mobile = None
    if mobile:
        conditions.append(Account.mobile == mobile)
    matches = list(db.session.scalars(select(Account).where(or_(*conditions)).limit(2)))
    return matches[0] if len(matches) == 1 else None


def accounts_query(
    q: str | None = None,
    department_id: int | None = None,
    status: str | None = None,
    group_id: int | None = None,
    role_id: int | None = None,
    include_subdepartments: bool = True,
) -> Select[tuple[Account]]:
    """A filtered, id-ordered account query (for cursor pagination by id)."""
    query = select(Account)
    if q:
        # Inlined, not bound: a prepared statement's generic plan cannot see the pattern and walks
        # the username index (100 ms at 100k accounts) instead of the trigram indexes (6 ms).
        pattern: BindParameter[str] = bindparam(
            "search", f"%{q.strip().lower()}%", literal_execute=True
        )
        query = query.where(
            or_(
                Account.username_key.like(pattern),
                Account.email_key.like(pattern),
                Account.display_name.ilike(pattern),
                Account.mobile.like(pattern),
                Account.employee_number.ilike(pattern),
            )
        )
    if department_id is not None:
        ids = subtree_ids(department_id) if include_subdepartments else [department_id]
        query = query.where(
            Account.id.in_(select(Membership.account_id).where(Membership.department_id.in_(ids)))
        )
    if status:
        query = query.where(Account.status == status)
    if group_id is not None:
        query = query.where(
            Account.id.in_(select(GroupMember.account_id).where(GroupMember.group_id == group_id))
        )
    if role_id is not None:
        query = query.where(
            Account.id.in_(
                select(RoleAssignment.account_id).where(RoleAssignment.role_id == role_id)
            )
        )
    return query.order_by(Account.id)


def list_accounts(after_id: int | None = None, limit: int = 100, **filters: Any) -> list[Account]:
    """One page of accounts after `after_id` (keyset pagination)."""
    query = accounts_query(**filters)
    if after_id is not None:
        query = query.where(Account.id > after_id)
    return list(db.session.scalars(query.limit(limit)))


def _clean_profile(fields: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Normalise the profile fields present in `fields`; add an error per bad field."""
    region = current_app.config["DEFAULT_PHONE_REGION"]
    cleaners: dict[str, Any] = {
        "username": clean_username,
        "display_name": lambda v: clean_text(v, 128),
        "given_name": lambda v: clean_text(v, 64),
        "family_name": lambda v: clean_text(v, 64),
        "email": clean_email,
        "mobile": lambda v: clean_mobile(v, region),
        "employee_number": lambda v: clean_text(v, 64),
        "title": lambda v: clean_text(v, 128),
        "locale": lambda v: clean_text(v, 16),
    }
    clean: dict[str, Any] = {}
    for name, cleaner in cleaners.items():
        if name not in fields:
            continue
        value = fields[name]
        if value is not None and not isinstance(value, str):
            errors[name] = gettext("Must be text.")
            continue
        try:
            clean[name] = cleaner(value) if value is not None else None
        except InvalidValue as exc:
            errors[name] = str(exc)
    if "locale" in clean and clean["locale"] not in (None, *current_app.config["LANGUAGES"]):
        errors["locale"] = gettext(
            "Must be one of: %(options)s.", options=", ".join(current_app.config["LANGUAGES"])
        )
    return clean


def _check_unique(clean: dict[str, Any], errors: dict[str, str], exclude_id: int | None) -> None:
    """Add an error for each identifier another account already uses."""
    checks = {
        "username": (
            Account.username_key,
            username_key(clean["username"]) if clean.get("username") else None,
        ),
        "email": (Account.email_key, email_key(clean.get("email"))),
        "mobile": (Account.mobile, clean.get("mobile")),
        "employee_number": (Account.employee_number, clean.get("employee_number")),
    }
    for name, (column, value) in checks.items():
        if name not in clean or value is None or name in errors:
            continue
        query = select(Account.id).where(column == value)
        if exclude_id is not None:
            query = query.where(Account.id != exclude_id)
        if db.session.scalar(query.limit(1)) is not None:
            errors[name] = gettext("Another account already uses this value.")


def _clean_memberships(
    specs: Sequence[MembershipSpec | int], errors: dict[str, str]
) -> list[MembershipSpec]:
    """Validate membership specs; exactly one ends up primary (the first, unless one is marked)."""
    cleaned: list[MembershipSpec] = []
    for spec in specs:
        item: dict[str, Any] = {"department_id": spec} if isinstance(spec, int) else dict(spec)
        try:
            cleaned.append(
                {
                    "department_id": int(item["department_id"]),
                    "is_primary": bool(item.get("is_primary", False)),
                    "sort_order": int(item.get("sort_order") or 0),
                    "title": clean_text(item.get("title"), 128),
                }
            )
        except (KeyError, TypeError, ValueError):
            errors["memberships"] = gettext(
                "Each membership needs a department id, a whole-number sort order and a "
                "title of at most 128 characters."
            )
            return []
    ids = [m["department_id"] for m in cleaned]
    if len(set(ids)) != len(ids):
        errors["memberships"] = gettext("A department is listed twice.")
        return []
    if ids:
        existing = set(db.session.scalars(select(Department.id).where(Department.id.in_(ids))))
        missing = [str(i) for i in ids if i not in existing]
        if missing:
            errors["memberships"] = gettext("Unknown department: %(ids)s.", ids=", ".join(missing))
            return []
    primaries = [m for m in cleaned if m["is_primary"]]
    if len(primaries) > 1:
        errors["memberships"] = gettext("Only one department can be the primary one.")
        return []
    if cleaned and not primaries:
        cleaned[0]["is_primary"] = True
    return cleaned


def _manager_problem(account_id: int | None, manager_id: Any) -> str | None:
    """Why `manager_id` cannot be the manager of `account_id` (None for a new account): it
    must be an existing account, not the account itself, nor someone who reports to it."""
    if isinstance(manager_id, bool) or not isinstance(manager_id, int):
        return str(gettext("Must be an account id."))
    manager = db.session.get(Account, manager_id)
    if manager is None:
        return str(gettext("Account %(id)s does not exist.", id=manager_id))
    if account_id is None:
        return None
    if manager_id == account_id:
        return str(gettext("An account cannot be its own manager."))
    # Two concurrent changes (A under B, B under A) would each miss the other's loop: they take
    # turns (SQLite: the write lock; PostgreSQL: an advisory lock), then read the chain.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MANAGER_LOCK})
    else:
        _hold_write_lock()
    chain = (
        select(Account.manager_id.label("id"))
        .where(Account.id == manager_id)
        .cte("chain", recursive=True)
    )
    chain = chain.union(select(Account.manager_id).join(chain, Account.id == chain.c.id))
    if db.session.scalar(select(literal(1)).where(chain.c.id == account_id).limit(1)):
        return str(
            gettext(
                "%(name)s already reports to this account (directly or through others), so "
                "cannot be its manager: managers cannot form a loop.",
                name=manager.username,
            )
        )
    return None


def _password_problems(
    password: str, account_fields: dict[str, Any], history: list[str]
) -> list[str]:
    policy = signin_policy.effective().password
    personal = [account_fields.get(k) for k in ("username", "email", "mobile")]
    return policy.violations(password, personal, history)


def create_account(
    origin: str,
    *,
    username: str,
    display_name: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    email: str | None = None,
    mobile: str | None = None,
    employee_number: str | None = None,
    title: str | None = None,
    status: str = "active",
    locale: str | None = None,
    password: str | None = None,
    must_change_password: bool | None = None,
    memberships: Sequence[MembershipSpec | int] = (),
    attributes: dict[str, Any] | None = None,
    source: str = LOCAL_SOURCE,
    references: dict[str, str] | None = None,
    manager_id: int | None = None,
) -> Account:
    """Create an account; `references` maps an external system to this account's id there."""
    errors: dict[str, str] = {}
    fields = {
        "username": username,
        "display_name": display_name,
        "given_name": given_name,
        "family_name": family_name,
        "email": email,
        "mobile": mobile,
        "employee_number": employee_number,
        "title": title,
        "locale": locale,
    }
    clean = _clean_profile(fields, errors)
    if status not in ACCOUNT_STATUSES:
        errors["status"] = gettext(
            "Must be one of: %(options)s.", options=", ".join(ACCOUNT_STATUSES)
        )
    clean_members = _clean_memberships(memberships, errors)
    values = validate_values("account", attributes or {}, errors, creating=True)
    _check_unique(clean, errors, None)
    if manager_id is not None:
        problem = _manager_problem(None, manager_id)
        if problem:
            errors["manager_id"] = problem
    if password is not None:
        problems = _password_problems(password, clean, [])
        if problems:
            errors["password"] = " ".join(problems)
    raise_if(errors)
    if not clean.get("display_name"):
        clean["display_name"] = clean["username"]
    with unit_of_work():
        account = Account(
            **clean,
            username_key=username_key(clean["username"]),
            email_key=email_key(clean.get("email")),
            status=status,
            source=source,
            attributes=values,
            manager_id=manager_id,
        )
        if password is not None:
            account.password_hash = hash_password(password)
            account.password_changed_at = utcnow()
            account.must_change_password = (
                signin_policy.effective().password.change_on_first_login
                if must_change_password is None
                else must_change_password
            )
        db.session.add(account)
        db.session.flush()
        for spec in clean_members:
            db.session.add(Membership(account_id=account.id, **spec))
        for system, external_id in (references or {}).items():
            db.session.add(
                ExternalReference(
                    system=system,
                    object_type="account",
                    object_id=str(account.id),
                    external_id=external_id,
                )
            )
        record_change(
            origin,
            "account",
            account.id,
            "created",
            account.version,
            {
                **_public(clean),
                "status": status,
                "memberships": [m["department_id"] for m in clean_members],
                **({"manager_id": manager_id} if manager_id is not None else {}),
            },
        )
    return account


def _public(clean: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in clean.items() if k in PROFILE_FIELDS}


def update_account(
    origin: str, account_id: int, *, expected_version: int | None = None, **fields: Any
) -> Account:
    """Change profile fields, custom attributes or memberships of an account."""
    unit.refuse_unknown_fields(fields, UPDATABLE)
    with unit.writing(get_account, account_id, expected_version) as account:
        errors: dict[str, str] = {}
        clean = _clean_profile(fields, errors)
        if "username" in fields and clean.get("username") is None and "username" not in errors:
            errors["username"] = gettext("A username is required.")
        changes = {k: v for k, v in clean.items() if getattr(account, k) != v}
        if "attributes" in fields:
            merged = merge_values("account", account.attributes, fields["attributes"] or {})
            values = validate_values("account", merged, errors, exclude_id=account.id)
            if values != account.attributes:
                changes["attributes"] = values
        new_members: list[MembershipSpec] | None = None
        if "memberships" in fields:
            new_members = _clean_memberships(fields["memberships"] or [], errors)
            current = sorted(
                (m.department_id, m.is_primary, m.title or "") for m in account.memberships
            )
            wanted = sorted(
                (m["department_id"], m["is_primary"], m["title"] or "") for m in new_members
            )
            if wanted != current:
                changes["memberships"] = [m["department_id"] for m in new_members]
            else:
                new_members = None
        if "manager_id" in fields and fields["manager_id"] != account.manager_id:
            problem = (
                _manager_problem(account.id, fields["manager_id"])
                if fields["manager_id"] is not None
                else None
            )
            if problem:
                errors["manager_id"] = problem
            else:
                changes["manager_id"] = fields["manager_id"]
        check_writable(origin, account.source, "account", changes)
        _check_unique(changes, errors, account.id)
        raise_if(errors)
        if not changes:
            return account
        for name, value in changes.items():
            if name == "memberships":
                continue
            setattr(account, name, value)
        if "username" in changes:
            account.username_key = username_key(changes["username"])
        if "email" in changes:
            account.email_key = email_key(changes["email"])
        self_edit = origin == f"user:{account.id}"  # typed by the person: not verified
        if "email" in changes:
            account.email_verified = not self_edit
        if "mobile" in changes:
            account.mobile_verified = not self_edit
        if "display_name" in changes and not changes["display_name"]:
            account.display_name = account.username
        if new_members is not None:
            account.memberships.clear()
            db.session.flush()
            for spec in new_members:
                account.memberships.append(Membership(**spec))
        account.version += 1
        record_change(origin, "account", account.id, "updated", account.version, changes)
    return account


def set_status(
    origin: str, account_id: int, status: str, *, expected_version: int | None = None
) -> Account:
    """Activate, disable or mark an account as having left."""
    if status not in ACCOUNT_STATUSES:
        raise ValidationFailed(
            {"status": gettext("Must be one of: %(options)s.", options=", ".join(ACCOUNT_STATUSES))}
        )
    with unit_of_work():
        account = get_account(account_id)
        check_version(account.version, expected_version)
        check_writable(origin, account.source, "account", ["status"])
        if account.status == status:
            return account
        previous, account.status = account.status, status
        account.version += 1
        record_change(
            origin,
            "account",
            account.id,
            "status_changed",
            account.version,
            {"status": status, "previous_status": previous},
        )
        if status != "active":
            signals.account_deactivated.send(
                current_app._get_current_object(),  # type: ignore[attr-defined]
                account_id=account_id,
                status=status,
                origin=origin,
            )
    return account


def set_password(
    origin: str,
    account_id: int,
    password: str,
    *,
    must_change: bool = False,
    enforce_policy: bool = True,
) -> Account:
    """Set a new password (checked against the policy and history) and remember the old hash."""
    reset = not origin.startswith("user:")
    with unit_of_work():
        account = get_account(account_id)
        policy = signin_policy.effective().password
        if enforce_policy:
            history = list(
                db.session.scalars(
                    select(PasswordHistory.password_hash)
                    .where(PasswordHistory.account_id == account.id)
                    .order_by(PasswordHistory.id.desc())
                    .limit(max(policy.history - 1, 0))
                )
            )
            if account.password_hash:
                history.insert(0, account.password_hash)
            fields = {
                "username": account.username,
                "email": account.email,
                "mobile": account.mobile,
            }
            problems = _password_problems(password, fields, history)
            if problems:
                raise ValidationFailed({"password": " ".join(problems)})
        if account.password_hash:
            db.session.add(
                PasswordHistory(account_id=account.id, password_hash=account.password_hash)
            )
            _trim_history(account.id, policy.history)
        forced = account.must_change_password and not reset
        account.password_hash = hash_password(password)
        account.password_changed_at = utcnow()
        account.must_change_password = must_change
        account.version += 1
        record_change(
            origin,
            "account",
            account.id,
            "password_changed",
            account.version,
            {"reset": reset, "must_change_password": must_change},
        )
        signals.password_changed.send(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            account_id=account_id,
            origin=origin,
            reset=reset,
            forced=forced,
        )
    return account


def _trim_history(account_id: int, keep: int) -> None:
    db.session.flush()
    stale = (
        select(PasswordHistory.id)
        .where(PasswordHistory.account_id == account_id)
        .order_by(PasswordHistory.id.desc())
        .offset(max(keep, 1))
    )
    db.session.execute(
        delete(PasswordHistory).where(PasswordHistory.id.in_(list(db.session.scalars(stale))))
    )


def rehash_password(account_id: int, new_hash: str) -> None:
    """Store a re-computed hash of the same password (argon2 parameters changed); not a change."""
    account = get_account(account_id)
    account.password_hash = new_hash
    db.session.commit()


def delete_account(origin: str, account_id: int, *, expected_version: int | None = None) -> None:
    """Delete an account with its memberships, links and references."""
    with unit_of_work():
        account = get_account(account_id)
        check_version(account.version, expected_version)
        check_writable(origin, account.source, "account", ["username"])
        db.session.execute(
            delete(ExternalReference).where(
                ExternalReference.object_type == "account",
                ExternalReference.object_id == str(account.id),
            )
        )
        _clear_reports(origin, account.id)
        version = account.version + 1
        db.session.delete(account)
        record_change(
            origin, "account", account_id, "deleted", version, {"username": account.username}
        )
        signals.account_deactivated.send(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            account_id=account_id,
            status="deleted",
            origin=origin,
        )


def _clear_reports(origin: str, manager_id: int) -> None:
    """The accounts reporting to `manager_id` lose their manager, each a recorded change (the
    foreign key would clear them too, but silently: no event would reach other apps)."""
    reports = list(db.session.scalars(select(Account).where(Account.manager_id == manager_id)))
    for report in reports:
        report.manager_id = None
        report.version += 1
        record_change(origin, "account", report.id, "updated", report.version, {"manager_id": None})
