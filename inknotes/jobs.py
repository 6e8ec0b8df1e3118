"""The one background pool: plain functions of plain data, progress, cancellation, and
GPU-aware concurrency (at most one model job on the GPU, CPU jobs up to the core count).

Workers never touch widgets: the GUI listens through a Qt adapter in ``gui/``, which turns
the listener calls made here (from worker threads) into queued signals.
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .errors import Cancelled, InknotesError

log = logging.getLogger(__name__)
Listener = Callable[["Job", str], None]
_ids = itertools.count(1)


class JobContext:
    """What a running job sees: report progress, ask whether it should stop."""

    def __init__(self, job: Job):
        self._job = job

    def progress(self, done: int, total: int) -> None:
        self._job._set_progress(done, total)

    def cancelled(self) -> bool:
        return self._job._cancel.is_set()

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled()

    def note(self, sentence: str) -> None:
        """What a finished job did besides its result, for the person (e.g. nothing was new)."""
        self._job.note = sentence


class Job:
    """A submitted unit of work. ``state`` moves queued -> running -> done|failed|cancelled."""

    def __init__(self, name: str, gpu: bool):
        self.id = next(_ids)
        self.name = name
        self.gpu = gpu
        self.state = "queued"
        self.progress: tuple[int, int] = (0, 0)
        self.error: str | None = None
        self.note: str | None = None
        self.retryable = True  # a jobs list may offer to run it again
        self.future: Future = Future()
        self._cancel = threading.Event()
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def add_listener(self, fn: Listener) -> None:
        with self._lock:
            self._listeners.append(fn)

    def cancel(self) -> None:
        """Ask the job to stop; a queued job never starts, a running one stops at its next check."""
        self._cancel.set()
        if self.state == "queued":
            self._finish("cancelled", error="Cancelled.")

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _emit(self, event: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(self, event)
            except Exception:  # a broken listener must not kill the worker
                log.exception("job listener failed for %s", self.name)

    def _set_progress(self, done: int, total: int) -> None:
        self.progress = (int(done), int(total))
        self._emit("progress")

    def _finish(self, state: str, result: Any = None, error: str | None = None,
                exc: BaseException | None = None) -> None:
        with self._lock:
            if self.future.done():
                return
            self.state = state
            self.error = error
            if exc is not None:
                self.future.set_exception(exc)
            elif state == "cancelled":
                self.future.set_exception(Cancelled())
            else:
                self.future.set_result(result)
        self._emit(state)


def failed_record(name: str, error: str) -> Job:
    """A job that never ran, recorded as failed with its sentence, for a jobs list: a watched
    file refused before any conversion (the watch folder retries on its own, so no retry here)."""
    job = Job(name, gpu=False)
    job.retryable = False
    job._finish("failed", error=error)
    return job


class JobPool:
    """CPU lane with ``cpu_workers`` threads, GPU lane with one thread."""

    def __init__(self, cpu_workers: int | None = None):
        self.cpu_workers = max(1, cpu_workers or os.cpu_count() or 1)
        self._cpu = ThreadPoolExecutor(self.cpu_workers, thread_name_prefix="inknotes-cpu")
        self._gpu = ThreadPoolExecutor(1, thread_name_prefix="inknotes-gpu")
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[[JobContext], Any], *, name: str = "", gpu: bool = False) -> Job:
        job = Job(name or getattr(fn, "__name__", "job"), gpu)
        with self._lock:
            if self._closed:
                raise InknotesError("The background pool is shut down.")
            self._jobs.append(job)
        (self._gpu if gpu else self._cpu).submit(self._run, job, fn)
        return job

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def _run(self, job: Job, fn: Callable[[JobContext], Any]) -> None:
        if job.cancel_requested or job.future.done():
            job._finish("cancelled", error="Cancelled.")
            return
        job.state = "running"
        job._emit("started")
        try:
            result = fn(JobContext(job))
        except Cancelled:
            job._finish("cancelled", error="Cancelled.")
        except InknotesError as e:
            log.info("job %s failed: %s", job.name, e.user_line())
            job._finish("failed", error=str(e), exc=e)
        except Exception as e:  # unexpected: full traceback to the log, a sentence to the user
            log.exception("job %s crashed", job.name)
            job._finish("failed", error=f"Unexpected error: {e}", exc=e)
        else:
            job._finish("done", result=result)

    def shutdown(self, wait: bool = True, cancel_pending: bool = True) -> None:
        with self._lock:
            self._closed = True
            jobs = list(self._jobs)
        if cancel_pending:
            for j in jobs:
                if j.state in ("queued", "running"):
                    j.cancel()
        self._cpu.shutdown(wait=wait, cancel_futures=cancel_pending)
        self._gpu.shutdown(wait=wait, cancel_futures=cancel_pending)


_shared: JobPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> JobPool:
    """The process-wide pool the GUI and the watch folder share."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            _shared = JobPool()
        return _shared
