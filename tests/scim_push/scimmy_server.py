"""A second SCIM server nobody here wrote: SCIMMY and its Express routers (npm), on loopback.

SCIMMY does the SCIM protocol (parsing, filters, PATCH, paging, discovery); `scimmy/server.mjs`
adds only in-memory User and Group handlers (with `userName` / `displayName` uniqueness, as
real applications enforce). The npm packages, pinned by `scimmy/package-lock.json`, are
installed once into a cache folder (`IDAAS_TEST_NPM_CACHE`, default `~/.cache/idaas-tests`).
Without node and npm the tests skip with the reason, except in CI (`IDAAS_REQUIRE_ALL=1`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import require
from tests.scim_push.server import ScimTarget

SOURCE = Path(__file__).resolve().parent / "scimmy"
FILES = ("package.json", "package-lock.json", "server.mjs")


def _installed() -> Path:
    """The cache folder holding server.mjs and its node_modules (installed on first use)."""
    digest = hashlib.sha256(b"".join((SOURCE / f).read_bytes() for f in FILES)).hexdigest()[:12]
    root = Path(os.environ.get("IDAAS_TEST_NPM_CACHE") or Path.home() / ".cache" / "idaas-tests")
    folder = root / f"scimmy-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time (parallel test processes)
        if not (folder / "node_modules" / "scimmy-routers").is_dir():
            for name in FILES:
                shutil.copy(SOURCE / name, folder / name)
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=600,
            )
            require(done.returncode == 0, f"npm ci of SCIMMY failed: {done.stderr[-500:]}")
    return folder


@contextmanager
def scimmy_server() -> Iterator[ScimTarget]:
    """A fresh SCIMMY server on 127.0.0.1 (its own node process), stopped at the end."""
    require(
        shutil.which("node") is not None and shutil.which("npm") is not None,
        "node and npm are needed for the SCIMMY target",
    )
    folder = _installed()
    process = subprocess.Popen(
        ["node", "server.mjs", "0"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        line = process.stdout.readline().decode().strip() if process.stdout else ""
        if not line.startswith("http://127.0.0.1:"):
            error = process.stderr.read().decode()[-500:] if process.stderr else ""
            raise RuntimeError(f"the SCIMMY server did not start: {line} {error}")
        yield ScimTarget(url=line)
    finally:
        process.terminate()
        process.communicate(timeout=10)  # reaps it and closes its pipes
