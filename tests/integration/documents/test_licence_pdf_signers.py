"""A licence PDF's signer must be one the trust list authorises for the licence's issuer.

The attack (issue #17): take a genuine licence PDF, cut it back to its unsigned revision
and re-sign it with another organisation's certificate from a CA the verifier trusts.
The PAdES signature is then perfectly valid, and so is the embedded licence; only the
trust list's ``pdf_signers`` can say the signer is not the issuer's.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from govkit.certificates import (
    PDF_SIGNER_CHECK,
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    IssuedCertificate,
    LicencePdfReport,
    LicencePdfVerifier,
    LicenceRegistry,
    SignedStatusList,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_status_list,
    render_licence_pdf,
    sign_status_list,
    sign_trust_list,
)
from govkit.cli import EXIT_INVALID, EXIT_OK, main
from govkit.errors import SignerMismatch
from govkit.esign import (
    PadesSigner,
    PdfSignatureVerifier,
    issue_agency_certificate,
    make_test_ca,
    spki_sha256,
)
from govkit.keys import SigningKey
from govkit.pdf import PdfRenderer

from .conftest import AGENCY, Pki, sample_fields, tool

REGISTRY = LicenceRegistry.default()
AGENCY_B = Agency("广州市市场监督管理局", "11440100MB2D12349N")
#: Another organisation with a certificate from the same trusted CA (the attacker).
STRANGER_NAME, STRANGER_USCC = "某数据服务有限公司", "91440101MA59ABCD1D"


def subject_of(agency: Agency) -> str:
    return f"organizationIdentifier=NTRCN-{agency.uscc}"


@dataclass(frozen=True)
class World:
    """Two issuing agencies (A = conftest's AGENCY, B) and three certificates of one CA."""

    pki: Pki
    licence_keys: dict[str, SigningKey]  # by USCC
    issued: dict[str, IssuedCertificate]  # a driving licence of each agency, by USCC
    published: dict[str, bytes]  # each agency's signed status list, by USCC
    status: tuple[SignedStatusList, ...]
    cert_b: x509.Certificate
    key_b: SigningKey
    stranger: x509.Certificate
    stranger_key: SigningKey
    now: datetime

    @property
    def cert_a(self) -> x509.Certificate:
        return self.pki.certificate  # type: ignore[return-value]

    def trust(
        self,
        a: dict[str, Any] | None = None,
        b: dict[str, Any] | None = None,
    ) -> TrustList:
        """The trust list, with ``pdf_signer_*`` arguments for issuers A and B."""
        issuers = tuple(
            TrustedIssuer(
                agency,
                (TrustedKey.for_key(self.licence_keys[agency.uscc].verifying_key, {"passport"}),),
                **(signers or {}),
            )
            for agency, signers in ((AGENCY, a), (AGENCY_B, b))
        )
        return TrustList(issuers, 1, self.now, self.now + timedelta(days=30))

    def verifier(self, trust: TrustList) -> LicencePdfVerifier:
        return LicencePdfVerifier(
            PdfSignatureVerifier([self.pki.ca.certificate]),
            CertificateVerifier(trust, status=self.status),
        )

    def pdf(self, uscc: str) -> bytes:
        return render_licence_pdf(self.issued[uscc], PdfRenderer())


def by_spki(*certificates: x509.Certificate) -> dict[str, Any]:
    return {"pdf_signer_spki": frozenset(spki_sha256(c) for c in certificates)}


def by_subject(*agencies: Agency) -> dict[str, Any]:
    return {"pdf_signer_subjects": frozenset(subject_of(a) for a in agencies)}


@pytest.fixture(scope="module")
def world(pki: Pki) -> World:
    now = datetime.now(UTC).replace(microsecond=0)
    keys, issued, published, status = {}, {}, {}, []
    for agency in (AGENCY, AGENCY_B):
        key = SigningKey.generate("ES256")
        statuses = StatusList(1024, list_id=f"pdf-signers-{agency.uscc}")
        issuer = CertificateIssuer(key, agency=agency, status=statuses)
        issued[agency.uscc] = issuer.issue(
            "passport",
            holder=Holder("p-0a1b2c3d4e5f", "pseudonym"),
            fields=sample_fields(REGISTRY, "passport"),
            valid_from=now.date() - timedelta(days=30),
            valid_until=now.date() + timedelta(days=3000),
        )
        signed = sign_status_list(
            statuses, key, issued_at=now, expires_at=now + timedelta(days=30), sequence=1
        )
        keys[agency.uscc], published[agency.uscc] = key, signed
        status.append(load_status_list(signed, [key.verifying_key], at=now))
    key_b, stranger_key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    cert_b = issue_agency_certificate(
        pki.ca, key_b.verifying_key, agency_name=AGENCY_B.name, uscc=AGENCY_B.uscc
    )
    stranger = issue_agency_certificate(
        pki.ca, stranger_key.verifying_key, agency_name=STRANGER_NAME, uscc=STRANGER_USCC
    )
    return World(
        pki, keys, issued, published, tuple(status), cert_b, key_b, stranger, stranger_key, now
    )


def sign(key: SigningKey, certificate: x509.Certificate, pdf: bytes, pki: Pki) -> bytes:
    return PadesSigner(key, certificate, chain=[pki.ca.certificate]).sign(pdf)


def unsigned_revision(signed: bytes) -> bytes:
    """What an attacker does first: drop every incremental update after the first %%EOF."""
    end = signed.index(b"%%EOF") + len(b"%%EOF")
    while signed[end : end + 1] in (b"\r", b"\n"):
        end += 1
    return signed[:end]


def signer_check(report: LicencePdfReport) -> Any:
    [check] = [c for c in report.checks if c.name == PDF_SIGNER_CHECK]
    return check


def forged(world: World) -> bytes:
    """Agency A's genuine licence PDF, cut back and re-signed by the stranger."""
    page = world.pdf(AGENCY.uscc)
    genuine = sign(world.pki.key, world.cert_a, page, world.pki)
    cut = unsigned_revision(genuine)
    assert cut == page  # exactly the unsigned revision, licence.txt and all
    return sign(world.stranger_key, world.stranger, cut, world.pki)


# --- the attack ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorised", ["by_spki", "by_subject"], ids=["issuer_lists_spki", "issuer_lists_subject"]
)
def test_cut_back_licence_pdf_re_signed_by_another_organisation_is_a_signer_mismatch(
    world: World, authorised: str
) -> None:
    signers = by_spki(world.cert_a) if authorised == "by_spki" else by_subject(AGENCY)
    verifier = world.verifier(world.trust(a=signers))
    attack = forged(world)
    # The premise: the forged PDF's signature alone is perfectly valid (trusted CA, whole
    # document covered), and the embedded licence is the genuine one.
    assert PdfSignatureVerifier([world.pki.ca.certificate]).inspect(attack).valid
    report = verifier.inspect(attack)
    assert not report.valid
    assert report.code == "esign.signer_mismatch"
    assert [c.name for c in report.checks if c.ok is False] == [PDF_SIGNER_CHECK]
    assert report.licence is not None
    assert report.licence.valid
    check = signer_check(report)
    assert "reason=not_listed" in check.detail
    assert spki_sha256(world.stranger).hex() in check.detail
    assert STRANGER_NAME not in check.detail  # the subject is never in the detail
    with pytest.raises(SignerMismatch) as caught:
        verifier.verify(attack)
    assert caught.value.code == "esign.signer_mismatch"
    assert caught.value.context["reason"] == "not_listed"
    assert caught.value.context["field"] == "Signature1"
    assert caught.value.context["uscc"] == AGENCY.uscc


def write_inputs(world: World, trust: TrustList, folder: Path) -> list[str]:
    anchor = SigningKey.generate("ES256")
    (folder / "trust.json").write_bytes(sign_trust_list(trust, anchor))
    (folder / "anchor.pub").write_bytes(anchor.verifying_key.to_pem())
    (folder / "ca.pem").write_bytes(world.pki.ca.certificate_pem)
    args = ["--ca", str(folder / "ca.pem"), "--trust", str(folder / "trust.json")]
    args += ["--anchor", str(folder / "anchor.pub")]
    for uscc, signed in world.published.items():
        (folder / f"status-{uscc}.json").write_bytes(signed)
        args += ["--status", str(folder / f"status-{uscc}.json")]
    return args


def test_cut_back_licence_pdf_re_signed_by_another_organisation_exits_1_on_the_command_line(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOVKIT_STATE", str(tmp_path / "verifier-state"))  # this device's
    args = write_inputs(world, world.trust(a=by_spki(world.cert_a)), tmp_path)
    attack, genuine = tmp_path / "forged.pdf", tmp_path / "genuine.pdf"
    attack.write_bytes(forged(world))
    genuine.write_bytes(sign(world.pki.key, world.cert_a, world.pdf(AGENCY.uscc), world.pki))
    capsys.readouterr()
    assert main(["verify", str(attack), *args, "--json"]) == EXIT_INVALID
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert (report["valid"], report["code"]) == (False, "esign.signer_mismatch")
    assert "hint:" in err
    assert main(["verify", str(genuine), *args, "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert report["signatures"][0]["spki_sha256"] == spki_sha256(world.cert_a).hex()
    # The text report: the licence's fields from the signed payload, and that the page is
    # only a picture of them.
    assert main(["verify", str(genuine), *args]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "licence PDF: VALID" in out
    assert "read from the signed payload embedded in the PDF (licence.txt)" in out
    assert "持证人 Holder:" in out
    assert out.index("持证人 Holder:") < out.index("only a picture of these fields")
    assert "only a picture of the signed payload" in err


# --- who is authorised ------------------------------------------------------------------------


def test_a_signer_authorised_by_spki_hash_passes(world: World) -> None:
    verifier = world.verifier(world.trust(a=by_spki(world.cert_a)))
    signed = sign(world.pki.key, world.cert_a, world.pdf(AGENCY.uscc), world.pki)
    report = verifier.inspect(signed)
    assert report.valid, report.to_dict()
    assert signer_check(report).ok is True
    assert "Signature1 by spki_sha256" in signer_check(report).detail
    result = verifier.verify(signed)
    assert result.certificate.issuer.agency == AGENCY


def test_a_signer_authorised_by_subject_id_passes(world: World) -> None:
    verifier = world.verifier(world.trust(a=by_subject(AGENCY)))
    signed = sign(world.pki.key, world.cert_a, world.pdf(AGENCY.uscc), world.pki)
    report = verifier.inspect(signed)
    assert report.valid, report.to_dict()
    assert "Signature1 by organizationIdentifier" in signer_check(report).detail
    verifier.verify(signed)


def test_an_issuer_without_pdf_signers_fails_closed(world: World) -> None:
    verifier = world.verifier(world.trust(b=by_spki(world.cert_b)))  # A names none
    signed = sign(world.pki.key, world.cert_a, world.pdf(AGENCY.uscc), world.pki)
    report = verifier.inspect(signed)
    assert report.code == "esign.signer_mismatch"
    assert "no pdf_signers" in signer_check(report).detail
    with pytest.raises(SignerMismatch) as caught:
        verifier.verify(signed)
    assert caught.value.context["reason"] == "none_listed"


def test_issuer_a_certificate_signing_a_licence_of_issuer_b_is_a_signer_mismatch(
    world: World,
) -> None:
    trust = world.trust(a=by_spki(world.cert_a), b=by_spki(world.cert_b))
    verifier = world.verifier(trust)
    crossed = sign(world.pki.key, world.cert_a, world.pdf(AGENCY_B.uscc), world.pki)
    report = verifier.inspect(crossed)
    assert report.code == "esign.signer_mismatch"
    assert report.licence is not None
    assert report.licence.valid
    with pytest.raises(SignerMismatch) as caught:
        verifier.verify(crossed)
    assert caught.value.context["uscc"] == AGENCY_B.uscc
    # B's own certificate signs B's licence; subject ids do not cross issuers either.
    assert verifier.inspect(
        sign(world.key_b, world.cert_b, world.pdf(AGENCY_B.uscc), world.pki)
    ).valid
    by_subjects = world.verifier(world.trust(a=by_subject(AGENCY), b=by_subject(AGENCY_B)))
    assert by_subjects.inspect(crossed).code == "esign.signer_mismatch"


def test_a_countersignature_by_an_unauthorised_certificate_is_a_signer_mismatch(
    world: World,
) -> None:
    verifier = world.verifier(world.trust(a=by_spki(world.cert_a)))
    genuine = sign(world.pki.key, world.cert_a, world.pdf(AGENCY.uscc), world.pki)
    both = sign(world.stranger_key, world.stranger, genuine, world.pki)
    assert PdfSignatureVerifier([world.pki.ca.certificate]).inspect(both).valid
    with pytest.raises(SignerMismatch) as caught:
        verifier.verify(both)
    assert caught.value.context["field"] == "Signature2"


def test_a_listed_key_in_a_certificate_from_an_untrusted_ca_is_not_called_authorised(
    world: World,
) -> None:
    rogue_ca = make_test_ca("someone else's CA")
    rogue = issue_agency_certificate(
        rogue_ca, world.pki.key.verifying_key, agency_name=AGENCY.name, uscc=AGENCY.uscc
    )
    verifier = world.verifier(world.trust(a=by_spki(world.cert_a)))
    signed = PadesSigner(world.pki.key, rogue, chain=[rogue_ca.certificate]).sign(
        world.pdf(AGENCY.uscc)
    )
    report = verifier.inspect(signed)
    assert report.code == "esign.untrusted"
    check = signer_check(report)
    assert check.ok is None
    assert "not by a trusted certificate" in check.detail


def test_when_the_licence_does_not_verify_the_signer_check_is_not_performed(
    world: World,
) -> None:
    trust = world.trust(a=by_spki(world.cert_a)).withdraw(
        TrustedKey.for_key(world.licence_keys[AGENCY.uscc].verifying_key, {"passport"}).kid
    )
    report = world.verifier(trust).inspect(
        sign(world.pki.key, world.cert_a, world.pdf(AGENCY.uscc), world.pki)
    )
    assert report.code == "certificate.issuer_not_allowed"
    assert signer_check(report).ok is None
    assert not report.valid


def test_a_report_made_without_the_signer_check_fails_closed(world: World) -> None:
    verifier = world.verifier(world.trust(a=by_spki(world.cert_a)))
    signed = sign(world.pki.key, world.cert_a, world.pdf(AGENCY.uscc), world.pki)
    full = verifier.inspect(signed)
    assert full.valid
    bare = LicencePdfReport(full.signature, full.licence)
    assert not bare.valid
    assert bare.code == "esign.signer_mismatch"


def test_the_spki_hash_is_what_openssl_computes(world: World, tmp_path: Path) -> None:
    """The documented recipe: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256."""
    pem = tmp_path / "agency.crt"
    pem.write_bytes(world.cert_a.public_bytes(serialization.Encoding.PEM))
    public = subprocess.run(
        [tool("openssl"), "x509", "-in", str(pem), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    der = subprocess.run(
        [tool("openssl"), "pkey", "-pubin", "-outform", "der"],
        input=public,
        capture_output=True,
        check=True,
    ).stdout
    assert spki_sha256(world.cert_a) == hashlib.sha256(der).digest()
    assert spki_sha256(world.cert_a) != spki_sha256(world.stranger)
