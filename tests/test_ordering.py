"""Strokes of one crop are grouped into text lines before they are ordered: lines that touch
are read top to bottom, but a word whose main stroke hangs low is still one line."""
from __future__ import annotations

import numpy as np

from inknotes.derender.ordering import orient, splice_loops, text_lines


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


def _circle(cx: float, cy: float, r: float, start: float) -> np.ndarray:
    t = start + np.linspace(0, 2 * np.pi, 64)
    pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)
    pts[-1] = pts[0]
    return pts


def test_a_loop_left_as_its_own_cycle_is_drawn_on_the_way_through():
    # an 'o' inside a cursive word: the joining stroke runs left to right under it, and the
    # pairing at the junction left the loop as a closed trail of its own
    host = np.stack([np.arange(0, 101, 1.0), np.zeros(101)], 1)
    loop = _circle(50, -10, 10, start=0.0)  # starts at its right side, touches the host at (50, 0)
    far = _circle(300, 0, 8, start=1.0)  # a lone 'o' elsewhere stays a stroke of its own
    out = splice_loops([host, loop, far], touch=2.0)
    assert len(out) == 2
    one = max(out, key=len)
    assert np.allclose(one[0], host[0]) and np.allclose(one[-1], host[-1])
    length = float(np.hypot(*np.diff(one, axis=0).T).sum())
    assert abs(length - (100 + 2 * np.pi * 10)) < 2
    # entered at the touching point and run the way that turns least: on to the right and up
    at = int(np.argmin(np.hypot(one[:, 0] - 50, one[:, 1])))
    step = one[at + 3] - one[at]
    assert step[0] > 0 and step[1] < 0


def test_a_loop_at_the_end_of_a_stroke_is_not_spliced_into_it():
    # the bowl of a 'd' at the foot of its stem: which comes first is for the order model,
    # splicing the bowl into the stem's end would fix the stroke's start at the stem top
    stem = np.stack([np.full(61, 40.0), np.arange(0, 61, 1.0)], 1)
    bowl = _circle(30, 60, 10, start=0.0)  # touches the stem's lower end at (40, 60)
    out = splice_loops([stem, bowl], touch=2.0, inner=12.0)
    assert len(out) == 2
    assert len(splice_loops([stem, bowl], touch=2.0)) == 1


def test_a_figure_of_eight_starts_where_its_loops_meet_and_goes_up_first():
    # a looped 'f' traced as one closed trail from its crossing: the pen started there, went
    # round the upper loop and then the lower one; starting it at its top (as for an 'o') cut
    # the writer's path in the middle of the upper loop
    t = np.linspace(0, 2 * np.pi, 121)
    eight = np.stack([6 * np.sin(2 * t), -30 * np.sin(t)], 1)  # upper loop first: y < 0
    for pts in (eight, eight[::-1].copy()):
        out = orient(pts)
        assert np.allclose(out[0], (0, 0), atol=1e-6) and np.allclose(out[-1], (0, 0), atol=1e-6)
        assert out[: len(out) // 2, 1].mean() < out[len(out) // 2:, 1].mean()


def test_an_o_starts_at_its_top_and_runs_counter_clockwise():
    out = orient(_circle(0, 0, 10, start=0.0))  # starts at its right side
    assert abs(out[0, 1] + 10) < 0.1  # the top (y down)
    assert out[3, 0] < out[0, 0]  # from the top leftwards: counter-clockwise on the page
