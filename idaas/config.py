"""Configuration: one typed settings model, loaded from committed defaults, then
`instance/config.py`, then `IDAAS_*` environment variables, then `create_app(config)`.

Validation happens once, at start-up, and fails with a single clear line (`ConfigError`) naming
the setting. To add a setting, declare it once on `Settings` (type, default, description) and
read it from `current_app.config`; docs/configuration.md is generated from this class
(`python -m idaas.config_docs --write`).
"""

from __future__ import annotations

import json
import os
import runpy
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import phonenumbers
from cryptography.fernet import Fernet
from limits import parse_many
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    DirectoryPath,
    Field,
    ValidationError,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from idaas import paths

PROJECT_ROOT = paths.PROJECT_ROOT
ENV_PREFIX = "IDAAS"
MIN_SECRET_KEY_LENGTH = 32
OWASP_ARGON2_MEMORY_COST = 19456
#: `IDAAS_*` variables that are not settings (read by the launcher or the test suite).
NOT_SETTINGS = ("INSTANCE_PATH", "TEST_", "REQUIRE_ALL")


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message is one actionable line."""


DEFAULT_ISSUER = "http://127.0.0.1:5000"


def _split_commas(value: Any) -> Any:
    """Accept a list or a comma-separated string (a JSON list also works)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _rate_limit(value: str) -> str:
    """A Flask-Limiter rate string such as `30/minute` or `10 per hour`."""
    try:
        if not parse_many(value):
            raise ValueError
    except ValueError:
        raise ValueError("must be a rate such as 30/minute or 10 per hour") from None
    return value


def _http_url(value: str) -> str:
    """An absolute http(s) URL without a trailing slash."""
    if not (value.startswith("https://") or value.startswith("http://")):
        raise ValueError("must be an absolute http(s) URL")
    return value.rstrip("/")


def _phone_region(value: str) -> str:
    """An ISO 3166 region phonenumbers knows (CN, HK, US...)."""
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region such as CN")
    return value.upper()


def _fernet_keys(value: list[str] | None) -> list[str] | None:
    """Every key must be a Fernet key (32 url-safe base64 bytes)."""
    for key in value or []:
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError(
                "must be comma-separated Fernet keys (32 url-safe base64 bytes)"
            ) from None
    return value or None


RateLimit = Annotated[str, AfterValidator(_rate_limit)]
BrandText128 = Annotated[str, Field(max_length=128)]
BrandText1000 = Annotated[str, Field(max_length=1000)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
Language = Literal["zh_CN", "en"]
ProfileField = Literal["display_name", "locale", "email", "mobile"]


class Webhook(BaseModel):
    """A webhook delivery target (HMAC-signed JSON POSTs of change events)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str = Field(pattern=r"^https?://\S+$", max_length=2048)
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    secret: str | None = Field(None, min_length=16)
    origin: str | None = None


class Settings(BaseSettings):
    """Every setting idaas reads, with its type, default and meaning.

    Override any of them in `instance/config.py` (`NAME = value`) or as `IDAAS_NAME`.
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}_",
        case_sensitive=True,
        extra="ignore",
        validate_default=True,
        frozen=True,
    )

    # Deployment.
    ENV: Annotated[
        Literal["development", "production", "testing"],
        BeforeValidator(lambda v: str(v).lower()),
    ] = Field("development", description="development, production or testing.")
    SECRET_KEY: str | None = Field(
        None,
        description="Signs cookies and tokens; generated into the instance folder outside "
        "production, required (32+ characters) in production.",
    )
    ENCRYPTION_KEYS: Annotated[
        list[str] | None, NoDecode, BeforeValidator(_split_commas), AfterValidator(_fernet_keys)
    ] = Field(
        None,
        description="Comma-separated Fernet keys for stored secrets, newest first; generated "
        "outside production, required in production.",
    )
    DATABASE_URL: str | None = Field(
        None,
        description="sqlite:///path or postgresql+psycopg://user@host/db; default SQLite in "
        "the instance folder.",
    )
    REDIS_URL: str | None = Field(
        None,
        pattern=r"^(redis|rediss|unix)://",
        description="Redis for rate limits and shared caches; unset: in-process memory.",
    )
    ISSUER: HttpUrl = Field(
        DEFAULT_ISSUER,
        description="Public base URL and OIDC issuer; https in production.",
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = Field(
        default_factory=dict, description="Extra SQLAlchemy engine options (JSON object)."
    )
    MIGRATIONS_DIRECTORY: DirectoryPath = Field(
        default_factory=lambda: paths.resource("migrations"),
        description="Alembic migrations; default: the ones shipped with idaas.",
    )
    TRANSLATIONS_DIRECTORY: DirectoryPath = Field(
        default_factory=paths.translations,
        description="Compiled message catalogues; default: the ones shipped with idaas.",
    )

    # Password hashing: OWASP argon2id baseline (m=19456 KiB, t=2, p=1).
    ARGON2_MEMORY_COST: int = Field(
        OWASP_ARGON2_MEMORY_COST, ge=8, description="argon2id memory in KiB (19456+ in production)."
    )
    ARGON2_TIME_COST: int = Field(2, ge=1, description="argon2id iterations.")
    ARGON2_PARALLELISM: int = Field(1, ge=1, description="argon2id lanes.")

    # Password policy.
    PASSWORD_MIN_LENGTH: int = Field(8, ge=1, le=128, description="Minimum password length.")
    PASSWORD_REQUIRED_CLASSES: int = Field(
        3, ge=0, le=4, description="Character classes (lower, upper, digit, other) required."
    )
    PASSWORD_HISTORY: int = Field(
        5, ge=0, le=100, description="Previous passwords that may not return."
    )
    PASSWORD_MAX_AGE_DAYS: int = Field(
        0, ge=0, le=3650, description="Password expiry in days (0: never)."
    )
    PASSWORD_CHANGE_ON_FIRST_LOGIN: bool = Field(
        True, description="New accounts change their password at first sign-in."
    )

    # Sign-in sessions (idaas.auth): idle and absolute lifetimes, partial sign-ins (MFA step).
    SESSION_IDLE_MINUTES: float = Field(
        30, gt=0, le=525600, description="Sign-in session idle timeout."
    )
    SESSION_ABSOLUTE_HOURS: float = Field(
        12, gt=0, le=8784, description="Sign-in session lifetime."
    )
    SESSION_PENDING_MINUTES: float = Field(
        10, gt=0, description="Lifetime of a partial sign-in (MFA or binding step)."
    )
    SESSION_COOKIE_NAME_AUTH: str = Field(
        "idaas_sid", pattern=r"^[A-Za-z0-9_-]+$", description="Sign-in session cookie name."
    )
    # Lockout after N failed passwords for M minutes; throttles per IP and per account.
    LOCKOUT_THRESHOLD: int = Field(
        5, ge=0, le=1000, description="Failed passwords before a lockout (0: never lock)."
    )
    LOCKOUT_MINUTES: float = Field(15, gt=0, le=525600, description="Lockout duration.")
    LOGIN_RATE_LIMIT_IP: RateLimit = Field("30/minute", description="Password tries per IP.")
    LOGIN_RATE_LIMIT_ACCOUNT: RateLimit = Field(
        "10/minute", description="Password tries per account."
    )
    # MFA: required for everyone (True) or per account; "remember this device" lifetime (0 = off).
    MFA_REQUIRED: bool = Field(False, description="Everyone must enrol in TOTP.")
    MFA_REMEMBER_DEVICE_DAYS: int = Field(
        30, ge=0, description="'Remember this device' lifetime in days (0: off)."
    )
    MFA_ISSUER_NAME: str = Field(
        "idaas", min_length=1, description="Issuer shown in authenticator apps."
    )
    # Email and mobile are sign-in identifiers, so they are off unless the organisation wants.
    PORTAL_EDITABLE_FIELDS: Annotated[
        list[ProfileField], NoDecode, BeforeValidator(_split_commas)
    ] = Field(
        default_factory=lambda: list[ProfileField](["display_name", "locale"]),
        description="Profile fields people may edit on the portal "
        "(display_name, locale, email, mobile).",
    )

    AUDIT_RETENTION_DAYS: int = Field(
        180, ge=1, description="Days audit events are kept by `idaas audit purge`."
    )

    # Language and region.
    DEFAULT_PHONE_REGION: Annotated[str, AfterValidator(_phone_region)] = Field(
        "CN", description="Region for mobile numbers written without a country code."
    )
    BABEL_DEFAULT_LOCALE: Language = Field("zh_CN", description="Language when none is chosen.")
    LANGUAGES: Annotated[list[Language], NoDecode, BeforeValidator(_split_commas)] = Field(
        default_factory=lambda: list[Language](["zh_CN", "en"]),
        min_length=1,
        description="Languages offered (zh_CN, en).",
    )

    # OAuth 2 / OpenID Connect (idaas.oidc).
    ACCESS_TOKEN_LIFETIME: int = Field(
        3600, ge=60, le=24 * 3600, description="Access and ID token lifetime in seconds."
    )
    ACCESS_TOKEN_AUDIENCE: str | None = Field(
        None, min_length=1, description="`aud` of access tokens; default: the issuer."
    )
    TOKEN_FAILURE_RATE_LIMIT: RateLimit = Field(
        "30 per minute", description="Failed token requests per client and IP."
    )
    KEY_ROTATION_DAYS: float = Field(
        0, ge=0, description="Rotate the signing key every N days (0: by hand)."
    )
    KEY_ROTATION_OVERLAP: int = Field(
        3600, ge=0, description="Seconds a new key is published before it signs."
    )
    PAIRWISE_SALT: str | None = Field(
        None,
        min_length=16,
        description="Salt of pairwise subject identifiers; default: the secret key.",
    )

    # The /api/v1 JSON API.
    INTEGRATION_REQUEST_RATE_LIMIT: RateLimit = Field(
        "10 per hour", description="Integration requests per IP."
    )
    INTEGRATION_STATUS_RATE_LIMIT: RateLimit = Field(
        "60 per minute", description="Integration-request status checks per IP."
    )
    INTEGRATION_REQUEST_EXPIRY_DAYS: float = Field(
        30,
        gt=0,
        le=3650,
        description="A pending integration request not decided within this many days expires: "
        "it can no longer be approved, and the requester must submit it again.",
    )

    # Rate limiting (Flask-Limiter reads these).
    RATELIMIT_ENABLED: bool = Field(True, description="Turn every rate limit on or off.")
    RATELIMIT_STORAGE_URI: str | None = Field(
        None,
        pattern=r"^[a-z+]+://",
        description="Flask-Limiter storage; default: REDIS_URL, else memory://.",
    )
    RATELIMIT_HEADERS_ENABLED: bool = Field(True, description="Send X-RateLimit-* headers.")
    RATELIMIT_KEY_PREFIX: str = Field(
        "", pattern=r"^[A-Za-z0-9_:.-]*$", description="Prefix of every rate-limit key."
    )
    WTF_CSRF_ENABLED: bool = Field(True, description="CSRF protection of forms (Flask-WTF).")

    # DingTalk (idaas.dingtalk).
    DINGTALK_OAPI_BASE: HttpUrl = Field(
        "https://oapi.dingtalk.com", description="DingTalk legacy (oapi) endpoint."
    )
    DINGTALK_API_BASE: HttpUrl = Field(
        "https://api.dingtalk.com", description="DingTalk new (v1.0) API endpoint."
    )
    DINGTALK_LOGIN_BASE: HttpUrl = Field(
        "https://login.dingtalk.com", description="DingTalk sign-in page endpoint."
    )
    DINGTALK_LOGIN_SCRIPT_URL: HttpUrl = Field(
        "https://g.alicdn.com/dingding/h5-dingtalk-login/0.21.0/ddlogin.js",
        description="DingTalk's embedded QR login script.",
    )
    DINGTALK_JSAPI_URL: HttpUrl = Field(
        "https://g.alicdn.com/dingding/dingtalk-jsapi/3.1.0/dingtalk.open.js",
        description="DingTalk JSAPI for micro-app free login.",
    )
    DINGTALK_STATE_MAX_AGE: int = Field(
        600, ge=30, description="Seconds a DingTalk sign-in `state` stays valid."
    )
    DINGTALK_START_RATE_LIMIT: RateLimit = Field(
        "30/minute", description="DingTalk sign-in starts per IP."
    )

    # DingTalk directory sync (idaas.dingtalk.sync).
    DINGTALK_CALLBACK_WINDOW: int = Field(
        300,
        ge=30,
        le=3600,
        description="Seconds a DingTalk callback timestamp may differ from the server's clock.",
    )
    DINGTALK_SYNC_APPLY_INLINE: bool = Field(
        False,
        description="Apply stored DingTalk events on a background thread of the process that "
        "stored them, instead of queueing a `dingtalk.events` job for the workers (only for a "
        "single process with no worker).",
    )
    DINGTALK_SYNC_BATCH: int = Field(
        500, ge=1, le=10_000, description="Import rows per transaction batch."
    )
    DINGTALK_SYNC_QPS: float | None = Field(
        20,
        ge=0,
        description="DingTalk calls per second per app and API, shared by every process "
        "(0 or unset: no limit).",
    )

    # Digital-factory API (idaas.industry).
    INDUSTRY_API_ENABLED: bool = Field(
        False,
        description="Mount the digital-factory API (each API client also needs the `industry` "
        "scope).",
    )
    INDUSTRY_API_PREFIX: str = Field(
        "/industry",
        pattern=r"^(/[A-Za-z0-9._-]+)+$",
        description="URL prefix of the digital-factory endpoints.",
    )
    INDUSTRY_TIMESTAMP_WINDOW_SECONDS: int = Field(
        900,
        ge=30,
        le=3600,
        description="Accepted X-Ca-Timestamp skew in seconds; nonces are kept as long.",
    )
    INDUSTRY_MAIN_ACCOUNT: str | None = Field(
        None,
        min_length=1,
        description="Username of the tenant's main account; default: the first administrator.",
    )
    INDUSTRY_ADMIN_ROLES: CommaList = Field(
        default_factory=lambda: ["idaas.admin"],
        description="Roles whose holders are the contract's `admin` (pass every check).",
    )
    INDUSTRY_PRESET_ROLES: CommaList = Field(
        default_factory=list,
        description="Roles the API refuses to delete or re-permission (besides the admin roles).",
    )
    INDUSTRY_PAGE_SIZE_MAX: int = Field(
        200, ge=1, le=1000, description="Largest pageSize of account/query."
    )
    INDUSTRY_CACHE_ENTRIES: int = Field(
        100_000,
        ge=0,
        description="Entries per process in each permission cache (emptied on relevant changes).",
    )

    # Security hardening.
    TRUSTED_PROXY_HOPS: int = Field(
        0,
        ge=0,
        le=10,
        description="Reverse proxies whose X-Forwarded-* headers are trusted (werkzeug "
        "ProxyFix); behind nginx set 1, or every per-IP limit is shared by all clients.",
    )
    LOGIN_STATE_RATE_LIMIT_IP: RateLimit = Field(
        "20/minute",
        description="New embedded DingTalk QR states per IP on /login; above it the page links "
        "to the QR instead.",
    )
    MFA_RATE_LIMIT_ACCOUNT: RateLimit = Field(
        "10/minute", description="MFA and recovery-code tries per account."
    )
    REFRESH_TOKEN_REUSE_GRACE_SECONDS: int = Field(
        5,
        ge=0,
        le=60,
        description="Seconds in which the same client re-presenting a just-rotated refresh "
        "token gets the same new pair instead of a family revocation (0: off).",
    )
    MAX_CONTENT_LENGTH: int = Field(
        1024 * 1024, ge=1024, description="Largest request body in bytes (413 above it)."
    )
    KEY_CACHE_CHECK_SECONDS: float = Field(
        1.0,
        ge=0,
        description="Seconds between a process's checks of the signing-key generation "
        "(0: every request).",
    )
    KEY_PUBLISH_SECONDS: float = Field(
        3.0,
        ge=0,
        description="Seconds a new key is in every JWKS before it signs (at least twice "
        "KEY_CACHE_CHECK_SECONDS).",
    )
    REFRESH_REQUIRES_OFFLINE_ACCESS: bool = Field(
        True, description="Issue refresh tokens only when `offline_access` is granted."
    )

    # SCIM 2.0 server (idaas.scim).
    SCIM_MAX_RESULTS: int = Field(
        200, ge=1, le=10_000, description="Most resources in one SCIM list or search response."
    )
    SCIM_BULK_MAX_OPERATIONS: int = Field(
        1000, ge=1, le=100_000, description="Most operations in one SCIM Bulk request."
    )
    SCIM_BULK_MAX_PAYLOAD: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest SCIM Bulk body in bytes (above the global MAX_CONTENT_LENGTH).",
    )
    SCIM_UNKNOWN_ATTRIBUTES: Literal["ignore", "forbid"] = Field(
        "ignore",
        description="Attributes idaas does not store: ignore them (what Entra and Okta need) or "
        "refuse them (400 invalidSyntax).",
    )

    # Outbound provisioning (idaas.scim.push, idaas.dingtalk.push).
    PROVISIONING_ALLOW_HTTP: bool = Field(
        False,
        description="Accept plain-http SCIM push targets and token URLs on hosts other than "
        "loopback (127.0.0.0/8, ::1, localhost, which are always allowed).",
    )
    PROVISIONING_LOG_RETENTION_DAYS: int = Field(
        30,
        ge=1,
        le=3650,
        description="Days the SCIM push targets' delivery log entries are kept (the "
        "housekeeping job prunes older ones).",
    )

    # Branding (idaas.ui): a string, or one per language ({"zh_CN": "...", "en": "..."}).
    BRAND_NAME: BrandText128 | dict[Language, BrandText128] = Field(
        "",
        description="Organisation name on the login, portal, consent and error pages and in "
        "the browser title (a string or one per language); empty: idaas.",
    )
    BRAND_LOGO_URL: str = Field(
        "",
        pattern=r"^((https?://|/)[^\s\"'<>]*)?$",
        max_length=1024,
        description="Logo URL (absolute, or a path such as /static/img/logo.svg); empty: the "
        "idaas logo.",
    )
    BRAND_LOGIN_NOTICE: BrandText1000 | dict[Language, BrandText1000] = Field(
        "",
        description="Optional plain-text notice on the login page (a string or one per language).",
    )

    # Self-service password reset (idaas.auth.reset).
    PASSWORD_RESET_ENABLED: bool = Field(
        True,
        description="Let people reset a forgotten password by proving their DingTalk identity.",
    )
    PASSWORD_RESET_CODE_MINUTES: int = Field(
        10,
        ge=1,
        le=60,
        description="Minutes a code sent as a DingTalk work notification (and its link) is valid.",
    )
    PASSWORD_RESET_CODE_ATTEMPTS: int = Field(
        5, ge=1, le=20, description="Wrong codes allowed before a code stops accepting any."
    )
    PASSWORD_RESET_TICKET_MINUTES: int = Field(
        15,
        ge=1,
        le=120,
        description="Minutes a proven identity has to pass MFA and choose the new password.",
    )
    PASSWORD_RESET_RATE_LIMIT_IP: RateLimit = Field(
        "20/hour", description="Password-reset attempts per client IP."
    )
    PASSWORD_RESET_RATE_LIMIT_ACCOUNT: RateLimit = Field(
        "5/hour", description="Reset-code requests per typed identifier."
    )

    # Delivery engine (idaas.events).
    EVENTS_EMBEDDED_WORKER: Literal["auto", "true", "false"] = Field(
        "auto",
        description="Run the worker as a thread inside `idaas serve` / `idaas demo`: auto = on "
        "SQLite only.",
    )
    EVENTS_CONCURRENCY: int = Field(8, ge=1, le=256, description="Delivery threads per worker.")
    EVENTS_BATCH_SIZE: int = Field(
        64, ge=1, le=10_000, description="Deliveries a worker claims per round."
    )
    EVENTS_LANES: int = Field(
        2, ge=1, le=32, description="Claim/deliver/settle loops per worker that overlap."
    )
    EVENTS_LEASE_SECONDS: float = Field(
        60.0, gt=0, description="Seconds a claimed delivery stays leased to its worker."
    )
    EVENTS_POLL_SECONDS: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Safety-net poll when no wake-up (NOTIFY, Redis, in-process) arrives.",
    )
    EVENTS_DELIVERY_TIMEOUT: float = Field(
        5.0, gt=0, le=300, description="Timeout of one outbound delivery in seconds."
    )
    EVENTS_RETRY_BASE_SECONDS: float = Field(
        2.0, gt=0, description="First retry delay (doubles each attempt, with jitter)."
    )
    EVENTS_RETRY_MAX_SECONDS: float = Field(
        600.0, gt=0, description="Longest retry delay in seconds."
    )
    EVENTS_DEAD_AFTER_SECONDS: float = Field(
        86400.0,
        gt=0,
        description="A delivery still failing this long after it was queued becomes a dead letter.",
    )
    EVENTS_JOB_LEASE_SECONDS: float = Field(
        60.0, gt=0, description="Seconds a job's claim lasts without a heartbeat."
    )
    EVENTS_MAX_JOBS: int = Field(2, ge=0, le=64, description="Jobs one worker runs at once.")
    EVENTS_SCHEDULES: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {
            "oidc.rotate_keys": 90 * 86400.0,
            "housekeeping.prune": 3600.0,
            "audit.retention": 86400.0,
            "dingtalk.reconcile_all": 86400.0,
            # Stored DingTalk events whose apply job was never queued (the process died after
            # answering DingTalk) wait at most this long.
            "dingtalk.events": 300.0,
        },
        description="Periodic jobs: job kind -> interval in seconds (0 turns one off), run by "
        "one leader.",
    )
    EVENTS_PRUNE_GRACE_SECONDS: float = Field(
        86400.0, ge=0, description="Expired codes, tokens and sessions are kept this long."
    )
    EVENTS_RETENTION_DAYS: int = Field(
        7, ge=1, description="Days delivered deliveries and finished jobs are kept."
    )
    EVENTS_WEBHOOKS: list[Webhook] = Field(
        default_factory=list,
        description='Webhook targets: [{"name", "url", "events": ["account.*"], "secret", '
        '"origin"}].',
    )
    OIDC_NONCE_TTL_SECONDS: float = Field(
        86400.0, gt=0, description="Seconds a used OIDC nonce is refused again."
    )


def _python_file(path: Path) -> dict[str, Any]:
    """The upper-case names of a Python settings file (`instance/config.py`)."""
    if not path.is_file():
        return {}
    return {k: v for k, v in runpy.run_path(str(path)).items() if k.isupper()}


class _Values(PydanticBaseSettingsSource):
    """A fixed mapping as a settings source (the instance file)."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.values.items() if k in self.settings_cls.model_fields}


def _flask_env_value(raw: str) -> Any:
    """What Flask's `from_prefixed_env` makes of a value: JSON when it parses, else the text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _passthrough_env() -> dict[str, Any]:
    """`IDAAS_*` variables that are not idaas settings: Flask's and extensions' own keys."""
    prefix = f"{ENV_PREFIX}_"
    found: dict[str, Any] = {}
    for name, raw in os.environ.items():
        key = name.removeprefix(prefix)
        if (
            name.startswith(prefix)
            and key.isupper()
            and key not in Settings.model_fields
            and not key.startswith(NOT_SETTINGS)
        ):
            found[key] = _flask_env_value(raw)
    return found


def _describe(error: dict[str, Any]) -> str:
    """One line for one pydantic error: `IDAAS_NAME must ... (got 'value')`."""
    name = str(error["loc"][0]) if error["loc"] else "configuration"
    kind = error["type"]
    context = error.get("ctx") or {}
    reasons = {
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "bool_parsing": "must be true or false",
        "greater_than_equal": f"must be at least {context.get('ge')}",
        "greater_than": f"must be greater than {context.get('gt')}",
        "less_than_equal": f"must be at most {context.get('le')}",
        "literal_error": f"must be {context.get('expected')}",
        "string_pattern_mismatch": f"must match {context.get('pattern')}",
        "path_not_directory": "must be an existing directory",
        "too_short": "must not be empty",
        "string_too_short": "must not be empty",
        "dict_type": "must be a JSON object",
        "list_type": "must be a list",
        "string_type": "must be text",
    }
    reason = reasons.get(kind)
    if reason is None:
        reason = str(error["msg"]).removeprefix("Value error, ")
    shown = repr(error.get("input"))
    if len(shown) > 60 or name in {"SECRET_KEY", "ENCRYPTION_KEYS"}:
        return f"IDAAS_{name} {reason}"
    return f"IDAAS_{name} {reason} (got {shown})"


def load_settings(instance: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Validate defaults <- instance/config.py <- IDAAS_* <- overrides; raise ConfigError."""
    file_values = _python_file(instance / "config.py")
    explicit = {k: v for k, v in (overrides or {}).items() if k in Settings.model_fields}

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], *args: Any, **kwargs: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # Highest priority first: create_app(config), the environment, the instance file.
            return (
                InitSettingsSource(settings_cls, explicit),
                EnvSettingsSource(settings_cls),
                _Values(settings_cls, file_values),
            )

    try:
        # The sources fill every field; mypy cannot know (no pydantic plugin configured).
        loaded: Settings = cast(Any, _Loaded)()
    except ValidationError as error:
        raise ConfigError(_describe(dict(error.errors()[0]))) from None
    except SettingsError as error:
        field = str(error).split('"')[1] if '"' in str(error) else "configuration"
        raise ConfigError(f"IDAAS_{field} is not valid JSON") from None
    return loaded


def passthrough(instance: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keys that are not idaas settings (Flask's and extensions' own), in the same load order."""
    values = {k: v for k, v in _python_file(instance / "config.py").items()}
    values.update(_passthrough_env())
    values.update(overrides or {})
    return {k: v for k, v in values.items() if k not in Settings.model_fields}


def _read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """Read a generated secret from the instance folder, creating it (mode 0600) the first time."""
    if path.exists():
        return path.read_text().strip()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def instance_path() -> Path:
    """The instance folder: `IDAAS_INSTANCE_PATH`, else `instance/` (see `idaas.paths`)."""
    return paths.instance_path()


def finalise(settings: Settings, instance: Path) -> dict[str, Any]:
    """The app's config: the settings plus derived values and embedded-default secrets."""
    config = settings.model_dump()
    production = settings.ENV == "production"

    secret_key = settings.SECRET_KEY
    if production:
        if not secret_key:
            raise ConfigError("IDAAS_SECRET_KEY is required when IDAAS_ENV=production")
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
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

    keys = settings.ENCRYPTION_KEYS
    if not keys:
        if production:
            raise ConfigError("IDAAS_ENCRYPTION_KEYS is required when IDAAS_ENV=production")
        instance.mkdir(parents=True, exist_ok=True)
        keys = [
            _read_or_create_secret(
                instance / "encryption.key", lambda: Fernet.generate_key().decode()
            )
        ]
    config["ENCRYPTION_KEYS"] = keys

    url = settings.DATABASE_URL or f"sqlite:///{instance / 'idaas.db'}"
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

    if production and not settings.ISSUER.startswith("https://"):
        raise ConfigError("IDAAS_ISSUER must use https when IDAAS_ENV=production")
    config["PREFERRED_URL_SCHEME"] = "https" if settings.ISSUER.startswith("https://") else "http"
    if production and settings.ARGON2_MEMORY_COST < OWASP_ARGON2_MEMORY_COST:
        raise ConfigError("IDAAS_ARGON2_MEMORY_COST is below the OWASP minimum of 19456 KiB")
    if settings.BABEL_DEFAULT_LOCALE not in settings.LANGUAGES:
        raise ConfigError("IDAAS_BABEL_DEFAULT_LOCALE must be one of IDAAS_LANGUAGES")
    if settings.KEY_PUBLISH_SECONDS < settings.KEY_CACHE_CHECK_SECONDS * 2:
        raise ConfigError(
            "IDAAS_KEY_PUBLISH_SECONDS must be at least twice IDAAS_KEY_CACHE_CHECK_SECONDS"
        )
    config["RATELIMIT_STORAGE_URI"] = (
        settings.RATELIMIT_STORAGE_URI or settings.REDIS_URL or "memory://"
    )
    return config
