"""Where the top-level ``resources/`` folder is, in the source tree and in a frozen bundle.

Source tree and editable installs: next to the ``inknotes`` package. PyInstaller bundles put
``resources/`` in the bundle's library folder (``sys._MEIPASS``), which is also where the package
lives, so the same rule holds; ``_MEIPASS`` is checked first in case a bundle lays it out otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding icons, sample pages, default settings and model files."""
    base = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and base and (Path(base) / "resources").is_dir():
        return Path(base) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"
