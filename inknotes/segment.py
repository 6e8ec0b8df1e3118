"""Word and line detection: ink regions from the mask, recognised words from Tesseract, and
the grouping of one with the other.

The ink mask is the truth about *where* ink is (every ink pixel ends up in exactly one word);
Tesseract only adds *what* it says. Words Tesseract misses (drawings, scribbles) still come
back, as groups with source "ink".
"""
from __future__ import annotations

import logging
import os
import re
import statistics
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import EngineError
from .imaging import PreparedPage

log = logging.getLogger(__name__)

# Measured on the six dev pages (1400x2000, ~200 dpi, one Tesseract thread): on the grey image
# cleaned by the ink mask, --psm 4 took 0.49 s/page and matched 81 true words; on the raw grey
# image psm 3 / 4 / 6 / 11 took 0.9-1.9 s/page and matched 61-75.
TESSERACT_CONFIG = "--psm 4 --oem 1"


@dataclass
class Region:
    box: tuple[int, int, int, int]  # x, y, w, h in prepared coords, tight around its ink
    mask: np.ndarray  # (h, w) bool: only this region's ink
    line: int  # 0-based text line index in reading order


@dataclass
class OcrWord:
    box: tuple[int, int, int, int]
    text: str
    confidence: float
    line: int


@dataclass
class WordGroup:
    region_ids: list[int]
    text: str
    confidence: float
    line: int
    source: str  # "ocr" or "ink"


# ----------------------------------------------------------------------------- ink regions

def _assign_lines(top: np.ndarray, bot: np.ndarray, left: np.ndarray, main: np.ndarray,
                  recent: int = 8) -> np.ndarray:
    """Line id per main component, walking the components left to right.

    Each line keeps a local model of where its letters sit: a straight-line fit of its last few
    members' centres against x (so a line drifting up or down across the page stays one line)
    and their median height. A component joins the line whose predicted centre at its x is
    nearest, relative to that line's letter height, or whose band it overlaps; otherwise it
    starts a new line. Descenders and ascenders of single letters move the centre little, and
    neighbouring lines (a line spacing apart) stay apart.
    """
    line = np.full(len(top), -1)
    xs: list[list[float]] = []
    cs: list[list[float]] = []
    hs: list[list[float]] = []
    fit = np.zeros((0, 2))  # per line: slope, intercept of centre(x)
    hh = np.zeros(0)  # per line: median member height
    bt, bb = np.zeros(0), np.zeros(0)  # per line: median top / bottom of recent members
    cy, h = (top + bot) / 2, bot - top
    for i in np.lexsort((cy, left)):
        if not main[i]:
            continue
        best = -1
        if len(hh):
            pred = fit[:, 0] * (left[i] + h[i] / 2) + fit[:, 1]
            dist = np.abs(cy[i] - pred) / np.maximum(hh, 1.0)
            ov = (np.minimum(bb, bot[i]) - np.maximum(bt, top[i])) / np.maximum(
                1.0, np.minimum(bb - bt, h[i]))
            score = np.where(ov >= 0.3, np.minimum(dist, 0.45), dist)
            k = int(np.argmin(score))
            best = k if score[k] <= 0.45 else -1
        if best < 0:
            xs.append([])
            cs.append([])
            hs.append([])
            fit = np.vstack([fit, [0.0, 0.0]])
            hh, bt, bb = np.append(hh, 0.0), np.append(bt, 0.0), np.append(bb, 0.0)
            best = len(xs) - 1
        xs[best].append(float(left[i] + h[i] / 2))
        cs[best].append(float(cy[i]))
        hs[best].append(float(h[i]))
        rx, rc = np.array(xs[best][-recent:]), np.array(cs[best][-recent:])
        slope = 0.0
        if len(rx) >= 3 and np.ptp(rx) > 0:
            slope = float(np.clip(np.polyfit(rx, rc, 1)[0], -0.3, 0.3))
        fit[best] = (slope, float(np.median(rc - slope * rx)))
        hh[best] = statistics.median(hs[best][-recent:])
        rh = np.array(hs[best][-recent:])
        bt[best], bb[best] = float(np.median(rc - rh / 2)), float(np.median(rc + rh / 2))
        line[i] = best
    return line


def _fold_marks(line: np.ndarray, main: np.ndarray, boxes: np.ndarray,
                hgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A "line" of one or two small marks sitting just above or below a real line (an accent,
    an apostrophe, a long i-dot that passed as a letter) belongs to that line, not before it."""
    ids = [np.flatnonzero((line == k) & main) for k in range(int(line.max()) + 1)]
    tall = np.array([hgt[m].max() if len(m) else 0.0 for m in ids])
    for k, members in enumerate(ids):
        if not 0 < len(members) <= 2:
            continue
        others = np.flatnonzero(main & (line != k) & (line >= 0))
        if not len(others):
            continue
        gaps = np.array([_box_gap(boxes[i], boxes[others]).min() for i in members])
        j = others[np.argmin(np.min([_box_gap(boxes[i], boxes[others]) for i in members], axis=0))]
        near = tall[line[j]]
        if tall[k] < 0.5 * near and gaps.max() < 0.6 * near:
            line[line == k] = line[j]
            main = main.copy()
            main[members] = False  # marks join their nearest letter's word, like dots
    # renumber the remaining lines densely (-1 = not yet on a line stays -1)
    used = np.unique(line[line >= 0])
    dense = np.full(int(line.max()) + 1, -1)
    dense[used] = np.arange(len(used))
    return np.where(line >= 0, dense[np.maximum(line, 0)], -1), main


def _box_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean gap between box a (x0, y0, x1, y1) and each box in b (n, 4)."""
    dx = np.maximum(0, np.maximum(b[:, 0] - a[2], a[0] - b[:, 2]))
    dy = np.maximum(0, np.maximum(b[:, 1] - a[3], a[1] - b[:, 3]))
    return np.hypot(dx, dy)


def ink_regions(prepared: PreparedPage) -> list[Region]:
    """Word-sized groups of ink in reading order; every ink pixel in exactly one region."""
    mask = prepared.mask
    n, lab, st, cent = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    st, cent = st[1:], cent[1:]
    x0, y0 = st[:, 0].astype(float), st[:, 1].astype(float)
    x1, y1 = x0 + st[:, 2], y0 + st[:, 3]
    boxes = np.stack([x0, y0, x1, y1], 1)
    hgt = st[:, 3].astype(float)
    pw = max(prepared.pen_width, 1.0)
    sizable = st[:, 4] >= 4 * pw * pw
    ref_h = float(np.median(hgt[sizable])) if sizable.any() else float(np.median(hgt))
    # main components set the lines; dots, accents and bars are attached afterwards
    main = (hgt >= 0.45 * ref_h) | (st[:, 2] >= 1.5 * ref_h)
    cy = (y0 + y1) / 2
    line = _assign_lines(y0, y1, x0, main)
    line, main = _fold_marks(line, main, boxes, hgt)
    mains = np.flatnonzero(main)
    for i in np.flatnonzero(~main):
        j = mains[np.argmin(_box_gap(boxes[i], boxes[mains]))]
        line[i] = line[j]
    # reading order of lines: top to bottom by median centre
    nl = int(line.max()) + 1
    order = np.argsort([np.median(cy[(line == k) & main]) for k in range(nl)])
    rank = np.empty(nl, int)
    rank[order] = np.arange(nl)
    line = rank[line]

    regions: list[Region] = []
    for k in range(nl):
        members = np.flatnonzero(line == k)
        words = _split_words(lab, members, boxes, main, pw)
        for ids in words:
            regions.append(_region(lab, ids, boxes, k))
    return regions


def _x_height(lab: np.ndarray, core: np.ndarray, boxes: np.ndarray) -> float:
    """Height of the line's letter body: rows holding at least 40 % of the busiest row's ink,
    counted after taking out the line's slope (so a sloping line is not smeared into a tall band)."""
    b = boxes[core].astype(int)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    slope = float(np.clip(np.polyfit(cx, cy, 1)[0], -0.3, 0.3)) if len(core) >= 3 and np.ptp(cx) > 0 else 0.0
    off = np.round(slope * (cx - cx.mean())).astype(int)
    y0 = int((b[:, 1] - off).min())
    prof = np.zeros(int((b[:, 3] - off).max()) - y0 + 1)
    for i, (xa, ya, xb, yb), o in zip(core, b, off, strict=True):
        rows = (lab[ya:yb, xa:xb] == i + 1).sum(1)
        prof[ya - o - y0: ya - o - y0 + len(rows)] += rows
    return float((prof >= 0.4 * prof.max()).sum()) if prof.max() > 0 else float(b[:, 3].max() - b[:, 1].min())


def _split_words(lab: np.ndarray, members: np.ndarray, boxes: np.ndarray, main: np.ndarray,
                 pw: float) -> list[np.ndarray]:
    """Split one line into words at horizontal gaps wider than a share of the line's letter height."""
    core = members[main[members]]
    core = core[np.argsort(boxes[core, 0])]
    xh = _x_height(lab, core, boxes)
    # tried Otsu on the line's gaps: it merged words on the dev lines; a fixed share of x-height did best
    thresh = max(3.0 * pw, 0.55 * xh)  # 0.55: most exact word counts on the 60 dev lines
    word_of = {}
    w, right = 0, -np.inf
    for i in core:
        if boxes[i, 0] - right > thresh and right > -np.inf:
            w += 1
        word_of[i] = w
        right = max(right, boxes[i, 2])
    for i in members[~main[members]]:  # dots and accents join their nearest letter's word
        j = core[np.argmin(_box_gap(boxes[i], boxes[core]))]
        word_of[i] = word_of[j]
    groups: dict[int, list[int]] = {}
    for i, wd in word_of.items():
        groups.setdefault(wd, []).append(i)
    out = [np.array(v) for v in groups.values()]
    out.sort(key=lambda ids: boxes[ids, 0].min())
    return out


def _region(lab: np.ndarray, ids: np.ndarray, boxes: np.ndarray, line: int) -> Region:
    bx = boxes[ids]
    xa, ya, xb, yb = int(bx[:, 0].min()), int(bx[:, 1].min()), int(bx[:, 2].max()), int(bx[:, 3].max())
    crop = lab[ya:yb, xa:xb]
    m = np.isin(crop, ids + 1)
    return Region(box=(xa, ya, xb - xa, yb - ya), mask=m, line=line)


# ----------------------------------------------------------------------------- Tesseract

def tesseract_version() -> str | None:
    """The installed Tesseract version, or None when the binary is missing."""
    import pytesseract

    try:
        return str(pytesseract.get_tesseract_version())
    except (pytesseract.TesseractNotFoundError, OSError):
        return None
    except Exception:  # noqa: BLE001 - odd builds print odd version strings
        log.debug("tesseract version check failed", exc_info=True)
        return None


def _ocr_image(prepared: PreparedPage) -> np.ndarray:
    """The flattened grey page with everything that is not ink (rules, texture, shadows) set to white.

    Tesseract reads this faster and better than the raw grey page: no rules to mistake for text.
    """
    near_ink = cv2.dilate(prepared.mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return np.where(near_ink, prepared.gray, 255).astype(np.uint8)


def ocr_words(prepared: PreparedPage, lang: str = "eng") -> list[OcrWord]:
    """Recognised words with boxes and confidences, in Tesseract's reading order.

    Thread-safe: pytesseract runs one subprocess per call with its own temp files. Tesseract
    is held to one thread (OMP_THREAD_LIMIT) so OCR does not starve the derendering.
    """
    import pytesseract

    if not re.fullmatch(r"[A-Za-z0-9_+]+", lang or ""):
        raise EngineError(f"The OCR language '{lang}' is not a valid Tesseract language name.")
    os.environ["OMP_THREAD_LIMIT"] = "1"  # inherited by the tesseract subprocess
    try:
        d = pytesseract.image_to_data(_ocr_image(prepared), lang=lang, config=TESSERACT_CONFIG,
                                      output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as e:
        raise EngineError("Tesseract OCR is not installed; install the tesseract-ocr package.") from e
    except pytesseract.TesseractError as e:
        log.debug("tesseract failed", exc_info=True)
        if "Failed loading language" in str(e) or "load any languages" in str(e):
            raise EngineError(f"Tesseract has no data for language '{lang}'; install "
                              f"tesseract-ocr-{lang.lower()}.") from e
        raise EngineError("Tesseract OCR failed on this page.") from e
    words: list[OcrWord] = []
    line_ids: dict[tuple[int, int, int], int] = {}
    for i, text in enumerate(d["text"]):
        text = (text or "").strip()
        if not text:
            continue
        key = (d["block_num"][i], d["par_num"][i], d["line_num"][i])
        line = line_ids.setdefault(key, len(line_ids))
        box = (int(d["left"][i]), int(d["top"][i]), int(d["width"][i]), int(d["height"][i]))
        words.append(OcrWord(box=box, text=text, confidence=float(d["conf"][i]), line=line))
    return words


# ----------------------------------------------------------------------------- grouping

def _ink_inside(region: Region, box: tuple[int, int, int, int]) -> int:
    rx, ry, rw, rh = region.box
    bx, by, bw, bh = box
    xa, ya = max(rx, bx), max(ry, by)
    xb, yb = min(rx + rw, bx + bw), min(ry + rh, by + bh)
    if xa >= xb or ya >= yb:
        return 0
    return int(region.mask[ya - ry:yb - ry, xa - rx:xb - rx].sum())


def group_words(regions: list[Region], words: list[OcrWord]) -> list[WordGroup]:
    """Join ink regions to the OCR words over them; regions no word covers stay as ink-only words."""
    wboxes = np.array([w.box for w in words], float).reshape(-1, 4)
    primary: list[int] = []
    touching: list[list[int]] = []
    for r in regions:
        rx, ry, rw, rh = r.box
        near = np.flatnonzero((wboxes[:, 0] < rx + rw) & (wboxes[:, 0] + wboxes[:, 2] > rx)
                              & (wboxes[:, 1] < ry + rh) & (wboxes[:, 1] + wboxes[:, 3] > ry))
        counts = {int(j): _ink_inside(r, words[j].box) for j in near}
        counts = {j: c for j, c in counts.items() if c > 0}
        if not counts:
            primary.append(-1)
            touching.append([])
            continue
        best = max(counts, key=counts.get)
        total = int(r.mask.sum())
        # other words that hold a real share of this region's ink (touching words merged by the mask)
        also = [j for j, c in counts.items() if j != best and c >= 0.2 * total]
        primary.append(best)
        touching.append(sorted([best, *also], key=lambda j: words[j].box[0]))

    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(primary):
        groups.setdefault(("ocr", p) if p >= 0 else ("ink", i), []).append(i)
    out: list[WordGroup] = []
    for key, ids in groups.items():
        line = min(regions[i].line for i in ids)
        if key[0] == "ink":
            out.append(WordGroup(region_ids=ids, text="", confidence=-1.0, line=line, source="ink"))
            continue
        used: list[int] = []
        for i in ids:
            used += [j for j in touching[i] if j not in used]
        used.sort(key=lambda j: words[j].box[0])
        confs = [words[j].confidence for j in used if words[j].confidence >= 0]
        out.append(WordGroup(region_ids=sorted(ids), text=" ".join(words[j].text for j in used),
                             confidence=float(np.mean(confs)) if confs else -1.0, line=line, source="ocr"))
    out.sort(key=lambda g: (g.line, min(regions[i].box[0] for i in g.region_ids)))
    return out
