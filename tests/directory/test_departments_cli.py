"""`idaas departments rename|delete` go through the directory service (issue 17, item 7)."""

import json

from tests.test_cli import invoke


def _create(app, name, parent=None):
    args = ["departments", "create", "--name", name, "--json"]
    if parent is not None:
        args += ["--parent", str(parent)]
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_rename_and_delete(app, db):
    from idaas.audit.models import AuditEvent
    from idaas.directory import service

    root = _create(app, "总部")
    sales = _create(app, "销售", root["id"])
    _create(app, "研发", root["id"])
    renamed = invoke(app, "departments", "rename", str(sales["id"]), "  市场与销售 ", "--json")
    assert renamed.exit_code == 0, renamed.output
    assert json.loads(renamed.output)["name"] == "市场与销售"
    assert service.get_department(sales["id"]).name == "市场与销售"
    clash = invoke(app, "departments", "rename", str(sales["id"]), "研发")
    assert clash.exit_code == 1 and "name" in clash.output
    assert service.get_department(sales["id"]).name == "市场与销售"
    refused = invoke(app, "departments", "delete", str(root["id"]), "--yes")
    assert refused.exit_code == 1 and "sub-departments" in refused.output
    deleted = invoke(app, "departments", "delete", str(sales["id"]), "--yes")
    assert deleted.exit_code == 0 and "市场与销售" in deleted.output
    assert [d["name"] for d in json.loads(invoke(app, "departments", "list", "--json").output)] == [
        "总部",
        "研发",
    ]
    gone = invoke(app, "departments", "delete", str(sales["id"]), "--yes")
    assert gone.exit_code == 1 and "Traceback" not in gone.output
    actions = [row.action for row in db.session.scalars(db.select(AuditEvent))]
    assert any("department" in action and "deleted" in action for action in actions), actions


def test_delete_asks_for_confirmation(app):
    from idaas.directory import service

    lonely = _create(app, "临时")
    runner = app.test_cli_runner()
    from flask.cli import ScriptInfo

    from idaas.cli import cli

    answer = runner.invoke(
        cli,
        ["departments", "delete", str(lonely["id"])],
        input="n\n",
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert answer.exit_code == 1 and "Aborted" in answer.output
    assert service.get_department(lonely["id"]).name == "临时"


def test_rename_refuses_an_empty_name(app):
    department = _create(app, "财务")
    result = invoke(app, "departments", "rename", str(department["id"]), "   ")
    assert result.exit_code == 1 and "name" in result.output
