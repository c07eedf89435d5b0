"""``govkit trust add-issuer --pdf-signer-*`` and ``govkit verify`` of licence PDFs.

A licence PDF verifies only when the trust list names its signing certificate for the
licence's issuer (issue #17, item 4); the trust list's operator names it with
``add-issuer``. The PDFs are signed with ``govkit sign``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from govkit.certificates import (
    Agency,
    CertificateIssuer,
    Holder,
    StatusList,
    render_licence_pdf,
    sign_status_list,
)
from govkit.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from govkit.esign import issue_agency_certificate, make_test_ca, spki_sha256
from govkit.keys import SigningKey
from govkit.pdf import PdfRenderer

AGENCY = Agency("演示发证机关", "114400000069445123")
PEM = serialization.Encoding.PEM


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what earlier commands printed
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@dataclass(frozen=True)
class Kit:
    folder: Path
    anchor: Path
    issuer_pub: Path
    agency_cert: Path
    agency_key: Path
    stranger_cert: Path
    stranger_key: Path
    ca: Path
    status: Path
    pdf: Path

    def trust(self, name: str) -> Path:
        """A new trust list file holding nothing yet."""
        path = self.folder / name
        assert main(["trust", "create", "--anchor", str(self.anchor), "--out", str(path)]) == 0
        return path

    def add_issuer(self, trust: Path, *extra: str) -> list[str]:
        return [
            "trust",
            "add-issuer",
            str(trust),
            "--anchor",
            str(self.anchor),
            "--name",
            AGENCY.name,
            "--uscc",
            AGENCY.uscc,
            "--key",
            str(self.issuer_pub),
            "--types",
            "driving-licence",
            *extra,
        ]

    def verify(self, pdf: Path, trust: Path) -> list[str]:
        return [
            "verify",
            str(pdf),
            "--ca",
            str(self.ca),
            "--trust",
            str(trust),
            "--anchor",
            str(self.folder / "anchor.pem.pub"),
            "--status",
            str(self.status),
        ]


@pytest.fixture(autouse=True)
def own_verifier_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``govkit verify`` keeps this device's verifier state: a fresh one per test."""
    monkeypatch.setenv("GOVKIT_STATE", str(tmp_path / "verifier-state"))


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    anchor = tmp_path / "anchor.pem"
    assert main(["keys", "generate", "--alg", "ES256", "--out", str(anchor), "-q"]) == EXIT_OK
    issuer_key = SigningKey.generate("ES256")
    (tmp_path / "issuer.pub").write_bytes(issuer_key.verifying_key.to_pem())
    statuses = StatusList(1024, list_id="cli-pdf-signers")
    now = datetime.now(UTC).replace(microsecond=0)
    issued = CertificateIssuer(issuer_key, agency=AGENCY, status=statuses).issue(
        "driving-licence",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields={
            "name": "张三",
            "licence_class": "C1",
            "first_issue_date": "2015-06-01",
            "file_number": "440100123456",
        },
        valid_from=now.date() - timedelta(days=30),
        valid_until=now.date() + timedelta(days=3000),
    )
    (tmp_path / "status.json").write_bytes(
        sign_status_list(
            statuses, issuer_key, issued_at=now, expires_at=now + timedelta(days=1), sequence=1
        )
    )
    (tmp_path / "licence.pdf").write_bytes(render_licence_pdf(issued, PdfRenderer()))
    ca = make_test_ca("cli CA")
    (tmp_path / "ca.crt").write_bytes(ca.certificate_pem)
    for name, org, uscc in (
        ("agency", AGENCY.name, AGENCY.uscc),
        ("stranger", "某数据服务有限公司", "91440101MA59ABCD1D"),
    ):
        key = SigningKey.generate("ES256")
        cert = issue_agency_certificate(ca, key.verifying_key, agency_name=org, uscc=uscc)
        (tmp_path / f"{name}.pem").write_bytes(key.to_pem())
        (tmp_path / f"{name}.crt").write_bytes(cert.public_bytes(PEM))
    return Kit(
        tmp_path,
        anchor,
        tmp_path / "issuer.pub",
        tmp_path / "agency.crt",
        tmp_path / "agency.pem",
        tmp_path / "stranger.crt",
        tmp_path / "stranger.pem",
        tmp_path / "ca.crt",
        tmp_path / "status.json",
        tmp_path / "licence.pdf",
    )


def show(capsys: pytest.CaptureFixture[str], kit: Kit, trust: Path) -> dict[str, Any]:
    code, out, _ = run(capsys, "trust", "show", str(trust), "--anchor", str(kit.anchor), "--json")
    assert code == EXIT_OK
    document: dict[str, Any] = json.loads(out)
    return document


def spki_hex(path: Path) -> str:
    return spki_sha256(path.read_bytes()).hex()


def test_add_issuer_writes_the_pdf_signers_into_the_signed_list(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    trust = kit.trust("trust.json")
    spare = "AB:" * 31 + "AB"  # any SHA-256, as some tools print it
    subject = f"organizationIdentifier=NTRCN-{AGENCY.uscc}"
    code, out, _ = run(
        capsys,
        *kit.add_issuer(
            trust,
            "--pdf-signer-cert",
            str(kit.agency_cert),
            "--pdf-signer-spki",
            spare,
            "--pdf-signer-subject",
            subject,
            "--json",
        ),
    )
    assert code == EXIT_OK
    expected = {
        "spki_sha256": sorted([spki_hex(kit.agency_cert), "ab" * 32]),
        "subjects": [subject],
    }
    assert json.loads(out)["pdf_signers"] == expected
    [issuer] = show(capsys, kit, trust)["issuers"]
    assert issuer["pdf_signers"] == expected
    # A second signer for the same issuer: give its listed key again; the key stays as it is.
    code, _, _ = run(capsys, *kit.add_issuer(trust, "--pdf-signer-cert", str(kit.stranger_cert)))
    assert code == EXIT_OK
    document = show(capsys, kit, trust)
    [issuer] = document["issuers"]
    assert len(issuer["keys"]) == 1
    assert spki_hex(kit.stranger_cert) in issuer["pdf_signers"]["spki_sha256"]
    assert len(issuer["pdf_signers"]["spki_sha256"]) == 3
    assert document["sequence"] == 3


@pytest.mark.parametrize(
    "extra",
    [
        ["--pdf-signer-spki", "abcd"],
        ["--pdf-signer-spki", "zz" * 32],
        ["--pdf-signer-subject", "CN=演示发证机关"],
        ["--pdf-signer-cert", "BUNDLE"],
    ],
    ids=["short_hash", "not_hex", "subject_of_another_attribute", "two_certificates_in_one_file"],
)
def test_add_issuer_refuses_a_malformed_pdf_signer(
    capsys: pytest.CaptureFixture[str], kit: Kit, extra: list[str]
) -> None:
    trust = kit.trust("trust.json")
    before = trust.read_bytes()
    if extra[-1] == "BUNDLE":
        bundle = kit.folder / "bundle.pem"
        bundle.write_bytes(kit.agency_cert.read_bytes() + kit.stranger_cert.read_bytes())
        extra = [extra[0], str(bundle)]
    code, _, _ = run(capsys, *kit.add_issuer(trust, *extra))
    assert code == EXIT_USAGE
    assert trust.read_bytes() == before  # nothing was written


def sign_pdf(capsys: pytest.CaptureFixture[str], kit: Kit, who: str) -> Path:
    out = kit.folder / f"signed-by-{who}.pdf"
    code, _, _ = run(
        capsys,
        "sign",
        str(kit.pdf),
        "--key",
        str(kit.folder / f"{who}.pem"),
        "--cert",
        str(kit.folder / f"{who}.crt"),
        "--chain",
        str(kit.ca),
        "--out",
        str(out),
    )
    assert code == EXIT_OK
    return out


def test_a_licence_pdf_verifies_only_when_its_signer_is_authorised(
    capsys: pytest.CaptureFixture[str], kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    (kit.folder / "anchor.pem.pub").write_bytes(
        SigningKey.from_pem(kit.anchor.read_bytes()).verifying_key.to_pem()
    )
    authorised = kit.trust("authorised.json")
    assert main(kit.add_issuer(authorised, "--pdf-signer-cert", str(kit.agency_cert))) == 0
    bare = kit.trust("bare.json")
    assert main(kit.add_issuer(bare)) == EXIT_OK  # the issuer, without PDF signers
    genuine, stranger = sign_pdf(capsys, kit, "agency"), sign_pdf(capsys, kit, "stranger")

    code, out, err = run(capsys, *kit.verify(genuine, authorised))
    assert code == EXIT_OK, out + err
    [line] = [x for x in out.splitlines() if " pdf_signer " in x]
    assert line.lstrip().startswith("✓")
    assert "by spki_sha256" in line

    code, out, _ = run(capsys, *kit.verify(stranger, authorised), "--json")
    assert code == EXIT_INVALID
    report = json.loads(out)
    assert report["code"] == "esign.signer_mismatch"
    [failed] = [c for c in report["checks"] if c["ok"] is False]
    assert failed["name"] == "pdf_signer"
    assert "reason=not_listed" in failed["detail"]

    # Another device, holding the list whose issuer names no PDF signer.
    monkeypatch.setenv("GOVKIT_STATE", str(kit.folder / "other-device-state"))
    code, out, err = run(capsys, *kit.verify(genuine, bare))
    assert code == EXIT_INVALID
    assert "INVALID [esign.signer_mismatch]" in out
    assert "no pdf_signers" in out
    assert "hint:" in err
