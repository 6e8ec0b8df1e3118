"""Xournal++ (.xopp): gzip-compressed XML, file version 4, one page in points.

A stroke's ``width`` attribute is the nominal width followed by one width per segment
(points - 1 values): Xournal++ keeps a "pressure" width on every point but the last."""
from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import IO

import numpy as np
from lxml import etree

from ..fileio import path_text
from ..ink import PageResult, Stroke
from .png import encode_png, norm_color, page_image


def _f(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".") or "0"


def _stroke(layer: etree._Element, s: Stroke, k: float) -> None:
    pts = s.points.astype(np.float64) * k
    w = s.width.astype(np.float64) * k
    if len(pts) == 1:  # Xournal++ drops strokes with fewer than two points
        pts = np.repeat(pts, 2, axis=0)
        w = np.repeat(w, 2)
    seg = np.maximum((w[:-1] + w[1:]) / 2, 0.01)  # pressure widths must be positive
    widths = [float(np.median(w))] + seg.tolist()
    el = etree.SubElement(layer, "stroke", {
        "tool": "pen", "color": norm_color(s.color) + "ff",
        "width": " ".join(_f(v) for v in widths), "capStyle": "round"})
    el.text = " ".join(_f(v) for v in pts.reshape(-1).tolist())


def to_bytes(page: PageResult, *, background: bool = False) -> bytes:
    k = 72.0 / page.effective_dpi
    wpt, hpt = page.size[0] * k, page.size[1] * k
    root = etree.Element("xournal", {"creator": "inknotes", "fileversion": "4"})
    etree.SubElement(root, "title").text = f"Xournal++ document - {path_text(page.output_stem())} (inknotes)"
    pg = etree.SubElement(root, "page", {"width": _f(wpt), "height": _f(hpt)})
    etree.SubElement(pg, "background", {"type": "solid", "color": "#ffffffff", "style": "plain"})
    scan = page_image(page) if background else None
    if scan is not None:
        under = etree.SubElement(pg, "layer", {"name": "Scan"})
        img = etree.SubElement(under, "image", {
            "left": "0", "top": "0", "right": _f(wpt), "bottom": _f(hpt)})
        img.text = base64.b64encode(encode_png(scan)).decode("ascii")
    layer = etree.SubElement(pg, "layer", {"name": "Ink"})
    for s in page.strokes:
        if len(s):
            _stroke(layer, s, k)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return gzip.compress(xml, compresslevel=6, mtime=0)


def write(page: PageResult, target: str | Path | IO[bytes], *, background: bool = False) -> None:
    """Write the page as .xopp to a path (atomically) or an open binary file."""
    from . import emit

    emit(to_bytes(page, background=background), target)
