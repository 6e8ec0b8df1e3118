"""The one interface every derendering engine implements: crops in, strokes out, batched.

The pipeline only sees this interface; it never knows which engine runs.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..ink import Stroke

ProgressFn = Callable[[int, int], None]  # (done, total) words
CancelFn = Callable[[], bool]  # True when the user asked to stop


@dataclass
class Crop:
    """One word (or stray mark) cut from the prepared page.

    ``rgb`` is the crop of the flattened page (H, W, 3) uint8; ``mask`` is the (H, W) bool
    ink mask of the ink that belongs to this word only (neighbours' ink is cleared), so an
    engine that traces the mask never draws a neighbour's ink twice. ``text`` is the
    recognised text ("" when none). ``pen_width`` is the page's median pen width in pixels
    (0 when unknown).
    """

    rgb: np.ndarray
    mask: np.ndarray
    text: str = ""
    pen_width: float = 0.0


@dataclass
class Derendered:
    """An engine's answer for one crop: strokes in crop pixel coordinates, in drawing
    order, with per-point width and relative times; ``text`` when the engine recognised it
    (None to keep the OCR text)."""

    strokes: list[Stroke] = field(default_factory=list)
    text: str | None = None


@runtime_checkable
class Engine(Protocol):
    """A derendering engine. ``uses_gpu`` tells the job pool to run one model job at a time."""

    name: str
    uses_gpu: bool

    def derender(self, crops: Sequence[Crop], progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> list[Derendered]:
        """One ``Derendered`` per crop, same order. Raises ``Cancelled`` between batches."""
        ...
