"""Benchmark the OpenID provider against `idaas serve` (gunicorn, temporary SQLite instance).

1. Authorization-code flows per second with an existing session: GET /oauth2/authorize
   (session cookie, first-party app, PKCE S256 + nonce) -> 302 with a code, POST /oauth2/token
   (client_secret_basic + code_verifier: ES256 access token, refresh token and ID token, two
   audit rows), GET /oauth2/userinfo. One flow = those three requests.
2. Client-credentials tokens per second (RFC 6749 §4.4) on the same server.

Bounded request counts from a few client threads, keep-alive connections, loopback only.

    .venv/bin/python bench/oidc_flows.py [--flows 600] [--tokens 1500] [--threads 4]
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
from harness import ServedIdaas, arguments, latency_line, served_idaas

PASSWORD = "Bench-Heron-Quiet-71"
REDIRECT = "https://rp.bench.invalid/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def sign_in(http: httpx.Client) -> None:
    page = http.get("/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    data = {"identifier": "alice", "password": PASSWORD}
    if match:
        data["csrf_token"] = match.group(1)
    done = http.post("/login", data=data)
    if done.status_code != 302 or "/login" in done.headers.get("location", ""):
        raise SystemExit(f"sign-in failed: {done.status_code}")


def code_flows(
    url: str,
    client: tuple[str, str],
    count: int,
    latencies: list[float],
    errors: list[str],
    tokens: list[str] | None = None,
) -> None:
    """Sign in once, then run `count` authorize + token + userinfo flows."""
    with httpx.Client(base_url=url, timeout=30) as http:
        sign_in(http)
        for _ in range(count):
            started = time.perf_counter()
            verifier, challenge = pkce()
            params = {
                "response_type": "code",
                "client_id": client[0],
                "redirect_uri": REDIRECT,
                "scope": "openid profile email",
                "state": secrets.token_urlsafe(8),
                "nonce": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
            step = http.get("/oauth2/authorize", params=params)
            location = step.headers.get("location", "")
            code = parse_qs(urlsplit(location).query).get("code", [""])[0]
            if step.status_code != 302 or not code:
                errors.append(f"authorize {step.status_code} {location[:80]}")
                continue
            token = http.post(
                "/oauth2/token",
                auth=client,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
            )
            if token.status_code != 200:
                errors.append(f"token {token.status_code} {token.text[:120]}")
                continue
            access = token.json()["access_token"]
            if tokens is not None:
                tokens.append(access)
            info = http.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"})
            if info.status_code != 200:
                errors.append(f"userinfo {info.status_code} {info.text[:120]}")
                continue
            latencies.append(time.perf_counter() - started)


def user_access_token(url: str, client: tuple[str, str]) -> str:
    """Sign in as alice and run one code flow; return its access token."""
    latencies: list[float] = []
    errors: list[str] = []
    tokens: list[str] = []
    code_flows(url, client, 1, latencies, errors, tokens)
    if errors or not tokens:
        raise SystemExit(f"code flow failed: {errors}")
    return tokens[0]


def cc_tokens(
    url: str, client: tuple[str, str], count: int, latencies: list[float], errors: list[str]
) -> None:
    """Send `count` client-credentials token requests on one keep-alive connection."""
    with httpx.Client(base_url=url, auth=client, timeout=30) as http:
        for _ in range(count):
            started = time.perf_counter()
            response = http.post("/oauth2/token", data={"grant_type": "client_credentials"})
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(f"{response.status_code} {response.text[:120]}")


def run(
    label: str,
    work: Callable[..., None],
    url: str,
    client: tuple[str, str],
    total: int,
    threads: int,
) -> bool:
    """Run `work` from `threads` threads and print throughput and latency."""
    work(url, client, 5, [], [])  # warm up (keys, caches, connections)
    latencies: list[float] = []
    errors: list[str] = []
    per_thread = max(1, total // threads)
    pool = [
        threading.Thread(target=work, args=(url, client, per_thread, latencies, errors))
        for _ in range(threads)
    ]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    print(f"{label}: {len(latencies)} ok, {len(errors)} errors in {elapsed:.2f} s")
    print(f"  throughput: {len(latencies) / elapsed:.1f}/s")
    if latencies:
        print(f"  latency: {latency_line(latencies)}")
    if errors:
        print("  first errors:", *errors[:5], sep="\n    ")
    return not errors


def prepare(idaas: ServedIdaas) -> tuple[tuple[str, str], tuple[str, str]]:
    """Create alice, a first-party RP without consent and an API client; return both clients."""
    idaas.cli(
        "accounts",
        "create",
        "--username",
        "alice",
        "--name",
        "Alice Wang",
        "--email",
        "alice@example.com",
        "--password",
        PASSWORD,
        "--no-must-change-password",
    )
    rp = json.loads(
        idaas.cli(
            "clients",
            "create",
            "--kind",
            "oidc",
            "--name",
            "bench RP",
            "--redirect-uri",
            REDIRECT,
            "--no-consent",
            "--json",
        )
    )
    api = idaas.api_client("directory:read")
    return (rp["client_id"], rp["client_secret"]), api


def main() -> None:
    """Start the server, run both benchmarks, print the figures."""
    parser = arguments(__doc__, flows=600, tokens=1500, threads=4, workers=2, server_threads=4)
    args = parser.parse_args()
    with served_idaas(workers=args.workers, threads=args.server_threads) as idaas:
        rp, api = prepare(idaas)
        print(
            f"idaas serve (gunicorn {args.workers} workers x {args.server_threads} threads, "
            f"SQLite), {args.threads} client threads, loopback"
        )
        ok = run(
            "authorization-code flows (authorize + token + userinfo)",
            code_flows,
            idaas.url,
            rp,
            args.flows,
            args.threads,
        )
        ok = (
            run("client-credentials tokens", cc_tokens, idaas.url, api, args.tokens, args.threads)
            and ok
        )
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
