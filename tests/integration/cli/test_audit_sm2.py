"""``govkit audit checkpoint`` and ``govkit audit verify`` on a log whose checkpoints are SM2.

The signing key follows the log-folder layout the CLI reads by default
(``DIR/audit/note-key``); the verifier key (``DIR/audit/note-key.vkey``) is always
passed explicitly with ``--vkey``, since ``audit verify`` never trusts a key next to the
log. An SM2 note key is created with the Python API
(``NoteSigner.generate(origin, alg="SM2")``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner
from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, main

ORIGIN = "audit.example.gov/sm2"


@pytest.fixture
def sm2_log(tmp_path: Path) -> Path:
    signer = NoteSigner.generate(ORIGIN, alg="SM2")
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "note-key").write_text(signer.to_private_key_string() + "\n")
    (folder / "note-key.vkey").write_text(signer.vkey + "\n")
    store = tmp_path / "audit.db"
    with AuditLog(store, origin=ORIGIN, signer=signer, pseudonym_key=b"p" * 32) as log:
        log.append_many(
            AuditEvent(
                occurred_at=datetime(2026, 11, 28, 9, i, tzinfo=UTC),
                actor_id="clerk-12",
                actor_type="officer",
                action="licence.issue",
                resource_type="driving_licence",
                resource_id=f"GD-{i}",
            )
            for i in range(4)
        )
        log.checkpoint()
    return store


def test_audit_checkpoint_signs_with_the_sm2_key_file_and_verify_accepts_it(
    capsys: pytest.CaptureFixture[str], sm2_log: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "checkpoint"
    assert main(["audit", "checkpoint", str(sm2_log), "--out", str(saved), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["size"] == 4
    assert data["checkpoint"] == saved.read_text()
    vkey = str(sm2_log.parent / "audit" / "note-key.vkey")
    code = main(
        ["audit", "verify", str(sm2_log), "--vkey", vkey, "--checkpoint", str(saved), "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert report["valid"] is True


def test_audit_verify_with_an_ed25519_vkey_of_the_same_name_rejects_the_sm2_log(
    capsys: pytest.CaptureFixture[str], sm2_log: Path
) -> None:
    impostor = NoteSigner.generate(ORIGIN)
    code = main(["audit", "verify", str(sm2_log), "--vkey", impostor.vkey, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == EXIT_INVALID
    assert report["code"] == "audit.checkpoint_signature"


def test_sm2_log_without_the_extra_is_an_environment_error(
    sm2_log: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Exit 3, not 1: nothing is wrong with the log; the machine lacks govkit[sm].
    monkeypatch.setitem(sys.modules, "tongsuopy", None)
    vkey = str(sm2_log.parent / "audit" / "note-key.vkey")
    code = main(["audit", "verify", str(sm2_log), "--vkey", vkey, "--json"])
    err = capsys.readouterr().err
    assert code == EXIT_ENV
    assert "key.algorithm_unavailable" in err
    assert "govkit[sm]" in err


@pytest.mark.parametrize("alg", ["EdDSA", "SM2"])
def test_audit_keygen_makes_a_key_that_checkpoints_a_new_log(
    alg: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = tmp_path / "note-key"
    assert main(["audit", "keygen", ORIGIN, "--alg", alg, "--out", str(key), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["alg"] == alg
    assert key.stat().st_mode & 0o077 == 0
    vkey = (tmp_path / "note-key.vkey").read_text().strip()
    assert vkey == made["vkey"]
    assert NoteSigner.from_private_key_string(key.read_text().strip()).vkey == vkey
    store = tmp_path / "audit.db"
    with AuditLog(
        store, origin=ORIGIN, signer=NoteSigner.generate(ORIGIN), pseudonym_key=b"p" * 32
    ) as log:
        log.append(
            AuditEvent(
                occurred_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
                actor_id="clerk-12",
                actor_type="officer",
                action="licence.issue",
                resource_type="driving_licence",
                resource_id="GD-1",
            )
        )
    saved = tmp_path / "checkpoint"
    args = ["audit", "checkpoint", str(store), "--key", str(key), "--out", str(saved)]
    assert main([*args, "--json"]) == EXIT_OK
    capsys.readouterr()
    code = main(
        ["audit", "verify", str(store), "--vkey", vkey, "--checkpoint", str(saved), "--json"]
    )
    capsys.readouterr()
    assert code == EXIT_OK


def test_audit_keygen_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = tmp_path / "note-key"
    assert main(["audit", "keygen", ORIGIN, "--out", str(key)]) == EXIT_OK
    assert main(["audit", "keygen", ORIGIN, "--out", str(key)]) == EXIT_ENV
    assert "cli.file_exists" in capsys.readouterr().err
