"""PNG: the ink rasterised at the input image size (anti-aliased, per-segment widths),
transparent by default, over white or over the original scan on request.

Also the small drawing helpers the vector writers share (width runs, PNG encoding)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import cv2
import numpy as np
from PIL import Image

from ..ink import PageResult, Stroke

_SHIFT = 2  # OpenCV sub-pixel bits for coordinates
_SUPER = 4  # supersampling factor for anti-aliasing
_TILE = 512  # output pixels per tile side while supersampling


def hex_rgb(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> (r, g, b); anything unreadable becomes near-black ink."""
    c = (color or "").lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except (ValueError, IndexError):
        return 26, 26, 26


def norm_color(color: str) -> str:
    """A colour as lowercase ``#rrggbb`` (what every format writes)."""
    r, g, b = hex_rgb(color)
    return f"#{r:02x}{g:02x}{b:02x}"


def width_runs(stroke: Stroke, quantum: float) -> list[tuple[np.ndarray, float]]:
    """Split a stroke into polylines whose segments share one width (rounded to ``quantum``).

    Vector formats draw a line with one width, so a varying pen becomes consecutive runs
    that share their end points; round caps hide the joins. A one-point stroke gives one
    one-point run (a dot)."""
    pts, w = stroke.points, stroke.width
    if len(pts) == 0:
        return []
    if len(pts) == 1:
        return [(pts, float(w[0]))]
    seg = (w[:-1] + w[1:]) / 2
    q = np.maximum(np.round(seg / quantum), 1) * quantum
    cut = np.flatnonzero(np.diff(q) != 0) + 1
    starts = np.r_[0, cut]
    ends = np.r_[cut, len(seg)]
    return [(pts[a:b + 1], float(q[a])) for a, b in zip(starts, ends, strict=True)]


def encode_png(pixels: np.ndarray) -> bytes:
    """RGB or RGBA uint8 array -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def page_image(page: PageResult) -> np.ndarray | None:
    """The original scan as RGB uint8 at the page size, or None when there is none."""
    img = page.image
    if img is None:
        return None
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = img[:, :, :3].astype(np.uint8, copy=False)
    w, h = page.size
    if img.shape[1] != w or img.shape[0] != h:
        img = cv2.resize(img, (int(w), int(h)), interpolation=cv2.INTER_AREA)
    return img


def _ink_mask(strokes: list[Stroke], shape: tuple[int, int], origin: tuple[int, int]) -> np.ndarray:
    """Anti-aliased coverage (uint8) of ``strokes`` in a window at ``origin``.

    OpenCV's own anti-aliasing draws lines about 1.4 px too wide and only in odd widths,
    so ink is drawn hard-edged at ``_SUPER`` times the size, tile by tile to bound memory,
    and area-averaged down: the widths come out true to a quarter pixel."""
    h, w = shape
    ox, oy = origin
    mask = np.zeros(shape, np.uint8)
    boxes = np.array([s.bbox() for s in strokes], np.float64).reshape(-1, 4)
    runs = [width_runs(s, 1.0 / _SUPER) for s in strokes]
    scale = float(_SUPER * (1 << _SHIFT))
    for ty in range(0, h, _TILE):
        for tx in range(0, w, _TILE):
            th, tw = min(_TILE, h - ty), min(_TILE, w - tx)
            x0, y0 = ox + tx, oy + ty
            hit = np.flatnonzero((boxes[:, 2] >= x0 - 1) & (boxes[:, 0] <= x0 + tw + 1)
                                 & (boxes[:, 3] >= y0 - 1) & (boxes[:, 1] <= y0 + th + 1))
            if not len(hit):
                continue
            big = np.zeros((th * _SUPER, tw * _SUPER), np.uint8)
            for i in hit:
                for pts, width in runs[i]:
                    p = np.round((pts - np.float32([x0, y0])) * scale).astype(np.int32)
                    thick = max(1, 2 * int(round((width * _SUPER - 1) / 2)))  # OpenCV draws it 1 px wider
                    if len(p) == 1:
                        cv2.circle(big, (int(p[0, 0]), int(p[0, 1])), max(1, thick * (1 << _SHIFT) // 2),
                                   255, -1, cv2.LINE_8, _SHIFT)
                    else:
                        cv2.polylines(big, [p.reshape(-1, 1, 2)], False, 255, thick, cv2.LINE_8, _SHIFT)
            mask[ty:ty + th, tx:tx + tw] = cv2.resize(big, (tw, th), interpolation=cv2.INTER_AREA)
    return mask


def render_rgba(page: PageResult, *, background: bool = False, transparent: bool = True) -> np.ndarray:
    """The page as an RGBA uint8 array (H, W, 4)."""
    w, h = int(page.size[0]), int(page.size[1])
    rgb = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    scan = page_image(page) if background else None
    if scan is not None:
        rgb[:] = scan
        alpha[:] = 1.0
    elif not transparent:
        rgb[:] = 255.0
        alpha[:] = 1.0
    by_color: dict[str, list[Stroke]] = {}
    for s in page.strokes:
        if len(s):
            by_color.setdefault(norm_color(s.color), []).append(s)
    for color, strokes in by_color.items():
        x0, y0, x1, y1 = _bbox(strokes, w, h)
        if x1 <= x0 or y1 <= y0:
            continue
        a = _ink_mask(strokes, (y1 - y0, x1 - x0), (x0, y0)).astype(np.float32) / 255.0
        c = np.float32(hex_rgb(color))
        a0 = alpha[y0:y1, x0:x1]
        out_a = a + a0 * (1 - a)
        num = c[None, None, :] * a[..., None] + rgb[y0:y1, x0:x1] * (a0 * (1 - a))[..., None]
        safe = np.where(out_a > 0, out_a, 1.0)
        rgb[y0:y1, x0:x1] = num / safe[..., None]
        alpha[y0:y1, x0:x1] = out_a
    out = np.empty((h, w, 4), np.uint8)
    out[..., :3] = np.clip(np.round(rgb), 0, 255)
    out[..., 3] = np.clip(np.round(alpha * 255), 0, 255)
    return out


def _bbox(strokes: list[Stroke], w: int, h: int) -> tuple[int, int, int, int]:
    boxes = np.array([s.bbox() for s in strokes], np.float64)
    x0 = max(0, int(np.floor(boxes[:, 0].min())) - 2)
    y0 = max(0, int(np.floor(boxes[:, 1].min())) - 2)
    x1 = min(w, int(np.ceil(boxes[:, 2].max())) + 3)
    y1 = min(h, int(np.ceil(boxes[:, 3].max())) + 3)
    return x0, y0, x1, y1


def to_bytes(page: PageResult, *, background: bool = False, transparent: bool = True) -> bytes:
    rgba = render_rgba(page, background=background, transparent=transparent)
    if (background and page.image is not None) or not transparent:
        return encode_png(rgba[..., :3])
    return encode_png(rgba)


def write(page: PageResult, target: str | Path | IO[bytes], *, background: bool = False,
          transparent: bool = True) -> None:
    """Write the page as PNG to a path (atomically) or an open binary file."""
    from . import emit

    emit(to_bytes(page, background=background, transparent=transparent), target)
