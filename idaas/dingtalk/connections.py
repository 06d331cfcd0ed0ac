"""DingTalk connection settings: corp, internal app credentials, login generation, test.

A connection is one DingTalk organisation (corp id) and the internal app idaas uses in it
(AppKey, AppSecret, agent id). QR login uses the new OAuth generation
(`login.dingtalk.com`) by default, or the legacy SNS one with its own appid and
appsecret. Secrets are encrypted at rest (`security.secretbox`) and never logged. Every write is
audited.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  obtain-orgapp-token, obtain-identity-credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from flask import current_app
from flask_babel import gettext
from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import Mapped, mapped_column

from idaas import audit
from idaas.columns import CreatedAt, IntPk, UpdatedAt
from idaas.dingtalk.client import DingTalkApp, DingTalkClient
from idaas.dingtalk.errors import DingTalkError
from idaas.extensions import db
from idaas.security import secretbox

GENERATIONS = ("oauth2", "sns")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.\-+/=]")
TOKEN_MIN, TOKEN_MAX = 4, 256
HTTP_TIMEOUT = 10.0


class ConnectionError_(ValueError):
    """Invalid connection settings; `fields` maps each field to a readable problem."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


class DingTalkConnection(db.Model):  # type: ignore[name-defined]
    """One DingTalk organisation and the internal app idaas uses there (secrets encrypted)."""

    __tablename__ = "dingtalk_connection"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    corp_id: Mapped[str] = mapped_column(String(128))
    app_key: Mapped[str] = mapped_column(String(128))
    app_secret_enc: Mapped[str] = mapped_column(String(1024))
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    login_generation: Mapped[str] = mapped_column(String(16), default="oauth2")
    sns_app_id: Mapped[str | None] = mapped_column(String(128))
    sns_app_secret_enc: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    @property
    def app_secret(self) -> str:
        """The decrypted AppSecret (never log it)."""
        return secretbox.decrypt(self.app_secret_enc)

    @property
    def sns_app_secret(self) -> str | None:
        """The decrypted legacy SNS appsecret, if configured."""
        return secretbox.decrypt(self.sns_app_secret_enc) if self.sns_app_secret_enc else None


def clean_value(value: Any) -> str:
    """Trim a pasted value: surrounding spaces, line breaks and zero-width characters go."""
    text = str(value or "")
    for junk in ("\u200b", "\ufeff", "\u00a0"):
        text = text.replace(junk, "")
    return re.sub(r"\s+", "", text.strip()) if "\n" in text or "\r" in text else text.strip()


def _check_token_like(label: str, value: str, errors: dict[str, str], key: str) -> None:
    if not value:
        errors[key] = gettext("%(label)s is required", label=label)
    elif any(ch.isspace() for ch in value):
        errors[key] = gettext(
            "%(label)s contains spaces; paste it again without spaces", label=label
        )
    elif strange := list(dict.fromkeys(ch for ch in value if not _TOKEN_CHARS.fullmatch(ch))):
        errors[key] = gettext(
            "%(label)s has characters DingTalk never uses (%(shown)s); copy it from the console "
            "again",
            label=label,
            shown=" ".join(repr(ch) for ch in strange[:5]),
        )
    elif len(value) < TOKEN_MIN:
        errors[key] = gettext(
            "%(label)s is too short (%(length)s characters); copy the whole value from the console",
            label=label,
            length=len(value),
        )
    elif len(value) > TOKEN_MAX:
        errors[key] = gettext(
            "%(label)s is too long (%(length)s characters, at most %(most)s); copy only that "
            "value from the console",
            label=label,
            length=len(value),
            most=TOKEN_MAX,
        )


def _validate(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in ("corp_id", "app_key", "app_secret", "sns_app_id", "sns_app_secret"):
        if key in data:
            clean[key] = clean_value(data[key]) or None
    if "corp_id" in clean:
        _check_token_like("corp id", clean["corp_id"] or "", errors, "corp_id")
    if "app_key" in clean:
        _check_token_like("AppKey", clean["app_key"] or "", errors, "app_key")
    if "app_secret" in clean:
        _check_token_like("AppSecret", clean["app_secret"] or "", errors, "app_secret")
    if "agent_id" in data:
        raw = clean_value(data["agent_id"])
        if raw and not raw.isdigit():
            errors["agent_id"] = gettext("agent id must be a number (应用信息 → AgentId)")
        clean["agent_id"] = int(raw) if raw.isdigit() else None
    if "login_generation" in data:
        generation = clean_value(data["login_generation"]).lower() or "oauth2"
        if generation not in GENERATIONS:
            errors["login_generation"] = gettext(
                "login generation must be oauth2 (new) or sns (legacy)"
            )
        clean["login_generation"] = generation
    for key, label in (("sns_app_id", "SNS appid"), ("sns_app_secret", "SNS appsecret")):
        if clean.get(key):
            _check_token_like(label, clean[key], errors, key)
    if errors:
        raise ConnectionError_(errors)
    return clean


def get(name: str) -> DingTalkConnection | None:
    """A connection by name."""
    return db.session.scalar(select(DingTalkConnection).where(DingTalkConnection.name == name))


def require(name: str) -> DingTalkConnection:
    """A connection by name, or ConnectionError_ when there is none."""
    row = get(name)
    if row is None:
        raise ConnectionError_({"connection": f"no DingTalk connection named {name!r}"})
    return row


def list_all() -> list[DingTalkConnection]:
    """Every connection, by name."""
    return list(db.session.scalars(select(DingTalkConnection).order_by(DingTalkConnection.name)))


def save(origin: str, name: str, **fields: Any) -> DingTalkConnection:
    """Create or update a connection from (possibly pasted) values; audited; commits."""
    name = clean_value(name).lower()
    if not _NAME.match(name):
        raise ConnectionError_({"name": "use lower-case letters, digits, - or _ (max 64)"})
    clean = _validate(fields)
    row = get(name)
    creating = row is None
    if row is None:
        missing = {
            k: f"{k.replace('_', ' ')} is required"
            for k in ("corp_id", "app_key", "app_secret")
            if not clean.get(k)
        }
        if missing:
            raise ConnectionError_(missing)
        row = DingTalkConnection(name=name, login_generation="oauth2")
        db.session.add(row)
    for key in ("corp_id", "app_key", "agent_id", "login_generation", "sns_app_id"):
        if key in clean and (clean[key] is not None or key in ("agent_id", "sns_app_id")):
            setattr(row, key, clean[key])
    if clean.get("app_secret"):
        row.app_secret_enc = secretbox.encrypt(clean["app_secret"])
    if "sns_app_secret" in clean:
        value = clean["sns_app_secret"]
        row.sns_app_secret_enc = secretbox.encrypt(value) if value else None
    changed = sorted(k for k in clean if k not in ("app_secret", "sns_app_secret"))
    if clean.get("app_secret"):
        changed.append("app_secret")
    if "sns_app_secret" in clean:
        changed.append("sns_app_secret")
    db.session.flush()
    audit.record(
        origin,
        "dingtalk.connection.created" if creating else "dingtalk.connection.updated",
        f"dingtalk_connection:{row.id}",
        details={"name": name, "fields": changed},
    )
    db.session.commit()
    return row


def app_of(row: DingTalkConnection) -> DingTalkApp:
    """The internal app of a connection, for `DingTalkClient`."""
    return DingTalkApp(row.app_key, row.app_secret, row.agent_id, row.corp_id)


def sns_app_of(row: DingTalkConnection) -> DingTalkApp:
    """The legacy SNS login app (its own appid/appsecret, else the internal app)."""
    if row.sns_app_id and row.sns_app_secret:
        return DingTalkApp(row.sns_app_id, row.sns_app_secret, None, row.corp_id)
    return app_of(row)


def _http() -> httpx.Client:
    return httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False)


def client(row: DingTalkConnection, http: httpx.Client, *, sns: bool = False) -> DingTalkClient:
    """A DingTalk client for the connection's internal app (or its SNS login app)."""
    app = sns_app_of(row) if sns else app_of(row)
    return DingTalkClient.from_config(http, app, current_app.config)


def redirect_url(source_name: str) -> str:
    """The QR callback URL to register in DingTalk's console (from the issuer)."""
    return f"{current_app.config['ISSUER']}/login/dingtalk/{quote(source_name, safe='')}/callback"


def micro_app_url(source_name: str, client_id: str = "<client_id>") -> str:
    """The workbench home-page URL of the micro-app for an application."""
    name = quote(source_name, safe="")
    return f"{current_app.config['ISSUER']}/login/dingtalk-micro/{name}?app={client_id}"


@dataclass
class CheckResult:
    """What "test connection" found: ok, and DingTalk's exact error in words when not."""

    ok: bool
    message: str
    errcode: int | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"ok": self.ok, "message": self.message, "errcode": self.errcode, "code": self.code}


def check(origin: str, row: DingTalkConnection) -> CheckResult:
    """Fetch an app token (and the SNS signature check when legacy) and report the outcome."""
    try:
        with _http() as http:
            dt = client(row, http)
            dt.fetch_token()
            result = CheckResult(True, "DingTalk accepted the AppKey and AppSecret (token fetched)")
    except DingTalkError as error:
        result = CheckResult(False, str(error), error.errcode, error.code)
    except httpx.HTTPError as error:
        result = CheckResult(False, f"could not reach DingTalk: {type(error).__name__}: {error}")
    details = {"name": row.name, "message": result.message[:300]}
    record_test(origin, row, "dingtalk.connection.tested", result.ok, details)
    return result


def record_test(
    origin: str, row: DingTalkConnection, action: str, ok: bool, details: dict[str, Any] | None
) -> None:
    """Audit (and commit) the outcome of a test of `row` as `action`."""
    target = f"dingtalk_connection:{row.id}"
    audit.record(origin, action, target, outcome="success" if ok else "failure", details=details)
    db.session.commit()


def describe(row: DingTalkConnection) -> dict[str, Any]:
    """A connection for people and scripts; secrets are never included, only whether set."""
    return {
        "name": row.name,
        "corp_id": row.corp_id,
        "app_key": row.app_key,
        "app_secret": "set" if row.app_secret_enc else None,
        "agent_id": row.agent_id,
        "login_generation": row.login_generation,
        "sns_app_id": row.sns_app_id,
        "sns_app_secret": "set" if row.sns_app_secret_enc else None,
    }
