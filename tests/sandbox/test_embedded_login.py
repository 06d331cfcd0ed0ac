"""The embedded QR login (`DTFrameLogin`, dingtalk-api.md §2.2) as DingTalk shows it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.fixtures import LiveSandbox, start_sandbox

REDIRECT = "https://rp.example.com/cb"


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A small seeded corp on loopback."""
    yield from start_sandbox(departments=3, users=10)


def _embedded(http, sandbox):
    app = sandbox.state.default_app
    page = http.get(
        f"{sandbox.url}/oauth2/auth",
        params={
            "client_id": app.app_key,
            "response_type": "code",
            "scope": "openid",
            "prompt": "consent",
            "state": "s-1",
            "redirect_uri": REDIRECT,
            "embed": "1",
        },
    )
    assert page.status_code == 200
    return page.text


def test_the_frame_shows_one_qr_code_and_one_caption_nothing_to_tab_to(http, sandbox):
    html = _embedded(http, sandbox)
    body = html.split("<body>", 1)[1]
    visible = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    assert " ".join(visible.split()) == "请使用钉钉扫描二维码登录"
    assert body.count("<svg") == 1
    assert not re.search(r"<(a|button|input|select|textarea)\b", body)


def test_the_phone_confirms_and_the_frame_learns_it_by_polling(http, sandbox):
    html = _embedded(http, sandbox)
    ticket = re.search(r'data-ticket="([^"]+)"', html).group(1)
    scan_url = re.search(r'data-scan-url="([^"]+)"', html).group(1)
    assert scan_url.endswith(f"/_sandbox/scan/{ticket}")
    poll = f"{sandbox.url}/_sandbox/embed/{ticket}/poll"
    assert http.get(poll).json() == {"status": "waiting"}
    phone = http.get(f"{sandbox.url}/_sandbox/phone").text
    assert f"/_sandbox/scan/{ticket}" in phone
    person = next(iter(sandbox.state.users))
    assert "确认登录" in http.get(scan_url).text
    confirmed = http.post(
        f"{sandbox.url}/oauth2/auth/confirm", data={"ticket": ticket, "userid": person}
    )
    assert confirmed.status_code == 200 and 'id="scan-done"' in confirmed.text
    done = http.get(poll).json()
    assert done["status"] == "done" and done["result"]["state"] == "s-1"
    query = parse_qs(urlsplit(done["result"]["redirectUrl"]).query)
    assert query["authCode"] == query["code"] == [done["result"]["authCode"]]
    assert done["result"]["redirectUrl"].startswith(REDIRECT)
    # Handed over once: the ticket is gone.
    assert http.get(poll).json() == {"status": "expired"}
    assert f"/_sandbox/scan/{ticket}" not in http.get(f"{sandbox.url}/_sandbox/phone").text


def test_a_denial_on_the_phone_reaches_the_frame_as_an_error(http, sandbox):
    html = _embedded(http, sandbox)
    ticket = re.search(r'data-ticket="([^"]+)"', html).group(1)
    http.post(f"{sandbox.url}/oauth2/auth/confirm", data={"ticket": ticket, "action": "deny"})
    done = http.get(f"{sandbox.url}/_sandbox/embed/{ticket}/poll").json()
    assert done == {"status": "done", "result": {"error": "access_denied", "state": "s-1"}}


def test_an_expired_code_says_so(http, sandbox):
    html = _embedded(http, sandbox)
    ticket = re.search(r'data-ticket="([^"]+)"', html).group(1)
    sandbox.post("/clock", {"advance": 181})
    assert http.get(f"{sandbox.url}/_sandbox/embed/{ticket}/poll").json() == {"status": "expired"}
