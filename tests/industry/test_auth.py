"""Replay store (controlled clock, Redis, concurrency), bearer tokens, grants (scopes)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from idaas.industry import nonces
from tests.industry.conftest import Gateway, make_gateway_client
from tests.industry.signing import envelope, signed_headers

PATH = "/industry/user/role/all/list"
WINDOW_MS = 900 * 1000


def _signed(key, secret, stamp_ms, nonce):
    body = envelope({}, "1.0.1")
    return body, signed_headers(key, secret, PATH, body, timestamp_ms=stamp_ms, nonce=nonce)


def test_nonce_window_with_a_controlled_clock(app, client):
    from idaas.extensions import db
    from idaas.industry.models import UsedNonce

    key, secret = make_gateway_client()
    start = 1_900_000_000.0
    now = [start]
    app.extensions["industry"].clock = lambda: now[0]
    stamp = int(start * 1000)
    body, headers = _signed(key, secret, stamp, "n-1")
    assert client.post(PATH, data=body, headers=headers).get_json()["code"] == 200
    now[0] = start + 14 * 60  # still inside the window: the replay is caught by the nonce
    replay = client.post(PATH, data=body, headers=headers)
    assert replay.status_code == 400 and replay.get_json()["message"] == "Nonce Used"
    now[0] = start + 16 * 60  # outside: the timestamp itself is refused
    late = client.post(PATH, data=body, headers=headers)
    assert late.status_code == 400 and late.get_json()["message"] == "Timestamp Expired"
    # The row lives exactly as long as the timestamp could be accepted, then is purged.
    row = db.session.get(UsedNonce, (key, "n-1"))
    assert row.expires_at == stamp + WINDOW_MS
    assert nonces.purge(stamp + WINDOW_MS - 1) == 0
    assert nonces.purge(stamp + WINDOW_MS) == 1
    # A nonce whose row expired may be taken again (a fresh timestamp later on).
    store = nonces.DatabaseNonces()
    assert nonces.consume(store, key, "n-2", stamp + 10, stamp)
    assert not nonces.consume(store, key, "n-2", stamp + 20, stamp + 5)
    assert nonces.consume(store, key, "n-2", stamp + 30, stamp + 10)


def test_nonce_is_refused_by_another_process(make_app, app):
    """Two app instances (as two gunicorn workers) share the database replay store."""
    key, secret = make_gateway_client()
    other = make_app(INDUSTRY_API_ENABLED=True)
    body, headers = _signed(key, secret, int(time.time() * 1000), str(uuid.uuid4()))
    assert app.test_client().post(PATH, data=body, headers=headers).get_json()["code"] == 200
    replay = other.test_client().post(PATH, data=body, headers=headers)
    assert replay.get_json()["message"] == "Nonce Used"


def test_concurrent_replays_only_one_wins(app):
    store = nonces.DatabaseNonces()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt():
        with app.app_context():
            barrier.wait()
            results.append(nonces.consume(store, "ak_race", "same-nonce", 10**13, 10**12))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_redis_replay_store_across_processes(make_app, redis_url):
    import redis

    first = make_app(INDUSTRY_API_ENABLED=True, REDIS_URL=redis_url)
    second = make_app(INDUSTRY_API_ENABLED=True, REDIS_URL=redis_url)
    assert isinstance(first.extensions["industry"].nonces, nonces.RedisNonces)
    with first.app_context():
        key, secret = make_gateway_client()
    nonce = str(uuid.uuid4())
    body, headers = _signed(key, secret, int(time.time() * 1000), nonce)
    assert first.test_client().post(PATH, data=body, headers=headers).get_json()["code"] == 200
    replay = second.test_client().post(PATH, data=body, headers=headers)
    assert replay.get_json()["message"] == "Nonce Used"
    ttl = redis.Redis.from_url(redis_url).pttl(f"idaas:industry:nonce:{key}:{nonce}")
    assert WINDOW_MS - 60_000 < ttl <= WINDOW_MS


def test_concurrent_redis_replays_only_one_wins(make_app, redis_url):
    """Eight processes' stores (own Redis connections) race for one nonce: one wins."""
    import redis

    store_app = make_app(INDUSTRY_API_ENABLED=True, REDIS_URL=redis_url)
    prefix = store_app.extensions["industry"].nonces.prefix
    stores = [nonces.RedisNonces(redis.Redis.from_url(redis_url), prefix) for _ in range(8)]
    nonce = str(uuid.uuid4())
    results: list[int | None] = []
    barrier = threading.Barrier(len(stores))

    def attempt(store):
        barrier.wait()
        results.append(store.consume_reading_generation("ak_race", nonce, 10**13, 10**12))

    threads = [threading.Thread(target=attempt, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and results.count(None) == 7
    won = next(r for r in results if r is not None)
    assert won == stores[0].generation()  # the winner also read the cache generation


def _token(client, key, secret, scope):
    from idaas.applications import service as clients

    del key  # tokens come from the client credentials of an API client
    oauth_client, oauth_secret = clients.create_client(
        "system", name="bearer", scopes=["industry", "industry:write"]
    )
    response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(oauth_client.client_id, oauth_secret),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def _bearer_call(client, token, path=PATH, params=None, api_ver="1.0.1"):
    return client.post(
        path,
        data=envelope(params or {}, api_ver),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def test_bearer_token_from_client_credentials(app, client):
    token = _token(client, None, None, "industry")
    response = _bearer_call(client, token)
    assert response.status_code == 200 and response.get_json()["code"] == 200
    # The token was issued for `industry` only: writes need `industry:write` in the token.
    write = _bearer_call(
        client,
        token,
        "/industry/user/organization/add",
        {"appId": "x", "organizationName": "a"},
        "1.0.0",
    )
    assert write.get_json()["code"] == 403 and write.get_json()["message"] == "request forbidden."


def test_invalid_bearer_token_is_request_authorized_error(app, client):
    response = _bearer_call(client, "not-a-token")
    document = response.get_json()
    assert response.status_code == 200
    assert document["code"] == 401 and document["message"] == "Request Authorized Error"


def test_client_without_the_industry_scope_is_forbidden(app, client):
    key, secret = make_gateway_client(scopes=("directory:read",))
    gateway = Gateway(client, key, secret)
    document = gateway.call(PATH, {})
    assert document["code"] == 403 and document["message"] == "request forbidden."
    assert "industry" in document["localizedMsg"]


@pytest.mark.parametrize(
    ("path", "params", "needs"),
    [
        ("/industry/user/account/add", {"appId": "a", "phone": "1", "nickName": "n"}, "write"),
        ("/industry/user/role/add", {"appId": "a", "roleName": "r"}, "roles"),
        ("/industry/user/role/setroleperm", {"appId": "a", "roleCode": "r"}, "roles"),
        ("/industry/user/role/getroleperm", {"appId": "a"}, "write"),
    ],
)
def test_grants_map_to_scopes(app, client, path, params, needs):
    key, secret = make_gateway_client(scopes=("industry",))
    document = Gateway(client, key, secret).call(path, params)
    assert document["code"] == 403
    assert f"industry:{needs}" in document["localizedMsg"]


def test_disabled_by_default(make_app):
    plain = make_app()
    response = plain.test_client().post(PATH, data=envelope({}, "1.0.1"))
    assert response.status_code == 404


def test_configurable_prefix(make_app):
    moved = make_app(INDUSTRY_API_ENABLED=True, INDUSTRY_API_PREFIX="/factory")
    with moved.app_context():
        key, secret = make_gateway_client()
        body = envelope({}, "1.0.1")
        path = "/factory/user/role/all/list"
        response = moved.test_client().post(
            path, data=body, headers=signed_headers(key, secret, path, body)
        )
        assert response.get_json()["code"] == 200


def test_localized_message_follows_the_caller(app, client):
    key, secret = make_gateway_client(scopes=("directory:read",))
    body = envelope({}, "1.0.1")
    zh = client.post(PATH, data=body, headers=signed_headers(key, secret, PATH, body))
    assert zh.get_json()["localizedMsg"].startswith("请求没有权限")
    body = envelope({}, "1.0.1")
    en = client.post(
        PATH,
        data=body,
        headers={**signed_headers(key, secret, PATH, body), "Accept-Language": "en"},
    )
    assert en.get_json()["localizedMsg"].startswith("Request forbidden.")
    assert en.get_json()["message"] == zh.get_json()["message"] == "request forbidden."
    # The envelope's own `request.language` wins over the header.
    import json

    document = json.loads(envelope({}, "1.0.1"))
    document["request"]["language"] = "en_US"
    body = json.dumps(document).encode()
    explicit = client.post(PATH, data=body, headers=signed_headers(key, secret, PATH, body))
    assert explicit.get_json()["localizedMsg"].startswith("Request forbidden.")
    # Gateway errors are localised too.
    body = envelope({}, "1.0.1")
    headers = signed_headers(key, "wrong", PATH, body)
    assert (
        client.post(PATH, data=body, headers=headers).get_json()["localizedMsg"]
        == "签名与请求不符。"
    )
