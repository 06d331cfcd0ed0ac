"""CSV export of accounts and CSV import with a per-row validation preview.

The import is two steps: parse and validate every row (nothing is written) and show the
preview; on confirm, the same file (carried in a signed form field, so any server process can
finish it) is validated again and each valid row is created through the directory service.
Invalid rows are left out and listed with their reasons; nothing half-written is ever left.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, select

from idaas.directory import service
from idaas.directory.errors import DirectoryError
from idaas.directory.models import Account, Department
from idaas.directory.normalise import InvalidValue, clean_email, clean_username, username_key
from idaas.extensions import db

COLUMNS = ("username", "display_name", "email", "mobile", "employee_number", "title", "department")
MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class Row:
    """One CSV line: its number, the values, and what is wrong with it (empty = valid)."""

    line: int
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def _safe(value: Any) -> Any:
    # Spreadsheet formula injection (OWASP "CSV Injection"): neutralise leading = + - @.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_accounts(query: Select[tuple[Account]]) -> Iterator[str]:
    """The accounts of `query` as CSV chunks (the import's columns, primary department by id)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*COLUMNS, "status", "source"])
    yield buffer.getvalue()
    after = 0
    while True:
        rows = list(
            db.session.scalars(
                query.where(Account.id > after).order_by(None).order_by(Account.id).limit(1000)
            )
        )
        if not rows:
            return
        for account in rows:
            buffer.seek(0)
            buffer.truncate()
            primary = next((m.department_id for m in account.memberships if m.is_primary), "")
            writer.writerow(
                [
                    _safe(v)
                    for v in (
                        account.username,
                        account.display_name,
                        account.email or "",
                        account.mobile or "",
                        account.employee_number or "",
                        account.title or "",
                        primary,
                        account.status,
                        account.source,
                    )
                ]
            )
            yield buffer.getvalue()
            db.session.expunge(account)
        after = rows[-1].id


def parse(data: bytes) -> tuple[list[Row], str | None]:
    """Parse and validate an uploaded CSV; return the rows and a file-level error, if any."""
    if len(data) > MAX_BYTES:
        return [], gettext("The file is larger than 2 MB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], gettext("Save the file as UTF-8 CSV and try again.")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "username" not in header:
        return [], gettext("The first line must name the columns; username is required.")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        return [], gettext("Unknown columns: %(names)s.", names=", ".join(unknown))
    rows: list[Row] = []
    for number, raw in enumerate(reader, start=2):
        if len(rows) >= MAX_ROWS:
            return [], gettext("At most %(num)d rows per file.", num=MAX_ROWS)
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        rows.append(Row(number, {c: values.get(c, "") for c in COLUMNS}))
    if not rows:
        return [], gettext("The file has no rows.")
    _validate(rows)
    return rows, None


def _validate(rows: list[Row]) -> None:
    seen: dict[str, int] = {}
    usernames: list[str] = []
    for row in rows:
        try:
            name = clean_username(row.values["username"])
            row.values["username"] = name or ""
            if not name:
                raise InvalidValue(gettext("A username is required."))
            key = username_key(name)
            if key in seen:
                row.errors["username"] = gettext("Also on line %(line)d.", line=seen[key])
            seen[key] = row.line
            usernames.append(key)
        except InvalidValue as error:
            row.errors["username"] = str(error)
        if row.values["email"]:
            try:
                clean_email(row.values["email"])
            except InvalidValue as error:
                row.errors["email"] = str(error)
        dept = row.values["department"]
        if dept and not dept.isdigit():
            row.errors["department"] = gettext("Use the department's id.")
    existing = (
        set(
            db.session.scalars(
                select(Account.username_key).where(Account.username_key.in_(usernames))
            )
        )
        if usernames
        else set()
    )
    dept_ids = {int(r.values["department"]) for r in rows if r.values["department"].isdigit()}
    known = (
        set(db.session.scalars(select(Department.id).where(Department.id.in_(dept_ids))))
        if dept_ids
        else set()
    )
    for row in rows:
        if row.values["username"] and username_key(row.values["username"]) in existing:
            row.errors.setdefault("username", gettext("An account with this username exists."))
        dept = row.values["department"]
        if dept.isdigit() and int(dept) not in known:
            row.errors["department"] = gettext("No department has this id.")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt="idaas.admin.import")


def seal(data: bytes) -> str:
    """The uploaded file, compressed and signed, to carry from the preview to the confirm."""
    return str(_serializer().dumps(zlib.compress(data).hex()))


def unseal(token: str) -> bytes | None:
    """The file sealed by `seal`, or None when the token was tampered with."""
    try:
        return zlib.decompress(bytes.fromhex(_serializer().loads(token)))
    except (BadSignature, ValueError, zlib.error):
        return None


def apply(origin: str, rows: list[Row]) -> tuple[int, list[Row]]:
    """Create every valid row without a password (each its own transaction); count and failures."""
    created = 0
    failed: list[Row] = []
    for row in rows:
        if row.errors:
            failed.append(row)
            continue
        v = row.values
        try:
            service.create_account(
                origin,
                username=v["username"],
                display_name=v["display_name"] or v["username"],
                email=v["email"] or None,
                mobile=v["mobile"] or None,
                employee_number=v["employee_number"] or None,
                title=v["title"] or None,
                memberships=[int(v["department"])] if v["department"] else [],
            )
            created += 1
        except DirectoryError as error:
            row.errors = dict(error.fields) or {"username": error.message}
            failed.append(row)
    return created, failed
