"""The built-in derendering engine: trace the ink mask into pen strokes, no model needed.

mask -> skeleton -> stroke graph (spurs pruned, split junctions merged) -> pen paths that
continue smoothly through junctions -> smoothed, simplified strokes with per-point width
(from the distance transform) -> writing direction and order.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ..errors import Cancelled
from ..ink import Stroke, rdp_keep, retime_in_order
from .base import CancelFn, Crop, Derendered, ProgressFn
from .ordering import order_strokes, orient, pair_ends, walk_trails
from .skeleton_graph import add_retraces, build_graph, clean_mask, merge_junctions, prune_spurs, skeleton_of

log = logging.getLogger(__name__)
TIP_FRAC = 0.5


class TracerEngine:
    """Skeleton-graph tracer. Options are accepted and ignored so every engine can be built
    from the same settings (``model=``, ``mode=`` belong to other engines)."""

    name = "tracer"
    uses_gpu = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    def derender(self, crops: Sequence[Crop], progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> list[Derendered]:
        out: list[Derendered] = []
        total = len(crops)
        for i, crop in enumerate(crops):
            if cancel is not None and cancel():
                raise Cancelled()
            out.append(Derendered(strokes=trace_mask(crop.mask, crop.pen_width)))
            if progress is not None:
                progress(i + 1, total)
        return out


def trace_mask(mask: np.ndarray, pen_width: float = 0.0) -> list[Stroke]:
    """Strokes (crop pixel coordinates, drawing order, relative times) for one ink mask."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 2 or not mask.any():
        return []
    dt = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    pw = float(pen_width) if pen_width and pen_width > 0 else _pen_width(mask, dt)
    mask = clean_mask(mask, pw)
    if not mask.any():
        return []
    dt = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    skel = skeleton_of(mask)
    g = build_graph(skel)
    prune_spurs(g, spur_len=max(2.0, 1.0 * pw))
    merge_junctions(g, merge_len=max(2.0, 0.9 * pw))
    ys = np.nonzero(mask.any(1))[0]
    add_retraces(g, max_len=0.5 * float(ys[-1] - ys[0] + 1))
    partner = pair_ends(g, reach=max(3.0, 1.5 * pw))
    paths = [orient(_extend_tips(_smooth(p), dt)) for p in walk_trails(g, partner)]
    order = order_strokes(paths)
    strokes = []
    for i in order:
        p = paths[i]
        wd = _widths(dt, p, pw)
        keep = rdp_keep(p, 0.35) if len(p) > 2 else np.arange(len(p))
        strokes.append(Stroke.from_points(p[keep], wd[keep]))
    return retime_in_order(strokes)


def _pen_width(mask: np.ndarray, dt: np.ndarray) -> float:
    """Median stroke width: twice the distance transform along the skeleton."""
    skel = skeleton_of(mask)
    v = dt[skel]
    return float(2 * np.median(v) - 1) if len(v) else 2.0


def _smooth(p: np.ndarray, k: int = 1) -> np.ndarray:
    """Moving-average the pixel staircase (window 2k+1), ends kept in place."""
    if len(p) < 2 * k + 2:
        return p.astype(np.float32)
    w = 2 * k + 1
    pad = np.vstack([np.repeat(p[:1], k, 0), p, np.repeat(p[-1:], k, 0)])
    c = np.cumsum(np.vstack([np.zeros((1, 2)), pad]), axis=0)
    s = (c[w:] - c[:-w]) / w
    s[0], s[-1] = p[0], p[-1]
    return s.astype(np.float32)


def _extend_tips(p: np.ndarray, dt: np.ndarray, frac: float = TIP_FRAC) -> np.ndarray:
    """Lengthen open stroke ends by part of the local pen radius: thinning eats into the
    round cap, so a skeleton stops short of where the pen stopped."""
    if len(p) < 3 or float(np.hypot(*(p[-1] - p[0]))) < 2.0:
        return p
    h, w = dt.shape
    out = [p]
    for end, inner in ((0, 1), (-1, -2)):
        a = p[end]
        k = 1
        while k < min(len(p) - 1, 4) and np.hypot(*(p[end] - p[inner * k if end == 0 else end - k])) < 3:
            k += 1
        b = p[k] if end == 0 else p[-1 - k]
        v = a - b
        n = float(np.hypot(*v))
        r = float(dt[int(np.clip(round(float(a[1])), 0, h - 1)), int(np.clip(round(float(a[0])), 0, w - 1))])
        if n < 1e-6 or r <= 0:
            continue
        tip = (a + v / n * frac * r).astype(np.float32)
        out = [tip[None], *out] if end == 0 else [*out, tip[None]]
    return np.vstack(out)


def _widths(dt: np.ndarray, p: np.ndarray, pw: float) -> np.ndarray:
    """Per-point pen width: twice the distance to the paper edge at the point. The distance
    transform measures to the centre of the nearest paper pixel, half a pixel beyond the
    edge, hence the -1."""
    h, w = dt.shape
    xi = np.clip(np.rint(p[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.rint(p[:, 1]).astype(int), 0, h - 1)
    wd = 2.0 * dt[yi, xi] - 1.0
    k = int(np.ceil(0.5 * max(pw, 1.0))) + 1
    if len(wd) > 2 * k + 1:  # stroke ends sit in the round cap, where the ink is thinner
        wd[:k], wd[-k:] = wd[k], wd[-k - 1]
    return np.where(wd > 0.5, wd, max(1.0, pw)).astype(np.float32)
