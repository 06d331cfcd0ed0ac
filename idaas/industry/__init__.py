"""The digital-factory compatible API (`/industry/...`): a thin layer over the directory service.

Contract: `industry-user-api.md` (Alibaba Cloud Industrial Internet Platform user centre).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from idaas.industry.generation import GenerationCache
from idaas.industry.nonces import NonceStore


@dataclass
class IndustryState:
    """Per-app state: the clock (tests control it), the replay store (with the cache generation)
    and the caches."""

    nonces: NonceStore
    clients: GenerationCache
    directory: GenerationCache
    permissions: GenerationCache
    clock: Callable[[], float] = field(default=time.time)


def init_app(app: Flask) -> None:
    """Import the models; when enabled, mount the blueprint and register the CLI group."""
    from idaas.industry import commands, generation, models, nonces  # noqa: F401

    app.cli.add_command(commands.industry_group)
    size = int(app.config["INDUSTRY_CACHE_ENTRIES"])
    app.extensions["industry"] = IndustryState(
        nonces=nonces.store_for(app),
        clients=GenerationCache(1024),
        directory=GenerationCache(size),
        permissions=GenerationCache(size),
    )
    if not app.config["INDUSTRY_API_ENABLED"]:
        return
    from idaas.extensions import csrf
    from idaas.industry.views import blueprint

    generation.register()
    bp = blueprint(app.config["INDUSTRY_API_PREFIX"])
    csrf.exempt(bp)
    app.register_blueprint(bp)
