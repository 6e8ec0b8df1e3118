"""numpy strokes -> Qt: QPainterPath in one call (QDataStream deserialisation, as pyqtgraph
does) for the few strokes drawn as vectors, and OpenCV rasters for whole layers, because Qt's
stroker needs seconds for 20,000 wide antialiased strokes and OpenCV a fraction of that."""
from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterable, Sequence

import cv2
import numpy as np
from PySide6.QtCore import QByteArray, QDataStream, Qt
from PySide6.QtGui import QColor, QImage, QPainterPath, QPen, QPixmap

from ..ink import Stroke

_REC = np.dtype([("c", ">i4"), ("x", ">f8"), ("y", ">f8")])


def polylines_path(polylines: Sequence[np.ndarray]) -> QPainterPath:
    """One path holding every polyline as its own subpath (a single point becomes a dot)."""
    parts = []
    for p in polylines:
        p = np.asarray(p, np.float64).reshape(-1, 2)
        if len(p) == 1:
            p = np.repeat(p, 2, axis=0)
        if len(p):
            parts.append(p)
    path = QPainterPath()
    if not parts:
        return path
    xy = np.concatenate(parts)
    rec = np.empty(len(xy), _REC)
    rec["x"], rec["y"] = xy[:, 0], xy[:, 1]
    rec["c"] = 1
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
    rec["c"][starts] = 0
    data = struct.pack(">i", len(xy)) + rec.tobytes() + struct.pack(">ii", int(starts[-1]), 0)
    QDataStream(QByteArray(data)) >> path
    return path


def stroke_width(s: Stroke) -> float:
    """One pen width per stroke (the median), rounded to half pixels so strokes batch well."""
    w = float(np.median(s.width)) if len(s.width) else 1.0
    return max(0.5, round(w * 2) / 2)


def make_pen(color: str | QColor, width: float) -> QPen:
    pen = QPen(QColor(color), width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
    pen.setCosmetic(False)
    return pen


def batch(strokes: Iterable[Stroke]) -> list[tuple[QPen, QPainterPath]]:
    """Strokes grouped by (colour, width): one pen and one path per group."""
    groups: dict[tuple[str, float], list[np.ndarray]] = defaultdict(list)
    for s in strokes:
        if len(s):
            groups[(s.color, stroke_width(s))].append(s.points)
    return [(make_pen(c, w), polylines_path(pl)) for (c, w), pl in groups.items()]


def _rgb(color: str) -> tuple[int, int, int]:
    c = QColor(color)
    return (c.red(), c.green(), c.blue())


def render_strokes(strokes: Sequence[Stroke], scale: float, size: tuple[int, int],
                   origin: tuple[float, float] = (0.0, 0.0), out: np.ndarray | None = None) -> np.ndarray:
    """Strokes rasterised with OpenCV into a premultiplied RGBA image of ``size`` (w, h).

    Page point p lands on pixel (p - origin) * scale. Antialiased, round-ended lines with
    the stroke's median width; one OpenCV call per (colour, width) group, in C++."""
    w, h = size
    img = np.zeros((max(1, h), max(1, w), 4), np.uint8) if out is None else out  # drawn over ``out``
    strokes = [s if len(s) > 1 else Stroke(np.repeat(s.points, 2, 0), np.repeat(s.width, 2),
                                           s.time[[0, 0]] + np.float32([0, 1e-3]), s.color)
               for s in strokes if len(s)]
    if not strokes:
        return img
    lengths = np.array([len(s) for s in strokes])
    pts = np.concatenate([s.points for s in strokes])
    q = np.round((pts - np.float32(origin)) * (scale * 16)).astype(np.int32)
    polys = np.split(q, np.cumsum(lengths)[:-1])
    thick = np.maximum(1, np.round(np.maximum(0.5, np.round(median_widths(strokes) * 2) / 2) * scale))
    groups: dict[tuple[str, int], list[np.ndarray]] = defaultdict(list)
    for s, poly, t in zip(strokes, polys, thick.astype(int).tolist(), strict=True):
        groups[(s.color, t)].append(poly)
    for (color, t), group in groups.items():
        cv2.polylines(img, group, False, (*_rgb(color), 255), t, cv2.LINE_AA, 4)
    return img


def median_widths(strokes: Sequence[Stroke]) -> np.ndarray:
    """Each stroke's median pen width, for all strokes at once (one sort, no Python loop)."""
    lengths = np.array([len(s) for s in strokes])
    if not len(lengths):
        return np.zeros(0, np.float32)
    wid = np.concatenate([s.width for s in strokes])
    idx = np.repeat(np.arange(len(lengths)), lengths)
    srt = wid[np.lexsort((wid, idx))]
    starts = np.cumsum(lengths) - lengths
    return ((srt[starts + (lengths - 1) // 2] + srt[starts + lengths // 2]) / 2).astype(np.float32)


def rgba_to_pixmap(img: np.ndarray) -> QPixmap:
    img = np.ascontiguousarray(img)
    h, w = img.shape[:2]
    q = QImage(img.data, w, h, 4 * w, QImage.Format_RGBA8888_Premultiplied)
    return QPixmap.fromImage(q.copy())


def stroke_boxes(strokes: Sequence[Stroke]) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 per stroke including half the pen width (like Stroke.bbox), in a
    few numpy calls instead of a Python call per stroke. Strokes must not be empty."""
    if not strokes:
        return np.zeros((0, 4), np.float32)
    pts = np.concatenate([s.points for s in strokes])
    wid = np.concatenate([s.width for s in strokes])
    starts = np.cumsum([0] + [len(s) for s in strokes[:-1]])
    r = np.maximum.reduceat(wid, starts) / 2
    mn = np.minimum.reduceat(pts, starts, axis=0)
    mx = np.maximum.reduceat(pts, starts, axis=0)
    return np.c_[mn - r[:, None], mx + r[:, None]].astype(np.float32)
