"""scim2-server (a SCIM implementation nobody here wrote) on a loopback port, with faults.

Besides RFC 7643's User and Group it hosts idaas' custom Department resource type
(`/Departments`): scim2-server builds its resources from discovery documents, so it is given
the Department schema and resource type that idaas' own SCIM server publishes.

`ScimTarget.faults` makes a fraction of requests answer 500 or stall past the client's timeout
(before or after the server did the work, like a real flaky network); `requests` counts them;
`users()` / `groups()` read the server's storage directly, the truth the tests compare with.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from scim2_models import ResourceType, ScimProvider
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from idaas.scim.resources import Department


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any) -> None:
        pass


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@dataclass
class Faults:
    """Random failures: `error` answers 500 before the work, `stall` sleeps `stall_for` after it."""

    error: float = 0.0
    stall: float = 0.0
    stall_for: float = 1.5
    seed: int = 7
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


@dataclass
class ScimTarget:
    """A running scim2-server and what it was asked."""

    url: str
    faults: Faults = field(default_factory=Faults)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: title -> when a User carrying it first arrived (the propagation bench's stopwatch).
    arrivals: dict[str, float] = field(default_factory=dict)

    def _list(self, path: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start = 1
        while True:
            body = httpx.get(
                f"{self.url}/{path}", params={"startIndex": start, "count": 500}, timeout=30
            ).json()
            page = body.get("Resources") or []
            found.extend(page)
            if not page or len(found) >= int(body["totalResults"]):
                return found
            start += len(page)

    def remote(self, **faults: float) -> None:
        """Set the faults of a server running in another process (`PUT /_faults`)."""
        httpx.put(f"{self.url}/_faults", json=faults, timeout=30).raise_for_status()

    def request_count(self) -> int:
        """How many requests the server (maybe in another process) was sent."""
        return int(httpx.get(f"{self.url}/_requests", timeout=30).json())

    def users(self) -> dict[str, dict[str, Any]]:
        """The server's users by userName (read past the fault injection)."""
        with self.clean():
            return {u["userName"]: u for u in self._list("Users")}

    def groups(self) -> dict[str, dict[str, Any]]:
        """The server's groups by displayName."""
        with self.clean():
            return {g["displayName"]: g for g in self._list("Groups")}

    def departments(self) -> dict[str, dict[str, Any]]:
        """The server's custom Department resources by displayName."""
        with self.clean():
            return {d["displayName"]: d for d in self._list("Departments")}

    @contextmanager
    def clean(self) -> Iterator[None]:
        """No faults inside the block."""
        saved, self.faults = self.faults, Faults()
        try:
            yield
        finally:
            self.faults = saved


def _faulty(app: Any, target: ScimTarget) -> Any:
    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        faults = target.faults
        if environ.get("PATH_INFO", "").startswith("/_"):
            faults = Faults()
        with target.lock:
            target.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
            roll = faults.rng.random()
        if roll < faults.error:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"injected failure"]
        control = _control(environ, target)
        if control is not None:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(control).encode()]
        if environ["REQUEST_METHOD"] in ("PUT", "POST"):
            _remember_arrival(environ, target)
        body = list(app(environ, start_response))
        if roll < faults.error + faults.stall:
            time.sleep(faults.stall_for)  # the work is done; the answer comes too late
        return body

    return middleware


def _control(environ: dict[str, Any], target: ScimTarget) -> Any:
    """The test-only endpoints: `/_arrivals`, `/_requests`, `PUT /_faults` (never faulty)."""
    path = environ.get("PATH_INFO")
    with target.lock:
        if path == "/_arrivals":
            return target.arrivals
        if path == "/_requests":
            return len(target.requests)
    if path == "/_faults":
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        target.faults = Faults(**json.loads(raw or b"{}"))
        return {}
    return None


def _remember_arrival(environ: dict[str, Any], target: ScimTarget) -> None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        title = json.loads(raw or b"{}").get("title")
    except ValueError:
        return
    if title:
        with target.lock:
            target.arrivals.setdefault(str(title), time.time())


def provider_with_departments() -> ScimProvider:
    """scim2-server's default provider plus idaas' Department schema and resource type."""
    return ScimProvider.from_discovery(
        [*load_default_schemas().values(), Department.to_schema()],
        [*load_default_resource_types().values(), ResourceType.from_resource(Department)],
        config=load_default_service_provider_config(),
    )


@contextmanager
def scim_server(port: int = 0) -> Iterator[ScimTarget]:
    """A fresh in-memory scim2-server on 127.0.0.1 (threaded), stopped at the end."""
    service = ScimService(provider_with_departments())
    app = WSGIApplication(InMemoryStorage(), service.provider, service)
    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", port, wsgi, server_class=_Threaded, handler_class=_Quiet)
    target = ScimTarget(url=f"http://127.0.0.1:{server.server_port}")
    holder["app"] = _faulty(app, target)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()


def spawn_server() -> tuple[ScimTarget, subprocess.Popen[bytes]]:
    """A scim2-server in its own process (benches: no GIL shared with idaas); terminate it."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parent.parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.scim_push.server", str(port)],
        cwd=root,
        stdout=subprocess.PIPE,
    )
    url = (process.stdout.readline() if process.stdout else b"").decode().strip()
    return ScimTarget(url=url), process


if __name__ == "__main__":  # a server in its own process (bench): `python -m ... PORT`
    with scim_server(int(sys.argv[1])) as running:
        print(running.url, flush=True)
        threading.Event().wait()
