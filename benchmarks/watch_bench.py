"""Watch folder speed: time from a file landing to its page in the library, and pages per minute
for a burst. Real watcher, real library, real conversions (tracer engine by default).

    python benchmarks/watch_bench.py [--image IMG] [--single 10] [--burst 100] [--stable-seconds 1.0]

The latency includes the stability wait (``--stable-seconds``) on purpose: that is what a user
sees. Each file is the image with a few pixels changed so every file has its own SHA-256.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import cv2

from inknotes.jobs import JobPool
from inknotes.store import Library
from inknotes.watch import Watcher

DEFAULT_IMAGE = Path(__file__).resolve().parent.parent / "tests" / "data" / "watch_andrew.png"


def variants(image: Path, n: int, start: int) -> list[bytes]:
    """``n`` files with the same picture and different bytes (a JPEG comment, or PNG pixels)."""
    raw = image.read_bytes()
    if raw[:2] == b"\xff\xd8":  # JPEG: keep the original encoding, add a COM segment after SOI
        out = []
        for i in range(start, start + n):
            note = f"watch bench {i}".encode()
            out.append(raw[:2] + b"\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note + raw[2:])
        return out
    base = cv2.imread(str(image), cv2.IMREAD_COLOR)
    ext = image.suffix.lower() or ".png"
    out = []
    for i in range(start, start + n):
        img = base.copy()
        img[0, :8, 0] = [(i >> (4 * k)) & 0xF for k in range(8)]
        ok, buf = cv2.imencode(ext, img)
        out.append(buf.tobytes())
    return out


def drop(folder: Path, name: str, data: bytes) -> None:
    """Land a file the way a sync client does: write a temp name, rename into place."""
    tmp = folder / f"{name}.part"
    tmp.write_bytes(data)
    tmp.rename(folder / name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--single", type=int, default=10, help="files dropped one at a time (latency)")
    ap.add_argument("--burst", type=int, default=100, help="files dropped at once (throughput)")
    ap.add_argument("--stable-seconds", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=None, help="CPU workers (default: core count)")
    ap.add_argument("--engine", default="tracer")
    ap.add_argument("--poll", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        lib = Library.open(Path(tmp) / "bench.inknotes")
        pool = JobPool(args.workers)
        added: dict[str, float] = {}
        problems: list[str] = []
        cond = threading.Condition()

        def on_event(e) -> None:
            if e.kind in ("failed", "duplicate"):
                problems.append(f"{e.kind}: {e.path.name} {e.error or ''}")
            if e.kind in ("added", "failed", "duplicate"):
                with cond:
                    added[e.path.name] = time.perf_counter()
                    cond.notify_all()

        w = Watcher(inbox, lib, stable_seconds=args.stable_seconds, engine=args.engine, pool=pool,
                    poll=args.poll)
        w.add_listener(on_event)
        w.start()
        w._get_engine()  # model load is not part of the per-file numbers
        try:
            latencies = []
            for i, data in enumerate(variants(args.image, args.single, 0)):
                name = f"single-{i:04d}{args.image.suffix}"
                t0 = time.perf_counter()
                drop(inbox, name, data)
                with cond:
                    cond.wait_for(lambda n=name: n in added, timeout=120)
                latencies.append(added[name] - t0)
            datas = variants(args.image, args.burst, 100_000)
            t0 = time.perf_counter()
            for i, data in enumerate(datas):
                drop(inbox, f"burst-{i:05d}{args.image.suffix}", data)
            with cond:
                cond.wait_for(lambda: sum(k.startswith("burst-") for k in added) == args.burst, timeout=3600)
            burst_s = time.perf_counter() - t0
        finally:
            w.stop()
            pool.shutdown()
        pages = len(lib.pages())
        print(f"image: {args.image.name}  engine: {args.engine}  workers: {pool.cpu_workers}  "
              f"stable_seconds: {args.stable_seconds}  observer: {'polling' if args.poll else 'native'}")
        print(f"landing -> page in library, median of {len(latencies)}: {statistics.median(latencies):.2f} s "
              f"(min {min(latencies):.2f}, max {max(latencies):.2f}; includes the {args.stable_seconds} s "
              f"stability wait)")
        print(f"burst of {args.burst}: {burst_s:.1f} s, {args.burst / burst_s * 60:.0f} pages/minute")
        print(f"pages in library: {pages} (expected {args.single + args.burst})")
        for line in problems:
            print(line)


if __name__ == "__main__":
    main()
