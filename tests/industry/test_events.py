"""Changes through the digital-factory API are ordinary directory changes: events and /api/v1."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.industry.conftest import make_gateway_client
from tests.industry.signing import envelope, signed_headers
from tests.oidc.helpers import bearer, fetch_token, make_client


def _call(url, key, secret, path, params, api_ver):
    body = envelope(params, api_ver)
    response = httpx.post(url + path, content=body, headers=signed_headers(key, secret, path, body))
    document = response.json()
    assert response.status_code == 200 and document["code"] == 200, document
    return document["data"]


def test_changes_are_events_with_the_industry_origin_and_show_in_api_v1(
    app, client, live_server, leak_guard
):
    from idaas.directory import service
    from idaas.events.models import ChangeEvent
    from idaas.extensions import db

    key, secret = make_gateway_client()
    leak_guard.register(secret)
    url = live_server.url
    org = _call(
        url,
        key,
        secret,
        "/industry/user/organization/add",
        {"appId": key, "organizationName": "总厂"},
        "1.0.0",
    )
    role = _call(
        url, key, secret, "/industry/user/role/add", {"appId": key, "roleName": "班组长"}, "1.0.0"
    )
    _call(
        url,
        key,
        secret,
        "/industry/user/role/setroleperm",
        {"appId": key, "roleCode": role, "appendResListStr": '["line_1"]'},
        "1.0.0",
    )
    created = _call(
        url,
        key,
        secret,
        "/industry/user/account/add",
        {
            "appId": key,
            "phone": "13900001111",
            "nickName": "王五",
            "organizationIds": [org],
            "roleCodes": [role],
        },
        "1.0.1",
    )
    db.session.expire_all()
    events = list(db.session.scalars(select(ChangeEvent).order_by(ChangeEvent.id)))
    origins = {e.origin for e in events}
    assert origins == {f"industry:{key}"}
    kinds = [(e.object_type, e.action) for e in events]
    assert ("department", "created") in kinds and ("account", "created") in kinds
    assert ("role", "created") in kinds and ("role", "assigned") in kinds
    updated = [e for e in events if e.object_type == "role" and e.action == "updated"]
    assert updated[0].changes["application_permissions"] == {
        "application": key,
        "granted": ["line_1"],
        "revoked": [],
    }
    # The same account through /api/v1, like any other directory change.
    account = service.find_by_identifier("13900001111")
    reader, reader_secret = make_client("directory:read", leak_guard=leak_guard)
    token = fetch_token(client, reader, reader_secret)
    response = httpx.get(f"{url}/api/v1/accounts/{account.id}", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["display_name"] == "王五" and body["mobile"] == "+8613900001111"
    assert account.uuid.replace("-", "") == created["auid"][:32]
    roles = httpx.get(f"{url}/api/v1/accounts/{account.id}/roles", headers=bearer(token)).json()
    assert role in str(roles)


def test_changes_show_in_scim_and_are_delivered_like_any_other(make_app, leak_guard):
    """The account created here is a SCIM User, and the delivery engine (the machinery of every
    push target) delivers its change event, with the `industry:<client>` origin, to a receiver."""
    from idaas.directory import service
    from idaas.events.worker import Worker
    from tests.events.conftest import FAST_RETRIES, hook
    from tests.events.recorder import Recorder, serve
    from tests.support.live import LiveServer

    recorder = Recorder()
    with serve(recorder) as receiver:
        app = make_app(
            INDUSTRY_API_ENABLED=True, EVENTS_WEBHOOKS=hook(receiver.url), **FAST_RETRIES
        )
        with app.app_context(), LiveServer(app) as server:
            key, secret = make_gateway_client()
            leak_guard.register(secret)
            created = _call(
                server.url,
                key,
                secret,
                "/industry/user/account/add",
                {"appId": key, "phone": "13900003333", "nickName": "赵六"},
                "1.0.1",
            )
            account = service.find_by_identifier("13900003333")
            reader, reader_secret = make_client("scim:read", leak_guard=leak_guard)
            token = fetch_token(app.test_client(), reader, reader_secret)
            user = httpx.get(f"{server.url}/scim/v2/Users/{account.uuid}", headers=bearer(token))
            assert user.status_code == 200, user.text
            assert user.json()["displayName"] == "赵六"
            assert account.uuid.replace("-", "") == created["auid"][:32]
            Worker(app).drain()
    [hit] = [h for h in recorder.delivered() if h.body["type"] == "account.created"]
    assert hit.body["origin"] == f"industry:{key}"
    assert hit.body["changes"]["display_name"] == "赵六"
