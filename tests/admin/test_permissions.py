"""Each admin role, per page family: what it may see and do, and what is refused (403, and the
action is not performed), on the console pages and on /api/v1 with the console session."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from idaas.applications.models import ApiClient, Application
from idaas.directory.models import Department
from idaas.oidc.models import SigningKey

ROLES = ["super_admin", "directory_admin", "application_admin", "auditor", None]

# (family, read page, may read?, may write?) per role
ALLOWED = {
    "super_admin": {
        "directory": "rw",
        "applications": "rw",
        "settings": "rw",
        "audit": "rx",
        "admins": "rw",
    },
    "directory_admin": {
        "directory": "rw",
        "applications": "",
        "settings": "",
        "audit": "r",
        "admins": "",
    },
    "application_admin": {
        "directory": "r",
        "applications": "rw",
        "settings": "",
        "audit": "r",
        "admins": "",
    },
    "auditor": {
        "directory": "r",
        "applications": "r",
        "settings": "r",
        "audit": "rx",
        "admins": "",
    },
    None: {"directory": "", "applications": "", "settings": "", "audit": "", "admins": ""},
}
# DingTalk sync pages belong to the directory family, the SCIM page to the applications one.
for _family in ALLOWED.values():
    _family["dingtalk"] = _family["directory"]
    _family["scim"] = _family["applications"]
    _family["provisioning"] = _family["applications"]
    _family["dingtalk_push"] = _family["directory"]


def _count(db: Any, model: Any) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model)))


def _directory(client: Any, db: Any) -> tuple[int, int, bool]:
    read = client.get("/admin/departments").status_code
    before = _count(db, Department)
    write = client.post("/admin/departments/new", data={"name": "Probe dept"}).status_code
    return read, write, _count(db, Department) > before


def _applications(client: Any, db: Any) -> tuple[int, int, bool]:
    read = client.get("/admin/clients").status_code
    before = _count(db, ApiClient)
    write = client.post(
        "/admin/clients/new", data={"name": "Probe client", "scopes": ["directory:read"]}
    ).status_code
    return read, write, _count(db, ApiClient) > before


def _dingtalk(client: Any, db: Any) -> tuple[int, int, bool]:
    from idaas.dingtalk.connections import DingTalkConnection

    read = client.get("/admin/dingtalk").status_code
    before = _count(db, DingTalkConnection)
    write = client.post(
        "/admin/dingtalk/new",
        data={"name": "probe", "corp_id": "dingprobe", "app_key": "keyprobe", "app_secret": "s3cr"},
    ).status_code
    return read, write, _count(db, DingTalkConnection) > before


def _scim(client: Any, db: Any) -> tuple[int, int, bool]:
    from idaas.applications import service as clients
    from idaas.scim.models import ScimToken

    api_client, _ = clients.create_client("system", name="HR", scopes=["scim:read"])
    read = client.get("/admin/scim").status_code
    before = _count(db, ScimToken)
    write = client.post(
        f"/admin/scim/clients/{api_client.client_id}/tokens", data={"name": "probe"}
    ).status_code
    return read, write, _count(db, ScimToken) > before


def _provisioning(client: Any, db: Any) -> tuple[int, int, bool]:
    from idaas.applications import apps
    from idaas.scim.push.models import ProvisioningTarget

    app_row = apps.create_application(
        "system", name="Probe app", redirect_uris=["https://app.example.com/cb"]
    )[0]
    page = f"/admin/applications/{app_row.client_id}/provisioning"
    read = client.get(page).status_code
    before = _count(db, ProvisioningTarget)
    form = {"base_url": "https://scim.example.com", "users": "y", "auth_type": "none"}
    form |= {"departments": "none", "deprovision": "deactivate", "mapping": "[]"}
    write = client.post(page, data=form).status_code
    return read, write, _count(db, ProvisioningTarget) > before


def _dingtalk_push(client: Any, db: Any) -> tuple[int, int, bool]:
    from idaas.dingtalk import connections
    from idaas.dingtalk.push.models import NotifySettings

    connections.save(
        "system",
        "pushprobe",
        corp_id="dingpush",
        app_key="keyprobe01",
        app_secret="secretprobe0123456",
    )
    read = client.get("/admin/dingtalk/pushprobe/push").status_code
    before = _count(db, NotifySettings)
    write = client.post("/admin/dingtalk/pushprobe/notifications", data={"events": []}).status_code
    return read, write, _count(db, NotifySettings) > before


def _settings(client: Any, db: Any) -> tuple[int, int, bool]:
    read = client.get("/admin/keys").status_code
    before = _count(db, SigningKey)
    write = client.post("/admin/keys/rotate", data={"confirm": "yes"}).status_code
    return read, write, _count(db, SigningKey) > before


def _audit(client: Any, db: Any) -> tuple[int, int, bool]:
    read = client.get("/admin/audit").status_code
    export = client.get("/admin/audit/export.csv")
    return read, export.status_code, export.status_code == 200 and b"actor" in export.data


def _admins(client: Any, db: Any) -> tuple[int, int, bool]:
    from idaas.admin import roles
    from idaas.directory import service

    read = client.get("/admin/admins").status_code
    target = service.find_by_identifier("alice")
    write = client.post(
        "/admin/admins", data={"account": "alice", "role": "auditor", "confirm": "yes"}
    ).status_code
    db.session.rollback()
    return read, write, bool(roles.roles_of(target.id))


FAMILIES = {
    "directory": _directory,
    "applications": _applications,
    "settings": _settings,
    "audit": _audit,
    "admins": _admins,
    "dingtalk": _dingtalk,
    "scim": _scim,
    "provisioning": _provisioning,
    "dingtalk_push": _dingtalk_push,
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "no-role")
def test_pages(role_client: Any, account: Any, db: Any, role: str | None, family: str) -> None:
    client, _ = role_client(role)
    read, write, performed = FAMILIES[family](client, db)
    allowed = ALLOWED[role][family]
    assert read == (200 if "r" in allowed else 403)
    if "w" in allowed or (family == "audit" and "x" in allowed):
        assert write in (200, 302) and performed, (role, family, write)
    else:
        assert write == 403 and not performed, (role, family, write)


def test_refusal_is_the_403_page(role_client: Any) -> None:
    client, _ = role_client("auditor")
    response = client.post("/admin/departments/new", data={"name": "X"})
    assert response.status_code == 403
    assert response.mimetype == "text/html" and "403" in response.get_data(as_text=True)


def test_anonymous_goes_to_sign_in(client: Any) -> None:
    response = client.get("/admin/accounts")
    assert response.status_code == 302 and "/login" in response.location


API = {
    # name: (method, path, body, scope-holders)
    "directory-read": (
        "GET",
        "/api/v1/accounts",
        None,
        {"super_admin", "directory_admin", "application_admin", "auditor"},
    ),
    "directory-write": (
        "POST",
        "/api/v1/departments",
        {"name": "API probe"},
        {"super_admin", "directory_admin"},
    ),
    "applications": (
        "POST",
        "/api/v1/applications",
        {"name": "API app", "redirect_uris": ["https://app.example/cb"]},
        {"super_admin", "application_admin"},
    ),
    "audit": ("GET", "/api/v1/audit", None, {"super_admin", "auditor"}),
    # The console's job progress bar reads /api/v1/jobs/<id> with the session.
    "jobs": ("GET", "/api/v1/jobs", None, {"super_admin", "directory_admin"}),
}


@pytest.mark.parametrize("operation", sorted(API))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "no-role")
def test_api_with_console_session(
    role_client: Any, db: Any, role: str | None, operation: str
) -> None:
    from idaas.audit.models import AuditEvent

    client, person = role_client(role)
    method, path, body, holders = API[operation]
    model = {"directory-write": Department, "applications": Application}.get(operation)
    before = _count(db, model) if model else 0
    response = client.open(path, method=method, json=body)
    if role in holders:
        assert response.status_code in (200, 201), response.get_json()
        if model is not None:
            assert _count(db, model) == before + 1
            actors = set(
                db.session.scalars(
                    select(AuditEvent.actor).where(
                        AuditEvent.action.in_(["department.created", "application.created"])
                    )
                )
            )
            assert actors == {f"admin:{person.id}"}
    else:
        assert response.status_code == 403, response.get_json()
        assert response.mimetype == "application/problem+json"
        if model is not None:
            assert _count(db, model) == before


def test_api_without_session_or_token_is_401(client: Any) -> None:
    assert client.get("/api/v1/accounts").status_code == 401


def test_api_session_writes_need_the_csrf_token(make_app: Any, admin: Any) -> None:
    from tests.admin.conftest import sign_in
    from tests.conftest import ADMIN_PASSWORD

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        page = client.get("/login")
        import re

        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)
        )
        token = token or re.search(
            r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)
        )
        response = client.post(
            "/login",
            data={"identifier": "root", "password": ADMIN_PASSWORD, "csrf_token": token.group(1)},
        )
        assert response.status_code == 302
        refused = client.post("/api/v1/departments", json={"name": "No CSRF"})
        assert refused.status_code == 400
        console = client.get("/admin/")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', console.get_data(as_text=True))
        accepted = client.post(
            "/api/v1/departments",
            json={"name": "With CSRF"},
            headers={"X-CSRFToken": csrf.group(1)},
        )
        assert accepted.status_code == 201, accepted.get_json()
    assert sign_in is not None


def test_directory_admin_cannot_make_itself_super_admin(
    role_client: Any, api_as: Any, db: Any
) -> None:
    from idaas.admin import roles

    client, person = role_client("directory_admin")
    super_role = roles.ensure_role("system", "super_admin")
    via_session = client.put(f"/api/v1/roles/{super_role.id}/members/{person.id}")
    assert via_session.status_code == 422, via_session.get_json()
    via_token = api_as("directory:write")("PUT", f"/roles/{super_role.id}/members/{person.id}")
    assert via_token.status_code == 422
    renamed = client.patch(f"/api/v1/roles/{super_role.id}", json={"name": "Mine"})
    assert renamed.status_code == 422
    own = client.post(
        "/api/v1/roles", json={"code": "idaas.fake", "name": "Fake", "permissions": ["idaas:admin"]}
    )
    assert own.status_code == 422
    db.session.rollback()
    assert roles.permissions_of(person.id) == frozenset(roles.ROLES["directory_admin"].permissions)


def test_refused_actions_are_audited(role_client: Any, db: Any) -> None:
    from idaas.audit.models import AuditEvent

    client, person = role_client("auditor")
    assert client.post("/admin/departments/new", data={"name": "Nope"}).status_code == 403
    db.session.rollback()
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "admin.denied"))
    assert row.actor == f"admin:{person.id}" and row.outcome == "denied"
    assert row.details == {"endpoint": "admin.department_new", "method": "POST"}
