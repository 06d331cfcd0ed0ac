"""Discovery and JWKS served ahead of Flask (issue 18): the same answer as the Flask routes."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from idaas.oidc import keys
from idaas.oidc.documents import ConstantDocuments

PATHS = ["/.well-known/openid-configuration", "/oauth2/jwks"]
COMPARED = [
    "Content-Type",
    "ETag",
    "Cache-Control",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
]


@pytest.mark.parametrize("path", PATHS)
def test_fast_path_answers_like_the_flask_route(app, client, path):
    middleware = app.wsgi_app
    assert isinstance(middleware, ConstantDocuments)
    through_flask = Client(middleware.wrapped).get(path)
    fast = client.get(path)
    assert fast.status_code == through_flask.status_code == 200
    assert fast.get_data() == through_flask.get_data()
    for name in COMPARED:
        assert fast.headers.get(name) == through_flask.headers.get(name), name


@pytest.mark.parametrize("path", PATHS)
def test_conditional_get_is_answered_304(client, path):
    etag = client.get(path).headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_head_and_options_still_go_through_flask(client):
    assert client.head("/oauth2/jwks").status_code == 200
    preflight = client.options("/oauth2/jwks", headers={"Origin": "https://spa.example"})
    assert preflight.headers.get("Access-Control-Allow-Origin") == "*"


def test_a_rotated_key_is_in_the_served_jwks(app, client):
    before = {key["kid"] for key in client.get("/oauth2/jwks").get_json()["keys"]}
    keys.rotate("system")
    app.extensions["idaas_key_store"].checked_at = -1e9  # as if the check interval had passed
    after = {key["kid"] for key in client.get("/oauth2/jwks").get_json()["keys"]}
    assert after - before, "the new key is published"


def test_documents_are_counted_in_the_metrics(app, client):
    client.get("/oauth2/jwks")
    metrics = app.extensions["idaas_metrics"]
    sample = metrics.registry.get_sample_value(
        "idaas_http_requests_total", {"endpoint": "oidc.jwks", "method": "GET", "status": "200"}
    )
    assert sample and sample >= 1
