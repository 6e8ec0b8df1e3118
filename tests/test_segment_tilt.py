"""Writing that runs at a tilt (a photo taken askew, lines drifting on unruled paper) still
reads line by line, each line left to right."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inknotes.imaging import LoadedPage, load_pages, prepare
from inknotes.segment import ink_regions, writing_skew

FIX = Path(__file__).parent / "fixtures"


def _rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The image turned by ``degrees`` (counter-clockwise, as a photo taken askew), on paper."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    W, H = int(h * s + w * c) + 1, int(h * c + w * s) + 1
    m[0, 2] += W / 2 - w / 2
    m[1, 2] += H / 2 - h / 2
    paper = tuple(int(v) for v in np.median(rgb.reshape(-1, 3), 0))
    return cv2.warpAffine(rgb, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=paper)


def _prepared(rgb: np.ndarray):
    return prepare(LoadedPage(rgb=rgb, source=Path("t.png"), page_index=0, page_count=1, dpi=None))


@pytest.mark.parametrize("degrees", [-7.0, 7.0])
def test_a_tilted_handwritten_line_stays_one_line_left_to_right(degrees: float):
    # UNIPEN "that tries to recognize them." (scan look), its five words turned by 7 degrees:
    # each word sits a letter's height above or below the one before it
    rgb = load_pages(FIX / "imaging_scan_line.png")[0].rgb
    prep = _prepared(_rotated(rgb, degrees))
    slope = writing_skew(prep.mask, prep.pen_width, 40.0)
    assert abs(np.degrees(np.arctan(slope)) + degrees) <= 2.0  # y points down: -degrees
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0}
    xs = [r.box[0] for r in regions]
    assert xs == sorted(xs) and len(regions) == 5


def test_a_tilted_page_reads_line_by_line():
    # three copies of the UNIPEN line one under the other, the page turned by 7 degrees
    line = load_pages(FIX / "imaging_scan_line.png")[0].rgb
    h, w = line.shape[:2]
    page = np.full((3 * h + 40, w, 3), np.median(line.reshape(-1, 3), 0), np.uint8)
    for k in range(3):
        page[20 + k * h: 20 + (k + 1) * h] = line
    prep = _prepared(_rotated(page, 7.0))
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0, 1, 2}
    lines = [[r for r in regions if r.line == k] for k in range(3)]
    assert [len(m) for m in lines] == [5, 5, 5]
    for m in lines:
        assert [r.box[0] for r in m] == sorted(r.box[0] for r in m)
    # each line's first word lies below the first word of the line before
    assert lines[0][0].box[1] < lines[1][0].box[1] < lines[2][0].box[1]


def test_level_writing_measures_no_tilt():
    prep = prepare(load_pages(FIX / "imaging_scan_line.png")[0])
    assert abs(np.degrees(np.arctan(writing_skew(prep.mask, prep.pen_width, 40.0)))) <= 1.5
