"""Who is calling: an API-gateway signature (X-Ca-Key = API client id) or a bearer token.

Signed requests (contract §3.3): the AppKey must be an enabled API client with a gateway secret;
X-Ca-Timestamp and X-Ca-Nonce are required and must be among the signed headers (otherwise a
replay could simply change them); the timestamp must be within the window; a body needs a
matching Content-MD5 (it is the only part of the string-to-sign that covers the body); the
signature is compared in constant time; the nonce is consumed last, so unsigned garbage cannot
burn a legitimate client's nonces.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2 import OAuth2Error
from flask import current_app, request
from flask_babel import gettext

from idaas.industry import errors, generation, keys, signature
from idaas.oidc.server import BearerError, require_oauth

MAX_NONCE = 128


@dataclass(frozen=True)
class Caller:
    """An authenticated API client and the scopes it holds for this request."""

    client_id: str
    scopes: frozenset[str]
    method: str

    @property
    def origin(self) -> str:
        """The change-event origin of writes made by this caller."""
        return f"industry:{self.client_id}"


def authenticate(body: bytes) -> Caller:
    """Authenticate the current request or raise the contract's gateway error."""
    if request.headers.get("X-Ca-Signature"):
        return _signed(body)
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return _bearer()
    raise errors.EmptySignature()


def _now_ms() -> int:
    return int(current_app.extensions["industry"].clock() * 1000)


def _signed(body: bytes) -> Caller:
    headers = request.headers
    app_key = headers.get("X-Ca-Key", "")
    names = signature.signed_header_names(headers.get("X-Ca-Signature-Headers"))
    signed = {name.lower() for name in names}
    now = _now_ms()
    window = int(current_app.config["INDUSTRY_TIMESTAMP_WINDOW_SECONDS"]) * 1000
    stamp = headers.get("X-Ca-Timestamp", "")
    # The client as this process last knew it; confirmed below by the generation read with the
    # nonce (one round trip to the store on a warm path), else loaded now.
    hint = keys.cached_gateway_client(app_key)
    client = hint[1] if hint is not None else _client(app_key)
    if not stamp.isdigit() or len(stamp) > 15 or "x-ca-timestamp" not in signed:
        raise errors.InvalidTimestamp()
    if abs(now - int(stamp)) > window:
        raise errors.TimestampExpired()
    nonce = headers.get("X-Ca-Nonce", "")
    if not nonce or len(nonce) > MAX_NONCE or not nonce.isprintable() or "x-ca-nonce" not in signed:
        raise errors.InvalidNonce()
    if body or headers.get("Content-MD5"):
        if headers.get("Content-MD5") != signature.content_md5(body):
            raise errors.InvalidContentMd5()
    algorithm = headers.get("X-Ca-Signature-Method") or signature.DEFAULT_ALGORITHM
    if algorithm not in signature.ALGORITHMS:
        raise errors.InvalidSignature(
            gettext("X-Ca-Signature-Method must be HmacSHA256 or HmacSHA1.")
        )
    texts = _texts_to_sign(names)
    _verify(client, texts, algorithm)
    store = current_app.extensions["industry"].nonces
    fresh = store.consume_reading_generation(client.client_id, nonce, int(stamp) + window, now)
    if fresh is None:
        raise errors.NonceUsed()
    generation.remember(fresh)
    if hint is not None and hint[0] != fresh:  # something changed since: check again
        client = _client(app_key)
        _verify(client, texts, algorithm)
    return Caller(client.client_id, client.scopes, "signature")


def _client(app_key: str) -> keys.GatewayClient:
    client = keys.gateway_client(app_key)
    if client is None or client.secret is None:
        raise errors.InvalidAppKey()
    return client


def _texts_to_sign(names: list[str]) -> list[str]:
    """The string-to-sign with the query sorted, and as sent (the Tea SDK does not sort)."""
    query = list(request.args.items(multi=True))
    canonical = signature.path_and_parameters(request.path, query)
    as_sent = signature.path_and_parameters(request.path, query, keep_order=True)
    return [
        signature.string_to_sign(request.method, request.headers, names, resource)
        for resource in dict.fromkeys((canonical, as_sent))
    ]


def _verify(client: keys.GatewayClient, texts: list[str], algorithm: str) -> None:
    presented = request.headers.get("X-Ca-Signature", "")
    secret = client.secret or ""
    if not any(
        signature.matches(signature.sign(secret, text, algorithm), presented) for text in texts
    ):
        shown = texts[0].replace("\n", "").encode("ascii", "backslashreplace").decode("ascii")
        raise errors.InvalidSignature(header=f"Invalid Signature, Server StringToSign:`{shown}`")


def _bearer() -> Caller:
    try:
        token = require_oauth.acquire_token()
    except (OAuth2Error, BearerError):
        raise errors.RequestAuthorizedError() from None
    client = keys.gateway_client(str(token["client_id"]))
    if client is None:
        raise errors.RequestAuthorizedError()
    granted = frozenset(str(token.get("scope") or "").split()) & client.scopes
    return Caller(client.client_id, granted, "bearer")
