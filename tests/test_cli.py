"""The `idaas` command line: flag names and JSON output are a contract."""

import json

from flask.cli import ScriptInfo

from idaas.cli import cli
from idaas.directory import service


def invoke(app, *args):
    runner = app.test_cli_runner()
    return runner.invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_init_creates_schema_and_admin_with_a_generated_password(make_app, tmp_path, leak_guard):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'init.db'}")
    result = invoke(app, "init", "--admin-username", "boss", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    leak_guard.register(data["generated_password"])
    assert data["admin_username"] == "boss" and len(data["generated_password"]) >= 16
    with app.app_context():
        account = service.find_by_identifier("boss")
        assert account.must_change_password
        assert ("idaas", "admin") in service.permissions_of(account.id)
    again = invoke(app, "init", "--admin-username", "boss", "--json")
    assert again.exit_code == 0 and json.loads(again.output)["generated_password"] is None
    with app.app_context():
        from idaas.extensions import db

        db.engine.dispose()


def test_accounts_commands(app):
    department = invoke(app, "departments", "create", "--name", "研发部", "--json")
    assert department.exit_code == 0, department.output
    department_id = json.loads(department.output)["id"]
    created = invoke(
        app,
        "accounts",
        "create",
        "--username",
        "lisi",
        "--name",
        "李四",
        "--email",
        "lisi@example.com",
        "--mobile",
        "139 0013 9000",
        "--employee-number",
        "A100",
        "--department",
        str(department_id),
        "--password",
        "Li-Si-Password-1",
        "--json",
    )
    assert created.exit_code == 0, created.output
    data = json.loads(created.output)
    assert data["mobile"] == "+8613900139000"
    assert data["memberships"][0]["department_id"] == department_id
    assert "password" not in created.output.lower().replace("has_password", "").replace(
        "must_change_password", ""
    ).replace("password_changed_at", "")

    listed = json.loads(invoke(app, "accounts", "list", "--json").output)
    assert [a["username"] for a in listed] == ["lisi"]
    shown = json.loads(invoke(app, "accounts", "show", "+86 139-0013-9000", "--json").output)
    assert shown["username"] == "lisi"
    disabled = json.loads(invoke(app, "accounts", "disable", "lisi", "--json").output)
    assert disabled["status"] == "disabled"
    enabled = invoke(app, "accounts", "enable", "lisi")
    assert "is now active" in enabled.output


def test_failing_commands_exit_non_zero_with_one_line(app):
    invoke(app, "accounts", "create", "--username", "dup")
    result = invoke(app, "accounts", "create", "--username", "DUP")
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "Error: username: Another account already uses this value."
    ]
    missing = invoke(app, "accounts", "show", "ghost")
    assert missing.exit_code != 0 and "no account matches" in missing.output


def test_departments_tree_and_move(app):
    root = json.loads(invoke(app, "departments", "create", "--name", "总部", "--json").output)
    child = json.loads(
        invoke(
            app, "departments", "create", "--name", "销售", "--parent", str(root["id"]), "--json"
        ).output
    )
    tree = invoke(app, "departments", "list")
    assert tree.output.splitlines() == [f"总部 (id {root['id']})", f"  销售 (id {child['id']})"]
    refused = invoke(app, "departments", "move", str(root["id"]), "--parent", str(child["id"]))
    assert refused.exit_code != 0
    assert "cannot move under itself" in refused.output
    moved = invoke(app, "departments", "move", str(child["id"]), "--root", "--json")
    assert json.loads(moved.output)["parent_id"] is None
    usage = invoke(app, "departments", "move", str(child["id"]))
    assert usage.exit_code == 2
