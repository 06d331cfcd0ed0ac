"""Every page people see, rendered in zh_CN, has no English left in it (issue 17, item 3).

The text is what a person reads or hears: text nodes and visible attributes (title, alt,
aria-label, placeholder, the micro-app script's messages, confirmation prompts). Technical codes
in `<code>` (small print), text explicitly marked `lang="en"` (the language switch) and data
(the person's own username and email) are not the page's language and are allowed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.helpers import enrol_totp, sign_in, totp_code
from tests.conftest import PASSWORD
from tests.dingtalk_login.support import (
    DINGTALK_UA,
    MICRO,
    QR,
    make_local,
    people,
    qr_callback,
)
from tests.oidc.support import authorize_url, pkce, register
from tests.support.pagetext import english_words

#: Words that are the same in every language: the product's name, HTTP, and a language's own
#: name in the language choices (an autonym: English is called "English" in any page).
INVARIANTS = {"idaas", "HTTP", "English"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _check(pages: dict[str, Any], allowed: set[str], errors: bool = False) -> None:
    problems = {}
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert "<html" in html, f"{name} did not render a page: {response.status_code}"
        if not errors:  # the page itself, not the generic error page (a wrong URL)
            assert 'class="auth-card error-card" aria-labelledby="error-title"' not in html, name
        found = english_words(html, INVARIANTS | allowed)
        if found:
            problems[name] = found
    assert problems == {}, "English on zh_CN pages:\n" + "\n".join(
        f"{name}: {words}" for name, words in problems.items()
    )


def _get(client: Any, url: str, **kwargs: Any) -> Any:
    headers = {**ZH, **kwargs.pop("headers", {})}
    return client.get(url, headers=headers, **kwargs)


@pytest.fixture
def zh(dt_client: Any) -> Any:
    """The sandbox-backed test client with the Chinese language cookie."""
    dt_client.set_cookie("lang", "zh_CN")
    return dt_client


def test_every_sign_in_page_is_chinese(zh, dt_app, sandbox, leak_guard):
    from idaas.auth import sources
    from idaas.auth.sources.dingtalk import clean_settings
    from idaas.sandbox.dingtalk.state import Sandbox  # noqa: F401  (type only)

    pages: dict[str, Any] = {"login": _get(zh, "/login")}
    client_id, _ = register(leak_guard, name="报销系统", consent_required=True)
    _, challenge = pkce()
    pending = _get(zh, authorize_url(client_id, challenge))
    assert pending.status_code == 302
    pages["login with a pending app"] = _get(zh, pending.location)
    assert "报销系统" in pages["login with a pending app"].get_data(as_text=True)
    settings = clean_settings({"connection": "corp", "embedded_qr": True})
    sources.save(QR, "dingtalk", "DingTalk", order=10, settings=settings)
    pages["login with the embedded QR"] = _get(zh, "/login")
    pages["login inside DingTalk"] = _get(zh, "/login", headers={"User-Agent": DINGTALK_UA})
    # Inside DingTalk a QR code cannot be scanned by the phone showing it: the button instead.
    inside = pages["login inside DingTalk"].get_data(as_text=True)
    assert "dt-qr" not in inside and "source-dingtalk" in inside
    assert "dt-qr" in pages["login with the embedded QR"].get_data(as_text=True)
    person = people(sandbox)[0]
    bound = qr_callback(zh, sandbox, person.userid, leak_guard)
    assert bound.location.endswith("/login/bind")
    pages["bind"] = _get(zh, "/login/bind")
    pages["bind, wrong password"] = zh.post(
        "/login/bind", data={"identifier": "nobody", "password": "wrong"}, headers=ZH
    )
    pages["micro-app page"] = _get(
        zh, f"/login/dingtalk-micro/{MICRO}", headers={"User-Agent": DINGTALK_UA}
    )
    pages["DingTalk refusal"] = _get(zh, f"/login/dingtalk/{QR}/callback?error=access_denied")
    pages["DingTalk expired state"] = _get(zh, f"/login/dingtalk/{QR}/callback?state=x&code=y")
    pages["reset start"] = _get(zh, "/login/reset/")
    code_request = zh.post("/login/reset/code", data={"identifier": "nobody"}, headers=ZH)
    pages["reset code"] = _get(zh, code_request.location)
    pages["reset wrong code"] = zh.post(code_request.location, data={"code": "000000"}, headers=ZH)
    pages["reset link"] = _get(zh, "/login/reset/link/not-a-token")
    pages["reset ticket gone"] = _get(zh, "/login/reset/password")
    _check(pages, set())


def test_every_account_page_is_chinese(zh, dt_app, sandbox, leak_guard):
    from idaas.directory import service

    alice = make_local("alice", PASSWORD, display_name="王小丽", email="alice@example.com")
    person = people(sandbox)[1]
    service.link_identity(
        "system",
        alice.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="manual",
    )
    pages: dict[str, Any] = {}
    assert sign_in(zh, "alice").status_code == 302
    for path in (
        "/portal/",
        "/portal/profile",
        "/portal/password",
        "/portal/mfa",
        "/portal/sessions",
        "/portal/identities",
        "/portal/permissions",
        "/logout",
    ):
        pages[path] = _get(zh, path)
    assert person.name in pages["/portal/identities"].get_data(as_text=True)
    pages["/portal/mfa/totp"] = _get(zh, "/portal/mfa/totp")
    secret = enrol_totp(zh)
    pages["portal MFA on"] = _get(zh, "/portal/mfa")
    pages["recovery codes"] = zh.post("/portal/mfa/recovery-codes", headers=ZH)
    zh.post("/logout", headers=ZH)
    pages["login after sign-out (flash)"] = _get(zh, "/login")
    sign_in(zh, "alice")
    pages["MFA step"] = _get(zh, "/login/mfa")
    pages["MFA wrong code"] = zh.post("/login/mfa", data={"code": "000000"}, headers=ZH)
    done = zh.post("/login/mfa", data={"code": totp_code(secret, 1)}, headers=ZH)
    assert done.status_code == 302, done.get_data(as_text=True)
    client_id, _ = register(leak_guard, name="报销系统", consent_required=True)
    _, challenge = pkce()
    pages["consent"] = _get(zh, authorize_url(client_id, challenge))
    assert "报销系统" in pages["consent"].get_data(as_text=True)
    pages["OIDC error"] = _get(zh, authorize_url("no-such-client", challenge))
    _check(pages, {"alice", "example", "com"})


def test_every_step_page_is_chinese(zh, dt_app, sandbox, leak_guard):
    """Forced password change and MFA enrolment, sign-out pages, the reset's MFA and password."""
    import re

    from idaas.auth import mfa
    from idaas.directory import service

    carol = make_local("carol", PASSWORD)
    service.set_password("system", carol.id, PASSWORD + "x", must_change=True)
    pages: dict[str, Any] = {}
    sign_in(zh, "carol", PASSWORD + "x")
    pages["forced password change"] = _get(zh, "/login/password")
    zh.post("/logout", headers=ZH)
    dave = make_local("dave", PASSWORD)
    mfa.set_required("system", dave.id, True)
    sign_in(zh, "dave")
    pages["forced MFA enrolment"] = _get(zh, "/login/mfa/enrol")
    zh.post("/logout", headers=ZH)
    pages["signed out"] = _get(zh, "/login")
    erin = make_local("erin", PASSWORD)
    person = people(sandbox)[6]
    service.link_identity(
        "system",
        erin.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="manual",
    )
    mfa.start_enrolment(erin.id)
    from idaas.auth.models import AccountMfa
    from idaas.extensions import db
    from idaas.security import secretbox

    secret = secretbox.decrypt(db.session.get(AccountMfa, erin.id).totp_secret)
    mfa.confirm_enrolment(erin.id, totp_code(secret), "test")
    sent = zh.post("/login/reset/code", data={"identifier": "erin"}, headers=ZH)
    deadline = 50
    texts: list[str] = []
    while not texts and deadline:
        import time

        received = sandbox.get("/notifications")["notifications"]
        texts = [n["msg"]["text"]["content"] for n in received]
        deadline -= 1
        time.sleep(0.1)
    assert "验证码" in texts[0]  # the notification is in the requester's language
    code = re.search(r"\b(\d{6})\b", texts[0]).group(1)
    zh.post(sent.location, data={"code": code}, headers=ZH)
    pages["reset MFA"] = _get(zh, "/login/reset/mfa")
    pages["reset MFA wrong"] = zh.post("/login/reset/mfa", data={"code": "000000"}, headers=ZH)
    zh.post("/login/reset/mfa", data={"code": totp_code(secret, 1)}, headers=ZH)
    pages["reset password"] = _get(zh, "/login/reset/password")
    pages["reset password too weak"] = zh.post(
        "/login/reset/password", data={"new_password": "abc", "confirm": "abc"}, headers=ZH
    )
    assert "field-error" in pages["reset password too weak"].get_data(as_text=True)
    _check(pages, {"carol", "dave", "erin"})


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/no-such-page", "get", 404),
        ("/logout", "put", 405),
        ("/portal/identities/999/unlink", "post", 302),
    ],
)
def test_error_pages_are_chinese(zh, path, method, status):
    response = getattr(zh, method)(path, headers={**ZH, "Accept": "text/html"})
    assert response.status_code == status
    if status != 302:
        html = response.get_data(as_text=True)
        assert "auth-card" in html and f'data-status="{status}"' in html
        _check({path: response}, set(), errors=True)


def test_every_error_status_has_a_chinese_page(app):
    from flask import render_template

    from idaas.ui import ERROR_PAGES, error_context

    pages = {}
    for status in sorted(ERROR_PAGES):
        with app.test_request_context("/", headers=ZH):
            app.preprocess_request()
            html = render_template("errors/error.html", **error_context(status))
        pages[status] = type("Page", (), {"get_data": lambda self, as_text, h=html: h})()
    _check(pages, set(), errors=True)


def test_english_pages_have_no_chinese(client, account):
    """The other direction: an English page does not fall back to Chinese anywhere."""
    import re

    from tests.support.pagetext import visible_text

    client.set_cookie("lang", "en")
    pages = {
        "login": client.get("/login"),
        "reset": client.get("/login/reset/"),
        "404": client.get("/nowhere", headers={"Accept": "text/html"}),
    }
    sign_in(client, "alice")
    for path in ("/portal/", "/portal/sessions", "/portal/identities", "/portal/mfa"):
        pages[path] = client.get(path)
    cjk = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
    found = {
        name: [p for p in visible_text(page.get_data(as_text=True), "en") if cjk.search(p)]
        for name, page in pages.items()
    }
    assert {name: pieces for name, pieces in found.items() if pieces} == {}
