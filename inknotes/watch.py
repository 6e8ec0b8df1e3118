"""Watch folder: a phone or scanner drops pages, each is converted into the library exactly once.

Why it is built this way:
- watchdog events (or a polling observer for network shares) only *nominate* paths; a checker
  thread takes a file once its size and mtime have been still for ``stable_seconds`` and it
  decodes, so half-written files are never converted.
- Exactly once is decided by the file's SHA-256 in the library's ingest table (plus
  ``find_page_by_sha``), never by path or by events, so duplicate events, copies under another
  name and restarts cannot make a second page.
- At start (and whenever the folder comes back) the folder is reconciled with the ingest table:
  files that arrived while we were down and rows left "queued"/"running" by a crash are taken.
- Conversions run in the shared job pool, on the GPU lane when the engine uses the GPU.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any

from .errors import Cancelled, InknotesError, OutputError

log = logging.getLogger(__name__)

# Names a writer uses while a file is incomplete; the final name arrives by rename.
TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download", "~")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
MAX_BACKOFF_S = 60.0


@dataclass
class WatchEvent:
    """What the watcher tells listeners (the CLI prints these, the GUI shows them).

    ``kind``: "queued" (a complete file was taken), "added" (its pages are in the library),
    "duplicate" (already in the library), "retry" (failed, will try again), "failed" (gave up;
    ``error`` is the sentence), "unreadable" (a folder or file the watcher may not read, said
    once; it is taken when it can be read), "folder_missing" / "folder_back".
    """

    kind: str
    path: Path
    sha256: str | None = None
    page_ids: list[int] = field(default_factory=list)
    error: str | None = None


Listener = Callable[[WatchEvent], None]


@dataclass
class _Candidate:
    path: Path
    not_before: float = 0.0
    stat: tuple[int, int] | None = None  # (size, mtime_ns) last seen
    since: float = 0.0  # monotonic time the stat was first seen unchanged


def is_temp_name(name: str) -> bool:
    """True for names a writer uses before the file is complete (and for hidden files)."""
    low = name.lower()
    return low.startswith(".") or low.startswith("~$") or low.endswith(TEMP_SUFFIXES)


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


class Watcher:
    """Watch ``folder`` and convert every complete image into ``library`` exactly once.

    ``library`` is a ``Library`` or a path to one. Listeners are called from background threads.
    """

    def __init__(self, folder: str | Path, library: Any, *, recursive: bool = False, poll: bool = False,
                 stable_seconds: float = 1.0, archive: str | Path | None = None,
                 quarantine: str | Path | None = None, max_attempts: int = 3, engine: str = "tracer",
                 engine_options: dict | None = None, pool: Any = None, poll_interval: float = 1.0,
                 rescan_seconds: float = 30.0, notebook: str | None = None):
        self.folder = Path(folder).expanduser().absolute()
        self._root = Path(os.path.realpath(self.folder))
        self.recursive = recursive
        self.poll = poll
        self.poll_interval = poll_interval
        self.rescan_seconds = rescan_seconds  # safety net for lost events (e.g. inotify overflow)
        self.stable_seconds = max(0.0, float(stable_seconds))
        self.max_attempts = max(1, int(max_attempts))
        self.engine_name = engine
        self.engine_options = dict(engine_options or {})
        self.notebook = notebook  # where new pages go (None: the library's Inbox)
        self.archive = self._outside_folder(archive, "archive")
        self.quarantine = self._outside_folder(quarantine, "quarantine")
        if isinstance(library, (str, Path)):
            from .store import Library
            library = Library.open(library)
        self.library = library
        self._library_names = self._library_files(library)
        self._pool = pool
        self._engine = None
        self._engine_lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._lock = threading.Condition()
        self._candidates: dict[Path, _Candidate] = {}
        self._inflight: dict[str, Any] = {}  # sha256 -> Job
        self._inflight_paths: set[Path] = set()
        self._settled: dict[Path, tuple[int, int]] = {}  # finished files -> stat when finished
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer = None
        self._folder_id: tuple[int, int] | None = None
        self._missing_reason: str | None = None  # "gone" or "unreadable" while the folder cannot be watched
        self._unreadable: set[Path] = set()  # said once each, until readable again

    # ------------------------------------------------------------------ setup and checks

    def _outside_folder(self, target: str | Path | None, what: str) -> Path | None:
        """Refuse a destination inside the watched folder: moved files would come back as new."""
        if target is None:
            return None
        p = Path(target).expanduser().absolute()
        if _inside(Path(os.path.realpath(p)), self._root) or _inside(p, self.folder):
            raise OutputError(f"The {what} folder is inside the watched folder; choose a folder outside "
                              "it so moved files are not picked up again.", p)
        return p

    @staticmethod
    def _library_files(library: Any) -> set[str]:
        path = getattr(library, "path", None)
        if not path:
            return set()
        p = os.path.realpath(path)
        return {p, p + "-wal", p + "-shm", p + "-journal"}

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def _emit(self, event: WatchEvent) -> None:
        log.info("watch %s: %s%s", event.kind, event.path, f" ({event.error})" if event.error else "")
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:  # a broken listener must not stop the watcher
                log.exception("watch listener failed")

    def wanted(self, path: str | Path) -> bool:
        """Should this path be considered at all (name, location, symlink target)?"""
        p = Path(path)
        if is_temp_name(p.name) or p.suffix.lower() not in IMAGE_SUFFIXES:
            return False
        try:
            rel = p.relative_to(self.folder)
        except ValueError:
            return False
        if len(rel.parts) > 1 and (not self.recursive or any(is_temp_name(x) for x in rel.parts[:-1])):
            return False
        real = os.path.realpath(p)
        if real in self._library_names:
            return False
        if p.is_symlink() and not _inside(Path(real), self._root):
            log.info("ignoring %s: it is a link to a file outside the watched folder", p)
            return False
        return True

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Reconcile with the library, then watch until ``stop()``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._reconcile_rows()
        self._start_observer()
        self.scan_once()
        self._thread = threading.Thread(target=self._loop, name="inknotes-watch", daemon=True)
        self._thread.start()

    def stop(self, cancel_running: bool = True) -> None:
        """Stop watching; queued conversions are cancelled and stay "queued" for the next start."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._stop_observer()
        with self._lock:
            jobs = [j for j in self._inflight.values() if j is not None]
            self._candidates.clear()
        if cancel_running:
            for job in jobs:
                job.cancel()
        for job in jobs:
            with contextlib.suppress(Exception):
                job.future.exception()  # wait for it to settle its ingest row

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Test helper: True once every file now in the folder is settled (done, duplicate or failed)."""
        self.scan_once()
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._candidates or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
        return True

    def pending(self) -> int:
        """Files waiting to become stable or being converted."""
        with self._lock:
            return len(self._candidates) + len(self._inflight)

    # ------------------------------------------------------------------ observer

    def _start_observer(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.is_directory:
                    if event.event_type in ("created", "moved") and watcher.recursive:
                        watcher._nominate_tree(Path(os.fsdecode(getattr(event, "dest_path", "")
                                                                or event.src_path)))
                    return
                if event.event_type not in ("created", "modified", "moved", "closed"):
                    return  # opened / closed_no_write come from readers (our own hashing too)
                dest = getattr(event, "dest_path", "") or event.src_path
                watcher.nominate(os.fsdecode(dest))

        try:
            st = self.folder.stat()
        except OSError:
            self._set_missing(True)
            return
        self._folder_id = (st.st_dev, st.st_ino)
        obs = PollingObserver(timeout=self.poll_interval) if self.poll else Observer()
        try:
            obs.schedule(Handler(), str(self.folder), recursive=self.recursive)
            obs.start()
        except OSError as e:
            log.info("cannot watch %s yet (%s); will retry", self.folder, e)
            self._set_missing(True, unreadable=isinstance(e, PermissionError))
            return
        self._observer = obs
        self._set_missing(False)

    def _stop_observer(self) -> None:
        obs, self._observer = self._observer, None
        if obs is not None:
            with contextlib.suppress(Exception):
                obs.stop()
                obs.join(timeout=5)

    def _say_unreadable(self, path: Path, what: str) -> None:
        """Tell once that a folder or file cannot be read (permissions), instead of skipping it
        without a word; it is taken as soon as it can be read."""
        with self._lock:
            if path in self._unreadable:
                return
            self._unreadable.add(path)
        log.info("cannot read %s (permission denied)", path)  # the event says it to the person
        then = "its files are taken" if what == "folder" else "it is taken"
        self._emit(WatchEvent("unreadable", path, error=f"Cannot read this {what} (permission denied); "
                                                         f"{then} once it can be read."))

    def _set_missing(self, missing: bool, unreadable: bool = False) -> None:
        """The watched folder is gone (or, ``unreadable``, there but not readable), or back."""
        reason = ("unreadable" if unreadable else "gone") if missing else None
        if reason == self._missing_reason:
            return
        was, self._missing_reason = self._missing_reason, reason
        if not missing and was == "unreadable":  # never called gone: its files are simply taken now
            self._unreadable.discard(self.folder)
            return
        if missing and unreadable:
            self._say_unreadable(self.folder, "folder")
        elif missing:
            log.warning("watched folder %s is gone; waiting for it to come back", self.folder)
            self._emit(WatchEvent("folder_missing", self.folder))
        else:
            log.warning("watched folder %s is back", self.folder)
            self._emit(WatchEvent("folder_back", self.folder))

    def _check_folder(self) -> None:
        """Notice the folder vanishing or being replaced, and re-watch it when it is back."""
        try:
            st = self.folder.stat()
            fid = (st.st_dev, st.st_ino) if self.folder.is_dir() else None
        except OSError:
            fid = None
        alive = self._observer is not None and self._observer.is_alive() and all(
            e.is_alive() for e in getattr(self._observer, "emitters", []))
        if fid is None:
            if self._observer is not None:
                self._stop_observer()
            self._set_missing(True)
            return
        if fid != self._folder_id or not alive or self._missing_reason:
            self._stop_observer()
            self._start_observer()
            if self._observer is not None:
                self.scan_once()

    # ------------------------------------------------------------------ nominating

    def nominate(self, path: str | Path, delay: float = 0.0) -> None:
        """Consider ``path`` (from an event or a scan); it is taken once stable and decodable."""
        p = Path(path)
        if not p.is_absolute():
            p = self.folder / p
        if not self.wanted(p):
            return
        try:
            st = p.stat()
            stat = (st.st_size, st.st_mtime_ns)
        except OSError:
            return
        with self._lock:
            if p in self._inflight_paths or (not delay and self._settled.get(p) == stat):
                return
            c = self._candidates.get(p)
            due = time.monotonic() + delay
            if c is None:
                self._candidates[p] = _Candidate(p, not_before=due)
            elif delay:
                c.not_before = max(c.not_before, due)
            self._lock.notify_all()

    def _nominate_tree(self, folder: Path) -> None:
        for p in self._list_files(folder):
            self.nominate(p)

    def _list_files(self, folder: Path) -> list[Path]:
        out: list[Path] = []
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except PermissionError:
            self._say_unreadable(folder, "folder")
            return out
        except OSError:
            return out
        self._unreadable.discard(folder)
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    if self.recursive:
                        out += self._list_files(Path(e.path))
                elif e.is_file():
                    out.append(Path(e.path))
            except OSError:
                continue
        return out

    def scan_once(self) -> int:
        """Nominate every file in the folder not already settled in this run; returns how many."""
        n = 0
        for p in self._list_files(self.folder):
            try:
                st = p.stat()
            except OSError:
                continue
            with self._lock:
                if self._settled.get(p) == (st.st_size, st.st_mtime_ns):
                    continue
                if p in self._candidates or p in self._inflight_paths:
                    continue
            self.nominate(p)
            n += 1
        return n

    def _reconcile_rows(self) -> None:
        """Rows a crash left "queued"/"running": take the file again, or record why we cannot."""
        for state in ("queued", "running"):
            for row in self.library.ingest_rows(state):
                path = Path(row.path)
                if not _inside(path, self.folder):
                    continue  # another watched folder's row (the library may serve several)
                if state == "running" and row.attempts >= self.max_attempts:
                    self._give_up(row.sha256, path, f"Converting this file stopped inknotes {row.attempts} "
                                  "times; it is skipped (see the log).")
                    continue
                if path.exists():
                    self.nominate(path)
                elif self.library.find_page_by_sha(row.sha256) is not None:
                    self.library.ingest_record(row.sha256, str(path), "done",
                                               page_id=self.library.find_page_by_sha(row.sha256))
                else:
                    self.library.ingest_record(row.sha256, str(path), "failed",
                                               error="The file was moved or deleted before it was converted.")

    # ------------------------------------------------------------------ the checker thread

    def _loop(self) -> None:
        tick = max(0.02, min(0.1, self.stable_seconds / 4 or 0.1))
        next_folder_check = 0.0
        next_rescan = time.monotonic() + self.rescan_seconds
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_folder_check:
                try:
                    self._check_folder()
                    if now >= next_rescan and not self._missing_reason:
                        self.scan_once()
                        next_rescan = now + self.rescan_seconds
                except Exception:
                    log.exception("checking the watched folder failed")
                next_folder_check = now + max(0.25, min(1.0, self.poll_interval))
            ready = self._ready_candidates(now)
            for c in ready:
                if self._stop.is_set():
                    break
                try:
                    self._take(c.path)
                except Exception:  # keep going whatever one file does
                    log.exception("taking %s failed", c.path)
                    with self._lock:
                        self._settle(c.path)
            with self._lock:
                if not ready:
                    self._lock.wait(tick)

    def _ready_candidates(self, now: float) -> list[_Candidate]:
        ready = []
        with self._lock:
            items = list(self._candidates.values())
        for c in items:
            if now < c.not_before:
                continue
            try:
                st = c.path.stat()
                stat = (st.st_size, st.st_mtime_ns)
            except OSError:  # gone (moved away, deleted, renamed to its final name)
                with self._lock:
                    self._candidates.pop(c.path, None)
                    self._lock.notify_all()
                continue
            if stat != c.stat:
                c.stat, c.since = stat, now
                if self.stable_seconds > 0:
                    continue
            if now - c.since >= self.stable_seconds:
                ready.append(c)
        return ready

    def _settle(self, path: Path, stat: tuple[int, int] | None = None) -> None:
        """Mark a path finished for this run (caller holds the lock)."""
        self._candidates.pop(path, None)
        self._inflight_paths.discard(path)
        if stat is None:
            try:
                st = path.stat()
                stat = (st.st_size, st.st_mtime_ns)
            except OSError:
                stat = None
        if stat is not None:
            self._settled[path] = stat
        self._lock.notify_all()

    def _take(self, path: Path) -> None:
        """A stable file: hash it, decide exactly once, check it decodes, queue its conversion."""
        from .imaging import load_pages
        from .pipeline import file_sha256

        try:
            st = path.stat()
            if not S_ISREG(st.st_mode):  # a pipe or device: reading it would stall the watcher
                log.info("ignoring %s: it is not a regular file", path)
                with self._lock:
                    self._settle(path, (st.st_size, st.st_mtime_ns))
                return
            sha = file_sha256(path)
        except OSError as e:
            with self._lock:
                self._candidates.pop(path, None)
                self._lock.notify_all()
            if isinstance(e, PermissionError):  # the next rescan tries again; said once
                self._say_unreadable(path, "file")
            return
        self._unreadable.discard(path)
        stat = (st.st_size, st.st_mtime_ns)
        with self._lock:
            if sha in self._inflight:  # same bytes under another name, already on its way
                self._settle(path, stat)
                self._duplicate_later(sha, path)
                return
        row = self.library.ingest_get(sha)
        # A page stored from these bytes by an import (no ingest row) counts as done; with a row
        # that is not "done" a crash may have left a multi-page file half stored, so convert again
        # (add_page returns the pages already stored).
        page_id = row.page_id if row is not None else self.library.find_page_by_sha(sha)
        if (row is not None and row.state == "done") or (row is None and page_id is not None):
            if row is None:
                self.library.ingest_record(sha, str(path), "done", page_id=page_id)
            with self._lock:
                self._settle(path, stat)
            self._emit(WatchEvent("duplicate", path, sha, [page_id] if page_id is not None else []))
            self._archive(path)
            return
        if row is not None and row.state == "failed" and row.attempts >= self.max_attempts:
            with self._lock:
                self._settle(path, stat)
            log.info("skipping %s: it failed before (%s)", path, row.last_error)
            return
        try:
            load_pages(path)
        except InknotesError as e:
            row = self.library.ingest_record(sha, str(path), "queued", error=e.message, attempt=True)
            self._failed_attempt(sha, path, row.attempts, e.message, stat)
            return
        self.library.ingest_record(sha, str(path), "queued")
        engine = self._get_engine()
        with self._lock:
            self._candidates.pop(path, None)
            self._inflight_paths.add(path)
            self._inflight[sha] = None  # the job is set below; wait_idle already counts it
        self._emit(WatchEvent("queued", path, sha))
        pool = self._pool
        if pool is None:
            from .jobs import shared_pool
            pool = shared_pool()
        try:
            job = pool.submit(lambda ctx: self._convert(ctx, sha, path, engine), name=f"watch: {path.name}",
                              gpu=bool(getattr(engine, "uses_gpu", False)))
        except InknotesError:  # the pool is shutting down: the row stays "queued" for the next start
            self._job_finished(sha, path)
            raise
        with self._lock:
            if sha in self._inflight:
                self._inflight[sha] = job
        job.future.add_done_callback(lambda _f: self._job_finished(sha, path))

    def _duplicate_later(self, sha: str, path: Path) -> None:
        """Another copy of a file being converted: report it, or look again (and archive it) later."""
        if self.archive is None:
            self._emit(WatchEvent("duplicate", path, sha))
        else:
            self.nominate(path, delay=max(self.stable_seconds, 0.5))
            with self._lock:
                self._settled.pop(path, None)

    def _get_engine(self) -> Any:
        """One engine per watcher (the model loads once); built on first use, off the GUI thread."""
        with self._engine_lock:
            if self._engine is None:
                from .derender import get_engine
                self._engine = get_engine(self.engine_name, **self.engine_options)
            return self._engine

    # ------------------------------------------------------------------ the job

    def _convert(self, ctx: Any, sha: str, path: Path, engine: Any) -> list[int]:
        """Runs in the pool: convert, add pages, record done, archive. Failures decide retries."""
        from .pipeline import convert_file

        row = self.library.ingest_record(sha, str(path), "running", attempt=True)
        try:
            ctx.check()
            skipped: list[InknotesError] = []  # pages of a multi-page file that did not convert
            results = convert_file(path, engine=engine, progress=ctx.progress, cancel=ctx.cancelled,
                                   errors=skipped)
            ctx.check()
            data = path.read_bytes()
            # add_page is idempotent per (sha256, page index): pages stored before a crash come back
            # with their ids instead of being stored twice.
            ids = [self.library.add_page(page, self.notebook, source_bytes=data, sha256=sha)
                   for page in results]
        except Cancelled:
            self.library.ingest_record(sha, str(path), "queued")
            raise
        except Exception as e:  # noqa: BLE001 - whatever one file does, the watcher goes on
            if isinstance(e, InknotesError):
                message = e.message
            elif isinstance(e, OSError):
                message = f"The file could not be read ({e.strerror})."
            else:
                log.exception("converting %s crashed", path)
                message = f"Unexpected error while converting ({type(e).__name__}: {e})."
            ctx.note(message)  # a jobs list shows the job with this sentence, not as simply done
            self._failed_attempt(sha, path, row.attempts, message, None)
            return []
        self.library.ingest_record(sha, str(path), "done", page_id=ids[0] if ids else None)
        not_converted = " ".join(e.message for e in skipped) or None  # pages of a multi-page scan
        if not_converted:
            ctx.note(not_converted)
        self._emit(WatchEvent("added", path, sha, ids, error=not_converted))
        self._archive(path)
        return ids

    def _job_finished(self, sha: str, path: Path) -> None:
        with self._lock:
            self._inflight.pop(sha, None)
            self._inflight_paths.discard(path)
            if path not in self._candidates:
                try:
                    st = path.stat()
                    self._settled[path] = (st.st_size, st.st_mtime_ns)
                except OSError:
                    pass
            self._lock.notify_all()

    def _failed_attempt(self, sha: str, path: Path, attempts: int, message: str,
                        stat: tuple[int, int] | None) -> None:
        """Retry with back-off while attempts are left; then record the failure and quarantine."""
        if attempts < self.max_attempts and not self._stop.is_set():
            delay = min(MAX_BACKOFF_S, max(self.stable_seconds, 0.1) * 2 ** attempts)
            self.library.ingest_record(sha, str(path), "queued", error=message)
            self._emit(WatchEvent("retry", path, sha, error=message))
            with self._lock:
                self._inflight_paths.discard(path)
                self._candidates.pop(path, None)
            self.nominate(path, delay=delay)
            return
        if attempts < self.max_attempts:  # stopping: leave it queued for the next start
            self.library.ingest_record(sha, str(path), "queued", error=message)
            with self._lock:
                self._candidates.pop(path, None)
            return
        self._give_up(sha, path, message)
        with self._lock:
            self._settle(path, stat)

    def _give_up(self, sha: str, path: Path, message: str) -> None:
        self.library.ingest_record(sha, str(path), "failed", error=message)
        self._emit(WatchEvent("failed", path, sha, error=message))
        if self.quarantine is not None:
            self._move(path, self.quarantine)

    def _archive(self, path: Path) -> None:
        if self.archive is not None:
            self._move(path, self.archive)

    def _move(self, path: Path, dest_root: Path) -> Path | None:
        """Move ``path`` under ``dest_root`` keeping its sub-folder, never overwriting a file."""
        try:
            rel = path.relative_to(self.folder)
        except ValueError:
            rel = Path(path.name)
        dest = dest_root / rel
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            n = 1
            while dest.exists():
                dest = dest.with_name(f"{path.stem} ({n}){path.suffix}")
                n += 1
            shutil.move(str(path), str(dest))
        except OSError as e:
            log.warning("could not move %s to %s: %s", path, dest_root, e)
            return None
        log.info("moved %s to %s", path, dest)
        return dest
