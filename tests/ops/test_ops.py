"""Operations endpoints: liveness, readiness (with reasons) and metrics."""

from flask_migrate import stamp


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_needs_the_schema_to_be_current(app, client):
    # The test schema comes from create_all, so no migration has been recorded.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "idaas db upgrade" in response.json["reason"]
    stamp(directory=str(app.config["MIGRATIONS_DIRECTORY"]))
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        from sqlalchemy import text

        from idaas.extensions import db

        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))


def test_readyz_says_503_with_a_reason_when_the_database_is_unreachable(make_app):
    from tests.conftest import free_port

    unreachable = make_app(
        DATABASE_URL=f"postgresql+psycopg://idaas@127.0.0.1:{free_port()}/idaas",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    response = unreachable.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["reason"].startswith("database unreachable")
    assert "Traceback" not in response.get_data(as_text=True)
    assert unreachable.test_client().get("/healthz").status_code == 200


def test_metrics_count_requests_by_endpoint(client):
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'idaas_http_requests_total{endpoint="ops.healthz",method="GET",status="200"} 2.0' in body
    assert 'endpoint="unmatched",method="GET",status="404"' in body
    assert "idaas_http_request_duration_seconds_bucket" in body


def test_security_headers_and_errors_without_stack_traces(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"
    assert api.json["status"] == 404


def test_unexpected_errors_are_500_without_details(make_app):
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail that must not leak")

    response = app.test_client().get("/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert "internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_hsts_when_the_issuer_is_https(make_app):
    app = make_app(ISSUER="https://sso.example")
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_language_switch_only_redirects_on_site(client):
    response = client.get("/lang/en?next=/portal")
    assert response.headers["Location"] == "/portal"
    assert "lang=en" in response.headers["Set-Cookie"]
    for target in ("//evil.example", "https://evil.example", "/\\evil.example"):
        response = client.get("/lang/en", query_string={"next": target})
        assert response.headers["Location"] == "/"
