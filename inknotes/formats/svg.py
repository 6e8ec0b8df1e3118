"""SVG: vector ink at image-pixel coordinates (viewBox = the input image), one group per
stroke in drawing order; varying width as runs of equal-width paths with round caps."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import IO

from lxml import etree

from ..fileio import path_text
from ..ink import PageResult, Stroke
from .png import encode_png, norm_color, page_image, width_runs

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
WIDTH_QUANTUM = 0.25  # px: finer width steps than this are invisible on screen and paper


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") or "0"


def _stroke_group(parent: etree._Element, s: Stroke, index: int) -> None:
    color = norm_color(s.color)
    g = etree.SubElement(parent, f"{{{SVG_NS}}}g", {
        "id": f"stroke{index}", "class": "stroke", "stroke": color, "fill": "none",
        "stroke-linecap": "round", "stroke-linejoin": "round"})
    for pts, width in width_runs(s, WIDTH_QUANTUM):
        if len(pts) == 1:
            etree.SubElement(g, f"{{{SVG_NS}}}circle", {
                "cx": _num(pts[0, 0]), "cy": _num(pts[0, 1]), "r": _num(width / 2),
                "fill": color, "stroke": "none"})
            continue
        d = "M" + " L".join(f"{_num(x)} {_num(y)}" for x, y in pts)
        etree.SubElement(g, f"{{{SVG_NS}}}path", {"d": d, "stroke-width": _num(width)})


def to_bytes(page: PageResult, *, background: bool = False) -> bytes:
    w, h = int(page.size[0]), int(page.size[1])
    root = etree.Element(f"{{{SVG_NS}}}svg", {
        "version": "1.1", "width": f"{w}px", "height": f"{h}px", "viewBox": f"0 0 {w} {h}"},
        nsmap={None: SVG_NS, "xlink": XLINK_NS})
    etree.SubElement(root, f"{{{SVG_NS}}}title").text = path_text(page.output_stem())
    scan = page_image(page) if background else None
    if scan is not None:
        href = "data:image/png;base64," + base64.b64encode(encode_png(scan)).decode("ascii")
        etree.SubElement(root, f"{{{SVG_NS}}}image", {
            "x": "0", "y": "0", "width": str(w), "height": str(h),
            "preserveAspectRatio": "none", f"{{{XLINK_NS}}}href": href})
    ink = etree.SubElement(root, f"{{{SVG_NS}}}g", {"id": "ink"})
    for i, s in enumerate(page.strokes):
        if len(s):
            _stroke_group(ink, s, i)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write(page: PageResult, target: str | Path | IO[bytes], *, background: bool = False) -> None:
    """Write the page as SVG to a path (atomically) or an open binary file."""
    from . import emit

    emit(to_bytes(page, background=background), target)
