"""Issue 11 findings 10 (request body limit) and 11 (unauthenticated 500s), with hypothesis."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.oidc.support import REDIRECT, register

AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "acr_values",
    "id_token_hint",
)


def test_f10_a_chunked_body_over_the_limit_is_refused(live_server):
    sent = {"bytes": 0}

    def body():
        chunk = b"x" * 65536
        for _ in range(48):  # 3 MiB, chunked: no Content-Length to refuse up front
            sent["bytes"] += len(chunk)
            yield chunk

    try:
        response = httpx.post(
            f"{live_server.url}/api/v1/integration-requests",
            content=body(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    except httpx.TransportError:
        return  # the server stopped reading and closed the connection: refused as well
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_f10_content_length_over_the_limit_is_refused(client):
    response = client.post(
        "/api/v1/integration-requests",
        data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413


def test_f11_deeply_nested_json_is_a_400(client):
    response = client.post(
        "/api/v1/integration-requests",
        data="[" * 50000 + "]" * 50000,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_f11_forbidden_characters_in_authorize_parameters_are_a_400(app, client, leak_guard):
    client_id, _ = register(leak_guard)
    base = {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT}
    for name, value in (
        ("redirect_uri", REDIRECT + "é"),
        ("redirect_uri", 'https://rp"x'),
        ("response_type", "code\\"),
        ("response_type", "cödé"),
    ):
        response = client.get("/oauth2/authorize", query_string={**base, name: value})
        assert response.status_code == 400, (name, value)
        assert "text/html" in response.headers["Content-Type"]
    token = client.post("/oauth2/token", data={"grant_type": "cödé\\"})
    assert token.status_code in (400, 401)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.dictionaries(
        st.sampled_from(AUTHORIZE_PARAMS),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["code", "openid", "none", "login", "S256", "form_post", "0"]),
        ),
        max_size=8,
    ),
    known_client=st.booleans(),
    known_redirect=st.booleans(),
)
def test_f11_hypothesis_authorize_parameters_never_5xx(
    app, logged_in, leak_guard, params, known_client, known_redirect
):
    """Random authorization requests (signed in, known client or not) never answer 5xx."""
    from idaas.applications.models import Application
    from idaas.extensions import db

    client_id = db.session.scalar(db.select(Application.client_id))
    if client_id is None:
        client_id, _ = register(leak_guard)
    query = dict(params)
    if known_client:
        query["client_id"] = client_id
    if known_redirect:
        query["redirect_uri"] = REDIRECT
    response = logged_in.get("/oauth2/authorize", query_string=query)
    assert response.status_code < 500, (query, response.get_data(as_text=True)[:300])
    posted = logged_in.post("/oauth2/authorize", data=query)
    assert posted.status_code < 500, query
