"""``govkit audit verify`` trusts only the verifier key it is given, never one next to the log.

The attack these tests cover: whoever can rewrite the log folder truncates the log,
replaces ``audit/note-key`` and ``audit/note-key.vkey`` with a key of their own and
signs a new checkpoint with it. A verifier that took its key from the folder would say
VALID; pinned to the log's published key (``--vkey`` or ``GOVKIT_AUDIT_VKEY``) it fails.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner
from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main

ORIGIN = "audit.example.gov/log"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


@pytest.fixture(autouse=True)
def no_vkey_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVKIT_AUDIT_VKEY", raising=False)


@pytest.fixture
def log_dir(tmp_path: Path) -> tuple[Path, str]:
    """A log of 6 entries with checkpoints at 3 and 6; the key files beside it. Returns
    the store and the published vkey (what an auditor pins)."""
    signer = NoteSigner.generate(ORIGIN)
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "note-key").write_text(signer.to_private_key_string() + "\n")
    (folder / "note-key.vkey").write_text(signer.vkey + "\n")
    store = tmp_path / "audit.db"
    with AuditLog(store, origin=ORIGIN, signer=signer, pseudonym_key=b"p" * 32) as log:
        for batch in (range(3), range(3, 6)):
            log.append_many(
                AuditEvent(
                    occurred_at=datetime(2026, 11, 28, 9, i, tzinfo=UTC),
                    actor_id="clerk-12",
                    actor_type="officer",
                    action="licence.revoke" if i == 4 else "licence.issue",
                    resource_type="driving_licence",
                    resource_id=f"GD-{i}",
                )
                for i in batch
            )
            log.checkpoint()
    return store, signer.vkey


def truncate_swap_key_and_resign(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    """The attacker: keep 3 entries, put their own key beside the log, sign a checkpoint."""
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM audit_entries WHERE idx >= 3")
        conn.execute("DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > 3")
        conn.execute("DELETE FROM audit_checkpoints")
    key = store.parent / "audit" / "note-key"
    assert main(["audit", "keygen", ORIGIN, "--out", str(key), "--force", "-q"]) == EXIT_OK
    assert main(["audit", "checkpoint", str(store), "-q"]) == EXIT_OK
    capsys.readouterr()


def test_verify_without_a_pinned_vkey_is_a_usage_error_even_with_a_vkey_beside_the_log(
    capsys: pytest.CaptureFixture[str], log_dir: tuple[Path, str]
) -> None:
    store, _ = log_dir
    assert (store.parent / "audit" / "note-key.vkey").is_file()
    code, data, err = run_json(capsys, "audit", "verify", str(store))
    assert code == EXIT_USAGE
    assert list(data) == ["error"]  # the error shape, never a verdict
    assert data["error"]["code"] == "cli.no_vkey"
    assert "--vkey" in data["error"]["message"]
    assert "GOVKIT_AUDIT_VKEY" in data["error"]["message"]
    assert "[cli.no_vkey]" in err


def test_verify_with_the_pinned_vkey_as_a_string_a_file_or_the_variable(
    capsys: pytest.CaptureFixture[str],
    log_dir: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, vkey = log_dir
    published = tmp_path / "published.vkey"
    published.write_text(vkey + "\n")
    for pinned in (vkey, str(published)):
        code, report, _ = run_json(capsys, "audit", "verify", str(store), "--vkey", pinned)
        assert code == EXIT_OK, report
        assert report["size"] == 6
    monkeypatch.setenv("GOVKIT_AUDIT_VKEY", vkey)
    code, report, _ = run_json(capsys, "audit", "verify", str(store))
    assert code == EXIT_OK, report
    # --vkey wins over the variable.
    monkeypatch.setenv("GOVKIT_AUDIT_VKEY", NoteSigner.generate(ORIGIN).vkey)
    code, report, _ = run_json(capsys, "audit", "verify", str(store), "--vkey", vkey)
    assert code == EXIT_OK, report


def test_a_vkey_file_that_does_not_exist_is_an_environment_error_not_a_verdict(
    capsys: pytest.CaptureFixture[str], log_dir: tuple[Path, str], tmp_path: Path
) -> None:
    store, _ = log_dir
    missing = str(tmp_path / "published.vkey")
    code, data, _ = run_json(capsys, "audit", "verify", str(store), "--vkey", missing)
    assert code == EXIT_ENV
    assert data["error"]["code"] == "cli.no_such_file"


def test_truncated_log_with_a_swapped_key_and_a_resigned_checkpoint_fails_the_pinned_vkey(
    capsys: pytest.CaptureFixture[str], log_dir: tuple[Path, str]
) -> None:
    store, vkey = log_dir
    truncate_swap_key_and_resign(capsys, store)
    # The attack is real: trusting the key found beside the log, the forgery is VALID.
    beside = str(store.parent / "audit" / "note-key.vkey")
    assert (store.parent / "audit" / "note-key.vkey").read_text().strip() != vkey
    code, report, _ = run_json(capsys, "audit", "verify", str(store), "--vkey", beside)
    assert code == EXIT_OK
    assert report["size"] == 3
    # Pinned to the published key, it is not.
    code, report, err = run_json(capsys, "audit", "verify", str(store), "--vkey", vkey)
    assert code == EXIT_INVALID
    assert report["valid"] is False
    assert report["code"] == "audit.checkpoint_signature"
    assert "INVALID" in err


def test_truncated_log_with_a_swapped_key_fails_with_the_pinned_vkey_in_the_variable(
    capsys: pytest.CaptureFixture[str], log_dir: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, vkey = log_dir
    truncate_swap_key_and_resign(capsys, store)
    monkeypatch.setenv("GOVKIT_AUDIT_VKEY", vkey)
    code, report, _ = run_json(capsys, "audit", "verify", str(store))
    assert code == EXIT_INVALID
    assert report["code"] == "audit.checkpoint_signature"


def test_truncated_log_without_a_new_checkpoint_fails_against_a_saved_checkpoint(
    capsys: pytest.CaptureFixture[str], log_dir: tuple[Path, str], tmp_path: Path
) -> None:
    # An attacker who signs nothing leaves a log that is consistent as far as it goes:
    # the auditor's saved checkpoint (which no command overwrites) is what catches it.
    store, vkey = log_dir
    saved = tmp_path / "saved-checkpoint"
    args = ["audit", "checkpoint", str(store), "--out", str(saved), "-q"]
    assert main(args) == EXIT_OK
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM audit_entries WHERE idx >= 3")
        conn.execute("DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > 3")
        conn.execute("DELETE FROM audit_checkpoints WHERE size > 3")
    capsys.readouterr()
    code, report, _ = run_json(
        capsys, "audit", "verify", str(store), "--vkey", vkey, "--checkpoint", str(saved)
    )
    assert code == EXIT_INVALID
    assert report["code"] == "audit.truncated"


def test_the_demo_verifies_its_log_with_the_key_it_holds_not_the_variable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stranger's key in the variable changes nothing: the demo passes its own key.
    monkeypatch.setenv("GOVKIT_AUDIT_VKEY", NoteSigner.generate(ORIGIN).vkey)
    code, data, err = run_json(capsys, "demo", "--out", str(tmp_path / "d"), "-q")
    assert code == EXIT_OK, err
    assert data["audit"]["verify"]["valid"] is True
    assert data["audit"]["vkey"] == (tmp_path / "d/audit/note-key.vkey").read_text().strip()
