"""idaas side by side with node oidc-provider and a minimal Flask app, interleaved rounds of wrk.

Scenarios (each a wrk run of `--duration` seconds, `--connections` keep-alive connections):
client-credentials token, introspection, userinfo, discovery document and JWKS. Servers:
- idaas: `idaas serve` on a throwaway SQLite instance (gunicorn `--workers` x `--threads`);
- node oidc-provider (npm, installed once into ~/.cache/idaas-bench), one process and, with
  `--node-cluster`, a node:cluster of two (token, discovery and JWKS only: each process has
  its own in-memory store);
- a minimal Flask app answering a constant JSON document under the same gunicorn settings (the
  framework's floor for the constant documents).
Every round runs every scenario on every server back to back, so the ratios compare servers under
the same machine load; the table shows the median rate of the rounds, p50/p99 of the median round,
and idaas' ratio to oidc-provider and to the floor. Loopback only; each run is bounded in time.

    .venv/bin/python bench/peers.py [--rounds 3] [--duration 5] [--workers 2 --threads 4]
        [--also 4x2] [--baseline /path/to/an/older/checkout]

`--also` adds more idaas configurations; `--baseline` runs another checkout of idaas (same
virtual environment) side by side, so before/after ratios come from the same rounds.

Needs `wrk` (Debian package) and, for the peer, `node` and `npm`; without them the peer columns
are left out with a note. Authorization-code flows and password sign-ins: bench/oidc_flows.py and
bench/login_password.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from harness import ROOT, arguments, free_port, served_idaas
from oidc_flows import prepare, user_access_token

PEER_CLIENT = ("bench", "bench-secret-0123456789abcdef")
NODE_CACHE = Path.home() / ".cache" / "idaas-bench" / "oidc-provider"
FLOOR_APP = """
from flask import Flask, jsonify
app = Flask(__name__)
DOCUMENT = {"issuer": "http://127.0.0.1", "keys": [{"kty": "EC", "crv": "P-256", "x": "x" * 43}]}

@app.get("/document")
def document():
    return jsonify(DOCUMENT)
"""


@dataclass
class Request:
    """One wrk request: method, path, headers and body."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass
class Result:
    """One wrk run."""

    rate: float
    p50_ms: float
    p99_ms: float
    failed: int


@dataclass
class Server:
    """A server under test and the request it answers for each scenario it supports."""

    name: str
    url: str
    scenarios: dict[str, Request]


SCENARIOS = ("client-credentials token", "introspection", "userinfo", "discovery", "JWKS")


def basic(client: tuple[str, str]) -> str:
    """An HTTP Basic Authorization header value (RFC 6749 §2.3.1)."""
    return "Basic " + base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()


def form(client: tuple[str, str]) -> dict[str, str]:
    """Headers of a form POST with client authentication."""
    return {"Authorization": basic(client), "Content-Type": "application/x-www-form-urlencoded"}


def _lua(request: Request) -> str:
    lines = [f'wrk.method = "{request.method}"', f"wrk.body = {json.dumps(request.body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in request.headers.items()]
    return "\n".join(lines) + "\n"


_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, request: Request, duration: int, connections: int) -> Result:
    """Run wrk against `url + request.path`; parse its rate, latency percentiles and failures."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(request))
    try:
        done = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name]
            + [url + request.path],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        )
    finally:
        os.unlink(script.name)
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    lost = int(failed.group(1)) if failed else 0
    if errors:
        lost += sum(int(n) for n in re.findall(r"\d+", errors.group(0)))
    return Result(rate=rate, p50_ms=p50, p99_ms=p99, failed=lost)


def _wait(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited during start-up")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url}: not ready in time")


@contextmanager
def _process(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def floor_server(workers: int, threads: int) -> Iterator[Server]:
    """The minimal Flask app under gunicorn with the same settings as idaas."""
    with tempfile.TemporaryDirectory(prefix="idaas-floor-") as folder:
        Path(folder, "floor.py").write_text(FLOOR_APP)
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads"]
        command += [str(threads), "-b", f"127.0.0.1:{port}", "floor:app"]
        with _process(command, dict(os.environ), Path(folder)) as process:
            url = f"http://127.0.0.1:{port}"
            _wait(f"{url}/document", process)
            document = Request("GET", "/document")
            yield Server("Flask floor", url, {"discovery": document, "JWKS": document})


def _install_oidc_provider() -> Path | None:
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    if not (NODE_CACHE / "node_modules" / "oidc-provider").exists():
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "oidc-provider@9"],
            cwd=NODE_CACHE,
            check=True,
            capture_output=True,
            timeout=300,
        )
    script = NODE_CACHE / "peer.mjs"
    shutil.copyfile(ROOT / "bench" / "peers_oidc_provider.mjs", script)
    return script


@contextmanager
def node_server(script: Path, processes: int) -> Iterator[Server]:
    """node oidc-provider with one process or a cluster."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), WORKERS=str(processes))
    env.update(CLIENT_ID=PEER_CLIENT[0], CLIENT_SECRET=PEER_CLIENT[1])
    with _process(["node", str(script)], env, script.parent) as process:
        assert process.stdout is not None
        ready: dict[str, str] = {}
        for line in process.stdout:  # oidc-provider prints its notices first
            if line.startswith("{"):
                ready = json.loads(line)
                break
        if not ready.get("ready"):
            raise SystemExit("oidc-provider did not start")
        url = f"http://127.0.0.1:{port}"
        token_body = "grant_type=client_credentials&scope=api"
        cc = httpx.post(
            f"{url}/token",
            data={"grant_type": "client_credentials", "scope": "api"},
            auth=PEER_CLIENT,
        ).json()["access_token"]
        scenarios = {
            "client-credentials token": Request("POST", "/token", form(PEER_CLIENT), token_body),
            "discovery": Request("GET", "/.well-known/openid-configuration"),
            "JWKS": Request("GET", "/jwks"),
        }
        if processes == 1:
            scenarios["introspection"] = Request(
                "POST", "/token/introspection", form(PEER_CLIENT), f"token={cc}"
            )
            scenarios["userinfo"] = Request(
                "GET", "/me", {"Authorization": f"Bearer {ready['user_token']}"}
            )
        label = "oidc-provider" if processes == 1 else f"oidc-provider x{processes}"
        yield Server(label, url, scenarios)


@contextmanager
def idaas_server(
    workers: int, threads: int, code: Path | None = None, label: str = "idaas"
) -> Iterator[Server]:
    """`idaas serve` on a throwaway SQLite instance, with its clients and a user token."""
    with served_idaas(workers=workers, threads=threads, code=code) as idaas:
        rp, _ = prepare(idaas)
        api = idaas.api_client("tokens:introspect", name="bench-introspect")
        user_token = user_access_token(idaas.url, rp)
        cc = httpx.post(
            f"{idaas.url}/oauth2/token", data={"grant_type": "client_credentials"}, auth=api
        ).json()["access_token"]
        yield Server(
            f"{label} {workers}x{threads}",
            idaas.url,
            {
                "client-credentials token": Request(
                    "POST", "/oauth2/token", form(api), "grant_type=client_credentials"
                ),
                "introspection": Request("POST", "/oauth2/introspect", form(api), f"token={cc}"),
                "userinfo": Request(
                    "GET", "/oauth2/userinfo", {"Authorization": f"Bearer {user_token}"}
                ),
                "discovery": Request("GET", "/.well-known/openid-configuration"),
                "JWKS": Request("GET", "/oauth2/jwks"),
            },
        )


def _cell(results: list[Result]) -> tuple[str, float]:
    rates = [r.rate for r in results]
    middle = sorted(results, key=lambda r: r.rate)[len(results) // 2]
    failed = sum(r.failed for r in results)
    text = f"{statistics.median(rates):,.0f}/s ({middle.p50_ms:.1f}/{middle.p99_ms:.1f} ms)"
    return text + (f" {failed} failed" if failed else ""), statistics.median(rates)


def main() -> None:
    """Start the servers, run the interleaved rounds and print the table."""
    parser = arguments(__doc__, rounds=3, duration=5, connections=16, workers=2, threads=4)
    parser.add_argument("--node-cluster", action="store_true", help="also a 2-process cluster")
    parser.add_argument(
        "--baseline", type=Path, help="another idaas checkout to run side by side (before)"
    )
    parser.add_argument(
        "--also", action="append", default=[], help="more idaas configurations, e.g. 4x2"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/peers.py needs wrk: apt-get install wrk")
    with ExitStack() as stack:
        servers = [stack.enter_context(idaas_server(args.workers, args.threads))]
        for extra in args.also:
            workers, threads = (int(n) for n in extra.split("x"))
            servers.append(stack.enter_context(idaas_server(workers, threads)))
        if args.baseline is not None:
            before = idaas_server(args.workers, args.threads, args.baseline, "idaas before")
            servers.append(stack.enter_context(before))
        script = _install_oidc_provider()
        if script is None:
            print("note: node/npm not found; oidc-provider columns left out")
        else:
            servers.append(stack.enter_context(node_server(script, 1)))
            if args.node_cluster:
                servers.append(stack.enter_context(node_server(script, 2)))
        servers.append(stack.enter_context(floor_server(args.workers, args.threads)))
        results: dict[tuple[str, str], list[Result]] = {}
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds} ...", file=sys.stderr)
            for scenario in SCENARIOS:
                for server in servers:
                    request = server.scenarios.get(scenario)
                    if request is not None:
                        result = wrk(server.url, request, args.duration, args.connections)
                        results.setdefault((scenario, server.name), []).append(result)
    print(
        f"req/s (p50/p99), median of {args.rounds} interleaved rounds, wrk -t2 "
        f"-c{args.connections} -d{args.duration}s, loopback, {os.cpu_count()} cores"
    )
    names = [s.name for s in servers]
    idaas_name = names[0]
    peers = [name for name in names if name.startswith("idaas before")]
    peers += ["oidc-provider", "Flask floor"]
    print(" | ".join(["scenario", *names, *(f"{idaas_name}/{peer}" for peer in peers)]))
    for scenario in SCENARIOS:
        row, rates = [scenario], {}
        for name in names:
            if (scenario, name) in results:
                text, rates[name] = _cell(results[(scenario, name)])
                row.append(text)
            else:
                row.append("-")
        for peer in peers:
            ratio = rates.get(idaas_name, 0) / rates[peer] if rates.get(peer) else None
            row.append(f"{ratio:.2f}x" if ratio is not None else "-")
        print(" | ".join(row))


if __name__ == "__main__":
    main()
