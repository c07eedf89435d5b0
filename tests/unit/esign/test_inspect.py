"""``inspect`` for signed PDFs and detached signatures: the verdict of ``verify``, as a report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from govkit.errors import ConfigurationError, EsignVerificationError, NaiveDatetimeError
from govkit.esign import (
    DetachedSignatureReport,
    PadesSigner,
    PdfSignatureVerifier,
    inspect_detached,
    issue_agency_certificate,
    make_test_ca,
    sign_detached,
    verify_detached,
)
from govkit.keys import SigningKey
from govkit.pdf import Document, PdfRenderer
from govkit.testing import FixedClock

CA = make_test_ca()
KEY = SigningKey.generate("ES256")
CERT = issue_agency_certificate(CA, KEY.verifying_key, agency_name="示例局")
PDF = PdfRenderer().render(
    Document(
        "批复", "Approval", (), issuer="示例局", valid_from="a", valid_until="b", identifier="A-1"
    )
)
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CLERK = SigningKey.generate("EdDSA")
CHIEF = SigningKey.generate("ES256")
LETTER = b"official letter"


def chain() -> bytes:
    first = sign_detached(LETTER, CLERK, purpose="审批", clock=FixedClock(T0))
    return sign_detached(
        LETTER,
        CHIEF,
        purpose="审批",
        role="approve",
        previous=first,
        clock=FixedClock(T0 + timedelta(minutes=5)),
    )


KEYS = [CLERK.verifying_key, CHIEF.verifying_key]
AT = T0 + timedelta(hours=1)


# --- PDFs -------------------------------------------------------------------------------------


def test_signature_without_timestamp_is_reported_as_timestamp_not_checked() -> None:
    signed = PadesSigner(KEY, CERT, chain=[CA.certificate]).sign(PDF)
    report = PdfSignatureVerifier([CA.certificate]).inspect(signed)
    assert (report.valid, report.kind, report.skipped) == (True, "pdf", ("Signature1.timestamp",))
    timestamp = next(c for c in report.checks if c.name == "Signature1.timestamp")
    assert timestamp.ok is None
    assert "signer's claim" in timestamp.detail
    data = json.loads(json.dumps(report.to_dict()))
    assert list(data)[:4] == ["valid", "kind", "code", "checks"]
    assert data["signatures"][0]["level"] == "B-B"


def test_unsigned_pdf_report_fails_the_signed_check() -> None:
    report = PdfSignatureVerifier([CA.certificate]).inspect(PDF)
    assert (report.valid, report.code) == (False, "esign.not_signed")
    assert [(c.name, c.ok) for c in report.checks] == [("signed", False)]


# --- detached signatures ----------------------------------------------------------------------


def test_a_genuine_chain_passes_every_check_made() -> None:
    report = inspect_detached(LETTER, chain(), KEYS, purpose="审批", at=AT)
    assert isinstance(report, DetachedSignatureReport)
    assert (report.valid, report.code, report.kind) == (True, None, "detached")
    assert [c.name for c in report.checks] == [
        "format",
        *(f"party1.{s}" for s in ("header", "purpose", "digest", "signature", "chain")),
        *(f"party2.{s}" for s in ("header", "purpose", "digest", "signature", "chain")),
        "roles",
    ]
    assert report.skipped == ("roles",)
    assert report.signatures == verify_detached(LETTER, chain(), KEYS, purpose="审批", at=AT)
    data = json.loads(json.dumps(report.to_dict()))
    assert [p["role"] for p in data["signatures"]] == ["sign", "approve"]


def test_without_purpose_or_roles_those_checks_are_not_performed() -> None:
    report = inspect_detached(LETTER, chain(), KEYS, at=AT)
    assert report.valid
    assert report.skipped == ("party1.purpose", "party2.purpose", "roles")
    required = inspect_detached(LETTER, chain(), KEYS, roles=("sign", "approve"), at=AT)
    assert next(c for c in required.checks if c.name == "roles").ok is True


@pytest.mark.parametrize(
    ("make", "check", "code"),
    [
        (
            lambda: inspect_detached(b"other", chain(), KEYS, at=AT),
            "party1.digest",
            "esign.digest_mismatch",
        ),
        (
            lambda: inspect_detached(LETTER, chain(), [CLERK.verifying_key], at=AT),
            "party2.signature",
            "esign.untrusted",
        ),
        (
            lambda: inspect_detached(LETTER, chain(), KEYS, purpose="通知", at=AT),
            "party1.purpose",
            "esign.wrong_purpose",
        ),
        (
            lambda: inspect_detached(LETTER, chain(), KEYS, roles=("sign",), at=AT),
            "roles",
            "esign.chain",
        ),
        (lambda: inspect_detached(LETTER, b"{}", KEYS, at=AT), "format", "esign.format"),
        # the approval is dated five minutes after the verification time
        (lambda: inspect_detached(LETTER, chain(), KEYS, at=T0), "party2.chain", "esign.chain"),
    ],
    ids=["other_data", "untrusted_approver", "other_purpose", "roles", "garbage", "future"],
)
def test_a_forged_or_foreign_chain_fails_the_check_its_error_names(
    make: object, check: str, code: str
) -> None:
    report = make()  # type: ignore[operator]
    assert (report.valid, report.code, report.signatures) == (False, code, None)
    assert (report.checks[-1].name, report.checks[-1].code) == (check, code)
    assert all(c.ok is not False for c in report.checks[:-1])
    assert report.to_dict()["signatures"] is None


def test_a_swapped_party_breaks_the_chain_link() -> None:
    first = sign_detached(LETTER, CLERK, purpose="审批", clock=FixedClock(T0))
    other = sign_detached(LETTER, CLERK, purpose="审批", clock=FixedClock(T0 + timedelta(1)))
    approved = json.loads(
        sign_detached(LETTER, CHIEF, purpose="审批", role="approve", previous=other)
    )
    spliced = json.loads(first)["signatures"] + approved["signatures"][1:]
    data = json.dumps({"signatures": spliced}).encode()
    report = inspect_detached(LETTER, data, KEYS, at=datetime.now(UTC))
    assert (report.checks[-1].name, report.code) == ("party2.chain", "esign.chain")
    with pytest.raises(EsignVerificationError):
        verify_detached(LETTER, data, KEYS)


def test_what_is_not_about_the_signature_raises() -> None:
    with pytest.raises(ConfigurationError):
        inspect_detached("not bytes", chain(), KEYS, at=AT)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError):
        inspect_detached(LETTER, chain(), KEYS, at=AT.replace(tzinfo=None))


def test_each_check_of_a_detached_chain_is_said_in_chinese_with_its_kids_as_they_are() -> None:
    report = inspect_detached(
        LETTER, chain(), KEYS, purpose="审批", roles=["sign", "approve"], at=AT
    )
    said = {c.name: c.detail_in("zh") for c in report.checks}
    assert said["format"] == "分离签名文件，含 2 个签名"
    assert said["party1.header"] == "govkit 分离签名，角色 sign"
    assert said["party2.header"] == "govkit 分离签名，角色 approve"
    assert said["party1.purpose"] == "用于所要求的用途"
    assert said["party1.digest"] == "签署的正是此数据（SHA-256）"
    kid = CHIEF.verifying_key.kid
    assert said["party2.signature"] == f"以受信任的密钥 {kid}（ES256）验证通过"
    assert said["party1.chain"] == "签名链的起点"
    assert said["party2.chain"] == "按顺序接在前一个签名之后"
    assert said["roles"] == "签名链的角色与要求完全一致"
    english = {c.name: c.detail for c in report.checks}
    assert english["party2.signature"] == f"verifies with trusted key {kid} (ES256)"
    loose = inspect_detached(LETTER, chain(), KEYS, at=AT)
    assert [c.detail_in("zh") for c in loose.checks if c.ok is None] == [
        "未要求签名用途：接受任何用途",
        "未要求签名用途：接受任何用途",
        "未要求签名角色",
    ]
    assert all(c.detail_key is not None for c in (*report.checks, *loose.checks))
