"""Verifying an audit log that lies on read-only media (a read-only bind mount).

An auditor receives the log on a write-protected disk, or mounts an archive read-only.
SQLite in WAL mode wants a ``-shm`` file beside the database even to read it, so a
plain ``mode=ro`` open fails there ("unable to open database file"), and a writer's
open fails as well. Evidence that ``verify_log``, ``inspect_log`` and ``govkit audit
verify``/``show``/``prove`` work on such a copy (the layer adds ``immutable=1``), that
a log whose last commits sit in a ``-wal`` file is read with them (never silently
without them), and that writing is refused with a typed error.

Needs root (``mount --bind``); CI runs as root. The mount is always undone.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.audit import (
    AuditEvent,
    AuditLog,
    NoteSigner,
    SQLiteStore,
    inspect_log,
    verify_log,
)
from govkit.cli import main
from govkit.errors import AuditStoreError

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ORIGIN = "media.example.gov/audit"
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "stores"


@contextmanager
def read_only_mount(source: Path, target: Path) -> Iterator[Path]:
    """``source`` bind-mounted read-only at ``target`` for the block; always unmounted."""
    if os.geteuid() != 0:
        pytest.skip("read-only media tests need root (mount --bind)")  # fails under CI
    target.mkdir()
    subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True)
        assert not os.access(target, os.W_OK)
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


def event(i: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=NOW + timedelta(seconds=i),
        actor_id="clerk-3",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{i}",
        personal=frozenset(),
    )


def write_log(path: Path, signer: NoteSigner, count: int) -> AuditLog:
    log = AuditLog(path, origin=ORIGIN, signer=signer)
    log.append_many(event(i) for i in range(count))
    log.checkpoint()
    return log


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_verify_a_log_on_a_read_only_bind_mount(tmp_path: Path) -> None:
    source = tmp_path / "disk"
    source.mkdir()
    signer = NoteSigner.generate(ORIGIN)
    write_log(source / "audit.db", signer, 40).close()  # closed: no -wal/-shm left
    shutil.copy(FIXTURES / "audit.db", source / "previous.db")  # written by 0.1
    assert sorted(p.name for p in source.iterdir()) == ["audit.db", "previous.db"]
    before = digest(source)
    with read_only_mount(source, tmp_path / "ro") as media:
        # What failed before this layer: SQLite's own read-only open.
        with (
            closing(sqlite3.connect(f"file:{media / 'audit.db'}?mode=ro", uri=True)) as plain,
            pytest.raises(sqlite3.OperationalError, match="unable to open"),
        ):
            plain.execute("SELECT COUNT(*) FROM audit_entries").fetchall()

        assert verify_log(media / "audit.db", verifiers=[signer.verifier]).size == 40
        report = inspect_log(str(media / "audit.db"), verifiers=[signer.verifier], deep=True)
        assert [c.name for c in report.checks if c.ok is False] == []
        assert "40 entries" in report.checks[0].detail

        code, out = cli("--json", "audit", "verify", str(media / "audit.db"), "--vkey", signer.vkey)
        assert code == 0, out  # valid
        assert "40 entries" in out
        vkey = (FIXTURES / "audit" / "note-key.vkey").read_text().strip()
        code, out = cli("--json", "audit", "verify", str(media / "previous.db"), "--vkey", vkey)
        assert code == 0, out
        assert "21 entries" in out

        code, out = cli("--json", "audit", "show", str(media / "audit.db"), "--limit", "3")
        assert code == 0, out
        assert json.loads(out)["count"] == 3
        code, out = cli("--json", "audit", "prove", str(media / "audit.db"), "7")
        assert code == 0, out
        assert json.loads(out)["kind"] == "inclusion"

        # Writing is refused with a typed error, from the library and the CLI.
        with pytest.raises(AuditStoreError) as caught:
            SQLiteStore(media / "audit.db")
        assert caught.value.code == "audit.store"
        key = tmp_path / "note-key"
        key.write_text(signer.to_private_key_string())
        code, out = cli("--json", "audit", "checkpoint", str(media / "audit.db"), "--key", str(key))
        assert code != 0
        assert json.loads(out)["error"]["code"] == "audit.store"
        assert sorted(p.name for p in media.iterdir()) == ["audit.db", "previous.db"]
    assert digest(source) == before


def test_a_log_whose_last_commits_are_in_its_wal_file_is_read_with_them(tmp_path: Path) -> None:
    """Copied while open: the entries live in ``-wal``; ``immutable=1`` would miss them."""
    signer = NoteSigner.generate(ORIGIN)
    live = write_log(tmp_path / "live.db", signer, 5)  # still open: commits sit in -wal
    source = tmp_path / "disk"
    source.mkdir()
    with_shm, without_shm = source / "with-shm.db", source / "without-shm.db"
    for suffix in ("", "-wal", "-shm"):
        shutil.copy(f"{tmp_path / 'live.db'}{suffix}", f"{with_shm}{suffix}")
    for suffix in ("", "-wal"):
        shutil.copy(f"{tmp_path / 'live.db'}{suffix}", f"{without_shm}{suffix}")
    live.close()
    with closing(sqlite3.connect(f"file:{with_shm}?immutable=1", uri=True)) as conn:
        stale = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    assert stale == 0  # the database file alone holds nothing yet: it is all in -wal
    with read_only_mount(source, tmp_path / "ro") as media:
        result = verify_log(media / "with-shm.db", verifiers=[signer.verifier])
        assert (result.size, result.checkpoints_checked) == (5, 1)
        with pytest.raises(AuditStoreError) as caught:
            verify_log(media / "without-shm.db", verifiers=[signer.verifier])
        assert "write-ahead log" in caught.value.message
        assert "-shm" in caught.value.message
