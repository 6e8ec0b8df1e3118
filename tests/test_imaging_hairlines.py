"""A faint rule piece glued to a letter (real photos: multilingual.png) must not become ink."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inknotes.imaging import LoadedPage, prepare


def _page(draw_rule: bool) -> LoadedPage:
    img = np.full((200, 700, 3), 235, np.uint8)
    cv2.putText(img, "you!", (40, 120), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, (40, 30, 30), 3, cv2.LINE_AA)
    if draw_rule:  # one pixel thin, lighter than the ink, starting right at the "!"
        cv2.line(img, (215, 121), (699, 121), (150, 150, 160), 1)
    return LoadedPage(rgb=img, source=Path("rule.png"), page_index=0, page_count=1, dpi=None)


def test_hairline_rule_touching_a_word_is_dropped_but_the_word_stays():
    clean = prepare(_page(False)).mask
    ruled = prepare(_page(True)).mask
    assert ruled[:, 300:].sum() == 0  # the rule to the right of the word is gone
    word = clean[:, :215]
    kept = (ruled[:, :215] & word).sum() / word.sum()
    assert kept > 0.97


def test_thick_straight_pen_line_is_kept():
    img = np.full((120, 600, 3), 240, np.uint8)
    cv2.line(img, (30, 60), (570, 60), (30, 30, 30), 3)  # an underline drawn with the pen
    page = LoadedPage(rgb=img, source=Path("u.png"), page_index=0, page_count=1, dpi=None)
    m = prepare(page).mask
    assert m[:, 100:500].any(axis=0).mean() > 0.95


def test_drop_hairlines_cuts_the_thin_run_and_keeps_strokes_crossing_it():
    from inknotes.imaging import _drop_hairlines
    mask = np.zeros((100, 400), bool)
    cv2.circle(mask.view(np.uint8), (60, 50), 25, 1, 3)  # a letter drawn with a 3 px pen
    mask[50, 85:400] = True  # a 1 px rule piece continuing from the letter to the edge
    mask[20:90, 199:202] = True  # a pen stroke crossing the rule
    out = _drop_hairlines(mask, pen_width=3.0)
    assert not out[50, 120:190].any() and not out[50, 210:400].any()
    assert out[20:90, 199:202].all()  # the crossing stroke is whole
    assert (out & mask)[:, :84].sum() == mask[:, :84].sum()  # the letter is untouched


def test_margin_line_crossing_the_ruling_leaves_no_marks():
    """Where the red margin line crosses each blue rule of a real photo (InkSight's
    'multilingual'), what was left after removing both lines were one-pixel dashes that became
    strokes in the margin; the writing beside them stays."""
    from inknotes.imaging import load_pages

    page = load_pages(Path(__file__).parent / "fixtures" / "imaging_margin_crossings.jpg")[0]
    prep = prepare(page)
    assert not prep.mask[:, :60].any()  # the margin (line at x ~ 20) holds no ink
    rows = prep.mask[:, 60:].any(axis=1)
    assert rows[70:150].mean() > 0.5 and rows[260:310].mean() > 0.5  # the two lines of writing
    assert prep.pen_width >= 2.5
