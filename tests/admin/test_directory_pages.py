"""Directory pages: tree levels, move, forms with service errors, accounts table, import/export."""

from __future__ import annotations

import csv
import io
from typing import Any

from idaas.directory import service


def test_tree_levels_load_lazily(admin_client: Any) -> None:
    root = service.create_department("system", name="总部")
    child = service.create_department("system", name="研发部", parent_id=root.id)
    service.create_department("system", name="后端组", parent_id=child.id)
    top = admin_client.get("/admin/departments").get_data(as_text=True)
    assert "总部" in top and "研发部" not in top  # deeper levels are not rendered up front
    assert f'data-children-url="/admin/departments/{root.id}/children"' in top
    level = admin_client.get(f"/admin/departments/{root.id}/children").get_data(as_text=True)
    assert "研发部" in level and "后端组" not in level
    assert admin_client.get("/admin/departments/999999/children").status_code == 404


def test_move_dialog_moves_and_refuses_cycles(admin_client: Any, db: Any) -> None:
    a = service.create_department("system", name="A")
    b = service.create_department("system", name="B")
    a1 = service.create_department("system", name="A1", parent_id=a.id)
    page = admin_client.get(f"/admin/departments/{a.id}/move?q=A").get_data(as_text=True)
    assert f'value="{a1.id}"' not in page  # its own subtree is not offered
    moved = admin_client.post(
        f"/admin/departments/{a.id}/move", data={"target": str(b.id), "confirm": "yes"}
    )
    assert moved.status_code == 302
    db.session.rollback()
    assert service.get_department(a.id).parent_id == b.id
    cycle = admin_client.post(
        f"/admin/departments/{b.id}/move", data={"target": str(a1.id), "confirm": "yes"}
    )
    assert cycle.status_code == 422 and "move-error" in cycle.get_data(as_text=True)
    db.session.rollback()
    assert service.get_department(b.id).parent_id is None
    none = admin_client.post(f"/admin/departments/{a.id}/move", data={"confirm": "yes"})
    assert none.status_code == 422


def test_form_shows_the_service_field_error(admin_client: Any, account: Any) -> None:
    response = admin_client.post(
        "/admin/accounts/new", data={"username": "alice", "display_name": "Another Alice"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="username-error"' in html and 'aria-invalid="true"' in html
    duplicate = service.create_department("system", name="Dup")
    response = admin_client.post("/admin/departments/new", data={"name": "Dup"})
    assert response.status_code == 422 and 'id="name-error"' in response.get_data(as_text=True)
    assert duplicate.id


def test_dingtalk_owned_fields_are_read_only_with_the_reason(admin_client: Any, db: Any) -> None:
    person = service.create_account(
        "dingtalk:corp", username="dt1", display_name="钉钉用户", source="dingtalk:corp"
    )
    html = admin_client.get(f"/admin/accounts/{person.id}").get_data(as_text=True)
    assert 'id="display_name"' in html and "readonly" in html and "dingtalk:corp" in html
    assert 'id="display_name-hint"' in html
    # Posting a change of an owned field does not change it.
    admin_client.post(
        f"/admin/accounts/{person.id}",
        data={"username": "dt1", "display_name": "Changed", "title": "Engineer"},
    )
    db.session.rollback()
    fresh = service.get_account(person.id)
    assert fresh.display_name == "钉钉用户"


def test_accounts_table_filters_sort_and_pages(admin_client: Any) -> None:
    dept = service.create_department("system", name="Sales")
    for i in range(60):
        service.create_account(
            "system",
            username=f"user{i:02d}",
            display_name=f"User {i}",
            memberships=[dept.id] if i % 2 else [],
            status="disabled" if i % 3 == 0 else "active",
        )
    first = admin_client.get("/admin/accounts?sort=username&dir=desc").get_data(as_text=True)
    assert first.index("user59") < first.index("user58")
    assert 'id="next-page"' in first
    import re

    cursor = re.search(r'id="next-page" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = admin_client.get(cursor).get_data(as_text=True)
    assert "user09" in second and "user59" not in second
    filtered = admin_client.get(f"/admin/accounts?department={dept.id}&status=disabled").get_data(
        as_text=True
    )
    names = set(re.findall(r">(user\d\d)</a>", filtered))
    assert names == {f"user{i:02d}" for i in range(60) if i % 2 and i % 3 == 0}
    searched = admin_client.get("/admin/accounts?q=user1").get_data(as_text=True)
    assert set(re.findall(r">(user\d\d)</a>", searched)) == {f"user1{i}" for i in range(10)}
    forged = admin_client.get("/admin/accounts?cursor=forged")
    assert forged.status_code == 200


def test_csv_export_and_import_with_preview(admin_client: Any, db: Any) -> None:
    dept = service.create_department("system", name="Ops")
    service.create_account("system", username="existing", display_name="E")
    data = (
        "username,display_name,email,department\n"
        f"newbie,New One,new@example.com,{dept.id}\n"
        "existing,Clash,,\n"
        "bad name!,Bad,,\n"
        f"other,Other,not-an-email,{dept.id}\n"
        "newbie,Twice,,\n"
        "ghost,Ghost,,999999\n"
    ).encode()
    preview = admin_client.post(
        "/admin/accounts/import",
        data={"file": (io.BytesIO(data), "people.csv")},
        content_type="multipart/form-data",
    )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "import-preview" in html
    assert service.find_by_identifier("newbie") is None  # nothing written by the preview
    import re

    sealed = re.search(r'name="sealed" value="([^"]+)"', html).group(1)
    assert 'id="confirm-import"' in html
    tampered = admin_client.post(
        "/admin/accounts/import", data={"confirm": "yes", "sealed": sealed[:-2] + "xx"}
    )
    assert tampered.status_code == 400
    done = admin_client.post("/admin/accounts/import", data={"confirm": "yes", "sealed": sealed})
    assert done.status_code == 200 and 'id="import-result"' in done.get_data(as_text=True)
    db.session.rollback()
    newbie = service.find_by_identifier("newbie")
    assert newbie is not None and [m.department_id for m in newbie.memberships] == [dept.id]
    assert (
        service.find_by_identifier("other") is None and service.find_by_identifier("ghost") is None
    )
    export = admin_client.get(f"/admin/accounts/export.csv?department={dept.id}")
    parsed = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [r["username"] for r in parsed] == ["newbie"]
    wrong = admin_client.post(
        "/admin/accounts/import",
        data={"file": (io.BytesIO(b"name\nx\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422 and "import-error" in wrong.get_data(as_text=True)


def test_search_finds_accounts_departments_and_apps(admin_client: Any, account: Any) -> None:
    from idaas.applications import apps

    service.create_department("system", name="Alice's team")
    apps.create_application("system", name="Alice wiki", redirect_uris=["https://w.example/cb"])
    html = admin_client.get("/admin/search?q=alice").get_data(as_text=True)
    assert "Alice Wang" in html and "Alice&#39;s team" in html and "Alice wiki" in html


def test_dashboard_tells_the_truth_about_missing_subsystems(
    admin_client: Any, account: Any
) -> None:
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert 'id="dingtalk-not-configured"' in html
    assert 'data-stat="accounts"' in html
    import re

    assert re.search(r'data-stat="accounts"><span class="stat-value">2<', html)


def test_dashboard_shows_the_delivery_engine_backlog_and_dead_letters(admin_client: Any) -> None:
    import uuid
    from datetime import timedelta

    from idaas.events.models import Delivery
    from idaas.extensions import db, utcnow

    def delivery(status: str, age: timedelta) -> Delivery:
        return Delivery(
            uid=str(uuid.uuid4()),
            target_type="webhook",
            target_key="hr",
            object_type="account",
            object_id="1",
            action="updated",
            origin="system",
            status=status,
            created_at=utcnow() - age,
        )

    db.session.add_all(
        [
            delivery("pending", timedelta(seconds=90)),
            delivery("pending", timedelta(seconds=5)),
            delivery("dead", timedelta(days=2)),
            delivery("delivered", timedelta(days=3)),
        ]
    )
    db.session.commit()
    html = admin_client.get("/admin/").get_data(as_text=True)
    state = html.split('id="worker-state">', 1)[1].split("</dd>", 1)[0]
    assert state.startswith("待投递 2 条，最早的已等待 9")  # 90 s, give or take the request
    assert "死信 1 条" in state
    assert "idaas deliveries list --status dead" in state
