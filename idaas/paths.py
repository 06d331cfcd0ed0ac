"""Where idaas finds its templates, static files, migrations and instance folder.

In a checkout they sit at the repository root; the built wheel carries them inside the `idaas`
package (see setup.py), so an installed idaas finds them next to its modules.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository root of a checkout (meaningless for an installed package).
PROJECT_ROOT = PACKAGE_DIR.parent


def installed() -> bool:
    """True when running from a built wheel (the data folders live inside the package)."""
    return (PACKAGE_DIR / "templates").is_dir()


def resource(name: str) -> Path:
    """The `templates`, `static` or `migrations` folder of this checkout or installed package."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


def translations() -> Path:
    """The message catalogues (always inside the package)."""
    return PACKAGE_DIR / "translations"


def instance_path() -> Path:
    """The instance folder: `IDAAS_INSTANCE_PATH`, else `instance/` of the checkout.

    An installed idaas has no checkout, so it uses `./instance` of the working directory
    (docs/deployment.md sets IDAAS_INSTANCE_PATH explicitly).
    """
    configured = os.environ.get("IDAAS_INSTANCE_PATH")
    if configured:
        return Path(configured).resolve()
    base = Path.cwd() if installed() else PROJECT_ROOT
    return (base / "instance").resolve()
