"""Crash safety, concurrency, disk full and read-only libraries, with real processes and files."""
from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

from inknotes.errors import LibraryError
from inknotes.ink import PageResult, Stroke, Word
from inknotes.store import Library

STROKES_PER_PAGE = 120

IMPORTER = """
import os, sys, numpy as np
from inknotes.ink import PageResult, Stroke, Word
from inknotes.store import Library
lib = Library.open(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[2]))
print("ready", flush=True)
while True:
    strokes = [Stroke.from_points(rng.random((30, 2)) * 500, 2.0) for _ in range(int(sys.argv[3]))]
    img = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    page = PageResult(size=(200, 200), strokes=strokes, words=[Word((1, 1, 9, 9), "crash", 90, 0, [0, 1])],
                      image=img)
    pid = lib.add_page(page, sha256=os.urandom(16).hex())
    print("page", pid, flush=True)
"""

EDITOR = """
import sys, numpy as np
from inknotes.ink import Stroke
from inknotes.store import Library
lib = Library.open(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[2]))
pid = lib.pages()[0].id
ink = lib.layers(pid)[1].id
print("ready", flush=True)
while True:
    ids = [s.id for s in lib.strokes(pid, ink)]
    op = rng.integers(0, 6)
    if op == 0:
        lib.erase(pid, rng.random((4, 2)) * 500, 6.0)
    elif op == 1:
        lib.recolor(list(rng.choice(ids, 20)), "#%06x" % rng.integers(0, 1 << 24))
    elif op == 2:
        lib.transform(list(rng.choice(ids, 20)), np.array([[1, 0, 1.0], [0, 1, -1.0]]))
    elif op == 3:
        lib.add_stroke(pid, ink, Stroke.from_points(rng.random((30, 2)) * 500, 2.0))
    elif op == 4:
        lib.delete_strokes(list(rng.choice(ids, 3)))
    else:
        lib.undo()
        lib.redo()
        continue
    print("cmd", lib.history()[-1][0], flush=True)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _kill_at_random(script: str, path: Path, rounds: int, seed: int) -> list[str]:
    """Run ``script`` ``rounds`` times, SIGKILL it at a random moment; return every line it printed."""
    rnd = random.Random(seed)
    lines: list[str] = []
    for i in range(rounds):
        proc = subprocess.Popen([sys.executable, "-c", script, str(path), str(seed * 100 + i),
                                 str(STROKES_PER_PAGE)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        first = proc.stdout.readline()
        assert first.strip() == "ready", proc.stderr.read()
        time.sleep(rnd.uniform(0.02, 0.35))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err
        assert "Traceback" not in err, err
        lines += out.splitlines()
    return lines


def _structure_ok(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    n_strokes = con.execute("SELECT count(*) FROM strokes").fetchone()[0]
    assert con.execute("SELECT count(*) FROM stroke_rtree").fetchone()[0] == n_strokes
    assert con.execute("SELECT count(*) FROM strokes WHERE length(data) != n * 16").fetchone()[0] == 0
    return con


def test_sigkill_during_import_leaves_whole_pages_only(tmp_path):
    path = tmp_path / "kill.inknotes"
    Library.open(path).close()
    lines = _kill_at_random(IMPORTER, path, rounds=10, seed=1)
    committed = {int(x.split()[1]) for x in lines if x.startswith("page ")}
    con = _structure_ok(path)
    pages = [r[0] for r in con.execute("SELECT id FROM pages")]
    assert committed <= set(pages), "a page reported as stored was lost"
    assert len(pages) >= 5
    for pid in pages:
        layers = con.execute("SELECT name FROM layers WHERE page_id = ? ORDER BY ord", (pid,)).fetchall()
        assert layers == [("Scan",), ("Ink",)]
        assert con.execute("SELECT count(*) FROM strokes WHERE page_id = ?", (pid,)).fetchone()[0] \
            == STROKES_PER_PAGE
        assert con.execute("SELECT count(*) FROM page_images WHERE page_id = ?", (pid,)).fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM words WHERE page_id = ?", (pid,)).fetchone()[0] == 1
    con.close()
    with Library.open(path) as lib:  # and the library still works
        assert len(lib.search("crash", limit=10_000)) == len(pages)


def test_sigkill_during_edits_keeps_every_committed_command(tmp_path):
    path = tmp_path / "edit.inknotes"
    rng = np.random.default_rng(0)
    with Library.open(path) as lib:
        pid = lib.add_page(PageResult(size=(500, 500), strokes=[
            Stroke.from_points(rng.random((30, 2)) * 500, 2.0) for _ in range(300)]))
    lines = _kill_at_random(EDITOR, path, rounds=10, seed=2)
    committed = [int(x.split()[1]) for x in lines if x.startswith("cmd ")]
    assert len(committed) >= 5
    con = _structure_ok(path)
    states = dict(con.execute("SELECT id, state FROM commands").fetchall())
    assert set(committed) <= set(states), "an edit reported as done was lost"
    assert list(states.values()).count("undone") <= 1  # only a kill between undo and redo leaves one
    missing = con.execute("SELECT count(*) FROM command_changes c LEFT JOIN strokes s ON s.id = c.row_id "
                          "WHERE c.tbl = 'strokes' AND s.id IS NULL").fetchone()[0]
    assert missing == 0
    con.close()
    with Library.open(path) as lib:
        n = len(lib.strokes(pid))
        while lib.undo():
            pass
        assert len(lib.strokes(pid)) == 300  # the whole history still undoes to the imported page
        assert n > 0


def test_worker_threads_write_while_gui_thread_reads(tmp_path):
    path = tmp_path / "threads.inknotes"
    lib = Library.open(path)
    base = lib.add_page(_page(0), sha256="base")
    errors: list[BaseException] = []
    done = threading.Event()

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - collected for the assertion below
                errors.append(e)
        return run

    def writer(k: int) -> None:
        for i in range(12):
            lib.add_page(_page(i), sha256=f"{k}-{i}")

    def editor() -> None:
        for i in range(20):
            lib.erase(base, np.array([[10.0 * i, 0], [10.0 * i, 300]]), 3)
            if i % 3 == 0:
                lib.undo()

    def reader() -> None:
        while not done.is_set():
            lib.pages()
            lib.strokes(base)
            lib.search("word")
            lib.strokes_at(base, 50, 120, 4)

    # a second process writes to the same file at the same time
    other = subprocess.Popen([sys.executable, "-c", IMPORTER, str(path), "7", "50"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_env())
    assert other.stdout.readline().strip() == "ready"
    writers = [threading.Thread(target=guard(lambda k=k: writer(k))) for k in range(3)]
    writers.append(threading.Thread(target=guard(editor)))
    readers = [threading.Thread(target=guard(reader)) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(120)
    done.set()
    for t in readers:
        t.join(60)
    other.terminate()
    _, err = other.communicate()
    assert "locked" not in err
    assert errors == []
    mine = [p for p in lib.pages() if p.sha256 != "base" and "-" in p.sha256]
    assert len(mine) == 36
    assert lib.integrity_check() == "ok"
    lib.close()


def _page(i: int, n: int = 40) -> PageResult:
    strokes = [Stroke.from_points([[5 + 7 * k, 100], [9 + 7 * k, 140], [12 + 7 * k, 100]], 2.0)
               for k in range(n)]
    return PageResult(size=(400, 300), strokes=strokes, words=[Word((0, 90, 60, 60), f"word{i}", 80, 0, [0])])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_disk_full_is_a_clear_error_and_loses_nothing(tmp_path):
    path = tmp_path / "full.inknotes"
    with Library.open(path) as lib:
        first = lib.add_page(_page(0), sha256="first")
    lib = Library.open(path)
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]

    @event.listens_for(lib._engine, "connect")
    def _cap(dbapi, _rec):  # SQLite's own quota: the file may not grow past a few more pages
        dbapi.execute(f"PRAGMA max_page_count = {pages + 4}")
    lib._engine.dispose()
    big = _page(1, n=3000)
    with pytest.raises(LibraryError, match="disk is full") as e:
        lib.add_page(big, sha256="big")
    assert e.value.path == str(path)
    assert [p.id for p in lib.pages()] == [first]            # no half page
    lib.close()
    with Library.open(path) as lib:
        assert lib.integrity_check() == "ok"
        assert len(lib.strokes(first)) == 40
        assert lib.add_page(big, sha256="big") > first        # works again once there is room


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 1 MiB filesystem (tmpfs); skipped where mounting is not allowed."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("needs root to mount a tiny tmpfs")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_full_disk_and_read_only_filesystem(tiny_fs):
    path = tiny_fs / "small.inknotes"
    stored = []
    with Library.open(path) as lib:
        with pytest.raises(LibraryError, match="disk is full"):
            for i in range(200):
                stored.append(lib.add_page(_page(i, n=300), sha256=str(i)))
        assert [p.id for p in lib.pages()] == stored
    with Library.open(path) as lib:
        assert lib.integrity_check() == "ok"
        assert [p.stroke_count for p in lib.pages()] == [300] * len(stored)
    # the same library on a read-only filesystem opens for reading, refuses writes
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], check=True)
    before = _sha(path)
    with Library.open(path) as lib:
        assert lib.read_only
        assert len(lib.strokes(stored[0])) == 300
        with pytest.raises(LibraryError, match="read-only"):
            lib.delete_page(stored[0])
    assert _sha(path) == before


def test_read_only_library_reads_and_refuses_writes(tmp_path):
    path = tmp_path / "ro.inknotes"
    with Library.open(path) as lib:
        pid = lib.add_page(_page(0))
        lib.delete_strokes([lib.strokes(pid)[0].id])
    before = _sha(path)
    with Library.open(path, read_only=True) as lib:
        assert len(lib.strokes(pid)) == 39 and lib.search("word0")
        for write in (lambda: lib.add_page(_page(1), sha256="x"), lib.undo,
                      lambda: lib.erase(pid, np.array([[10, 120]]), 5)):
            with pytest.raises(LibraryError, match="read-only") as e:
                write()
            assert e.value.path == str(path)
    assert _sha(path) == before
    if os.geteuid() != 0:  # root ignores file modes
        path.chmod(0o444)
        with contextlib.closing(Library.open(path)) as lib:
            assert lib.read_only
            with pytest.raises(LibraryError, match="read-only"):
                lib.undo()


def test_a_library_on_a_read_only_disk_can_still_be_read(tmp_path):
    """A CD, a locked SD card, a read-only share: a WAL library there needs its -shm file even to
    read, which cannot be made there. Uses a read-only bind mount in a private mount namespace."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare for a read-only mount")
    src, ro = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    ro.mkdir()
    with Library.open(src / "lib.inknotes") as lib:
        lib.add_page(PageResult(size=(100, 50), strokes=[Stroke.from_points([[1, 1], [50, 20]], 2.0)],
                                words=[], source=Path("/scans/a.png")))
    script = (f"mount --bind {src} {ro} && mount -o remount,bind,ro {ro} && "
              f"{sys.executable} -m inknotes.cli pages --library {ro / 'lib.inknotes'}")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {src} {ro}"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("mount namespaces are not allowed here")
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\t")[2] == "a.png"


def test_import_onto_a_disk_that_fills_stops_and_names_what_was_left(tiny_fs, tmp_path):
    import cv2

    src = tmp_path / "scans"
    src.mkdir()
    base = cv2.imread(str(Path(__file__).parent / "fixtures" / "convert" / "line_scan.png"))
    for i in range(14):  # the same page, different bytes: ~100 KB each onto 1 MiB
        img = base.copy()
        img[0, :4, 0] = [(i >> (4 * k)) & 0xF for k in range(4)]
        cv2.imwrite(str(src / f"page{i:02d}.png"), img)
    lib_path = tiny_fs / "lib.inknotes"
    cmd = [sys.executable, "-m", "inknotes.cli", "import", str(src), "--library", str(lib_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert run.returncode == 1
    imported = run.stdout.count("strokes)")
    assert 0 < imported < 14
    full = [line for line in run.stderr.splitlines() if "disk is full" in line]
    assert len(full) == 2, run.stderr  # the file it happened on, then the summary of the rest
    assert f"{14 - imported - 1} file(s) were not imported because the disk is full" in full[1]
    with Library.open(lib_path, read_only=True) as lib:
        assert lib.integrity_check() == "ok" and len(lib.pages()) == imported


def test_a_library_that_cannot_be_made_on_a_full_disk_leaves_no_empty_file(tiny_fs):
    filler = tiny_fs / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
    with pytest.raises(LibraryError, match="disk is full"):
        Library.open(tiny_fs / "new.inknotes")
    assert sorted(p.name for p in tiny_fs.iterdir()) == ["filler"]
