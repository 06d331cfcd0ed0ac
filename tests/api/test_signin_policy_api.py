"""`/api/v1/settings/signin-policy`: read, change with If-Match, field errors, scopes, audit."""

from __future__ import annotations

from tests.auth.helpers import audit_actions

PATH = "/settings/signin-policy"


def test_get_shows_the_instance_settings_and_version_zero(api_as):
    api = api_as("settings:read")
    response = api("GET", PATH)
    assert response.status_code == 200 and response.headers["ETag"] == '"0"'
    body = response.get_json()
    assert body["version"] == 0 and body["overridden"] == []
    assert body["policy"] == body["defaults"]
    assert body["policy"]["password_min_length"] == 8 and body["policy"]["mfa_required"] is False


def test_patch_saves_overrides_audited_and_null_goes_back(api_as, db):
    api = api_as("settings:admin")
    changed = api(
        "PATCH",
        PATH,
        {"lockout_threshold": 3, "session_idle_minutes": 7.5},
        headers={"If-Match": '"0"'},
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["version"] == 1 and changed.headers["ETag"] == '"1"'
    assert body["policy"]["lockout_threshold"] == 3 and body["defaults"]["lockout_threshold"] == 5
    assert body["overridden"] == ["lockout_threshold", "session_idle_minutes"]
    back = api("PATCH", PATH, {"lockout_threshold": None})
    assert back.get_json()["overridden"] == ["session_idle_minutes"]
    rows = audit_actions(db, "settings.signin_policy.updated")
    assert [r.actor for r in rows] == [f"api:{api.client_id}"] * 2
    assert rows[0].details["before"] == {"lockout_threshold": 5, "session_idle_minutes": 30}
    assert rows[1].details["after"] == {"lockout_threshold": 5}


def test_stale_if_match_is_412_and_nothing_changes(api_as):
    api = api_as("settings:admin")
    assert api("PATCH", PATH, {"password_history": 2}).status_code == 200
    stale = api("PATCH", PATH, {"password_history": 9}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert api("GET", PATH).get_json()["policy"]["password_history"] == 2


def test_bad_values_are_422_with_fields_and_nothing_saved(api_as, db):
    api = api_as("settings:admin")
    response = api(
        "PATCH",
        PATH,
        {
            "password_min_length": 0,
            "password_required_classes": 5,
            "session_absolute_hours": 100000,
            "lockout_minutes": 2,
        },
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {
        "password_min_length",
        "password_required_classes",
        "session_absolute_hours",
    }
    assert api("GET", PATH).get_json()["version"] == 0
    assert audit_actions(db, "settings.signin_policy.updated") == []
    unknown = api("PATCH", PATH, {"password_length": 3})
    assert unknown.status_code == 422 and "password_length" in unknown.get_json()["fields"]


def test_scopes(api_as):
    reader = api_as("settings:read")
    assert reader("PATCH", PATH, {"lockout_threshold": 1}).status_code == 403
    assert api_as("directory:write")("GET", PATH).status_code == 403
    assert reader("GET", PATH).get_json()["version"] == 0


def test_documented_in_openapi(client):
    document = client.get("/api/v1/openapi.json").get_json()
    item = document["paths"]["/api/v1/settings/signin-policy"]
    assert set(item) == {"get", "patch"}
    assert {"412", "422"} <= set(item["patch"]["responses"])
    assert "SignInPolicyPatch" in document["components"]["schemas"]
