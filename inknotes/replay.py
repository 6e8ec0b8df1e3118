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
    rgb = [draw(bg, strokes, upto=k, scale=s) for k in steps]
    per = max(20, duration_ms // max(len(steps), 1))
    hold = 8 * per  # the finished page stays up a while before the loop restarts
    buf = io.BytesIO()
    if Path(path).suffix.lower() in (".png", ".apng"):
        imgs = [Image.fromarray(a) for a in rgb]
        imgs[0].save(buf, format="PNG", save_all=True, append_images=imgs[1:],
                     duration=[per] * (len(imgs) - 1) + [hold], loop=0)
    else:
        imgs = _gif_frames(rgb)
        imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], loop=0,
                     duration=[per] * (len(imgs) - 1) + [hold], transparency=_CLEAR, disposal=1,
                     optimize=False)
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)


_CLEAR = 255  # palette index of "unchanged since the last frame" in the GIF


def _gif_frames(rgb: list[np.ndarray]) -> list[Image.Image]:
    """Palette frames for a small GIF: one palette for all frames, part for the dimmed photo
    and part for the ink's rainbow (so neither is starved of colours), and every pixel a frame
    does not change left transparent, so each frame stores only its new ink. A photo page comes
    out tens of times smaller than full frames."""
    first, last = rgb[0], rgb[-1]
    ink = np.any(last != first, axis=-1)
    n_ink = _INK_COLOURS if ink.any() else 0
    parts = [_palette(first.reshape(-1, 3), _CLEAR - n_ink)]
    if n_ink:
        parts.append(_palette(last[ink], n_ink))
    pal = np.vstack(parts)[:_CLEAR]
    ref = Image.new("P", (1, 1))
    ref.putpalette(pal.ravel().tolist())  # only these colours: no pixel maps to _CLEAR
    full = np.vstack([pal, np.zeros((256 - len(pal), 3), np.uint8)]).ravel().tolist()
    out, prev = [], None
    for a in rgb:
        idx = np.asarray(Image.fromarray(a).quantize(palette=ref, dither=Image.Dither.NONE))
        frame = idx if prev is None else np.where(idx == prev, _CLEAR, idx).astype(np.uint8)
        prev = idx
        im = Image.fromarray(frame, "P")
        im.putpalette(full)
        out.append(im)
    return out


_INK_COLOURS = 160  # of the GIF's 255 colours, kept for the strokes (their anti-aliased edges need many)


def _palette(pixels: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` colours (k, 3) that stand for ``pixels`` (N, 3), by median cut."""
    side = int(np.ceil(np.sqrt(len(pixels))))
    pad = np.vstack([pixels, np.repeat(pixels[-1:], side * side - len(pixels), 0)])
    q = Image.fromarray(pad.reshape(side, side, 3).astype(np.uint8)).quantize(
        colors=max(1, k), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    colours = np.asarray(q.getpalette(), np.uint8).reshape(-1, 3)
    used = sorted(i for _, i in (q.getcolors(256) or []))
    return colours[used]
