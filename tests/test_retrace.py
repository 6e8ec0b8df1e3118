"""The tracer's learned retrace-or-lift call at dead ends: the shipped weights load, the call
reaches the graph (a lifted dead end stays a stroke end, a retraced one becomes a loop), it
finds where real writers lifted their pen more often than the rule does, and the tracer falls
back to the rule without it."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from inknotes.derender import tracer
from inknotes.derender.retrace import MODEL_PATH, load_retrace
from inknotes.derender.skeleton_graph import add_retraces, build_graph, dead_ends, skeleton_of
from inknotes.derender.tracer import dead_end_candidates, trace_mask
from tests.inkcheck import tracer_words


@pytest.fixture(scope="module")
def words() -> list[tuple[np.ndarray, list[np.ndarray], dict]]:
    return tracer_words()


def _stem_and_bar() -> np.ndarray:
    """A 'T' turned on its side: a long bar with a short stem off its middle, one dead end
    that is open (the bar's two ends are the piece's left and right ends)."""
    m = np.zeros((60, 100), np.uint8)
    cv2.line(m, (10, 40), (90, 40), 1, 3)
    cv2.line(m, (50, 40), (50, 22), 1, 3)
    return m.astype(bool)


def test_shipped_weights_load() -> None:
    assert MODEL_PATH.exists(), "resources/models/tracer_retrace.npz is missing"
    assert MODEL_PATH.stat().st_size < 1_000_000
    model = load_retrace()
    assert model is not None and 0.0 < model.threshold < 1.0


@pytest.mark.parametrize("retrace", [True, False])
def test_the_call_decides_whether_a_dead_end_is_drawn_out_and_back(retrace: bool) -> None:
    g = build_graph(skeleton_of(_stem_and_bar()))
    ends = dead_ends(g, max_len=100.0)
    assert len(ends) == 1 and ends[0].retrace  # short: the rule retraces it
    seen = []
    add_retraces(g, max_len=100.0, decide=lambda found: seen.extend(found) or [retrace] * len(found))
    assert [d.tip for d in seen] == [ends[0].tip]
    tips = [n for n, inc in g.incidence().items() if len(inc) == 1]
    loops = [e for e in g.edges.values() if e.u == e.v]
    assert len(tips) == (2 if retrace else 3)
    assert len(loops) == (1 if retrace else 0)


def test_learned_call_finds_real_pen_lifts_better_than_the_rule(words) -> None:
    model = load_retrace()
    lifted, rule_right, model_right = 0, 0, 0
    n = 0
    for mask, truth, meta in words:
        ends, height, pw, off = dead_end_candidates(mask, meta["width"])
        if not ends:
            continue
        calls = model.decide(ends, height, 0.5 * pw)
        pen_ends = np.array([p for t in truth for p in (t[0], t[-1])])
        for d, call in zip(ends, calls, strict=True):
            tip = np.asarray(d.out[-1], float) + off
            lift = float(np.sqrt(((pen_ends - tip) ** 2).sum(1)).min()) <= meta["tol"] + 0.5 * pw
            lifted += lift
            rule_right += d.retrace != lift
            model_right += call != lift
            n += 1
    assert n >= 40 and lifted >= 10
    assert model_right / n >= 0.8, f"model {model_right}/{n}, rule {rule_right}/{n}"
    assert model_right >= rule_right + 0.05 * n


def test_without_a_call_the_rule_decides() -> None:
    ruled, called = (build_graph(skeleton_of(_stem_and_bar())) for _ in range(2))
    rule_calls = [d.retrace for d in dead_ends(ruled, max_len=100.0)]
    add_retraces(ruled, max_len=100.0)
    add_retraces(called, max_len=100.0, decide=lambda found: rule_calls)
    assert sorted(len(v) for v in ruled.incidence().values()) == \
        sorted(len(v) for v in called.incidence().values())
    assert sum(e.u == e.v for e in ruled.edges.values()) == 1


def test_missing_or_damaged_weights_fall_back_to_the_rule(tmp_path, monkeypatch, words) -> None:
    assert load_retrace(tmp_path / "absent.npz") is None
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a numpy archive")
    assert load_retrace(bad) is None
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(MODEL_PATH.read_bytes()[: MODEL_PATH.stat().st_size // 2])
    assert load_retrace(truncated) is None
    params = dict(np.load(MODEL_PATH))
    lacking = tmp_path / "lacking.npz"
    np.savez(lacking, **{k: v for k, v in params.items() if k != "W1"})
    assert load_retrace(lacking) is None
    other = tmp_path / "other_features.npz"
    np.savez(other, **{**params, "mu": params["mu"][:-1], "sd": params["sd"][:-1], "W1": params["W1"][:-1]})
    assert load_retrace(other) is None
    # and the tracer then traces exactly as with the rule
    monkeypatch.setattr(tracer, "load_retrace", lambda: None)
    for mask, _, meta in words[:4]:
        fallback = trace_mask(mask, meta["width"])
        rule = trace_mask(mask, meta["width"], use_retrace=False)
        assert len(fallback) == len(rule)
        for a, b in zip(fallback, rule, strict=True):
            np.testing.assert_array_equal(a.points, b.points)
