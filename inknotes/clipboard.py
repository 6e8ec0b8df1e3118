"""Strokes as clipboard data: copy on one page, paste on another page, library or window.

The clipboard is shared with every other program, so what comes back may be anything: a
payload is checked in full (sizes, finite numbers, colours) before a single stroke is made,
and a bad one is one sentence. Qt-free; the window puts these bytes on the clipboard.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np

from .errors import InknotesError
from .ink import Stroke

MIME = "application/x-inknotes-strokes"
MAX_BYTES = 64 * 1024 * 1024
MAX_POINTS = 2_000_000  # many full pages of ink
PASTE_OFFSET = 16.0  # px: a paste beside strokes still on the page lands beside them
_COLOR = re.compile(r"#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?")


def encode(strokes: Sequence[Stroke], origin: str | None = None) -> bytes:
    """The strokes (points, widths, times, colours) as JSON bytes, with where they came from
    (``origin``: a name the window can recognise, e.g. its library and page)."""
    return json.dumps({"format": "inknotes-strokes", "version": 1, "origin": origin,
                       "strokes": [{"points": s.points.round(3).tolist(), "width": s.width.round(3).tolist(),
                                    "time": s.time.round(3).tolist(), "color": s.color}
                                   for s in strokes if len(s)]}).encode()


def decode(data: bytes) -> tuple[list[Stroke], str | None]:
    """(strokes, origin) of clipboard bytes, or an InknotesError saying what is wrong."""
    bad = InknotesError("The clipboard does not hold inknotes strokes that can be pasted.")
    if len(data) > MAX_BYTES:
        raise InknotesError("The strokes on the clipboard are too many to paste.")
    try:
        doc = json.loads(bytes(data).decode("utf-8"))
        items = doc["strokes"] if doc.get("format") == "inknotes-strokes" else None
        origin = doc.get("origin")
    except (ValueError, UnicodeDecodeError, TypeError, AttributeError, KeyError) as e:
        raise bad from e
    if not isinstance(items, list) or not (origin is None or isinstance(origin, str)):
        raise bad
    out: list[Stroke] = []
    total = 0
    for it in items:
        try:
            pts = np.asarray(it["points"], np.float64).reshape(-1, 2)
            width = np.asarray(it["width"], np.float64).reshape(-1)
            time = np.asarray(it["time"], np.float64).reshape(-1)
            color = it["color"]
        except (ValueError, TypeError, KeyError) as e:
            raise bad from e
        total += len(pts)
        if total > MAX_POINTS:
            raise InknotesError("The strokes on the clipboard are too many to paste.")
        ok = (len(pts) > 0 and len(width) == len(pts) == len(time) and isinstance(color, str)
              and _COLOR.fullmatch(color) is not None
              and all(np.isfinite(a).all() for a in (pts, width, time))
              and (width > 0).all() and (width < 1000).all() and (np.abs(pts) < 1e6).all())
        if not ok:
            raise bad
        out.append(Stroke(pts.astype(np.float32), width.astype(np.float32), time.astype(np.float32), color))
    if not out:
        raise bad
    return out, origin


def placed(strokes: Sequence[Stroke], page_size: tuple[int, int], offset: float = 0.0) -> list[Stroke]:
    """The strokes moved by ``offset`` px right and down, then shifted as a whole (never scaled)
    so that they lie on a page of ``page_size`` (w, h) as far as they fit."""
    boxes = np.array([s.bbox() for s in strokes], np.float64)
    x0, y0 = boxes[:, 0].min() + offset, boxes[:, 1].min() + offset
    x1, y1 = boxes[:, 2].max() + offset, boxes[:, 3].max() + offset
    w, h = page_size

    def shift(lo: float, hi: float, size: float) -> float:
        d = min(0.0, size - hi)  # back inside on the far side
        return -lo if lo + d < 0 else d  # wider than the page: its start edge wins

    dx, dy = offset + shift(x0, x1, w), offset + shift(y0, y1, h)
    return [s.translated(dx, dy) for s in strokes]
