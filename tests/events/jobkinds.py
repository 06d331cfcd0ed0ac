"""A resumable test job kind: sums squares item by item, checkpointing after each one."""

from __future__ import annotations

import time
from typing import Any

from idaas.events import jobs


def squares(ctx: jobs.JobContext) -> dict[str, Any]:
    """Sum i*i for i < n; log each item processed to `params.log`; resume from the checkpoint."""
    n, delay, log = int(ctx.params["n"]), float(ctx.params.get("delay", 0)), ctx.params["log"]
    state = ctx.checkpoint or {"next": 0, "sum": 0}
    ctx.progress(total=n, done=state["next"], step="squares", message="summing")
    for i in range(state["next"], n):
        if ctx.cancelled:
            return {"stopped_at": i}
        time.sleep(delay)
        with open(log, "a") as handle:
            handle.write(f"{i}\n")
        state = {"next": i + 1, "sum": state["sum"] + i * i}
        ctx.checkpoint_save(state)
        ctx.progress(done=i + 1)
    return {"sum": state["sum"], "items": n}


jobs.register_kind("test.squares", squares)
