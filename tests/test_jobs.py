"""The background pool: results, errors as sentences, cancellation, the one-at-a-time GPU lane."""
from __future__ import annotations

import threading

import pytest

from inknotes.errors import Cancelled, InputError
from inknotes.jobs import JobPool


@pytest.fixture
def pool():
    p = JobPool(cpu_workers=2)
    yield p
    p.shutdown()


def test_result_and_progress_events(pool):
    events = []

    def work(ctx):
        for i in range(3):
            ctx.progress(i + 1, 3)
        return "done!"

    job = pool.submit(work, name="w")
    job.add_listener(lambda j, e: events.append(e))
    assert job.future.result(timeout=10) == "done!"
    assert job.state == "done"
    assert job.progress == (3, 3)


def test_failure_keeps_the_users_sentence(pool):
    def work(ctx):
        raise InputError("The file is not an image.", "x.txt")

    job = pool.submit(work)
    with pytest.raises(InputError):
        job.future.result(timeout=10)
    assert job.state == "failed"
    assert job.error == "The file is not an image."


def test_unexpected_exception_becomes_a_failed_job_not_a_dead_pool(pool):
    job = pool.submit(lambda ctx: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        job.future.result(timeout=10)
    assert job.state == "failed" and "Unexpected error" in job.error
    assert pool.submit(lambda ctx: 42).future.result(timeout=10) == 42


def test_cancel_running_job_stops_at_next_check(pool):
    started = threading.Event()

    def work(ctx):
        started.set()
        while True:
            ctx.check()
            threading.Event().wait(0.01)

    job = pool.submit(work)
    assert started.wait(10)
    job.cancel()
    with pytest.raises(Cancelled):
        job.future.result(timeout=10)
    assert job.state == "cancelled"


def test_gpu_lane_runs_one_job_at_a_time():
    pool = JobPool(cpu_workers=4)
    lock = threading.Lock()
    running, peak = [0], [0]
    gate = threading.Barrier(2, timeout=0.3)

    def work(ctx):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            gate.wait()  # would pass only if two GPU jobs ran together
        except threading.BrokenBarrierError:
            pass
        with lock:
            running[0] -= 1

    jobs = [pool.submit(work, gpu=True) for _ in range(3)]
    for j in jobs:
        j.future.result(timeout=20)
    pool.shutdown()
    assert peak[0] == 1


def test_queued_job_cancelled_never_runs():
    pool = JobPool(cpu_workers=1)
    release = threading.Event()
    ran = []
    blocker = pool.submit(lambda ctx: release.wait(10))
    queued = pool.submit(lambda ctx: ran.append(1))
    queued.cancel()
    release.set()
    blocker.future.result(timeout=10)
    pool.shutdown()
    assert queued.state == "cancelled" and not ran
