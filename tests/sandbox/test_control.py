"""The `/_sandbox/` control API, seeding, docstring citations and the CLI."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from idaas.dingtalk.client import DingTalkClient
from idaas.sandbox.dingtalk import create_sandbox_app
from idaas.sandbox.dingtalk.seed import generate
from idaas.sandbox.dingtalk.state import Sandbox
from tests.sandbox.fixtures import LiveSandbox, start_sandbox

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_SECTIONS = re.compile(r"§\d+(\.\d+)?")


def test_state_describes_corp_apps_callbacks_and_counts(live_sandbox: LiveSandbox) -> None:
    """`GET /_sandbox/state`: corp_id, apps (key, secret, agent id), callbacks, counts."""
    state = live_sandbox.get("/state")
    assert state["corp_id"].startswith("ding")
    assert {"app_key", "app_secret", "agent_id"} <= set(state["apps"][0])
    assert state["callbacks"] == [] and state["departments"] == 8 and state["users"] == 60


def test_seed_is_realistic_and_deterministic() -> None:
    """Chinese names, unique 11-digit mobiles and emails, job numbers, nested departments."""
    one, two = generate(60, 500, seed=5), generate(60, 500, seed=5)
    assert one == two
    assert generate(60, 500, seed=6) != one
    mobiles = [u["mobile"] for u in one.users]
    emails = [u["email"] for u in one.users]
    assert len(set(mobiles)) == 500 and all(re.fullmatch(r"1[3-9]\d{9}", m) for m in mobiles)
    assert len(set(emails)) == 500 and all(e.endswith("@example.cn") for e in emails)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", u["name"]) for u in one.users)
    assert [u["job_number"] for u in one.users[:2]] == ["E000001", "E000002"]
    parents = {d["dept_id"]: d["parent_id"] for d in one.departments}

    def depth(dept_id: int) -> int:
        return 0 if dept_id == 1 else 1 + depth(parents[dept_id])

    assert max(depth(d) for d in parents) >= 3
    names = [(d["parent_id"], d["name"]) for d in one.departments]
    assert len(set(names)) == len(names)


def test_seed_through_control_api(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """`POST /_sandbox/seed` replaces the corp; the client sees it."""
    answer = live_sandbox.post(
        "/seed", {"corp_id": "dingseeded", "departments": 5, "users": 30, "seed": 9}
    )
    assert answer == {"corp_id": "dingseeded", "departments": 5, "users": 30}
    assert dingtalk.count_users() == 30


def test_control_errors_are_400(live_sandbox: LiveSandbox) -> None:
    """Invalid control requests answer 400/404 with a message."""
    bad = live_sandbox.control.post("/departments", json={"name": "x", "parent_id": 42})
    assert bad.status_code == 400 and bad.json()["errcode"] == 60004
    assert live_sandbox.control.post("/current-user", json={"userid": "nope"}).status_code == 404
    assert live_sandbox.control.post("/faults", json={"bogus": 1}).status_code == 400
    assert live_sandbox.control.post("/variants", json={"bogus": 1}).status_code == 400


def test_home_page(live_sandbox: LiveSandbox) -> None:
    """The sandbox home page lists the app's credentials and links to both login pages."""
    page = live_sandbox.control.get("/")
    assert page.status_code == 200
    assert live_sandbox.state.default_app.app_key in page.text and "/oauth2/auth" in page.text


def test_every_endpoint_cites_the_reference() -> None:
    """Each sandbox view's docstring cites the dingtalk-api.md section it follows."""
    app = create_sandbox_app(Sandbox())
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        doc = app.view_functions[rule.endpoint].__doc__ or ""
        if not REFERENCE_SECTIONS.search(doc):
            missing.append(f"{rule.rule} ({rule.endpoint})")
    app.extensions["dingtalk_sandbox"].close()
    assert missing == []


@pytest.mark.slow
def test_twenty_thousand_users_listed_with_the_implied_number_of_calls(
    http: httpx.Client,
) -> None:
    """20,000 users in 1,000 departments: seeded, then listed with exactly the implied calls."""
    for sandbox in start_sandbox(departments=0, users=0):
        answer = sandbox.post("/seed", {"departments": 1000, "users": 20_000, "seed": 42})
        assert answer["departments"] == 1000 and answer["users"] == 20_000
        memberships = {d: len(u) for d, u in sandbox.state.members.items()}
        sandbox.control.delete("/calls")
        client = sandbox.client(http, qps=None)
        users = list(client.iter_all_users())
        assert len(users) == 20_000 == len({u["userid"] for u in users})
        counts = sandbox.get("/calls")["counts"]
        expected_pages = sum(max(1, math.ceil(n / 100)) for n in memberships.values())
        assert counts["topapi/v2/user/list"] == expected_pages
        assert counts["topapi/v2/department/listsub"] == 1001
        assert counts["gettoken"] == 1
        assert sandbox.get("/calls")["errors"] == {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_runs_the_sandbox(http: httpx.Client) -> None:
    """`idaas sandbox dingtalk --json` prints credentials and serves /_sandbox/state."""
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "idaas"),
        "sandbox",
        "dingtalk",
        "--port",
        str(port),
        "--users",
        "25",
        "--departments",
        "4",
        "--corp-id",
        "dingclitest",
        "--app-key",
        "dingclikey",
        "--app-secret",
        "cli-secret",
        "--json",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["corp_id"] == "dingclitest" and info["app_key"] == "dingclikey"
        assert info["env"]["IDAAS_DINGTALK_OAPI_BASE"] == f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                state = http.get(f"http://127.0.0.1:{port}/_sandbox/state").json()
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert state["users"] == 25 and state["apps"][0]["app_secret"] == "cli-secret"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
