"""DingTalkClient against the live sandbox over real HTTP (dingtalk-api.md §1-§5, §7, §8)."""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from idaas.dingtalk import errors
from idaas.dingtalk.client import (
    DingTalkApp,
    DingTalkClient,
    ExpiringCache,
    jsapi_sign_url,
    jsapi_signature,
    sns_signature,
)
from idaas.dingtalk.ratelimit import RateLimiter, backoff_delays
from tests.sandbox.fixtures import LiveSandbox, start_sandbox

TICKET = re.compile(r'name="ticket" value="([^"]+)"')


def click_through(http: httpx.Client, url: str, userid: str, action: str = "confirm") -> dict:
    """Open a login page, confirm as `userid` (what the browser test does), return the redirect."""
    page = http.get(url)
    assert page.status_code == 200, page.text
    ticket = TICKET.search(page.text)
    assert ticket, "no confirm form on the login page"
    confirm = "/oauth2/auth/confirm" if "/oauth2/auth" in url else "/connect/qrconnect/confirm"
    base = url.split("/connect/")[0].split("/oauth2/")[0]
    answer = http.post(
        base + confirm, data={"ticket": ticket.group(1), "userid": userid, "action": action}
    )
    assert answer.status_code == 302
    location = answer.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()} | {"_url": location}


def a_user(sandbox: LiveSandbox) -> Any:
    """Some seeded user that is not the boss."""
    return list(sandbox.state.users.values())[3]


# ---------------------------------------------------------------------- tokens (§1)


def test_token_is_cached_and_the_same_while_valid(
    live_sandbox: LiveSandbox, http: httpx.Client
) -> None:
    """One gettoken call per app; a second app cache gets the same token back (§1.4)."""
    first = live_sandbox.client(http)
    token = first.access_token()
    assert first.access_token() == token
    second = live_sandbox.client(http, token_cache=ExpiringCache())
    assert second.access_token() == token
    assert live_sandbox.client(http).access_token() == token  # the shared cache: no call
    assert live_sandbox.get("/calls")["counts"]["gettoken"] == 2


@pytest.mark.parametrize("source", ["oapi", "api", "unified"])
def test_token_sources_are_interchangeable(
    live_sandbox: LiveSandbox, http: httpx.Client, source: str
) -> None:
    """Tokens from §1.1, §1.2 and §1.3 all work on oapi (§0: tokens are interchangeable)."""
    client = live_sandbox.client(http, token_source=source)
    assert client.count_users() == 60


def test_refreshed_ahead_of_expiry(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """The cached token is refetched once less than the margin is left (§1.4)."""
    live_sandbox.post("/faults", {"token_lifetime": 1000})
    now = [1000.0]
    client = live_sandbox.client(http, clock=lambda: now[0], refresh_margin=300)
    client.count_users()
    now[0] += 600
    client.count_users()
    assert live_sandbox.get("/calls")["counts"]["gettoken"] == 1
    now[0] += 150
    client.count_users()
    assert live_sandbox.get("/calls")["counts"]["gettoken"] == 2


@pytest.mark.parametrize("mode,errcode", [("invalidate", "40014"), ("expire", "42001")])
def test_refused_token_is_dropped_and_retried_once(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient, mode: str, errcode: str
) -> None:
    """40014/42001 mid-session: refresh the token and succeed on the retry (§1.4)."""
    assert dingtalk.list_sub_departments()
    live_sandbox.post("/tokens/expire", {"mode": mode})
    assert dingtalk.list_sub_departments()
    log = live_sandbox.get("/calls")
    assert log["counts"]["gettoken"] == 2
    assert log["errors"]["topapi/v2/department/listsub"] == {errcode: 1}


def test_injected_40014_then_success(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """An injected 40014 on user/list is answered by one refresh and one retry."""
    live_sandbox.post(
        "/faults",
        {"errors": [{"endpoint": "topapi/v2/user/list", "errcode": 40014, "times": 1, "skip": 1}]},
    )
    users = list(dingtalk.iter_users(1, size=5))
    assert len(users) == len(live_sandbox.state.members[1])
    assert live_sandbox.get("/calls")["counts"]["gettoken"] == 2


def test_persistent_token_failure_surfaces(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient
) -> None:
    """Only one retry: a token refused twice surfaces as TokenInvalid."""
    live_sandbox.post(
        "/faults", {"errors": [{"endpoint": "topapi/user/count", "errcode": 40014, "times": 2}]}
    )
    with pytest.raises(errors.TokenInvalid):
        dingtalk.count_users()


def test_invalid_authentication_on_api_host(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient
) -> None:
    """InvalidAuthentication (HTTP 400) on the new API also refreshes and retries (§1.4, §8.2)."""
    dingtalk.jsapi_ticket(new_api=True)
    dingtalk.tickets.drop(dingtalk.cache_key)
    live_sandbox.post("/tokens/expire", {"mode": "invalidate"})
    assert dingtalk.jsapi_ticket(new_api=True)
    assert live_sandbox.get("/calls")["errors"]["v1.0/oauth2/jsapiTickets"] == {
        "InvalidAuthentication": 1
    }


@pytest.mark.parametrize("variant", [40089, 40001])
def test_bad_secret_is_invalid_credentials_in_both_variants(
    live_sandbox: LiveSandbox, http: httpx.Client, variant: int
) -> None:
    """§1.1 UNVERIFIED: 40089 or 40001 for a bad secret; both are InvalidCredentials."""
    live_sandbox.post("/variants", {"gettoken_bad_secret": variant})
    app = live_sandbox.state.default_app
    client = DingTalkClient(http, DingTalkApp(app.app_key, "wrong"), oapi_base=live_sandbox.url)
    with pytest.raises(errors.InvalidCredentials) as error:
        client.count_users()
    assert error.value.errcode == variant
    assert "AppKey and AppSecret" in str(error.value)


def test_bad_secret_on_api_host(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """§1.2: HTTP 400 invalidClientIdOrSecret -> InvalidCredentials."""
    app = live_sandbox.state.default_app
    client = DingTalkClient(
        http, DingTalkApp(app.app_key, "wrong"), api_base=live_sandbox.url, token_source="api"
    )
    with pytest.raises(errors.InvalidCredentials) as error:
        client.access_token()
    assert error.value.code == "invalidClientIdOrSecret" and error.value.status == 400
    assert error.value.request_id


# ---------------------------------------------------------------------- login (§2, §3)


def test_sns_signature_vector() -> None:
    """§2.1 computed vector for the getuserinfo_bycode signature."""
    assert sns_signature("testappSecret", "1546084445901") == (
        "HCbG3xNE3vzhO+u7qCUL1jS5hsu2n5r2cFhnTrtyDAE="
    )


def test_legacy_qr_login(
    live_sandbox: LiveSandbox, http: httpx.Client, dingtalk: DingTalkClient
) -> None:
    """§2.1: QR page -> code+state -> getuserinfo_bycode -> getbyunionid; codes are single-use."""
    user = a_user(live_sandbox)
    url = dingtalk.sns_login_url("http://rp.example/cb?x=1", "st-1")
    assert url.startswith(live_sandbox.url + "/connect/qrconnect?appid=")
    redirect = click_through(http, url, user.userid)
    assert redirect["_url"].startswith("http://rp.example/cb?x=1&code=")
    assert redirect["state"] == "st-1" and "authCode" not in redirect
    info = dingtalk.sns_user_info(redirect["code"])
    assert set(info) == {"nick", "unionid", "openid", "main_org_auth_high_level"}
    assert info["nick"] == user.name
    assert dingtalk.userid_by_unionid(info["unionid"]) == {"contact_type": 0, "userid": user.userid}
    with pytest.raises(errors.InvalidCode) as error:
        dingtalk.sns_user_info(redirect["code"])
    assert error.value.errcode == 40078


def test_sns_account_page_variant(
    live_sandbox: LiveSandbox, http: httpx.Client, dingtalk: DingTalkClient
) -> None:
    """§2.1: the sns_authorize page works like the QR page."""
    url = dingtalk.sns_login_url("http://rp.example/cb", "s", qr=False)
    assert "/connect/oauth2/sns_authorize?" in url
    redirect = click_through(http, url, a_user(live_sandbox).userid)
    assert dingtalk.sns_user_info(redirect["code"])["unionid"]


def test_getbyunionid_outside_corp(dingtalk: DingTalkClient) -> None:
    """§2.1 step 4: a person outside the org is 60121 -> NotFound."""
    with pytest.raises(errors.NotFound) as error:
        dingtalk.userid_by_unionid("nobodyiEiE")
    assert error.value.errcode == 60121


@pytest.mark.parametrize("status", [400, 409])
def test_oauth2_login(
    live_sandbox: LiveSandbox, http: httpx.Client, dingtalk: DingTalkClient, status: int
) -> None:
    """§2.2: authorize page -> authCode=code -> userAccessToken -> users/me -> refresh."""
    live_sandbox.post("/variants", {"invalid_code_status": status})
    user = a_user(live_sandbox)
    url = dingtalk.oauth2_login_url("http://rp.example/cb", "st-2")
    assert url.startswith(live_sandbox.url + "/oauth2/auth?")
    redirect = click_through(http, url, user.userid)
    assert redirect["authCode"] == redirect["code"] and redirect["state"] == "st-2"
    tokens = dingtalk.user_access_token(redirect["authCode"])
    assert set(tokens) == {"accessToken", "refreshToken", "expireIn", "corpId"}
    assert tokens["corpId"] == live_sandbox.state.corp_id
    profile = dingtalk.user_profile(tokens["accessToken"])
    assert {"nick", "avatarUrl", "mobile", "openId", "unionId", "email", "stateCode"} <= set(
        profile
    )
    assert profile["nick"] == user.name and profile["unionId"] == user.unionid
    assert dingtalk.userid_by_unionid(profile["unionId"])["userid"] == user.userid
    refreshed = dingtalk.refresh_user_access_token(tokens["refreshToken"])
    assert dingtalk.user_profile(refreshed["accessToken"])["unionId"] == user.unionid
    with pytest.raises(errors.InvalidCode) as error:
        dingtalk.user_access_token(redirect["authCode"])
    assert error.value.status == status and error.value.code == "invalidCode"


def test_oauth2_denied(
    live_sandbox: LiveSandbox, http: httpx.Client, dingtalk: DingTalkClient
) -> None:
    """§2.2: a denied login comes back with `error` and `state`."""
    redirect = click_through(
        http, dingtalk.oauth2_login_url("http://rp.example/cb", "s3"), "", action="deny"
    )
    assert redirect["error"] == "access_denied" and redirect["state"] == "s3"


def test_profile_of_unknown_union_id(
    dingtalk: DingTalkClient, live_sandbox: LiveSandbox, http: httpx.Client
) -> None:
    """§2.2: 404 invalidParameter.user.notFound -> NotFound."""
    user = a_user(live_sandbox)
    redirect = click_through(http, dingtalk.oauth2_login_url("http://rp/cb", "s"), user.userid)
    token = dingtalk.user_access_token(redirect["code"])["accessToken"]
    with pytest.raises(errors.NotFound) as error:
        dingtalk.user_profile(token, "nobodyiEiE")
    assert error.value.status == 404


def test_micro_app_code(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """§3.2: a micro-app code resolves once; reuse and expiry (5 minutes) give 40078."""
    user = a_user(live_sandbox)
    code = live_sandbox.post("/auth-codes", {"userid": user.userid})["code"]
    info = dingtalk.micro_app_user_info(code)
    assert set(info) == {
        "userid",
        "unionid",
        "associated_unionid",
        "name",
        "device_id",
        "sys",
        "sys_level",
    }
    assert info["userid"] == user.userid and info["sys_level"] == 0
    with pytest.raises(errors.InvalidCode):
        dingtalk.micro_app_user_info(code)
    late = live_sandbox.post("/auth-codes", {"userid": user.userid})["code"]
    live_sandbox.post("/clock", {"advance": 301})
    with pytest.raises(errors.InvalidCode):
        dingtalk.micro_app_user_info(late)
    legacy = live_sandbox.post("/auth-codes", {"userid": user.userid})["code"]
    flat = dingtalk.legacy_user_info(legacy)
    assert flat["userid"] == user.userid and "deviceId" in flat and "is_sys" in flat


def test_boss_is_main_admin(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """§3.2: sys_level 1 for the main administrator."""
    boss = next(u for u in live_sandbox.state.users.values() if u.boss)
    code = live_sandbox.post("/auth-codes", {"userid": boss.userid})["code"]
    assert dingtalk.micro_app_user_info(code)["sys_level"] == 1


def test_jsapi_signature_vector() -> None:
    """§3.3 computed vectors for SHA-1 and SHA-256."""
    args = (
        "mS5k98fdkdgDKxkXGEs8LORVREiweeWETE40P37wkidkfksDSKDJFD5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcKIDU8l",
        "Zn4zmLFKD0wzilzM",
        "1414588745",
        "http://open.dingtalk.com",
    )
    assert jsapi_signature(*args, algorithm="sha1") == "10de2b0a6763ec3685a50272b5b0eb2848098dc2"
    assert jsapi_signature(*args) == (
        "6d6e0580d57aac61e427c1e82e7545cca4eed5c59ae6bb468c6bf6f89753cdb2"
    )
    assert jsapi_sign_url("https://a.cn/p?x=%E4%B8%AD#frag") == "https://a.cn/p?x=中"


def test_jsapi_ticket_same_while_valid(
    dingtalk: DingTalkClient, live_sandbox: LiveSandbox, http: httpx.Client
) -> None:
    """§3.3: legacy and new ticket endpoints return the same, renewed ticket."""
    legacy = dingtalk.jsapi_ticket()
    dingtalk.tickets.drop(dingtalk.cache_key)
    assert dingtalk.jsapi_ticket(new_api=True) == legacy
    log = live_sandbox.get("/calls")["counts"]
    assert log["get_jsapi_ticket"] == log["v1.0/oauth2/jsapiTickets"] == 1


@pytest.mark.parametrize(
    "variant,accepted",
    [("both", {"sha256", "sha1"}), ("sha256", {"sha256"}), ("sha1", {"sha1"})],
)
def test_dd_config_signature_variants(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient, variant: str, accepted: set[str]
) -> None:
    """§3.3 UNVERIFIED hash: the sandbox accepts per variant; the client can produce either."""
    live_sandbox.post("/variants", {"jsapi_signature": variant})
    page = "https://idaas.example/login/dingtalk-micro/main?app=x#/home"
    for algorithm in ("sha256", "sha1"):
        config = dingtalk.jsapi_config(page, ["biz.contact.choose"], algorithm=algorithm)
        assert config["agentId"] == live_sandbox.state.default_app.agent_id
        assert config["corpId"] == live_sandbox.state.corp_id
        verdict = live_sandbox.post("/jsapi/config", {**config, "url": page})
        assert verdict["ok"] is (algorithm in accepted), (algorithm, verdict)


# ---------------------------------------------------------------------- contacts (§4, §5)


def test_contacts_read_shapes(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """§4.1-§4.9: documented fields of every read call."""
    children = dingtalk.list_sub_departments(1)
    assert children and {
        "dept_id",
        "name",
        "parent_id",
        "create_dept_group",
        "auto_add_user",
    } <= set(children[0])
    dept_id = children[0]["dept_id"]
    detail = dingtalk.get_department(dept_id)
    assert {
        "dept_id",
        "name",
        "parent_id",
        "order",
        "member_count",
        "owning_member_count",
        "dept_manager_userid_list",
    } <= set(detail)
    assert set(dingtalk.list_sub_department_ids(1)) == {c["dept_id"] for c in children}
    all_depts = list(dingtalk.iter_departments())
    assert len(all_depts) == 8
    ids = dingtalk.list_user_ids(1)
    assert ids == live_sandbox.state.members[1]
    page = dingtalk.list_users_page(1, 0, 2)
    assert set(page) == {"has_more", "next_cursor", "list"} and page["next_cursor"] == 2
    user = page["list"][0]
    assert {
        "userid",
        "unionid",
        "name",
        "mobile",
        "state_code",
        "job_number",
        "title",
        "email",
        "org_email",
        "dept_id_list",
        "dept_order",
        "active",
        "admin",
        "boss",
        "leader",
        "hired_date",
        "exclusive_account",
    } <= set(user)
    assert isinstance(user["dept_id_list"], list) and isinstance(user["hired_date"], int)
    full = dingtalk.get_user(user["userid"])
    assert {
        "manager_userid",
        "dept_order_list",
        "leader_in_dept",
        "role_list",
        "real_authed",
    } <= set(full)
    assert dingtalk.userid_by_mobile(full["mobile"]) == full["userid"]
    assert dingtalk.count_users() == 60
    assert dingtalk.count_users(only_active=True) <= 60
    everyone = list(dingtalk.iter_all_users(size=7))
    assert len(everyone) == 60 and len({u["userid"] for u in everyone}) == 60


def test_string_rendered_scalars(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """§0 UNVERIFIED: with numbers and booleans rendered as strings the client still pages."""
    live_sandbox.post("/variants", {"scalars": "strings"})
    page = dingtalk.list_users_page(1, 0, 2)
    assert page["has_more"] == "true" and page["next_cursor"] == "2"
    everyone = list(dingtalk.iter_all_users(size=7))
    assert len({u["userid"] for u in everyone}) == 60
    assert dingtalk.count_users() == 60
    assert dingtalk.failed_callbacks() == {"has_more": False, "failed_list": []}
    assert (
        dingtalk.micro_app_user_info(
            live_sandbox.post("/auth-codes", {"userid": a_user(live_sandbox).userid})["code"]
        )["sys_level"]
        == "0"
    )


def test_user_list_paging_rules(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """§4.5: size 1..100 (client refuses 101; sandbox answers 40035), order_field validated."""
    with pytest.raises(ValueError):
        dingtalk.list_users_page(1, size=101)
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.oapi("POST", "topapi/v2/user/list", json={"dept_id": 1, "cursor": 0, "size": 101})
    assert error.value.errcode == 40035
    with pytest.raises(errors.InvalidParameter):
        dingtalk.list_users_page(1, order_field="order")
    last = dingtalk.list_users_page(1, 0, 100)
    assert last["has_more"] is False and "next_cursor" not in last
    entry = dingtalk.list_users_page(1, 0, 100, order_field="entry_asc")["list"]
    assert [u["hired_date"] for u in entry] == sorted(u["hired_date"] for u in entry)


@pytest.mark.parametrize("variant", ["root", "error"])
def test_listsub_default_variants(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient, variant: str
) -> None:
    """§4.1 UNVERIFIED default dept_id: the client always sends it, so works with both."""
    live_sandbox.post("/variants", {"listsub_default": variant})
    assert len(list(dingtalk.iter_departments())) == 8
    if variant == "error":
        with pytest.raises(errors.InvalidParameter):
            dingtalk.oapi("POST", "topapi/v2/department/listsub", json={})
    else:
        assert dingtalk.oapi("POST", "topapi/v2/department/listsub", json={})["result"]


def test_contacts_write(live_sandbox: LiveSandbox, dingtalk: DingTalkClient) -> None:
    """§5.1-§5.6 through the client, with documented errors."""
    dept = dingtalk.create_department("平台工程部", 1, order=3, source_identifier="hr-42")
    child = dingtalk.create_department("基础设施组", dept)
    with pytest.raises(errors.Conflict) as error:
        dingtalk.create_department("平台工程部", 1)
    assert error.value.errcode == 60021
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.create_department("坏-名字", 1)
    assert error.value.errcode == 60009
    dingtalk.update_department(child, name="基础架构组")
    assert dingtalk.get_department(child)["name"] == "基础架构组"
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.update_department(dept, parent_id=child)
    assert error.value.errcode == 60010
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.update_department(1, name="x")
    assert error.value.errcode == 60018
    created = dingtalk.create_user(
        "测试员",
        "13912345678",
        [dept, child],
        job_number="T001",
        email="tester@example.cn",
        title="测试工程师",
    )
    assert set(created) == {"userid", "unionId"}
    assert dingtalk.get_user(created["userid"])["dept_id_list"] == [dept, child]
    with pytest.raises(errors.Conflict) as error:
        dingtalk.create_user("重复", "13912345678", [dept])
    assert error.value.errcode == 60104
    dingtalk.update_department(dept, dept_manager_userid_list=[created["userid"]])
    dingtalk.update_user(created["userid"], title="资深测试", dept_id_list=[child])
    got = dingtalk.get_user(created["userid"])
    assert got["title"] == "资深测试" and got["dept_id_list"] == [child]
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.delete_department(child)
    assert error.value.errcode == 60005
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.delete_department(dept)
    assert error.value.errcode == 60006
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.delete_department(1)
    assert error.value.errcode == 60007
    dingtalk.delete_user(created["userid"])
    with pytest.raises(errors.NotFound) as error:
        dingtalk.get_user(created["userid"])
    assert error.value.errcode == 33012
    dingtalk.delete_department(child)
    dingtalk.delete_department(dept)
    with pytest.raises(errors.NotFound):
        dingtalk.get_department(dept)


def test_sandbox_enforces_comma_string_and_mobile(dingtalk: DingTalkClient) -> None:
    """§5.4: dept_id_list must be a comma string; mobile is required on create."""
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.oapi(
            "POST",
            "topapi/v2/user/create",
            json={"name": "甲", "mobile": "13700000001", "dept_id_list": [1]},
        )
    assert error.value.errcode == 40035
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.create_user("乙", "", [1])
    assert "mobile" in str(error.value)
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.create_user("丙", "13700000002", "1,x")
    assert error.value.errcode == 40066


# ---------------------------------------------------------------------- errors and limits (§8)


def test_ip_whitelist_error_names_the_request_ip(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient
) -> None:
    """60020 -> IpNotWhitelisted whose message names the request IP and the fix (§8.1)."""
    live_sandbox.post("/faults", {"ip_whitelist": ["203.0.113.7"]})
    with pytest.raises(errors.IpNotWhitelisted) as error:
        dingtalk.count_users()
    assert error.value.errcode == 60020 and error.value.request_ip == "127.0.0.1"
    assert "127.0.0.1" in str(error.value) and "whitelist" in str(error.value)
    live_sandbox.post("/faults", {"ip_whitelist": ["127.0.0.1"]})
    assert dingtalk.count_users() == 60


def test_ip_whitelist_on_api_host(live_sandbox: LiveSandbox, http: httpx.Client) -> None:
    """403 Forbidden.AccessDenied.IpNotInWhiteList is the same typed error (§8.2)."""
    live_sandbox.post("/faults", {"ip_whitelist": []})
    client = live_sandbox.client(http, token_source="api")
    with pytest.raises(errors.IpNotWhitelisted) as error:
        client.access_token()
    assert error.value.status == 403 and "127.0.0.1" in str(error.value)


@pytest.mark.parametrize("style", ["html", "json"])
def test_ip_ban(live_sandbox: LiveSandbox, dingtalk: DingTalkClient, style: str) -> None:
    """§8.3: the ban page (HTML or {status:1111}) has no errcode -> IpBanned."""
    live_sandbox.post("/faults", {"ip_ban": style})
    with pytest.raises(errors.IpBanned) as error:
        dingtalk.access_token()
    assert error.value.wait and error.value.wait > 0


@pytest.mark.parametrize(
    "rule,kind",
    [
        ({"errcode": 60011, "wrapped": True}, errors.PermissionDenied),
        ({"errcode": -1}, errors.ServerBusy),
        ({"errcode": 90020}, errors.QuotaExceeded),
        ({"errcode": 50004}, errors.PermissionDenied),
    ],
)
def test_error_mapping(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient, rule: dict[str, Any], kind: type
) -> None:
    """Injected errcodes become their typed errors with errcode, request id and api (§8.1)."""
    live_sandbox.post("/faults", {"errors": [{"endpoint": "topapi/user/count", **rule}]})
    with pytest.raises(kind) as error:
        dingtalk.count_users()
    assert error.value.request_id and error.value.api == "topapi/user/count"


def _throttle_corp() -> Any:
    return start_sandbox(departments=0, users=300, seed=3)


@pytest.fixture
def big_dept() -> Any:
    """A corp with 300 users all in the root department."""
    yield from _throttle_corp()


@pytest.mark.parametrize("style", ["flat", "wrapped", "global"])
def test_throttled_listing_loses_nothing(
    big_dept: LiveSandbox, http: httpx.Client, style: str
) -> None:
    """Throttling at 5 QPS: a 300-user paged listing completes, slower, no error, no loss (§8.3)."""
    client = big_dept.client(http)
    started = time.monotonic()
    baseline = [u["userid"] for u in client.iter_users(1, size=20)]
    unthrottled = time.monotonic() - started
    big_dept.control.delete("/calls")
    big_dept.post("/faults", {"throttle": {"qps": 5, "style": style}})
    started = time.monotonic()
    users = [u["userid"] for u in client.iter_users(1, size=20)]
    throttled = time.monotonic() - started
    assert users == baseline and len(set(users)) == 300
    log = big_dept.get("/calls")
    errors_seen = log["errors"]["topapi/v2/user/list"]
    code = {"flat": "90018", "wrapped": "90018", "global": "90002"}[style]
    assert set(errors_seen) == {code} and errors_seen[code] >= 1
    assert log["counts"]["topapi/v2/user/list"] == 15 + errors_seen[code]
    assert client.throttled == errors_seen[code]
    # 15 pages at 5 per second cannot take less than two seconds.
    assert throttled >= 2.0 > unthrottled


def test_client_side_limiter_avoids_throttles(big_dept: LiveSandbox, http: httpx.Client) -> None:
    """With the client's QPS under the server's, no throttle is ever hit (§8.3)."""
    big_dept.post("/faults", {"throttle": {"qps": 5}})
    client = big_dept.client(http, qps=3)
    assert len(list(client.iter_users(1, size=50))) == 300
    assert big_dept.get("/calls")["errors"] == {}


def test_busy_reads_are_retried_but_writes_are_not(
    live_sandbox: LiveSandbox, http: httpx.Client
) -> None:
    """-1 (系统繁忙): reads retried up to 3 times (§8.1); writes are not repeated blindly."""
    live_sandbox.post(
        "/faults",
        {
            "errors": [
                {"endpoint": "topapi/user/count", "errcode": -1, "times": 3},
                {"endpoint": "topapi/v2/department/create", "errcode": -1, "times": 1},
            ]
        },
    )
    sleeps: list[float] = []
    client = live_sandbox.client(http, sleep=sleeps.append)
    assert client.count_users() == 60
    assert len(sleeps) == 3
    with pytest.raises(errors.ServerBusy):
        client.create_department("只试一次", 1)
    assert live_sandbox.get("/calls")["counts"]["topapi/v2/department/create"] == 1


def test_from_config(http: httpx.Client) -> None:
    """The three bases come from idaas config, defaulting to the real hosts."""
    app = DingTalkApp("dingkey", "secret")
    client = DingTalkClient.from_config(http, app, {"DINGTALK_OAPI_BASE": "http://sb:9100/"})
    assert client.oapi_base == "http://sb:9100"
    assert client.api_base == "https://api.dingtalk.com"
    assert client.oauth2_login_url("https://idaas/cb", "s").startswith(
        "https://login.dingtalk.com/oauth2/auth?redirect_uri=https%3A%2F%2Fidaas%2Fcb"
    )


def test_throttle_gives_up_after_retries(big_dept: LiveSandbox, http: httpx.Client) -> None:
    """A throttle that never lifts surfaces as RateLimited after the back-off schedule."""
    big_dept.post("/faults", {"errors": [{"endpoint": "topapi/user/count", "errcode": 90018}]})
    sleeps: list[float] = []
    client = big_dept.client(http, sleep=sleeps.append, throttle_retries=4)
    with pytest.raises(errors.RateLimited):
        client.count_users()
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_rate_limiter_window() -> None:
    """The limiter lets `qps` calls through per sliding second, per (app, API)."""
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(qps=3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        assert limiter.acquire("app", "api") == 0
    assert limiter.acquire("other-app", "api") == 0
    assert limiter.acquire("app", "other-api") == 0
    assert limiter.acquire("app", "api") > 0.99
    assert list(backoff_delays(tries=5)) == [1.0, 2.0, 4.0, 8.0, 16.0]


# ---------------------------------------------------------------------- notifications (§7)


@pytest.mark.parametrize("limit", [100, 5000])
def test_work_notifications(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient, limit: int
) -> None:
    """§7: batches fit the tighter documented limit, so both limit variants accept them."""
    live_sandbox.post("/variants", {"notify_max_userids": limit})
    userids = list(live_sandbox.state.users)[:50] + [f"ghost{i}" for i in range(100)]
    dept = live_sandbox.state.children[1][0]
    tasks = dingtalk.send_work_notification(
        {"msgtype": "text", "text": {"content": "请提交日报。"}},
        userid_list=userids,
        dept_id_list=[dept],
    )
    assert len(tasks) == 3
    received = live_sandbox.get("/notifications")["notifications"]
    assert [n["task_id"] for n in received] == tasks
    assert received[0]["msg"]["text"]["content"] == "请提交日报。"
    result = dingtalk.get_send_result(tasks[0])
    assert {
        "invalid_user_id_list",
        "forbidden_user_id_list",
        "failed_user_id_list",
        "read_user_id_list",
        "unread_user_id_list",
        "invalid_dept_id_list",
        "forbidden_list",
    } <= set(result)
    assert len(result["unread_user_id_list"]) == 50 == len(result["invalid_user_id_list"])
    assert len(dingtalk.get_send_result(tasks[1])["invalid_user_id_list"]) == 50
    with pytest.raises(errors.InvalidParameter) as error:
        dingtalk.send_work_notification({"msgtype": "nope"}, userid_list=userids[:1])
    assert error.value.errcode == 40008


# ---------------------------------------------------------------------- hygiene


def test_no_secret_or_token_in_logs(
    live_sandbox: LiveSandbox, dingtalk: DingTalkClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither our code nor httpx's request log shows the app secret, tokens or codes."""
    caplog.set_level(logging.DEBUG)
    code = live_sandbox.post("/auth-codes", {"userid": a_user(live_sandbox).userid})["code"]
    dingtalk.micro_app_user_info(code)
    live_sandbox.post("/tokens/expire", {})
    dingtalk.count_users()
    token = dingtalk.access_token()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("idaas", "httpx"))]
    assert any("gettoken" in m for m in ours), "httpx request logging was not captured"
    text = "\n".join(ours)
    for secret in (dingtalk.app.app_secret, token, code):
        assert secret not in text
    assert "DingTalkApp(" in repr(dingtalk.app) and dingtalk.app.app_secret not in repr(
        dingtalk.app
    )
