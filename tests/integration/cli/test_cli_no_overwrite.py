"""No ``govkit`` command replaces an existing file unless it is given ``--force``.

For each command that writes files: the first run writes them; a second run without
``--force`` exits 3 with ``cli.file_exists`` and leaves every output, and any state the
command would have changed (a status state file, the audit store), byte-identical; a
run with ``--force`` replaces the outputs. Every write goes through one helper
(``govkit.cli._files.write_file``): a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from govkit.audit import AuditEvent, AuditLog, NoteSigner
from govkit.cli import EXIT_ENV, EXIT_OK, _files, main
from govkit.esign import issue_agency_certificate, make_test_ca
from govkit.keys import SigningKey
from govkit.pdf import Document, PdfRenderer

AGENCY = "广东省政务服务数据管理局（演示）"
USCC = "114400000069445123"
ORIGIN = "audit.example.gov/log"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inputs the writing commands need: keys, a trust anchor, a PDF, an audit log."""
    root = tmp_path_factory.mktemp("kit")
    keys = root / "keys"
    keys.mkdir()
    for name, alg in (("anchor", "ES256"), ("issuer", "ES256"), ("device", "EdDSA")):
        key = SigningKey.generate(alg)
        (keys / f"{name}.pem").write_bytes(key.to_pem())
        (keys / f"{name}.pem.pub").write_bytes(key.verifying_key.to_pem())
    ca = make_test_ca("govkit test CA")
    agency_key = SigningKey.generate("ES256")
    cert = issue_agency_certificate(ca, agency_key.verifying_key, agency_name=AGENCY, uscc=USCC)
    (keys / "agency.pem").write_bytes(agency_key.to_pem())
    (keys / "agency.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (keys / "ca.crt").write_bytes(ca.certificate_pem)
    document = Document(
        "批复", "Approval", (), issuer=AGENCY, valid_from="a", valid_until="b", identifier="A-1"
    )
    (root / "approval.pdf").write_bytes(PdfRenderer().render(document))
    signer = NoteSigner.generate(ORIGIN)
    (root / "audit").mkdir()
    (root / "audit" / "note-key").write_text(signer.to_private_key_string() + "\n")
    (root / "audit" / "note-key.vkey").write_text(signer.vkey + "\n")
    (root / "audit" / "pseudonym.key").write_bytes(b"p" * 32)
    with AuditLog(root / "audit.db", origin=ORIGIN, signer=signer, pseudonym_key=b"p" * 32) as log:
        log.append_many(
            AuditEvent(
                occurred_at=datetime(2026, 11, 28, 9, i, tzinfo=UTC),
                actor_id="clerk-12",
                actor_type="officer",
                action="licence.issue",
                resource_type="driving_licence",
                resource_id=f"GD-{i}",
            )
            for i in range(3)
        )
        log.checkpoint()
    return root


def _snapshot(paths: Sequence[Path]) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in paths}


def _temp_files(folders: set[Path]) -> list[Path]:
    return [p for f in folders for p in f.iterdir() if p.name.endswith(".tmp")]


def refuses_then_forces(
    capsys: pytest.CaptureFixture[str],
    argv: Sequence[str],
    outputs: Sequence[Path],
    *,
    untouched: Sequence[Path] = (),
    again: Sequence[str] | None = None,
) -> None:
    """Run ``argv``; run ``again`` (default: ``argv``) without and then with ``--force``."""
    code, _, err = run(capsys, *argv)
    assert code == EXIT_OK, err
    assert all(path.is_file() for path in outputs)
    before = _snapshot([*outputs, *untouched])
    inodes = {path: path.stat().st_ino for path in outputs}
    second = list(again if again is not None else argv)

    code, out, err = run(capsys, *second, "--json")
    assert code == EXIT_ENV, err
    error = json.loads(out)["error"]
    assert error["code"] == "cli.file_exists"
    assert "--force" in error["message"]
    assert "[cli.file_exists]" in err
    assert _snapshot(list(before)) == before  # byte-identical, state included
    assert {path: path.stat().st_ino for path in outputs} == inodes
    assert _temp_files({path.parent for path in outputs}) == []

    code, _, err = run(capsys, *second, "--force")
    assert code == EXIT_OK, err
    for path in outputs:  # replaced: a new file was renamed over the old one
        assert path.stat().st_ino != inodes[path]
    assert _temp_files({path.parent for path in outputs}) == []


# --- keys ------------------------------------------------------------------------------


def test_keys_generate_refuses_to_replace_a_key_pair(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = tmp_path / "signer.pem"
    argv = ["keys", "generate", "--alg", "EdDSA", "--out", str(key)]
    refuses_then_forces(capsys, argv, [key, tmp_path / "signer.pem.pub"])


def test_keys_generate_with_only_the_pub_present_writes_neither_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key, pub = tmp_path / "signer.pem", tmp_path / "signer.pem.pub"
    pub.write_bytes(b"someone's published key\n")
    code, _, err = run(capsys, "keys", "generate", "--alg", "EdDSA", "--out", str(key))
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert not key.exists()
    assert pub.read_bytes() == b"someone's published key\n"


# --- audit -----------------------------------------------------------------------------


def _audit_copy(kit: Path, tmp_path: Path) -> Path:
    """A private copy of the kit's audit log and its key files."""
    shutil.copy(kit / "audit.db", tmp_path / "audit.db")
    shutil.copytree(kit / "audit", tmp_path / "audit")
    return tmp_path / "audit.db"


def _stored_checkpoints(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM audit_checkpoints").fetchone()
    return int(count)


def test_audit_keygen_refuses_to_replace_a_note_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = tmp_path / "note-key"
    argv = ["audit", "keygen", "audit.example.gov/log", "--out", str(key)]
    refuses_then_forces(capsys, argv, [key, tmp_path / "note-key.vkey"])


def test_audit_keygen_with_only_the_vkey_present_writes_no_signing_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key, vkey = tmp_path / "note-key", tmp_path / "note-key.vkey"
    vkey.write_text("the published vkey\n")
    code, _, err = run(capsys, "audit", "keygen", "audit.example.gov/log", "--out", str(key))
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert not key.exists()
    assert vkey.read_text() == "the published vkey\n"


def test_audit_checkpoint_refuses_to_replace_an_auditors_saved_checkpoint(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    store = _audit_copy(kit, tmp_path)
    saved = tmp_path / "saved-checkpoint"
    saved.write_text("the checkpoint an auditor kept\n")
    stored = _stored_checkpoints(store)
    code, _, err = run(capsys, "audit", "checkpoint", str(store), "--out", str(saved))
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert saved.read_text() == "the checkpoint an auditor kept\n"
    assert _stored_checkpoints(store) == stored  # refused before signing anything
    saved.unlink()
    argv = ["audit", "checkpoint", str(store), "--out", str(saved)]
    refuses_then_forces(capsys, argv, [saved], untouched=[store])


def test_audit_export_refuses_to_replace_an_evidence_package(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    store = _audit_copy(kit, tmp_path)
    package = tmp_path / "evidence.json"
    argv = ["audit", "export", str(store), "--action", "licence.issue", "--out", str(package)]
    refuses_then_forces(capsys, argv, [package], untouched=[store])


# --- trust lists, licences, revocation, presentations ----------------------------------


def test_trust_create_refuses_to_replace_a_trust_list(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    trust = tmp_path / "trust.json"
    argv = ["trust", "create", "--anchor", str(kit / "keys/anchor.pem"), "--out", str(trust)]
    refuses_then_forces(capsys, argv, [trust])


def test_trust_sign_refuses_to_replace_a_trust_list(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    anchor = str(kit / "keys/anchor.pem")
    trust = tmp_path / "created.json"
    assert run(capsys, "trust", "create", "--anchor", anchor, "--out", str(trust))[0] == EXIT_OK
    code, out, _ = run(capsys, "trust", "show", str(trust), "--anchor", f"{anchor}.pub", "--json")
    assert code == EXIT_OK
    body = tmp_path / "unsigned.json"
    edited: dict[str, Any] = json.loads(out)
    edited["sequence"] += 1
    body.write_text(json.dumps(edited))
    signed = tmp_path / "trust.json"
    argv = ["trust", "sign", str(body), "--anchor", anchor, "--out", str(signed)]
    refuses_then_forces(capsys, argv, [signed])


def _issue_argv(kit: Path, state: Path, prefix: Path, *extra: str) -> list[str]:
    return [
        "issue",
        "--key", str(kit / "keys/issuer.pem"),
        "--agency", AGENCY,
        "--uscc", USCC,
        "--type", "driving-licence",
        "--holder", "p-0123456789abcdef",
        "--field", "name=张三",
        "--field", "licence_class=C1",
        "--field", "first_issue_date=2015-06-01",
        "--field", "file_number=440100123456",
        "--valid-from", "2021-06-01",
        "--valid-until", "2031-05-31",
        "--status-state", str(state),
        "--out", str(prefix),
        *extra,
    ]  # fmt: skip


def test_issue_refuses_to_replace_a_licence_and_leaves_the_status_state(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    state, prefix = tmp_path / "state.json", tmp_path / "dl"
    argv = _issue_argv(kit, state, prefix)
    outputs = [tmp_path / "dl.txt", tmp_path / "dl.png"]
    refuses_then_forces(capsys, argv, outputs, untouched=[state])


def test_issue_with_only_the_png_present_writes_nothing(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    state, prefix = tmp_path / "state.json", tmp_path / "dl"
    (tmp_path / "dl.png").write_bytes(b"a picture someone kept")
    code, _, err = run(capsys, *_issue_argv(kit, state, prefix))
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert not (tmp_path / "dl.txt").exists()
    assert not state.exists()  # the status state was not created either
    assert (tmp_path / "dl.png").read_bytes() == b"a picture someone kept"


def test_issue_selective_refuses_to_replace_a_holder_credential(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    state, prefix = tmp_path / "state.json", tmp_path / "mine"
    argv = _issue_argv(kit, state, prefix, "--device-key", str(kit / "keys/device.pem.pub"))
    refuses_then_forces(capsys, argv, [tmp_path / "mine.gks"], untouched=[state])


def test_revoke_refuses_to_replace_a_status_list_and_leaves_the_state(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    ids = []
    for name in ("first", "second"):
        code, out, err = run(capsys, *_issue_argv(kit, state, tmp_path / name), "--json")
        assert code == EXIT_OK, err
        ids.append(json.loads(out)["id"])
    status = tmp_path / "status.json"

    def revoke(licence_id: str) -> list[str]:
        key = str(kit / "keys/issuer.pem")
        return [
            "revoke",
            licence_id,
            "--key",
            key,
            "--status-state",
            str(state),
            "--out",
            str(status),
        ]

    # The second licence's revocation is refused: it stays valid in the state file too.
    refuses_then_forces(capsys, revoke(ids[0]), [status], untouched=[state], again=revoke(ids[1]))


def test_present_refuses_to_replace_a_presentation(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    state, device = tmp_path / "state.json", str(kit / "keys/device.pem")
    issue = _issue_argv(kit, state, tmp_path / "mine", "--device-key", f"{device}.pub")
    assert run(capsys, *issue)[0] == EXIT_OK
    argv = [
        "present", str(tmp_path / "mine.gks"),
        "--device-key", device,
        "--disclose", "name,licence_class",
        "--out", str(tmp_path / "shown"),
    ]  # fmt: skip
    refuses_then_forces(capsys, argv, [tmp_path / "shown.txt", tmp_path / "shown.png"])


# --- signatures ------------------------------------------------------------------------


def test_sign_detached_refuses_to_replace_a_signature_file(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    document = tmp_path / "approval.docx"
    document.write_bytes(b"an approval")
    argv = ["sign", str(document), "--key", str(kit / "keys/issuer.pem"), "--purpose", "审批"]
    refuses_then_forces(capsys, argv, [tmp_path / "approval.docx.sig"])


def test_sign_append_to_another_existing_file_needs_force(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    document = tmp_path / "approval.docx"
    document.write_bytes(b"an approval")
    chain = tmp_path / "approval.sig"
    key = str(kit / "keys/issuer.pem")
    base = ["sign", str(document), "--purpose", "审批"]
    assert run(capsys, *base, "--key", key, "--out", str(chain))[0] == EXIT_OK
    other = tmp_path / "other.sig"
    other.write_bytes(b"another chain")
    approve = [*base, "--key", str(kit / "keys/device.pem"), "--role", "approve"]
    code, _, err = run(capsys, *approve, "--append", str(chain), "--out", str(other))
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert other.read_bytes() == b"another chain"
    # Appending to the chain in place is what --append asks for: the file grows.
    first = chain.read_bytes()
    assert run(capsys, *approve, "--append", str(chain))[0] == EXIT_OK
    assert len(chain.read_bytes()) > len(first)


def test_sign_pdf_refuses_to_replace_a_signed_pdf(
    capsys: pytest.CaptureFixture[str], kit: Path, tmp_path: Path
) -> None:
    keys = kit / "keys"
    pdf = tmp_path / "licence.pdf"
    shutil.copy(kit / "approval.pdf", pdf)
    argv = [
        "sign", str(pdf),
        "--key", str(keys / "agency.pem"),
        "--cert", str(keys / "agency.crt"),
        "--chain", str(keys / "ca.crt"),
    ]  # fmt: skip
    refuses_then_forces(capsys, argv, [tmp_path / "licence.signed.pdf"])


# --- the demo --------------------------------------------------------------------------


def test_demo_refuses_a_folder_that_is_not_empty_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "demo"
    assert run(capsys, "demo", "--out", str(out), "--quiet")[0] == EXIT_OK
    files = sorted(p for p in out.rglob("*") if p.is_file())
    before = _snapshot(files)
    code, _, err = run(capsys, "demo", "--out", str(out), "--quiet")
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert sorted(p for p in out.rglob("*") if p.is_file()) == files
    assert _snapshot(files) == before
    # --force (what `make demo` passes for its own folder) runs it again on the same log.
    code, _, err = run(capsys, "demo", "--out", str(out), "--quiet", "--force")
    assert code == EXIT_OK, err
    assert (out / "audit/note-key").read_bytes() == before[out / "audit/note-key"]
    assert (out / "audit/checkpoint").read_bytes() != before[out / "audit/checkpoint"]


def test_demo_refuses_a_folder_holding_other_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "trust.json").write_text("someone else's trust list")
    code, _, err = run(capsys, "demo", "--out", str(tmp_path), "--quiet")
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert [p.name for p in tmp_path.iterdir()] == ["trust.json"]
    assert (tmp_path / "trust.json").read_text() == "someone else's trust list"


def test_demo_runs_in_an_empty_existing_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "demo", "--out", str(tmp_path), "--quiet")
    assert code == EXIT_OK, err


# --- the shared writer -----------------------------------------------------------------


def test_a_file_created_after_the_check_is_still_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process creates the file between the check and the write: the final
    # step (a hard link, which fails if the name exists) still refuses.
    target = tmp_path / "out.bin"
    target.write_bytes(b"written meanwhile")
    monkeypatch.setattr(_files, "refuse_existing", lambda *paths, force: None)
    with pytest.raises(_files.CliEnvironmentError) as raised:
        _files.write_file(target, b"new", force=False)
    assert raised.value.code == "cli.file_exists"
    assert target.read_bytes() == b"written meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_dangling_symlink_at_the_output_is_not_followed_or_replaced(tmp_path: Path) -> None:
    link = tmp_path / "out.pem"
    link.symlink_to(tmp_path / "elsewhere.pem")
    with pytest.raises(_files.CliEnvironmentError) as raised:
        _files.write_file(link, b"secret", private=True)
    assert raised.value.code == "cli.file_exists"
    assert link.is_symlink()
    assert not (tmp_path / "elsewhere.pem").exists()


def test_private_files_are_0600_and_public_files_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        _files.write_file(tmp_path / "key.pem", b"k", private=True)
        _files.write_file(tmp_path / "key.pub", b"p")
        _files.write_file(tmp_path / "key.pub", b"q", force=True)
    finally:
        os.umask(previous)
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "key.pub").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "key.pub").read_bytes() == b"q"
