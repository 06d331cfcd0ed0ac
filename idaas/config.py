"""Configuration: committed defaults, then `instance/config.py`, then `IDAAS_*` variables.

Validation happens once, at start-up, and fails with a single clear line (`ConfigError`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "IDAAS"
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message is one actionable line."""


class Defaults:
    """Committed defaults; every key can be overridden by `instance/config.py` or `IDAAS_<KEY>`."""

    ENV = "development"
    SECRET_KEY: str | None = None
    ENCRYPTION_KEYS: list[str] | None = None
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    ISSUER = "http://127.0.0.1:5000"

    # Password hashing: OWASP argon2id baseline (m=19456 KiB, t=2, p=1).
    ARGON2_MEMORY_COST = 19456
    ARGON2_TIME_COST = 2
    ARGON2_PARALLELISM = 1

    # Password policy.
    PASSWORD_MIN_LENGTH = 8
    PASSWORD_REQUIRED_CLASSES = 3
    PASSWORD_HISTORY = 5
    PASSWORD_MAX_AGE_DAYS = 0
    PASSWORD_CHANGE_ON_FIRST_LOGIN = True

    # Sign-in sessions (idaas.auth): idle and absolute lifetimes, partial sign-ins (MFA step).
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    SESSION_PENDING_MINUTES = 10
    SESSION_COOKIE_NAME_AUTH = "idaas_sid"
    # Lockout after N failed passwords for M minutes; throttles per IP and per account.
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_MINUTES = 15
    LOGIN_RATE_LIMIT_IP = "30/minute"
    LOGIN_RATE_LIMIT_ACCOUNT = "10/minute"
    # MFA: required for everyone (True) or per account; "remember this device" lifetime (0 = off).
    MFA_REQUIRED = False
    MFA_REMEMBER_DEVICE_DAYS = 30
    MFA_ISSUER_NAME = "idaas"
    # Profile fields a person may edit on the portal (the directory still enforces ownership);
    # email and mobile are sign-in identifiers, so they are off unless the organisation wants.
    PORTAL_EDITABLE_FIELDS = ["display_name", "locale"]  # also allowed: "email", "mobile"

    AUDIT_RETENTION_DAYS = 180

    DEFAULT_PHONE_REGION = "CN"
    BABEL_DEFAULT_LOCALE = "zh_CN"
    LANGUAGES = ["zh_CN", "en"]

    DINGTALK_OAPI_BASE = "https://oapi.dingtalk.com"
    DINGTALK_API_BASE = "https://api.dingtalk.com"
    DINGTALK_LOGIN_BASE = "https://login.dingtalk.com"
    # --- DingTalk directory sync (issue 15) ---
    # Seconds a callback timestamp may differ from our clock (dingtalk-api.md §6.2).
    DINGTALK_CALLBACK_WINDOW = 300
    # Apply stored events on a background thread of the process that stored them.
    DINGTALK_SYNC_APPLY_INLINE = True
    # Import rows per transaction batch (new people are created in bulk, one commit a batch).
    DINGTALK_SYNC_BATCH = 500
    # DingTalk calls per second per app per API, shared by all processes (§8.3); 0/None = none.
    DINGTALK_SYNC_QPS: float | None = 20

    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}


def _coerce_list(value: Any) -> list[str]:
    """Accept a list or a comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value]


def _read_or_create_secret(path: Path, make: Any) -> str:
    """Read a generated secret from the instance folder, creating it (mode 0600) the first time."""
    if path.exists():
        return path.read_text().strip()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def instance_path() -> Path:
    """The instance folder: `IDAAS_INSTANCE_PATH` or `instance/` at the project root."""
    return Path(os.environ.get("IDAAS_INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()


def finalise(config: dict[str, Any], instance: Path) -> None:
    """Fill derived values, generate embedded-default secrets, and validate; raise ConfigError."""
    env = str(config.get("ENV", "development")).lower()
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"IDAAS_ENV must be development, production or testing, not {env!r}")
    config["ENV"] = env
    production = env == "production"

    secret_key = config.get("SECRET_KEY")
    if production:
        if not secret_key:
            raise ConfigError("IDAAS_SECRET_KEY is required when IDAAS_ENV=production")
        if len(str(secret_key)) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"IDAAS_SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} "
                "random characters"
            )
    elif not secret_key:
        instance.mkdir(parents=True, exist_ok=True)
        secret_key = _read_or_create_secret(
            instance / "secret_key", lambda: secrets.token_urlsafe(48)
        )
    config["SECRET_KEY"] = secret_key

    keys = config.get("ENCRYPTION_KEYS")
    if not keys:
        if production:
            raise ConfigError("IDAAS_ENCRYPTION_KEYS is required when IDAAS_ENV=production")
        instance.mkdir(parents=True, exist_ok=True)
        keys = [
            _read_or_create_secret(
                instance / "encryption.key", lambda: Fernet.generate_key().decode()
            )
        ]
    keys = _coerce_list(keys)
    for key in keys:
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "IDAAS_ENCRYPTION_KEYS must be comma-separated Fernet keys "
                "(32 url-safe base64 bytes)"
            ) from None
    config["ENCRYPTION_KEYS"] = keys

    url = config.get("DATABASE_URL") or f"sqlite:///{instance / 'idaas.db'}"
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg://")):
        raise ConfigError(
            "IDAAS_DATABASE_URL must be sqlite:///path or postgresql+psycopg://user@host/db"
        )
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config["DATABASE_URL"] = url
    config["SQLALCHEMY_DATABASE_URI"] = url

    issuer = str(config.get("ISSUER", "")).rstrip("/")
    if not (issuer.startswith("https://") or issuer.startswith("http://")):
        raise ConfigError("IDAAS_ISSUER must be an absolute http(s) URL")
    if production and not issuer.startswith("https://"):
        raise ConfigError("IDAAS_ISSUER must use https when IDAAS_ENV=production")
    config["ISSUER"] = issuer
    config["PREFERRED_URL_SCHEME"] = "https" if issuer.startswith("https://") else "http"

    for name in ("ARGON2_MEMORY_COST", "ARGON2_TIME_COST", "ARGON2_PARALLELISM"):
        try:
            config[name] = int(config[name])
        except (TypeError, ValueError):
            raise ConfigError(f"IDAAS_{name} must be a whole number") from None
    if production and config["ARGON2_MEMORY_COST"] < Defaults.ARGON2_MEMORY_COST:
        raise ConfigError("IDAAS_ARGON2_MEMORY_COST is below the OWASP minimum of 19456 KiB")
