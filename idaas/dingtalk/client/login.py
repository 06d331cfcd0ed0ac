"""DingTalk sign-in APIs: web/QR login (legacy SNS and new OAuth 2), user tokens and profile,
micro-app free login (免登) and the JSAPI `dd.config` signature.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  obtain-identity-credentials, tutorial-obtaining-user-personal-information,
  obtain-the-user-information-based-on-the-sns-temporary-authorization,
  enterprise-internal-application-logon-free, jsapi-authentication.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from idaas.dingtalk.client.transport import DingTalkTransport
from idaas.dingtalk.crypto import random_nonce


def sns_signature(app_secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(appSecret, timestamp)) for sns/getuserinfo_bycode."""
    digest = hmac.new(app_secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def jsapi_sign_url(url: str) -> str:
    """The page URL as signed: no fragment, query URL-decoded."""
    parts = urlsplit(url.split("#", 1)[0])
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return f"{base}?{unquote(parts.query)}" if parts.query else base


def jsapi_signature(
    ticket: str, nonce: str, timestamp: str, url: str, algorithm: str = "sha256"
) -> str:
    """hex(SHA-256 or SHA-1) of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`."""
    plain = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    if algorithm not in {"sha256", "sha1"}:
        raise ValueError("algorithm must be sha256 or sha1")
    return hashlib.new(algorithm, plain.encode("utf-8")).hexdigest()


class LoginApi(DingTalkTransport):
    """Sign-in: login URLs, code exchanges, user tokens, free login, JSAPI tickets."""

    def sns_login_url(self, redirect_uri: str, state: str, qr: bool = True) -> str:
        """The legacy QR (`connect/qrconnect`) or account (`sns_authorize`) login URL."""
        path = "connect/qrconnect" if qr else "connect/oauth2/sns_authorize"
        query = urlencode(
            {
                "appid": self.app.app_key,
                "response_type": "code",
                "scope": "snsapi_login",
                "state": state,
                "redirect_uri": redirect_uri,
            },
            quote_via=quote,
        )
        return f"{self.oapi_base}/{path}?{query}"

    def oauth2_login_url(
        self,
        redirect_uri: str,
        state: str,
        scope: str = "openid",
        corp_id: str | None = None,
        org_type: str | None = None,
    ) -> str:
        """The new `login.dingtalk.com/oauth2/auth` URL."""
        params = {
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "client_id": self.app.app_key,
            "scope": scope,
            "state": state,
            "prompt": "consent",
        }
        if corp_id:
            params["corpId"] = corp_id
        if org_type:
            params["org_type"] = org_type
        return f"{self.login_base}/oauth2/auth?{urlencode(params, quote_via=quote)}"

    def sns_user_info(self, code: str) -> dict[str, Any]:
        """Exchange a legacy QR code for `user_info` {nick, unionid, openid, …}."""
        timestamp = str(int(self.clock() * 1000))
        body = self.oapi(
            "POST",
            "sns/getuserinfo_bycode",
            params={
                "accessKey": self.app.app_key,
                "timestamp": timestamp,
                "signature": sns_signature(self.app.app_secret, timestamp),
            },
            json={"tmp_auth_code": code},
            auth=False,
        )
        return dict(body["user_info"])

    def _user_token(self, grant: str, **credential: str) -> dict[str, Any]:
        """POST `userAccessToken` with the app's credentials and one grant."""
        body = {"clientId": self.app.app_key, "clientSecret": self.app.app_secret}
        body.update(credential, grantType=grant)
        return self.api("POST", "v1.0/oauth2/userAccessToken", json=body, auth=False)

    def user_access_token(self, code: str) -> dict[str, Any]:
        """Exchange a new-OAuth code: {accessToken, refreshToken, expireIn, corpId}."""
        return self._user_token("authorization_code", code=code)

    def refresh_user_access_token(self, refresh_token: str) -> dict[str, Any]:
        """Refresh a user token with the 30-day refresh token."""
        return self._user_token("refresh_token", refreshToken=refresh_token)

    def user_profile(self, user_access_token: str, union_id: str = "me") -> dict[str, Any]:
        """GET contact/users/me with the user's token: {nick, unionId, openId, mobile, …}."""
        return self.api(
            "GET", f"v1.0/contact/users/{quote(union_id, safe='')}", token=user_access_token
        )

    # ------------------------------------------------------------------ free login

    def micro_app_user_info(self, code: str) -> dict[str, Any]:
        """Resolve a micro-app free-login code: {userid, unionid, name, sys_level, …}."""
        return dict(self.oapi("POST", "topapi/v2/user/getuserinfo", json={"code": code})["result"])

    def legacy_user_info(self, code: str) -> dict[str, Any]:
        """The archived GET user/getuserinfo free-login exchange (flat fields)."""
        body = self.oapi("GET", "user/getuserinfo", params={"code": code})
        return {k: v for k, v in body.items() if k not in {"errcode", "errmsg", "request_id"}}

    def jsapi_ticket(self, new_api: bool = False) -> str:
        """The app's JSAPI ticket, cached for its lifetime."""
        key = self.cache_key
        cached = self.tickets.get(key, self.clock())
        if cached:
            return cached
        if new_api:
            body = self.api("POST", "v1.0/oauth2/jsapiTickets")
            ticket, expires = str(body["jsapiTicket"]), float(body.get("expireIn", 7200))
        else:
            body = self.oapi("GET", "get_jsapi_ticket")
            ticket, expires = str(body["ticket"]), float(body.get("expires_in", 7200))
        self.tickets.put(
            key, ticket, self.clock() + expires - min(self.refresh_margin, expires / 2)
        )
        return ticket

    def jsapi_config(
        self,
        url: str,
        js_api_list: Iterable[str] = ("runtime.info",),
        algorithm: str = "sha256",
        nonce: str | None = None,
        timestamp: str | None = None,
        new_api: bool = False,
    ) -> dict[str, Any]:
        """The `dd.config` argument for a page URL (SHA-256 by default, SHA-1 optional)."""
        ts = timestamp or str(int(self.clock() * 1000))
        nc = nonce or random_nonce(16)
        signature = jsapi_signature(
            self.jsapi_ticket(new_api), nc, ts, jsapi_sign_url(url), algorithm
        )
        return {
            "agentId": self.app.agent_id,
            "corpId": self.app.corp_id,
            "timeStamp": ts,
            "nonceStr": nc,
            "signature": signature,
            "type": 0,
            "jsApiList": list(js_api_list),
        }
