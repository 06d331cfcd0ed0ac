"""The delivery engine: the transactional outbox, deliveries to registered targets, background
jobs with progress, the scheduler and the worker that runs them all (see docs/architecture.md).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Models, the clock, commit wake-ups, built-in targets and job kinds, CLI, API, metrics."""
    from idaas import replay
    from idaas.events import api, commands, housekeeping, metrics, models, wake, webhooks  # noqa: F401
    from idaas.events.clock import Clock

    app.extensions.setdefault("idaas_clock", Clock())
    wake.install()
    webhooks.init_app()
    housekeeping.init_app()
    metrics.init_app(app)
    replay.init_app()
    commands.init_app(app)
