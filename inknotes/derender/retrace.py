"""A learned call, at each dead end of the stroke graph, between a retrace and a pen lift.

A dead end off a junction (the stem of a 'd', the top of a 't', the leg of an 'n') was drawn
either out and back in one pen-down or as the end of a stroke where the pen lifted. The rule
(``skeleton_graph.dead_ends``: short or filled in means retrace) is wrong on about one dead
end in five; on UNIPEN writers it retraced many stems the writer drew on their own, which
leaves the next letter glued to the stem and the stem run backwards. This one-hidden-layer
tanh MLP sees the dead end's size, heading, place in its piece, the branches at its junction
and the rule's call, and is trained on UNIPEN pen trajectories by
``training/train_retrace.py``. numpy only.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from .prior import MLP_ARRAYS, mlp, read_weights
from .skeleton_graph import DeadEnd

log = logging.getLogger(__name__)
MODEL_PATH = Path(__file__).parents[2] / "resources" / "models" / "tracer_retrace.npz"
BRANCH_REACH = 8  # skeleton pixels along each branch that give its heading
N_FEATURES = 17  # columns of ``features``


def _heading(p: np.ndarray, k: int) -> np.ndarray:
    v = np.asarray(p[min(len(p) - 1, k)], np.float64) - p[0]
    n = float(np.hypot(*v))
    return v / n if n > 1e-6 else np.zeros(2)


def features(ends: list[DeadEnd], height: float, pen_radius: float) -> np.ndarray:
    """(n, F) features of dead ends of one word (``height``: its ink height in px)."""
    H, pr = max(height, 4.0), max(pen_radius, 0.5)
    rows = []
    for d in ends:
        out = np.asarray(d.out, np.float64)
        x0, y0, x1, y1 = d.box
        W, Hb = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        j, t = out[0], out[-1]
        chord = float(np.hypot(*(t - j)))
        u = (t - j) / chord if chord > 1e-6 else np.zeros(2)
        cos = sorted(float(_heading(b, BRANCH_REACH) @ u) for b in d.branches) + [1.0, 1.0]
        k = max(1, len(out) // 3)
        a = _heading(out[::-1][: k + 1][::-1], k)  # the last third's heading, towards the tip
        rows.append([d.length / H, np.log(d.length / pr + 1.0), u[0], u[1],
                     chord / max(d.length, 1e-6), (t[0] - x0) / W, (t[1] - y0) / Hb,
                     (j[0] - x0) / W, (j[1] - y0) / Hb, d.half_width / pr, len(d.branches) + 1,
                     np.log(d.n_tips), cos[0], cos[1], float(u[0] * a[1] - u[1] * a[0]),
                     Hb / H, float(d.retrace)])
    return np.asarray(rows, np.float64).reshape(len(ends), N_FEATURES)


class RetraceModel:
    """Shipped weights; ``decide`` is the ``add_retraces`` hook for one word."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.p = params
        self.threshold = float(params["threshold"][0])

    def probability(self, ends: list[DeadEnd], height: float, pen_radius: float) -> np.ndarray:
        """Probability that the pen drew each dead end out and back."""
        if not ends:
            return np.zeros(0)
        return mlp(self.p, "", features(ends, height, pen_radius))

    def decide(self, ends: list[DeadEnd], height: float, pen_radius: float) -> list[bool]:
        return [bool(q >= self.threshold) for q in self.probability(ends, height, pen_radius)]


@lru_cache(maxsize=1)
def load_retrace(path: Path = MODEL_PATH) -> RetraceModel | None:
    """The shipped model, or None (the rules then decide alone) when the file is missing,
    damaged or made for other features."""
    params = read_weights(path, "retrace model", (*MLP_ARRAYS, "threshold"))
    if params is None:
        return None
    if params["mu"].shape != (N_FEATURES,) or params["W1"].shape[0] != N_FEATURES:
        log.error("the tracer retrace model %s is for %d features, not %d; using the rules",
                  path, len(params["mu"]), N_FEATURES)
        return None
    return RetraceModel(params)
