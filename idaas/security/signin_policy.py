"""The sign-in policy in force: the instance settings, overridden by what an admin saved.

Password rules, lockout, the MFA requirement and session lifetimes are read only through
`effective()`. It reads the one override row by primary key once per request (memoised on the
request), so a change saved by any process is in force in every process on the next request,
at the cost of one primary-key read on the requests that need the policy. A signed-in request
pays nothing more: the session lookup reads the row in its own statement (`remember`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from flask import current_app, has_request_context, request
from flask_babel import gettext
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from idaas import audit
from idaas.config import Settings
from idaas.errors import ServiceError
from idaas.extensions import db
from idaas.security.models import SignInPolicyOverride
from idaas.security.policy import PasswordPolicy

#: Policy field -> the instance setting that is its default.
FIELDS: dict[str, str] = {
    "password_min_length": "PASSWORD_MIN_LENGTH",
    "password_required_classes": "PASSWORD_REQUIRED_CLASSES",
    "password_history": "PASSWORD_HISTORY",
    "password_max_age_days": "PASSWORD_MAX_AGE_DAYS",
    "lockout_threshold": "LOCKOUT_THRESHOLD",
    "lockout_minutes": "LOCKOUT_MINUTES",
    "mfa_required": "MFA_REQUIRED",
    "session_idle_minutes": "SESSION_IDLE_MINUTES",
    "session_absolute_hours": "SESSION_ABSOLUTE_HOURS",
}
ROW_ID = 1
_MEMO = "idaas.signin_policy"


class SignInPolicyError(ServiceError):
    """A policy change was refused: invalid values (`fields`) or a stale version (`conflict`)."""

    def __init__(
        self, message: str, fields: dict[str, str] | None = None, *, conflict: bool = False
    ) -> None:
        super().__init__(message, fields)
        self.conflict = conflict


@dataclass(frozen=True)
class SignInPolicy:
    """The policy in force, its version (0: never changed) and which fields are overridden."""

    password_min_length: int
    password_required_classes: int
    password_history: int
    password_max_age_days: int
    lockout_threshold: int
    lockout_minutes: float
    mfa_required: bool
    session_idle_minutes: float
    session_absolute_hours: float
    version: int = 0
    overridden: frozenset[str] = field(default_factory=frozenset)

    @property
    def password(self) -> PasswordPolicy:
        """The rules a new password must satisfy."""
        return PasswordPolicy(
            min_length=self.password_min_length,
            required_classes=self.password_required_classes,
            history=self.password_history,
            max_age_days=self.password_max_age_days,
            change_on_first_login=bool(current_app.config["PASSWORD_CHANGE_ON_FIRST_LOGIN"]),
        )

    @property
    def lockout_duration(self) -> timedelta:
        """How long a lockout lasts."""
        return timedelta(minutes=self.lockout_minutes)

    @property
    def session_idle(self) -> timedelta:
        """How long a signed-in session may sit unused."""
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def session_lifetime(self) -> timedelta:
        """How long a signed-in session lasts at most."""
        return timedelta(hours=self.session_absolute_hours)

    def values(self) -> dict[str, Any]:
        """The nine policy values by field name."""
        return {name: getattr(self, name) for name in FIELDS}


def defaults() -> dict[str, Any]:
    """The instance settings the policy falls back to."""
    config = current_app.config
    return {name: config[setting] for name, setting in FIELDS.items()}


def _build(row: SignInPolicyOverride | None) -> SignInPolicy:
    values = defaults()
    overridden = set()
    for name in FIELDS:
        value = getattr(row, name) if row is not None else None
        if value is not None:
            values[name] = value
            overridden.add(name)
    return SignInPolicy(
        **values, version=int(row.version) if row else 0, overridden=frozenset(overridden)
    )


def _load() -> SignInPolicyOverride | None:
    # populate_existing: a session that outlives a request must still see other processes' saves.
    return db.session.get(SignInPolicyOverride, ROW_ID, populate_existing=True)


def effective() -> SignInPolicy:
    """The policy in force for this request (one primary-key read per request)."""
    if has_request_context():
        memo: SignInPolicy | None = request.environ.get(_MEMO)
        if memo is None:
            memo = request.environ[_MEMO] = _build(_load())
        return memo
    return _build(_load())


def remember(row: SignInPolicyOverride | None) -> SignInPolicy:
    """Take the override row a caller already read in this request as the request's policy."""
    policy = _build(row)
    if has_request_context():
        request.environ.setdefault(_MEMO, policy)
    return policy


def overrides() -> dict[str, Any]:
    """What the admin saved, by field (None: the instance setting applies)."""
    row = _load()
    return {name: getattr(row, name) if row else None for name in FIELDS}


_RULES = {name: Settings.model_fields[setting] for name, setting in FIELDS.items()}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation  # type: ignore[arg-type]
    )
    for name, info in _RULES.items()
}


def _message(error: Mapping[str, Any]) -> str:
    """A translated message for one pydantic error (the bounds are the Settings fields')."""
    kind, ctx = str(error["type"]), error.get("ctx") or {}
    if kind == "greater_than_equal":
        return str(gettext("Enter %(limit)s or more.", limit=ctx.get("ge")))
    if kind == "greater_than":
        return str(gettext("Enter a number greater than %(limit)s.", limit=ctx.get("gt")))
    if kind == "less_than_equal":
        return str(gettext("Enter %(limit)s or less.", limit=ctx.get("le")))
    if kind.startswith("bool"):
        return str(gettext("Choose yes or no."))
    if kind.startswith("int"):
        return str(gettext("Enter a whole number."))
    return str(gettext("Enter a number."))


def validate(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes as typed values (None: back to the instance setting), or the field errors."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            problems[name] = gettext("Unknown sign-in policy field.")
        elif value is None or value == "":
            clean[name] = None
        else:
            try:
                clean[name] = _ADAPTERS[name].validate_python(value)
            except ValidationError as exc:
                problems[name] = _message(exc.errors(include_url=False)[0])
    if problems:
        raise SignInPolicyError(
            gettext("Some values are not allowed; nothing was saved."), problems
        )
    return clean


def update(origin: str, changes: Mapping[str, Any], expected_version: int | None) -> SignInPolicy:
    """Save overrides (None: back to the instance setting); audited, version-checked, committed."""
    clean = validate(changes)
    try:
        row = _load()
        current = _build(row)
        if expected_version is not None and expected_version != current.version:
            raise SignInPolicyError(
                gettext(
                    "Someone else changed the sign-in policy meanwhile; "
                    "reload the page and make your change again."
                ),
                conflict=True,
            )
        if row is None:
            row = SignInPolicyOverride(id=ROW_ID)
            db.session.add(row)
        changed = [name for name, value in clean.items() if getattr(row, name) != value]
        if not changed:
            db.session.rollback()
            return current
        for name in changed:
            setattr(row, name, clean[name])
        row.updated_by = origin[:128]
        db.session.flush()
        after = _build(row)
        audit.record(
            origin,
            "settings.signin_policy.updated",
            f"signin_policy:{ROW_ID}",
            details={
                "before": {name: getattr(current, name) for name in changed},
                "after": {name: getattr(after, name) for name in changed},
                "overridden": sorted(after.overridden),
                "version": after.version,
            },
        )
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise SignInPolicyError(
            gettext(
                "Someone else changed the sign-in policy meanwhile; "
                "reload the page and make your change again."
            ),
            conflict=True,
        ) from None
    except BaseException:
        db.session.rollback()
        raise
    if has_request_context():
        request.environ[_MEMO] = after
    return after


def as_dict(policy: SignInPolicy) -> dict[str, Any]:
    """The policy as JSON-ready values (for the API and the CLI)."""
    data = asdict(policy)
    data["overridden"] = sorted(policy.overridden)
    return data
