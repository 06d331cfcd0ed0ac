"""The `/api/v1` blueprint; views in `directory.py` and `integrations.py` register on it."""

from __future__ import annotations

from flask import Blueprint

from idaas.api import problems

# Path ids fit the 32-bit integer primary keys; anything else is a 404, never a database error.
ID = "int(min=1, max=2147483647)"

bp = Blueprint("api", __name__, url_prefix="/api/v1")
problems.register(bp)
