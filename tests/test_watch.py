"""Watch folder: real files, a real watchdog observer, a real library, real conversions.

The handwriting fixture ``tests/data/watch_andrew.png`` is the word "Andrew" from UNIPEN
train_r01_v07 (hpb/hpb4/hpb41afe, CC BY 4.0, Guyon et al., ICPR 1994), rendered at 200x80.
Each test file is that image with a few pixels changed, so every file has its own SHA-256.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from inknotes.errors import OutputError
from inknotes.jobs import JobPool
from inknotes.watch import Watcher

FIXTURE = Path(__file__).parent / "data" / "watch_andrew.png"
STABLE = 0.2


@pytest.fixture(autouse=True)
def _dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("INKNOTES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("INKNOTES_DATA_DIR", str(tmp_path / "data"))


_BASE = None


def page_bytes(i: int) -> bytes:
    """The fixture with pixel row 0 carrying ``i``: same handwriting, different bytes."""
    global _BASE
    if _BASE is None:
        _BASE = cv2.imread(str(FIXTURE), cv2.IMREAD_COLOR)
    img = _BASE.copy()
    img[0, :8, 0] = [(i >> (4 * k)) & 0xF for k in range(8)]
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def wait_for(pred, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def pool():
    p = JobPool(cpu_workers=2)
    yield p
    p.shutdown(wait=True)


@pytest.fixture
def library(tmp_path):
    from inknotes.store import Library
    lib = Library.open(tmp_path / "lib.inknotes")
    yield lib
    close = getattr(lib, "close", None)
    if close:
        close()


@pytest.fixture
def inbox(tmp_path):
    d = tmp_path / "inbox"
    d.mkdir()
    return d


@pytest.fixture
def make_watcher(inbox, library, pool):
    made = []

    def make(**kw):
        kw.setdefault("stable_seconds", STABLE)
        w = Watcher(kw.pop("folder", inbox), library, pool=pool, **kw)
        events = []
        w.add_listener(events.append)
        w.events = events
        w.start()
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop()


def page_count(lib) -> int:
    return len(lib.pages())


def kinds(w, kind):
    return [e for e in w.events if e.kind == kind]


def test_file_written_in_chunks_is_taken_only_when_complete(inbox, library, make_watcher):
    w = make_watcher()
    data = page_bytes(1)
    target = inbox / "scan.png"
    with open(target, "wb") as f:  # a slow scanner: ten pieces over a second
        for k in range(10):
            f.write(data[k * len(data) // 10:(k + 1) * len(data) // 10])
            f.flush()
            time.sleep(0.1)
    wait_for(lambda: page_count(library) == 1, 30, "the page from the watcher's own events")
    assert w.wait_idle(30)
    assert page_count(library) == 1
    row = library.ingest_rows("done")[0]
    assert Path(row.path) == target and row.attempts == 1
    assert not kinds(w, "retry") and not kinds(w, "failed")


@pytest.mark.slow  # 200 / 30 real conversions: ~15 s / ~8 s of CPU on 2 idle cores
def test_burst_of_200_files_each_becomes_one_page(inbox, library, make_watcher):
    w = make_watcher()
    for i in range(200):
        (inbox / f"page-{i:03d}.png").write_bytes(page_bytes(1000 + i))
    assert w.wait_idle(120), f"{w.pending()} files still pending"
    assert page_count(library) == 200
    done = library.ingest_rows("done")
    assert len(done) == 200 and len({r.sha256 for r in done}) == 200
    assert not library.ingest_rows("failed")


def test_same_photo_twice_makes_one_page(inbox, library, make_watcher):
    w = make_watcher()
    data = page_bytes(7)
    (inbox / "IMG_0001.png").write_bytes(data)
    (inbox / "IMG_0001 copy.png").write_bytes(data)
    assert w.wait_idle(30)
    shutil.copy(inbox / "IMG_0001.png", inbox / "again.png")  # later copy, after it was converted
    assert w.wait_idle(30)
    assert page_count(library) == 1
    assert len(kinds(w, "added")) == 1
    assert len(kinds(w, "duplicate")) == 2


def test_rename_from_part_is_taken_once_under_final_name(inbox, library, make_watcher):
    w = make_watcher()
    part = inbox / "download.png.part"
    data = page_bytes(8)
    with open(part, "wb") as f:
        f.write(data[:100])
        f.flush()
        time.sleep(STABLE * 2)  # longer than "stable": a temp name must still never be taken
        f.write(data[100:])
    (inbox / ".hidden.png").write_bytes(page_bytes(9))
    (inbox / "notes.png~").write_bytes(page_bytes(10))
    part.rename(inbox / "download.png")
    assert w.wait_idle(30)
    rows = library.ingest_rows()
    assert [Path(r.path).name for r in rows] == ["download.png"]
    assert page_count(library) == 1


def test_corrupt_file_is_recorded_failed_and_the_others_convert(inbox, library, make_watcher, tmp_path):
    quarantine = tmp_path / "quarantine"
    w = make_watcher(max_attempts=2, quarantine=quarantine)
    for i in range(3):
        (inbox / f"good-{i}.png").write_bytes(page_bytes(20 + i))
    (inbox / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really an image" * 50)
    (inbox / "cut.png").write_bytes(page_bytes(30)[:400])
    assert w.wait_idle(30)
    assert page_count(library) == 3
    failed = {Path(r.path).name: r for r in library.ingest_rows("failed")}
    assert set(failed) == {"broken.png", "cut.png"}
    for r in failed.values():
        assert r.attempts == 2
        assert "damaged" in r.last_error or "not an image" in r.last_error
    assert sorted(p.name for p in quarantine.iterdir()) == ["broken.png", "cut.png"]
    assert sorted(p.name for p in inbox.iterdir()) == ["good-0.png", "good-1.png", "good-2.png"]
    assert {e.path.name for e in kinds(w, "failed")} == {"broken.png", "cut.png"}


def test_archive_moves_originals_and_refuses_a_folder_inside(inbox, library, make_watcher, tmp_path, pool):
    with pytest.raises(OutputError, match="inside the watched folder"):
        Watcher(inbox, library, archive=inbox / "done", pool=pool)
    with pytest.raises(OutputError, match="quarantine folder is inside"):
        Watcher(inbox, library, quarantine=inbox, pool=pool)
    archive = tmp_path / "archive"
    w = make_watcher(archive=archive)
    (inbox / "a.png").write_bytes(page_bytes(40))
    assert w.wait_idle(30)
    assert not (inbox / "a.png").exists() and (archive / "a.png").exists()
    assert page_count(library) == 1


def test_symlink_to_a_file_outside_is_ignored(inbox, library, make_watcher, tmp_path):
    outside = tmp_path / "private.png"
    outside.write_bytes(page_bytes(50))
    (inbox / "link.png").symlink_to(outside)
    w = make_watcher()
    (inbox / "real.png").write_bytes(page_bytes(51))
    assert w.wait_idle(30)
    assert [Path(r.path).name for r in library.ingest_rows()] == ["real.png"]


@pytest.mark.parametrize("poll", [False, True], ids=["native", "polling"])
def test_folder_that_disappears_and_comes_back(inbox, library, make_watcher, poll):
    w = make_watcher(poll=poll, poll_interval=0.2)
    (inbox / "before.png").write_bytes(page_bytes(60))
    assert w.wait_idle(30)
    shutil.rmtree(inbox)
    wait_for(lambda: kinds(w, "folder_missing"), 10, "the watcher to notice the folder is gone")
    inbox.mkdir()
    wait_for(lambda: kinds(w, "folder_back"), 10, "the watcher to notice the folder is back")
    (inbox / "after.png").write_bytes(page_bytes(61))  # arrives through the new observer
    wait_for(lambda: page_count(library) == 2, 30, "the page dropped after the folder came back")
    assert w.wait_idle(30)
    assert page_count(library) == 2


def _start_cli(inbox: Path, lib: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "inknotes.watch_cli", str(inbox), "--library", str(lib),
                             "--stable-seconds", str(STABLE)],
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env)


@pytest.mark.slow  # 200 / 30 real conversions: ~15 s / ~8 s of CPU on 2 idle cores
def test_watcher_killed_mid_queue_converts_every_file_exactly_once(inbox, tmp_path):
    from inknotes.store import Library
    lib_path = tmp_path / "cli.inknotes"
    log = tmp_path / "watch.log"
    n = 30
    for i in range(n // 2):  # some files already wait when it starts
        (inbox / f"p{i:02d}.png").write_bytes(page_bytes(100 + i))
    proc = _start_cli(inbox, lib_path, log)
    try:
        wait_for(lambda: b"watching" in log.read_bytes() or proc.poll() is not None, 60, "the watch process")
        assert proc.poll() is None, log.read_text()
        lib = Library.open(lib_path)
        for i in range(n // 2, n):
            (inbox / f"p{i:02d}.png").write_bytes(page_bytes(100 + i))
        wait_for(lambda: len(lib.pages()) >= 3 or proc.poll() is not None, 60, "the first pages")
        assert proc.poll() is None, log.read_text()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert len(lib.pages()) < n, "the kill should land mid-queue"
    assert lib.ingest_rows("queued") or lib.ingest_rows("running") or len(lib.ingest_rows()) < n
    proc = _start_cli(inbox, lib_path, log)
    try:
        wait_for(lambda: len(lib.ingest_rows("done")) == n or proc.poll() is not None, 120,
                 "every file to be done after the restart")
        assert proc.poll() is None, log.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(30)
    assert rc == 0, log.read_text()
    pages = lib.pages()
    assert len(pages) == n
    assert len({r.sha256 for r in lib.ingest_rows("done")}) == n
    assert all(r.attempts <= 2 for r in lib.ingest_rows())


def test_cli_refuses_an_archive_inside_the_watched_folder(inbox, tmp_path, capsys):
    from inknotes.watch_cli import main
    rc = main([str(inbox), "--library", str(tmp_path / "l.inknotes"), "--archive", str(inbox / "done")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "archive folder is inside the watched folder" in err and str(inbox / "done") in err


def test_recursive_watch_takes_files_in_new_subfolders(inbox, library, make_watcher):
    w = make_watcher(recursive=True)
    (inbox / "top.png").write_bytes(page_bytes(70))
    sub = inbox / "2026" / "june"
    sub.mkdir(parents=True)
    (sub / "deep.png").write_bytes(page_bytes(71))
    wait_for(lambda: page_count(library) == 2, 30, "events from the new sub-folder")  # no scan helps here
    assert w.wait_idle(30)
    assert sorted(Path(r.path).name for r in library.ingest_rows("done")) == ["deep.png", "top.png"]
    assert page_count(library) == 2


def test_start_reconciles_interrupted_rows_and_files_that_arrived_while_down(inbox, library, make_watcher):
    from inknotes.pipeline import file_sha256
    interrupted, poison, new = inbox / "interrupted.png", inbox / "poison.png", inbox / "new.png"
    interrupted.write_bytes(page_bytes(80))
    poison.write_bytes(page_bytes(81))
    new.write_bytes(page_bytes(82))
    library.ingest_record(file_sha256(interrupted), str(interrupted), "running", attempt=True)
    for _ in range(3):  # it was running each time the process died: it must not crash us again
        library.ingest_record(file_sha256(poison), str(poison), "running", attempt=True)
    w = make_watcher(max_attempts=3)
    assert w.wait_idle(30)
    done = {Path(r.path).name: r for r in library.ingest_rows("done")}
    assert set(done) == {"interrupted.png", "new.png"} and done["interrupted.png"].attempts == 2
    (failed,) = library.ingest_rows("failed")
    assert Path(failed.path).name == "poison.png" and "stopped inknotes 3 times" in failed.last_error
    assert page_count(library) == 2


def test_a_pipe_named_like_an_image_does_not_stall_the_watcher(inbox, library, make_watcher):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    w = make_watcher()
    fifo = inbox / "scanner.png"
    os.mkfifo(fifo)
    (inbox / "page.png").write_bytes(page_bytes(50))
    try:
        assert w.wait_idle(30)
        assert page_count(library) == 1
        assert [Path(r.path).name for r in library.ingest_rows()] == ["page.png"]
    finally:
        with contextlib.suppress(OSError):  # release a reader stuck on the pipe, so stop() can finish
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def _pages_in(path: Path) -> int:
    from inknotes.errors import LibraryError
    from inknotes.store import Library
    if not path.exists():
        return 0
    try:
        with Library.open(path, create=False, read_only=True) as lib:
            return len(lib.pages())
    except LibraryError:  # still being made
        return 0


def _without_root_override() -> list[str]:
    """A command prefix under which root's file permissions apply (as they do to everyone else)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to drop root's permission override")
    caps = "-dac_override,-dac_read_search"
    prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("setpriv cannot drop capabilities here")
    return prefix


@pytest.mark.parametrize("what", ["file", "folder"])
def test_an_unreadable_file_or_folder_is_said_once_not_skipped_silently(inbox, tmp_path, what):
    prefix = _without_root_override()
    (inbox / "good.png").write_bytes(page_bytes(70))
    sub = inbox / "sub"
    sub.mkdir()
    locked = inbox / "locked.png" if what == "file" else sub
    if what == "file":
        locked.write_bytes(page_bytes(71))
    locked.chmod(0)
    cmd = [*prefix, sys.executable, "-m", "inknotes.cli", "watch", str(inbox), "--recursive",
           "--library", str(tmp_path / "w.inknotes"), "--stable-seconds", "0.2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # once good.png is in, the locked one has been tried (both were there from the start)
        wait_for(lambda: _pages_in(tmp_path / "w.inknotes"), timeout=120, what="good.png imported")
        time.sleep(1.0)  # a rescan, which must not say it again
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        locked.chmod(0o755)
    assert "good.png: added" in out
    said = [line for line in err.splitlines() if "Cannot read this" in line]
    assert len(said) == 1 and str(locked) in said[0] and f"this {what}" in said[0], err
    assert "gone" not in err


def test_watched_pages_go_into_the_notebook_asked_for(inbox, library, make_watcher):
    w = make_watcher(notebook="Scans 2026")
    (inbox / "a.png").write_bytes(page_bytes(80))
    wait_for(lambda: page_count(library) == 1, 30, "the page")
    assert w.wait_idle(30)
    assert [p.notebook for p in library.pages()] == ["Scans 2026"]
