"""Derendering quality on benchmark folders: convert, score, and say which rows miss the targets.

usage: python benchmarks/derender_eval.py BENCH_DIR [BENCH_DIR ...] --out PRED_ROOT
           [--shared ../shared] [--engine tracer] [--jobs 2] [--rescore]

Each BENCH_DIR is built by ``../shared/tools/devset.py`` (the dev set, or held-out writers with
``--contributors phi,pri,sta``). Every image is converted with ``inknotes convert`` into
PRED_ROOT/<folder name>/ (its own settings and library folders, so the user's stay untouched),
then scored by ``../shared/tools/score_ink.py``. This script prints:
- the score table;
- the rows outside the writing-prior targets of the issue (f1 >= 0.97, stroke_ratio <= 1.3,
  length 0.95-1.10, direction >= 0.92, order_tau >= 0.97, dup_excess within +-0.03);
- the same scores per UNIPEN contributor, because the dev set is mostly one writer (hpb).

The sets the notes quote:
  devset.py /tmp/ev/dev
  devset.py /tmp/ev/ph --contributors phi,pri,sta
  devset.py /tmp/ev/h2 --contributors phi,pri,sta --seed 11 --words 120 --lines 80 --pages 4
  devset.py /tmp/ev/L3 --contributors phi,pri,sta --words 0 --lines 150 --pages 0 --seed 99
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

TARGETS = {"f1": (0.97, None), "stroke_ratio": (None, 1.3), "length_ratio": (0.95, 1.10),
           "direction": (0.92, None), "order_tau": (0.97, None), "dup_excess": (-0.03, 0.03)}
SHOWN = ["stroke_ratio", "length_ratio", "direction", "order_tau", "dup_excess"]


def convert(bench: Path, pred: Path, engine: str, jobs: int) -> None:
    """``inknotes convert`` every image of a benchmark folder to InkML, in a clean profile."""
    pred.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, INKNOTES_CONFIG_DIR=str(pred / ".config"), INKNOTES_DATA_DIR=str(pred / ".data"))
    images = sorted(str(p) for p in bench.glob("*.png"))
    cli = "import sys; from inknotes.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", cli, "convert", *images, "--format", "inkml", "-o", str(pred),
           "--engine", engine, "--jobs", str(jobs)]
    with open(pred / "convert.log", "w") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)


def off_target(agg: dict) -> list[str]:
    """The scores of one row that miss their target, as 'name=value'."""
    out = []
    for k, (lo, hi) in TARGETS.items():
        v = agg.get(k, float("nan"))
        if v != v or (lo is not None and v < lo) or (hi is not None and v > hi):
            out.append(f"{k}={v:.3f}")
    return out


def contributor(m: dict) -> str:
    return m.get("source", "page/").split("/")[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="folder for the predictions, one per set")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared",
                    help="the shared folder holding tools/score_ink.py (default: ../shared)")
    ap.add_argument("--engine", default="tracer")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rescore", action="store_true", help="score existing predictions, convert nothing")
    a = ap.parse_args()
    sys.path.insert(0, str(a.shared / "tools"))
    from metrics import aggregate  # noqa: PLC0415 - the shared scorer, not project code
    from score_ink import score, table  # noqa: PLC0415

    for bench in a.bench:
        pred = a.out / bench.name
        if not a.rescore:
            convert(bench, pred, a.engine, a.jobs)
        rows = score(bench, pred)
        text, summary = table(rows)
        print(f"== {bench}\n{text}")
        print("SUMMARY " + " ".join(f"{k}={summary[k]:.3f}" for k in ["f1", *SHOWN]))
        groups = defaultdict(list)
        for r in rows:
            groups[(r["kind"], r["variant"])].append(r)
        misses = [(k, off_target(aggregate(v))) for k, v in sorted(groups.items())]
        for (kind, variant), miss in misses:
            if miss:
                print(f"  off target: {kind}/{variant} " + " ".join(miss))
        print(f"  rows off target: {sum(1 for _, m in misses if m)} of {len(misses)}")
        man = {m["id"]: m for m in json.loads((bench / "manifest.json").read_text())}
        by = defaultdict(list)
        for r in rows:
            by[(contributor(man[r["id"]]), r["kind"])].append(r)
        for (who, kind), rs in sorted(by.items()):
            agg = aggregate(rs)
            print(f"  {who:5} {kind:5} n={agg['n']:3d} " + " ".join(f"{k}={agg[k]:.3f}" for k in SHOWN))


if __name__ == "__main__":
    main()
