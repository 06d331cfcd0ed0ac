"""Raw-HTTP fidelity of the three emulated hosts (dingtalk-api.md §0, §1-§5, §8, §9)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx
import pytest

from tests.sandbox.fixtures import LiveSandbox


def token(sandbox: LiveSandbox, http: httpx.Client) -> str:
    """An app token through gettoken (§1.1)."""
    app = sandbox.state.default_app
    body = http.get(
        f"{sandbox.url}/gettoken", params={"appkey": app.app_key, "appsecret": app.app_secret}
    ).json()
    assert body["errcode"] == 0 and body["expires_in"] == 7200
    return str(body["access_token"])


def test_oapi_errors_are_http_200_envelopes(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§0: oapi errors are HTTP 200 with errcode, errmsg and request_id."""
    answer = http.post(
        f"{live_sandbox.url}/topapi/v2/user/list",
        params={"access_token": "bad"},
        json={"dept_id": 1, "cursor": 0, "size": 10},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["errcode"] == 40014 and body["errmsg"] == "不合法的access_token"
    assert len(body["request_id"]) == 12


def test_api_errors_are_status_and_code(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§0: api errors are HTTP 4xx with {code, message, requestid} and x-acs-request-id."""
    answer = http.post(
        f"{live_sandbox.url}/v1.0/oauth2/jsapiTickets",
        headers={"x-acs-dingtalk-access-token": "bad"},
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "InvalidAuthentication" and body["message"]
    assert answer.headers["x-acs-request-id"] == body["requestid"]


def test_api_host_is_json_only(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§0: a form-encoded body on the new API is a 400."""
    app = live_sandbox.state.default_app
    answer = http.post(
        f"{live_sandbox.url}/v1.0/oauth2/accessToken",
        data={"appKey": app.app_key, "appSecret": app.app_secret},
    )
    assert answer.status_code == 400 and "body is mandatory" in answer.json()["message"]


def test_topapi_accepts_json_and_form(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§9.2: topapi takes JSON or form bodies, and access_token in the query or the form."""
    value = token(live_sandbox, http)
    url = f"{live_sandbox.url}/topapi/user/count"
    as_json = http.post(url, params={"access_token": value}, json={"only_active": False}).json()
    as_form = http.post(url, data={"access_token": value, "only_active": "false"}).json()
    assert as_json["result"] == as_form["result"] == {"count": 60}


def test_wrong_method(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§8.1: topapi needs POST (43002); gettoken needs GET (43001)."""
    value = token(live_sandbox, http)
    assert (
        http.get(f"{live_sandbox.url}/topapi/user/count", params={"access_token": value}).json()[
            "errcode"
        ]
        == 43002
    )
    assert http.post(f"{live_sandbox.url}/gettoken").json()["errcode"] == 43001


def test_same_token_renewed_then_new_after_expiry(
    live_sandbox: LiveSandbox, http: httpx.Client
) -> None:
    """§1.4: the same token while valid (renewed to 7200 s); a new one after expiry."""
    first = token(live_sandbox, http)
    live_sandbox.post("/clock", {"advance": 3600})
    assert token(live_sandbox, http) == first
    live_sandbox.post("/clock", {"advance": 7199})
    assert token(live_sandbox, http) == first
    live_sandbox.post("/clock", {"advance": 7201})
    answer = http.post(
        f"{live_sandbox.url}/topapi/user/count",
        params={"access_token": first},
        json={"only_active": False},
    ).json()
    assert answer["errcode"] == 42001
    assert token(live_sandbox, http) != first


def _sns(
    sandbox: LiveSandbox,
    http: httpx.Client,
    ts: str,
    sig: str | None = None,
    key: str | None = None,
    code: str | None = "x",
) -> int:
    app = sandbox.state.default_app
    if sig is None:
        sig = base64.b64encode(
            hmac.new(app.app_secret.encode(), ts.encode(), hashlib.sha256).digest()
        ).decode()
    body = {"tmp_auth_code": code} if code is not None else {}
    answer = http.post(
        f"{sandbox.url}/sns/getuserinfo_bycode",
        params={"accessKey": key or app.app_key, "timestamp": ts, "signature": sig},
        json=body,
    )
    return int(answer.json()["errcode"])


def test_sns_signature_and_timestamp_checks(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§2.1: 853001 not ms, 853002 over 60 s off, 853003 unknown key, 853004 bad signature."""
    now = str(int(time.time() * 1000))
    assert _sns(live_sandbox, http, str(int(time.time()))) == 853001
    assert _sns(live_sandbox, http, str(int(time.time() * 1000) - 61_000)) == 853002
    assert _sns(live_sandbox, http, now, key="dingnope") == 853003
    assert _sns(live_sandbox, http, now, sig="AAAA") == 853004
    assert _sns(live_sandbox, http, now, code=None) == 41026
    assert _sns(live_sandbox, http, now, code="unknown") == 40078


@pytest.mark.parametrize(
    "body,errcode",
    [
        ({"name": "甲", "dept_id_list": "1"}, 40035),
        ({"name": "甲", "mobile": "123", "dept_id_list": "1"}, 60103),
        ({"name": "", "mobile": "13700000009", "dept_id_list": "1"}, 60112),
        ({"name": "甲", "mobile": "13700000009", "dept_id_list": "999"}, 60003),
        ({"name": "甲", "mobile": "13700000009", "dept_id_list": ",".join(["1"] * 101)}, 40066),
        ({"name": "甲", "mobile": "13700000009", "dept_id_list": "1", "email": "bad"}, 60105),
    ],
)
def test_user_create_errors(
    live_sandbox: LiveSandbox, http: httpx.Client, body: dict, errcode: int
) -> None:
    """§5.4 documented errors."""
    answer = http.post(
        f"{live_sandbox.url}/topapi/v2/user/create",
        params={"access_token": token(live_sandbox, http)},
        json=body,
    ).json()
    assert answer["errcode"] == errcode


def test_user_create_duplicates(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§5.4: 60102 userid taken, 60106 email taken."""
    someone = next(iter(live_sandbox.state.users.values()))
    url = f"{live_sandbox.url}/topapi/v2/user/create"
    params = {"access_token": token(live_sandbox, http)}
    base = {"name": "甲", "mobile": "13700000011", "dept_id_list": "1"}
    assert (
        http.post(url, params=params, json={**base, "userid": someone.userid}).json()["errcode"]
        == 60102
    )
    assert (
        http.post(url, params=params, json={**base, "email": someone.email}).json()["errcode"]
        == 60106
    )


def test_code_lifetime_variant_for_oauth2(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§2.2 UNVERIFIED code lifetime is a variant; expired codes are invalidCode."""
    live_sandbox.post("/variants", {"oauth2_code_lifetime": 60})
    app = live_sandbox.state.default_app
    userid = next(iter(live_sandbox.state.users))
    code = live_sandbox.post("/auth-codes", {"userid": userid, "kind": "oauth2"})["code"]
    live_sandbox.post("/clock", {"advance": 61})
    answer = http.post(
        f"{live_sandbox.url}/v1.0/oauth2/userAccessToken",
        json={
            "clientId": app.app_key,
            "clientSecret": app.app_secret,
            "code": code,
            "grantType": "authorization_code",
        },
    )
    assert answer.status_code == 400 and answer.json()["code"] == "invalidCode"


def test_latency_fault(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """Latency injection slows matching endpoints only."""
    live_sandbox.post("/faults", {"latency": {"ms": 300, "endpoints": ["gettoken"]}})
    started = time.monotonic()
    token(live_sandbox, http)
    assert time.monotonic() - started >= 0.3


def test_login_page_rejects_bad_parameters(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§2.1/§2.2: unknown app, wrong response_type, missing prompt=consent are refused."""
    app_key = live_sandbox.state.default_app.app_key
    url = live_sandbox.url
    assert http.get(f"{url}/connect/qrconnect", params={"appid": "nope"}).status_code == 400
    bad = http.get(
        f"{url}/oauth2/auth",
        params={
            "client_id": app_key,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": "http://rp/cb",
        },
    )
    assert bad.status_code == 400 and "prompt" in bad.text
    good = http.get(
        f"{url}/oauth2/auth",
        params={
            "client_id": app_key,
            "response_type": "code",
            "scope": "openid corpid",
            "prompt": "consent",
            "redirect_uri": "http://rp/cb",
        },
    )
    assert good.status_code == 200 and "<svg" in good.text and "确认登录" in good.text
