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
from scipy import ndimage
from scipy.signal import find_peaks
from scipy.stats import theilslopes

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
    packed: bool = False  # on a line cut out of a block of small, tightly packed lines


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
            k = int(np.lexsort((dist, score))[0])  # among overlapped bands: the nearest centre
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
        rx, rc, rh = xs[best][-recent:], cs[best][-recent:], hs[best][-recent:]
        slope = 0.0
        if len(rx) >= 3:  # least-squares slope of centre against x (plain Python: a few points)
            mx, mc = sum(rx) / len(rx), sum(rc) / len(rc)
            sxx = sum((x - mx) ** 2 for x in rx)
            if sxx > 0:
                sxc = sum((x - mx) * (c - mc) for x, c in zip(rx, rc, strict=True))
                slope = min(0.3, max(-0.3, sxc / sxx))
        fit[best] = (slope, statistics.median(c - slope * x for x, c in zip(rx, rc, strict=True)))
        hh[best] = statistics.median(rh)
        bt[best] = statistics.median(c - hh_ / 2 for c, hh_ in zip(rc, rh, strict=True))
        bb[best] = statistics.median(c + hh_ / 2 for c, hh_ in zip(rc, rh, strict=True))
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


def _join_side_by_side(line: np.ndarray, main: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Two "lines" that never stack (no letter of one above a letter of the other) and sit on
    one baseline are one line: the left-to-right walk can start a line at a quote mark or a
    capital and later put the rest of a rising line there, splitting it in two."""
    def letters(m: np.ndarray) -> np.ndarray:
        """The members tall enough to be letters (quote marks, dots and commas are not)."""
        h = boxes[m, 3] - boxes[m, 1]
        return m[h >= 0.6 * np.median(h)] if len(m) else m

    def fit(m: np.ndarray) -> tuple[float, float]:
        x, c = (boxes[m, 0] + boxes[m, 2]) / 2, (boxes[m, 1] + boxes[m, 3]) / 2
        if len(m) < 3 or np.ptp(x) <= 0:
            return 0.0, float(np.median(c))
        slope = float(np.clip(theilslopes(c, x)[0], -0.3, 0.3))
        return slope, float(np.median(c - slope * x))

    def one_line(la: np.ndarray, lb: np.ndarray) -> bool:
        """Both lines' letters sit on the union's centre line, and each line long enough to
        have a slope of its own runs the union's way (a date at the right above a greeting at
        the left lines up only along a slant neither of them has)."""
        short, other = (la, lb) if len(la) <= len(lb) else (lb, la)
        if len(short) <= 2 and len(other) >= 3:
            # a lone mark-sized "line" (a '!' or '?' standing high at the end of a line) joins
            # when most of its height lies within the other line's band
            top, bot = np.percentile(boxes[other, 1], 10), np.percentile(boxes[other, 3], 90)
            y0, y1 = boxes[short, 1].min(), boxes[short, 3].max()
            return min(bot, y1) - max(top, y0) >= 0.5 * max(y1 - y0, 1.0)
        u = np.concatenate([la, lb])
        slope, icpt = fit(u)
        h = max(float(np.median(boxes[u, 3] - boxes[u, 1])), 1.0)
        for m in (la, lb):
            x, c = (boxes[m, 0] + boxes[m, 2]) / 2, (boxes[m, 1] + boxes[m, 3]) / 2
            if np.median(np.abs(c - (slope * x + icpt))) > 0.3 * h:
                return False
            # four letters at least: three give a slope that a single descender swings by 0.05
            if len(m) >= 4 and np.ptp(x) >= 3 * h and abs(fit(m)[0] - slope) > 0.03:
                return False
        return True

    merged = True
    while merged:
        merged = False
        n = int(line.max()) + 1 if (line >= 0).any() else 0
        members = [np.flatnonzero((line == k) & main) for k in range(n)]
        lets = [letters(m) for m in members]
        for a in range(n):
            la = lets[a]
            if not len(la):
                continue
            for b in range(a + 1, n):
                lb = lets[b]
                if not len(lb):
                    continue
                # stacked letters, not marks: the bar of a "T" starting a line reaches over
                # the "o" after it without making two lines
                ba, bb = boxes[la], boxes[lb]
                ov = np.minimum(ba[:, None, 2], bb[None, :, 2]) - np.maximum(ba[:, None, 0], bb[None, :, 0])
                narrow = np.minimum((ba[:, 2] - ba[:, 0])[:, None], (bb[:, 2] - bb[:, 0])[None])
                if (ov > 0.3 * np.maximum(narrow, 1.0)).any():
                    continue  # stacked somewhere: two real lines
                if one_line(la, lb):
                    line[line == b] = a
                    line[line > b] -= 1
                    merged = True
                    break
            if merged:
                break
    return line


def _box_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean gap between box a (x0, y0, x1, y1) and each box in b (n, 4)."""
    dx = np.maximum(0, np.maximum(b[:, 0] - a[2], a[0] - b[:, 2]))
    dy = np.maximum(0, np.maximum(b[:, 1] - a[3], a[1] - b[:, 3]))
    return np.hypot(dx, dy)


def _line_bands(ys: np.ndarray, xs: np.ndarray, width: int, pw: float) -> np.ndarray | None:
    """Text line per ink pixel of one tight block, or None when the block is not several lines.

    Small writing (a footnote, a note in the margin) packs its lines so closely that letters of
    neighbouring lines touch, so connected components cannot tell the lines apart. Its row
    profile still can: one dense band per line at a regular pitch. The profile is taken along
    the block's own slope (the one that makes the bands sharpest), and the block counts as
    several lines only when at least three bands each run across most of its width at a
    steady pitch -- the letters of one word also make two or three peaks (ascenders, a bar),
    but not three wide, evenly spaced ones.
    """
    best = (-1.0, 0.0)
    xc = xs - width / 2
    step = max(1, len(ys) // 4000)  # a few thousand pixels find the slope as well as all of them
    for s in np.linspace(-0.1, 0.1, 11):
        yy = np.round(ys[::step] - s * xc[::step]).astype(int)
        h = np.bincount(yy - yy.min()).astype(float)
        if (sc := float(h @ h)) > best[0]:
            best = (sc, s)
    yy = ys - best[1] * xc
    yy = yy - yy.min()
    k = max(3, int(round(pw)) | 1)
    prof = np.convolve(np.bincount(np.round(yy).astype(int)).astype(float), np.ones(k) / k, "same")
    peaks, _ = find_peaks(prof, height=0.35 * prof.max(), prominence=0.3 * prof.max(),
                          distance=max(2, int(2 * pw)))
    if len(peaks) < 3:
        return None
    cov = np.array([len(np.unique(xs[np.abs(yy - p) <= max(1.0, pw / 2)])) / width for p in peaks])
    strong = peaks[cov >= 0.6]
    if len(strong) < 3:
        return None
    gaps = np.diff(strong)
    pitch = float(np.median(gaps))
    if gaps.max() > 1.5 * pitch or gaps.min() < 0.6 * pitch or width < 4 * pitch:
        return None
    # a short first or last line still counts when it sits one pitch from its neighbour
    keep = list(strong)
    for p, c in zip(peaks, cov, strict=True):
        if c >= 0.15 and p not in keep and min(abs(p - q) for q in keep) >= 0.6 * pitch:
            keep.append(p)
    keep = np.sort(np.array(keep))
    cuts = [a + int(np.argmin(prof[a:b + 1])) + 0.5 for a, b in zip(keep[:-1], keep[1:], strict=True)]
    return np.searchsorted(np.array(cuts), yy)


def _split_blocks(mask: np.ndarray, lab: np.ndarray, n: int,
                  pw: float) -> tuple[np.ndarray, int, np.ndarray, list[int]]:
    """Cut blocks of closely packed small lines into one component per line piece.

    Returns the new (densely numbered) labels, their count, per component its block line
    (-1 for components outside any such block) and per block line the first line of its block.
    """
    # blocks: ink closer than a pen width above or below, or a few pen widths (a word gap of
    # small writing) to the side
    r = int(np.ceil(pw))
    near = cv2.dilate(mask.astype(np.uint8), np.ones((2 * r + 1, 10 * r + 1), np.uint8))
    nb, blab, bst, _ = cv2.connectedComponentsWithStats(near, connectivity=8)
    band_of: dict[int, int] = {}
    lab = lab.copy()
    nxt, nlines = n, 0
    first: list[int] = []
    for b in range(1, nb):
        x, y, w, h, _ = bst[b]
        if h < 8 * pw or w < 12 * pw:  # room for at least three lines of letters
            continue
        ys, xs = np.nonzero((blab[y:y + h, x:x + w] == b) & mask[y:y + h, x:x + w])
        band = _line_bands(ys.astype(float), xs.astype(float), int(w), pw)
        if band is None:
            continue
        for k in range(int(band.max()) + 1):
            sel = band == k
            piece = np.zeros((h, w), np.uint8)
            piece[ys[sel], xs[sel]] = 1
            m, plab = cv2.connectedComponents(piece, connectivity=8)
            on = plab[ys[sel], xs[sel]]
            lab[ys[sel] + y, xs[sel] + x] = on + nxt - 1
            for j in range(m - 1):
                band_of[nxt + j] = nlines + k
            nxt += m - 1
        first += [nlines] * (int(band.max()) + 1)
        nlines += int(band.max()) + 1
    if not band_of:
        return lab, n, np.full(n - 1, -1), []
    used = np.bincount(lab.ravel(), minlength=nxt) > 0
    used[0] = True
    lut = np.cumsum(used) - 1
    band = np.full(int(lut[-1]), -1)
    for old, k in band_of.items():
        band[lut[old] - 1] = k
    return lut[lab].astype(np.int32), int(lut[-1]) + 1, band, first


MAX_SKEW = 12.0  # degrees either way: how far a page's writing may tilt and still be levelled
_SLOPES = np.tan(np.radians(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.5)))


def _sharpest_slope(ys: np.ndarray, xs: np.ndarray, bin_: float) -> float:
    """The slope at which these ink pixels' row profile is sharpest (their baseline's run)."""
    xs = xs - xs.mean()
    score = []
    for t in _SLOPES:
        rows = ys - t * xs
        h = np.bincount(((rows - rows.min()) / bin_).astype(np.int64)).astype(np.float64)
        score.append(float((h * h).sum()))
    return float(_SLOPES[int(np.argmax(score))])


SKEW_REACH = 3.0  # letter heights: ink this near side by side counts as one run of writing


def writing_skew(mask: np.ndarray, pw: float, letter_h: float) -> float:
    """The slope (dy/dx) the page's writing runs along (a tilted photo, lines drifting on
    unruled paper): the median, by ink, of the slope at which each run of writing has its
    sharpest row profile. A run is ink joined across gaps narrower than ``SKEW_REACH`` letters,
    so the words of a line are one run and its slope is measured over the whole line, while
    words far apart (a date at the right above a greeting at the left) are runs of their own
    and do not line up along a slant neither of them has. 0 when no run is wide enough to tell."""
    reach = max(3, int(SKEW_REACH * letter_h)) | 1
    rise = max(1, int(0.5 * letter_h)) | 1  # a tilted line's next word sits a little higher or lower
    n, lab, st, _ = cv2.connectedComponentsWithStats(
        cv2.dilate(mask.astype(np.uint8), np.ones((rise, reach), np.uint8)), connectivity=8)
    slopes, weights = [], []
    for k in range(1, n):
        x, y, w, h, _ = st[k]
        if w - (reach - 1) < 3 * max(letter_h, 4 * pw):  # the run's own ink, not its dilation
            continue
        ys, xs = np.nonzero((lab[y:y + h, x:x + w] == k) & mask[y:y + h, x:x + w])
        if len(xs) < 50:
            continue
        step = max(1, len(xs) // 20000)
        slopes.append(_sharpest_slope(ys[::step].astype(np.float64), xs[::step].astype(np.float64),
                                      max(1.0, pw)))
        weights.append(len(xs))
    if not slopes:
        return 0.0
    order = np.argsort(slopes)
    cum = np.cumsum(np.asarray(weights, float)[order])
    return float(np.asarray(slopes)[order][int(np.searchsorted(cum, cum[-1] / 2))])


def ink_regions(prepared: PreparedPage) -> list[Region]:
    """Word-sized groups of ink in reading order; every ink pixel in exactly one region."""
    mask = prepared.mask
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    pw = max(prepared.pen_width, 1.0)
    lab, n, block_line, block_first = _split_blocks(mask, lab, n, pw)
    sl = ndimage.find_objects(lab)
    area = np.bincount(lab.ravel(), minlength=n)[1:].astype(float)
    x0 = np.array([s[1].start for s in sl], float)
    y0 = np.array([s[0].start for s in sl], float)
    x1 = np.array([s[1].stop for s in sl], float)
    y1 = np.array([s[0].stop for s in sl], float)
    boxes = np.stack([x0, y0, x1, y1], 1)
    hgt, wid = y1 - y0, x1 - x0
    free = block_line < 0
    sizable = (area >= 4 * pw * pw) & free
    ref_h = float(np.median(hgt[sizable])) if sizable.any() else float(np.median(hgt))
    # main components set the lines; dots, accents and bars are attached afterwards
    main = ((hgt >= 0.45 * ref_h) | (wid >= 1.5 * ref_h)) & free
    cy = (y0 + y1) / 2
    line = np.full(n - 1, -1)
    nl = 0
    if main.any():
        def lines_of(lift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Line per component with the boxes raised by ``lift``, and which are main."""
            line, on = _fold_marks(_assign_lines(y0 - lift, y1 - lift, x0, main), main, boxes, hgt)
            return _join_side_by_side(line, on, boxes), on

        line, main_ = lines_of(np.zeros_like(x0))
        # the lines found again on the writing levelled (each box moved up or down by the tilt at
        # its centre; the boxes, and so the regions, stay where the ink is): a tilted line comes
        # out whole where the walk above broke it at each word. Not kept when it finds more
        # lines, so a tilt misread from one word's letters never splits that word's line.
        lift = writing_skew(mask, pw, ref_h) * (x0 + x1) / 2
        if lift.any():
            levelled, on = lines_of(lift)
            if levelled.max() <= line.max():
                line, main_, cy = levelled, on, cy - lift
        main = main_
        mains = np.flatnonzero(main)
        for i in np.flatnonzero(~main & free):
            j = mains[np.argmin(_box_gap(boxes[i], boxes[mains]))]
            line[i] = line[j]
        nl = int(line.max()) + 1
    elif free.any():  # only specks outside the blocks: one line of them
        line[free] = 0
        nl = 1
    # reading order of lines: top to bottom by median centre; a block's lines stay together, in
    # their own order, where the block's first line sits
    keys = [(float(np.median(cy[(line == k) & main])), 0) for k in range(nl)]
    if block_first:
        at = [float(np.median(cy[block_line == k])) for k in range(len(block_first))]
        keys += [(at[f], k + 1) for k, f in enumerate(block_first)]
        line = np.where(free, line, nl + block_line)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    rank = np.empty(len(keys), int)
    rank[order] = np.arange(len(keys))
    line = rank[line]
    main = main | ~free

    regions: list[Region] = []
    for k in range(len(keys)):
        members = np.flatnonzero(line == k)
        if not len(members):
            continue
        words = _split_words(lab, members, boxes, main, pw)
        for ids in words:
            regions.append(_region(lab, ids, boxes, k, packed=bool(block_line[ids[0]] >= 0)))
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


def _region(lab: np.ndarray, ids: np.ndarray, boxes: np.ndarray, line: int, packed: bool = False) -> Region:
    bx = boxes[ids]
    xa, ya, xb, yb = int(bx[:, 0].min()), int(bx[:, 1].min()), int(bx[:, 2].max()), int(bx[:, 3].max())
    crop = lab[ya:yb, xa:xb]
    m = np.isin(crop, ids + 1)
    return Region(box=(xa, ya, xb - xa, yb - ya), mask=m, line=line, packed=packed)


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


TESSERACT_MAX_SIDE = 32000  # px; Tesseract's own limit is 32767


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
    image = _ocr_image(prepared)
    # Tesseract refuses images over 32767 px a side (a long strip, small writing upsampled twice)
    scale = min(1.0, TESSERACT_MAX_SIDE / max(image.shape))
    if scale < 1.0:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    try:
        d = pytesseract.image_to_data(image, lang=lang, config=TESSERACT_CONFIG,
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
        box = tuple(int(round(int(d[k][i]) / scale)) for k in ("left", "top", "width", "height"))
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


SPLIT_SHARE = 0.3  # a line's part of one OCR word is a word of its own from this share of the ink


def _ocr_lines(regions: list[Region], primary: list[int]) -> list[int]:
    """The line each region's OCR word part sits on: its own line when that part is substantial,
    else the line holding most of the word's ink."""
    ink: dict[tuple[int, int], int] = {}
    top: dict[tuple[int, int], int] = {}
    bottom: dict[tuple[int, int], int] = {}
    for i, p in enumerate(primary):
        if p >= 0:
            k, (_, y, _, h) = (p, regions[i].line), regions[i].box
            ink[k] = ink.get(k, 0) + int(regions[i].mask.sum())
            top[k] = min(top.get(k, y), y)
            bottom[k] = max(bottom.get(k, y + h), y + h)
    main_of: dict[int, tuple[int, int]] = {}  # per OCR word: its part with the most ink
    for k, c in ink.items():
        if k[0] not in main_of or c > ink[main_of[k[0]]]:
            main_of[k[0]] = k
    out = []
    for i, p in enumerate(primary):
        if p < 0:
            out.append(regions[i].line)
            continue
        main = main_of[p]
        own = (p, regions[i].line)
        # a word, not a mark: a real share of the ink and at least half the main part's height
        word_like = (ink[own] >= SPLIT_SHARE * ink[main]
                     and bottom[own] - top[own] >= 0.5 * (bottom[main] - top[main]))
        out.append(regions[i].line if regions[i].packed or word_like else main[1])
    return out


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

    # an OCR box over words of several ink lines (Tesseract cannot part small, touching lines,
    # and sometimes reads a wrapped phrase as one tall column of "words") is split by line, so
    # the line order holds; its text stays with the part that holds most of its ink. A small
    # mark the line finder put on the next line (a comma, a descender) stays with its word.
    line_of = _ocr_lines(regions, primary)
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(primary):
        key = ("ocr", p, line_of[i]) if p >= 0 else ("ink", i)
        groups.setdefault(key, []).append(i)
    ink_of: dict[int, tuple[int, tuple]] = {}
    for key, ids in groups.items():
        if key[0] == "ocr":
            total = sum(int(regions[i].mask.sum()) for i in ids)
            ink_of[key[1]] = max(ink_of.get(key[1], (-1, key)), (total, key))
    out: list[WordGroup] = []
    for key, ids in groups.items():
        line = min(regions[i].line for i in ids)
        if key[0] == "ink" or ink_of[key[1]][1] != key:
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
