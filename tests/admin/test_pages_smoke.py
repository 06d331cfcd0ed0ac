"""Every console page renders for the super admin, with the CSP and no inline script."""

from __future__ import annotations

import re
from typing import Any

import pytest

PAGES = [
    "/admin/",
    "/admin/departments",
    "/admin/departments/new",
    "/admin/accounts",
    "/admin/accounts/new",
    "/admin/accounts/import",
    "/admin/groups",
    "/admin/roles",
    "/admin/attributes",
    "/admin/applications",
    "/admin/applications/new",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/requests",
    "/admin/signin",
    "/admin/keys",
    "/admin/audit",
    "/admin/admins",
    "/admin/search?q=root",
]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_without_inline_script(admin_client: Any, path: str) -> None:
    response = admin_client.get(path)
    assert response.status_code == 200, response.data[:2000]
    html = response.get_data(as_text=True)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # Every <script> has a src; no inline event handlers.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, tag
    assert not re.search(r"\son(click|load|submit|change)=", html)
