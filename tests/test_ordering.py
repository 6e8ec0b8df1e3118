"""Strokes of one crop are grouped into text lines before they are ordered: lines that touch
are read top to bottom, but a word whose main stroke hangs low is still one line."""
from __future__ import annotations

import numpy as np

from inknotes.derender.ordering import text_lines


def _zigzag(x0: float, x1: float, top: float, bottom: float, n: int = 12) -> np.ndarray:
    x = np.linspace(x0, x1, n)
    y = np.where(np.arange(n) % 2 == 0, bottom, top)
    return np.stack([x, y], 1).astype(np.float32)


def test_a_word_whose_main_stroke_hangs_low_is_one_line():
    # "question": the traced body runs from the x-height down a long q descender, the rest
    # came out as short pieces at the x-height: reading the body as a second line put it last
    pieces = [_zigzag(x, x + 10, 5, 30, 4) for x in (60, 80, 100, 120, 140)]
    body = np.vstack([_zigzag(5, 50, 18, 32), [[50, 32], [48, 60], [45, 75]]]).astype(np.float32)
    lines = text_lines([*pieces, body])
    assert len(lines) == 1 and sorted(lines[0]) == list(range(6))


def test_two_touching_lines_in_one_crop_are_read_top_to_bottom():
    upper = [_zigzag(x, x + 40, 0, 20) for x in (0, 50, 100)]
    lower = [_zigzag(x, x + 40, 34, 54) for x in (0, 50, 100)]
    lower[0] = np.vstack([[[20, 18]], lower[0]]).astype(np.float32)  # an ascender touches line 1
    lines = text_lines([*lower, *upper])
    assert [sorted(m) for m in lines] == [[3, 4, 5], [0, 1, 2]]
