"""``govkit audit export`` streams the evidence package, to stdout or to ``--out``.

Evidence that the package is the one the command printed before it streamed
(``json.load`` of the output equals :meth:`AuditLog.export`, which the command used to
print whole), that ``--out`` and stdout carry the same bytes, that an export failing
half-way leaves neither the file nor a temporary file behind, and that the memory a
child process needs does not grow with the log: exporting ten times the entries writes
ten times the bytes with the same peak resident size.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, SQLiteStore, verify_export
from govkit.cli import EXIT_ENV, EXIT_OK, main
from govkit.errors import AuditStoreError

ORIGIN = "export-cli.example.gov/audit"
SIGNER = NoteSigner.generate(ORIGIN)
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


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


def make_log(folder: Path, count: int) -> tuple[Path, Path]:
    """A SQLite log of ``count`` entries and its note signing key file."""
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "audit.db"
    with AuditLog(SQLiteStore(store, durable=False), origin=ORIGIN, signer=SIGNER) as log:
        for start in range(0, count, 5000):
            log.append_many(event(i) for i in range(start, min(count, start + 5000)))
    key = folder / "note-key"
    key.write_text(SIGNER.to_private_key_string() + "\n")
    return store, key


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def exported(store: Path, **filters: Any) -> dict[str, Any]:
    """What the command printed before it streamed: ``AuditLog.export``'s package."""
    with AuditLog(SQLiteStore(store), origin=ORIGIN, signer=SIGNER) as log:
        return log.export(**filters)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


FILTERS = [
    ([], {}),
    (["--action", "licence.revoke"], {"action": "licence.revoke"}),
    (["--actor", "clerk-1", "--limit", "7"], {"actor_id": "clerk-1", "limit": 7}),
    (["--after-index", "40", "--limit", "5"], {"after_index": 40, "limit": 5}),
    (["--action", "nothing.matches"], {"action": "nothing.matches"}),
]


@pytest.mark.parametrize(("flags", "filters"), FILTERS, ids=repr)
def test_the_streamed_package_is_the_package_printed_before(
    tmp_path: Path, flags: list[str], filters: dict[str, Any]
) -> None:
    store, key = make_log(tmp_path, 60)
    code, text, err = run("audit", "export", str(store), "--key", str(key), *flags)
    assert code == EXIT_OK, err
    package = json.loads(text)
    assert package == exported(store, **filters)
    verify_export(package, verifiers=[SIGNER.verifier], origin=ORIGIN)
    code, as_json, _ = run("audit", "export", str(store), "--key", str(key), *flags, "--json")
    assert code == EXIT_OK
    assert as_json == text  # the package is JSON either way: --json changes nothing

    out = tmp_path / "evidence.json"
    code, summary, err = run(
        "audit", "export", str(store), "--key", str(key), *flags, "--out", str(out), "--json"
    )
    assert code == EXIT_OK, err
    assert out.read_text(encoding="utf-8") == text  # the file holds the very same bytes
    assert json.loads(summary) == {"out": str(out), "entries": len(package["entries"])}
    assert f"wrote {out} ({len(package['entries'])} entries)" in err
    assert leftovers(tmp_path) == []


def test_an_export_that_fails_half_way_leaves_no_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store goes away after part of the package was written: exit 3 (a store
    error), and ``--out`` is neither created nor replaced, with no ``.tmp`` left."""
    store, key = make_log(tmp_path / "log", 30)
    real = AuditLog.export_to

    def dies_half_way(self: AuditLog, out: IO[str], **filters: Any) -> int:
        out.write('{"type": "govkit.audit.evidence/v1", "entries": [')
        out.flush()
        raise AuditStoreError("the audit store is unreachable", engine="postgresql")

    monkeypatch.setattr(AuditLog, "export_to", dies_half_way)
    target = tmp_path / "out" / "evidence.json"
    code, text, err = run("audit", "export", str(store), "--key", str(key), "--out", str(target))
    assert code == EXIT_ENV
    assert "[audit.store]" in err
    assert text == ""
    assert not target.exists()
    assert leftovers(target.parent) == []

    target.write_text("an earlier package\n")  # replaced only by a whole package
    argv = ["audit", "export", str(store), "--key", str(key), "--out", str(target), "--force"]
    code, _, _ = run(*argv)
    assert code == EXIT_ENV
    assert target.read_text() == "an earlier package\n"
    assert leftovers(target.parent) == []
    monkeypatch.setattr(AuditLog, "export_to", real)
    code, _, err = run(*argv)
    assert code == EXIT_OK, err
    assert json.loads(target.read_text())["entries"][0]["index"] == 0


# --- memory -----------------------------------------------------------------------------

_CHILD = """
import resource, sys
from govkit.cli import main
code = main(sys.argv[1:])
sys.stderr.write(f"maxrss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
sys.exit(code)
"""


def _peak_kib(argv: list[str], stdout: IO[bytes] | int = subprocess.DEVNULL) -> int:
    """Run ``govkit *argv`` in a child process; its peak resident size in KiB."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=False,
        timeout=300,
        check=False,
    )
    err = done.stderr.decode()
    assert done.returncode == EXIT_OK, err
    return int(err.rsplit("maxrss=", 1)[1])


@pytest.mark.slow
def test_export_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    """3,000 and 30,000 entries: ten times the package, the same peak resident size.

    Measured when this test was written: about 84 MiB for both (the interpreter and the
    command's imports), against 53 MiB and 255 MiB when the package was built in memory.
    """
    peaks: dict[tuple[int, str], int] = {}
    sizes: dict[tuple[int, str], int] = {}
    for count in (3_000, 30_000):
        store, key = make_log(tmp_path / str(count), count)
        out = tmp_path / f"{count}.json"
        peaks[count, "out"] = _peak_kib(
            ["audit", "export", str(store), "--key", str(key), "--out", str(out), "-q"]
        )
        sizes[count, "out"] = out.stat().st_size
        printed = tmp_path / f"{count}-stdout.json"
        with printed.open("wb") as handle:
            peaks[count, "stdout"] = _peak_kib(
                ["audit", "export", str(store), "--key", str(key), "-q"], stdout=handle
            )
        sizes[count, "stdout"] = printed.stat().st_size
        assert printed.read_bytes() == out.read_bytes()
    for mode in ("out", "stdout"):
        small, large = sizes[3_000, mode], sizes[30_000, mode]
        assert large > 9 * small, (small, large)  # ten times the entries were written
        growth = peaks[30_000, mode] - peaks[3_000, mode]
        # The same pages of 1,000 entries are in memory either way: allow noise, not the
        # ~30 MB package (the in-memory export grew by ~200 MiB here).
        assert growth < 16 * 1024, (mode, peaks)
        assert growth * 1024 < (large - small) / 2, (mode, peaks, sizes)
