"""Stroke geometry for the store: compact blobs, hit tests and the split eraser, in numpy.

Hit tests are exact to the polyline (distance to segments, pen width included); the eraser
works on a copy of each stroke densified so that no segment is longer than a fraction of
the eraser radius, then keeps only the original points plus the new ends of each piece.
"""
from __future__ import annotations

import numpy as np

from ..ink import Stroke

Rect = tuple[float, float, float, float]


def encode(stroke: Stroke) -> tuple[bytes, int, Rect]:
    """(blob, point count, bbox incl. half width) of a stroke; blob is float32 (N, 4): x, y, w, t."""
    data = np.empty((len(stroke), 4), np.float32)
    data[:, :2] = stroke.points
    data[:, 2] = stroke.width
    data[:, 3] = stroke.time
    return data.tobytes(), len(stroke), stroke.bbox()


def decode(blob: bytes, color: str) -> Stroke:
    data = np.frombuffer(blob, np.float32).reshape(-1, 4)
    return Stroke(data[:, :2], data[:, 2], data[:, 3], color)


def seg_dist(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances (n, m) from points p (n, 2) to segments a[j]-b[j] (m, 2)."""
    p = np.asarray(p, np.float64).reshape(-1, 2)
    a = np.asarray(a, np.float64).reshape(-1, 2)
    b = np.asarray(b, np.float64).reshape(-1, 2)
    ab = b - a
    l2 = (ab ** 2).sum(1)
    l2 = np.where(l2 < 1e-12, 1.0, l2)
    ap = p[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab[None]).sum(2) / l2, 0.0, 1.0)
    d = ap - t[..., None] * ab[None]
    return np.sqrt((d ** 2).sum(2))


def segments(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A polyline's segments as (starts, ends); a single point is one zero-length segment."""
    p = np.asarray(points).reshape(-1, 2)
    if len(p) == 1:
        return p, p
    return p[:-1], p[1:]


def near_point(stroke: Stroke, x: float, y: float, radius: float) -> bool:
    """True when the drawn stroke (polyline with its width) comes within ``radius`` of (x, y)."""
    if len(stroke) == 0:
        return False
    a, b = segments(stroke.points)
    w = stroke.width
    half = (np.maximum(w[:-1], w[1:]) if len(w) > 1 else w) / 2.0
    return bool((seg_dist([[x, y]], a, b)[0] - half <= radius).any())


def densify(stroke: Stroke, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(points, width, time, is_original) with points inserted so no segment exceeds ``step``."""
    p, w, t = stroke.points, stroke.width, stroke.time
    n = len(p)
    if n < 2:
        return p.copy(), w.copy(), t.copy(), np.ones(n, bool)
    seglen = np.sqrt((np.diff(p, axis=0) ** 2).sum(1))
    parts = np.maximum(1, np.ceil(seglen / max(step, 1e-3)).astype(np.int64))
    # fractional positions along the original index axis: i + k/parts[i]
    idx = np.repeat(np.arange(n - 1), parts)
    start = np.repeat(np.cumsum(parts) - parts, parts)
    frac = (np.arange(parts.sum()) - start) / np.repeat(parts, parts)
    pos = np.concatenate([idx + frac, [n - 1]])
    base = np.arange(n, dtype=np.float64)
    out_p = np.stack([np.interp(pos, base, p[:, 0]), np.interp(pos, base, p[:, 1])], 1).astype(np.float32)
    out_w = np.interp(pos, base, w).astype(np.float32)
    out_t = np.interp(pos, base, t).astype(np.float32)
    return out_p, out_w, out_t, np.concatenate([frac == 0, [True]])


def erase_split(stroke: Stroke, path: np.ndarray, radius: float) -> list[Stroke] | None:
    """Pieces left after erasing along ``path`` (None: untouched; []: fully erased)."""
    path = np.asarray(path, np.float32).reshape(-1, 2)
    if len(stroke) == 0 or len(path) == 0:
        return None
    p, w, t, orig = densify(stroke, max(0.25, radius / 3.0))
    a, b = segments(path)
    hit = seg_dist(p, a, b).min(1) <= radius + w / 2.0
    if not hit.any():
        return None
    pieces = []
    keep = ~hit
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    for s, e in zip(edges[::2], edges[1::2], strict=True):
        if e - s < 2 and len(stroke) > 1:
            continue  # a lone point left between two erased parts is not worth keeping
        sel = np.arange(s, e)
        m = orig[sel].copy()
        m[0] = m[-1] = True
        sel = sel[m]
        pieces.append(Stroke(p[sel], w[sel], t[sel], stroke.color))
    return pieces


def touches(stroke: Stroke, path: np.ndarray, radius: float) -> bool:
    """True when the stroke comes within ``radius`` of the polyline ``path``."""
    return erase_split(stroke, path, radius) is not None


def in_rect(stroke: Stroke, rect: Rect, whole: bool = False) -> bool:
    """Partly inside ``rect`` (x0, y0, x1, y1), or entirely inside when ``whole``."""
    x0, x1 = sorted((rect[0], rect[2]))
    y0, y1 = sorted((rect[1], rect[3]))
    if len(stroke) == 0:
        return False
    if whole:
        bx0, by0, bx1, by1 = stroke.bbox()
        return bx0 >= x0 and by0 >= y0 and bx1 <= x1 and by1 <= y1
    step = max(0.5, min(x1 - x0, y1 - y0) / 2.0)
    p, w, _, _ = densify(stroke, step)
    h = w / 2.0
    inside = (p[:, 0] + h >= x0) & (p[:, 0] - h <= x1) & (p[:, 1] + h >= y0) & (p[:, 1] - h <= y1)
    return bool(inside.any())


def in_polygon(stroke: Stroke, polygon: np.ndarray) -> bool:
    """True when any part of the stroke lies inside the closed ``polygon`` (M, 2)."""
    from skimage.measure import points_in_poly

    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(stroke) == 0 or len(poly) < 3:
        return False
    p, _, _, _ = densify(stroke, 2.0)
    return bool(points_in_poly(p, poly).any())
