"""Property: cursor paging returns every member once, in ceil(n/size) calls (§4.5).

Runs in-process through `httpx.WSGITransport` (real HTTP semantics, no socket) so that many
examples stay cheap.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from idaas.dingtalk.client import DingTalkApp, DingTalkClient, ExpiringCache
from idaas.sandbox.dingtalk import create_sandbox_app
from idaas.sandbox.dingtalk.state import Sandbox


def test_not_mounted_by_create_app(app: Flask) -> None:
    """The emulator is a separate app: idaas itself serves none of its paths."""
    rules = [rule.rule for rule in app.url_map.iter_rules()]
    assert not [r for r in rules if r.startswith(("/_sandbox", "/topapi", "/gettoken", "/sns"))]


@settings(max_examples=25, deadline=None)
@given(
    members=st.integers(0, 260),
    size=st.integers(1, 100),
    order=st.sampled_from([None, "entry_asc", "entry_desc", "modify_asc", "custom"]),
)
def test_paging_returns_everyone_once(members: int, size: int, order: Any) -> None:
    """For any department size and page size the client sees each member exactly once."""
    state = Sandbox()
    state.seed(departments=0, users=members, seed=members)
    wsgi = create_sandbox_app(state)
    transport = httpx.WSGITransport(app=wsgi)
    with httpx.Client(transport=transport, base_url="http://sandbox") as http:
        app = state.default_app
        client = DingTalkClient(
            http,
            DingTalkApp(app.app_key, app.app_secret),
            oapi_base="http://sandbox",
            qps=None,
            token_cache=ExpiringCache(),
        )
        seen: list[str] = []
        cursor, calls = 0, 0
        while True:
            page = client.list_users_page(1, cursor, size, order_field=order)
            calls += 1
            seen += [u["userid"] for u in page["list"]]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
    state.close()
    assert sorted(seen) == sorted(state.members[1]) and len(seen) == members
    assert calls == max(1, math.ceil(members / size))
