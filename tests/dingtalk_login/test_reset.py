"""Self-service password reset through DingTalk (issue 17, item 5), against the live sandbox."""

from __future__ import annotations

import re
import statistics
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import time_machine

from tests.auth.helpers import audit_actions, sign_in, totp_code
from tests.conftest import PASSWORD
from tests.dingtalk_login.support import (
    DINGTALK_UA,
    MICRO,
    QR,
    issue_code,
    make_local,
    people,
    state_of,
)
from tests.support.live import LiveServer

NEW_PASSWORD = "Brand-new-Passw0rd!"
CODE = re.compile(r"\b(\d{6})\b")
LINK = re.compile(r"/login/reset/link/([A-Za-z0-9_-]+)")


def _link(sandbox: Any, account: Any, person: Any) -> None:
    from idaas.directory import service

    service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="manual",
    )


@pytest.fixture
def alice(dt_app: Any, sandbox: Any) -> Any:
    """alice, linked to a sandbox person; `.person` is that DingTalk person."""
    account = make_local("alice", PASSWORD, email="alice@example.com")
    person = people(sandbox)[2]
    _link(sandbox, account, person)
    account.person = person
    return account


def _set_password(client: Any, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        "/login/reset/password", data={"new_password": password, "confirm": password}
    )


def _finish(client: Any, username: str = "alice") -> None:
    """Set the new password from a ticket, then prove the old one is gone and the new one works."""
    assert client.get("/login/reset/next").location.endswith("/login/reset/password")
    done = _set_password(client)
    assert done.status_code == 302 and done.location.endswith("/login")
    assert sign_in(client, username, PASSWORD).status_code == 200  # the old password is gone
    assert sign_in(client, username, NEW_PASSWORD).status_code == 302


def _notifications(sandbox: Any, userid: str, count: int = 1, wait: float = 10) -> list[str]:
    """The texts of work notifications `userid` received (waits for `count` of them)."""
    deadline = time.monotonic() + wait
    while True:
        texts = [
            n["msg"]["text"]["content"]
            for n in sandbox.get("/notifications")["notifications"]
            if userid in n["recipients"]
        ]
        if len(texts) >= count or time.monotonic() > deadline:
            return texts
        time.sleep(0.05)


def _request_code(client: Any, identifier: str) -> Any:
    response = client.post("/login/reset/code", data={"identifier": identifier})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def test_reset_by_scanning_the_qr_code(dt_client, sandbox, alice, leak_guard, db):
    start = dt_client.get(f"/login/reset/dingtalk/{QR}")
    assert start.location.startswith(sandbox.url + "/oauth2/auth")
    code = issue_code(sandbox, alice.person.userid, "oauth2", leak_guard)
    proven = dt_client.get(
        f"/login/dingtalk/{QR}/callback",
        query_string={"state": state_of(start.location), "authCode": code, "code": code},
    )
    assert proven.location.endswith("/login/reset/next")
    assert dt_client.get("/login/reset/password").status_code == 200
    _finish(dt_client)
    # A reset does not sign anyone in and is audited with how the identity was proven.
    assert [r.details["method"] for r in audit_actions(db, "auth.password_reset.completed")] == [
        "dingtalk_qr"
    ]
    assert not audit_actions(db, "auth.dingtalk.bound")


def test_reset_from_the_dingtalk_workbench(dt_client, sandbox, alice, leak_guard):
    page = dt_client.get(f"/login/reset/dingtalk/{MICRO}", headers={"User-Agent": DINGTALK_UA})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "dt-micro-form" in html and "/oauth2/auth" not in html
    state = re.search(r'name="state" type="hidden" value="([^"]+)"', html).group(1)
    code = issue_code(sandbox, alice.person.userid, "micro", leak_guard)
    proven = dt_client.post(f"/login/dingtalk-micro/{MICRO}", data={"code": code, "state": state})
    assert proven.location.endswith("/login/reset/next")
    _finish(dt_client)


def test_reset_by_a_work_notification_code_then_mfa(dt_client, sandbox, alice, db):
    from idaas.auth import mfa
    from idaas.auth.models import AccountMfa
    from idaas.security import secretbox

    mfa.start_enrolment(alice.id)
    secret = secretbox.decrypt(db.session.get(AccountMfa, alice.id).totp_secret)
    assert mfa.confirm_enrolment(alice.id, totp_code(secret), "test") is not None
    sent = _request_code(dt_client, "alice@example.com")
    (text,) = _notifications(sandbox, alice.person.userid)
    code = CODE.search(text).group(1)
    wrong = dt_client.post(sent.location, data={"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 400 and 'data-refused="code"' in wrong.get_data(as_text=True)
    proven = dt_client.post(sent.location, data={"code": code})
    assert proven.location.endswith("/login/reset/next")
    # MFA is enrolled: the new password waits for the second factor.
    assert dt_client.get("/login/reset/next").location.endswith("/login/reset/mfa")
    assert _set_password(dt_client).location.endswith("/login/reset/mfa")
    bad = dt_client.post("/login/reset/mfa", data={"code": "000000"})
    assert "reset-mfa-error" in bad.get_data(as_text=True)
    good = dt_client.post("/login/reset/mfa", data={"code": totp_code(secret, 1)})
    assert good.location.endswith("/login/reset/password")
    assert _set_password(dt_client).location.endswith("/login")
    # The used code is refused a second time.
    again = dt_client.post(sent.location, data={"code": code})
    assert again.status_code == 400


def test_replayed_link_is_refused(dt_client, dt_app, sandbox, alice):
    _request_code(dt_client, "alice")
    (text,) = _notifications(sandbox, alice.person.userid)
    token = LINK.search(text).group(1)
    # Opening the link only shows a button: a link scanner's GET does not use it up.
    assert dt_client.get(f"/login/reset/link/{token}").status_code == 200
    proven = dt_client.post(f"/login/reset/link/{token}")
    assert proven.location.endswith("/login/reset/next")
    replay = dt_app.test_client().post(f"/login/reset/link/{token}")
    assert replay.status_code == 400
    assert 'data-refused="code"' in replay.get_data(as_text=True)
    _finish(dt_client)
    # ... and so is a replayed new-password form: the ticket was used once.
    assert _set_password(dt_client, "Another-Passw0rd!!").status_code == 410


def test_the_link_never_follows_a_forged_host_header(dt_client, dt_app, sandbox, alice):
    dt_client.post(
        "/login/reset/code", data={"identifier": "alice"}, headers={"Host": "evil.example"}
    )
    (text,) = _notifications(sandbox, alice.person.userid)
    assert "evil.example" not in text
    assert f"{dt_app.config['ISSUER']}/login/reset/link/" in text


def test_account_without_a_dingtalk_link_is_refused(dt_client, sandbox, leak_guard, db):
    make_local("bob", PASSWORD)
    stranger = people(sandbox)[7]
    start = dt_client.get(f"/login/reset/dingtalk/{QR}")
    code = issue_code(sandbox, stranger.userid, "oauth2", leak_guard)
    refused = dt_client.get(
        f"/login/dingtalk/{QR}/callback",
        query_string={"state": state_of(start.location), "authCode": code},
    )
    assert refused.status_code == 403
    assert 'data-refused="not_linked"' in refused.get_data(as_text=True)
    assert audit_actions(db, "auth.password_reset.refused")[-1].details["reason"] == "not_linked"
    # bob has no link: a code request is accepted like any other, but nothing is sent and no
    # code can ever work for it.
    sent = _request_code(dt_client, "bob")
    assert dt_client.post(sent.location, data={"code": "123456"}).status_code == 400
    assert sandbox.get("/notifications")["notifications"] == []
    assert dt_client.get("/login/reset/password").status_code == 410


def _masked(client: Any, identifier: str) -> tuple[int, str, str]:
    """What a code request answers (the page, a wrong code), with the random request id masked."""
    sent = client.post("/login/reset/code", data={"identifier": identifier})
    request_id = sent.location.rsplit("/", 1)[1]
    page = client.get(sent.location)
    wrong = client.post(sent.location, data={"code": "000000"})
    text = "".join(
        [str(page.status_code), page.get_data(as_text=True)]
        + [str(wrong.status_code), wrong.get_data(as_text=True)]
    )
    return sent.status_code, sent.location.replace(request_id, "ID"), text.replace(request_id, "ID")


def test_responses_do_not_tell_accounts_apart(dt_app, sandbox, alice):
    make_local("bob", PASSWORD)  # exists, no DingTalk link
    answers = {who: _masked(dt_app.test_client(), who) for who in ("alice", "bob", "nobody-at-all")}
    import difflib

    for who in ("bob", "nobody-at-all"):
        diff = list(
            difflib.unified_diff(
                answers["alice"][2].splitlines(), answers[who][2].splitlines(), lineterm="", n=0
            )
        )
        assert answers["alice"][:2] == answers[who][:2] and not diff, diff
    assert _notifications(sandbox, alice.person.userid)


def test_timing_does_not_tell_accounts_apart(dt_app, sandbox, alice):
    """DingTalk is made slow (600 ms per send): the answer must not wait for it."""
    make_local("bob", PASSWORD)
    sandbox.post(
        "/faults",
        {"latency": {"ms": 600, "endpoints": ["topapi/message/corpconversation/asyncsend_v2"]}},
    )
    timings: dict[str, list[float]] = {"alice": [], "nobody": []}
    with LiveServer(dt_app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(3):
            for who in timings:
                began = time.perf_counter()
                answer = http.post("/login/reset/code", data={"identifier": who})
                timings[who].append(time.perf_counter() - began)
                assert answer.status_code == 302
        _notifications(sandbox, alice.person.userid, count=3)
    gap = statistics.median(timings["alice"]) - statistics.median(timings["nobody"])
    assert gap < 0.3, timings


def test_code_expires_on_a_controlled_clock(dt_client, sandbox, alice):
    with time_machine.travel(time.time(), tick=False) as clock:
        sent = _request_code(dt_client, "alice")
        code = CODE.search(_notifications(sandbox, alice.person.userid)[0]).group(1)
        clock.shift(timedelta(minutes=10, seconds=1))
        late = dt_client.post(sent.location, data={"code": code})
        assert late.status_code == 400


def test_code_in_time_works_and_the_ticket_expires(dt_client, sandbox, alice):
    with time_machine.travel(time.time(), tick=False) as clock:
        sent = _request_code(dt_client, "alice")
        code = CODE.search(_notifications(sandbox, alice.person.userid)[0]).group(1)
        clock.shift(timedelta(minutes=9, seconds=59))
        assert dt_client.post(sent.location, data={"code": code}).status_code == 302
        clock.shift(timedelta(minutes=15, seconds=1))
        assert _set_password(dt_client).status_code == 410


def test_expired_codes_and_tickets_are_purged(dt_client, sandbox, alice, db):
    from idaas.auth import reset
    from idaas.auth.reset_models import PasswordResetCode, PasswordResetTicket

    with time_machine.travel(time.time(), tick=False) as clock:
        sent = _request_code(dt_client, "alice")
        code = CODE.search(_notifications(sandbox, alice.person.userid)[0]).group(1)
        dt_client.post(sent.location, data={"code": code})
        _request_code(dt_client, "nobody")
        assert reset.purge_expired() == 0
        clock.shift(timedelta(minutes=16))
        _request_code(dt_client, "nobody")  # a fresh one stays
        assert reset.purge_expired() == 3  # the two old codes and the ticket, not the fresh code
    assert db.session.scalar(db.select(db.func.count()).select_from(PasswordResetCode)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(PasswordResetTicket)) == 0


def test_a_code_request_stops_after_too_many_wrong_codes(dt_client, sandbox, alice):
    sent = _request_code(dt_client, "alice")
    code = CODE.search(_notifications(sandbox, alice.person.userid)[0]).group(1)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert dt_client.post(sent.location, data={"code": wrong}).status_code == 400
    assert dt_client.post(sent.location, data={"code": code}).status_code == 400


def test_code_requests_are_rate_limited_per_identifier(make_app, sandbox, leak_guard):
    from tests.dingtalk_login.support import configure, sandbox_config

    app = make_app(PASSWORD_RESET_RATE_LIMIT_ACCOUNT="2/hour", **sandbox_config(sandbox))
    with app.app_context():
        configure(sandbox, leak_guard)
        client = app.test_client()
        for who in ("alice", "nobody"):
            for _ in range(2):
                assert client.post("/login/reset/code", data={"identifier": who}).status_code == 302
            over = client.post("/login/reset/code", data={"identifier": f" {who.upper()} "})
            assert over.status_code == 429
            assert 'data-refused="throttled"' in over.get_data(as_text=True)


def test_reset_attempts_are_rate_limited_per_ip_across_processes(
    make_app, sandbox, leak_guard, redis_url
):
    """Two app instances sharing Redis count one IP's attempts together."""
    from tests.dingtalk_login.support import configure, sandbox_config

    shared = {
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"reset-{time.time_ns()}",
        "PASSWORD_RESET_RATE_LIMIT_IP": "3/hour",
        **sandbox_config(sandbox),
    }
    first, second = make_app(**shared), make_app(**shared)
    with first.app_context():
        configure(sandbox, leak_guard)
    answers = []
    for app in (first, second, first, second):
        with app.app_context():
            answers.append(app.test_client().get(f"/login/reset/dingtalk/{QR}").status_code)
    assert answers == [302, 302, 302, 429]


def test_one_code_is_used_once_under_concurrency(dt_app, sandbox, alice):
    first = dt_app.test_client()
    sent = _request_code(first, "alice")
    code = CODE.search(_notifications(sandbox, alice.person.userid)[0]).group(1)
    barrier = threading.Barrier(4)
    results: list[int] = []

    def redeem() -> None:
        with dt_app.app_context():
            client = dt_app.test_client()
            barrier.wait()
            results.append(client.post(sent.location, data={"code": code}).status_code)

    threads = [threading.Thread(target=redeem) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == [302, 400, 400, 400]


def test_one_ticket_sets_one_password_under_concurrency(dt_app, dt_client, sandbox, alice, db):
    sent = _request_code(dt_client, "alice")
    code = CODE.search(_notifications(sandbox, alice.person.userid)[0]).group(1)
    assert dt_client.post(sent.location, data={"code": code}).status_code == 302
    cookie = dt_client.get_cookie("session").value
    barrier = threading.Barrier(3)
    results: list[int] = []

    def submit(index: int) -> None:
        with dt_app.app_context():
            client = dt_app.test_client()
            client.set_cookie("session", cookie)
            password = f"Racing-Passw0rd-{index}!"
            barrier.wait()
            answer = client.post(
                "/login/reset/password", data={"new_password": password, "confirm": password}
            )
            results.append(answer.status_code)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results.count(302) == 1 and len(results) == 3, results
    assert len(audit_actions(db, "auth.password_reset.completed")) == 1


def test_admins_can_turn_reset_off(make_app, sandbox, leak_guard):
    from tests.dingtalk_login.support import configure, sandbox_config

    app = make_app(PASSWORD_RESET_ENABLED=False, **sandbox_config(sandbox))
    with app.app_context():
        configure(sandbox, leak_guard)
        client = app.test_client()
        assert "forgot-password" not in client.get("/login").get_data(as_text=True)
        for method, path in (
            ("get", "/login/reset/"),
            ("post", "/login/reset/code"),
            ("get", f"/login/reset/dingtalk/{QR}"),
        ):
            answer = getattr(client, method)(path, data={"identifier": "alice"})
            assert answer.status_code == 404
            assert "reset-disabled" in answer.get_data(as_text=True)
