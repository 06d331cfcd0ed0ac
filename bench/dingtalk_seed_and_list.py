"""Seed a 20,000-user / 1,000-department corp in the DingTalk sandbox and list it with the client.

Prints the seeding time, the listing time over real HTTP (loopback), the number of calls per
endpoint from the sandbox's call log, and what the same listing costs at DingTalk's default
20 QPS per API. Run: `.venv/bin/python bench/dingtalk_seed_and_list.py [users] [departments]`.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from pathlib import Path

import httpx
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idaas.dingtalk.client import DingTalkApp, DingTalkClient  # noqa: E402
from idaas.sandbox.dingtalk import create_sandbox_app  # noqa: E402
from idaas.sandbox.dingtalk.state import Sandbox  # noqa: E402


def main(users: int = 20_000, departments: int = 1_000) -> None:
    """Seed, list, and print the figures."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sandbox = Sandbox()
    started = time.perf_counter()
    sandbox.seed(departments=departments, users=users, seed=42)
    seeded = time.perf_counter() - started
    server = make_server("127.0.0.1", 0, create_sandbox_app(sandbox), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with httpx.Client(timeout=30, trust_env=False) as http:
            app = sandbox.default_app
            client = DingTalkClient(
                http,
                DingTalkApp(app.app_key, app.app_secret, app.agent_id, sandbox.corp_id),
                oapi_base=url,
                api_base=url,
                login_base=url,
                qps=None,
            )
            started = time.perf_counter()
            listed = sum(1 for _ in client.iter_all_users())
            listing = time.perf_counter() - started
            calls = http.get(f"{url}/_sandbox/calls").json()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        sandbox.close()
    expected = sum(max(1, math.ceil(len(m) / 100)) for m in sandbox.members.values())
    user_list = calls["counts"].get("topapi/v2/user/list", 0)
    listsub = calls["counts"].get("topapi/v2/department/listsub", 0)
    print(f"corp: {users} users in {departments} departments (+ root)")
    print(f"seed: {seeded:.2f} s (target < 60 s)")
    print(f"list: {listed} users in {listing:.2f} s over loopback HTTP, client QPS limit off")
    print(
        f"calls: {calls['total']} total; "
        + ", ".join(f"{k} {v}" for k, v in sorted(calls["counts"].items()))
    )
    print(f"user/list calls: {user_list} (paging rules imply {expected})")
    at_20_qps = max(user_list, listsub) / 20
    print(f"at DingTalk's 20 QPS per API the same walk needs >= {at_20_qps:.0f} s")
    if listed != users or user_list != expected:
        raise SystemExit("mismatch between listed users or calls and the paging rules")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
