"""Configuration: load order, embedded defaults, generated secrets, production checks."""

import os
import stat
import subprocess
import sys

import pytest

from idaas import create_app
from idaas.config import ConfigError


def run_cli(args, env_overrides, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env.update({"IDAAS_INSTANCE_PATH": str(tmp_path), **env_overrides})
    return subprocess.run(
        [sys.executable, "-m", "idaas", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_production_without_secret_key_fails_with_one_line(tmp_path):
    result = run_cli(["accounts", "list"], {"IDAAS_ENV": "production"}, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "idaas: configuration error: IDAAS_SECRET_KEY is required when IDAAS_ENV=production"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_production_with_a_weak_secret_key_fails(tmp_path):
    result = run_cli(
        ["accounts", "list"], {"IDAAS_ENV": "production", "IDAAS_SECRET_KEY": "short"}, tmp_path
    )
    assert result.returncode != 0
    assert "too weak" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_refuses_to_start_with_bad_config(tmp_path):
    result = run_cli(["serve", "--port", "1"], {"IDAAS_ENV": "production"}, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("idaas: configuration error:")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ENV": "staging"}, "IDAAS_ENV must be"),
        ({"DATABASE_URL": "mysql://x"}, "IDAAS_DATABASE_URL"),
        ({"ISSUER": "sso.example.com"}, "IDAAS_ISSUER"),
        ({"ENCRYPTION_KEYS": "not-a-key"}, "Fernet"),
        ({"ARGON2_TIME_COST": "two"}, "whole number"),
        (
            {"ENV": "production", "SECRET_KEY": "x" * 40, "ENCRYPTION_KEYS": None},
            "IDAAS_ENCRYPTION_KEYS is required",
        ),
    ],
)
def test_invalid_settings_are_refused(instance_dir, overrides, message):
    with pytest.raises(ConfigError, match=message):
        create_app(overrides)


def test_production_requires_https_issuer(instance_dir):
    from cryptography.fernet import Fernet

    config = {
        "ENV": "production",
        "SECRET_KEY": "s" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ISSUER": "http://sso.example",
    }
    with pytest.raises(ConfigError, match="https"):
        create_app(config)
    app = create_app({**config, "ISSUER": "https://sso.example/"})
    assert app.config["ISSUER"] == "https://sso.example"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_embedded_defaults_generate_secrets_once_with_0600(tmp_path, monkeypatch):
    monkeypatch.setenv("IDAAS_INSTANCE_PATH", str(tmp_path))
    for name in list(os.environ):
        if name.startswith("IDAAS_") and name != "IDAAS_INSTANCE_PATH":
            monkeypatch.delenv(name)
    first = create_app()
    second = create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["ENCRYPTION_KEYS"] == second.config["ENCRYPTION_KEYS"]
    assert first.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'idaas.db'}"
    for name in ("secret_key", "encryption.key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600


def test_load_order_defaults_then_instance_file_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("IDAAS_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "config.py").write_text("PASSWORD_MIN_LENGTH = 12\nAUDIT_RETENTION_DAYS = 30\n")
    monkeypatch.setenv("IDAAS_AUDIT_RETENTION_DAYS", "90")
    app = create_app()
    assert app.config["PASSWORD_MIN_LENGTH"] == 12
    assert app.config["AUDIT_RETENTION_DAYS"] == 90
    assert app.config["ARGON2_MEMORY_COST"] == 19456


def test_postgres_urls_use_psycopg(instance_dir):
    app = create_app({"DATABASE_URL": "postgresql://u@h/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
