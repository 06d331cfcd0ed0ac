"""The contract's error codes (§2.6, §3.3) with English `message` and catalogue `localizedMsg`.

Gateway errors answer with their HTTP status; business errors with HTTP 200 and the code in the
body. `message` is the contract's fixed English text; `localizedMsg` is rendered in the caller's
language from the catalogue, followed by what exactly was wrong. Each error is one line of the
contract's tables: `class Name(Base, code=..., message=...)` and its catalogue text.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class IndustryError(Exception):
    """An error answered in the contract's envelope."""

    http_status = 200
    code = 500
    message = "server error."
    localized: Any = _l("Server error.")

    def __init_subclass__(cls, code: int | None = None, message: str | None = None) -> None:
        super().__init_subclass__()
        cls.code = cls.code if code is None else code
        cls.message = cls.message if message is None else message

    def __init__(self, detail: str | None = None, *, header: str | None = None) -> None:
        super().__init__(detail or self.message)
        self.detail = detail
        self.header = header

    def localized_message(self) -> str:
        """The catalogue text in the current locale, plus the detail when there is one."""
        text = str(self.localized)
        return f"{text} {self.detail}" if self.detail else text


class GatewayError(IndustryError):
    """Refused by the gateway checks before any business logic ran: HTTP status = code."""

    def __init_subclass__(cls, code: int | None = None, message: str | None = None) -> None:
        super().__init_subclass__(code, message)
        cls.http_status = cls.code


# -- gateway errors (HTTP status = code) ------------------------------------------------------


class EmptySignature(GatewayError, code=401, message="Empty Signature"):
    localized = _l("The request carries no X-Ca-Signature or bearer token.")


class InvalidSignature(GatewayError, code=401, message="Invalid Signature"):
    localized = _l("The signature does not match the request.")


class InvalidAppKey(GatewayError, code=400, message="Invalid AppKey"):
    localized = _l("Unknown or disabled AppKey, or it has no gateway secret.")


class InvalidTimestamp(GatewayError, code=400, message="Invalid Timestamp"):
    localized = _l("X-Ca-Timestamp must be signed epoch milliseconds.")


class TimestampExpired(GatewayError, code=400, message="Timestamp Expired"):
    localized = _l("X-Ca-Timestamp is outside the accepted window.")


class InvalidNonce(GatewayError, code=400, message="Invalid Nonce"):
    localized = _l("X-Ca-Nonce must be a signed value of 1-128 characters.")


class NonceUsed(GatewayError, code=400, message="Nonce Used"):
    localized = _l("This X-Ca-Nonce was already used: the request is a replay.")


class InvalidContentMd5(GatewayError, code=400, message="Invalid Content-MD5"):
    localized = _l("Content-MD5 is missing or does not match the body.")


class RequestFormatError(GatewayError, code=400, message="Request Format Error"):
    localized = _l("The body is not the contract's JSON envelope.")


class InternalError(GatewayError, code=500, message="Internal Error"):
    localized = _l("Server error.")


# -- business errors (HTTP 200) -----------------------------------------------------------------


class RequestAuthorizedError(IndustryError, code=401, message="Request Authorized Error"):
    localized = _l("The bearer token is invalid, expired or its client is disabled.")


class Forbidden(IndustryError, code=403, message="request forbidden."):
    localized = _l("Request forbidden.")


class ParameterError(IndustryError, code=460, message="request parameter error."):
    localized = _l("Request parameter error.")


class ServerError(IndustryError, code=500, message="server error."):
    localized = _l("Server error.")


class EmptyResult(IndustryError, code=22000, message="Query Result is Empty"):
    localized = _l("Query result is empty.")


class OrganizationNotExist(IndustryError, code=2115, message="organization not exist"):
    localized = _l("The organization does not exist or was deleted.")


class UserNotExist(IndustryError, code=107313, message="the user is not exist"):
    localized = _l("The person does not exist or was deleted.")


class TenantNotFound(IndustryError, code=102126, message="tenant not fund"):
    localized = _l("Tenant not found.")
