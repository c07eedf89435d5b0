"""A whole ``govkit demo`` logs every operation and leaks nothing personal or secret.

The demo runs in-process with a handler on the root logger at ``DEBUG`` and OpenTelemetry
providers of the SDK (in-memory exporter and reader) given to
:func:`govkit.observability.configure`. Spies around the demo's own calls collect what
must never be logged, as the run makes it: every key generated (PEM lines, JWK members,
private scalars), every random secret (``secrets.token_hex`` / ``token_bytes``: the
WeChat Pay API v3 key, UnionPay and webhook secrets, pseudonym and subject keys), every
token issued (whole and each part) and its ``sub``, every licence payload and holder,
every payment callback's body and header values (signatures), plus the demo citizen's
name, ID number, plate, VIN and address. Each record's message, arguments and every
attribute (the ``extra`` fields), and each span's attributes and each metric point's
attributes, are searched for each of them.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from govkit import observability
from govkit.audit import NoteSigner
from govkit.certificates import CertificateIssuer
from govkit.cli import main
from govkit.identity import TokenIssuer
from govkit.keys import SigningKey
from govkit.payments import PaymentInbox

#: The demo citizen's personal data, written in the demo's source.
PERSONAL = (
    "440104199003071234",  # resident ID number
    "张三",  # name
    "粤A12345",  # plate
    "LSVAU2180N2123456",  # VIN
    "203.0.113.7",  # the citizen's address
)

#: Every operation kind the demo performs, with the logger it goes to.
KINDS = {
    "token.issue": "govkit.identity",
    "token.inspect": "govkit.identity",
    "certificate.issue": "govkit.certificates",
    "certificate.issue_selective": "govkit.certificates",
    "certificate.inspect": "govkit.certificates",
    "presentation.verify": "govkit.certificates",
    "presentation.inspect": "govkit.certificates",
    "licence_pdf.inspect": "govkit.certificates",
    "pdf_signature.inspect": "govkit.esign",
    "payment.callback": "govkit.payments",
    "audit.append": "govkit.audit",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_material(key: SigningKey) -> list[str]:
    """The private and public key in every form a log could show it."""
    found = [
        line
        for pem in (key.to_pem(), key.verifying_key.to_pem())
        for line in pem.decode().splitlines()
        if not line.startswith("-----")
    ]
    found += [v for k, v in key.verifying_key.to_jwk().items() if k in ("x", "y", "n")]
    private: Any = serialization.load_pem_private_key(key.to_pem(), password=None)
    secret_ints: list[tuple[int, int]] = []
    if isinstance(private, ec.EllipticCurvePrivateKey):
        secret_ints.append((private.private_numbers().private_value, private.key_size))
    elif isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        secret_ints += [(numbers.d, private.key_size), (numbers.p, private.key_size // 2)]
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        found += [b64url(raw), raw.hex()]
    for value, bits in secret_ints:
        raw = value.to_bytes((bits + 7) // 8, "big")
        found += [b64url(raw), raw.hex(), str(value)]
    return found


class Needles:
    """What must never appear in a log record, a span or a metric, collected as made."""

    def __init__(self) -> None:
        self.items: set[str] = set(PERSONAL)

    def add(self, *values: str | bytes) -> None:
        for value in values:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            if len(text) >= 8:  # shorter values would match innocent text
                self.items.add(text)

    def add_secret(self, data: bytes) -> None:
        if len(data) >= 8:
            self.add(data.hex(), b64url(data), base64.b64encode(data).decode())


def spy(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
    seen: Callable[[tuple[Any, ...], dict[str, Any], Any], None],
) -> None:
    """Wrap ``owner.name`` (the real, observed function) to see its calls and results."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        seen(args, kwargs, result)
        return result

    monkeypatch.setattr(owner, name, wrapper)


@pytest.fixture
def needles(monkeypatch: pytest.MonkeyPatch) -> Needles:
    found = Needles()

    def generated(args: tuple[Any, ...], kwargs: dict[str, Any], key: Any) -> None:
        if isinstance(key, SigningKey):
            found.add(*key_material(key))

    def note_signer(args: tuple[Any, ...], kwargs: dict[str, Any], signer: Any) -> None:
        # PRIVATE+KEY+<origin>+<hash>+<key>: the origin is public (the log's name)
        text = signer.to_private_key_string()
        found.add(text, text.rsplit("+", 1)[-1])

    def issued_token(args: tuple[Any, ...], kwargs: dict[str, Any], token: str) -> None:
        subject = args[1] if len(args) > 1 else kwargs["subject"]
        found.add(token, *token.split("."), subject)

    def issued_licence(args: tuple[Any, ...], kwargs: dict[str, Any], licence: Any) -> None:
        payload = getattr(licence, "qr_payload", None)
        if isinstance(payload, str):
            found.add(payload, payload.split(":", 1)[-1])
        found.add(kwargs["holder"].reference)
        for value in kwargs.get("fields", {}).values():
            if isinstance(value, str):
                found.add(value)

    def received(args: tuple[Any, ...], kwargs: dict[str, Any], receipt: Any) -> None:
        _, _, headers, body = args[:4]
        # every header value but a bare timestamp (the records' own times hold those)
        found.add(body, *(v for v in headers.values() if not v.isdigit()))

    def random_hex(args: tuple[Any, ...], kwargs: dict[str, Any], text: str) -> None:
        found.add(text)

    def random_bytes(args: tuple[Any, ...], kwargs: dict[str, Any], data: bytes) -> None:
        found.add_secret(data)

    spy(monkeypatch, SigningKey, "generate", generated)
    spy(monkeypatch, NoteSigner, "generate", note_signer)
    spy(monkeypatch, TokenIssuer, "issue", issued_token)
    spy(monkeypatch, CertificateIssuer, "issue", issued_licence)
    spy(monkeypatch, CertificateIssuer, "issue_selective", issued_licence)
    spy(monkeypatch, PaymentInbox, "receive", received)
    spy(monkeypatch, secrets, "token_hex", random_hex)
    spy(monkeypatch, secrets, "token_bytes", random_bytes)
    return found


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def record_text(record: logging.LogRecord) -> str:
    """The message, the arguments and every attribute of a record, extras included."""
    return "\n".join([record.getMessage(), repr(record.args), repr(vars(record))])


def test_a_whole_demo_logs_every_operation_and_no_personal_data_key_token_or_secret(
    tmp_path: Path, needles: Needles, captured: Everything
) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    observability.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        assert main(["demo", "--out", str(tmp_path / "demo"), "--quiet"]) == 0
        metrics = reader.get_metrics_data()
    finally:
        observability.configure()
        meter_provider.shutdown()
        tracer_provider.shutdown()

    # the spies saw what they watch: keys, tokens, licences, callbacks, random secrets
    assert len(needles.items) > 200
    assert any(item.startswith("eyJ") for item in needles.items)  # the tokens
    assert any(item.startswith("GK1:") for item in needles.items)  # the licences

    records = captured.records
    operations = [r for r in records if hasattr(r, "kind") and r.name.startswith("govkit.")]
    for kind, logger in KINDS.items():
        mine = [r for r in operations if r.kind == kind]  # type: ignore[attr-defined]
        assert mine, f"no {kind} record"
        assert {r.name for r in mine} == {logger}
        for record in mine:
            assert {"kind", "outcome", "code", "duration_ms"} <= vars(record).keys()
    outcomes = {(r.kind, r.outcome, r.code) for r in operations}  # type: ignore[attr-defined]
    assert ("certificate.inspect", "invalid", "certificate.revoked") in outcomes
    assert ("presentation.inspect", "invalid", "presentation.replayed") in outcomes
    assert any(k == "payment.callback" and o == "invalid" for k, o, _ in outcomes)
    assert any(getattr(r, "kid", None) for r in operations if r.kind == "token.inspect")  # type: ignore[attr-defined]

    leaks = {
        (record.name, needle[:24])
        for record in records
        for needle in needles.items
        if needle in record_text(record)
    }
    assert leaks == set()

    finished = spans.get_finished_spans()
    assert {s.name.removeprefix("govkit.") for s in finished} >= set(KINDS)
    span_text = [f"{s.name} {dict(s.attributes or {})!r} {s.events!r}" for s in finished]
    assert metrics is not None
    point_text = [
        repr(dict(point.attributes or {}))
        for resource in metrics.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    ]
    assert point_text
    leaks = {
        needle[:24] for text in span_text + point_text for needle in needles.items if needle in text
    }
    assert leaks == set()
