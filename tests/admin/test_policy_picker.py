"""Access-policy pickers: departments and accounts by name (ambiguity and typos are refused)."""

from __future__ import annotations

from typing import Any

BASE = {
    "name": "Docs",
    "redirect_uris": "https://docs.example/cb",
    "scopes": ["openid"],
    "subject_type": "public",
    "subaccount_mode": "direct",
    "access_token_lifetime": 3600,
    "id_token_lifetime": 3600,
    "refresh_token_lifetime": 86400,
    "show_in_portal": "y",
}


def _setup() -> tuple[Any, list[Any]]:
    from idaas.applications import apps
    from idaas.directory import service

    hq = service.create_department("system", name="总部")
    first = service.create_department("system", name="研发部", parent_id=hq.id)
    second = service.create_department("system", name="研发部")
    service.create_account("system", username="Li.Si", display_name="李四")
    app, _ = apps.create_application(
        "system", name="Docs", redirect_uris=BASE["redirect_uris"].split()
    )
    return app, [hq, first, second]


def _post(client: Any, app: Any, **policy: Any) -> Any:
    return client.post(f"/admin/applications/{app.client_id}", data={**BASE, **policy})


def test_names_resolve_to_ids_and_show_back_as_names(admin_client: Any) -> None:
    from idaas.applications import apps

    app, (hq, first, _second) = _setup()
    response = _post(
        admin_client, app, policy_departments=f"总部\n研发部 #{first.id}", policy_accounts="li.si"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    policy = apps.get_application(app.client_id).policy
    assert policy["departments"] == sorted([hq.id, first.id]) and len(policy["accounts"]) == 1
    page = admin_client.get(f"/admin/applications/{app.client_id}").get_data(as_text=True)
    assert f"研发部 #{first.id}" in page and "总部" in page and "Li.Si" in page


def test_ambiguous_or_unknown_names_are_refused_and_nothing_changes(admin_client: Any) -> None:
    from idaas.applications import apps

    app, (_hq, first, second) = _setup()
    before = apps.get_application(app.client_id).policy
    response = _post(
        admin_client, app, policy_departments="研发部\n市场部", policy_accounts="nobody"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="policy_departments-error"' in page and 'id="policy_accounts-error"' in page
    assert f"{first.id}, {second.id}" in page  # the ambiguity says which ids to pick from
    assert apps.get_application(app.client_id).policy == before
