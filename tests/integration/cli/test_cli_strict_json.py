"""The command reads its JSON input files strictly, as the library reads everything else.

A JWK, a JWKS, a trust list body and an issuer's status state with a member name twice
(or ``NaN``) are refused with a message saying so, never read with the last value
winning as :func:`json.loads` would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govkit.certificates import StatusList
from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from govkit.keys import SigningKey

ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    """The exit code and the ``--json`` document (its ``error`` member when there is one)."""
    code = main([*argv, "--json"])
    data = json.loads(capsys.readouterr().out)
    return code, data.get("error", data)


def jwk_text(key: SigningKey) -> str:
    return json.dumps(key.verifying_key.to_jwk(), separators=(",", ":"))


def twice(text: str, member: str, decoy: str) -> str:
    """``text`` with a second ``member`` (value ``decoy``) right after the first one."""
    start = text.index(f'"{member}":')
    end = min(i for i in (text.find(",", start), text.find("}", start)) if i >= 0)
    return text[:end] + f',"{member}":{decoy}' + text[end:]


@pytest.fixture
def anchor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    path = tmp_path / "anchor.pem"
    assert main(["keys", "generate", "--alg", "ES256", "--out", str(path)]) == EXIT_OK
    capsys.readouterr()
    return path


def test_keys_show_reads_a_good_jwk(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    key = SigningKey.generate("ES256")
    path = tmp_path / "key.jwk"
    path.write_text(jwk_text(key))
    code, data = run_json(capsys, "keys", "show", str(path))
    assert code == EXIT_OK
    assert data["kid"] == key.kid


def test_jwk_file_with_a_member_twice_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Two "x" coordinates: json.loads would build the key from the second one.
    key, other = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    path = tmp_path / "key.jwk"
    path.write_text(twice(jwk_text(key), "x", json.dumps(other.verifying_key.to_jwk()["x"])))
    code, error = run_json(capsys, "keys", "show", str(path))
    assert code == EXIT_INVALID
    assert error["code"] == "key.invalid"
    assert "duplicate member name" in error["message"]


def test_jwks_file_with_a_member_twice_is_refused_when_verifying_a_token(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, anchor: Path
) -> None:
    issued = ["token", "issue", "--key", str(anchor), "--issuer", ISS, "--subject", "p-1"]
    assert main([*issued, "--audience", AUD, "--assurance", "high"]) == EXIT_OK
    token = capsys.readouterr().out.strip()
    key = SigningKey.from_pem(anchor.read_bytes())
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys":[' + jwk_text(key) + "]}")
    verify = ["verify", "token", token, "--jwks", str(jwks), "--issuer", ISS, "--audience", AUD]
    code, report = run_json(capsys, *verify)
    assert code == EXIT_OK, report
    # A second "keys" that json.loads would take instead of the first.
    jwks.write_text('{"keys":[' + jwk_text(key) + '],"keys":[]}')
    code, error = run_json(capsys, *verify)
    assert code == EXIT_INVALID
    assert error["code"] == "key.invalid"
    assert "duplicate member name" in error["message"]


def test_trust_list_body_with_a_member_twice_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, anchor: Path
) -> None:
    body = tmp_path / "body.json"
    body.write_text(
        '{"sequence":2,"sequence":1,"issued_at":"2026-05-01T08:00:00Z",'
        '"expires_at":"2026-06-01T08:00:00Z","issuers":[]}'
    )
    out = tmp_path / "trust.json"
    code, error = run_json(
        capsys, "trust", "sign", str(body), "--anchor", str(anchor), "--out", str(out)
    )
    assert code == EXIT_USAGE
    assert "duplicate member name" in error["message"]
    assert not out.exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: twice(text, "sequence", "7"),
        lambda text: text.replace('"sequence":0', '"sequence":NaN', 1),
    ],
    ids=["sequence_twice", "nan"],
)
def test_status_state_file_that_is_not_strict_json_is_a_bad_state(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, anchor: Path, edit: Any
) -> None:
    state = {
        "status": StatusList(16, list_id="s").to_json(),
        "licences": {"L-1": 0},
        "sequence": 0,
    }
    path = tmp_path / "state.json"
    path.write_text(edit(json.dumps(state, separators=(",", ":"))))
    code, error = run_json(
        capsys,
        "revoke",
        "L-1",
        "--key",
        str(anchor),
        "--status-state",
        str(path),
        "--out",
        str(tmp_path / "status.json"),
    )
    assert code == EXIT_ENV
    assert error["code"] == "cli.bad_state"
    assert not (tmp_path / "status.json").exists()
