"""Permission checks (§7.1, §7.2), administrators (§7.3), ecosystem account (§8.1), caching."""

from __future__ import annotations

import json
import time

import pytest

from tests.industry.conftest import Gateway, make_gateway_client
from tests.industry.signing import envelope, signed_headers

ONE = "/industry/app/res/permission/authenticate"
BATCH = "/industry/app/resource/batch/authenticate"
ADMINS = "/industry/app/administrator/query"
ALIECO = "/industry/account/alieco/get"


def granted_worker(gateway):
    """An employee holding a role that grants `demo_page` in the gateway's app."""
    app_id = gateway.app_key
    role = gateway.data("/industry/user/role/add", {"appId": app_id, "roleName": "车间主管"})
    gateway.data(
        "/industry/user/role/setroleperm",
        {"appId": app_id, "roleCode": role, "appendResListStr": '["demo_page"]'},
    )
    created = gateway.data(
        "/industry/user/account/add",
        {"appId": app_id, "phone": "13900001111", "nickName": "工人", "roleCodes": [role]},
    )
    return {"appId": app_id, "auid": created["auid"], "role": role}


@pytest.fixture
def worker(gateway):
    """An employee holding a role that grants `demo_page` in the gateway's app."""
    return granted_worker(gateway)


def test_single_check(gateway, worker):
    params = {"appId": worker["appId"], "employeeId": worker["auid"]}
    assert gateway.data(ONE, {**params, "resCode": "demo_page"}) is True
    assert gateway.data(ONE, {**params, "resCode": "other_page"}) is False


def test_single_check_errors(gateway, worker):
    base = {"appId": worker["appId"], "employeeId": worker["auid"], "resCode": "demo_page"}
    nobody = gateway.call(ONE, {**base, "employeeId": "0" * 40})
    assert (nobody["code"], nobody["message"]) == (22000, "Query Result is Empty")
    assert nobody["localizedMsg"].startswith("查询结果为空")
    for missing in ("appId", "employeeId", "resCode"):
        assert gateway.call(ONE, {k: v for k, v in base.items() if k != missing})["code"] == 460
    assert gateway.call(ONE, {**base, "appId": "unknown"})["code"] == 460


def test_batch_check(gateway, worker):
    params = {"appId": worker["appId"], "employeeId": worker["auid"]}
    raw = gateway.data(BATCH, {**params, "resCodes": ["demo_page", "other_page"]})
    assert isinstance(raw, str)  # a JSON object as a string (§7.1)
    assert json.loads(raw) == {"demo_page": True, "other_page": False}
    assert gateway.call(BATCH, {**params, "resCodes": []})["code"] == 460
    assert gateway.call(BATCH, {**params, "resCodes": "demo_page"})["code"] == 460
    assert (
        gateway.call(BATCH, {**params, "employeeId": "1" * 40, "resCodes": ["a"]})["code"] == 22000
    )


def test_admins_pass_every_check_and_inactive_accounts_none(gateway, worker, admin):
    from idaas.directory import service
    from idaas.industry.mapping import auid_of

    params = {"appId": worker["appId"], "resCode": "anything"}
    assert gateway.data(ONE, {**params, "employeeId": auid_of(admin)}) is True
    account = service.find_by_identifier("13900001111")
    service.set_status("system", account.id, "disabled")
    assert (
        gateway.data(ONE, {**params, "employeeId": worker["auid"], "resCode": "demo_page"}) is False
    )


def test_checks_by_dingtalk_identity(gateway, worker):
    from idaas.directory import service

    account = service.find_by_identifier("13900001111")
    service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant="dingcorp",
        subject="manager1",
        linked_via="import",
    )
    params = {"appId": worker["appId"], "source": "DINGDING", "corpId": "dingcorp"}
    assert gateway.data(ONE, {**params, "userId": "manager1", "resCode": "demo_page"}) is True
    assert (
        gateway.call(ONE, {**params, "userId": "stranger", "resCode": "demo_page"})["code"] == 22000
    )
    assert gateway.call(ONE, {**params, "resCode": "demo_page"})["code"] == 460  # userId missing


def test_changes_reach_a_warm_cache_in_another_process(make_app, app, gateway, worker):
    """A second app instance (another gunicorn worker) caches grants; a change here reaches it."""
    other = make_app(INDUSTRY_API_ENABLED=True)
    remote = Gateway(other.test_client(), gateway.app_key, gateway.app_secret)
    check = {"appId": worker["appId"], "employeeId": worker["auid"], "resCode": "demo_page"}
    assert remote.data(ONE, check) is True
    assert remote.data(ONE, check) is True  # now served from its cache
    gateway.data(
        "/industry/user/role/setroleperm",
        {
            "appId": worker["appId"],
            "roleCode": worker["role"],
            "canceledResListStr": '["demo_page"]',
        },
    )
    assert remote.data(ONE, check) is False
    # A change through the directory service directly (e.g. the admin console) invalidates too.
    from idaas.directory import service
    from idaas.directory.models import Role
    from idaas.extensions import db

    role = db.session.scalar(db.select(Role).where(Role.code == worker["role"]))
    service.set_application_permissions("system", role.id, worker["appId"], grant=["demo_page"])
    assert remote.data(ONE, check) is True
    account = service.find_by_identifier("13900001111")
    service.set_role_assignment("system", role.id, account.id, False)
    assert remote.data(ONE, check) is False


def _statements_of(gateway, path, params):
    """The SQL statements one call runs."""
    from sqlalchemy import event

    from idaas.extensions import db

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        gateway.data(path, params)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return statements


def test_warm_check_is_one_statement(app, gateway, worker):
    """A warm check runs one SQL statement: the nonce insert, which returns the generation."""
    check = {"appId": worker["appId"], "employeeId": worker["auid"], "resCode": "demo_page"}
    batch = {"appId": worker["appId"], "employeeId": worker["auid"], "resCodes": ["demo_page"]}
    gateway.data(ONE, check)
    gateway.data(BATCH, batch)
    for path, params in ((ONE, check), (BATCH, batch)):
        statements = _statements_of(gateway, path, params)
        assert len(statements) == 1, statements
        assert "INSERT INTO industry_nonce" in statements[0]
        assert "industry_generation" in statements[0]


def _redis_worker(gateway):
    """`granted_worker`: its role code and the params of a granted check."""
    found = granted_worker(gateway)
    check = {"appId": found["appId"], "employeeId": found["auid"], "resCode": "demo_page"}
    return found["role"], check


def test_warm_check_with_redis_runs_no_sql(make_app, redis_url):
    """With Redis the nonce and the generation come from one script call: no SQL at all, and a
    change committed by another process (publishing to Redis after COMMIT) reaches the cache."""
    first = make_app(INDUSTRY_API_ENABLED=True, REDIS_URL=redis_url)
    second = make_app(INDUSTRY_API_ENABLED=True, REDIS_URL=redis_url)
    with first.app_context():
        key, secret = make_gateway_client()
    here = Gateway(first.test_client(), key, secret)
    there = Gateway(second.test_client(), key, secret)
    with first.app_context():
        role, check = _redis_worker(here)
        assert here.data(ONE, check) is True
        assert _statements_of(here, ONE, check) == []
    with second.app_context():
        there.data(
            "/industry/user/role/setroleperm",
            {"appId": key, "roleCode": role, "canceledResListStr": '["demo_page"]'},
        )
    with first.app_context():
        assert here.data(ONE, check) is False


def test_a_lost_redis_publish_is_healed_by_the_maximum_age(make_app, redis_url):
    """A change whose Redis increment never happened is seen within MAX_AGE_SECONDS."""
    from idaas.industry.generation import MAX_AGE_SECONDS

    cached = make_app(INDUSTRY_API_ENABLED=True, REDIS_URL=redis_url)
    silent = make_app(INDUSTRY_API_ENABLED=True)  # commits without publishing to Redis
    with cached.app_context():
        key, secret = make_gateway_client()
    here = Gateway(cached.test_client(), key, secret)
    with cached.app_context():
        role, check = _redis_worker(here)
        assert here.data(ONE, check) is True
    with silent.app_context():
        Gateway(silent.test_client(), key, secret).data(
            "/industry/user/role/setroleperm",
            {"appId": key, "roleCode": role, "canceledResListStr": '["demo_page"]'},
        )
    start = time.time()
    now = [start]
    cached.extensions["industry"].clock = lambda: now[0]
    with cached.app_context():
        assert here.data(ONE, check) is True  # stale: nobody told this process
        now[0] = start + MAX_AGE_SECONDS + 1
        assert here.data(ONE, check) is False


def test_administrators(gateway, worker, admin):
    listed = gateway.data(ADMINS, {"appId": worker["appId"]})
    assert [a["loginName"] if "loginName" in a else a["nickName"] for a in listed] == [
        "Administrator"
    ]
    item = listed[0]
    assert set(item) == {
        "auid",
        "phone",
        "email",
        "nickName",
        "admin",
        "main",
        "workNumber",
        "roleList",
        "orgList",
    }
    assert item["admin"] is True and item["main"] is True
    assert item["roleList"][0]["roleCode"] == "idaas.admin"
    assert gateway.call(ADMINS, {})["code"] == 460


def test_ecosystem_account(gateway, worker, admin):
    from idaas.directory import service

    params = {"appId": worker["appId"], "type": "DINGDING"}
    assert gateway.call(ALIECO, params)["code"] == 22000  # no DingTalk link yet
    service.link_identity(
        "system",
        admin.id,
        provider="dingtalk",
        tenant="dingcorp",
        subject="boss",
        union_id="union-boss",
        linked_via="admin",
    )
    data = gateway.data(ALIECO, params)
    assert data == {"aliId": "union-boss", "userId": "boss", "nickName": "Administrator"}
    assert gateway.call(ALIECO, {**params, "type": "TAOBAO"})["code"] == 460
    assert gateway.call(ALIECO, {"appId": worker["appId"]})["code"] == 460


def test_checks_are_forbidden_without_grant(app, client, worker):
    key, secret = make_gateway_client(scopes=("directory:read",), name="no grant")
    body = envelope(
        {"appId": worker["appId"], "employeeId": worker["auid"], "resCode": "x"}, "1.0.2"
    )
    response = client.post(ONE, data=body, headers=signed_headers(key, secret, ONE, body))
    assert response.get_json()["code"] == 403


def test_generation_moves_once_per_relevant_commit_even_concurrently(app):
    import threading

    from idaas.directory import service
    from idaas.extensions import db
    from idaas.industry.models import CacheGeneration

    def value():
        db.session.expire_all()
        row = db.session.get(CacheGeneration, 1)
        return row.value if row else 0

    before = value()
    service.create_department("system", name="not cached")  # departments are read live
    assert value() == before
    barrier = threading.Barrier(4)

    def create(i):
        with app.app_context():
            barrier.wait()
            service.create_role("system", code=f"conc.r{i}", name=f"r{i}")
            db.session.remove()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert value() == before + 4


def test_cold_check_loads_each_thing_with_one_query(app, gateway, worker):
    """After a change every cache reloads: client, app, employee and grants, one row query each."""
    from idaas.directory import service

    check = {"appId": worker["appId"], "employeeId": worker["auid"], "resCode": "demo_page"}
    gateway.data(ONE, check)
    service.create_role("system", code="unrelated", name="moves the generation")
    statements = _statements_of(gateway, ONE, check)
    assert "INSERT INTO industry_nonce" in statements[0]
    tables = [s.split("FROM")[1].split()[0] for s in statements[1:]]
    assert tables == ["api_client", "application", "account", "account"], statements
    assert "api_client" in statements[2]  # the appId is an application or an API client
