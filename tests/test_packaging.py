"""The built wheel is a working idaas, and `make run` installs only what running needs.

Both tests build fresh virtual environments (slow, and they need the package index or pip's
cache); they run in the SQLite pass of `make test`, so CI runs them on every push.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.packaging]

#: Packages only the test extras bring; none may appear in a runtime install.
TEST_ONLY = {
    "pytest",
    "hypothesis",
    "playwright",
    "ruff",
    "mypy",
    "schemathesis",
    "openapi-spec-validator",
    "requests-oauthlib",
    "scim2-tester",
    "types-redis",
}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDAAS_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _installed(python: Path, cwd: Path) -> set[str]:
    """Distribution names installed in the environment of `python`, normalised."""
    listing = _run(
        [str(python), "-m", "pip", "list", "--format", "json"], cwd, _clean_env(), timeout=120
    )
    return {entry["name"].lower().replace("_", "-") for entry in json.loads(listing)}


def test_the_wheel_carries_its_data_and_serves_login_from_a_clean_venv(tmp_path):
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        tmp_path,
        _clean_env(),
    )
    (wheel,) = dist.glob("idaas-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "idaas/templates/auth/login.html",
        "idaas/static/css/app.css",
        "idaas/migrations/env.py",
        "idaas/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
    ):
        assert required in names, required
    assert any(n.startswith("idaas/migrations/versions/") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, _clean_env())
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path, _clean_env())
    assert not (_installed(python, tmp_path) & TEST_ONLY)
    where = _run([str(python), "-c", "import idaas; print(idaas.__file__)"], tmp_path, _clean_env())
    assert where.strip().startswith(str(venv)), where

    work = tmp_path / "site"
    work.mkdir()
    env = _clean_env(IDAAS_INSTANCE_PATH=str(work / "instance"))
    out = _run([str(venv / "bin" / "idaas"), "init", "--json"], work, env, timeout=120)
    assert json.loads(out.splitlines()[0])["admin_username"] == "admin"

    server = subprocess.Popen(
        [str(venv / "bin" / "idaas"), "serve", "--port", "0", "--workers", "1"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        base = _listening_at(server)
        login = httpx.get(f"{base}/login", timeout=10, headers={"Accept-Language": "zh-CN"})
        assert login.status_code == 200
        assert 'name="password"' in login.text
        assert "登录" in login.text  # the compiled zh_CN catalogue shipped in the wheel
        assert httpx.get(f"{base}/static/css/app.css", timeout=10).status_code == 200
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200  # schema at head
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)


def _listening_at(server: subprocess.Popen[str]) -> str:
    """The base URL gunicorn reports once it has bound its (OS-chosen) port."""
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "Listening at: " in line:
            return line.split("Listening at: ", 1)[1].split()[0]
    raise AssertionError("gunicorn did not report its address:\n" + "".join(seen))


def test_make_install_runtime_brings_no_test_package_and_prints_no_warning(tmp_path):
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", "install-runtime"],
        cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # pip's notes about this machine's own index configuration are not the project's output.
    warnings = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "warning:" in line.lower() and "Location 'file:" not in line
    ]
    assert not warnings, warnings
    installed = _installed(venv / "bin" / "python", tmp_path)
    assert {"idaas", "flask", "gunicorn"} <= installed
    assert not (installed & TEST_ONLY), installed & TEST_ONLY
