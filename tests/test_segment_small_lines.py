"""A block of small, tightly packed handwriting (a footnote, a margin note) whose lines touch
comes out line by line, in reading order, between the normal-size lines around it."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inknotes.imaging import LoadedPage, load_pages, prepare
from inknotes.segment import ink_regions

FIX = Path(__file__).parent / "fixtures"


def _page_with_small_block() -> np.ndarray:
    # UNIPEN "that tries to recognize them." at full size above and below six copies shrunk to
    # 0.3, written with a thick pen and packed 12 px apart so their letters touch across lines
    line = load_pages(FIX / "imaging_scan_line.png")[0].rgb
    page = np.full((700, 1000, 3), 255, np.uint8)
    page[40:149, 40:799] = np.minimum(page[40:149, 40:799], line)
    small = cv2.erode(cv2.resize(line, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA),
                      np.ones((3, 3), np.uint8))
    h, w = small.shape[:2]
    for i in range(6):
        y = 220 + 12 * i
        page[y:y + h, 40:40 + w] = np.minimum(page[y:y + h, 40:40 + w], small)
    page[480:589, 40:799] = np.minimum(page[480:589, 40:799], line)
    return page


def test_touching_small_lines_come_out_one_by_one_between_the_big_lines():
    page = _page_with_small_block()
    prep = prepare(LoadedPage(rgb=page, source=Path("t.png"), page_index=0, page_count=1, dpi=None))
    regions = ink_regions(prep)
    lines = sorted({r.line for r in regions})
    assert lines == list(range(8))  # big line, six small lines, big line
    tops = {k: min(r.box[1] for r in regions if r.line == k) for k in lines}
    assert [tops[k] for k in lines] == sorted(tops.values())
    for k in range(1, 7):
        small = [r for r in regions if r.line == k]
        # each small line is one line of small writing, not a stack of them
        up = prep.upsample  # box sizes below are in the page's own pixels
        assert max(r.box[3] for r in small) < 22 * up
        assert max(r.box[1] + r.box[3] for r in small) - min(r.box[1] for r in small) < 24 * up
        assert all(r.packed for r in small)
    # every ink pixel still lands in exactly one region
    cover = np.zeros(prep.mask.shape, np.int32)
    for r in regions:
        x, y, w, h = r.box
        cover[y:y + h, x:x + w] += r.mask
    assert (cover[prep.mask] == 1).all() and (cover[~prep.mask] == 0).all()
    assert not any(r.packed for r in regions if r.line in (0, 7))
