"""A throwaway PostgreSQL cluster for the test session and the benchmarks.

Standard library only, so ``tests/integration/conftest.py`` and ``benchmarks/_pg.py``
both load this one file (by path: pytest runs with ``--import-mode=importlib`` and
``tests`` is not a package).

:func:`throwaway_cluster` finds ``initdb``/``pg_ctl`` (``/usr/lib/postgresql/*/bin``,
newest first, then ``PATH``), runs ``initdb -A trust -U govkit`` in a fresh temporary
directory, starts the server on a free port of 127.0.0.1 with its socket in that
directory, waits until it accepts connections and yields
``postgresql://govkit@127.0.0.1:PORT/postgres``. On exit it stops the server
(``pg_ctl stop -m fast``) and removes the directory. PostgreSQL refuses to run as
root, so as root every server command runs as the ``postgres`` user through
``runuser``, and the directory is handed to that user.

:func:`restartable_cluster` does the same and yields a :class:`Cluster`, whose
``restart()`` runs ``pg_ctl restart -m immediate`` (a crash as far as clients can tell:
every connection dies and the server replays its WAL) and whose ``stop()``/``start()``
leave the server down in between, on the same port, for tests of what stores do while
the server is gone. Its default settings keep ``synchronous_commit`` on: an immediate
shutdown loses asynchronous commits, and such tests count every committed row.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CRASH_SAFE_SETTINGS",
    "INSTALL_HINT",
    "Cluster",
    "PostgresUnavailable",
    "find_bindir",
    "free_port",
    "restartable_cluster",
    "throwaway_cluster",
]

#: What to run when the server binaries are missing.
INSTALL_HINT = (
    "install the PostgreSQL server: `apt-get install -y postgresql` (Debian/Ubuntu, as root; "
    "`make system-deps` does it) or put initdb and pg_ctl on PATH"
)
#: Settings for a cluster whose durability nobody needs (tests): no fsync at all.
FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
#: Fast, yet no committed transaction is lost when the server (not the machine) crashes:
#: ``synchronous_commit`` stays on, so a commit has reached the OS before it returns.
CRASH_SAFE_SETTINGS: Mapping[str, str] = {"fsync": "off", "full_page_writes": "off"}
SERVER_USER = "postgres"
DB_USER = "govkit"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed (or cannot be run)."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, newest version first; ``None`` if absent."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version_key)
    for initdb in reversed(found):
        if (initdb.parent / "pg_ctl").exists():
            return initdb.parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    return None


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *argv]
    return argv


def _run(argv: list[str], cwd: Path, timeout: float = 120) -> None:
    done = subprocess.run(
        _as_server_user(argv),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )


def _accepts_connections(port: int, timeout: float) -> bool:
    """Whether the server answers a startup packet on 127.0.0.1:``port`` within ``timeout``."""
    deadline = time.monotonic() + timeout
    # An SSLRequest packet: any PostgreSQL server answers it with one byte ('S' or 'N').
    ssl_request = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(ssl_request)
                if sock.recv(1) in (b"S", b"N"):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


@dataclass
class Cluster:
    """A running throwaway cluster: its URL, and the means to stop, start and restart it."""

    url: str
    bindir: Path
    root: Path
    data: Path
    log: Path
    port: int
    server_options: str

    def _pg_ctl(self, *args: str, timeout: float = 120) -> None:
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        _run([*pg_ctl, *args], cwd=self.root, timeout=timeout)

    def restart(self, mode: str = "immediate") -> None:
        """``pg_ctl restart -m MODE``; returns once the server accepts connections again."""
        self._pg_ctl("-o", self.server_options, "-m", mode, "-w", "-t", "60", "restart")
        self._wait_up()

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m MODE``: every connection dies; the port refuses connections."""
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def start(self) -> None:
        """Start the stopped server again on the same port; returns once it accepts."""
        self._pg_ctl("-o", self.server_options, "-w", "-t", "60", "start")
        self._wait_up()

    def _wait_up(self) -> None:
        if not _accepts_connections(self.port, timeout=30):
            raise PostgresUnavailable(
                f"the PostgreSQL server does not accept connections: {_log_tail(self.log)}"
            )


@contextmanager
def throwaway_cluster(
    settings: Mapping[str, str] | None = None, *, start_attempts: int = 3
) -> Iterator[str]:
    """Run a fresh PostgreSQL cluster for the duration of the ``with`` block.

    Args:
        settings: extra server settings (``-c name=value``), e.g. :data:`FAST_SETTINGS`.
        start_attempts: tries, each on a new free port (another process may take
            the port between choosing it and the server binding it).

    Yields:
        ``postgresql://govkit@127.0.0.1:PORT/postgres`` (trust authentication).

    Raises:
        PostgresUnavailable: no server binaries, no ``postgres`` user when running
            as root, or the server would not start (the message carries its log).
    """
    with restartable_cluster(settings, start_attempts=start_attempts) as cluster:
        yield cluster.url


@contextmanager
def restartable_cluster(
    settings: Mapping[str, str] | None = CRASH_SAFE_SETTINGS, *, start_attempts: int = 3
) -> Iterator[Cluster]:
    """:func:`throwaway_cluster`, yielding a :class:`Cluster` that can be restarted.

    The default settings are :data:`CRASH_SAFE_SETTINGS`; stopping the server leaves
    the cluster in place, and leaving the block stops it (if running) and removes it.
    """
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(f"PostgreSQL server binaries not found; {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="govkit-pg-"))
    data, log = root / "data", root / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root needs a '{SERVER_USER}' user to run the server "
                    f"(the postgresql package creates it); {INSTALL_HINT}"
                ) from None
            os.chown(root, owner.pw_uid, owner.pw_gid)
        initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", DB_USER]
        _run([*initdb, "--no-locale", "-E", "UTF8", "--no-sync"], cwd=root)
        options = [f"-c {name}={value}" for name, value in (settings or {}).items()]
        for attempt in range(start_attempts):
            port = free_port()
            server_options = " ".join(
                [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {root}", *options]
            )
            pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
            try:
                _run([*pg_ctl, "-o", server_options, "-w", "-t", "60", "start"], cwd=root)
            except PostgresUnavailable:
                if attempt + 1 == start_attempts:
                    raise PostgresUnavailable(
                        f"the PostgreSQL server would not start: {_log_tail(log)}"
                    ) from None
                continue
            started = True
            if not _accepts_connections(port, timeout=30):
                raise PostgresUnavailable(
                    f"the PostgreSQL server does not accept connections: {_log_tail(log)}"
                )
            break
        yield Cluster(
            url=f"postgresql://{DB_USER}@127.0.0.1:{port}/postgres",
            bindir=bindir,
            root=root,
            data=data,
            log=log,
            port=port,
            server_options=server_options,
        )
    finally:
        if started:  # a stopped server makes this fail quietly
            subprocess.run(
                _as_server_user(
                    [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
                ),
                cwd=root,
                capture_output=True,
                timeout=120,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)
