"""User settings persisted as JSON in the user's config folder (platformdirs).

Unknown keys are kept. A damaged file falls back to defaults; before anything is saved over it,
it is kept as settings.json.damaged, so no hand-edited setting is lost without a copy.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import platformdirs

from .errors import OutputError
from .fileio import write_bytes_atomic

log = logging.getLogger(__name__)

APP = "inknotes"
DEFAULTS: dict[str, Any] = {
    "engine": "tracer",           # tracer | inksight
    "inksight_model": None,       # folder of the InkSight SavedModel, set by `inknotes model add`
    "inksight_mode": "vanilla",   # vanilla | text | recognize
    "watch_enabled": False,
    "watch_folder": None,
    "export_folder": None,
    "theme": "system",            # system | light | dark
    "last_library": None,
}


def config_dir() -> Path:
    return Path(os.environ.get("INKNOTES_CONFIG_DIR") or platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return Path(os.environ.get("INKNOTES_DATA_DIR") or platformdirs.user_data_dir(APP))


def log_dir() -> Path:
    return Path(os.environ.get("INKNOTES_LOG_DIR") or platformdirs.user_log_dir(APP))


def default_library_path() -> Path:
    return data_dir() / "Notes.inknotes"


def settings_path() -> Path:
    return config_dir() / "settings.json"


def _stored(p: Path) -> dict[str, Any] | None:
    """What the settings file holds: None when there is none; OSError or ValueError when it
    cannot be read or is not a JSON object."""
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def load() -> dict[str, Any]:
    """Settings merged over the defaults."""
    out = dict(DEFAULTS)
    p = settings_path()
    try:
        out.update(_stored(p) or {})
    except (OSError, ValueError) as e:
        log.warning("settings file %s unreadable (%s); using defaults", p, e)
    return out


def _damaged(p: Path) -> bool:
    try:
        _stored(p)
    except (OSError, ValueError):
        return True
    return False


def save(values: dict[str, Any]) -> None:
    p = settings_path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if _damaged(p):
            kept = p.with_name(p.name + ".damaged")
            os.replace(p, kept)
            log.warning("settings file %s was damaged; kept as %s", p, kept)
    except OSError as e:
        raise OutputError(f"Cannot save the settings in {p.parent} ({e.strerror or e}).", p) from e
    write_bytes_atomic(p, json.dumps(values, indent=2, sort_keys=True).encode("utf-8"))


def update(**changes: Any) -> dict[str, Any]:
    values = load()
    values.update(changes)
    save(values)
    return values
