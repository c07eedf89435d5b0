"""Fixtures for licence PDFs: a test PKI, an NSS trust store for pdfsig, local TSA/CRL servers.

Every tool here is real: poppler's ``pdfsig``/``pdftoppm`` and NSS's ``certutil``
(Debian ``poppler-utils``, ``libnss3-tools``; ``scripts/system-deps.sh`` installs them),
an HTTP server on 127.0.0.1. A missing tool is a failure, never a skip.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    IssuedCertificate,
    LicenceRegistry,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_status_list,
    sign_status_list,
)
from govkit.esign import (
    TestCa,
    issue_agency_certificate,
    issue_tsa_certificate,
    make_test_ca,
    spki_sha256,
)
from govkit.keys import SigningKey

AGENCY = Agency("广东省政务服务数据管理局", "114400000069445123")
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: run scripts/system-deps.sh (poppler-utils, libnss3-tools)")
    return found


@dataclass(frozen=True)
class Pki:
    ca: TestCa
    key: SigningKey
    certificate: object
    nss: str
    ca_pem: Path


def _der(cert: object) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[str, object]]] = {}

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        kind, value = self.routes.get(self.path, ("", b""))
        if kind != "bytes":
            self.send_error(404)
            return
        body = value  # type: ignore[assignment]
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))  # type: ignore[arg-type]
        self.end_headers()
        self.wfile.write(body)  # type: ignore[arg-type]

    def do_POST(self) -> None:
        kind, value = self.routes.get(self.path, ("", None))
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        if kind != "tsa":
            self.send_error(404)
            return
        response = value.request_tsa_response(tsp.TimeStampReq.load(data))  # type: ignore[attr-defined]
        body = response.dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Servers:
    base: str
    routes: dict[str, tuple[str, object]]


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """One HTTP server on 127.0.0.1 serving the TSA (POST /tsa) and the CRL (GET /ca.crl)."""
    routes: ClassVar[dict[str, tuple[str, object]]] = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Servers(f"http://127.0.0.1:{server.server_address[1]}", routes)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def pki(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ca = make_test_ca("govkit 测试根证书", crl_url=f"{servers.base}/ca.crl")
    key = SigningKey.generate("ES256")
    cert = issue_agency_certificate(
        ca, key.verifying_key, agency_name=AGENCY.name, uscc=AGENCY.uscc
    )
    servers.routes["/ca.crl"] = ("bytes", ca.crl())
    # The TSA: RSA (pyHanko's in-process timestamper signs with RSA), issued by the test CA.
    tsa_key = SigningKey.generate("RS256")
    tsa_cert = issue_tsa_certificate(ca, tsa_key.verifying_key)
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(_der(tsa_cert)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa_key.private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        certs_to_embed=[asn1_x509.Certificate.load(_der(ca.certificate))],
    )
    servers.routes["/tsa"] = ("tsa", stamper)
    folder = tmp_path_factory.mktemp("nss")
    ca_pem = folder / "ca.pem"
    ca_pem.write_bytes(ca.certificate_pem)
    nss = folder / "db"
    nss.mkdir()
    certutil = tool("certutil")
    subprocess.run([certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    # ",C," trusts the CA for S/MIME (email signing), the usage pdfsig checks.
    subprocess.run(
        [certutil, "-A", "-d", f"sql:{nss}", "-n", "govkit-test", "-t", ",C,", "-i", str(ca_pem)],
        check=True,
    )
    return Pki(ca, key, cert, f"sql:{nss}", ca_pem)


@dataclass(frozen=True)
class Licences:
    issued: dict[str, IssuedCertificate]
    verifier: CertificateVerifier


def sample_fields(registry: LicenceRegistry, name: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for spec in registry.get(name).fields:
        if spec.kind == "date":
            values[spec.name] = "2020-06-01"
        elif spec.kind == "enum":
            values[spec.name] = spec.choices[0]
        elif spec.kind == "int":
            values[spec.name] = 1200
        elif spec.kind == "bool":
            values[spec.name] = True
        elif spec.name == "name":
            values[spec.name] = "张三"
        else:
            values[spec.name] = f"示例{spec.zh}"[: spec.max_length]
    return values


@pytest.fixture(scope="session")
def licences(pki: Pki) -> Licences:
    """A licence of each type by AGENCY, whose trust list entry authorises ``pki``'s
    certificate (by SPKI hash) to sign the agency's licence PDFs."""
    registry = LicenceRegistry.default()
    key = SigningKey.generate("ES256")
    statuses = StatusList(1024, list_id="documents-tests")
    issuer = CertificateIssuer(key, agency=AGENCY, status=statuses)
    now = datetime.now(UTC).replace(microsecond=0)
    issued = {}
    for name in registry.names():
        kind = registry.get(name)
        start = now.date() - timedelta(days=30)
        span = min(kind.max_validity or timedelta(days=3650), timedelta(days=3650))
        issued[name] = issuer.issue(
            name,
            holder=Holder("p-" + secrets.token_hex(8), "pseudonym"),
            fields=sample_fields(registry, name),
            valid_from=start,
            valid_until=start + span - timedelta(days=1),
        )
    trust = TrustList(
        (
            TrustedIssuer(
                AGENCY,
                (TrustedKey.for_key(key.verifying_key, registry.names()),),
                pdf_signer_spki=frozenset({spki_sha256(pki.certificate)}),  # type: ignore[arg-type]
            ),
        ),
        1,
        now,
        now + timedelta(days=30),
    )
    published = sign_status_list(
        statuses, key, issued_at=now, expires_at=now + timedelta(days=30), sequence=1
    )
    status = load_status_list(published, [key.verifying_key], at=now)
    return Licences(issued, CertificateVerifier(trust, status=status))
