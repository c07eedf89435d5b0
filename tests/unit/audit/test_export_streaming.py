"""``AuditLog.export_to`` writes the evidence package entry by entry.

Evidence that the streamed package is the package (``json.load`` of the file equals
``export()``, with filters, limits and an older checkpoint), and that the memory it
needs does not grow with the log: the peak traced allocation while exporting a log ten
times larger stays the same, while the file written grows tenfold.
"""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, SQLiteStore, verify_export
from govkit.errors import ConfigurationError

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ORIGIN = "export.example.gov/audit"
SIGNER = NoteSigner.generate(ORIGIN)


def event(i: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=NOW + timedelta(seconds=i),
        actor_id=f"clerk-{i % 4}",
        actor_type="officer",
        action="licence.issue" if i % 3 else "licence.revoke",
        resource_type="driving_licence",
        resource_id=f"GD-{i}",
        personal=frozenset(),
    )


def make_log(path: Path, count: int) -> AuditLog:
    log = AuditLog(SQLiteStore(path, durable=False), origin=ORIGIN, signer=SIGNER)
    for start in range(0, count, 5000):
        log.append_many(event(i) for i in range(start, min(count, start + 5000)))
    return log


class _Counting(io.TextIOBase):
    """A text sink that keeps nothing but the number of characters written."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def test_streamed_package_equals_the_in_memory_package(tmp_path: Path) -> None:
    with make_log(tmp_path / "audit.db", 2500) as log:
        old = log.checkpoint()
        log.append_many(event(i) for i in range(2500, 2600))
        cases: list[dict[str, object]] = [
            {},
            {"action": "licence.revoke"},
            {"actor_id": "clerk-1", "limit": 1200},
            {"after_index": 1500, "limit": 10},
            {"size": 2500},
            {"limit": 0},
        ]
        for filters in cases:
            out = io.StringIO()
            count = log.export_to(out, **filters)  # type: ignore[arg-type]
            package = json.loads(out.getvalue())
            assert package == log.export(**filters)  # type: ignore[arg-type]
            assert count == len(package["entries"])
            entries = verify_export(package, verifiers=[SIGNER.verifier], origin=ORIGIN)
            assert [e.index for e in entries] == [e["index"] for e in package["entries"]]
        assert json.loads(_export(log, size=2500))["checkpoint"] == old
        assert len(json.loads(_export(log))["entries"]) == 2600


def _export(log: AuditLog, **filters: object) -> str:
    out = io.StringIO()
    log.export_to(out, **filters)  # type: ignore[arg-type]
    return out.getvalue()


def test_nothing_is_written_when_there_is_no_checkpoint_of_that_size(tmp_path: Path) -> None:
    with make_log(tmp_path / "audit.db", 10) as log:
        out = io.StringIO()
        with pytest.raises(ConfigurationError):
            log.export_to(out, size=5)
        assert out.getvalue() == ""


def _peak_while_exporting(log: AuditLog) -> tuple[int, int]:
    """(peak traced bytes during ``export_to``, characters written)."""
    sink = _Counting()
    log.checkpoint()  # signed before tracing: only the export is measured
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        log.export_to(sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, sink.size


@pytest.mark.slow
def test_export_memory_stays_flat_when_the_log_grows_tenfold(tmp_path: Path) -> None:
    with make_log(tmp_path / "small.db", 3_000) as small:
        small_peak, small_size = _peak_while_exporting(small)
    with make_log(tmp_path / "large.db", 30_000) as large:
        large_peak, large_size = _peak_while_exporting(large)
    assert large_size > 9 * small_size  # ten times the entries were written
    # The same pages of 1000 entries are in memory either way; allow noise, not growth.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
    assert large_peak < large_size / 4  # far less than the package itself
