"""The API-gateway request signature (Alibaba Cloud API Gateway, sdk-core-java scheme).

String-to-sign: METHOD, Accept, Content-MD5, Content-Type and Date, each followed by a newline,
then one `name:value` line per signed header (sorted by name), then the path with its sorted
query and form parameters. Signature = Base64(HMAC-SHA256(AppSecret, string-to-sign)).
Contract §3.2-§3.4; help.aliyun.com/document_detail/29475 and /143207.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from werkzeug.datastructures import Headers

ALGORITHMS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}
DEFAULT_ALGORITHM = "HmacSHA256"
# Headers that sit in the positional part or are never signed (demo-sign-java, apigateway-util).
NEVER_SIGNED = frozenset(
    {
        "x-ca-signature",
        "x-ca-signature-headers",
        "accept",
        "content-md5",
        "content-type",
        "date",
        "host",
        "token",
        "user-agent",
    }
)


def content_md5(body: bytes) -> str:
    """Base64(MD5(body)), the `Content-MD5` value (RFC 1864)."""
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii")  # noqa: S324


def signed_header_names(value: str | None) -> list[str]:
    """The names in `X-Ca-Signature-Headers`: commas (official clients) or colons (the doc)."""
    separator = "," if "," in (value or "") or ":" not in (value or "") else ":"
    names = [part.strip() for part in (value or "").split(separator) if part.strip()]
    return sorted({name for name in names if name.lower() not in NEVER_SIGNED})


def path_and_parameters(
    path: str, parameters: Iterable[tuple[str, str]] = (), *, keep_order: bool = False
) -> str:
    """The path, plus `?k=v&...` sorted by key; an empty value gives a bare `k` (raw, unencoded).

    `keep_order` keeps the order as sent: the Tea SDK util signs its query in insertion order.
    """
    pairs = list(parameters) if keep_order else sorted(parameters, key=lambda pair: pair[0])
    if not pairs:
        return path
    return path + "?" + "&".join(f"{k}={v}" if v else k for k, v in pairs)


def string_to_sign(
    method: str,
    headers: Mapping[str, str] | Headers,
    signed_names: Iterable[str],
    resource: str,
) -> str:
    """Build the string-to-sign from the request as received (header lookup is by `headers`)."""
    lines = [
        method.upper(),
        headers.get("Accept") or "",
        headers.get("Content-MD5") or "",
        headers.get("Content-Type") or "",
        headers.get("Date") or "",
    ]
    block = "".join(f"{name}:{headers.get(name) or ''}\n" for name in signed_names)
    return "\n".join(lines) + "\n" + block + resource


def sign(secret: str, text: str, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """Base64(HMAC(secret, text)) with the named algorithm."""
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), ALGORITHMS[algorithm])
    return base64.b64encode(digest.digest()).decode("ascii")


def matches(expected: str, presented: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(
        expected.encode("ascii", "replace"), presented.encode("ascii", "replace")
    )
