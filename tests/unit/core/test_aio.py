"""Evidence for ``govkit._aio.offload``: the one bounded thread pool behind every async form.

What an asyncio application relies on: the blocking call runs off the event loop (a
ticker keeps ticking), with the caller's context variables, on at most ``max_workers``
threads named ``govkit-io``; its result and its exception come back unchanged; a
cancelled await does not run a call that had not started, and does not interrupt one
that had.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from govkit import _aio
from govkit._aio import DEFAULT_MAX_WORKERS, configure_offload, max_workers, offload
from govkit.errors import ConfigurationError, StoreLocked
from govkit.stores import configure_offload as public_configure_offload

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


@pytest.fixture(autouse=True)
def _default_pool() -> Iterator[None]:
    """Every test starts and ends with the default pool size."""
    configure_offload(DEFAULT_MAX_WORKERS)
    yield
    configure_offload(DEFAULT_MAX_WORKERS)


async def _ticking(work: Callable[[], Awaitable[Any]], period: float = 0.01) -> list[float]:
    """Run ``work`` beside a ticker; return the gaps between ticks while it ran."""
    stamps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            stamps.append(time.perf_counter())
            await asyncio.sleep(period)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker starts before the work
    try:
        await work()
    finally:
        done.set()
        await task
    return [b - a for a, b in itertools.pairwise(stamps)]


def test_offload_returns_the_result_and_the_public_name_is_the_same_function() -> None:
    assert asyncio.run(offload(sum, [1, 2, 3])) == 6
    assert asyncio.run(offload(dict, a=1)) == {"a": 1}
    assert public_configure_offload is configure_offload


def test_offload_raises_the_very_exception_the_blocking_call_raised() -> None:
    error = StoreLocked("the store is locked", table="replay")

    def fail() -> None:
        raise error

    with pytest.raises(StoreLocked) as caught:
        asyncio.run(offload(fail))
    assert caught.value is error
    assert caught.value.code == "store.locked"


def test_the_call_runs_on_a_govkit_io_thread_not_the_loop() -> None:
    async def main() -> tuple[str, str]:
        return threading.current_thread().name, await offload(
            lambda: threading.current_thread().name
        )

    loop_thread, worker = asyncio.run(main())
    assert worker.startswith("govkit-io")
    assert worker != loop_thread


def test_a_blocking_call_does_not_stall_the_event_loop() -> None:
    gaps = asyncio.run(_ticking(lambda: offload(time.sleep, 0.5)))
    assert len(gaps) >= 10  # about 50 ticks in 0.5 s; 10 on a very loaded machine
    assert max(gaps) < 0.25


def test_the_same_call_made_on_the_loop_stalls_it_which_is_what_the_ticker_detects() -> None:
    """The control of the test above: the ticker does see a blocked loop."""

    async def blocking() -> None:
        time.sleep(0.3)

    gaps = asyncio.run(_ticking(blocking))
    assert max(gaps, default=0.3) >= 0.29


def test_context_variables_reach_the_call_and_its_changes_stay_there() -> None:
    def read_and_change() -> str:
        seen = REQUEST_ID.get()
        REQUEST_ID.set("changed-in-thread")
        return seen

    async def main() -> tuple[str, str]:
        REQUEST_ID.set("req-42")
        seen = await offload(read_and_change)
        return seen, REQUEST_ID.get()

    assert asyncio.run(main()) == ("req-42", "req-42")


def test_at_most_max_workers_calls_run_at_once() -> None:
    configure_offload(max_workers=2)
    assert max_workers() == 2
    lock = threading.Lock()
    running = 0
    peak = 0

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(offload(work) for _ in range(8)))

    asyncio.run(main())
    assert peak == 2


@pytest.mark.parametrize("value", [0, -1, 1025, True, 2.0, "8", None])
def test_configure_offload_refuses_a_pool_size_that_cannot_work(value: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        configure_offload(value)
    assert caught.value.code == "config.invalid"
    assert max_workers() == DEFAULT_MAX_WORKERS


def test_resizing_lets_calls_already_running_finish_on_the_old_pool() -> None:
    release = threading.Event()

    async def main() -> str:
        running = asyncio.ensure_future(offload(lambda: release.wait(5) and "finished"))
        await asyncio.sleep(0.05)
        configure_offload(max_workers=4)
        release.set()
        return await running

    assert asyncio.run(main()) == "finished"
    assert max_workers() == 4


def test_a_cancelled_await_never_starts_a_call_still_waiting_for_a_thread() -> None:
    configure_offload(max_workers=1)
    release = threading.Event()
    ran: list[str] = []

    async def main() -> None:
        first = asyncio.ensure_future(offload(release.wait, 5))
        await asyncio.sleep(0.05)  # the only thread is now busy
        queued = asyncio.ensure_future(offload(ran.append, "queued call ran"))
        await asyncio.sleep(0.05)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        await first
        await offload(lambda: None)  # the pool has moved past the cancelled call

    asyncio.run(main())
    assert ran == []


def test_a_cancelled_await_does_not_interrupt_a_call_that_has_started() -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def work() -> None:
        started.set()
        release.wait(5)
        finished.set()

    async def main() -> float:
        task = asyncio.ensure_future(offload(work))
        while not started.is_set():
            await asyncio.sleep(0.005)
        began = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.perf_counter() - began

    waited = asyncio.run(main())
    assert waited < 1.0  # the awaiting task was freed at once
    assert not finished.is_set()  # while the call is still running
    release.set()
    assert finished.wait(5)  # and it ran to its end


def test_a_process_forked_after_the_pool_started_gets_a_fresh_pool() -> None:
    asyncio.run(offload(lambda: None))
    pool = _aio._POOL
    assert pool.executor is not None
    pool.forget()  # what the at-fork hook runs in the child
    assert pool.executor is None
    assert asyncio.run(offload(sum, [2, 3])) == 5
