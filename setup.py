"""Build hook: the wheel carries the root-level templates/, static/ and migrations/.

They stay at the repository root (the project's agreed layout); `build_py` copies them into the
built `idaas` package and compiles the message catalogues, so an installed idaas finds all of it
next to its modules (see `idaas.paths`). Editable installs read them from the checkout instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Root-level folders shipped inside the `idaas` package of the wheel.
DATA_FOLDERS = ("templates", "static", "migrations")


class BuildWithData(build_py):
    """`build_py` plus the root-level data folders and compiled translations."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        package = Path(self.build_lib) / "idaas"
        for name in DATA_FOLDERS:
            target = package / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(
                ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        _compile_catalogues(package / "translations")


def _compile_catalogues(directory: Path) -> None:
    """Write messages.mo next to every messages.po (what `make translations` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=True)


setup(cmdclass={"build_py": BuildWithData})
