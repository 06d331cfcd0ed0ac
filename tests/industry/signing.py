"""Client-side signing for tests, with Alibaba's own helper (PyPI alibabacloud-apigateway-util).

Using the official util (not idaas' code) to sign is what makes these tests independent: idaas
must accept exactly what Alibaba's SDK produces.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from alibabacloud_apigateway_util.client import Client as GatewayUtil

CONTENT_TYPE = "application/octet-stream"


class TeaRequest:
    """The request shape `GatewayUtil.get_signature` reads (a Tea `$Request`)."""

    def __init__(
        self, method: str, pathname: str, headers: dict[str, str], query: dict[str, str]
    ) -> None:
        self.method = method
        self.pathname = pathname
        self.headers = headers
        self.query = query


def envelope(params: dict[str, Any], api_ver: str, request_id: str | None = None) -> bytes:
    """The contract's request envelope as UTF-8 JSON."""
    document = {
        "id": request_id or uuid.uuid4().hex,
        "version": "1.0",
        "request": {"apiVer": api_ver},
        "params": params,
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def signed_headers(
    app_key: str,
    app_secret: str,
    path: str,
    body: bytes,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
    query: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers of a request signed the way Alibaba's SDK signs it."""
    headers = {
        "accept": "application/json",
        "content-type": CONTENT_TYPE,
        "content-md5": GatewayUtil.get_content_md5(body.decode("utf-8")),
        "date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
        "x-ca-key": app_key,
        "x-ca-timestamp": str(
            timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        ),
        "x-ca-nonce": nonce or str(uuid.uuid4()),
        "x-ca-signature-method": "HmacSHA256",
        **(extra or {}),
    }
    tea = TeaRequest("POST", path, headers, dict(query or {}))
    headers["x-ca-signature"] = GatewayUtil.get_signature(tea, app_secret)
    return tea.headers
