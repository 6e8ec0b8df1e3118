"""A learned check of which way each traced stroke runs, from the stroke's shape.

The rules in ``ordering.orient`` look at where a stroke heads; they cannot know that a
writer starts an 'a' at the top right of its bowl or a 'd' at the top of its stem. This model
scores a stroke's shape as drawn one way, ``s(p)``, and says the stroke runs the other way
when ``s(reversed p) > s(p)`` by a margin. By construction the two readings of a stroke get
opposite answers. A one-hidden-layer tanh MLP over the stroke resampled to a few points
(relative to its word's ink box), trained on UNIPEN pen trajectories by
``training/train_direction.py``; numpy only, so the engine never imports TensorFlow.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .prior import direction_features, read_weights

MODEL_PATH = Path(__file__).parents[2] / "resources" / "models" / "tracer_direction.npz"
POINTS = 16  # samples along each stroke


def _resampled(p: np.ndarray, n: int = POINTS) -> np.ndarray:
    p = np.asarray(p, np.float64)
    if len(p) < 2:
        return np.repeat(p[:1], n, 0)
    seg = np.sqrt((np.diff(p, axis=0) ** 2).sum(1))
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 1e-9:
        return np.repeat(p[:1], n, 0)
    t = np.linspace(0.0, arc[-1], n)
    return np.stack([np.interp(t, arc, p[:, 0]), np.interp(t, arc, p[:, 1])], 1)


def shape_features(paths: list[np.ndarray], pw: float) -> np.ndarray:
    """(n, F) features of each path as oriented now: its resampled points relative to the
    word's ink box (scaled by the box height) and relative to the stroke's own first point,
    plus the rule features of ``prior.direction_features``."""
    return features_both(paths, pw)[0]


def features_both(paths: list[np.ndarray], pw: float) -> tuple[np.ndarray, np.ndarray]:
    """``shape_features`` of the paths as oriented now and of the same paths reversed; the
    reversed ones are rearranged from the forward ones (same numbers, half the work)."""
    allp = np.vstack(paths)
    lo = allp.min(0)
    H = max(float(np.ptp(allp[:, 1])), 4.0)
    fwd, rev = [], []
    for p in paths:
        r = _resampled(p)
        b = r[::-1]
        fwd.append(np.concatenate([((r - lo) / H).ravel(), ((r - r[0]) / H).ravel()]))
        rev.append(np.concatenate([((b - lo) / H).ravel(), ((b - b[0]) / H).ravel()]))
    f = direction_features(paths, pw)
    return np.hstack([np.asarray(fwd), f]), np.hstack([np.asarray(rev), _reversed_rule_features(f)])


def _reversed_rule_features(f: np.ndarray) -> np.ndarray:
    """``prior.direction_features`` of reversed paths from those of the paths: start and end
    swap, vectors from start to end, signed area and turning change sign."""
    r = f.copy()
    r[:, [0, 1, 2, 3]] = f[:, [2, 3, 0, 1]]
    r[:, [4, 5, 10, 15]] = -f[:, [4, 5, 10, 15]]
    r[:, [11, 12, 13, 14]] = -f[:, [13, 14, 11, 12]]
    r[:, [16, 17, 18, 19]] = f[:, [17, 16, 19, 18]]
    return r


def _hidden(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return np.tanh(((x - params["mu"]) / params["sd"]) @ params["W1"] + params["b1"])


def margin(params: dict[str, np.ndarray], fwd: np.ndarray, rev: np.ndarray) -> np.ndarray:
    """Logit that each path runs the way it is oriented now (``fwd``) rather than reversed."""
    return ((_hidden(params, fwd) - _hidden(params, rev)) @ params["W2"]).ravel()


class DirectionModel:
    """Shipped weights; ``orient`` reverses the strokes the model is confident run the other way."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.p = params
        self.threshold = float(params.get("threshold", np.zeros(1))[0])

    def orient(self, paths: list[np.ndarray], pw: float) -> list[np.ndarray]:
        if not paths:
            return paths
        m = margin(self.p, *features_both(paths, pw))
        return [p[::-1].copy() if k < -self.threshold and len(p) > 1 else p
                for p, k in zip(paths, m, strict=True)]


@lru_cache(maxsize=1)
def load_direction(path: Path = MODEL_PATH) -> DirectionModel | None:
    """The shipped model, or None (the rules then decide alone) when the file is missing."""
    params = read_weights(path, "direction model", ("mu", "sd", "W1", "b1", "W2"))
    return None if params is None else DirectionModel(params)
