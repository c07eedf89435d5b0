"""govkit.observability: one log record (and span, count, duration) per operation.

The records' fields and levels, the fast path when nothing listens, and OpenTelemetry
through the SDK's in-memory exporter and reader (passed to ``configure``, never set as
the process-wide providers). The whole-demo scan for personal data is in
tests/integration/cli/test_demo_observability.py.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from govkit import observability
from govkit.audit import AuditEvent, AuditLog, NoteSigner
from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    LicenceRegistry,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_status_list,
    load_trust_list,
    sign_status_list,
    sign_trust_list,
)
from govkit.errors import (
    CertificateRevoked,
    ConfigurationError,
    StoreError,
    TokenExpired,
    TokenReplayed,
)
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    TokenIssuer,
    TokenVerifier,
    create_dpop_proof,
)
from govkit.keys import KeyRing, SigningKey
from govkit.observability import observe, observed
from govkit.payments import DeliveryStatus, PaymentInbox, Stripe
from govkit.report import Check, Report
from govkit.stores import MemoryReplayStore
from govkit.testing import FixedClock
from govkit.testing.payments import stripe_callback

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ISSUER = "https://login.example.gov.cn"
SERVICE = "https://tax.example.gov.cn"
STRIPE_SECRET = "whsec_" + "ab" * 16
FIELDS = {"kind", "outcome", "code", "duration_ms"}
BUSINESS = {
    "company_name": "广州某某科技有限公司",
    "entity_type": "有限责任公司",
    "legal_representative": "孙十一",
    "registered_capital": 100,
    "established": "2018-04-12",
    "business_scope": "软件开发；信息技术咨询服务",
}


class Records(logging.Handler):
    """Every record of the ``govkit`` loggers, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def of(self, kind: str) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "kind", None) == kind]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    log = logging.getLogger("govkit")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


@pytest.fixture
def otel() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    """Providers of the OpenTelemetry SDK with in-memory export, given to ``configure``."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    observability.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield spans, reader
    finally:
        observability.configure()
        meter_provider.shutdown()
        tracer_provider.shutdown()


def tokens(clock: FixedClock | None = None) -> tuple[TokenIssuer, TokenVerifier, SigningKey]:
    key = SigningKey.generate("ES256")
    clock = clock or FixedClock(NOW)
    ring = KeyRing(key)
    issuer = TokenIssuer(ring, issuer=ISSUER, clock=clock)
    verifier = TokenVerifier(ring, issuer=ISSUER, audience=SERVICE, clock=clock)
    return issuer, verifier, key


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


@dataclass(frozen=True)
class ThingReport(Report):
    checks: tuple[Check, ...]
    kind: str = "thing"


# --- log records ------------------------------------------------------------------


def test_a_verified_token_logs_kind_outcome_code_kid_issuer_and_duration(
    records: Records,
) -> None:
    issuer, verifier, key = tokens()
    token = issuer.issue("pseudonym-1", SERVICE, AssuranceLevel.HIGH, timedelta(minutes=5))
    verifier.verify(token)
    [issued] = records.of("token.issue")
    [verified] = records.of("token.verify")
    for record in (issued, verified):
        assert record.name == "govkit.identity"
        assert record.levelno == logging.INFO
        assert vars(record).keys() >= FIELDS
        assert (record.outcome, record.code) == ("ok", "ok")  # type: ignore[attr-defined]
        assert record.kid == key.kid  # type: ignore[attr-defined]
        assert record.issuer == ISSUER  # type: ignore[attr-defined]
        assert isinstance(record.duration_ms, float)  # type: ignore[attr-defined]
        assert record.duration_ms >= 0  # type: ignore[attr-defined]
    assert verified.getMessage().startswith("token.verify ok in ")


def test_an_expired_token_logs_invalid_with_its_code_and_no_kid(records: Records) -> None:
    clock = FixedClock(NOW)
    issuer, verifier, _ = tokens(clock)
    token = issuer.issue("pseudonym-1", SERVICE, AssuranceLevel.HIGH, timedelta(minutes=5))
    clock.advance(timedelta(hours=1))
    with pytest.raises(TokenExpired):
        verifier.verify(token)
    [record] = records.of("token.verify")
    assert record.levelno == logging.INFO  # an invalid token is an answer, not a fault
    assert (record.outcome, record.code) == ("invalid", "token.expired")  # type: ignore[attr-defined]
    assert not hasattr(record, "kid")  # unverified input is never logged
    assert record.getMessage().startswith("token.verify invalid (token.expired) in ")


def test_inspect_logs_the_verdict_of_its_report(records: Records) -> None:
    clock = FixedClock(NOW)
    issuer, verifier, _ = tokens(clock)
    token = issuer.issue("pseudonym-1", SERVICE, AssuranceLevel.HIGH, timedelta(minutes=5))
    clock.advance(timedelta(hours=1))
    assert not verifier.inspect(token).valid
    [record] = records.of("token.inspect")
    assert (record.outcome, record.code) == ("invalid", "token.expired")  # type: ignore[attr-defined]


def test_a_store_failure_is_a_warning_with_its_code(records: Records) -> None:
    class DownStore(MemoryReplayStore):
        def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
            raise StoreError("the store is down")

    key = SigningKey.generate("ES256")
    dpop = DPoPVerifier(replay_store=DownStore(), clock=FixedClock(NOW))
    proof = create_dpop_proof(key, htm="GET", htu=SERVICE, clock=FixedClock(NOW))
    with pytest.raises(StoreError):
        dpop.verify(proof, htm="GET", htu=SERVICE)
    [record] = records.of("dpop.verify")
    assert record.levelno == logging.WARNING
    assert (record.outcome, record.code) == ("error", "store.error")  # type: ignore[attr-defined]


def test_an_unexpected_exception_is_an_error_named_by_its_type_only(records: Records) -> None:
    @observed("thing.verify", "govkit.test")
    def fails(secret: str) -> None:
        raise ValueError(f"bad value {secret}")

    with pytest.raises(ValueError, match="bad value"):
        fails("s3cr3t-value")
    [record] = records.of("thing.verify")
    assert (record.outcome, record.code) == ("error", "exception")  # type: ignore[attr-defined]
    assert record.exception == "ValueError"  # type: ignore[attr-defined]
    assert "s3cr3t" not in repr(vars(record)) + record.getMessage()


def test_a_returned_report_sets_the_outcome_and_fields_may_override_it(
    records: Records,
) -> None:
    @observed("thing.inspect", "govkit.test", lambda args, kwargs, result: {"issuer": "x"})
    def inspect() -> Report:
        return ThingReport((Check.failed("signature", "key.invalid_signature"),))

    assert not inspect().valid
    [record] = records.of("thing.inspect")
    assert (record.outcome, record.code) == ("invalid", "key.invalid_signature")  # type: ignore[attr-defined]
    assert record.issuer == "x"  # type: ignore[attr-defined]


def test_observe_times_a_block_and_takes_fields_set_inside(records: Records) -> None:
    log = logging.getLogger("govkit.test")
    with observe("thing.append", log, origin="o") as fields:
        fields["entries"] = 3
    [record] = records.of("thing.append")
    assert (record.origin, record.entries, record.outcome) == ("o", 3, "ok")  # type: ignore[attr-defined]


# --- the fast path ----------------------------------------------------------------


def test_nothing_is_logged_when_no_logger_takes_info_but_a_fault_still_warns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = logging.getLogger("govkit.test.quiet")
    called: list[object] = []
    monkeypatch.setattr(observability, "_emit", lambda *a, **k: called.append(a))

    @observed("thing.verify", "govkit.test.quiet")
    def verify(value: int) -> int:
        return value * 2

    @observed("thing.verify", "govkit.test.quiet")
    def broken() -> None:
        raise StoreError("down")

    @observed("thing.verify", "govkit.test.quiet")
    def refused() -> None:
        raise TokenExpired("expired")

    log.setLevel(logging.WARNING)
    try:
        assert verify(21) == 42
        with pytest.raises(TokenExpired):
            refused()
        assert called == []  # neither an ok nor an invalid outcome is a warning
        with pytest.raises(StoreError):
            broken()
        assert len(called) == 1
    finally:
        log.setLevel(logging.NOTSET)


def test_the_decorated_method_keeps_its_name_docstring_and_signature() -> None:
    assert TokenVerifier.verify.__name__ == "verify"
    assert "Verify ``token``" in (TokenVerifier.verify.__doc__ or "")
    assert TokenVerifier.verify.__wrapped__ is not None  # type: ignore[attr-defined]


# --- OpenTelemetry ----------------------------------------------------------------


def by_name(spans: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in spans.get_finished_spans():
        found.setdefault(span.name, []).append(span)
    return found


def test_spans_counters_and_durations_for_tokens_dpop_and_audit(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tmp_path: Path
) -> None:
    spans, reader = otel
    clock = FixedClock(NOW)
    issuer, verifier, key = tokens(clock)
    token = issuer.issue("pseudonym-1", SERVICE, AssuranceLevel.HIGH, timedelta(minutes=5))
    verifier.verify(token)
    client = SigningKey.generate("ES256")
    dpop = DPoPVerifier(replay_store=MemoryReplayStore(), clock=clock)
    proof = create_dpop_proof(client, htm="GET", htu=SERVICE, clock=clock)
    dpop.verify(proof, htm="GET", htu=SERVICE)
    with pytest.raises(TokenReplayed):
        dpop.verify(proof, htm="GET", htu=SERVICE)
    clock.advance(timedelta(hours=1))
    with pytest.raises(TokenExpired):
        verifier.verify(token)
    log = AuditLog(tmp_path / "a.db", origin="test/audit", signer=NoteSigner.generate("test/audit"))
    with log:
        log.append(
            AuditEvent(
                occurred_at=NOW,
                actor_id="svc",
                actor_type="service",
                action="x.y",
                resource_type="r",
                resource_id="1",
                personal=frozenset(),
            )
        )

    found = by_name(spans)
    [issued] = found["govkit.token.issue"]
    assert issued.attributes is not None
    assert dict(issued.attributes) == {
        "govkit.kind": "token.issue",
        "govkit.issuer": ISSUER,
        "govkit.kid": key.kid,
        "govkit.outcome": "ok",
        "govkit.code": "ok",
    }
    ok, expired = found["govkit.token.verify"]
    assert ok.attributes is not None
    assert expired.attributes is not None
    assert ok.attributes["govkit.kid"] == key.kid
    assert expired.attributes["govkit.code"] == "token.expired"
    assert expired.attributes["govkit.outcome"] == "invalid"
    assert "govkit.kid" not in expired.attributes
    assert expired.status.status_code is StatusCode.UNSET  # an answer, not a fault
    assert not expired.events  # no exception event: its text is never exported
    first, replayed = found["govkit.dpop.verify"]
    assert first.attributes is not None
    assert first.attributes["govkit.outcome"] == "ok"
    assert replayed.attributes is not None
    assert replayed.attributes["govkit.code"] == "token.replayed"
    [appended] = found["govkit.audit.append"]
    assert appended.attributes is not None
    assert appended.attributes["govkit.origin"] == "test/audit"
    assert appended.attributes["govkit.entries"] == 1

    counts = {
        (p.attributes["govkit.kind"], p.attributes["govkit.code"]): p.value
        for p in points(reader, "govkit.operations")
    }
    assert counts == {
        ("token.issue", "ok"): 1,
        ("token.verify", "ok"): 1,
        ("token.verify", "token.expired"): 1,
        ("dpop.verify", "ok"): 1,
        ("dpop.verify", "token.replayed"): 1,
        ("audit.append", "ok"): 1,
    }
    durations = {
        (p.attributes["govkit.kind"], p.attributes["govkit.outcome"]): p
        for p in points(reader, "govkit.operation.duration")
    }
    assert durations[("token.verify", "invalid")].count == 1
    assert durations[("dpop.verify", "ok")].count == 1
    assert 0 < durations[("audit.append", "ok")].sum < 10  # seconds
    assert durations[("token.issue", "ok")].explicit_bounds[0] == 0.00005


def test_spans_of_payment_callbacks_and_handler_runs(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tmp_path: Path
) -> None:
    spans, reader = otel

    def handler(event: object) -> None:
        raise RuntimeError("the application's handler failed")

    headers, body = stripe_callback(STRIPE_SECRET, order_id="FINE-1", amount=100, at=NOW)
    forged_headers, _ = stripe_callback("whsec_" + "cd" * 16, order_id="F", amount=1, at=NOW)
    with PaymentInbox(tmp_path / "p.db", handler=handler, orders=False) as inbox:
        receipt = inbox.receive(Stripe([STRIPE_SECRET]), headers, body, at=NOW)
        forged = inbox.receive(Stripe([STRIPE_SECRET]), forged_headers, body, at=NOW)
    assert receipt.status is DeliveryStatus.FAILED
    assert forged.status is DeliveryStatus.REJECTED

    found = by_name(spans)
    callback, refused = found["govkit.payment.callback"]
    [process] = found["govkit.payment.process"]
    assert callback.attributes is not None
    assert refused.attributes is not None
    assert process.attributes is not None
    assert callback.attributes["govkit.provider"] == "stripe"
    assert callback.attributes["govkit.outcome"] == "error"
    assert callback.attributes["govkit.code"] == "payment.handler_failed"
    assert callback.status.status_code is StatusCode.ERROR
    assert process.parent is not None
    assert process.parent.span_id == callback.context.span_id  # the run inside its callback
    assert process.attributes["govkit.status"] == "failed"
    assert refused.attributes["govkit.outcome"] == "invalid"
    assert refused.attributes["govkit.code"] == forged.code
    counted = {p.attributes["govkit.code"] for p in points(reader, "govkit.operations")}
    assert counted == {"payment.handler_failed", forged.code}


def test_configure_without_arguments_turns_opentelemetry_off(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader],
) -> None:
    spans, _ = otel
    observability.configure()
    issuer, verifier, _ = tokens()
    verifier.verify(issuer.issue("p", SERVICE, AssuranceLevel.HIGH, timedelta(minutes=5)))
    assert spans.get_finished_spans() == ()


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_without_configure_opentelemetry_is_never_imported() -> None:
    done = run_python(
        """
        import logging, sys
        from datetime import timedelta
        logging.basicConfig(level=logging.DEBUG)
        from govkit import audit, certificates, esign, identity, observability, payments
        from govkit.identity import AssuranceLevel, TokenIssuer, TokenVerifier
        from govkit.keys import KeyRing, SigningKey
        ring = KeyRing(SigningKey.generate("ES256"))
        token = TokenIssuer(ring, issuer="https://i").issue(
            "p", "https://s", AssuranceLevel.HIGH, timedelta(minutes=1))
        TokenVerifier(ring, issuer="https://i", audience="https://s").verify(token)
        print(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "token.verify ok in" in done.stderr


def test_without_opentelemetry_installed_govkit_works_and_configure_says_what_to_install() -> None:
    done = run_python(
        """
        import logging, sys
        from datetime import timedelta
        sys.modules["opentelemetry"] = None  # as if govkit[otel] were not installed
        logging.basicConfig(level=logging.INFO)
        from govkit import observability
        from govkit.errors import ConfigurationError
        from govkit.identity import AssuranceLevel, TokenIssuer, TokenVerifier
        from govkit.keys import KeyRing, SigningKey
        ring = KeyRing(SigningKey.generate("ES256"))
        token = TokenIssuer(ring, issuer="https://i").issue(
            "p", "https://s", AssuranceLevel.HIGH, timedelta(minutes=1))
        TokenVerifier(ring, issuer="https://i", audience="https://s").verify(token)
        try:
            observability.configure(tracer_provider=object())
        except ConfigurationError as exc:
            print(exc.code, exc.message)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "config.invalid OpenTelemetry is not installed: pip install govkit[otel]"
    )
    assert "token.verify ok in" in done.stderr


def test_configure_refuses_a_tracer_provider_without_the_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)
    with pytest.raises(ConfigurationError, match="govkit\\[otel\\]"):
        observability.configure(tracer_provider=TracerProvider())
    assert observability._otel is None


def test_certificate_issue_and_verify_log_the_agency_and_key_id(records: Records) -> None:
    registry = LicenceRegistry.default()
    anchor, key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    agency = Agency("示例市市场监督管理局", "114400000069445123")
    trust = TrustList(
        (TrustedIssuer(agency, (TrustedKey.for_key(key.verifying_key, registry.names()),)),),
        1,
        NOW,
        NOW + timedelta(days=30),
    )
    status = StatusList(1024, list_id="obs")
    issuer = CertificateIssuer(key, agency=agency, status=status, clock=FixedClock(NOW))
    licences = [
        issuer.issue(
            "business-licence",
            holder=Holder(f"p-{n:016x}", "pseudonym"),
            fields=BUSINESS,
            valid_from=NOW.date(),
            valid_until=NOW.date() + timedelta(days=365),
        )
        for n in range(2)
    ]
    issuer.revoke(licences[1])
    signed = sign_status_list(
        status, key, issued_at=NOW, expires_at=NOW + timedelta(days=1), sequence=1
    )
    verifier = CertificateVerifier(
        load_trust_list(sign_trust_list(trust, anchor), [anchor.verifying_key], at=NOW),
        status=load_status_list(signed, [key.verifying_key], at=NOW),
        clock=FixedClock(NOW + timedelta(hours=1)),
    )
    verifier.verify(licences[0].qr_payload)
    with pytest.raises(CertificateRevoked):
        verifier.verify(licences[1].qr_payload)

    issued = records.of("certificate.issue")
    assert len(issued) == 2
    ok, revoked = records.of("certificate.verify")
    for record in [*issued, ok]:
        assert record.name == "govkit.certificates"
        assert record.issuer == "114400000069445123"  # type: ignore[attr-defined]
        assert record.kid == issuer.kid.hex()  # type: ignore[attr-defined]
    assert (revoked.outcome, revoked.code) == ("invalid", "certificate.revoked")  # type: ignore[attr-defined]
    assert not hasattr(revoked, "kid")
