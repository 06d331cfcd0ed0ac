"""Run one import's apply job in its own process (so a test can kill -9 it half-way)."""

from __future__ import annotations

import json
import sys


def main() -> None:
    """argv: JSON config, run id."""
    from idaas import create_app
    from idaas.dingtalk.sync.jobs import run_local

    app = create_app(json.loads(sys.argv[1]))
    with app.app_context():
        run_local("dingtalk.apply", int(sys.argv[2]))


if __name__ == "__main__":
    main()
