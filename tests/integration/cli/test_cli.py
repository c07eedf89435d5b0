"""The ``govkit`` command end to end: exit codes, stdout data, stderr status, --json."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import govkit
from govkit.audit import AuditLog
from govkit.audit.merkle import verify_consistency, verify_inclusion
from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from govkit.keys import SigningKey, VerifyingKey


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quiet"]) == EXIT_OK
    return out


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == EXIT_OK
    assert out.strip() == f"govkit {govkit.__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == EXIT_USAGE
    assert out == ""
    assert "command is required" in err


def test_unknown_algorithm_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "keys", "generate", "--alg", "HS256", "--out", str(tmp_path / "k"))
    assert code == EXIT_USAGE
    assert "invalid choice" in err
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "PS256", "RS256"])
def test_keys_generate_writes_a_private_and_a_public_pem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, alg: str
) -> None:
    path = tmp_path / "signing.pem"
    code, out, err = run(capsys, "keys", "generate", "--alg", alg, "--out", str(path))
    assert code == EXIT_OK
    key = SigningKey.from_pem(path.read_bytes())
    public = VerifyingKey.from_pem((tmp_path / "signing.pem.pub").read_bytes())
    assert out.strip() == key.kid == public.kid
    assert key.alg == public.alg == alg
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "wrote" in err


def test_keys_generate_json_has_kid_alg_and_jwk(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data = run_json(
        capsys, "keys", "generate", "--alg", "ES256", "--out", str(tmp_path / "k")
    )
    assert code == EXIT_OK
    assert data["alg"] == "ES256"
    assert VerifyingKey.from_jwk(data["jwk"]).kid == data["kid"]
    assert "d" not in data["jwk"]


def test_keys_generate_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "k.pem"
    assert run(capsys, "keys", "generate", "--alg", "EdDSA", "--out", str(path))[0] == EXIT_OK
    before = path.read_bytes()
    code, _, err = run(capsys, "keys", "generate", "--alg", "EdDSA", "--out", str(path))
    assert code == EXIT_ENV
    assert "cli.file_exists" in err
    assert path.read_bytes() == before
    code, _, _ = run(capsys, "keys", "generate", "--alg", "EdDSA", "--out", str(path), "--force")
    assert code == EXIT_OK
    assert path.read_bytes() != before


def test_encrypted_key_needs_its_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k.pem"
    monkeypatch.setenv("GOVKIT_TEST_PW", "correct horse battery staple")
    args = ("keys", "generate", "--alg", "ES256", "--out", str(path))
    assert run(capsys, *args, "--password-env", "GOVKIT_TEST_PW")[0] == EXIT_OK
    assert b"ENCRYPTED" in path.read_bytes()
    code, data = run_json(capsys, "keys", "show", str(path))
    assert code == EXIT_INVALID
    assert data["error"]["code"] == "key.password"
    code, data = run_json(capsys, "keys", "show", str(path), "--password-env", "GOVKIT_TEST_PW")
    assert code == EXIT_OK
    assert data["kind"] == "private"


def test_missing_password_variable_is_an_environment_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVKIT_NOT_SET", raising=False)
    code, _, err = run(
        capsys,
        "keys",
        "generate",
        "--alg",
        "EdDSA",
        "--out",
        str(tmp_path / "k"),
        "--password-env",
        "GOVKIT_NOT_SET",
    )
    assert code == EXIT_ENV
    assert "GOVKIT_NOT_SET" in err
    assert not (tmp_path / "k").exists()


def test_keys_show_reads_public_pem_and_jwk(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = SigningKey.generate("EdDSA")
    (tmp_path / "k.pub").write_bytes(key.verifying_key.to_pem())
    (tmp_path / "k.jwk").write_text(json.dumps(key.verifying_key.to_jwk()))
    for name in ("k.pub", "k.jwk"):
        code, data = run_json(capsys, "keys", "show", str(tmp_path / name))
        assert code == EXIT_OK
        assert (data["kid"], data["kind"]) == (key.kid, "public")


def test_keys_show_malformed_file_is_invalid_with_a_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    code, data = run_json(capsys, "keys", "show", str(bad))
    assert code == EXIT_INVALID
    assert data == {"error": data["error"]}
    assert data["error"]["code"] == "key.invalid"


def test_keys_show_missing_file_is_an_environment_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "keys", "show", str(tmp_path / "nope.pem"))
    assert code == EXIT_ENV
    assert out == ""
    assert "no such file" in err


def test_keys_jwks_publishes_every_key_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    kids = []
    for alg in ("EdDSA", "ES256"):
        key = SigningKey.generate(alg)
        (tmp_path / f"{alg}.pub").write_bytes(key.verifying_key.to_pem())
        kids.append(key.kid)
    paths = [str(tmp_path / "EdDSA.pub"), str(tmp_path / "ES256.pub"), str(tmp_path / "EdDSA.pub")]
    code, out, _ = run(capsys, "keys", "jwks", *paths)
    assert code == EXIT_OK
    jwks = json.loads(out)
    assert [k["kid"] for k in jwks["keys"]] == kids


def test_the_real_entry_point_runs_as_a_subprocess(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "govkit.cli",
            "keys",
            "generate",
            "--alg",
            "EdDSA",
            "--out",
            str(tmp_path / "k.pem"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["alg"] == "EdDSA"
    assert "wrote" in result.stderr


# --- demo and audit ------------------------------------------------------------------

VKEY = re.compile(r"^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$")


def test_demo_writes_the_audit_log_its_checkpoint_and_vkey(demo_dir: Path) -> None:
    assert (demo_dir / "audit.db").is_file()
    note = (demo_dir / "audit" / "checkpoint").read_text()
    vkey = (demo_dir / "audit" / "note-key.vkey").read_text().strip()
    assert VKEY.match(vkey)
    lines = note.split("\n")
    assert lines[0] == "demo.govkit.invalid/audit"
    assert int(lines[1]) >= 6
    assert lines[4].startswith("— demo.govkit.invalid/audit ")
    raw = base64.b64decode(vkey.split("+", 2)[2])
    assert raw[0] == 1
    assert len(raw) == 33


def test_demo_json_reports_the_verification(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data = run_json(capsys, "demo", "--out", str(tmp_path / "d"))
    assert code == EXIT_OK
    assert data["audit"]["verify"]["valid"] is True
    assert {k["alg"] for k in data["keys"]} == {"EdDSA", "ES256", "PS256", "RS256"}


def test_audit_verify_accepts_the_demo_log(
    capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    code, data = run_json(
        capsys,
        "audit",
        "verify",
        str(demo_dir / "audit.db"),
        "--vkey",
        str(demo_dir / "audit" / "note-key.vkey"),
        "--checkpoint",
        str(demo_dir / "audit" / "checkpoint"),
    )
    assert code == EXIT_OK
    assert data["valid"] is True
    assert [(c["name"], c["ok"]) for c in data["checks"]] == [
        ("entries", True),
        ("columns", None),  # not checked without --deep
        ("nodes", True),
        ("checkpoints", True),
        ("consistency", True),
    ]


def test_audit_prove_gives_proofs_that_verify(
    capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    store = str(demo_dir / "audit.db")
    code, proof = run_json(capsys, "audit", "prove", store, "2")
    assert code == EXIT_OK
    b64 = base64.b64decode
    verify_inclusion(
        b64(proof["leaf_hash"]),
        proof["index"],
        proof["size"],
        [b64(h) for h in proof["hashes"]],
        b64(proof["root"]),
    )
    code, cons = run_json(capsys, "audit", "prove", store, "--from-size", "3")
    assert code == EXIT_OK
    verify_consistency(
        3, cons["size"], b64(cons["old_root"]), b64(cons["root"]), [b64(h) for h in cons["hashes"]]
    )
    code, _, err = run(capsys, "audit", "prove", store)
    assert code == EXIT_USAGE
    assert "either INDEX" in err


def test_audit_show_finds_a_citizen_by_clear_id_but_stores_a_pseudonym(
    capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    store = str(demo_dir / "audit.db")
    code, data = run_json(capsys, "audit", "show", store, "--actor", "440104199003071234")
    assert code == EXIT_OK
    assert data["count"] >= 1
    assert all(e["actor"]["id"].startswith("hmac-sha256:") for e in data["entries"])
    with sqlite3.connect(store) as conn:
        blobs = b"".join(bytes(r[0]) for r in conn.execute("SELECT entry FROM audit_entries"))
    assert b"440104199003071234" not in blobs
    assert b"203.0.113.7" not in blobs


def test_audit_checkpoint_and_erase_keep_the_log_valid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "d"
    assert main(["demo", "--out", str(out), "--quiet"]) == EXIT_OK
    capsys.readouterr()
    store = str(out / "audit.db")
    saved = tmp_path / "cp"
    code, data = run_json(capsys, "audit", "checkpoint", store, "--out", str(saved))
    assert code == EXIT_OK
    assert saved.read_text() == data["checkpoint"]
    code, erased = run_json(capsys, "audit", "erase", store, "--subject", "440104199003071234")
    assert code == EXIT_OK
    assert erased["removed"] == 1
    vkey = str(out / "audit" / "note-key.vkey")
    code, report = run_json(
        capsys, "audit", "verify", store, "--vkey", vkey, "--checkpoint", str(saved)
    )
    assert code == EXIT_OK, report
    code, exported = run_json(capsys, "audit", "export", store, "--action", "audit.erase")
    assert code == EXIT_OK
    assert len(exported["entries"]) == 1


def test_audit_verify_reports_a_changed_byte_with_its_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "d"
    assert main(["demo", "--out", str(out), "--quiet"]) == EXIT_OK
    capsys.readouterr()
    store = out / "audit.db"
    with sqlite3.connect(store) as conn:
        (entry,) = conn.execute("SELECT entry FROM audit_entries WHERE idx = 1").fetchone()
        tampered = bytearray(entry)
        tampered[-3] ^= 0x01
        conn.execute("UPDATE audit_entries SET entry = ? WHERE idx = 1", (bytes(tampered),))
    vkey = str(out / "audit" / "note-key.vkey")
    code, report = run_json(capsys, "audit", "verify", str(store), "--vkey", vkey)
    assert code == EXIT_INVALID
    assert report["code"] == "audit.leaf_mismatch"
    code, _, err = run(capsys, "audit", "verify", str(store), "--vkey", vkey)
    assert code == EXIT_INVALID
    assert "INVALID" in err
    assert "audit.leaf_mismatch" in err


def test_audit_verify_against_another_logs_checkpoint_is_a_fork(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["demo", "--out", str(first), "--quiet"]) == EXIT_OK
    # Same signing key, different history: copy the key files, then run the demo again.
    (second / "audit").mkdir(parents=True)
    for name in ("note-key", "pseudonym.key"):
        (second / "audit" / name).write_bytes((first / "audit" / name).read_bytes())
    assert main(["demo", "--out", str(second), "--quiet", "--force"]) == EXIT_OK
    capsys.readouterr()
    code, report = run_json(
        capsys,
        "audit",
        "verify",
        str(second / "audit.db"),
        "--vkey",
        str(first / "audit" / "note-key.vkey"),
        "--checkpoint",
        str(first / "audit" / "checkpoint"),
    )
    assert code == EXIT_INVALID
    assert report["code"] == "audit.inconsistent"


def test_audit_verify_needs_an_existing_store_and_a_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVKIT_AUDIT_VKEY", raising=False)
    code, _, err = run(capsys, "audit", "verify", str(tmp_path / "missing.db"), "--vkey", "x+1+2")
    assert code in (EXIT_ENV, EXIT_INVALID)
    assert not (tmp_path / "missing.db").exists()
    other = tmp_path / "lonely.db"
    AuditLog(other, origin="example.gov/x").close()
    code, _, err = run(capsys, "audit", "verify", str(other))
    assert code == EXIT_USAGE
    assert "cli.no_vkey" in err
    assert os.path.exists(other)


# --- identity tokens -------------------------------------------------------------------

ISS, AUD = "https://login.gd.gov.example", "https://tax.gd.gov.example"


@pytest.fixture
def signing_key(tmp_path: Path) -> tuple[Path, Path]:
    key = SigningKey.generate("ES256")
    path = tmp_path / "issuer.pem"
    path.write_bytes(key.to_pem())
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.verifying_key.to_jwk()]}))
    return path, jwks


def issue(capsys: pytest.CaptureFixture[str], key: Path, *extra: str) -> str:
    code, out, err = run(
        capsys,
        "token",
        "issue",
        "--key",
        str(key),
        "--issuer",
        ISS,
        "--subject",
        "p-1",
        "--audience",
        AUD,
        *extra,
    )
    assert code == EXIT_OK, err
    return out.strip()


def test_token_issue_then_verify_token_is_valid(
    capsys: pytest.CaptureFixture[str], signing_key: tuple[Path, Path]
) -> None:
    key, jwks = signing_key
    token = issue(capsys, key, "--assurance", "high", "--amr", "face", "--scope", "tax.read")
    code, report = run_json(
        capsys,
        "verify",
        "token",
        token,
        "--jwks",
        str(jwks),
        "--issuer",
        ISS,
        "--audience",
        AUD,
        "--min-assurance",
        "substantial",
    )
    assert code == EXIT_OK
    assert (report["valid"], report["kind"]) == (True, "token")
    assert report["claims"]["subject"] == "p-1"


def test_verify_token_reports_insufficient_assurance_for_step_up(
    capsys: pytest.CaptureFixture[str], signing_key: tuple[Path, Path]
) -> None:
    key, jwks = signing_key
    token = issue(capsys, key, "--assurance", "low")
    code, report = run_json(
        capsys,
        "verify",
        "token",
        token,
        "--jwks",
        str(jwks),
        "--issuer",
        ISS,
        "--audience",
        AUD,
        "--min-assurance",
        "high",
    )
    assert code == EXIT_INVALID
    assert report["code"] == "token.insufficient_assurance"


def test_verify_token_from_a_file_with_the_wrong_audience_is_invalid(
    capsys: pytest.CaptureFixture[str], signing_key: tuple[Path, Path], tmp_path: Path
) -> None:
    key, jwks = signing_key
    token_file = tmp_path / "t.jwt"
    token_file.write_text(issue(capsys, key, "--assurance", "high") + "\n")
    code, out, err = run(
        capsys,
        "verify",
        "token",
        f"@{token_file}",
        "--jwks",
        str(jwks),
        "--issuer",
        ISS,
        "--audience",
        "https://other.example",
    )
    assert code == EXIT_INVALID
    assert "token.wrong_audience" in out
    assert "INVALID" in err


def test_verify_token_with_another_key_is_an_unknown_key(
    capsys: pytest.CaptureFixture[str], signing_key: tuple[Path, Path], tmp_path: Path
) -> None:
    key, _ = signing_key
    other = tmp_path / "other.pub"
    other.write_bytes(SigningKey.generate("ES256").verifying_key.to_pem())
    token = issue(capsys, key, "--assurance", "high")
    code, report = run_json(
        capsys,
        "verify",
        "token",
        token,
        "--jwks",
        str(other),
        "--issuer",
        ISS,
        "--audience",
        AUD,
    )
    assert code == EXIT_INVALID
    assert report["code"] == "token.unknown_key"


def test_token_issue_refuses_a_resident_id_number_claim(
    capsys: pytest.CaptureFixture[str], signing_key: tuple[Path, Path]
) -> None:
    key, _ = signing_key
    code, out, err = run(
        capsys,
        "token",
        "issue",
        "--key",
        str(key),
        "--issuer",
        ISS,
        "--subject",
        "p-1",
        "--audience",
        AUD,
        "--assurance",
        "high",
        "--claim",
        "idno=11010519491231002X",
    )
    assert code == EXIT_INVALID
    assert out == ""
    assert "token.claim_not_allowed" in err
    assert "11010519491231002X" not in err


def test_demo_issues_and_verifies_a_token_per_assurance_level(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data = run_json(capsys, "demo", "--out", str(tmp_path / "d"))
    assert code == EXIT_OK
    outcomes = {t["assurance"]: t["code"] for t in data["identity"]["tokens"]}
    assert outcomes == {
        "low": "token.insufficient_assurance",
        "substantial": None,
        "high": None,
    }
    code, shown = run_json(
        capsys, "audit", "show", str(tmp_path / "d" / "audit.db"), "--action", "token.issue"
    )
    assert code == EXIT_OK
    assert shown["count"] == 3
    token = (tmp_path / "d" / "identity" / "token-high.jwt").read_text().strip()
    code, report = run_json(
        capsys,
        "verify",
        "token",
        token,
        "--jwks",
        data["identity"]["jwks"],
        "--issuer",
        data["identity"]["issuer"],
        "--audience",
        data["identity"]["audience"],
    )
    assert code == EXIT_OK
    assert report["valid"] is True


# --- licences --------------------------------------------------------------------------

AGENCY_USCC = "114400000069445123"


@pytest.fixture
def licence_setup(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict[str, Path]:
    anchor, issuer = tmp_path / "anchor.pem", tmp_path / "issuer.pem"
    for path in (anchor, issuer):
        assert main(["keys", "generate", "--alg", "ES256", "--out", str(path), "-q"]) == EXIT_OK
    trust = tmp_path / "trust.json"
    assert main(["trust", "create", "--anchor", str(anchor), "--out", str(trust), "-q"]) == 0
    code = main(
        [
            "trust",
            "add-issuer",
            str(trust),
            "--anchor",
            str(anchor),
            "--name",
            "演示发证机关",
            "--uscc",
            AGENCY_USCC,
            "--key",
            f"{issuer}.pub",
            "--types",
            "driving-licence",
            "-q",
        ]
    )
    assert code == EXIT_OK
    capsys.readouterr()
    return {"anchor": anchor, "issuer": issuer, "trust": trust, "dir": tmp_path}


def issue_licence(
    capsys: pytest.CaptureFixture[str], setup: dict[str, Path], *extra: str
) -> dict[str, Any]:
    code, data = run_json(
        capsys,
        "issue",
        "--key",
        str(setup["issuer"]),
        "--agency",
        "演示发证机关",
        "--uscc",
        AGENCY_USCC,
        "--type",
        "driving-licence",
        "--holder",
        "p-0123456789abcdef",
        "--field",
        "name=张三",
        "--field",
        "licence_class=C1",
        "--field",
        "first_issue_date=2015-06-01",
        "--field",
        "file_number=440100123456",
        "--valid-from",
        "2021-06-01",
        "--valid-until",
        "2031-05-31",
        "--status-state",
        str(setup["dir"] / "state.json"),
        "--status-out",
        str(setup["dir"] / "status.json"),
        "--out",
        str(setup["dir"] / "dl"),
        *extra,
    )
    assert code == EXIT_OK, data
    return data  # type: ignore[no-any-return]


def verify_args(setup: dict[str, Path], target: str, *extra: str) -> list[str]:
    """``govkit verify TARGET`` with the trust list and the status list ``issue`` published
    (revocation is a required check)."""
    return [
        "verify",
        target,
        "--trust",
        str(setup["trust"]),
        "--anchor",
        f"{setup['anchor']}.pub",
        "--status",
        str(setup["dir"] / "status.json"),
        *extra,
    ]


def test_issue_then_verify_the_png_and_the_text(
    capsys: pytest.CaptureFixture[str], licence_setup: dict[str, Path]
) -> None:
    issued = issue_licence(capsys, licence_setup)
    for target in (licence_setup["dir"] / "dl.png", licence_setup["dir"] / "dl.txt"):
        code, report = run_json(capsys, *verify_args(licence_setup, str(target)))
        assert code == EXIT_OK, report
        assert report["valid"] is True
        assert report["certificate"]["id"] == issued["id"]
        assert report["certificate"]["status"] == "valid"
        assert [c["name"] for c in report["checks"]][:3] == ["input", "format", "trust"]
    code, out, _ = run(capsys, *verify_args(licence_setup, str(licence_setup["dir"] / "dl.png")))
    assert code == EXIT_OK
    assert "机动车驾驶证" in out
    assert "张*" in out  # personal data masked
    assert "张三" not in out


def test_revoked_licence_is_invalid_with_the_status_list(
    capsys: pytest.CaptureFixture[str], licence_setup: dict[str, Path]
) -> None:
    issued = issue_licence(capsys, licence_setup)
    status = licence_setup["dir"] / "status.json"
    code, _ = run_json(
        capsys,
        "revoke",
        issued["id"],
        "--key",
        str(licence_setup["issuer"]),
        "--status-state",
        str(licence_setup["dir"] / "state.json"),
        "--out",
        str(status),
        "--force",  # replaces the list issue published
    )
    assert code == EXIT_OK
    code, report = run_json(
        capsys, *verify_args(licence_setup, str(licence_setup["dir"] / "dl.txt"))
    )
    assert code == EXIT_INVALID
    assert report["code"] == "certificate.revoked"


def test_licence_verified_against_another_anchor_is_invalid(
    capsys: pytest.CaptureFixture[str], licence_setup: dict[str, Path], tmp_path: Path
) -> None:
    issue_licence(capsys, licence_setup)
    other = tmp_path / "other.pem"
    assert main(["keys", "generate", "--alg", "ES256", "--out", str(other), "-q"]) == EXIT_OK
    capsys.readouterr()
    code, out, err = run(
        capsys,
        "verify",
        str(licence_setup["dir"] / "dl.txt"),
        "--trust",
        str(licence_setup["trust"]),
        "--anchor",
        f"{other}.pub",
        "--json",
    )
    assert code in (EXIT_INVALID, EXIT_ENV)
    assert "trust." in out + err


def test_verify_licence_after_trust_expiry_reports_stale(
    capsys: pytest.CaptureFixture[str], licence_setup: dict[str, Path]
) -> None:
    issue_licence(capsys, licence_setup)
    target = str(licence_setup["dir"] / "dl.txt")
    later = "2030-01-01T00:00:00+08:00"
    code, report = run_json(capsys, *verify_args(licence_setup, target, "--at", later))
    assert code == EXIT_INVALID
    assert "trust.stale" in {c["code"] for c in report["checks"]}
    code, report = run_json(
        capsys, *verify_args(licence_setup, target, "--at", later, "--allow-stale")
    )
    assert code == EXIT_OK, report


def test_demo_writes_and_verifies_ten_licences(
    capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    names = sorted(p.stem for p in (demo_dir / "certificates").glob("*.png"))
    assert len(names) == 10
    assert (demo_dir / "keys" / "trust-anchor.pub").is_file()
    assert (demo_dir / "keys" / "issuer.pem.pub").is_file()
    code, report = run_json(
        capsys,
        "verify",
        str(demo_dir / "certificates" / "driving-licence.png"),
        "--trust",
        str(demo_dir / "trust.json"),
        "--anchor",
        str(demo_dir / "keys" / "trust-anchor.pub"),
        "--status",
        str(demo_dir / "status.json"),
    )
    assert code == EXIT_OK, report
    assert report["kind"] == "image"


def test_trust_show_json_can_be_edited_and_signed_again(
    capsys: pytest.CaptureFixture[str], licence_setup: dict[str, Path]
) -> None:
    code, shown = run_json(
        capsys,
        "trust",
        "show",
        str(licence_setup["trust"]),
        "--anchor",
        f"{licence_setup['anchor']}.pub",
    )
    assert code == EXIT_OK
    shown["sequence"] += 1
    body = licence_setup["dir"] / "edited.json"
    body.write_text(json.dumps(shown))
    signed = licence_setup["dir"] / "resigned.json"
    code, data = run_json(
        capsys,
        "trust",
        "sign",
        str(body),
        "--anchor",
        str(licence_setup["anchor"]),
        "--out",
        str(signed),
    )
    assert code == EXIT_OK
    assert data["sequence"] == shown["sequence"]
    code, again = run_json(
        capsys, "trust", "show", str(signed), "--anchor", f"{licence_setup['anchor']}.pub"
    )
    assert code == EXIT_OK
    assert again["issuers"] == shown["issuers"]


def test_demo_logs_a_citizen_in_and_refuses_the_login_attacks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data = run_json(capsys, "demo", "--out", str(tmp_path / "d"))
    assert code == EXIT_OK
    login = data["login"]
    assert login["discovery_announces_fapi2"] is True
    assert "provider_meets_fapi2" not in login  # only the document was read
    assert login["refresh_token_rotated"] is True  # compared, not assumed
    assert (login["subject"], login["assurance"], login["token_type"]) == (
        "citizen-0001",
        "high",
        "DPoP",
    )
    assert (login["same_callback"], login["mix_up"]) == (
        "oidc.state_replayed",
        "oidc.issuer_mismatch",
    )
    assert (login["logout_token"], login["logout_token_again"]) == (
        "accepted",
        "oidc.logout_replayed",
    )
    # the flow store kept no secret of the finished login in the clear
    stored = (tmp_path / "d" / "login" / "flows.db").read_bytes()
    assert b"citizen-0001" not in stored


def test_the_demos_licence_pdfs_verify_against_the_demos_verifier_state(
    capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    # The documents step re-signs the trust list to name the PDF signer; the state the
    # README points officers at must have taken that list, or every PDF would be refused
    # with esign.signer_mismatch.
    state, pdf = demo_dir / "verifier", demo_dir / "certificates" / "driving-licence.pdf"
    ca = demo_dir / "keys" / "ca.crt"
    code, data = run_json(capsys, "verify", "--state", str(state), "--ca", str(ca), str(pdf))
    assert code == EXIT_OK
    assert data["valid"] is True
    assert {c["name"]: c["ok"] for c in data["checks"]}["pdf_signer"] is True
