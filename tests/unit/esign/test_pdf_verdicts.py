"""Each verdict of :class:`PdfSignatureVerifier` on real signed PDFs, exactly (issue #18).

Written against the mutants of ``govkit/esign/_verify.py`` that the other PDF tests let
through: every check's name, code and detail for a genuine signature and for each fault
(a changed signed byte, a bad signature value, a change after signing, an untrusted
signer or timestamp authority, a certificate outside its validity at the checked time),
the JSON of the signatures, the PAdES level (B-B, B-T with a timestamp from a TSA on
127.0.0.1, B-LT once a DSS is added) and the input limits.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore

from govkit.errors import (
    DocumentDigestMismatch,
    DocumentModified,
    DocumentSignatureInvalid,
    EsignVerificationError,
    NotSigned,
    SignatureFormatError,
    SignerUntrusted,
)
from govkit.esign import (
    PadesSigner,
    PdfSignatureVerifier,
    issue_agency_certificate,
    issue_tsa_certificate,
    make_test_ca,
    spki_sha256,
)
from govkit.esign._verify import MAX_PDF_BYTES
from govkit.keys import SigningKey
from govkit.pdf import Document, PdfRenderer
from govkit.testing import FixedClock

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=1)
CLOCK = FixedClock(T0)
CA = make_test_ca("govkit 测试根证书", clock=CLOCK)
KEY = SigningKey.generate("ES256")
CERT = issue_agency_certificate(CA, KEY.verifying_key, agency_name="示例局", clock=CLOCK)
PDF = PdfRenderer().render(
    Document(
        "批复", "Approval", (), issuer="示例局", valid_from="a", valid_until="b", identifier="A-1"
    )
)
SIGNER = "Common Name: 示例局, Organization: 示例局, Country: CN"


def verifier(*roots: Any) -> PdfSignatureVerifier:
    return PdfSignatureVerifier(list(roots) or [CA.certificate], clock=FixedClock(AT))


def sign(pdf: bytes = PDF, **options: Any) -> bytes:
    return PadesSigner(KEY, CERT, chain=[CA.certificate], clock=CLOCK, **options).sign(pdf)


def rows(report: Any) -> list[tuple[str, bool | None, str | None, str]]:
    return [(c.name, c.ok, c.code, c.detail) for c in report.checks]


def failure(pdf: bytes, **options: Any) -> Any:
    with pytest.raises(EsignVerificationError) as caught:
        verifier(**options).verify(pdf, at=AT)
    return caught.value


# --- a genuine signature ------------------------------------------------------------------


def test_a_genuine_signature_report_says_exactly_what_was_checked() -> None:
    signed = sign()
    report = verifier().inspect(signed, at=AT)
    assert rows(report) == [
        ("signed", True, None, "1 signature(s)"),
        ("Signature1.integrity", True, None, "digest matches; signature verifies"),
        ("Signature1.coverage", True, None, "the signature covers the whole document"),
        ("Signature1.trust", True, None, "the signer's certificate chains to a trusted CA"),
        (
            "Signature1.timestamp",
            None,
            None,
            "no signature timestamp: the signing time is the signer's claim",
        ),
    ]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["checked_at"] == AT.isoformat()
    assert data["signatures"] == [
        {
            "field": "Signature1",
            "signer": SIGNER,
            "serial": format(CERT.serial_number, "x"),
            "signing_time": T0.isoformat(),
            "timestamp": None,
            "level": "B-B",
            "coverage": "entire_file",
            "spki_sha256": spki_sha256(CERT).hex(),
        }
    ]
    assert report.summary() == (f"signer: {SIGNER} (B-B)",)
    assert report.summary_in("zh") == (f"签名人：{SIGNER}（B-B）",)
    [info] = verifier().verify(signed, at=AT)
    assert info.certificate == CERT


def test_a_serial_is_shown_in_lower_case_hex() -> None:
    [info] = verifier().verify(sign(), at=AT)
    assert info.to_dict()["serial"] == format(info.serial, "x")
    assert info.to_dict()["serial"] == info.to_dict()["serial"].lower()
    bare = type(info)("f", "s", 0xABC, None, None, "B-B", "entire_file")
    assert bare.to_dict() == {
        "field": "f",
        "signer": "s",
        "serial": "abc",
        "signing_time": None,
        "timestamp": None,
        "level": "B-B",
        "coverage": "entire_file",
        "spki_sha256": None,
    }


# --- faults of the signature --------------------------------------------------------------


def test_a_changed_byte_inside_the_signed_range_is_a_digest_mismatch() -> None:
    signed = bytearray(sign())
    at = signed.index(b"/Title")  # inside the first signed range
    signed[at + 5] ^= 0x20  # "/TitlE"
    report = verifier().inspect(bytes(signed), at=AT)
    assert (
        "Signature1.integrity",
        False,
        "esign.digest_mismatch",
        "the signed bytes were changed",
    ) in rows(report)
    error = failure(bytes(signed))
    assert type(error) is DocumentDigestMismatch
    assert dict(error.context) == {"field": "Signature1"}


class _BadAfterProbe:
    """A signer whose first signature (PadesSigner's key check) is genuine, then not."""

    def __init__(self) -> None:
        self.calls = 0
        self.alg = KEY.alg
        self.kid = KEY.kid

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        signature = KEY.sign(data)
        if self.calls == 1:
            return signature
        return signature[:40] + bytes([signature[40] ^ 1]) + signature[41:]


def test_a_signature_value_that_does_not_verify_is_refused() -> None:
    signed = PadesSigner(_BadAfterProbe(), CERT, chain=[CA.certificate], clock=CLOCK).sign(PDF)
    report = verifier().inspect(signed, at=AT)
    assert (
        "Signature1.integrity",
        False,
        "esign.invalid_signature",
        "the signature value does not verify",
    ) in rows(report)
    error = failure(signed)
    assert type(error) is DocumentSignatureInvalid
    assert dict(error.context) == {"field": "Signature1"}


SHA256_OID_HEX = b"0609608648016503040201"  # DER of 2.16.840.1.101.3.4.2.1


def test_a_signer_digest_algorithm_pyhanko_cannot_use_is_a_format_error_not_a_crash() -> None:
    # The signer info's digestAlgorithm (the second SHA-256 OID in the CMS) becomes an
    # unassigned arc: pyHanko then fails with an AttributeError of its own, which must
    # become this signature's verdict, never an exception out of inspect().
    signed = bytearray(sign())
    contents = signed.index(b"/Contents <")
    at = signed.index(SHA256_OID_HEX, signed.index(SHA256_OID_HEX, contents) + 1)
    signed[at + len(SHA256_OID_HEX) - 2 : at + len(SHA256_OID_HEX)] = b"7F"
    report = verifier().inspect(bytes(signed), at=AT)
    assert rows(report) == [
        ("signed", True, None, "1 signature(s)"),
        (
            "Signature1.integrity",
            False,
            "esign.format",
            "the signature cannot be read (AttributeError)",
        ),
    ]
    assert report.signatures == ()
    error = failure(bytes(signed))
    assert type(error) is SignatureFormatError
    assert dict(error.context) == {"field": "Signature1"}


def add_unsigned_change(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.root["/Lang"] = generic.TextStringObject("en")  # a change nobody signed
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_change_after_signing_names_the_coverage_and_the_modification() -> None:
    changed = add_unsigned_change(sign())
    report = verifier().inspect(changed, at=AT)
    assert (
        "Signature1.coverage",
        False,
        "esign.modified",
        "the document was changed after signing",
    ) in rows(report)
    error = failure(changed)
    assert type(error) is DocumentModified
    assert dict(error.context) == {
        "field": "Signature1",
        "coverage": "entire_revision",
        "modification": "other",
    }
    assert report.signatures[0].coverage == "entire_revision"


def test_an_untrusted_signer_is_refused_by_name() -> None:
    report = verifier(make_test_ca().certificate).inspect(sign(), at=AT)
    assert (
        "Signature1.trust",
        False,
        "esign.untrusted",
        "the signer's certificate does not chain to a trusted CA",
    ) in rows(report)
    with pytest.raises(SignerUntrusted) as caught:
        verifier(make_test_ca().certificate).verify(sign(), at=AT)
    assert dict(caught.value.context) == {"field": "Signature1"}


@pytest.mark.parametrize(
    "at", [T0 + timedelta(days=900), T0 - timedelta(days=2)], ids=["expired", "not-yet-valid"]
)
def test_the_certificate_is_judged_at_the_checked_time(at: datetime) -> None:
    signed = sign()
    assert verifier().inspect(signed, at=AT).ok
    report = verifier().inspect(signed, at=at)
    assert [(c.name, c.code) for c in report.checks if c.ok is False] == [
        ("Signature1.trust", "esign.untrusted")
    ]
    assert report.checked_at == at


# --- timestamps and the PAdES level -----------------------------------------------------------


class _Tsa(BaseHTTPRequestHandler):
    stamper: ClassVar[Any] = None

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = self.stamper.request_tsa_response(tsp.TimeStampReq.load(data)).dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _stamper(ca: Any) -> DummyTimeStamper:
    key = SigningKey.generate("RS256")
    cert = issue_tsa_certificate(ca, key.verifying_key, clock=CLOCK)

    def der(c: Any) -> bytes:
        return c.public_bytes(serialization.Encoding.DER)  # type: ignore[no-any-return]

    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(der(cert)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        certs_to_embed=[asn1_x509.Certificate.load(der(ca.certificate))],
        fixed_dt=T0,
    )


@pytest.fixture(scope="module")
def tsa_url() -> Iterator[str]:
    """An RFC 3161 timestamp authority on 127.0.0.1 whose certificate the test CA issued."""
    handler = type("Tsa", (_Tsa,), {"stamper": _stamper(CA)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def foreign_tsa_url() -> Iterator[str]:
    """A timestamp authority certified by a CA the verifier does not trust."""
    handler = type("ForeignTsa", (_Tsa,), {"stamper": _stamper(make_test_ca("其他", clock=CLOCK))})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()


def sign_b_t(url: str) -> bytes:
    return PadesSigner(KEY, CERT, chain=[CA.certificate], clock=CLOCK, timestamp_url=url).sign(
        PDF, level="B-T"
    )


def test_a_trusted_timestamp_is_reported_with_its_time_and_makes_b_t(tsa_url: str) -> None:
    report = verifier().inspect(sign_b_t(tsa_url), at=AT)
    assert report.ok, rows(report)
    assert rows(report)[-1] == (
        "Signature1.timestamp",
        True,
        None,
        f"trusted timestamp {T0.isoformat()}",
    )
    [info] = report.signatures
    assert (info.timestamp, info.level) == (T0, "B-T")
    assert info.to_dict()["timestamp"] == T0.isoformat()
    assert report.summary() == (f"signer: {SIGNER} (B-T)",)


def test_a_timestamp_by_an_untrusted_authority_fails_the_timestamp_check(
    foreign_tsa_url: str,
) -> None:
    signed = sign_b_t(foreign_tsa_url)
    report = verifier().inspect(signed, at=AT)
    assert [(c.name, c.code, c.detail) for c in report.checks if c.ok is False] == [
        (
            "Signature1.timestamp",
            "esign.untrusted",
            "the signature timestamp is not valid or not trusted",
        )
    ]
    with pytest.raises(SignerUntrusted) as caught:
        verifier().verify(signed, at=AT)
    assert dict(caught.value.context) == {"field": "Signature1"}


def add_dss(pdf: bytes) -> bytes:
    reader = PdfFileReader(io.BytesIO(pdf))
    [embedded] = reader.embedded_regular_signatures
    out = io.BytesIO(pdf)
    cert = asn1_x509.Certificate.load(CERT.public_bytes(serialization.Encoding.DER))
    DocumentSecurityStore.add_dss(out, embedded.pkcs7_content, certs=[cert])
    return out.getvalue()


def test_a_dss_added_after_a_timestamped_signature_makes_b_lt(tsa_url: str) -> None:
    with_dss = add_dss(sign_b_t(tsa_url))
    report = verifier().inspect(with_dss, at=AT)
    assert report.ok, rows(report)
    assert (
        "Signature1.coverage",
        True,
        None,
        "covers its revision; only validation data was added after it",
    ) in rows(report)
    assert report.signatures[0].level == "B-LT"
    assert report.signatures[0].coverage == "entire_revision"


def test_a_dss_without_a_timestamp_is_still_b_b() -> None:
    report = verifier().inspect(add_dss(sign()), at=AT)
    assert report.ok, rows(report)
    assert report.signatures[0].level == "B-B"


# --- input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"hello", b"GK1:ABC", "%PDF-1.7", bytearray(b"%PDF-1.7")])
def test_what_is_not_pdf_bytes_is_refused_before_parsing(data: Any) -> None:
    report = verifier().inspect(data, at=AT)
    assert rows(report) == [("signed", False, "esign.format", "the input is not a PDF")]
    error = failure(data)
    assert type(error) is SignatureFormatError
    assert dict(error.context) == {"reason": "magic"}


def test_a_pdf_over_64_mib_is_refused_before_parsing() -> None:
    assert MAX_PDF_BYTES == 64 * 1024 * 1024
    at_limit = b"%PDF-" + b"\0" * (MAX_PDF_BYTES - 5)
    over = at_limit + b"\0"
    assert rows(verifier().inspect(over, at=AT)) == [
        ("signed", False, "esign.format", "the input is not a PDF")
    ]
    name, ok, code, detail = rows(verifier().inspect(at_limit, at=AT))[0]
    assert (name, ok, code) == ("signed", False, "esign.format")
    assert detail.startswith("the PDF cannot be read (")


def test_an_unreadable_pdf_names_the_parser_failure() -> None:
    error = failure(b"%PDF-1.7 nonsense")
    assert type(error) is SignatureFormatError
    assert error.message.startswith("the PDF cannot be read (")
    assert error.message != "the PDF cannot be read (NoneType)"
    assert error.message.endswith(")")


def test_an_unsigned_pdf_is_not_signed() -> None:
    assert rows(verifier().inspect(PDF, at=AT)) == [
        ("signed", False, "esign.not_signed", "the PDF carries no signature")
    ]
    assert type(failure(PDF)) is NotSigned


def test_pyhanko_loggers_are_restored_after_a_verification() -> None:
    loggers = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
    before = [lg.level for lg in loggers]
    loggers[0].setLevel(logging.DEBUG)
    loggers[1].setLevel(logging.INFO)
    try:
        verifier().verify(sign(), at=AT)
        assert [lg.level for lg in loggers] == [logging.DEBUG, logging.INFO]
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)


def test_a_change_after_a_countersignature_fails_both_signatures_coverage() -> None:
    # Form filling after the first signature is accepted only because the second
    # vouches for it; an unsigned change after both is a modification for each.
    changed = add_unsigned_change(sign(sign()))
    report = verifier().inspect(changed, at=AT)
    assert [(c.name, c.code) for c in report.checks if c.ok is False] == [
        ("Signature1.coverage", "esign.modified"),
        ("Signature2.coverage", "esign.modified"),
    ]
    error = failure(changed)
    assert dict(error.context)["field"] == "Signature1"


class _CountingCrl(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_error(404)


def test_verification_never_fetches_revocation_data() -> None:
    handler = type("Crl", (_CountingCrl,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ca.crl"
        ca = make_test_ca("带吊销列表的根证书", clock=CLOCK, crl_url=url)
        key = SigningKey.generate("ES256")
        cert = issue_agency_certificate(ca, key.verifying_key, agency_name="示例局", clock=CLOCK)
        signed = PadesSigner(key, cert, chain=[ca.certificate], clock=CLOCK).sign(PDF)
        report = PdfSignatureVerifier([ca.certificate]).inspect(signed, at=AT)
    finally:
        server.shutdown()
        server.server_close()
    assert report.ok, rows(report)  # soft-fail: no revocation data embedded is not a failure
    assert handler.requests == []


def test_pyhanko_warnings_are_muted_while_verifying(caplog: pytest.LogCaptureFixture) -> None:
    # an untrusted signer makes pyHanko log a warning of its own; the verdict says it
    with caplog.at_level(logging.DEBUG):
        report = verifier(make_test_ca().certificate).inspect(sign(), at=AT)
    assert not report.ok
    assert [r.name for r in caplog.records if r.name.startswith("pyhanko")] == []


def test_a_damaged_cross_reference_is_read_leniently_and_judged() -> None:
    signed = sign()
    at = signed.rindex(b"startxref")
    offset = signed[at:].split()[1]
    damaged = signed[:at] + signed[at:].replace(offset, str(int(offset) + 3).encode(), 1)
    report = verifier().inspect(damaged, at=AT)
    assert rows(report)[:2] == [
        ("signed", True, None, "1 signature(s)"),
        ("Signature1.integrity", False, "esign.digest_mismatch", "the signed bytes were changed"),
    ]
