"""Running govkit's blocking I/O from asyncio without blocking the event loop (private).

govkit's I/O is synchronous: ``sqlite3`` and ``psycopg`` connections, ``fsync`` on the
audit log, ``requests`` for JWKS, trust and status lists. Rather than keep a second,
native-async copy of every store and source (two code paths that would drift apart), each
blocking method ``m`` gets an async form ``am`` (same parameters, same return, same
errors) that runs ``m`` on **one bounded thread pool owned by govkit**, through
:func:`offload`.

* **Bounded.** At most ``max_workers`` calls run at once (32 by default; change it with
  :func:`configure_offload` before the first call, or at any time: calls already running
  finish on the old pool). Further calls wait in the pool's queue, so a slow database
  makes requests wait; it never makes threads pile up without limit. The pool's threads
  are named ``govkit-io_N``.
* **Context variables propagate.** The blocking call runs inside a copy of the caller's
  :mod:`contextvars` context (``contextvars.copy_context().run``), so a request id, a
  tracing span or a logging context set by the application is visible inside it.
* **Cancellation.** Cancelling the awaiting task (a client hung up, a timeout) raises
  :class:`asyncio.CancelledError` in the awaiting task at once. A call that has not
  started yet never starts. **A call that has already started is not interrupted**: a
  thread cannot be stopped safely, so it runs to its end on the pool and its result (or
  error) is discarded. Every govkit store method is a single transaction, so a cancelled
  ``acheck_and_remember`` has either recorded the nonce or not, never half; a retry of a
  cancelled request is then (correctly) seen as a replay.
* **Forks.** A process forked after the pool started (gunicorn's pre-fork model) gets a
  fresh pool on its first call; threads do not survive ``fork``.

>>> import asyncio
>>> from govkit._aio import offload
>>> asyncio.run(offload(sum, [1, 2, 3]))
6
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, ParamSpec, TypeVar

from govkit.errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "THREAD_NAME_PREFIX",
    "configure_offload",
    "max_workers",
    "offload",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: How many blocking calls run at once unless :func:`configure_offload` says otherwise.
DEFAULT_MAX_WORKERS: Final = 32

#: The pool's threads are named ``govkit-io_0``, ``govkit-io_1``, ...
THREAD_NAME_PREFIX: Final = "govkit-io"

_MAX_WORKERS_LIMIT: Final = 1024


class _Pool:
    """The one pool, created on first use (a holder, so nothing rebinds module globals)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.max_workers: int = DEFAULT_MAX_WORKERS
        self.executor: ThreadPoolExecutor | None = None

    def get(self) -> ThreadPoolExecutor:
        executor = self.executor
        if executor is None:
            with self.lock:
                if self.executor is None:
                    self.executor = ThreadPoolExecutor(
                        max_workers=self.max_workers, thread_name_prefix=THREAD_NAME_PREFIX
                    )
                executor = self.executor
        return executor

    def resize(self, max_workers: int) -> None:
        with self.lock:
            old, self.executor, self.max_workers = self.executor, None, max_workers
        if old is not None:
            old.shutdown(wait=False)

    def forget(self) -> None:  # pragma: no cover - runs in a forked child
        self.lock = threading.Lock()
        self.executor = None


_POOL: Final = _Pool()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.forget)


def configure_offload(max_workers: int = DEFAULT_MAX_WORKERS) -> None:
    """Set how many blocking calls govkit's async forms run at once (1 to 1024).

    Usually called once at start-up, sized to the I/O the application waits for: each
    SQL store runs one statement at a time, and threads doing CPU work share the
    interpreter lock with the event loop, so threads beyond what the stores and
    sources can serve only wait. Calls already running finish on the previous pool;
    new calls use the new one.

    >>> configure_offload(max_workers=0)
    Traceback (most recent call last):
        ...
    govkit.errors.ConfigurationError: max_workers must be an integer from 1 to 1024
    """
    if (
        isinstance(max_workers, bool)
        or not isinstance(max_workers, int)
        or not 1 <= max_workers <= _MAX_WORKERS_LIMIT
    ):
        raise ConfigurationError(f"max_workers must be an integer from 1 to {_MAX_WORKERS_LIMIT}")
    _POOL.resize(max_workers)


def max_workers() -> int:
    """The number of blocking calls that run at once."""
    return _POOL.max_workers


async def offload(func: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run the blocking ``func(*args, **kwargs)`` on govkit's thread pool and await it.

    Returns what ``func`` returns and raises what it raises (the same exception object).
    The call runs in a copy of the caller's :mod:`contextvars` context. Cancelling the
    await does not interrupt a call that has already started (see the module docs).
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, func, *args, **kwargs)
    return await loop.run_in_executor(_POOL.get(), call)
