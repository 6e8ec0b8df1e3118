"""InkML (W3C): strokes as traces with X, Y (px), T (ms) and W (pen width, px) channels,
brushes for width and colour, words as trace groups carrying their transcription.

Traces stay in drawing order in document order (readers take document order as drawing
order): a word whose strokes are one consecutive run becomes a ``traceGroup`` around
them; any other word is described afterwards by a ``traceView`` pointing at its traces.
Reading refuses DTDs, so external entities and entity bombs never expand."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import IO

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from lxml import etree

from ..errors import InputError
from ..fileio import path_text
from ..ink import DEFAULT_COLOR, PageResult, Stroke, Word
from .png import norm_color

log = logging.getLogger(__name__)

NS = "http://www.w3.org/2003/InkML"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
CHANNELS = ("X", "Y", "T", "W")
MAX_BYTES = 512 * 1024 * 1024
_Q = f"{{{NS}}}"


def _el(parent: etree._Element, tag: str, attrib: dict | None = None, text: str | None = None):
    e = etree.SubElement(parent, _Q + tag, attrib or {})
    if text is not None:
        e.text = text
    return e


def _note(parent: etree._Element, kind: str, text: str) -> None:
    _el(parent, "annotation", {"type": kind}, text)


def _fmt(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def _trace_text(s: Stroke) -> str:
    cols = np.column_stack([s.points.astype(np.float64), s.time.astype(np.float64),
                            s.width.astype(np.float64)])
    return ", ".join(" ".join(_fmt(v) for v in row) for row in cols.tolist())


def _definitions(root: etree._Element, page: PageResult) -> dict[tuple[str, float], str]:
    defs = _el(root, "definitions")
    ctx = _el(defs, "context", {XML_ID: "ctx0"})
    src = _el(ctx, "inkSource", {XML_ID: "src0", "manufacturer": "inknotes",
                                 "description": "strokes derendered from a page image, in image pixels"})
    tf = _el(src, "traceFormat", {XML_ID: "tf0"})
    units = {"X": "px", "Y": "px", "T": "ms", "W": "px"}
    for name in CHANNELS:
        _el(tf, "channel", {"name": name, "type": "decimal", "units": units[name]})
    props = _el(src, "channelProperties")
    for name in ("X", "Y", "W"):
        _el(props, "channelProperty", {"channel": name, "name": "resolution", "value": "1", "units": "1/px"})
    _el(props, "channelProperty", {"channel": "T", "name": "resolution", "value": "1", "units": "1/ms"})
    brushes: dict[tuple[str, float], str] = {}
    for s in page.strokes:
        key = (norm_color(s.color), round(float(np.median(s.width)) if len(s) else 0.0, 2))
        if key not in brushes:
            bid = f"br{len(brushes)}"
            brushes[key] = bid
            b = _el(defs, "brush", {XML_ID: bid})
            _el(b, "brushProperty", {"name": "width", "value": _fmt(key[1]), "units": "px"})
            _el(b, "brushProperty", {"name": "color", "value": key[0]})
            _el(b, "brushProperty", {"name": "tip", "value": "ellipse"})
    return brushes


def _word_notes(parent: etree._Element, w: Word) -> None:
    _note(parent, "transcription", w.text or "")
    _note(parent, "box", " ".join(_fmt(float(v)) for v in w.box))
    _note(parent, "confidence", _fmt(float(w.confidence)))
    _note(parent, "line", str(int(w.line)))
    _note(parent, "source", w.source)


def to_bytes(page: PageResult) -> bytes:
    root = etree.Element(_Q + "ink", nsmap={None: NS})
    _note(root, "inknotes:size", f"{int(page.size[0])} {int(page.size[1])}")
    if page.dpi:
        _note(root, "inknotes:dpi", _fmt(float(page.dpi)))
    if page.source is not None:
        _note(root, "inknotes:source", path_text(page.source))
    _note(root, "inknotes:page", f"{page.page_index} {page.page_count}")
    if page.engine:
        _note(root, "inknotes:engine", page.engine)
    brushes = _definitions(root, page)

    n = len(page.strokes)
    owner = [-1] * n
    for wi, w in enumerate(page.words):
        for si in w.stroke_ids:
            if 0 <= si < n and owner[si] < 0:
                owner[si] = wi
    grouped: set[int] = set()
    for wi, w in enumerate(page.words):
        ids = sorted(set(i for i in w.stroke_ids if 0 <= i < n))
        if ids and ids == list(range(ids[0], ids[-1] + 1)) and all(owner[i] == wi for i in ids):
            grouped.add(wi)

    i = 0
    while i < n:
        wi = owner[i]
        if wi in grouped:
            g = _el(root, "traceGroup", {XML_ID: f"w{wi}"})
            _word_notes(g, page.words[wi])
            parent = g
        else:
            parent = root
        j = i
        while j < n and (j == i or (wi in grouped and owner[j] == wi)):
            s = page.strokes[j]
            key = (norm_color(s.color), round(float(np.median(s.width)) if len(s) else 0.0, 2))
            _el(parent, "trace", {XML_ID: f"t{j}", "contextRef": "#ctx0", "brushRef": "#" + brushes[key]},
                _trace_text(s))
            j += 1
        i = j
    for wi, w in enumerate(page.words):
        if wi in grouped:
            continue
        v = _el(root, "traceView", {XML_ID: f"w{wi}"})
        _word_notes(v, w)
        for si in w.stroke_ids:
            if 0 <= si < n:
                _el(v, "traceView", {"traceDataRef": f"#t{si}"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write(page: PageResult, target: str | Path | IO[bytes]) -> None:
    """Write the page as InkML to a path (atomically) or an open binary file."""
    from . import emit

    emit(to_bytes(page), target)


# ---------------------------------------------------------------- reading


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse(path: Path):
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError("The InkML file is too large to read.", path)
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise InputError("The InkML file does not exist.", path) from e
    except OSError as e:
        raise InputError(f"Cannot read the InkML file ({e.strerror or e}).", path) from e
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        log.info("refused InkML %s: %r", path, e)
        raise InputError("The InkML file declares a DTD or entities, which are refused for safety.",
                         path) from e
    except SafeET.ParseError as e:
        raise InputError(f"The file is not well-formed XML ({e}).", path) from e


def _notes(el) -> dict[str, str]:
    return {a.get("type", ""): (a.text or "").strip() for a in el if _local(a.tag) == "annotation"}


def _floats(text: str, path: Path) -> np.ndarray:
    try:
        return np.array(text.replace(",", " ").split(), np.float64)
    except ValueError as e:
        raise InputError("The InkML file has difference-coded or non-numeric trace points, "
                         "which inknotes cannot read.", path) from e


def _word_from(notes: dict[str, str], ids: list[int]) -> Word:
    try:
        box = tuple(float(v) for v in notes.get("box", "0 0 0 0").split())
        box = box if len(box) == 4 else (0.0, 0.0, 0.0, 0.0)
        conf = float(notes.get("confidence", "-1"))
        line = int(notes.get("line", "0"))
    except ValueError:
        box, conf, line = (0.0, 0.0, 0.0, 0.0), -1.0, 0
    return Word(box=box, text=notes.get("transcription", ""), confidence=conf, line=line,
                stroke_ids=ids, source=notes.get("source", "ocr") or "ocr")


def read(path: str | Path) -> PageResult:
    """Read InkML back into a PageResult (strokes, widths, colours, times, words)."""
    path = Path(path)
    root = _parse(path)
    if _local(root.tag) != "ink":
        raise InputError("The file is XML but not InkML (no <ink> root).", path)
    channels = ["X", "Y"]
    brushes: dict[str, tuple[float | None, str]] = {}
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "traceFormat" and channels == ["X", "Y"]:
            found = [c.get("name") for c in el if _local(c.tag) == "channel"]
            channels = found or channels
        elif tag == "brush":
            props = {p.get("name"): p.get("value") for p in el if _local(p.tag) == "brushProperty"}
            try:
                width = float(props["width"]) if props.get("width") else None
            except ValueError:
                width = None
            brushes["#" + (el.get(XML_ID) or "")] = (width, norm_color(props.get("color") or DEFAULT_COLOR))
    if "X" not in channels or "Y" not in channels:
        raise InputError("The InkML trace format has no X and Y channels.", path)
    nch = len(channels)
    ix, iy = channels.index("X"), channels.index("Y")
    it = channels.index("T") if "T" in channels else None
    iw = channels.index("W") if "W" in channels else None

    strokes: list[Stroke] = []
    ids: dict[str, int] = {}
    words: list[tuple[str, Word]] = []  # (xml:id, word): ids "w<N>" restore the word order
    t_next = 0.0

    def walk(el, group: list[int] | None) -> None:
        nonlocal t_next
        for child in el:
            tag = _local(child.tag)
            if tag == "trace":
                vals = _floats(child.text or "", path)
                if vals.size == 0:
                    continue
                if vals.size % nch:
                    raise InputError("An InkML trace has points with a missing channel value.", path)
                rows = vals.reshape(-1, nch)
                bw, color = brushes.get(child.get("brushRef") or "", (None, DEFAULT_COLOR))
                width = rows[:, iw] if iw is not None else np.full(len(rows), bw or 2.0)
                pts = rows[:, [ix, iy]]
                if it is not None:
                    s = Stroke(pts, width, rows[:, it], color)
                else:
                    s = Stroke.from_points(pts, width, color, t0=t_next)
                    t_next = float(s.time[-1]) + 120.0
                ids["#" + (child.get(XML_ID) or f"anon{len(strokes)}")] = len(strokes)
                if group is not None:
                    group.append(len(strokes))
                strokes.append(s)
            elif tag == "traceGroup":
                notes = _notes(child)
                if "transcription" in notes:
                    members: list[int] = []
                    walk(child, members)
                    words.append((child.get(XML_ID) or "", _word_from(notes, members)))
                    if group is not None:
                        group.extend(members)
                else:
                    walk(child, group)
            elif tag == "traceView" and "transcription" in _notes(child):
                refs = [ids.get(v.get("traceDataRef") or "") for v in child if _local(v.tag) == "traceView"]
                words.append((child.get(XML_ID) or "",
                              _word_from(_notes(child), [r for r in refs if r is not None])))

    walk(root, None)
    if all(re.fullmatch(r"w\d+", wid) for wid, _ in words):
        words.sort(key=lambda item: int(item[0][1:]))
    notes = _notes(root)
    try:
        w, h = (int(v) for v in notes.get("inknotes:size", "").split())
    except ValueError:
        w, h = _extent(strokes)
    try:
        dpi = float(notes["inknotes:dpi"]) if "inknotes:dpi" in notes else None
    except ValueError:
        dpi = None
    try:
        index, count = (int(v) for v in notes.get("inknotes:page", "0 1").split())
    except ValueError:
        index, count = 0, 1
    src = notes.get("inknotes:source")
    return PageResult(size=(w, h), strokes=strokes, words=[wd for _, wd in words], dpi=dpi,
                      source=Path(src) if src else path, page_index=index, page_count=count,
                      engine=notes.get("inknotes:engine", ""))


def _extent(strokes: list[Stroke]) -> tuple[int, int]:
    if not strokes:
        return (1, 1)
    boxes = np.array([s.bbox() for s in strokes])
    return int(np.ceil(boxes[:, 2].max())) + 1, int(np.ceil(boxes[:, 3].max())) + 1
