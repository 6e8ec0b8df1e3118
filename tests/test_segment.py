"""Words and lines come out in reading order with every ink pixel in exactly one word;
Tesseract reads a clear handwritten line; OCR words and ink regions are joined sensibly."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytesseract
import pytest

from inknotes.errors import EngineError
from inknotes.imaging import LoadedPage, PreparedPage, load_pages, prepare
from inknotes.segment import OcrWord, Region, group_words, ink_regions, ocr_words, tesseract_version

FIX = Path(__file__).parent / "fixtures"


def _coverage_is_exact(prep: PreparedPage, regions: list[Region]) -> bool:
    cover = np.zeros(prep.mask.shape, np.int32)
    for r in regions:
        x, y, w, h = r.box
        assert r.mask.shape == (h, w) and r.mask.any()
        cover[y:y + h, x:x + w] += r.mask
    return bool((cover[prep.mask] == 1).all() and (cover[~prep.mask] == 0).all())


def _prepared(rgb: np.ndarray) -> PreparedPage:
    return prepare(LoadedPage(rgb=rgb, source=Path("t.png"), page_index=0, page_count=1, dpi=None))


def test_handwritten_line_gives_its_words_left_to_right():
    # UNIPEN "that tries to recognize them." rendered as a scan
    prep = prepare(load_pages(FIX / "imaging_scan_line.png")[0])
    regions = ink_regions(prep)
    assert len(regions) == 5
    assert {r.line for r in regions} == {0}
    xs = [r.box[0] for r in regions]
    assert xs == sorted(xs)
    assert _coverage_is_exact(prep, regions)


def test_two_lines_with_dotted_letters_in_reading_order():
    img = np.full((260, 700, 3), 250, np.uint8)
    font = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX
    cv2.putText(img, "mini  juice  idea", (30, 90), font, 2.0, (20, 20, 120), 3, cv2.LINE_AA)
    cv2.putText(img, "hello  world", (30, 200), font, 2.0, (20, 20, 120), 3, cv2.LINE_AA)
    prep = _prepared(img)
    regions = ink_regions(prep)
    assert [r.line for r in regions] == [0, 0, 0, 1, 1]  # i-dots join their words, no extra lines
    assert regions[0].box[0] < regions[1].box[0] < regions[2].box[0]
    assert regions[3].box[1] > regions[2].box[1] + regions[2].box[3] - 20
    assert _coverage_is_exact(prep, regions)


def test_no_ink_gives_no_regions():
    img = np.full((100, 100, 3), 240, np.uint8)
    img[:50] = 250
    assert ink_regions(_prepared(img)) == []


def test_full_page_gives_every_line_and_word():
    # an A5 page at 200 dpi with ten lines of six words
    img = np.full((2000, 1400, 3), 248, np.uint8)
    for row in range(10):
        cv2.putText(img, "one  two  three  four  five  six", (60, 150 + row * 180),
                    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, (30, 30, 30), 3, cv2.LINE_AA)
    regions = ink_regions(_prepared(img))
    assert len({r.line for r in regions}) == 10
    assert len(regions) == 60


@pytest.mark.skipif(tesseract_version() is None, reason="tesseract-ocr is not installed")
def test_tesseract_reads_a_clear_handwritten_line():
    # UNIPEN "the quake that shook the world" on ruled paper
    prep = prepare(load_pages(FIX / "imaging_ruled_line.png")[0])
    words = ocr_words(prep)
    texts = {w.text.lower().strip(".,") for w in words}
    assert len(texts & {"the", "quake", "that", "shook", "world"}) >= 2
    assert all(w.line == 0 for w in words)
    assert all(-1 <= w.confidence <= 100 for w in words)
    groups = group_words(ink_regions(prep), words)
    assert any(g.source == "ocr" and "that" in g.text.lower() for g in groups)


def test_missing_tesseract_is_a_plain_sentence(monkeypatch):
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    prep = _prepared(np.pad(np.full((40, 40, 3), 20, np.uint8), ((30, 30), (30, 30), (0, 0)),
                            constant_values=250))
    with pytest.raises(EngineError) as e:
        ocr_words(prep)
    assert str(e.value) == "Tesseract OCR is not installed; install the tesseract-ocr package."
    assert tesseract_version() is None


def _region(x: int, y: int, w: int, h: int, line: int = 0) -> Region:
    return Region(box=(x, y, w, h), mask=np.ones((h, w), bool), line=line)


def test_grouping_joins_regions_to_words_and_keeps_uncovered_ink():
    regions = [_region(0, 0, 30, 20), _region(34, 0, 20, 20), _region(100, 0, 30, 20),
               _region(200, 0, 40, 20), _region(0, 50, 30, 20, line=1)]
    words = [
        OcrWord(box=(0, 0, 55, 20), text="hello", confidence=90, line=0),  # covers regions 0 and 1
        OcrWord(box=(200, 0, 20, 20), text="big", confidence=70, line=0),  # half of region 3
        OcrWord(box=(220, 0, 20, 20), text="cat", confidence=50, line=0),  # other half of region 3
        OcrWord(box=(400, 0, 30, 20), text="ghost", confidence=10, line=0),  # over no ink: dropped
        OcrWord(box=(0, 50, 30, 20), text="two", confidence=80, line=1),
    ]
    groups = group_words(regions, words)
    assert [g.region_ids for g in groups] == [[0, 1], [2], [3], [4]]
    assert [g.source for g in groups] == ["ocr", "ink", "ocr", "ocr"]
    assert [g.text for g in groups] == ["hello", "", "big cat", "two"]
    assert groups[1].confidence == -1
    assert groups[2].confidence == pytest.approx(60)
    assert [g.line for g in groups] == [0, 0, 0, 1]
    assert all("ghost" not in g.text for g in groups)


def test_a_mark_above_a_word_joins_its_line_instead_of_coming_first():
    # UNIPEN "Xin" (photo look): the mark over the "n" is tall enough to pass as a letter
    prep = prepare(load_pages(FIX / "segment_word_with_mark.png")[0])
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0}
    assert _coverage_is_exact(prep, regions)
    # the mark (top right) is not the first region in reading order
    first = regions[0]
    assert first.box[0] < prep.mask.shape[1] / 3


def _written(size: tuple[int, int], texts: list[tuple[str, int, int]]) -> PreparedPage:
    img = np.full((*size, 3), 250, np.uint8)
    for text, x, y in texts:
        cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, (20, 20, 120), 3, cv2.LINE_AA)
    return _prepared(img)


def test_a_rising_line_opened_by_a_quote_mark_stays_one_line():
    # UNIPEN "' bubblet ' which is not in Webster . I was" (photo look): the line rises to the
    # right until its words reach the height of the opening quote mark
    prep = prepare(load_pages(FIX / "segment_rising_line.jpg")[0])
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0}
    assert _coverage_is_exact(prep, regions)


def test_a_date_at_the_right_and_a_greeting_below_it_stay_two_lines():
    prep = _written((220, 1000), [("Nov 25", 760, 60), ("Dear John", 30, 170)])
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0, 1}
    date = [r for r in regions if r.box[0] > 700]
    assert all(r.line == 0 for r in date)  # read first: it is higher up


def test_an_exclamation_mark_standing_high_at_the_line_end_is_read_last():
    # UNIPEN "What a dirty trick !" (photo look): the '!' stands above the words' centre line
    prep = prepare(load_pages(FIX / "segment_line_ending_high_mark.jpg")[0])
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0}
    assert regions[-1].box[0] > 700  # the '!' comes after "trick", not before "What"
    assert _coverage_is_exact(prep, regions)


def test_an_ocr_word_over_two_ink_lines_is_split_by_line_but_a_stray_comma_is_not():
    # Tesseract can read a phrase wrapped onto two rows as tall "words" spanning both rows
    regions = [_region(0, 0, 100, 30), _region(120, 0, 60, 30), _region(0, 60, 90, 30, line=1),
               _region(184, 24, 6, 12, line=1)]  # a comma the line finder put on the next row
    words = [OcrWord(box=(0, 0, 100, 90), text="Unfortunately", confidence=40, line=0),
             OcrWord(box=(120, 0, 70, 40), text="many,", confidence=60, line=0)]
    groups = group_words(regions, words)
    assert [g.region_ids for g in groups] == [[0], [1, 3], [2]]
    assert [g.line for g in groups] == [0, 0, 1]  # the second row's word is read after the first row
    assert [g.text for g in groups] == ["Unfortunately", "many,", ""]


def test_a_capital_i_bar_opening_the_line_does_not_send_the_question_mark_first():
    # UNIPEN "Is that a house on the island ?" (photo look): the bar of the "I" is the leftmost
    # piece of ink, and the tall '?' at the end overlaps both its height and the words' band
    prep = prepare(load_pages(FIX / "segment_bar_and_question_mark.jpg")[0])
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0}
    assert regions[0].box[0] < 40 and regions[-1].box[0] > 1250
    assert _coverage_is_exact(prep, regions)


def test_a_t_bar_reaching_over_the_next_letter_does_not_split_the_line():
    # UNIPEN "To be or not to be ;" (held-out writer sta, scan look): the bar of the opening "T"
    # is a piece of its own that reaches over the "o", and the walk put "o", "or not to" and
    # "be" on a second line read after "T" and "be", so the line's words came out of order
    prep = prepare(load_pages(FIX / "segment_line_starting_with_To.jpg")[0])
    regions = ink_regions(prep)
    assert {r.line for r in regions} == {0}
    xs = [r.box[0] for r in regions]
    assert xs == sorted(xs) and xs[0] < 30
    assert _coverage_is_exact(prep, regions)
