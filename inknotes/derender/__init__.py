"""Derendering engines behind one interface, chosen by name.

Heavy engines (TensorFlow) are imported only when asked for, so ``inknotes --help`` and
the tests that do not need them start fast.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import EngineError
from .base import Crop, Derendered, Engine

__all__ = ["Crop", "Derendered", "Engine", "get_engine", "engine_names"]


def _tracer(**options: Any) -> Engine:
    from .tracer import TracerEngine
    return TracerEngine(**options)


def _inksight(**options: Any) -> Engine:
    from .inksight import InkSightEngine
    return InkSightEngine(**options)


_ENGINES: dict[str, Callable[..., Engine]] = {"tracer": _tracer, "inksight": _inksight}


def engine_names() -> list[str]:
    return list(_ENGINES)


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name``, built with ``options`` (e.g. ``model=DIR`` for inksight)."""
    try:
        factory = _ENGINES[name]
    except KeyError:
        raise EngineError(f"Unknown engine '{name}'; choose one of: {', '.join(_ENGINES)}.") from None
    return factory(**options)
