"""A throwaway Redis server for the test session and the benchmarks.

Standard library only, so ``tests/integration/conftest.py`` and ``benchmarks/redis.py``
both load this one file (by path, like ``tests/pg.py``: pytest runs with
``--import-mode=importlib`` and ``tests`` is not a package).

:func:`throwaway_redis` starts ``redis-server`` (``PATH``, then ``/usr/bin``) on a free
port of 127.0.0.1 in a fresh temporary directory, with no persistence unless asked
(``--save '' --appendonly no``), waits until it answers ``PING`` and yields a
:class:`RedisServer` (``.url``, ``.port``, ``.stop()``, ``.start()``, ``.kill()``). On exit
it stops the server and removes the directory. ``stop()``/``kill()`` then ``start()``
bring the server back on the same port, for tests of what stores do while it is gone.

:func:`replay_race_worker` is the body of one process of the tests' multi-process race
(``multiprocessing`` with ``spawn`` imports it from here by name; it imports govkit
itself, inside the function).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "INSTALL_HINT",
    "NO_PERSISTENCE",
    "PERSISTENT",
    "RedisServer",
    "RedisUnavailable",
    "find_redis_server",
    "free_port",
    "replay_race_worker",
    "throwaway_redis",
]

#: What to run when the server binary is missing.
INSTALL_HINT = (
    "install the Redis server: `apt-get install -y redis-server` (Debian/Ubuntu, as root; "
    "`make system-deps` does it) or put redis-server on PATH"
)
#: Nothing is written to disk: a restart forgets every key.
NO_PERSISTENCE: tuple[str, ...] = ("--save", "", "--appendonly", "no")
#: Every write is appended to the AOF and fsynced before the reply: a restart (even
#: after SIGKILL) keeps every key a client was told about.
PERSISTENT: tuple[str, ...] = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")


class RedisUnavailable(RuntimeError):
    """redis-server is not installed (or would not start)."""


def find_redis_server() -> Path | None:
    """The ``redis-server`` binary, or ``None``."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    return Path(found) if found else None


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_ping(port: int, timeout: float) -> bool:
    """Whether a server on 127.0.0.1:``port`` answers ``PING`` within ``timeout`` seconds
    (``-NOAUTH`` counts: a server with ``--requirepass`` is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")):  # up (with a password)
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@dataclass
class RedisServer:
    """A running throwaway server: its URL, and the means to stop and start it again."""

    binary: Path
    root: Path
    port: int
    options: tuple[str, ...]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.root / "redis.log"

    def start(self, timeout: float = 30) -> None:
        """Start the server on :attr:`port`; returns once it answers ``PING``.

        Raises:
            RedisUnavailable: it exited or did not answer (the message has its log).
        """
        argv = [
            str(self.binary),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.root),
            "--daemonize",
            "no",
            "--logfile",
            str(self.log),
            *self.options,
        ]
        self.process = subprocess.Popen(  # the log goes to --logfile
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if answers_ping(self.port, timeout=0.5):
                return
        self._reap()
        raise RedisUnavailable(f"redis-server would not start: {self._log_tail()}")

    def stop(self) -> None:
        """SIGTERM and wait: with :data:`NO_PERSISTENCE` every key is gone afterwards."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL (a crash) and wait."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            self._reap()
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        self._reap()

    def _reap(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


@contextmanager
def throwaway_redis(
    options: Sequence[str] = NO_PERSISTENCE, *, start_attempts: int = 3
) -> Iterator[RedisServer]:
    """Run a fresh ``redis-server`` for the duration of the ``with`` block.

    Args:
        options: extra server arguments; :data:`NO_PERSISTENCE` (default) or
            :data:`PERSISTENT`.
        start_attempts: tries, each on a new free port (another process may take the
            port between choosing it and the server binding it).

    Raises:
        RedisUnavailable: no ``redis-server``, or it would not start.
    """
    binary = find_redis_server()
    if binary is None:
        raise RedisUnavailable(f"redis-server not found; {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="govkit-redis-"))
    server = RedisServer(binary, root, 0, tuple(options))
    try:
        for attempt in range(start_attempts):
            server.port = free_port()
            try:
                server.start()
                break
            except RedisUnavailable:
                if attempt + 1 == start_attempts:
                    raise
        yield server
    finally:
        server.stop()
        with suppress(OSError):
            shutil.rmtree(root, ignore_errors=True)


def replay_race_worker(spec: dict[str, str], barrier: Any, results: Any) -> None:
    """One racer: connect, wait for every racer, then ``check_and_remember(key)`` once.

    ``spec`` holds ``url``, ``prefix``, ``key``, ``now`` and ``expires`` (ISO 8601).
    Puts ``"won"``, ``"replay"`` or the error's code on ``results``.
    """
    from datetime import datetime  # noqa: PLC0415 - runs in a spawned process

    from govkit.errors import GovkitError  # noqa: PLC0415
    from govkit.stores import RedisReplayStore  # noqa: PLC0415

    now, expires = datetime.fromisoformat(spec["now"]), datetime.fromisoformat(spec["expires"])
    key = spec["key"]
    with RedisReplayStore(spec["url"], prefix=spec["prefix"], timeout=60) as store:
        store.check_and_remember(f"warm-up:{key}", now=now, expires_at=now)  # connected
        barrier.wait(timeout=300)
        try:
            won = store.check_and_remember(key, now=now, expires_at=expires)
            results.put("won" if won else "replay")
        except GovkitError as exc:
            results.put(exc.code)
