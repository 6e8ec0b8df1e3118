"""InkSight-style visualisation of drawing order: strokes coloured by order (a rainbow across
strokes, darker to lighter within a stroke) over the dimmed photo, as a PNG and as an animation
(GIF or APNG) that writes the strokes one after another."""
from __future__ import annotations

import colorsys
import io
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .fileio import write_bytes_atomic
from .ink import Stroke


def dimmed(rgb: np.ndarray | None, size: tuple[int, int], strength: float = 0.55) -> np.ndarray:
    """The photo washed towards white (so coloured ink stands out), or white paper."""
    w, h = size
    if rgb is None:
        return np.full((h, w, 3), 255, np.uint8)
    base = rgb[..., :3].astype(np.float32)
    return (base * (1 - strength) + 255 * strength).astype(np.uint8)


def stroke_colors(n: int, k: int, i: int) -> np.ndarray:
    """Colours of the ``k`` segments of stroke ``i`` of ``n``: hue by stroke, dark to light along it."""
    hue = 0.83 * i / max(n - 1, 1)  # red ... violet
    out = np.empty((max(k, 1), 3), np.uint8)
    for j in range(max(k, 1)):
        v = 0.55 + 0.45 * (j / max(k - 1, 1))
        r, g, b = colorsys.hsv_to_rgb(hue, 0.95, v)
        out[j] = (int(r * 255), int(g * 255), int(b * 255))
    return out


def draw(canvas: np.ndarray, strokes: Sequence[Stroke], upto: int | None = None,
         scale: float = 1.0, thickness: float | None = None) -> np.ndarray:
    """Draw the first ``upto`` strokes onto ``canvas`` (RGB uint8), coloured by order."""
    img = canvas.copy()
    n = len(strokes)
    for i, s in enumerate(strokes[: n if upto is None else upto]):
        p = s.points * scale
        th = thickness or max(1.0, float(np.median(s.width)) * scale * 0.8)
        t = max(1, int(round(th)))
        if len(p) == 1:
            c = tuple(int(v) for v in stroke_colors(n, 1, i)[0])
            cv2.circle(img, tuple(np.round(p[0]).astype(int)), max(1, t // 2), c, -1, cv2.LINE_AA)
            continue
        cols = stroke_colors(n, len(p) - 1, i)
        q = np.round(p * 16).astype(np.int32)
        for j in range(len(p) - 1):
            cv2.line(img, tuple(q[j]), tuple(q[j + 1]), tuple(int(v) for v in cols[j]), t, cv2.LINE_AA,
                     shift=4)
    return img


def _background(image: np.ndarray | None, size: tuple[int, int], max_side: int) -> tuple[np.ndarray, float]:
    """The dimmed photo scaled to fit ``max_side``, and that scale."""
    s = min(1.0, max_side / max(size))
    bg = dimmed(image, size)
    if s < 1.0:
        dsize = (max(1, int(size[0] * s)), max(1, int(size[1] * s)))
        bg = cv2.resize(bg, dsize, interpolation=cv2.INTER_AREA)
    return bg, s


def render_png(strokes: Sequence[Stroke], size: tuple[int, int], image: np.ndarray | None,
               path: str | Path, max_side: int = 2000) -> Path:
    bg, s = _background(image, size, max_side)
    out = draw(bg, strokes, scale=s)
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, format="PNG")
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)


def render_animation(strokes: Sequence[Stroke], size: tuple[int, int], image: np.ndarray | None,
                     path: str | Path, frames: int = 60, duration_ms: int = 4000,
                     max_side: int = 900) -> Path:
    """An animated GIF (or APNG when the name ends in .png/.apng) writing the strokes in order."""
    bg, s = _background(image, size, max_side)
    n = len(strokes)
    steps = sorted({int(round(k * n / max(frames - 1, 1))) for k in range(frames)}) or [0]
    imgs = [Image.fromarray(draw(bg, strokes, upto=k, scale=s)) for k in steps]
    imgs += [imgs[-1]] * 8  # hold the finished page
    per = max(20, duration_ms // max(len(steps), 1))
    fmt = "PNG" if Path(path).suffix.lower() in (".png", ".apng") else "GIF"
    buf = io.BytesIO()
    imgs[0].save(buf, format=fmt, save_all=True, append_images=imgs[1:], duration=per, loop=0,
                 **({"optimize": False} if fmt == "GIF" else {}))
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)
