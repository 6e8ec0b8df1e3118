"""Draw the inknotes app icon (a pen nib writing a loopy line on a page) as SVG, PNG, ICO and ICNS.

Drawn from code so the icon has a known licence and every size comes from one geometry:
``python installers/make_icon.py`` rewrites ``resources/icons/``. Only Pillow and numpy are needed.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"
VIEW = 512
PAGE = (84, 40, 404, 472)          # x0, y0, x1, y1 of the sheet
PAGE_RADIUS = 30
RULES = [130, 200, 340, 410]        # ruled lines (the written line sits at ~270)
INK = "#2456c8"
NIB_TIP = (318.0, 300.0)
NIB_ANGLE = 45.0                    # degrees; the tip points down-left
NIB_SCALE = 0.8


def handwriting() -> np.ndarray:
    """A cursive 'llll' (a prolate cycloid, loops up), ending at the nib's tip."""
    u = np.linspace(0.35 * math.pi, 7.2 * math.pi, 240)
    r, d = 7.5, 34.0
    x = r * u - d * np.sin(u)
    y = -d * np.cos(u)
    x = x - x[-1] + NIB_TIP[0]
    y = y - y[-1] + NIB_TIP[1]
    return np.stack([x, y], axis=1)


def _place(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Nib coordinates (tip at 0,0, body towards -y) -> icon coordinates."""
    a = math.radians(NIB_ANGLE)
    c, s = math.cos(a), math.sin(a)
    out = []
    for x, y in points:
        x, y = x * NIB_SCALE, y * NIB_SCALE
        out.append((NIB_TIP[0] + x * c - y * s, NIB_TIP[1] + x * s + y * c))
    return out


def nib_shapes() -> dict[str, list[tuple[float, float]]]:
    """The nib (metal), its grip (dark), the slit line and the breather hole centre."""
    return {
        "metal": _place([(0, 0), (-38, -92), (-52, -150), (52, -150), (38, -92)]),
        "grip": _place([(-56, -150), (56, -150), (56, -262), (-56, -262)]),
        "band": _place([(-56, -150), (56, -150), (56, -168), (-56, -168)]),
        "slit": _place([(0, -6), (0, -84)]),
        "hole": _place([(0, -92)]),
    }


def _pts(points) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def svg() -> str:
    x0, y0, x1, y1 = PAGE
    nib = nib_shapes()
    hole = nib["hole"][0]
    slit = nib["slit"]
    rules = "\n".join(f'  <line x1="{x0 + 34}" y1="{y}" x2="{x1 - 34}" y2="{y}" stroke="#d5e0ef" '
                      f'stroke-width="6" stroke-linecap="round"/>' for y in RULES)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{VIEW}" height="{VIEW}" viewBox="0 0 {VIEW} {VIEW}">
  <title>inknotes</title>
  <rect x="{x0 + 10}" y="{y0 + 14}" width="{x1 - x0}" height="{y1 - y0}" rx="{PAGE_RADIUS}"
        fill="#000000" fill-opacity="0.2"/>
  <rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{PAGE_RADIUS}"
        fill="#ffffff" stroke="#b8c4d6" stroke-width="8"/>
{rules}
  <polyline points="{_pts(handwriting())}"
            fill="none" stroke="{INK}" stroke-width="16" stroke-linecap="round" stroke-linejoin="round"/>
  <polygon points="{_pts(nib['grip'])}" fill="#2b2d31"/>
  <polygon points="{_pts(nib['band'])}" fill="#c99a2e"/>
  <polygon points="{_pts(nib['metal'])}"
           fill="#e0b546" stroke="#8a6a1c" stroke-width="4" stroke-linejoin="round"/>
  <line x1="{slit[0][0]:.1f}" y1="{slit[0][1]:.1f}" x2="{slit[1][0]:.1f}" y2="{slit[1][1]:.1f}"
        stroke="#5b4511" stroke-width="5" stroke-linecap="round"/>
  <circle cx="{hole[0]:.1f}" cy="{hole[1]:.1f}" r="9" fill="#5b4511"/>
</svg>
"""


def _line(draw: ImageDraw.ImageDraw, pts, width: float, fill: str, k: float) -> None:
    """A polyline with round caps and joins (PIL has no caps: discs at every vertex)."""
    pts = [(x * k, y * k) for x, y in pts]
    draw.line(pts, fill=fill, width=round(width * k), joint="curve")
    r = width * k / 2
    for x, y in (pts[0], pts[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def raster(size: int) -> Image.Image:
    """The same drawing as ``svg()``, supersampled 4x then reduced, so edges are smooth."""
    k = 4 * size / VIEW
    img = Image.new("RGBA", (4 * size, 4 * size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = (v * k for v in PAGE)
    d.rounded_rectangle((x0 + 10 * k, y0 + 14 * k, x1 + 10 * k, y1 + 14 * k), PAGE_RADIUS * k,
                        fill=(0, 0, 0, 51))
    d.rounded_rectangle((x0, y0, x1, y1), PAGE_RADIUS * k, fill="#ffffff", outline="#b8c4d6",
                        width=round(8 * k))
    for y in RULES:
        _line(d, [(PAGE[0] + 34, y), (PAGE[2] - 34, y)], 6, "#d5e0ef", k)
    _line(d, handwriting().tolist(), 16, INK, k)
    nib = nib_shapes()
    scaled = {n: [(x * k, y * k) for x, y in p] for n, p in nib.items()}
    d.polygon(scaled["grip"], fill="#2b2d31")
    d.polygon(scaled["band"], fill="#c99a2e")
    d.polygon(scaled["metal"], fill="#e0b546", outline="#8a6a1c", width=round(4 * k))
    _line(d, nib["slit"], 5, "#5b4511", k)
    hx, hy = scaled["hole"][0]
    d.ellipse((hx - 9 * k, hy - 9 * k, hx + 9 * k, hy + 9 * k), fill="#5b4511")
    return img.resize((size, size), Image.LANCZOS)


def main(out: Path = ICON_DIR) -> int:
    out.mkdir(parents=True, exist_ok=True)
    (out / "inknotes.svg").write_text(svg(), encoding="utf-8")
    big = raster(1024)
    for size in (256, 512):
        big.resize((size, size), Image.LANCZOS).save(out / f"inknotes-{size}.png", optimize=True)
    big.save(out / "inknotes.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128),
                                          (256, 256)])
    big.save(out / "inknotes.icns")
    print(f"wrote icons into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ICON_DIR))
