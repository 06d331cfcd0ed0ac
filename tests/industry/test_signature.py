"""The gateway signature: the contract's worked example, and refusals over real HTTP."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from alibabacloud_apigateway_util.client import Client as GatewayUtil

from idaas.industry import signature
from tests.industry.conftest import make_gateway_client
from tests.industry.signing import TeaRequest, envelope, signed_headers

# Contract §3.4, verbatim.
EXAMPLE_KEY = "24681357"
EXAMPLE_SECRET = "demo-app-secret-0123456789abcdef"
EXAMPLE_PATH = "/industry/user/account/get"
EXAMPLE_BODY = (
    b'{"id":"8f14e45fceea467a9575b1b2c3d4e5f6","version":"1.0","request":{"apiVer":"1.0.4"},'
    b'"params":{"appId":"app-123","employeeId":"emp-456"}}'
)
EXAMPLE_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/octet-stream",
    "Date": "Tue, 31 May 2022 02:00:00 GMT",
    "X-Ca-Timestamp": "1653962400000",
    "X-Ca-Nonce": "c9b1d1a4-6f0e-4a8e-9a57-2f1d3e4b5c6d",
    "X-Ca-Signature-Method": "HmacSHA256",
    "X-Ca-Key": EXAMPLE_KEY,
    "Content-MD5": "GY1B2qOoGSZ5BjLr20OJRg==",
    "X-Ca-Signature-Headers": "x-ca-key,x-ca-nonce,x-ca-signature-method,x-ca-timestamp",
    "X-Ca-Signature": "QPX/BsuV47CBougNUGyOxE6hMcCihFhYc8QhYP2DPiY=",
}
EXAMPLE_STRING_TO_SIGN = (
    "POST\n"
    "application/json\n"
    "GY1B2qOoGSZ5BjLr20OJRg==\n"
    "application/octet-stream\n"
    "Tue, 31 May 2022 02:00:00 GMT\n"
    "x-ca-key:24681357\n"
    "x-ca-nonce:c9b1d1a4-6f0e-4a8e-9a57-2f1d3e4b5c6d\n"
    "x-ca-signature-method:HmacSHA256\n"
    "x-ca-timestamp:1653962400000\n"
    "/industry/user/account/get"
)


def _example_headers_for_builder() -> dict[str, str]:
    lowered = {
        "x-ca-key": EXAMPLE_KEY,
        "x-ca-nonce": EXAMPLE_HEADERS["X-Ca-Nonce"],
        "x-ca-signature-method": "HmacSHA256",
        "x-ca-timestamp": EXAMPLE_HEADERS["X-Ca-Timestamp"],
    }
    return {**EXAMPLE_HEADERS, **lowered}


def test_worked_example_byte_for_byte():
    assert signature.content_md5(EXAMPLE_BODY) == "GY1B2qOoGSZ5BjLr20OJRg=="
    names = signature.signed_header_names(EXAMPLE_HEADERS["X-Ca-Signature-Headers"])
    text = signature.string_to_sign("POST", _example_headers_for_builder(), names, EXAMPLE_PATH)
    assert text == EXAMPLE_STRING_TO_SIGN
    assert signature.sign(EXAMPLE_SECRET, text) == "QPX/BsuV47CBougNUGyOxE6hMcCihFhYc8QhYP2DPiY="
    sha1_text = text.replace("HmacSHA256", "HmacSHA1")
    assert signature.sign(EXAMPLE_SECRET, sha1_text, "HmacSHA1") == "uadu9x/TZDI/9FfFXgnQo38CsKo="


def test_worked_example_matches_alibabas_util():
    headers = {
        "accept": "application/json",
        "content-md5": GatewayUtil.get_content_md5(EXAMPLE_BODY.decode()),
        "content-type": "application/octet-stream",
        "date": "Tue, 31 May 2022 02:00:00 GMT",
        "x-ca-key": EXAMPLE_KEY,
        "x-ca-nonce": EXAMPLE_HEADERS["X-Ca-Nonce"],
        "x-ca-signature-method": "HmacSHA256",
        "x-ca-timestamp": "1653962400000",
    }
    tea = TeaRequest("POST", EXAMPLE_PATH, headers, {})
    assert GatewayUtil.get_signature(tea, EXAMPLE_SECRET) == EXAMPLE_HEADERS["X-Ca-Signature"]
    assert tea.headers["x-ca-signature-headers"] == EXAMPLE_HEADERS["X-Ca-Signature-Headers"]


def _install_example_client(app):
    """The contract's AppKey/AppSecret as a real API client with that gateway secret."""
    from idaas.applications import service as clients
    from idaas.extensions import db
    from idaas.industry.models import GatewayKey
    from idaas.security import secretbox

    client, _ = clients.create_client("system", name="worked example", scopes=["industry"])
    client.client_id = EXAMPLE_KEY
    db.session.add(
        GatewayKey(api_client_id=client.id, secret_encrypted=secretbox.encrypt(EXAMPLE_SECRET))
    )
    db.session.commit()
    app.extensions["industry"].clock = lambda: 1653962400.0  # the example's instant


def test_worked_example_request_is_accepted_by_the_server(app, live_server):
    _install_example_client(app)
    response = httpx.post(
        live_server.url + EXAMPLE_PATH, content=EXAMPLE_BODY, headers=EXAMPLE_HEADERS
    )
    # Past the gateway: the business answer for an unknown appId (tenant not found), HTTP 200.
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["id"] == "8f14e45fceea467a9575b1b2c3d4e5f6"
    assert document["code"] == 102126 and document["message"] == "tenant not fund"
    # The same request again is a replay.
    again = httpx.post(
        live_server.url + EXAMPLE_PATH, content=EXAMPLE_BODY, headers=EXAMPLE_HEADERS
    )
    assert again.status_code == 400 and again.json()["message"] == "Nonce Used"


@pytest.fixture
def live_gateway(app, live_server):
    key, secret = make_gateway_client()
    return live_server.url, key, secret


def _post(url, key, secret, body=None, path="/industry/user/role/all/list", **sign):
    body = body if body is not None else envelope({}, "1.0.1")
    headers = signed_headers(key, secret, path, body, **sign)
    return body, headers


def _gateway_error(response, status, message):
    assert response.status_code == status, response.text
    document = response.json()
    assert document["code"] == status and document["message"] == message
    assert document["data"] is None and document["localizedMsg"]
    assert response.headers["X-Ca-Error-Message"].startswith(message)


def test_alibaba_util_client_calls_idaas_over_http(live_gateway):
    url, key, secret = live_gateway
    body, headers = _post(url, key, secret)
    response = httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["code"] == 200 and response.json()["data"] == []


def test_query_parameters_are_signed(live_gateway):
    url, key, secret = live_gateway
    path = "/industry/user/role/all/list"
    body, headers = _post(url, key, secret, query={"b": "2", "a": "1"})
    ok = httpx.post(url + path + "?b=2&a=1", content=body, headers=headers)
    assert ok.json()["code"] == 200
    body, headers = _post(url, key, secret, query={"a": "1"})
    changed = httpx.post(url + path + "?a=2", content=body, headers=headers)
    _gateway_error(changed, 401, "Invalid Signature")


def test_tampered_body_is_refused(live_gateway):
    url, key, secret = live_gateway
    body, headers = _post(url, key, secret)
    tampered = body.replace(b'"params": {}', b'"params": {"appId": "x"}')
    assert tampered != body
    response = httpx.post(url + "/industry/user/role/all/list", content=tampered, headers=headers)
    _gateway_error(response, 400, "Invalid Content-MD5")
    # Fixing Content-MD5 does not help: it is part of the signed string.
    headers["content-md5"] = signature.content_md5(tampered)
    response = httpx.post(url + "/industry/user/role/all/list", content=tampered, headers=headers)
    _gateway_error(response, 401, "Invalid Signature")
    assert "Server StringToSign:" in response.headers["X-Ca-Error-Message"]


def test_wrong_secret_and_unknown_key_are_refused(live_gateway):
    url, key, _ = live_gateway
    body, headers = _post(url, key, "not-the-secret")
    _gateway_error(
        httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers),
        401,
        "Invalid Signature",
    )
    body, headers = _post(url, "ak_unknown", "whatever")
    _gateway_error(
        httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers),
        400,
        "Invalid AppKey",
    )


def test_missing_signature_is_empty_signature(live_gateway):
    url, key, secret = live_gateway
    body, headers = _post(url, key, secret)
    del headers["x-ca-signature"]
    response = httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers)
    _gateway_error(response, 401, "Empty Signature")
    response = httpx.post(url + "/industry/user/role/all/list", content=body)
    _gateway_error(response, 401, "Empty Signature")


def test_stale_and_malformed_timestamps_are_refused(live_gateway):
    import time

    url, key, secret = live_gateway
    stale = int(time.time() * 1000) - 16 * 60 * 1000
    body, headers = _post(url, key, secret, timestamp_ms=stale)
    response = httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers)
    _gateway_error(response, 400, "Timestamp Expired")
    future = int(time.time() * 1000) + 16 * 60 * 1000
    body, headers = _post(url, key, secret, timestamp_ms=future)
    response = httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers)
    _gateway_error(response, 400, "Timestamp Expired")
    body, headers = _post(url, key, secret, extra={"x-ca-timestamp": "yesterday"})
    response = httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers)
    _gateway_error(response, 400, "Invalid Timestamp")


def test_replayed_nonce_is_refused(live_gateway):
    url, key, secret = live_gateway
    body, headers = _post(url, key, secret)
    first = httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers)
    assert first.json()["code"] == 200
    replay = httpx.post(url + "/industry/user/role/all/list", content=body, headers=headers)
    _gateway_error(replay, 400, "Nonce Used")


def test_unsigned_nonce_or_timestamp_is_refused(app, client):
    key, secret = make_gateway_client()
    path = "/industry/user/role/all/list"
    body = envelope({}, "1.0.1")
    headers = signed_headers(key, secret, path, body)
    listed = headers["x-ca-signature-headers"].split(",")
    # Re-sign without the nonce in the signed list: the nonce could then be changed at will.
    headers["x-ca-signature-headers"] = ",".join(n for n in listed if n != "x-ca-nonce")
    names = signature.signed_header_names(headers["x-ca-signature-headers"])
    text = signature.string_to_sign(
        "POST",
        {
            **headers,
            "Accept": headers["accept"],
            "Content-MD5": headers["content-md5"],
            "Content-Type": headers["content-type"],
            "Date": headers["date"],
        },
        names,
        path,
    )
    headers["x-ca-signature"] = signature.sign(secret, text)
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 400 and response.get_json()["message"] == "Invalid Nonce"


def test_colon_separated_signature_headers_are_accepted(app, client):
    key, secret = make_gateway_client()
    path = "/industry/user/role/all/list"
    body = envelope({}, "1.0.1")
    headers = signed_headers(key, secret, path, body)
    headers["x-ca-signature-headers"] = headers["x-ca-signature-headers"].replace(",", ":")
    response = client.post(path, data=body, headers=headers)
    assert response.get_json()["code"] == 200


def test_echoes_request_id_and_refuses_bad_envelopes(app, client):
    key, secret = make_gateway_client()
    path = "/industry/user/role/all/list"
    body = envelope({}, "1.0.1", request_id="trace-42")
    ok = client.post(path, data=body, headers=signed_headers(key, secret, path, body))
    assert ok.get_json()["id"] == "trace-42"
    for bad in (b"not json", b"[]", json.dumps({"id": "1", "version": "2.0"}).encode()):
        response = client.post(path, data=bad, headers=signed_headers(key, secret, path, bad))
        assert response.status_code == 400
        assert response.get_json()["message"] == "Request Format Error"
    wrong_version = envelope({}, "9.9.9")
    response = client.post(
        path, data=wrong_version, headers=signed_headers(key, secret, path, wrong_version)
    )
    assert response.status_code == 200 and response.get_json()["code"] == 460


def test_disabled_client_and_rotated_secret_stop_at_once(app, client):
    from idaas.applications import service as clients
    from idaas.industry import keys

    key, secret = make_gateway_client()
    path = "/industry/user/role/all/list"

    def call(with_secret):
        body = envelope({}, "1.0.1", request_id=uuid.uuid4().hex)
        return client.post(path, data=body, headers=signed_headers(key, with_secret, path, body))

    assert call(secret).get_json()["code"] == 200  # warms the per-process client cache
    new_secret = keys.issue_secret("system", key)
    assert call(secret).status_code == 401
    assert call(new_secret).get_json()["code"] == 200
    clients.set_enabled("system", key, False)
    assert call(new_secret).status_code == 400  # Invalid AppKey
    clients.set_enabled("system", key, True)
    keys.revoke_secret("system", key)
    assert call(new_secret).status_code == 400


def test_hmac_sha1_is_accepted_and_unknown_methods_refused(app, client):
    key, secret = make_gateway_client()
    path = "/industry/user/role/all/list"

    def send(method_name, algorithm):
        body = envelope({}, "1.0.1")
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/octet-stream",
            "Content-MD5": signature.content_md5(body),
            "x-ca-key": key,
            "x-ca-nonce": str(uuid.uuid4()),
            "x-ca-signature-method": method_name,
            "x-ca-timestamp": str(int(__import__("time").time() * 1000)),
        }
        names = sorted(k for k in headers if k.startswith("x-ca-"))
        headers["X-Ca-Signature-Headers"] = ",".join(names)
        text = signature.string_to_sign("POST", headers, names, path)
        headers["X-Ca-Signature"] = signature.sign(secret, text, algorithm)
        return client.post(path, data=body, headers=headers)

    assert send("HmacSHA1", "HmacSHA1").get_json()["code"] == 200
    refused = send("HmacMD5", "HmacSHA256")
    assert refused.status_code == 401 and refused.get_json()["message"] == "Invalid Signature"
