"""Qt adapter for the background pool: job listener calls (made on worker threads) become
queued signals, so widgets only ever change on the UI thread."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..jobs import Job, JobContext, JobPool, shared_pool

log = logging.getLogger(__name__)
FINAL = ("done", "failed", "cancelled")


class QtJobs(QObject):
    """Submits jobs and re-emits their events on the UI thread.

    ``changed(job, event)`` fires for "started", "progress" and the final states;
    ``finished(job)`` once per job when it is done, failed or cancelled.
    """

    changed = Signal(object, str)
    finished = Signal(object)
    added = Signal(object)

    def __init__(self, pool: JobPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = pool or shared_pool()
        self._recipes: dict[int, tuple[Callable[[JobContext], Any], str, bool, str]] = {}
        self.kinds: dict[int, str] = {}
        self._final_seen: set[int] = set()
        self.jobs: list[Job] = []
        # Signals emitted from worker threads are delivered here through the event loop.
        self._relay.connect(self._on_relay)

    _relay = Signal(object, str)

    def submit(self, fn: Callable[[JobContext], Any], *, name: str = "", gpu: bool = False,
               kind: str = "") -> Job:
        """Run ``fn`` on the pool; ``kind`` ("import", "export", ...) tells listeners what it was."""
        job = self.pool.submit(fn, name=name, gpu=gpu)
        self._recipes[job.id] = (fn, name, gpu, kind)
        self.kinds[job.id] = kind
        self.jobs.append(job)
        job.add_listener(self._listener)
        self.added.emit(job)
        if job.future.done():  # finished before we listened: report it once anyway
            self._relay.emit(job, job.state)
        return job

    def retry(self, job: Job) -> Job | None:
        """Run a failed or cancelled job's function again as a new job."""
        recipe = self._recipes.get(job.id)
        if recipe is None:
            return None
        fn, name, gpu, kind = recipe
        return self.submit(fn, name=name, gpu=gpu, kind=kind)

    def active(self) -> list[Job]:
        return [j for j in self.jobs if j.state in ("queued", "running")]

    def _listener(self, job: Job, event: str) -> None:
        self._relay.emit(job, event)  # worker thread: queued into the UI thread

    def _on_relay(self, job: Job, event: str) -> None:
        if event in FINAL:
            if job.id in self._final_seen:
                return
            self._final_seen.add(job.id)
        self.changed.emit(job, event)
        if event in FINAL:
            self.finished.emit(job)
