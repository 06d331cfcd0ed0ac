"""Department tree: creation, moves with cycle prevention, subtree queries, deletion."""

import pytest
from sqlalchemy import event, func, select

from idaas.directory import service
from idaas.directory.errors import NotFound, ValidationFailed
from idaas.directory.models import Department
from idaas.events.models import ChangeEvent


def make_tree(names_by_parent):
    """Create departments from {name: parent_name_or_None}; return {name: id}."""
    ids = {}
    for name, parent in names_by_parent.items():
        ids[name] = service.create_department("system", name=name, parent_id=ids.get(parent)).id
    return ids


def test_paths_and_depths_follow_the_tree(app):
    ids = make_tree({"总部": None, "研发中心": "总部", "平台组": "研发中心"})
    leaf = service.get_department(ids["平台组"])
    assert leaf.path == f"/{ids['总部']}/{ids['研发中心']}/{ids['平台组']}/"
    assert leaf.depth == 2
    assert [d.name for d in service.ancestors(leaf.id)] == ["总部", "研发中心"]
    assert [d.name for d in service.subtree(ids["研发中心"])] == ["研发中心", "平台组"]


def test_moving_under_own_descendant_is_refused_and_changes_nothing(app):
    ids = make_tree({"A": None, "B": "A", "C": "B"})
    before = {d.id: (d.path, d.parent_id) for d in service.subtree(ids["A"])}
    events_before = len(app.extensions["sqlalchemy"].session.scalars(select(ChangeEvent)).all())
    for target in (ids["A"], ids["C"]):
        with pytest.raises(ValidationFailed) as error:
            service.move_department("system", ids["A"], target)
        assert "parent_id" in error.value.fields
    after = {d.id: (d.path, d.parent_id) for d in service.subtree(ids["A"])}
    assert after == before
    events_after = len(app.extensions["sqlalchemy"].session.scalars(select(ChangeEvent)).all())
    assert events_after == events_before


def test_sibling_names_are_unique_but_cousins_may_share(app):
    ids = make_tree({"A": None, "B": None, "Sales": "A"})
    service.create_department("system", name="Sales", parent_id=ids["B"])
    with pytest.raises(ValidationFailed) as error:
        service.create_department("system", name="sales", parent_id=ids["A"])
    assert "name" in error.value.fields


def test_move_of_a_1000_department_subtree_is_one_transaction(app, db):
    root = service.create_department("system", name="root").id
    other = service.create_department("system", name="other").id
    branch = service.create_department("system", name="branch", parent_id=root).id
    # 1,000 departments: `branch`, 9 children, 110 grandchildren under each child.
    parents = [branch]
    created = 1
    for i in range(9):
        child = Department(name=f"c{i}", parent_id=branch, path="/", depth=2)
        db.session.add(child)
        db.session.flush()
        child.path = f"/{root}/{branch}/{child.id}/"
        parents.append(child.id)
        created += 1
        for j in range(110):
            grandchild = Department(name=f"g{i}-{j}", parent_id=child.id, path="/", depth=3)
            db.session.add(grandchild)
            db.session.flush()
            grandchild.path = f"{child.path}{grandchild.id}/"
            created += 1
    db.session.commit()
    assert created == 1000
    assert len(service.subtree(branch)) == 1000

    statements = []
    engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        service.move_department("system", branch, other)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # One UPDATE rewrites every path; no per-department statements.
    assert statements.count("UPDATE") <= 2
    assert statements.count("COMMIT") <= 1

    moved = service.subtree(branch)
    assert len(moved) == 1000
    assert all(d.path.startswith(f"/{other}/{branch}/") for d in moved)
    assert {d.depth for d in moved} == {1, 2, 3}
    assert [d.id for d in service.subtree(root)] == [root]
    assert len(service.subtree(other)) == 1001
    for department in moved:
        assert department.path.endswith(f"/{department.id}/")
        if department.id != branch:
            parent = db.session.get(Department, department.parent_id)
            assert department.path == f"{parent.path}{department.id}/"
            assert department.depth == parent.depth + 1
    events = db.session.scalars(select(ChangeEvent).where(ChangeEvent.action == "moved")).all()
    assert len(events) == 1


def test_move_rolls_back_entirely_when_the_transaction_fails(app, db, monkeypatch):
    ids = make_tree({"A": None, "B": "A", "C": "B", "X": None})
    before = {d.id: d.path for d in db.session.scalars(select(Department))}

    from idaas import audit

    def broken(*args, **kwargs):
        raise RuntimeError("forced failure after the path UPDATE")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        service.move_department("system", ids["B"], ids["X"])
    db.session.expire_all()
    assert {d.id: d.path for d in db.session.scalars(select(Department))} == before


def test_move_to_root_and_back(app):
    ids = make_tree({"A": None, "B": "A", "C": "B"})
    service.move_department("system", ids["B"], None)
    assert service.get_department(ids["C"]).path == f"/{ids['B']}/{ids['C']}/"
    assert service.get_department(ids["B"]).depth == 0
    service.move_department("system", ids["B"], ids["A"])
    assert service.get_department(ids["C"]).depth == 2


def test_delete_refuses_non_empty_departments(app, account, db):
    ids = make_tree({"A": None, "B": "A"})
    with pytest.raises(ValidationFailed):
        service.delete_department("system", ids["A"])
    service.update_account("system", account.id, memberships=[ids["B"]])
    with pytest.raises(ValidationFailed):
        service.delete_department("system", ids["B"])
    service.update_account("system", account.id, memberships=[])
    service.delete_department("system", ids["B"])
    with pytest.raises(NotFound):
        service.get_department(ids["B"])
    assert db.session.scalar(select(func.count()).select_from(Department)) == 1


def test_name_validation(app):
    with pytest.raises(ValidationFailed) as error:
        service.create_department("system", name="  ")
    assert error.value.fields == {"name": "A name is required."}
    with pytest.raises(ValidationFailed):
        service.create_department("system", name="a/b")
    with pytest.raises(NotFound):
        service.create_department("system", name="orphan", parent_id=999)
