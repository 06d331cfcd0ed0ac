"""A worker in its own process (so a test can kill -9 it half-way through an apply job)."""

from __future__ import annotations

import json
import sys


def main() -> None:
    """argv: JSON config. Runs queued jobs until there are none."""
    from idaas import create_app
    from idaas.events.worker import Worker

    app = create_app(json.loads(sys.argv[1]))
    Worker(app, run_deliveries=False, run_scheduler=False).drain(timeout=120)


if __name__ == "__main__":
    main()
