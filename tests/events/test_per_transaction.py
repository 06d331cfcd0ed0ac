"""Fan-out targets are read once per transaction, and again after a write that changes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from idaas.dingtalk.push import settings
from idaas.dingtalk.push.models import PushSettings
from idaas.directory.service.unit import atomic, savepoint
from idaas.extensions import db


def _reads(seen: list[str]) -> int:
    return sum("FROM dingtalk_push_settings" in s for s in seen)


def test_targets_are_read_once_per_transaction_and_after_they_change(app: Any) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with atomic():
            assert settings.enabled() == [] and settings.enabled() == []
            assert _reads(seen) == 1
            with savepoint():
                settings.enabled()
            assert _reads(seen) == 1  # a released savepoint keeps what was read
            db.session.add(PushSettings(connection="main", enabled=True, mapping=[]))
            db.session.flush()
            assert [row.connection for row in settings.enabled()] == ["main"]
            assert _reads(seen) == 2  # the flush wrote a push setting: read again
            try:
                with savepoint():
                    settings.enabled()
                    raise RuntimeError("undo this step")
            except RuntimeError:
                pass
            settings.enabled()
            assert _reads(seen) == 3  # a rolled-back savepoint forgets
        settings.enabled()
        assert _reads(seen) == 4  # a new transaction reads again
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
