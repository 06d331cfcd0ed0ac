"""The SCIM 2.0 server (RFC 7643, RFC 7644) under `/scim/v2`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
