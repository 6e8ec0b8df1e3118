"""PDF (reportlab): one page per PageResult at its physical size, vector ink, and the
recognised words as invisible text on their boxes so the PDF is searchable."""
from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path
from typing import IO

from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from ..fileio import path_text
from ..ink import PageResult
from .png import hex_rgb, page_image, width_runs

log = logging.getLogger(__name__)

WIDTH_QUANTUM = 0.25  # px
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


@lru_cache(maxsize=1)
def _text_font() -> str:
    """A Unicode TrueType font for the hidden text layer; Helvetica (Latin-1 only) otherwise."""
    for p in _FONT_CANDIDATES:
        if Path(p).is_file():
            try:
                pdfmetrics.registerFont(TTFont("InknotesText", p))
                return "InknotesText"
            except Exception:  # noqa: BLE001 - a broken system font only costs us Unicode text
                log.warning("cannot use font %s", p, exc_info=True)
    return "Helvetica"


def page_size_pt(page: PageResult) -> tuple[float, float]:
    """Physical page size in points: pixels / dpi * 72."""
    k = 72.0 / page.effective_dpi
    return page.size[0] * k, page.size[1] * k


def _draw_page(c: canvas.Canvas, page: PageResult, background: bool) -> None:
    wpt, hpt = page_size_pt(page)
    k = 72.0 / page.effective_dpi
    c.setPageSize((wpt, hpt))
    scan = page_image(page) if background else None
    if scan is not None:
        c.drawImage(ImageReader(Image.fromarray(scan)), 0, 0, wpt, hpt)
    _draw_text(c, page, k, hpt)
    c.saveState()
    c.translate(0, hpt)
    c.scale(k, -k)  # draw in page pixels, y down
    c.setLineCap(1)
    c.setLineJoin(1)
    for s in page.strokes:
        if not len(s):
            continue
        r, g, b = hex_rgb(s.color)
        c.setStrokeColorRGB(r / 255, g / 255, b / 255)
        c.setFillColorRGB(r / 255, g / 255, b / 255)
        for pts, width in width_runs(s, WIDTH_QUANTUM):
            if len(pts) == 1:
                c.circle(float(pts[0, 0]), float(pts[0, 1]), width / 2, stroke=0, fill=1)
                continue
            c.setLineWidth(width)
            path = c.beginPath()
            path.moveTo(float(pts[0, 0]), float(pts[0, 1]))
            for x, y in pts[1:].tolist():
                path.lineTo(x, y)
            c.drawPath(path, stroke=1, fill=0)
    c.restoreState()


def _draw_text(c: canvas.Canvas, page: PageResult, k: float, hpt: float) -> None:
    """Invisible words (render mode 3) stretched to their boxes, for search and copy."""
    font = _text_font()
    for word in page.words:
        text = (word.text or "").strip()
        x, y, w, h = (float(v) for v in word.box)
        if not text or w <= 0 or h <= 0:
            continue
        size = max(h * k, 1.0)
        natural = pdfmetrics.stringWidth(text, font, size)
        t = c.beginText()
        t.setTextRenderMode(3)
        t.setFont(font, size)
        if natural > 0:
            t.setHorizScale(100.0 * (w * k) / natural)
        # baseline about a fifth of the box above its bottom (descenders)
        t.setTextOrigin(x * k, hpt - (y + h) * k + 0.2 * size)
        t.textOut(text)
        c.drawText(t)


def pages_to_bytes(pages: list[PageResult], *, background: bool = False) -> bytes:
    """All pages into one PDF document."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pageCompression=1)
    first = pages[0]
    c.setTitle(path_text(first.source.stem if first.source else first.output_stem()))
    c.setCreator("inknotes")
    for page in pages:
        _draw_page(c, page, background)
        c.showPage()
    c.save()
    return buf.getvalue()


def to_bytes(page: PageResult, *, background: bool = False) -> bytes:
    return pages_to_bytes([page], background=background)


def write(page: PageResult, target: str | Path | IO[bytes], *, background: bool = False) -> None:
    """Write the page as PDF to a path (atomically) or an open binary file."""
    from . import emit

    emit(to_bytes(page, background=background), target)
