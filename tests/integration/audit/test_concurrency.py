"""Many processes appending to one log at once never fork it, leave a gap or lose an event.

Each writer is a separate Python process (``_workers.py append``) with its own
:class:`~govkit.audit.AuditLog` on the same store. All writers wait for one "go" file
and then append their events as a shuffled mix of single appends (each its own
durable transaction, so the writer lock is contended thousands of times) and small
``append_many`` batches. Meanwhile this process signs checkpoints of whatever the
log holds at that moment. Afterwards the log must hold every event exactly once at
a dense index, at the index its writer was told, and every proof must verify.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import AuditLog, NoteSigner, verify_log
from govkit.audit import merkle as mk
from govkit.audit._note import Checkpoint

WORKER_SCRIPT = Path(__file__).with_name("_workers.py")
ROOT = Path(__file__).resolve().parents[3]
ORIGIN = "example.gov/audit-test"
PSEUDONYM_KEY = b"integration-test-pseudonym-key!!"

pytestmark = pytest.mark.slow


def _run_writers(
    log: AuditLog, url: str, folder: Path, *, workers: int, count: int, single_share: float
) -> list[dict[str, Any]]:
    """Run the writer processes, signing checkpoints while they run; return their results."""
    go = folder / "go"
    procs = []
    for worker in range(workers):
        spec = {
            "url": url,
            "worker": worker,
            "count": count,
            "single_share": single_share,
            "go": str(go),
        }
        errors = (folder / f"worker-{worker}.err").open("w")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT), "append", json.dumps(spec)],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                cwd=ROOT,
            )
        )
        errors.close()

    def failure(worker: int) -> str:
        return (folder / f"worker-{worker}.err").read_text()

    for worker, proc in enumerate(procs):
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n", failure(worker)
    go.touch()
    while any(proc.poll() is None for proc in procs):
        log.checkpoint()
        time.sleep(0.05)
    results = []
    for worker, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, failure(worker)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check_log(
    log: AuditLog, signer: NoteSigner, results: list[dict[str, Any]], count: int
) -> None:
    workers = len(results)
    total = workers * count
    assert log.size() == total

    entries = log.store.entries(0, total)
    assert [e.index for e in entries] == list(range(total)), "indexes are not dense"

    # Every event exactly once, and at the very index its writer was given.
    seen = Counter(e.row.correlation_id for e in entries)
    expected = {f"w{w}-{n}" for w in range(workers) for n in range(count)}
    assert set(seen) == expected
    assert max(seen.values()) == 1
    for result in results:
        worker, indexes = result["worker"], result["indexes"]
        assert len(indexes) == count
        assert indexes == sorted(indexes), "one writer's appends must keep their order"
        for n, index in enumerate(indexes):
            assert entries[index].row.correlation_id == f"w{worker}-{n}"
        # The personal side table took every writer's clear value despite the races.
        assert log.reveal(log.pseudonym(f"officer-{worker}")) == f"officer-{worker}"

    # Leaves, root and proofs, against an independent in-memory computation.
    leaves = [mk.leaf_hash(e.row.entry) for e in entries]
    assert leaves == [e.row.leaf_hash for e in entries]
    root = mk.root_hash(leaves)
    assert log.root_hash() == root
    for index in range(total):
        proof = log.inclusion_proof(index, total)
        assert proof.leaf_hash == leaves[index]
        mk.verify_inclusion(proof.leaf_hash, index, total, proof.hashes, root)

    # The checkpoints signed while the writers raced: each a prefix of the final log.
    stored = log.store.checkpoints()
    sizes = {size for size, _ in stored if size} | {1, 2, 3, 1023, 1024, 1025, total - 1}
    sizes |= set(random.Random(total).sample(range(1, total), 20))
    for size, note in stored:
        cp = Checkpoint.parse(note.split("\n\n", 1)[0] + "\n")
        assert cp.root_hash == mk.root_hash(leaves[:size])
    for size in sorted(sizes):
        old_root = mk.root_hash(leaves[:size])
        assert log.root_hash(size) == old_root
        mk.verify_consistency(size, total, old_root, root, log.consistency_proof(size, total))

    log.checkpoint()
    result = verify_log(log, verifiers=[signer.verifier], deep=True)
    assert result.size == total
    assert result.root_hash == root
    assert result.checkpoints_checked == len(log.store.checkpoints()) >= len(stored)


def _concurrent_appends(url: str, tmp_path: Path, workers: int, count: int, share: float) -> None:
    signer = NoteSigner.generate(ORIGIN)
    with AuditLog(url, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
        results = _run_writers(log, url, tmp_path, workers=workers, count=count, single_share=share)
        singles = sum(r["singles"] for r in results)
        assert singles >= workers * count * share * 0.99  # the lock really was fought over
        _check_log(log, signer, results, count)


@pytest.mark.postgres
def test_postgres_8_processes_x_2000_appends_keep_the_log_dense_and_provable(
    pg_store_url: str, tmp_path: Path
) -> None:
    _concurrent_appends(pg_store_url, tmp_path, workers=8, count=2000, share=0.25)


def test_sqlite_4_processes_x_2000_appends_keep_the_log_dense_and_provable(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    _concurrent_appends(url, tmp_path, workers=4, count=2000, share=0.25)
