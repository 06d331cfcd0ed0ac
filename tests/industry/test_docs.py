"""The signed curl example in docs/industry-api.md works against a live idaas."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import require
from tests.industry.conftest import make_gateway_client

DOC = Path(__file__).resolve().parents[2] / "docs" / "industry-api.md"


def test_curl_example_signs_a_request(app, live_server, leak_guard):
    require(all(shutil.which(tool) for tool in ("bash", "curl", "openssl")), "curl/openssl missing")
    from idaas.directory import service
    from idaas.industry.mapping import auid_of

    key, secret = make_gateway_client()
    leak_guard.register(secret)
    role = service.create_role("system", code="mes.viewer", name="viewer")
    worker = service.create_account("system", username="w1", mobile="13900001111")
    service.set_role_assignment("system", role.id, worker.id, True)
    service.set_application_permissions("system", role.id, key, grant=["demo_page"])
    script = re.search(r"```sh\n(KEY=.*?)```", DOC.read_text(), re.S).group(1)
    script = re.sub(r"^KEY=.*$", f"KEY={key}", script, flags=re.M)
    script = re.sub(r"^SECRET=.*$", f"SECRET='{secret}'", script, flags=re.M)
    script = re.sub(r"^HOST=.*$", f"HOST={live_server.url}", script, flags=re.M)
    script = script.replace("505c689bf68dc13e35eee32b00e52d652c283946", auid_of(worker))
    done = subprocess.run(
        ["bash", "-eu", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["code"] == 200 and answer["data"] is True, answer
