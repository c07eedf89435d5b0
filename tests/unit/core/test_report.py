"""Evidence for :mod:`govkit.report`: one verdict rule and one JSON shape for every report.

A report is valid only when at least one check was performed and every performed check
passed; a check that was not performed is never a pass; a required check that could not
be performed fails with its own code; ``code`` is the first failure's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from govkit.errors import ConfigurationError, InvalidSignature
from govkit.report import Check, Report

PASS = Check.passed("signature", "verifies")
SKIP = Check.not_performed("freshness", "no nonce given")


@dataclass(frozen=True)
class _Report(Report):
    checks: tuple[Check, ...]
    found: str | None = None
    kind: str = field(default="example", init=False)

    def json_members(self) -> dict[str, Any]:
        return {"found": self.found}


def report(*checks: Check) -> _Report:
    return _Report(tuple(checks))


# --- the verdict ----------------------------------------------------------------------------


def test_a_report_with_every_check_passed_is_valid() -> None:
    assert (report(PASS).valid, report(PASS).code) == (True, None)


def test_an_empty_report_is_not_valid() -> None:
    assert (report().valid, report().ok, report().code) == (False, False, None)


def test_a_report_whose_checks_were_all_not_performed_is_not_valid() -> None:
    # "nothing failed" is not "something was verified"
    assert report(SKIP).valid is False
    assert report(SKIP, SKIP).valid is False


def test_a_check_not_performed_is_never_counted_as_a_pass() -> None:
    assert SKIP.ok is None
    assert SKIP.performed is False
    assert SKIP.code is None
    mixed = report(PASS, SKIP)
    assert (mixed.valid, mixed.skipped) == (True, ("freshness",))
    assert [c.name for c in mixed.checks if c.ok] == ["signature"]


def test_a_required_check_not_performed_fails_with_its_own_code() -> None:
    status = Check.not_performed(
        "status", "no status list for the issuer", required="certificate.status_unknown"
    )
    assert (status.ok, status.code, status.performed) == (False, "certificate.status_unknown", True)
    verdict = report(PASS, status)
    assert (verdict.valid, verdict.code, verdict.skipped) == (
        False,
        "certificate.status_unknown",
        (),
    )


def test_code_is_the_first_failed_checks_code() -> None:
    first = Check.failed("expiry", "token.expired", "expired")
    second = Check.failed("audience", "token.wrong_audience", "another audience")
    verdict = report(PASS, SKIP, first, second)
    assert (verdict.valid, verdict.code) == (False, "token.expired")


def test_ok_is_the_same_as_valid() -> None:
    for r in (report(), report(PASS), report(SKIP), report(PASS, Check.failed("x", "a.b"))):
        assert r.ok is r.valid


def test_a_passed_check_may_carry_the_code_of_something_accepted_on_purpose() -> None:
    stale = Check("trust_freshness", True, "trust.stale", "expired (accepted: allow_stale_trust)")
    assert (report(stale).valid, report(stale).code) == (True, None)


# --- checks are valid by construction -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("", True, None, ""),
        ("x", "yes", None, ""),
        ("x", 1, None, ""),
        ("x", False, None, ""),  # a failure without a code
        ("x", False, "", ""),
        ("x", True, None, None),
    ],
)
def test_malformed_checks_are_refused(args: tuple[Any, ...]) -> None:
    with pytest.raises(ConfigurationError):
        Check(*args)


def test_from_error_keeps_the_code_the_message_and_the_context() -> None:
    check = Check.from_error("signature", InvalidSignature("does not verify", kid="k1"))
    assert check == Check("signature", False, "key.invalid_signature", "does not verify (kid=k1)")


# --- one JSON shape ---------------------------------------------------------------------------


def test_to_dict_is_valid_kind_code_checks_then_the_kinds_members() -> None:
    data = json.loads(json.dumps(_Report((PASS, SKIP), "a licence").to_dict()))
    assert list(data) == ["valid", "kind", "code", "checks", "found"]
    assert data == {
        "valid": True,
        "kind": "example",
        "code": None,
        "checks": [
            {"name": "signature", "ok": True, "code": None, "detail": "verifies"},
            {"name": "freshness", "ok": None, "code": None, "detail": "no nonce given"},
        ],
        "found": "a licence",
    }


def test_a_member_may_not_shadow_the_head() -> None:
    @dataclass(frozen=True)
    class Bad(Report):
        checks: tuple[Check, ...]
        kind: str = "bad"

        def json_members(self) -> dict[str, Any]:
            return {"valid": True}

    with pytest.raises(ConfigurationError):
        Bad((Check.failed("x", "a.b"),)).to_dict()


def test_every_report_of_govkit_derives_from_the_one_base() -> None:
    from govkit.audit import CheckpointReport, LogReport  # noqa: PLC0415
    from govkit.certificates import (  # noqa: PLC0415
        CertificateReport,
        LicencePdfReport,
        PresentationReport,
    )
    from govkit.esign import DetachedSignatureReport, PdfSignatureReport  # noqa: PLC0415
    from govkit.identity import TokenReport  # noqa: PLC0415
    from govkit.payments import CallbackReport  # noqa: PLC0415

    for cls in (
        TokenReport,
        CertificateReport,
        PresentationReport,
        LicencePdfReport,
        PdfSignatureReport,
        DetachedSignatureReport,
        LogReport,
        CheckpointReport,
        CallbackReport,
    ):
        assert issubclass(cls, Report), cls
        assert "valid" not in vars(cls), cls  # the verdict is computed in one place
        assert "code" not in vars(cls), cls
