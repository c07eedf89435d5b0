"""A writer killed with SIGKILL in the middle of ``append_many`` leaves all or none of its batch.

A child process (``_workers.py crash``) appends one large batch in a single
``append_many`` call. It touches ``started`` just before the call and ``writing`` when
the store's transaction begins. A first child runs to the end: the "all" outcome,
and how long the transaction takes. Then, each time with a new child, the parent
waits for a marker, sleeps a random short time and sends SIGKILL: once at up to
0.5 s after ``started`` (usually while the rows are still being built), then at a
random point of the transaction (up to just past its measured length). After each
kill the log, reopened, must verify with every checkpoint signed before the kill,
hold exactly the previous size or the previous size plus the whole batch, and
accept the next append at the next dense index (the killed writer's lock is gone).
On PostgreSQL the server rolls back the dead client's transaction.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, verify_log

WORKER_SCRIPT = Path(__file__).with_name("_workers.py")
ROOT = Path(__file__).resolve().parents[3]
ORIGIN = "example.gov/audit-test"
PSEUDONYM_KEY = b"integration-test-pseudonym-key!!"
BATCH = 100_000  # about 35 MB of rows and nodes: far more than fits in one page cache
KILLS = 3

pytestmark = pytest.mark.slow


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 300) -> float:
    """Wait until ``path`` exists; return when (monotonic), or ``inf`` if the child ended first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            return time.monotonic() if path.exists() else math.inf
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.001)
    return time.monotonic()


def _append_in_child(
    url: str, folder: Path, batch: int, run: int, kill: tuple[str, float] | None
) -> tuple[str, float]:
    """A child appends ``batch`` events in one call; ``kill=(marker, delay)`` SIGKILLs it.

    Returns the phase the child had reached when it died (or "done") and how long
    its store transaction ran until then.
    """
    markers = folder / f"run-{run}"
    markers.mkdir()
    spec = {"url": url, "markers": str(markers), "count": batch, "batch": 1000 + run}
    errors = folder / f"run-{run}.err"
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT), "crash", json.dumps(spec)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=ROOT,
        )
    try:
        assert _wait_for(markers / "started", proc) < math.inf, errors.read_text()
        writing = math.inf
        if kill is None:
            writing = _wait_for(markers / "writing", proc)
            proc.wait(timeout=300)
        else:
            marker, delay = kill
            if marker == "writing":
                writing = _wait_for(markers / "writing", proc)
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        ended = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if (markers / "done").exists():
        phase = "done"
    else:
        phase = "in the transaction" if (markers / "writing").exists() else "before it"
    # A kill aimed just past the transaction's usual end may find the child finished.
    expected = {0} if kill is None else {-signal.SIGKILL} | ({0} if phase == "done" else set())
    assert proc.returncode in expected, errors.read_text()
    return phase, max(0.0, ended - writing)


def _check_after_kill(url: str, signer: NoteSigner, before: int, batch: int, run: int) -> int:
    with AuditLog(url, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
        # The next append waits for the killed writer's lock to be released, if needed.
        index = log.append(
            AuditEvent(
                occurred_at=datetime.now(UTC),
                actor_id="operator",
                actor_type="system",
                action="audit.restart",
                resource_type="audit_log",
                correlation_id=f"after-kill-{run}",
                personal=frozenset(),
            )
        )
        assert index in (before, before + batch), "a partial batch is in the log"
        size = log.size()
        assert size == index + 1
        if index == before + batch:
            first, last = log.entry(before), log.entry(before + batch - 1)
            assert first.event.correlation_id == f"w{1000 + run}-0"
            assert last.event.correlation_id == f"w{1000 + run}-{batch - 1}"
        else:
            assert not log.query(correlation_id=f"w{1000 + run}-0")
        log.checkpoint()
        result = verify_log(log, verifiers=[signer.verifier])
        assert result.size == size
        assert result.checkpoints_checked == run + 2
        log.inclusion_proof(index).verify(log.root_hash())
        return size


def _crash_repeatedly(url: str, tmp_path: Path, batch: int, kills: int) -> None:
    signer = NoteSigner.generate(ORIGIN)
    with AuditLog(url, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
        log.append_many(
            AuditEvent(
                occurred_at=datetime.now(UTC),
                actor_id=f"officer-{i}",
                actor_type="officer",
                action="licence.issue",
                resource_type="driving_licence",
                resource_id=f"GD-{i}",
            )
            for i in range(1000)
        )
        log.checkpoint()
        size = log.size()
    # First an uninterrupted batch: the "all" outcome, and how long a transaction lasts.
    phase, duration = _append_in_child(url, tmp_path, batch, 0, None)
    assert phase == "done"
    size = _check_after_kill(url, signer, size, batch, 0)
    outcomes = []
    rng = random.Random()
    for run in range(1, kills + 1):
        if run == 1:  # anywhere after the call began (most likely while rows are built)
            kill = ("started", rng.uniform(0.0, 0.5))
        else:  # inside the transaction, up to just past its usual end
            kill = ("writing", rng.uniform(0.0, 1.1 * duration))
        phase, _ = _append_in_child(url, tmp_path, batch, run, kill)
        before = size
        size = _check_after_kill(url, signer, size, batch, run)
        outcomes.append(f"{phase} after {kill[1]:.2f}s: {'all' if size > before + 1 else 'none'}")
    print(f"transaction {duration:.2f}s; kills: {outcomes}")


def test_sqlite_writer_killed_mid_append_many_leaves_all_or_none(tmp_path: Path) -> None:
    _crash_repeatedly(f"sqlite:///{tmp_path / 'audit.db'}", tmp_path, BATCH, KILLS)


@pytest.mark.postgres
def test_postgres_writer_killed_mid_append_many_leaves_all_or_none(
    pg_store_url: str, tmp_path: Path
) -> None:
    _crash_repeatedly(pg_store_url, tmp_path, BATCH, KILLS)
