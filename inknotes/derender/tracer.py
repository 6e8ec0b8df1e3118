"""The built-in derendering engine: trace the ink mask into pen strokes, no model needed.

mask -> skeleton -> stroke graph (spurs pruned, split junctions merged; each dead end drawn
out and back or left as a pen lift, by the learned call of ``retrace``) -> pen paths that
continue smoothly through junctions -> smoothed, simplified strokes with per-point width
(from the distance transform) -> writing direction and order.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ..errors import Cancelled, EngineError
from ..ink import Stroke, rdp_keep, retime_in_order
from .base import CancelFn, Crop, Derendered, ProgressFn
from .direction import DirectionModel, load_direction
from .ordering import order_strokes, orient_all, pair_ends, splice_loops, text_lines, upright, walk_trails
from .prior import WritingPrior, load_prior
from .retrace import load_retrace
from .skeleton_graph import (
    DeadEnd,
    Graph,
    add_retraces,
    build_graph,
    clean_mask,
    dead_ends,
    merge_junctions,
    pair_odd_junctions,
    prune_spurs,
    skeleton_of,
    tip_point,
)

log = logging.getLogger(__name__)
TIP_FRAC = 0.5  # of the local pen radius added to open stroke ends
DEAD_END_FRAC = 0.45  # of the ink height: shorter dead ends are drawn out and back (longer: a pen lift)
RETRACE_FRAC = 0.15  # of the ink height: longest edge between odd junctions drawn twice
REACH = 1.5  # pen widths along a branch that set its direction at a junction
SPREAD = 0.6  # of the pen radius: where the ink is wider, the two passes of a retrace part
SPLICE = 0.75  # pen widths: a closed trail this close to another is part of its pen stroke
SPLICE_INNER = 4.0  # pen widths: ...where that stroke runs on this far both sides (not a 'd' stem's end)
SPUR = 1.0  # pen widths: shorter dead ends off a junction are thinning artefacts


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
            try:
                strokes = trace_mask(crop.mask, crop.pen_width)
            except Exception as e:  # a bug, not bad input: keep the traceback in the log
                log.exception("tracer failed on crop %d of %d (mask %s)", i + 1, total,
                              getattr(crop.mask, "shape", None))
                raise EngineError("The built-in tracer failed on a word of this page; "
                                  "try again, or choose another engine.") from e
            out.append(Derendered(strokes=strokes))
            if progress is not None:
                progress(i + 1, total)
        return out


def trace_mask(mask: np.ndarray, pen_width: float = 0.0, use_prior: bool = True,
               use_retrace: bool = True) -> list[Stroke]:
    """Strokes (crop pixel coordinates, drawing order, relative times) for one ink mask.
    ``use_prior=False`` keeps the direction and order rules even when the learned prior ships,
    ``use_retrace=False`` the dead-end rule (retrace or lift) when the retrace model does."""
    box = _ink_box(mask)
    if box is None:
        return []
    mask, off = box
    strokes = _trace(mask, pen_width, use_prior, use_retrace)
    return [s.translated(float(off[0]), float(off[1])) for s in strokes]


def _ink_box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The mask cut to its ink's box with a paper border (so ink touching the crop edge still
    has an edge for the distance transform and the thinning), and the offset (x, y) back to
    crop coordinates; None for an empty or malformed mask."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 2 or not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    padded = np.pad(mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 2)
    return padded, np.float32([cols[0] - 2, rows[0] - 2])


def trace_paths(mask: np.ndarray, pen_width: float = 0.0) -> tuple[list[np.ndarray], float]:
    """The rule-oriented pen paths (crop coordinates, not yet ordered) and the pen width: what
    the learned prior sees, for training it."""
    box = _ink_box(mask)
    if box is None:
        return [], 0.0
    mask, off = box
    paths, _, pw = _paths(mask, pen_width)
    return [p + off for p in orient_all(paths)], pw


def _trace(mask: np.ndarray, pen_width: float, use_prior: bool = True,
           use_retrace: bool = True) -> list[Stroke]:
    paths, dt, pw = _paths(mask, pen_width, use_retrace)
    if not paths:
        return []
    paths = orient_all(paths)
    if use_prior:
        paths, order = write_order(paths, pw, load_prior(), load_direction())
    else:
        paths, order = write_order(paths, pw, None, None)
    strokes = []
    for i in order:
        p = paths[i]
        wd = _widths(dt, p, pw)
        keep = _simplify(p, 0.15)
        strokes.append(Stroke.from_points(p[keep], wd[keep]))
    return retime_in_order(strokes)


def write_order(paths: list[np.ndarray], pw: float, prior: WritingPrior | None,
                direction: DirectionModel | None) -> tuple[list[np.ndarray], list[int]]:
    """Rule-oriented paths as the writer ran them and the order they were drawn in: the learned
    direction check overrules the rules where it is sure, then the learned order inside each
    text line (the position rules without the prior). The models see the word stood upright
    (``ordering.upright``). The training scripts score with this too."""
    up = upright(paths)
    if direction is not None:
        paths, up = _turned_as(paths, up, direction.orient(up, pw))
    if prior is None:
        return paths, order_strokes(up)
    paths, up = _turned_as(paths, up, prior.orient(up, pw))
    return paths, [m[k] for m in text_lines(up) for k in prior.order([up[i] for i in m], pw)]


def _turned_as(paths: list[np.ndarray], up: list[np.ndarray],
               turned: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Reverse the paths whose upright copy a model reversed (it hands back the ones it keeps)."""
    flip = [t is not u for u, t in zip(up, turned, strict=True)]
    return [p[::-1].copy() if f else p for p, f in zip(paths, flip, strict=True)], turned


def _paths(mask: np.ndarray, pen_width: float,
           use_retrace: bool = True) -> tuple[list[np.ndarray], np.ndarray, float]:
    """Smoothed, tip-extended pen paths of a padded mask (unoriented), its distance transform
    and the pen width. ``use_retrace``: the shipped retrace model decides the dead ends."""
    g, mask, dt, pw = _graph(mask, pen_width)
    if g is None:
        return [], dt, pw
    height = _height(mask)
    model = load_retrace() if use_retrace else None
    decide = None if model is None else (lambda ends: model.decide(ends, height, 0.5 * pw))
    add_retraces(g, max_len=DEAD_END_FRAC * height, dist=dt, tip_frac=TIP_FRAC,
                 pen_radius=0.5 * pw, spread=SPREAD, decide=decide)
    pair_odd_junctions(g, max_len=RETRACE_FRAC * height, dist=dt, pen_radius=0.5 * pw, spread=SPREAD)
    partner = pair_ends(g, reach=max(3.0, REACH * pw))
    trails = walk_trails(g, partner)
    if SPLICE:
        trails = splice_loops(trails, touch=max(2.0, SPLICE * pw), inner=SPLICE_INNER * pw)
    return [_extend_tips(_extend_cusps(_smooth(p), mask, pw), dt) for p in trails], dt, pw


def _height(mask: np.ndarray) -> float:
    ys = np.flatnonzero(mask.any(1))
    return float(ys[-1] - ys[0] + 1)


def _graph(mask: np.ndarray, pen_width: float) -> tuple[Graph | None, np.ndarray, np.ndarray, float]:
    """The stroke graph of a padded mask before any retrace (None when cleaning leaves no
    ink), the cleaned mask, its distance transform and the pen width."""
    if pen_width and pen_width > 0:
        pw = float(pen_width)
    else:
        pw = _pen_width(mask, _dist(mask))
    mask = clean_mask(mask, pw)
    if not mask.any():
        return None, mask, mask.astype(np.float32), pw
    dt = _dist(mask)
    g = build_graph(skeleton_of(mask))
    prune_spurs(g, spur_len=max(2.0, SPUR * pw))
    merge_junctions(g, merge_len=max(2.0, 0.9 * pw))
    return g, mask, dt, pw


def dead_end_candidates(mask: np.ndarray, pen_width: float = 0.0
                        ) -> tuple[list[DeadEnd], float, float, np.ndarray]:
    """The open dead ends of a crop's mask (``skeleton_graph.dead_ends``), its ink height, the
    pen width and the offset (x, y) that takes their points to crop coordinates: what the
    retrace model sees, for training it."""
    box = _ink_box(mask)
    if box is None:
        return [], 0.0, 0.0, np.zeros(2, np.float32)
    mask, off = box
    g, mask, dt, pw = _graph(mask, pen_width)
    if g is None:
        return [], 0.0, pw, off
    height = _height(mask)
    return dead_ends(g, DEAD_END_FRAC * height, dt, 0.5 * pw), height, pw, off


def _dist(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each ink pixel to the nearest paper pixel."""
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _simplify(p: np.ndarray, eps: float) -> np.ndarray:
    """Indices kept by Ramer-Douglas-Peucker: OpenCV's approxPolyDP (fast), mapped back to
    indices so widths stay aligned; the pure-numpy rdp_keep when a point cannot be matched."""
    n = len(p)
    if n <= 2:
        return np.arange(n)
    p32 = np.ascontiguousarray(p, np.float32)
    kept = np.ascontiguousarray(cv2.approxPolyDP(p32.reshape(-1, 1, 2), eps, False).reshape(-1, 2))
    idx = _first_matches(p32.view(np.uint64).ravel(), kept.view(np.uint64).ravel())
    if idx is None:
        return rdp_keep(p, eps)
    if idx[0] != 0 or idx[-1] != n - 1:
        idx = sorted({0, *idx, n - 1})
    return np.asarray(idx)


def _first_matches(keys: np.ndarray, wanted: np.ndarray) -> list[int] | None:
    """For each wanted key in turn, the first index at or after the previous match holding it
    (a path can pass through the same point twice); None when one has none. Binary search on
    the keys sorted once: the kept points of a long path cost no more than a short one's."""
    order = np.argsort(keys, kind="stable")  # equal keys keep their index order
    sk = keys[order]
    lo = np.searchsorted(sk, wanted, "left").tolist()
    hi = np.searchsorted(sk, wanted, "right").tolist()
    idx: list[int] = []
    at = 0
    for a, b in zip(lo, hi, strict=True):
        hits = order[a:b]
        k = int(np.searchsorted(hits, at))
        if k >= len(hits):
            return None
        at = int(hits[k])
        idx.append(at)
    return idx


def _pen_width(mask: np.ndarray, dt: np.ndarray) -> float:
    """Median stroke width: twice the distance transform along the skeleton."""
    skel = skeleton_of(mask)
    v = dt[skel]
    return float(2 * np.median(v) - 1) if len(v) else 2.0


def _smooth(p: np.ndarray, k: int = 1) -> np.ndarray:
    """Binomial-smooth the pixel staircase ([1, 2, 1] / 4, ``k`` passes), ends kept in place.
    A 3-point moving average leaves a shallow (22.5 degree) staircase jagged; this kernel
    makes it a straight line."""
    p = p.astype(np.float32)
    if len(p) < 3:
        return p
    for _ in range(k):
        s = p.copy()
        s[1:-1] = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
        p = s
    return p


CUSP_COS = 0.5  # a turn of over 60 degrees may be a cusp; the ink beyond it decides
CUSP_MAX = 1.0  # pen widths: the most a cusp is moved out
CUSP_ARM = 2.0  # pen widths of path each side of a turn that measure it
CUSP_KEEP = 0.5  # pen widths: the pen centre stays this far from the paper


def _extend_cusps(p: np.ndarray, mask: np.ndarray, pw: float) -> np.ndarray:
    """Take sharp turns (the top of an 'i', the foot of a 'v', a retrace's turn) out to where
    the pen centre turned: thinning rounds a cusp off inside the ink, a pen radius or more
    short of the outer corner, so the traced path is short by that twice at every cusp. The
    rounded part is replaced by straight runs to the apex: along the bisector from the path's
    own turning point to the paper, less a pen radius."""
    k = max(2, int(round(CUSP_ARM * pw)))
    n = len(p)
    if n < 2 * k + 3:
        return p
    a = p[k:n - k] - p[:n - 2 * k]
    b = p[2 * k:] - p[k:n - k]
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    ok = (na > 1e-6) & (nb > 1e-6)
    cos = np.where(ok, (a * b).sum(1) / np.maximum(na * nb, 1e-9), 1.0)
    h, w = mask.shape
    m = max(1, k // 2)  # path points each side of a turn that thinning rounded off
    extra: dict[int, np.ndarray] = {}
    prev = np.r_[np.inf, cos[:-1]]
    nxt = np.r_[cos[1:], np.inf]
    cand = np.flatnonzero((cos <= CUSP_COS) & (cos <= prev) & (cos < nxt))
    taken: list[int] = []
    for j in cand[np.argsort(cos[cand], kind="stable")]:
        if any(abs(int(j) - t) < k for t in taken):
            continue  # one turn, one cusp: a rounded apex has several shallow minima
        taken.append(int(j))
        u = a[j] / na[j] - b[j] / nb[j]
        nu = float(np.hypot(*u))
        if nu < 1e-6:
            continue
        u /= nu
        lo, hi = max(0, j + k - m), min(n, j + k + m + 1)
        ci = lo + int(np.argmax(p[lo:hi] @ u))  # the path's own turning point
        c = p[ci]
        t = 0.0
        while t < (CUSP_MAX + 1.0) * pw:  # to the paper along the bisector
            q = c + (t + 0.5) * u
            xi, yi = int(round(float(q[0]))), int(round(float(q[1])))
            if not (0 <= xi < w and 0 <= yi < h) or not mask[yi, xi]:
                break
            t += 0.5
        out = min(t - CUSP_KEEP * pw, CUSP_MAX * pw)
        if out > 0.5:
            extra[ci] = (c + out * u).astype(np.float32)
    if not extra:
        return p
    # the rounded-off part around each turn gives way to straight runs out to the apex
    rows, i = [], 0
    for c in sorted(extra):
        lo = max(i, c - m, 1)  # the stroke's own ends stay
        rows += list(p[i:lo]) + [extra[c]]
        i = max(i, min(n - 1, c + m + 1))
    rows += list(p[i:])
    return np.asarray(rows, np.float32)


def _extend_tips(p: np.ndarray, dt: np.ndarray, frac: float = TIP_FRAC) -> np.ndarray:
    """Lengthen open stroke ends by part of the local pen radius: thinning eats into the
    round cap, so a skeleton stops short of where the pen stopped."""
    if len(p) < 3 or float(np.hypot(*(p[-1] - p[0]))) < 2.0:
        return p
    return np.vstack([tip_point(p[::-1], dt, frac)[None], p, tip_point(p, dt, frac)[None]])


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
