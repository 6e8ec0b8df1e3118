"""Stroke / page value types as float32 numpy arrays, and the geometry every part shares.

Strokes live in page pixel coordinates of the source image (x right, y down). Width is
per point in pixels; time is per point in ms, synthetic for derendered ink and strictly
increasing across a page in drawing order.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

DEFAULT_COLOR = "#1a1a1a"
DEFAULT_DPI = 300.0
# Synthetic pen speed for derendered ink, and the pause between strokes.
PEN_SPEED_PX_PER_MS = 0.5
PEN_UP_MS = 120.0


@dataclass(frozen=True, eq=False)
class Stroke:
    """One pen-down: points (N, 2), width (N,), time (N,) float32 arrays, and a colour."""

    points: np.ndarray
    width: np.ndarray
    time: np.ndarray
    color: str = DEFAULT_COLOR

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, np.float32).reshape(-1, 2)
        n = len(pts)
        w = np.asarray(self.width, np.float32).reshape(-1)
        if w.size == 1 and n != 1:
            w = np.full(n, float(w[0]), np.float32)
        t = np.asarray(self.time, np.float32).reshape(-1)
        if w.shape[0] != n or t.shape[0] != n:
            raise ValueError(f"stroke arrays differ in length: {n}, {w.shape[0]}, {t.shape[0]}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "width", w)
        object.__setattr__(self, "time", t)

    @classmethod
    def from_points(cls, points: np.ndarray, width: float | np.ndarray = 2.0,
                    color: str = DEFAULT_COLOR, t0: float = 0.0) -> Stroke:
        """A stroke whose times follow the synthetic pen speed from ``t0``."""
        pts = np.asarray(points, np.float32).reshape(-1, 2)
        w = np.broadcast_to(np.asarray(width, np.float32), (len(pts),)).copy()
        return cls(pts, w, t0 + arc_length(pts) / PEN_SPEED_PX_PER_MS, color)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def length(self) -> float:
        return float(arc_length(self.points)[-1]) if len(self.points) else 0.0

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) including half the pen width."""
        if len(self.points) == 0:
            return (0.0, 0.0, 0.0, 0.0)
        r = float(self.width.max()) / 2 if len(self.width) else 0.0
        mn, mx = self.points.min(0), self.points.max(0)
        return (float(mn[0]) - r, float(mn[1]) - r, float(mx[0]) + r, float(mx[1]) + r)

    def with_color(self, color: str) -> Stroke:
        return replace(self, color=color)

    def transformed(self, fn: Callable[[np.ndarray], np.ndarray], width_scale: float = 1.0) -> Stroke:
        """Map points through ``fn((N,2)) -> (N,2)``; widths scale by ``width_scale``."""
        return replace(self, points=np.asarray(fn(self.points), np.float32),
                       width=self.width * np.float32(width_scale))

    def translated(self, dx: float, dy: float) -> Stroke:
        return replace(self, points=self.points + np.float32([dx, dy]))

    def retimed(self, t0: float) -> Stroke:
        """Same stroke starting at time ``t0`` with its own relative timing kept."""
        if len(self.time) == 0:
            return self
        return replace(self, time=self.time - self.time[0] + np.float32(t0))


def arc_length(points: np.ndarray) -> np.ndarray:
    """Cumulative length along a polyline, starting at 0."""
    p = np.asarray(points, np.float32).reshape(-1, 2)
    if len(p) == 0:
        return np.zeros(1, np.float32)
    seg = np.sqrt((np.diff(p, axis=0) ** 2).sum(1))
    return np.concatenate([[0.0], np.cumsum(seg)]).astype(np.float32)


def resample(points: np.ndarray, step: float = 1.0) -> np.ndarray:
    """Points at even ``step`` spacing along the polyline (ends kept)."""
    p = np.asarray(points, np.float32).reshape(-1, 2)
    if len(p) < 2:
        return p.copy()
    s = arc_length(p)
    if s[-1] < 1e-6:
        return p[:1].copy()
    n = max(2, int(np.ceil(s[-1] / step)) + 1)
    t = np.linspace(0, s[-1], n, dtype=np.float32)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], 1).astype(np.float32)


def joined(paths: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Several polylines (none empty) end to end, to resample them all in one ``np.interp``:
    their points (float64), the arc length at each point with a unit hop between polylines that
    no sample lands on, and each polyline's first and last point index."""
    pts = np.vstack([np.asarray(p, np.float64).reshape(-1, 2) for p in paths])
    own = np.repeat(np.arange(len(paths)), [len(p) for p in paths])
    seg = np.hypot(*np.diff(pts, axis=0).T)
    seg[own[1:] != own[:-1]] = 1.0
    first = np.searchsorted(own, np.arange(len(paths)))
    last = np.searchsorted(own, np.arange(len(paths)), side="right") - 1
    return pts, np.r_[0.0, np.cumsum(seg)], first, last


def rdp_keep(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Indices kept by Ramer-Douglas-Peucker simplification (iterative, ends kept)."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    n = len(p)
    if n < 3:
        return np.arange(n)
    keep = np.zeros(n, bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = p[b] - p[a]
        norm = np.hypot(*seg)
        mid = p[a + 1:b] - p[a]
        if norm < 1e-9:
            d = np.hypot(mid[:, 0], mid[:, 1])
        else:
            d = np.abs(seg[0] * mid[:, 1] - seg[1] * mid[:, 0]) / norm
        i = int(np.argmax(d))
        if d[i] > epsilon:
            k = a + 1 + i
            keep[k] = True
            stack.append((a, k))
            stack.append((k, b))
    return np.nonzero(keep)[0]


def apply_homography(points: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 3x3 homography."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    if len(p) == 0:
        return p.astype(np.float32)
    q = np.c_[p, np.ones(len(p))] @ np.asarray(H, np.float64).T
    return (q[:, :2] / q[:, 2:3]).astype(np.float32)


@dataclass
class Word:
    """A word (or a stray mark) on the page: box (x, y, w, h) in page pixels, its text,
    OCR confidence (0-100, -1 when none), line index, and the indices of its strokes."""

    box: tuple[float, float, float, float]
    text: str = ""
    confidence: float = -1.0
    line: int = 0
    stroke_ids: list[int] = field(default_factory=list)
    source: str = "ocr"  # "ocr" (Tesseract) or "ink" (found from the ink mask only)


@dataclass
class PageResult:
    """One converted page: what every exporter and the library take in."""

    size: tuple[int, int]  # (width, height) of the original input image, pixels
    strokes: list[Stroke] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    dpi: float | None = None
    source: Path | None = None
    page_index: int = 0  # 0-based page within a multi-page input
    page_count: int = 1
    engine: str = ""
    # Homography mapping flattened-page coordinates to the original image, when the page
    # was warped flat; strokes are already in original image coordinates.
    transform: np.ndarray | None = None
    image: np.ndarray | None = None  # original RGB uint8 image (H, W, 3), for "scan underneath"

    @property
    def effective_dpi(self) -> float:
        return float(self.dpi) if self.dpi and self.dpi > 1 else DEFAULT_DPI

    def output_stem(self) -> str:
        """``<stem>`` or ``<stem>-p<N>`` for multi-page inputs (1-based N)."""
        stem = self.source.stem if self.source else "page"
        return f"{stem}-p{self.page_index + 1}" if self.page_count > 1 else stem


def retime_in_order(strokes: Sequence[Stroke], t0: float = 0.0) -> list[Stroke]:
    """Give strokes synthetic times that strictly increase in list order."""
    out, t = [], float(t0)
    for s in strokes:
        if len(s) == 0:
            continue
        rel = s.time - s.time[0]
        if len(rel) > 1 and not np.all(np.diff(rel) > 0):
            rel = arc_length(s.points) / PEN_SPEED_PX_PER_MS
            rel = rel + np.arange(len(rel), dtype=np.float32) * 1e-3  # strictly increasing
        out.append(replace(s, time=(rel + np.float32(t)).astype(np.float32)))
        t = float(out[-1].time[-1]) + PEN_UP_MS
    return out
