"""Words per second through the InkSight engine with the test stand-in SavedModel.

usage: python benchmarks/inksight_bench.py [--words 256] [--batch 1,8,32] [--model DIR]

The stand-in (tests/test_inksight.py) has the real model's signature but almost no compute, so
these numbers are the engine's own overhead (resize, JPEG, TF call, token decoding, stroke
mapping): the ceiling the real Small-p model's decoding time adds to. With --model DIR the
same loop runs the real model. Runs on the GPU when TensorFlow sees one, else on the CPU;
the device is printed with the numbers.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402

from inknotes.derender.inksight import InkSightEngine, encode_jpeg, prepare_image  # noqa: E402
from tests.test_inksight import build_standin, word_crop  # noqa: E402


def crops(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w, h = int(rng.integers(80, 400)), int(rng.integers(40, 140))
        out.append(word_crop(w, h, (8, 6, w - 8, h - 6)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=256)
    ap.add_argument("--batch", default="1,8,32")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", help="a real InkSight SavedModel folder instead of the stand-in")
    args = ap.parse_args()
    words = crops(args.words)

    t = time.perf_counter()
    for c in words:
        encode_jpeg(prepare_image(c.rgb)[0])
    prep = (time.perf_counter() - t) / len(words) * 1000

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_standin(Path(tmp) / "standin")
        t = time.perf_counter()
        eng = InkSightEngine(model=model, mode="vanilla")
        m = eng.load()
        print(f"model: {'real' if args.model else 'stand-in'}; device {m.runtime.device}; "
              f"load {time.perf_counter() - t:.2f} s")
        if m.runtime.notice:
            print(m.runtime.notice)
        print(f"resize + JPEG per word: {prep:.2f} ms")
        for b in (int(x) for x in args.batch.split(",")):
            eng.batch_size = b
            eng.derender(words[:b])  # warm up (tracing) for this batch shape
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                eng.derender(words)
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            print(f"batch {b:3d}: {len(words) / med:8.1f} words/s  ({med * 1000 / len(words):.2f} ms/word, "
                  f"median of {args.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
