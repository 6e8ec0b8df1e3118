"""The tracer's learned direction check: the shipped weights load, give the two readings of a
stroke opposite answers, make real handwriting's strokes run the way the writer drew them at
least as often as the rules do, and the tracer falls back to the rules without them."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from inknotes.derender.direction import MODEL_PATH, load_direction, margin, shape_features
from inknotes.derender.tracer import trace_mask, trace_paths
from inknotes.ink import resample
from tests.inkcheck import tracer_words


def direction(pred: list[np.ndarray], truth: list[np.ndarray], tol: float) -> float:
    """Share of true ink (by length) whose covering traced stroke runs the way the pen ran."""
    P = [resample(s, 1.0) for s in pred]
    pid = np.concatenate([np.full(len(p), i) for i, p in enumerate(P)])
    tree = cKDTree(np.concatenate(P))
    right = total = 0.0
    for t in truth:
        g = resample(t, 1.0)
        d, i = tree.query(g)
        ok = d <= tol
        if ok.sum() < 3:
            continue
        main = np.bincount(pid[i[ok]]).argmax()
        m = ok & (pid[i] == main)
        if m.sum() < 3 or np.ptp(i[m]) == 0:
            continue
        c = np.corrcoef(np.flatnonzero(m), i[m])[0, 1]
        if np.isfinite(c) and abs(c) > 0.2:
            right += m.sum() * (c > 0)
            total += m.sum()
    return right / max(total, 1.0)


@pytest.fixture(scope="module")
def words() -> list[tuple[np.ndarray, list[np.ndarray], dict]]:
    return tracer_words()


def test_shipped_weights_load() -> None:
    assert MODEL_PATH.exists(), "resources/models/tracer_direction.npz is missing"
    assert MODEL_PATH.stat().st_size < 1_000_000
    assert load_direction() is not None


def test_a_stroke_and_its_reverse_get_opposite_answers(words) -> None:
    model = load_direction()
    paths, pw = trace_paths(words[0][0], words[0][2]["width"])
    fwd = shape_features(paths, pw)
    rev = shape_features([p[::-1] for p in paths], pw)
    np.testing.assert_allclose(margin(model.p, fwd, rev), -margin(model.p, rev, fwd), atol=1e-5)


def test_learned_direction_follows_the_writer_at_least_as_well_as_the_rules(words) -> None:
    learned, rules = [], []
    for mask, truth, meta in words:
        with_model = trace_mask(mask, meta["width"])
        without = trace_mask(mask, meta["width"], use_prior=False)
        learned.append(direction([s.points for s in with_model], truth, meta["tol"]))
        rules.append(direction([s.points for s in without], truth, meta["tol"]))
    assert np.mean(learned) >= 0.96, f"direction {np.mean(learned):.3f} (rules {np.mean(rules):.3f})"
    assert np.mean(learned) >= np.mean(rules) - 1e-9


def test_missing_or_damaged_weights_fall_back_to_the_rules(tmp_path) -> None:
    assert load_direction(tmp_path / "absent.npz") is None
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a numpy archive")
    assert load_direction(bad) is None
