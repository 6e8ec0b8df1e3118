"""Train the tracer's learned stroke-direction model (resources/models/tracer_direction.npz).

usage:
  python ../shared/tools/devset.py /tmp/dir_train --contributors art,bba,bbb,bbc,cea,ceb,dar,hpb \\
      --words 1500 --lines 0 --pages 0 --seed 21
  python ../shared/tools/devset.py /tmp/dir_train2 --contributors art,bba,bbb,bbc,cea,ceb,dar \\
      --words 400 --lines 300 --pages 0 --seed 23
  python ../shared/tools/devset.py /tmp/dir_held --contributors phi,pri,sta \\
      --words 400 --lines 60 --pages 0 --seed 22
  python training/train_direction.py /tmp/dir_train,/tmp/dir_train2 /tmp/dir_held

Every benchmark image goes through the real imaging, region and tracer code up to the
rule-oriented paths (``train_prior.collect``, cached per folder and tracer source); each path is labelled with
whether the rules ran it the way the pen did (``train_prior.labels``). The model
(``inknotes.derender.direction``) is fitted with full-batch Adam in numpy, seeded; the
threshold on its margin is chosen on the training writers only. Held-out contributors are
scored with ../shared/tools/metrics.py through the engine's own ``tracer.write_order``.

The model is five fits with consecutive seeds, averaged (``ensemble``: one MLP of 5 x 32 hidden
units): a single fit moved dev direction by up to 0.007 from one small tracer change to the
next; the average is steadier and on held-out writers a little better.

The shipped weights are what the commands above make (seeded; about 5-10 minutes with the paths
traced afresh), last made on 2026-12-02 (second time that day) with the weight penalty cut from
``--l2 3e-2`` to ``3e-3``: the model had been held back so far that it did not fit its own
training writers (path accuracy by length train 0.938, held-out 0.944; now 0.958 and 0.952).
Sweep on the same paths (one fit; held-out path accuracy): l2 3e-2 0.944, 1e-2 0.948, 3e-3 0.952,
1e-3 0.951; 16 hidden units at 3e-3 0.954, 64 units 2000 steps 0.953; three times the training
paths (all 403 lines of art..dar rendered twice more, seeds 24 and 25, and hpb's 230 lines)
0.944 / 0.948 / 0.952 / 0.953 at 3e-2 / 1e-2 / 3e-3 / 1e-3, so more renders of the same writers
were not kept. End to end through `inknotes convert`, direction dev 0.928 -> 0.943 (words
0.924 -> 0.940, photo words 0.895 -> 0.928, pencil lines 0.908 -> 0.924), pL_held 0.948 -> 0.953,
h2 0.945 -> 0.950, 150 more held-out lines (phi/pri/sta, seed 99) 0.941 -> 0.948; order moves by
at most 0.001. A rerun on the same machine gives the same arrays; on another machine they can
differ in the last digits (the order model retrained there on unchanged paths: 2e-5). The time
before, when the rules and both models began to judge each word stood upright (``ordering.upright`` by
``ordering.writing_slant``; the features here are taken on the upright paths, as
``tracer.write_order`` shows them): held-out path accuracy by length 0.945 (rules 0.931); end to
end direction pL_held 0.947 -> 0.948, h2 0.945 -> 0.945, dev 0.920 -> 0.928, and on held-out
words and lines sheared 25 degrees forward 0.924 -> 0.935 (upright 0.946 -> 0.949, 15 degrees
back 0.960 -> 0.962). Two fits of the same code on separately traced (identical) paths
differed by up to 0.004 on pL_held, so read the held-out numbers as noise-level and the
sheared ones as the gain. The time before (2026-12-01, third time that day,
once small writing was traced upsampled, tilted lines levelled and the retrace call averaged
over five fits; held-out path accuracy by length 0.944, rules 0.933; end to end direction
pL_held 0.945 -> 0.947, h2 0.944 -> 0.945, dev 0.918 -> 0.920 against the second model with
the tracer before these changes) on the paths shaped by the learned retrace call
(``train_retrace.py``, run first). The second time, end to end
through `inknotes convert`, direction pL_held 0.946 -> 0.945, h2 0.944 -> 0.944, dev
0.916 -> 0.918 against the rule-retrace tracer with its own model; the same retrace call with
the direction model not retrained gave 0.945 / 0.942 / 0.921, so the retrain is noise-level.
Earlier (figure-of-eight trails, 2-px spurs), against a single fit on the same paths: pL_held
0.945 -> 0.946, h2 0.943 -> 0.944, dev 0.912 -> 0.916. Weighting hpb's paths down (0.5, 0.25,
0.1 of the others) changed held-out direction by at most 0.001: not kept.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from train_prior import arg_parser, ensemble, evaluate, labels, load_items, save_weights  # noqa: E402

from inknotes.derender.direction import DirectionModel, features_both, margin  # noqa: E402
from inknotes.derender.ordering import upright  # noqa: E402
from inknotes.derender.prior import load_prior  # noqa: E402


def dataset(items: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features of each labelled path as the rules run it and reversed, the label (1 = rules
    right) and a weight (path length: long strokes count for more in the scores)."""
    F, R, y, w = [], [], [], []
    for item in items:
        for r, (d, _) in zip(item["regions"], labels(item), strict=True):
            ok = np.isfinite(d)
            if not ok.any():
                continue
            paths = r["paths"]
            f, b = features_both(upright(paths), r["pw"])  # as ``write_order`` shows them
            lens = np.array([float(np.sqrt((np.diff(p, axis=0) ** 2).sum(1)).sum()) for p in paths])
            F.append(f[ok])
            R.append(b[ok])
            y.append(d[ok])
            w.append(lens[ok])
    w = np.concatenate(w)
    return np.vstack(F), np.vstack(R), np.concatenate(y), w / w.mean()


def fit(F: np.ndarray, R: np.ndarray, y: np.ndarray, wt: np.ndarray, hidden: int, steps: int,
        seed: int, l2: float, lr: float = 0.01) -> dict[str, np.ndarray]:
    """Antisymmetric MLP: logit = (h(F) - h(R)) @ W2, logistic loss, full-batch Adam."""
    rng = np.random.default_rng(seed)
    both = np.vstack([F, R])
    mu, sd = both.mean(0), both.std(0) + 1e-6
    A, B = (F - mu) / sd, (R - mu) / sd
    w = {"W1": rng.normal(0, 1 / np.sqrt(A.shape[1]), (A.shape[1], hidden)), "b1": np.zeros(hidden),
         "W2": rng.normal(0, 1 / np.sqrt(hidden), (hidden, 1))}
    mom = {k: np.zeros_like(v) for k, v in w.items()}
    vel = {k: np.zeros_like(v) for k, v in w.items()}
    n = wt.sum()
    for step in range(1, steps + 1):
        ha, hb = np.tanh(A @ w["W1"] + w["b1"]), np.tanh(B @ w["W1"] + w["b1"])
        p = 1 / (1 + np.exp(-((ha - hb) @ w["W2"]).ravel()))
        g = ((p - y) * wt)[:, None] / n
        grads = {"W2": (ha - hb).T @ g + l2 * w["W2"]}
        ga, gb = (g @ w["W2"].T) * (1 - ha ** 2), -(g @ w["W2"].T) * (1 - hb ** 2)
        grads["W1"] = A.T @ ga + B.T @ gb + l2 * w["W1"]
        grads["b1"] = ga.sum(0) + gb.sum(0)
        for k in w:
            mom[k] = 0.9 * mom[k] + 0.1 * grads[k]
            vel[k] = 0.999 * vel[k] + 0.001 * grads[k] ** 2
            w[k] -= lr * (mom[k] / (1 - 0.9 ** step)) / (np.sqrt(vel[k] / (1 - 0.999 ** step)) + 1e-8)
    return {**w, "mu": mu, "sd": sd}


def weighted_accuracy(m: np.ndarray, y: np.ndarray, wt: np.ndarray, threshold: float) -> float:
    keep = m >= -threshold  # the rules' direction stays unless the model is confident
    return float(((keep == (y > 0.5)) * wt).sum() / wt.sum())


def main() -> None:
    ap = arg_parser(__doc__, "tracer_direction.npz")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--l2", type=float, default=3e-3)
    ap.add_argument("--ensemble", type=int, default=5, help="fits with consecutive seeds, averaged")
    a = ap.parse_args()
    t0 = time.time()
    train, held = load_items(a.train), load_items(a.held)
    F, R, y, wt = dataset(train)
    hF, hR, hy, hwt = dataset(held)
    print(f"{len(y)} train paths (rules right {np.average(y, weights=wt):.3f} by length), "
          f"{len(hy)} held-out ({np.average(hy, weights=hwt):.3f}); data {time.time() - t0:.0f} s")
    params = ensemble([fit(F, R, y, wt, a.hidden, a.steps, a.seed + k, a.l2) for k in range(a.ensemble)])
    m, hm = margin(params, F, R), margin(params, hF, hR)
    # threshold: the smallest margin that is right more often than the rules, on training writers
    best = max((weighted_accuracy(m, y, wt, t), -t) for t in np.linspace(0, 3, 31))
    threshold = -best[1]
    print(f"threshold {threshold:.1f}: path accuracy by length train {best[0]:.3f} "
          f"(rules {np.average(y, weights=wt):.3f}), held {weighted_accuracy(hm, hy, hwt, threshold):.3f} "
          f"(rules {np.average(hy, weights=hwt):.3f}); fit {time.time() - t0:.0f} s")
    params["threshold"] = np.array([threshold])
    model, prior = DirectionModel(params), load_prior()
    keys = ["f1", "direction", "order_tau"]
    for name, items in (("train", train), ("held", held)):
        for label, md in (("rules", None), ("model", model)):
            agg = evaluate(items, prior, md)
            print(f"{name:5} {label:5} " + " ".join(f"{k}={agg[k]:.3f}" for k in keys))
    save_weights(params, a.out)
    print(f"trained in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
