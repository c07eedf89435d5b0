"""Audit log at scale: proofs with a cold cache, verification per entry, export memory.

Each size in ``GOVKIT_BENCH_AUDIT_SIZES`` (default ``1000000,10000000``; ``--quick``:
``100000,300000``) is a SQLite log built once into the benchmark cache
(:func:`benchmarks._harness.cached_data`, about 1.1 KB per entry: 11 GB at 10 M) with
``append_many`` in batches of 50,000 on a ``durable=False`` store (the same database
real appends make; only the fsync per commit is skipped), then checkpointed. The
first size is the baseline the others are compared with, in the same run:

* **Inclusion proofs, cold cache.** The OS page cache is dropped (``sync``, then
  ``3 > /proc/sys/vm/drop_caches``; when that is not permitted the note says so and
  only a fresh connection is used), a fresh :class:`~govkit.audit.AuditLog` is opened
  and ``inclusion_proof`` runs at 200 random leaves, each timed (the mean counts the
  first, coldest proofs too). Reference: the same proofs again, now warm.
  Absolute target: mean cold proof <= 1 ms at every size.
* **verify_log per entry.** One full ``verify_log`` per size, each after dropping the
  cache, as entries/s (wall clock; CPU time per entry in the note); the first size is
  verified before and after the others and their mean is the reference. Target: time
  per entry at most 1.2 x the first size's (ratio >= 1/1.2). ``verify_log`` lets go of
  the pages behind its position that the kernel had not cached before (see the audit
  guide), so a 10 M-entry log's 11 GB do not fill the page cache as they are read.
* **Export memory.** A child process runs ``AuditLog.export_to`` of the first
  100,000 entries (each with its inclusion proof) into ``/dev/null`` and reports its
  peak RSS (``ru_maxrss``); the reference is the same child opening the log and
  exporting nothing. Absolute target: peak <= 100 MB.

To run the 10 M benchmark: ``python -m benchmarks audit_scale`` (the first run builds
the logs; ``df -h ~`` first: it needs about 12 GB free). Smaller sizes:
``GOVKIT_BENCH_AUDIT_SIZES=1000000,3000000 python -m benchmarks audit_scale``.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import CachedData, Comparison, cached_data
from benchmarks.audit import ORIGIN, PSEUDONYM_KEY, make_events
from govkit.audit import AuditLog, NoteSigner, SQLiteStore, verify_log

NOTES = (
    "Proofs: govkit = inclusion_proof at 200 random leaves right after dropping the OS page\n"
    "cache, reference = the same proofs warm; absolute target: mean cold proof <= 1 ms.\n"
    "verify_log: reference = the first (smallest) size in the same run; target: time per\n"
    "entry <= 1.2 x the smallest size's (ratio >= 0.83). Export: peak RSS of a child\n"
    "process exporting 100,000 entries with proofs, beside one exporting nothing;\n"
    "absolute target <= 100 MB."
)

BUILD_BATCH = 50_000
PROOFS = 200
PROOF_TARGET_MS = 1.0
VERIFY_TARGET = 1 / 1.2
EXPORT_ENTRIES = 100_000
EXPORT_TARGET_MB = 100.0
BYTES_PER_ENTRY = 1200  # on disk, with indexes and nodes (measured: ~1.1 KB)


def sizes(quick: bool) -> list[int]:
    """The log sizes to measure, smallest first."""
    text = os.environ.get("GOVKIT_BENCH_AUDIT_SIZES", "")
    if quick:
        return [100_000, 300_000]
    if text.strip():
        return sorted(int(part.replace("_", "")) for part in text.split(","))
    return [1_000_000, 10_000_000]


def _build(folder: Path, entries: int) -> None:
    signer = NoteSigner.generate(ORIGIN)
    store = SQLiteStore(folder / "audit.db", durable=False)
    with AuditLog(store, origin=ORIGIN, signer=signer, pseudonym_key=PSEUDONYM_KEY) as log:
        for start in range(0, entries, BUILD_BATCH):
            log.append_many(make_events(start, min(BUILD_BATCH, entries - start)))
        log.checkpoint()
    (folder / "signer.key").write_text(signer.to_private_key_string() + "\n")


def built_log(entries: int) -> CachedData:
    """The cached log of ``entries`` entries (built now if absent)."""
    # v2: schema version 2 (tiles, written by the appends that complete them).
    return cached_data(
        f"audit-log-{entries}-v2",
        lambda folder: _build(folder, entries),
        need_bytes=entries * BYTES_PER_ENTRY,
    )


def drop_os_cache() -> bool:
    """Drop the OS page cache; ``False`` if not permitted here."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def _open(data: CachedData) -> tuple[AuditLog, NoteSigner]:
    signer = NoteSigner.from_private_key_string((data.path / "signer.key").read_text().strip())
    log = AuditLog(data.path / "audit.db", origin=ORIGIN, signer=signer)
    return log, signer


def _proofs(data: CachedData, entries: int) -> tuple[Comparison, bool]:
    indexes = random.Random(entries).sample(range(entries), PROOFS)
    dropped = drop_os_cache()
    log, _ = _open(data)
    try:
        cold = []
        for index in indexes:
            t0 = time.perf_counter()
            log.inclusion_proof(index)
            cold.append(time.perf_counter() - t0)
        warm = []
        for index in indexes:
            t0 = time.perf_counter()
            log.inclusion_proof(index)
            warm.append(time.perf_counter() - t0)
    finally:
        log.close()
    mean_ms = statistics.mean(cold) * 1000
    how = "page cache dropped" if dropped else "page cache NOT dropped (not permitted)"
    note = (
        f"{how}; cold mean {mean_ms:.3f} ms, median {statistics.median(cold) * 1000:.3f} ms, "
        f"max {max(cold) * 1000:.1f} ms; warm mean {statistics.mean(warm) * 1000:.3f} ms"
    )
    comparison = Comparison(
        label=f"sqlite: inclusion_proof, cold cache, {entries:,} entries (proofs/s)",
        govkit_ops=1 / statistics.mean(cold),
        reference_ops=1 / statistics.mean(warm),
        ratio=statistics.mean(warm) / statistics.mean(cold),
        number=PROOFS,
        rounds=1,
        note=note,
        absolute_target=f"mean cold proof <= {PROOF_TARGET_MS:g} ms",
        absolute_met=mean_ms <= PROOF_TARGET_MS,
    )
    return comparison, dropped


def _verify_seconds(data: CachedData) -> tuple[float, float]:
    """Wall and CPU seconds of one ``verify_log`` after dropping the page cache."""
    drop_os_cache()
    log, signer = _open(data)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        verify_log(log, verifiers=[signer.verifier])
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        log.close()


def _export_rss(data: CachedData, count: int) -> dict[str, Any]:
    code = (
        "import json, sys\n"
        "from benchmarks.audit_scale import _export_child\n"
        "print(json.dumps(_export_child(sys.argv[1], int(sys.argv[2]))))\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code, str(data.path), str(count)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _export_child(folder: str, count: int) -> dict[str, Any]:
    """In the child: export ``count`` entries to /dev/null; report peak RSS and time."""
    signer = NoteSigner.from_private_key_string((Path(folder) / "signer.key").read_text().strip())
    log = AuditLog(Path(folder) / "audit.db", origin=ORIGIN, signer=signer)
    t0 = time.perf_counter()
    written = 0
    if count:
        with open(os.devnull, "w", encoding="utf-8") as out:
            written = log.export_to(out, size=log.size(), limit=count)
    seconds = time.perf_counter() - t0
    log.close()
    return {"written": written, "seconds": seconds, "peak_mb": _peak_rss_kb() / 1024}


def _peak_rss_kb() -> int:
    """This process's peak resident set (``VmHWM``; ``ru_maxrss`` where /proc is absent).

    Not ``ru_maxrss`` first: on Linux it survives ``execve``, so a child started by a
    large parent would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(quick: bool) -> list[Comparison]:
    """Cold proofs, verification per entry and export memory at each size."""
    results: list[Comparison] = []
    measured = sizes(quick)
    logs = {n: built_log(n) for n in measured}
    for n, data in logs.items():
        print(f"audit log of {n:,} entries: {data.describe()}", file=sys.stderr)
    for n in measured:
        results.append(_proofs(logs[n], n)[0])
    # The smallest size is verified before and after the others; its mean is the base,
    # so a machine that got busier or quieter meanwhile shifts both sides alike.
    base = measured[0]
    first_base = _verify_seconds(logs[base])
    timings = {n: _verify_seconds(logs[n]) for n in measured[1:]}
    last_base = _verify_seconds(logs[base])
    timings[base] = ((first_base[0] + last_base[0]) / 2, (first_base[1] + last_base[1]) / 2)
    base_wall, base_cpu = timings[base][0] / base, timings[base][1] / base
    for n in measured:
        wall, cpu = timings[n]
        per_entry = wall / n
        results.append(
            Comparison(
                label=f"sqlite: verify_log, {n:,} entries, cold cache (entries/s)",
                govkit_ops=n / wall,
                reference_ops=1 / base_wall,
                ratio=base_wall / per_entry,
                number=1,
                rounds=2 if n == base else 1,
                note=(
                    f"{wall:.1f} s, {per_entry * 1e6:.2f} us per entry "
                    f"({per_entry / base_wall:.2f} x the {base:,}-entry run); CPU "
                    f"{cpu / n * 1e6:.2f} us per entry ({cpu / n / base_cpu:.2f} x); "
                    f"{logs[n].describe()}"
                ),
                absolute_target=f"time per entry <= 1.2 x the {base:,}-entry run",
                absolute_met=per_entry <= 1.2 * base_wall,
            )
        )
    for n in measured:
        count = min(EXPORT_ENTRIES, n)
        exported = _export_rss(logs[n], count)
        idle = _export_rss(logs[n], 0)
        results.append(
            Comparison(
                label=f"sqlite: export_to {count:,} of {n:,} entries (entries/s)",
                govkit_ops=exported["written"] / exported["seconds"],
                reference_ops=exported["written"] / exported["seconds"],
                ratio=idle["peak_mb"] / exported["peak_mb"],
                number=count,
                rounds=1,
                note=(
                    f"child peak RSS {exported['peak_mb']:.1f} MB exporting, "
                    f"{idle['peak_mb']:.1f} MB opening the log only; ratio = idle/exporting RSS"
                ),
                absolute_target=f"peak RSS <= {EXPORT_TARGET_MB:g} MB",
                absolute_met=exported["peak_mb"] <= EXPORT_TARGET_MB,
            )
        )
    return results
