"""``inspect_checkpoint``: the checks of ``verify_checkpoint``, reported instead of raised."""

from __future__ import annotations

import json
from typing import Any

import pytest

from govkit.audit import (
    Checkpoint,
    CheckpointReport,
    NoteSigner,
    WitnessSigner,
    cosign_checkpoint,
    inspect_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from govkit.errors import ConfigurationError, VerificationError

ORIGIN = "example.gov/log"
SIGNER = NoteSigner.generate(ORIGIN)
CHECKPOINT = Checkpoint(ORIGIN, 8, bytes(range(32)))
NOTE = sign_checkpoint(CHECKPOINT, SIGNER)


def test_a_genuine_checkpoint_passes_every_check_made() -> None:
    report = inspect_checkpoint(NOTE, [SIGNER.verifier], origin=ORIGIN)
    assert isinstance(report, CheckpointReport)
    assert (report.valid, report.code, report.kind) == (True, None, "checkpoint")
    assert [(c.name, c.ok) for c in report.checks] == [
        ("note", True),
        ("signatures", True),
        ("body", True),
        ("origin", True),
    ]
    assert report.checkpoint == verify_checkpoint(NOTE, [SIGNER.verifier], origin=ORIGIN)
    data = json.loads(json.dumps(report.to_dict()))
    assert list(data) == ["valid", "kind", "code", "checks", "checkpoint", "signatures"]
    assert data["checkpoint"]["size"] == 8
    assert data["signatures"] == [
        {"name": ORIGIN, "key_id": SIGNER.verifier.key_id.hex(), "timestamp": None}
    ]


def test_without_an_expected_origin_the_origin_check_is_not_performed() -> None:
    report = inspect_checkpoint(NOTE, [SIGNER.verifier])
    assert (report.valid, report.skipped) == (True, ("origin",))


def test_a_witness_cosignature_is_listed_with_its_time() -> None:
    witness = WitnessSigner.generate("witness.example")
    cosigned = cosign_checkpoint(NOTE, witness, timestamp=1_700_000_000)
    report = inspect_checkpoint(
        cosigned, [SIGNER.verifier, witness.verifier], min_signatures=2, origin=ORIGIN
    )
    assert report.valid
    assert [s.timestamp for s in report.signatures] == [None, 1_700_000_000]


@pytest.mark.parametrize(
    ("note", "check", "code"),
    [
        ("not a note", "note", "audit.checkpoint_malformed"),
        (
            sign_checkpoint(CHECKPOINT, NoteSigner.generate(ORIGIN)),
            "signatures",
            "audit.checkpoint_signature",
        ),
        (SIGNER.sign("not\na checkpoint\n"), "body", "audit.checkpoint_malformed"),
        (NOTE.replace("\n8\n", "\n9\n"), "signatures", "audit.checkpoint_signature"),
    ],
    ids=["garbage", "impostor_key", "not_a_checkpoint_body", "size_changed_after_signing"],
)
def test_a_forged_or_malformed_checkpoint_fails_the_check_its_error_names(
    note: str, check: str, code: str
) -> None:
    report = inspect_checkpoint(note, [SIGNER.verifier], origin=ORIGIN)
    assert (report.valid, report.code, report.checkpoint) == (False, code, None)
    assert (report.checks[-1].name, report.checks[-1].ok) == (check, False)
    assert all(c.ok is True for c in report.checks[:-1])
    with pytest.raises(VerificationError) as caught:
        verify_checkpoint(note, [SIGNER.verifier], origin=ORIGIN)
    assert caught.value.code == code


def test_a_checkpoint_of_another_log_fails_the_origin_check() -> None:
    report = inspect_checkpoint(NOTE, [SIGNER.verifier], origin="example.gov/other")
    assert (report.checks[-1].name, report.code) == ("origin", "audit.checkpoint_malformed")


def test_configuration_errors_raise() -> None:
    with pytest.raises(ConfigurationError):
        inspect_checkpoint(NOTE, [])
    with pytest.raises(ConfigurationError):
        inspect_checkpoint(NOTE, [SIGNER.verifier], min_signatures=0)


def test_each_check_says_what_it_saw() -> None:
    report = inspect_checkpoint(NOTE, [SIGNER.verifier], origin=ORIGIN)
    assert [(c.name, c.detail) for c in report.checks] == [
        ("note", "a signed note with 1 signature line(s)"),
        ("signatures", f"1 trusted key(s) signed: {ORIGIN}"),
        ("body", "tree of 8 entries"),
        ("origin", "the expected log"),
    ]
    unchecked = inspect_checkpoint(NOTE, [SIGNER.verifier]).checks[-1]
    assert (unchecked.name, unchecked.ok, unchecked.detail) == (
        "origin",
        None,
        "no expected origin was given",
    )


def test_too_few_signatures_fail_the_signatures_check() -> None:
    report = inspect_checkpoint(NOTE, [SIGNER.verifier], min_signatures=2)
    assert report.valid is False
    assert [(c.name, c.ok) for c in report.checks] == [("note", True), ("signatures", False)]


@pytest.mark.parametrize(
    ("min_signatures", "message"),
    [
        (0, "min_signatures must be at least 1"),
        (True, "min_signatures must be an int"),
        ("1", "min_signatures must be an int"),
    ],
)
def test_bad_min_signatures_is_a_configuration_error(min_signatures: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        inspect_checkpoint(NOTE, [SIGNER.verifier], min_signatures=min_signatures)
    assert caught.value.message == message


def test_each_check_of_a_checkpoint_report_is_said_in_chinese() -> None:
    report = inspect_checkpoint(NOTE, [SIGNER.verifier], origin=ORIGIN)
    said = {c.name: c.detail_in("zh") for c in report.checks}
    assert said == {
        "note": "已签名的检查点，含 1 行签名",
        "signatures": f"1 个受信任的密钥签名：{ORIGIN}",
        "body": "含 8 个条目的默克尔树",
        "origin": "为预期的审计日志",
    }
    assert report.checks[1].detail == f"1 trusted key(s) signed: {ORIGIN}"
    unchecked = inspect_checkpoint(NOTE, [SIGNER.verifier]).checks[-1]
    assert (unchecked.ok, unchecked.detail_in("zh")) == (None, "未提供预期的日志来源标识")
