"""`idaas demo` as a subprocess: the JSON line, a QR sign-in with binding, a linked QR sign-in,
a micro-app free login through the sandbox's JSAPI endpoint, and a clean Ctrl-C."""

from __future__ import annotations

import json
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

from tests.dingtalk_login.support import DINGTALK_UA

ROOT = Path(__file__).resolve().parent.parent


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html) or re.search(
        rf'name="{name}" value="([^"]+)"', html
    )
    assert match, f"no {name} in page"
    return match.group(1)


def _confirm(http: httpx.Client, authorize_url: str, userid: str) -> str:
    page = http.get(authorize_url)
    assert page.status_code == 200 and userid in page.text
    base = authorize_url.split("/oauth2/auth", 1)[0]
    answer = http.post(
        f"{base}/oauth2/auth/confirm",
        data={"ticket": _field(page.text, "ticket"), "userid": userid},
    )
    assert answer.status_code == 302
    return str(answer.headers["location"])


def _start_demo(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
    env["IDAAS_INSTANCE_PATH"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "idaas", "demo", "--json", "--port", "0",
         "--sandbox-port", "0", "--rp-port", "0", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline()
    try:
        return process, json.loads(first)
    except json.JSONDecodeError:
        process.kill()
        raise AssertionError(first + process.stdout.read()) from None


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("idaas did not become healthy")


def _bind_by_qr(base: str, qr: str, person: dict) -> None:
    """A QR sign-in that needs binding, completed with the person's local account."""
    with httpx.Client(timeout=10, trust_env=False) as http:
        assert f'id="dt-qr-{qr}"' in http.get(f"{base}/login").text  # DingTalk's embedded QR
        authorize = http.get(f"{base}/login/dingtalk/{qr}").headers["location"]
        callback = _confirm(http, authorize, person["dingtalk_userid"])
        assert http.get(callback).headers["location"].endswith("/login/bind")
        page = http.get(f"{base}/login/bind").text
        done = http.post(
            f"{base}/login/bind",
            data={
                "csrf_token": _field(page, "csrf_token"),
                "identifier": person["username"],
                "password": person["password"],
            },
        )
        assert done.status_code == 302 and done.headers["location"].endswith("/portal/")
        assert http.get(f"{base}/portal/").status_code == 200


def _stop(process: subprocess.Popen[str]) -> str:
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    return output


def _roles(info: dict) -> list[tuple]:
    return [(p["name"], p["username"], p["bound"]) for p in info["people"]]


def test_demo_people_keep_their_roles_across_restarts_and_reset_starts_clean(tmp_path):
    process, first = _start_demo(tmp_path)
    try:
        _wait_healthy(first["idaas"])
        unbound = next(
            p for p in first["people"] if p["username"] and p["dingtalk_userid"] and not p["bound"]
        )
        _bind_by_qr(first["idaas"], first["dingtalk_sources"]["qr"], unbound)  # changes a role
    finally:
        _stop(process)

    process, second = _start_demo(tmp_path)
    try:
        assert _roles(second) == _roles(first)
        assert second["demo_app_client_id"] == first["demo_app_client_id"]
        _wait_healthy(second["idaas"])
        _bind_by_qr(second["idaas"], second["dingtalk_sources"]["qr"], unbound)  # binds again
    finally:
        _stop(process)

    process, third = _start_demo(tmp_path, "--reset")
    try:
        assert _roles(third) == _roles(first)
        assert third["demo_app_client_id"] != first["demo_app_client_id"]  # a fresh database
    finally:
        _stop(process)


def test_the_demo_refuses_a_taken_port_with_one_clear_line(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDAAS_")}
        env["IDAAS_INSTANCE_PATH"] = str(tmp_path)
        result = subprocess.run(
            [sys.executable, "-m", "idaas", "demo", "--port", str(port)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_default_port_falls_back_to_a_free_one():
    from idaas.demo import listen

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with listen("127.0.0.1", port, fallback=True) as other:
            assert other.getsockname()[1] not in (port, 0)
        with pytest.raises(OSError):
            listen("127.0.0.1", port, fallback=False)


def test_demo_drives_qr_and_micro_app_sign_ins(tmp_path):
    process, info = _start_demo(tmp_path)
    try:
        assert set(info) >= {"idaas", "sandbox", "demo_app", "dingtalk_sources", "people"}
        people = info["people"]
        for person in people:
            assert set(person) >= {"username", "password", "dingtalk_userid", "bound"}
        unbound = next(
            p for p in people if p["username"] and p["dingtalk_userid"] and not p["bound"]
        )
        bound = next(p for p in people if p["bound"])
        assert any(p["username"] is None for p in people)
        base, qr = info["idaas"], info["dingtalk_sources"]["qr"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

        _bind_by_qr(base, qr, unbound)

        # An already-linked person goes straight in.
        with httpx.Client(timeout=10, trust_env=False) as http:
            authorize = http.get(f"{base}/login/dingtalk/{qr}").headers["location"]
            landed = http.get(_confirm(http, authorize, bound["dingtalk_userid"]))
            assert landed.headers["location"].endswith("/portal/")

        # Micro-app free login: the page asks the JSAPI (here: the sandbox's endpoint the
        # stand-in script calls) for a code for the current DingTalk user and posts it.
        sandbox = info["sandbox"]
        with httpx.Client(timeout=10, trust_env=False, headers={"User-Agent": DINGTALK_UA}) as http:
            http.post(f"{sandbox}/_sandbox/current-user", json={"userid": bound["dingtalk_userid"]})
            page = http.get(info["micro_app_url"])
            assert page.status_code == 200
            corp = re.search(r'data-corp-id="([^"]+)"', page.text).group(1)
            code = http.post(
                f"{sandbox}/_sandbox/jsapi/requestAuthCode",
                json={"corpId": corp, "url": info["micro_app_url"]},
            ).json()["code"]
            action = re.search(r'action="([^"]+)" id="dt-micro-form"', page.text).group(1)
            form = {"csrf_token": _field(page.text, "csrf_token"), "code": code}
            form["state"] = _field(page.text, "state")
            posted = http.post(base + action.replace("&amp;", "&"), data=form)
            client_id = info["demo_app_client_id"]
            assert posted.headers["location"].endswith(f"/login/dingtalk-continue?app={client_id}")
            onward = http.get(base + posted.headers["location"]).headers["location"]
            assert onward.endswith(f"/portal/launch/{client_id}")
            # IdP-initiated OIDC into the demo app, with no page to fill in.
            launched = http.get(base + onward)
            assert launched.headers["location"].startswith(info["demo_app"] + "/initiate")
            landed = http.get(launched.headers["location"], follow_redirects=True)
            assert str(landed.url) == info["demo_app"] + "/"
            assert 'id="welcome"' in landed.text
            state = http.get(info["demo_app"] + "/_rp/state").json()
            assert state["signed_in"]
            assert state["id_claims"]["preferred_username"] == bound["username"]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "Stopped." in output
