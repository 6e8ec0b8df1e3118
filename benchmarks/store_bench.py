"""Library speed on a realistic big library: 1,000 pages / 500,000 strokes of ~30 points.

Prints median milliseconds for: opening a page's strokes, a hit test, an FTS search and one
erase command (targets 100 / 5 / 50 / 20 ms). Usage:

    python benchmarks/store_bench.py [--pages 1000] [--strokes 500] [--library PATH] [--keep]

With ``--library PATH`` of an existing bench library the (slow) generation is skipped.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from inknotes.ink import PageResult, Stroke, Word
from inknotes.store import Library

PAGE_W, PAGE_H = 2480, 3508  # A4 at 300 dpi
STROKES_PER_WORD = 5


def make_page(rng: np.random.Generator, vocab: list[str], n_strokes: int) -> PageResult:
    """Words on lines; each word a few ~30-point pen strokes wandering inside its box."""
    n_words = n_strokes // STROKES_PER_WORD
    cols = 8
    strokes, words = [], []
    t = 0.0
    for w in range(n_words):
        row, col = divmod(w, cols)
        x0, y0 = 150 + col * 280, 200 + row * 50
        bw, bh = rng.uniform(120, 240), 40.0
        ids = []
        for _ in range(STROKES_PER_WORD):
            steps = rng.normal(0, 4, (30, 2)).cumsum(0)
            pts = np.c_[x0 + rng.uniform(0, bw), y0 + rng.uniform(0, bh)] + steps
            ids.append(len(strokes))
            s = Stroke.from_points(pts.astype(np.float32), rng.uniform(1.5, 3.5), t0=t)
            t = float(s.time[-1]) + 120
            strokes.append(s)
        words.append(Word((x0, y0, bw, bh), vocab[rng.integers(len(vocab))], 90.0, row, ids))
    return PageResult(size=(PAGE_W, PAGE_H), strokes=strokes, words=words, dpi=300.0, engine="bench")


def vocabulary(rng: np.random.Generator, n: int = 3000) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, rng.integers(3, 10))) for _ in range(n)]


def median_ms(fn, runs: int) -> float:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--strokes", type=int, default=500, help="strokes per page")
    ap.add_argument("--library", type=Path, help="bench library to reuse or create")
    ap.add_argument("--keep", action="store_true", help="keep the generated library")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    vocab = vocabulary(rng)
    tmp = None
    if args.library is None:
        tmp = tempfile.TemporaryDirectory(prefix="inknotes-bench-")
        args.library = Path(tmp.name) / "bench.inknotes"
    lib = Library.open(args.library)
    have = len(lib.pages())
    if have < args.pages:
        t0 = time.perf_counter()
        for i in range(have, args.pages):
            lib.add_page(make_page(rng, vocab, args.strokes), sha256=f"bench-{i}")
        dt = time.perf_counter() - t0
        print(f"generated {args.pages - have} pages in {dt:.1f} s "
              f"({(args.pages - have) * args.strokes / dt:,.0f} strokes/s)")
    pages = [p.id for p in lib.pages()]
    n_strokes = sum(p.stroke_count for p in lib.pages())
    size_mb = args.library.stat().st_size / 1e6
    print(f"library: {len(pages)} pages, {n_strokes:,} strokes, {size_mb:.0f} MB")

    pick = np.random.default_rng(1)
    sample = [int(pick.choice(pages)) for _ in range(200)]
    open_ms = median_ms(lambda i: lib.strokes(sample[i]), 30)
    # aim at ink: a point in the middle of a random stroke of the page (drawn, not timed)
    pts = []
    for pid in sample:
        strokes = lib.strokes(pid)
        pts.append(strokes[int(pick.integers(len(strokes)))].stroke.points[15] if strokes else (0.0, 0.0))
    pts = np.asarray(pts, np.float32) + pick.normal(0, 2, (len(sample), 2)).astype(np.float32)
    hit_ms = median_ms(lambda i: lib.strokes_at(sample[i], *pts[i], 6.0), 200)
    found = statistics.mean(len(lib.strokes_at(sample[i], *pts[i], 6.0)) for i in range(50))
    queries = [vocab[int(k)] for k in pick.integers(len(vocab), size=50)]
    search_ms = median_ms(lambda i: lib.search(queries[i]), 50)
    hits = [len(lib.search(q)) for q in queries[:10]]

    list_ms = median_ms(lambda i: lib.pages(), 5)
    erased = []

    def erase(i: int) -> None:
        x, y = pts[i]
        path = np.array([[x, y - 30], [x + 10, y], [x + 20, y + 30]], np.float32)
        erased.append(lib.erase(sample[i], path, 8.0))
    erase_ms = median_ms(erase, 30)
    steps = len(lib.history())

    print(f"open a page's strokes: {open_ms:7.2f} ms median  (target <= 100)")
    print(f"hit test (point):      {hit_ms:7.2f} ms median  (target <= 5; ~{found:.1f} strokes found)")
    mean_hits = statistics.mean(hits)
    print(f"FTS search:            {search_ms:7.2f} ms median  (target <= 50; ~{mean_hits:.0f} hits)")
    pieces = statistics.mean(map(len, erased))
    print(f"erase command:         {erase_ms:7.2f} ms median  (target <= 20; ~{pieces:.1f} new strokes each)")
    print(f"list all pages:        {list_ms:7.2f} ms median  (with live stroke counts)")
    for _ in range(steps):  # leave a reused bench library as it was
        lib.undo()
    lib.close()
    if tmp is not None and not args.keep:
        tmp.cleanup()
    elif args.keep or args.library:
        print(f"library kept at {args.library}")


if __name__ == "__main__":
    main()
