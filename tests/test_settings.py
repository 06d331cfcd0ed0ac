"""The settings model: every setting refuses a bad value at start-up with one line naming it."""

from __future__ import annotations

import os

import pytest

from idaas.cli import main
from idaas.config import Settings
from tests.support import serving

PRODUCTION = {"IDAAS_ENV": "production", "IDAAS_ISSUER": "https://sso.example"}

#: One bad value per setting (plus what else it needs to be judged bad).
BAD: dict[str, tuple[str, dict[str, str]]] = {
    "ENV": ("staging", {}),
    "SECRET_KEY": ("short", PRODUCTION),
    "ENCRYPTION_KEYS": ("not-a-key", {}),
    "DATABASE_URL": ("mysql://db/idaas", {}),
    "REDIS_URL": ("localhost:6379", {}),
    "ISSUER": ("sso.example.com", {}),
    "SQLALCHEMY_ENGINE_OPTIONS": ("[1]", {}),
    "MIGRATIONS_DIRECTORY": ("/nonexistent/migrations", {}),
    "TRANSLATIONS_DIRECTORY": ("/nonexistent/translations", {}),
    "ARGON2_MEMORY_COST": ("lots", {}),
    "ARGON2_TIME_COST": ("two", {}),
    "ARGON2_PARALLELISM": ("0", {}),
    "PASSWORD_MIN_LENGTH": ("eight", {}),
    "PASSWORD_REQUIRED_CLASSES": ("5", {}),
    "PASSWORD_HISTORY": ("-1", {}),
    "PASSWORD_MAX_AGE_DAYS": ("never", {}),
    "PASSWORD_CHANGE_ON_FIRST_LOGIN": ("maybe", {}),
    "SESSION_IDLE_MINUTES": ("thirty", {}),
    "SESSION_ABSOLUTE_HOURS": ("0", {}),
    "SESSION_PENDING_MINUTES": ("-5", {}),
    "SESSION_COOKIE_NAME_AUTH": ("bad cookie", {}),
    "LOCKOUT_THRESHOLD": ("five", {}),
    "LOCKOUT_MINUTES": ("soon", {}),
    "LOGIN_RATE_LIMIT_IP": ("lots", {}),
    "LOGIN_RATE_LIMIT_ACCOUNT": ("10/fortnight", {}),
    "MFA_REQUIRED": ("sometimes", {}),
    "MFA_REMEMBER_DEVICE_DAYS": ("-1", {}),
    "MFA_ISSUER_NAME": ("", {}),
    "PORTAL_EDITABLE_FIELDS": ("display_name,password", {}),
    "AUDIT_RETENTION_DAYS": ("0", {}),
    "DEFAULT_PHONE_REGION": ("XX", {}),
    "BABEL_DEFAULT_LOCALE": ("fr", {}),
    "LANGUAGES": ("zh_CN,fr", {}),
    "ACCESS_TOKEN_LIFETIME": ("10", {}),
    "ACCESS_TOKEN_AUDIENCE": ("", {}),
    "TOKEN_FAILURE_RATE_LIMIT": ("often", {}),
    "KEY_ROTATION_DAYS": ("weekly", {}),
    "KEY_ROTATION_OVERLAP": ("-1", {}),
    "PAIRWISE_SALT": ("short", {}),
    "INTEGRATION_REQUEST_RATE_LIMIT": ("often", {}),
    "INTEGRATION_STATUS_RATE_LIMIT": ("1/eon", {}),
    "INTEGRATION_REQUEST_EXPIRY_DAYS": ("0", {}),
    "RATELIMIT_ENABLED": ("perhaps", {}),
    "RATELIMIT_STORAGE_URI": ("redis-host", {}),
    "RATELIMIT_HEADERS_ENABLED": ("perhaps", {}),
    "RATELIMIT_KEY_PREFIX": ("a b", {}),
    "WTF_CSRF_ENABLED": ("perhaps", {}),
    "DINGTALK_OAPI_BASE": ("oapi.dingtalk.com", {}),
    "DINGTALK_API_BASE": ("ftp://api.dingtalk.com", {}),
    "DINGTALK_LOGIN_BASE": ("login.dingtalk.com", {}),
    "DINGTALK_LOGIN_SCRIPT_URL": ("//g.alicdn.com/ddlogin.js", {}),
    "DINGTALK_JSAPI_URL": ("dingtalk.open.js", {}),
    "DINGTALK_STATE_MAX_AGE": ("1", {}),
    "DINGTALK_START_RATE_LIMIT": ("fast", {}),
    "INDUSTRY_API_ENABLED": ("maybe", {}),
    "INDUSTRY_API_PREFIX": ("industry", {}),
    "INDUSTRY_TIMESTAMP_WINDOW_SECONDS": ("5", {}),
    "INDUSTRY_MAIN_ACCOUNT": ("", {}),
    "INDUSTRY_ADMIN_ROLES": ("[1", {}),
    "INDUSTRY_PRESET_ROLES": ("[1", {}),
    "INDUSTRY_PAGE_SIZE_MAX": ("0", {}),
    "INDUSTRY_CACHE_ENTRIES": ("-1", {}),
    "TRUSTED_PROXY_HOPS": ("two", {}),
    "LOGIN_STATE_RATE_LIMIT_IP": ("often", {}),
    "MFA_RATE_LIMIT_ACCOUNT": ("often", {}),
    "REFRESH_TOKEN_REUSE_GRACE_SECONDS": ("-1", {}),
    "MAX_CONTENT_LENGTH": ("10", {}),
    "SCIM_MAX_RESULTS": ("0", {}),
    "SCIM_BULK_MAX_OPERATIONS": ("many", {}),
    "SCIM_BULK_MAX_PAYLOAD": ("10", {}),
    "SCIM_UNKNOWN_ATTRIBUTES": ("drop", {}),
    "PROVISIONING_ALLOW_HTTP": ("perhaps", {}),
    "PROVISIONING_LOG_RETENTION_DAYS": ("0", {}),
    "BRAND_NAME": ("x" * 200, {}),
    "BRAND_LOGO_URL": ("javascript:alert(1)", {}),
    "BRAND_LOGIN_NOTICE": ("x" * 2000, {}),
    "PASSWORD_RESET_ENABLED": ("perhaps", {}),
    "PASSWORD_RESET_CODE_MINUTES": ("0", {}),
    "PASSWORD_RESET_CODE_ATTEMPTS": ("lots", {}),
    "PASSWORD_RESET_TICKET_MINUTES": ("-5", {}),
    "PASSWORD_RESET_RATE_LIMIT_IP": ("often", {}),
    "PASSWORD_RESET_RATE_LIMIT_ACCOUNT": ("often", {}),
    "EVENTS_EMBEDDED_WORKER": ("sometimes", {}),
    "EVENTS_CONCURRENCY": ("0", {}),
    "EVENTS_BATCH_SIZE": ("many", {}),
    "EVENTS_LANES": ("0", {}),
    "EVENTS_LEASE_SECONDS": ("0", {}),
    "EVENTS_POLL_SECONDS": ("-1", {}),
    "EVENTS_DELIVERY_TIMEOUT": ("slow", {}),
    "EVENTS_RETRY_BASE_SECONDS": ("0", {}),
    "EVENTS_RETRY_MAX_SECONDS": ("-5", {}),
    "EVENTS_DEAD_AFTER_SECONDS": ("never", {}),
    "EVENTS_JOB_LEASE_SECONDS": ("0", {}),
    "EVENTS_MAX_JOBS": ("-1", {}),
    "EVENTS_SCHEDULES": ('{"housekeeping.prune": -1}', {}),
    "EVENTS_PRUNE_GRACE_SECONDS": ("-1", {}),
    "EVENTS_RETENTION_DAYS": ("0", {}),
    "EVENTS_WEBHOOKS": ('[{"name": "x", "url": "ftp://example.com"}]', {}),
    "OIDC_NONCE_TTL_SECONDS": ("0", {}),
    "DINGTALK_CALLBACK_WINDOW": ("5", {}),
    "DINGTALK_SYNC_APPLY_INLINE": ("maybe", {}),
    "DINGTALK_SYNC_BATCH": ("0", {}),
    "DINGTALK_SYNC_QPS": ("-1", {}),
    "KEY_CACHE_CHECK_SECONDS": ("-1", {}),
    "KEY_PUBLISH_SECONDS": ("0.5", {}),
    "REFRESH_REQUIRES_OFFLINE_ACCESS": ("sometimes", {}),
}


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No IDAAS_* variable but a fresh instance folder."""
    for name in list(os.environ):
        if name.startswith("IDAAS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDAAS_INSTANCE_PATH", str(tmp_path))
    return monkeypatch


def test_every_setting_has_a_bad_value_below():
    assert set(BAD) == set(Settings.model_fields)


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_the_defaults_start(clean_env, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["init", "--json"])
    assert stopped.value.code == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_stops_start_up_with_one_line(name, clean_env, capsys):
    value, extra = BAD[name]
    for key, extra_value in extra.items():
        clean_env.setenv(key, extra_value)
    clean_env.setenv(f"IDAAS_{name}", value)
    with pytest.raises(SystemExit) as stopped:
        main(["accounts", "list"])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"idaas: configuration error: IDAAS_{name} "), lines[0]


def test_a_bad_value_in_the_instance_file_names_the_setting(clean_env, tmp_path, capsys):
    (tmp_path / "config.py").write_text("LOCKOUT_THRESHOLD = 'five'\n")
    with pytest.raises(SystemExit) as stopped:
        main(["accounts", "list"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "idaas: configuration error: IDAAS_LOCKOUT_THRESHOLD must be a whole number (got 'five')"
    )


def test_serve_refuses_a_bad_value_before_binding(tmp_path):
    env = serving.clean_env(tmp_path, IDAAS_SESSION_IDLE_MINUTES="thirty")
    result = serving.idaas(env, "serve", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "idaas: configuration error: IDAAS_SESSION_IDLE_MINUTES must be a number (got 'thirty')"
    )


def test_values_are_typed_whatever_their_source(clean_env, tmp_path):
    from idaas import create_app

    (tmp_path / "config.py").write_text("PORTAL_EDITABLE_FIELDS = ['display_name', 'email']\n")
    clean_env.setenv("IDAAS_LOCKOUT_THRESHOLD", "7")
    clean_env.setenv("IDAAS_MFA_REQUIRED", "true")
    clean_env.setenv("IDAAS_LANGUAGES", "en,zh_CN")
    app = create_app({"SESSION_IDLE_MINUTES": "45"})
    assert app.config["LOCKOUT_THRESHOLD"] == 7
    assert app.config["MFA_REQUIRED"] is True
    assert app.config["LANGUAGES"] == ["en", "zh_CN"]
    assert app.config["SESSION_IDLE_MINUTES"] == 45.0
    assert app.config["PORTAL_EDITABLE_FIELDS"] == ["display_name", "email"]


def test_flask_and_extension_keys_pass_through(clean_env, tmp_path):
    from idaas import create_app

    (tmp_path / "config.py").write_text("SESSION_COOKIE_DOMAIN = 'sso.example'\n")
    clean_env.setenv("IDAAS_MAX_CONTENT_LENGTH", "1048576")
    app = create_app()
    assert app.config["SESSION_COOKIE_DOMAIN"] == "sso.example"
    assert app.config["MAX_CONTENT_LENGTH"] == 1048576


def test_the_committed_configuration_table_is_current():
    from idaas import config_docs

    document = config_docs.DOC.read_text()
    assert config_docs.render(document) == document, (
        "docs/configuration.md is stale: run python -m idaas.config_docs --write"
    )


def test_the_example_instance_file_names_only_real_settings():
    import re
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "instance" / "config.example.py"
    names = set(re.findall(r"^#? *([A-Z][A-Z0-9_]+) =", example.read_text(), re.M))
    assert names and names <= set(Settings.model_fields), names - set(Settings.model_fields)
