"""The job shape sync handlers are written against, and a local runner until the engine lands.

The delivery engine (`idaas.events.jobs`) calls `handler(ctx)` with a context offering
`params`, `checkpoint`, `progress(...)`, `checkpoint_save(...)` and `cancelled`. `register`
wires the handlers onto it when it exists; `LocalContext` runs them in-process (tests, the CLI),
keeping progress and checkpoint on the sync run row so a killed run resumes from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import update

from idaas.dingtalk.sync.models import SyncRun
from idaas.extensions import db


class JobContext(Protocol):
    """What a handler needs from the engine."""

    params: dict[str, Any]
    checkpoint: dict[str, Any] | None

    def progress(
        self,
        *,
        total: int | None = None,
        done: int | None = None,
        failed: int | None = None,
        step: str | None = None,
        message: str | None = None,
    ) -> None:
        """Report progress; only the fields given change."""

    def checkpoint_save(self, state: dict[str, Any]) -> None:
        """Save where to resume from, after the work it describes has committed."""

    @property
    def cancelled(self) -> bool:
        """Whether someone asked the job to stop."""


Handler = Callable[[JobContext], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def kind(name: str) -> Callable[[Handler], Handler]:
    """Declare a handler for job kind `name`."""

    def decorator(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return decorator


class LocalContext:
    """A job context backed by the sync run row (own short transactions, like the engine's)."""

    def __init__(
        self,
        run_id: int,
        params: dict[str, Any] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        run = db.session.get(SyncRun, run_id)
        assert run is not None
        self.run_id = run_id
        self.params = {"run_id": run_id, **(params or {})}
        self.checkpoint: dict[str, Any] | None = dict(run.checkpoint or {}) or None
        self.on_progress = on_progress
        self.stop = False

    def _write(self, **values: Any) -> None:
        with db.engine.begin() as connection:
            connection.execute(update(SyncRun).where(SyncRun.id == self.run_id).values(**values))

    def progress(
        self,
        *,
        total: int | None = None,
        done: int | None = None,
        failed: int | None = None,
        step: str | None = None,
        message: str | None = None,
    ) -> None:
        """Store progress on the run (and tell a progress bar)."""
        values = {
            k: v
            for k, v in {
                "total": total,
                "done": done,
                "failed": failed,
                "step": step,
                "message": message[:1024] if message else message,
            }.items()
            if v is not None
        }
        if values:
            self._write(**values)
            if self.on_progress is not None:
                self.on_progress(values)

    def checkpoint_save(self, state: dict[str, Any]) -> None:
        """Store the checkpoint on the run."""
        self.checkpoint = state
        self._write(checkpoint=state)

    @property
    def cancelled(self) -> bool:
        """Set `stop` to cancel."""
        return self.stop


def run_local(job_kind: str, run_id: int, **kwargs: Any) -> dict[str, Any] | None:
    """Run a handler in this process against the run's stored checkpoint."""
    return HANDLERS[job_kind](LocalContext(run_id, **kwargs))


def register() -> None:
    """Register the sync handlers as job kinds of the delivery engine (worker and scheduler)."""
    from idaas.events import jobs as engine

    for name, handler in HANDLERS.items():
        engine.register_kind(name, handler)
