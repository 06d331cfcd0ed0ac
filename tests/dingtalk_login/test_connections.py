"""Connection settings: trimmed and validated input, encrypted secret, "test connection", CLI."""

from __future__ import annotations

import json

import pytest

from tests.dingtalk_login.support import audit_rows, sandbox_config


@pytest.fixture
def conn_app(make_app, sandbox, leak_guard):
    """idaas pointed at the sandbox, without any connection yet."""
    leak_guard.register(sandbox.state.default_app.app_secret)
    app = make_app(**sandbox_config(sandbox))
    with app.app_context():
        yield app


def test_pasted_values_are_trimmed_and_the_secret_encrypted(conn_app, sandbox, db):
    from idaas.dingtalk import connections
    from idaas.dingtalk.connections import DingTalkConnection

    app = sandbox.state.default_app
    row = connections.save(
        "system",
        " Corp ",
        corp_id=f"  {sandbox.state.corp_id}\n",
        app_key=f"\t{app.app_key} ",
        app_secret=f"{app.app_secret}\r\n",
        agent_id=f" {app.agent_id}\n",
    )
    assert (row.name, row.corp_id, row.app_key) == ("corp", sandbox.state.corp_id, app.app_key)
    assert row.agent_id == app.agent_id and row.login_generation == "oauth2"
    stored = db.session.scalar(db.select(DingTalkConnection.app_secret_enc))
    assert app.app_secret not in stored and row.app_secret == app.app_secret
    assert connections.describe(row)["app_secret"] == "set"
    assert app.app_secret not in json.dumps(connections.describe(row))
    assert audit_rows("dingtalk.connection.created")[0].details["fields"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("app_key", "ding abc def", "spaces"),
        ("corp_id", "", "required"),
        ("agent_id", "12a", "number"),
        ("login_generation", "qr", "oauth2"),
        ("app_secret", "秘密秘密秘密", "characters DingTalk never uses ('秘' '密')"),
        ("app_secret", "abc", "too short (3 characters)"),
        ("app_key", "k" * 300, "too long (300 characters, at most 256)"),
    ],
)
def test_invalid_values_are_explained(conn_app, field, value, message):
    from idaas.dingtalk import connections
    from idaas.dingtalk.connections import ConnectionError_

    fields = {"corp_id": "dingcorp", "app_key": "dingkey1", "app_secret": "secret-123"}
    fields[field] = value
    with pytest.raises(ConnectionError_) as caught:
        connections.save("system", "corp", **fields)
    assert message in caught.value.fields[field]
    if "short" in message or "long" in message:
        assert "never uses" not in caught.value.fields[field]


def test_check_reports_success_and_dingtalk_errors_in_words(conn_app, sandbox):
    from idaas.dingtalk import connections

    app = sandbox.state.default_app
    row = connections.save(
        "system",
        "corp",
        corp_id=sandbox.state.corp_id,
        app_key=app.app_key,
        app_secret=app.app_secret,
    )
    assert connections.check("system", row).ok

    connections.save("system", "corp", app_secret="wrong-secret-value")
    wrong = connections.check("system", row)
    assert not wrong.ok and wrong.errcode == 40089 and "AppKey and AppSecret" in wrong.message

    connections.save("system", "corp", app_secret=app.app_secret)
    sandbox.post("/faults", {"ip_whitelist": ["203.0.113.7"]})
    blocked = connections.check("system", row)
    assert not blocked.ok and "whitelist" in blocked.message and "127.0.0.1" in blocked.message
    outcomes = [r.outcome for r in audit_rows("dingtalk.connection.tested")]
    assert outcomes == ["success", "failure", "failure"]


def test_cli_connections_and_sources(conn_app, sandbox):
    app = sandbox.state.default_app
    runner = conn_app.test_cli_runner()
    added = runner.invoke(
        args=[
            "dingtalk", "connections", "add", "corp",
            "--corp-id", sandbox.state.corp_id,
            "--app-key", app.app_key,
            "--app-secret", f" {app.app_secret} ",
            "--agent-id", str(app.agent_id),
            "--json",
        ]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["app_secret"] == "set"
    assert app.app_secret not in added.output
    again = runner.invoke(args=["dingtalk", "connections", "add", "corp", "--corp-id", "x"])
    assert again.exit_code != 0 and "update" in again.output

    listed = json.loads(runner.invoke(args=["dingtalk", "connections", "list", "--json"]).output)
    assert [c["name"] for c in listed] == ["corp"]
    tested = runner.invoke(args=["dingtalk", "connections", "test", "corp", "--json"])
    assert tested.exit_code == 0 and json.loads(tested.output)["ok"] is True

    updated = runner.invoke(
        args=["dingtalk", "connections", "update", "corp", "--app-secret", "nope-nope", "--json"]
    )
    assert updated.exit_code == 0
    failed = runner.invoke(args=["dingtalk", "connections", "test", "corp", "--json"])
    assert failed.exit_code == 1 and json.loads(failed.output)["errcode"] == 40089

    source = runner.invoke(
        args=["sources", "add-dingtalk", "dingtalk", "--connection", "corp", "--json"]
    )
    assert source.exit_code == 0, source.output
    data = json.loads(source.output)
    assert data["redirect_url"] == "http://localhost/login/dingtalk/dingtalk/callback"
    assert data["settings"]["auto_link"] == [] and data["settings"]["unlink_on_password_change"]
    micro = runner.invoke(
        args=[
            "sources", "add-dingtalk", "workbench", "--connection", "corp", "--micro-app",
            "--hidden", "--auto-link", "mobile,email", "--json",
        ]
    )  # fmt: skip
    assert json.loads(micro.output)["micro_app_url"] == (
        "http://localhost/login/dingtalk-micro/workbench?app=<client_id>"
    )
    name_rule = runner.invoke(
        args=["sources", "add-dingtalk", "x", "--connection", "corp", "--auto-link", "name"]
    )
    assert name_rule.exit_code != 0 and "never a name" in name_rule.output
    names = [
        s["name"] for s in json.loads(runner.invoke(args=["sources", "list", "--json"]).output)
    ]
    assert names == ["password", "dingtalk", "workbench"]
    off = runner.invoke(args=["sources", "enable", "dingtalk", "--off", "--json"])
    assert json.loads(off.output) == {"name": "dingtalk", "enabled": False}
    assert "/login/dingtalk/dingtalk" not in conn_app.test_client().get("/login").get_data(
        as_text=True
    )


def test_invalid_values_are_explained_in_the_admins_language(conn_app):
    from idaas.dingtalk import connections
    from idaas.dingtalk.connections import ConnectionError_

    with conn_app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(ConnectionError_) as caught:
            connections.save("system", "corp", corp_id="", app_key="ding key", agent_id="12a")
    assert caught.value.fields == {
        "corp_id": "corp id 为必填项",
        "app_key": "AppKey 含有空格；请重新粘贴，不要带空格",
        "agent_id": "AgentId 必须是数字（应用信息 → AgentId）",
    }
