"""SCIM push: provision applications' SCIM servers from the directory (issue 16).

Each application may have one target (`models.ProvisioningTarget`). Directory changes reach
it through the delivery engine (`deliver.py`, target type `scim.push`), full syncs run as
jobs (`jobs.py`: a dry-run diff, then its apply), the attribute mapping is the shared engine
in `idaas.mapping`. Interfaces: `/api/v1/applications/<id>/provisioning` and
`idaas provisioning ...`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Models, the delivery target type, the job kinds and the CLI."""
    from idaas.scim.push import commands, deliver, jobs, models  # noqa: F401

    deliver.init_app()
    commands.init_app(app)
