"""Properties of CertificateIssuer and CertificateVerifier, driven by hypothesis.

* Any valid driving-licence data survives issue -> verify unchanged.
* The verifier fed anything (text, bytes, pictures' magic numbers followed by junk,
  well-framed ``GK1:`` base45, a valid payload with one character changed, dropped or
  added) never raises from :meth:`~CertificateVerifier.inspect` (but a
  :class:`~govkit.errors.QrUnreadable` for a picture with no readable QR code: there
  is nothing to report on) and raises nothing but a
  :class:`~govkit.errors.GovkitError` from :meth:`~CertificateVerifier.verify`.
* Whatever inspect accepts carries exactly the original signed bytes (deflate is
  malleable: a changed character can leave what the stream inflates to unchanged).

Only the public API is used; QR pictures are not made here (too slow for many examples).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateReport,
    CertificateVerifier,
    Holder,
    IssuedCertificate,
    LicenceRegistry,
    Status,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifiedCertificate,
    codec,
    load_status_list,
    sign_status_list,
)
from govkit.errors import GovkitError, QrUnreadable
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
CLOCK = FixedClock(T0)
KEY = SigningKey.generate("ES256")
AGENCY = Agency("广东省公安厅交通管理局", "114400000069445123")
STATUSES = StatusList(131072, list_id="gd-traffic-2026")
ISSUER = CertificateIssuer(KEY, agency=AGENCY, clock=CLOCK, status=STATUSES)
TRUST = TrustList(
    (TrustedIssuer(AGENCY, (TrustedKey.for_key(KEY.verifying_key, {"driving-licence"}),)),),
    1,
    T0 - timedelta(days=1),
    T0 + timedelta(days=30),
)
#: Published once: licences issued later get indexes whose entries are still VALID.
STATUS = load_status_list(
    sign_status_list(
        STATUSES,
        KEY,
        issued_at=T0 - timedelta(hours=1),
        expires_at=T0 + timedelta(days=1),
        sequence=1,
    ),
    [KEY.verifying_key],
    at=T0,
)
VERIFIER = CertificateVerifier(TRUST, status=STATUS, clock=CLOCK)
DRIVING = LicenceRegistry.default().get("driving-licence")
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
#: Surnames and given-name characters, and the middle dot of transliterated names.
CJK = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗三丰明华红伟芳娜静敏强磊军洋艳勇杰娟涛超"

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=150, deadline=None)

names = st.builds(
    lambda first, rest, middle: first + (middle if middle and rest else "") + rest,
    st.sampled_from(CJK),
    st.text(st.sampled_from(CJK), max_size=15),
    st.sampled_from(["", "·"]),
)
driving_fields = st.fixed_dictionaries(
    {
        "name": names,
        "licence_class": st.sampled_from(DRIVING.field_spec("licence_class").choices),
        "first_issue_date": st.dates(date(1950, 1, 1), TODAY).map(date.isoformat),
        "file_number": st.text(st.sampled_from("0123456789"), min_size=1, max_size=12),
    }
)
holders = st.from_regex(r"[A-Za-z0-9_-]{8,40}", fullmatch=True).map(
    lambda ref: Holder(ref, "pseudonym")
)


def _issue_sample() -> IssuedCertificate:
    return ISSUER.issue(
        "driving-licence",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields={
            "name": "张三",
            "licence_class": "C1",
            "first_issue_date": "2015-06-01",
            "file_number": "440100123456",
        },
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )


ISSUED = _issue_sample()
PAYLOAD = ISSUED.qr_payload
SIGNED = codec.decode(PAYLOAD)


@st.composite
def damaged_payloads(draw: st.DrawFn) -> str:
    """The valid payload with one character changed, dropped or added."""
    i = draw(st.integers(0, len(PAYLOAD) - 1))
    char = draw(st.sampled_from(B45) | st.characters())
    how = draw(st.sampled_from(["change", "drop", "add"]))
    if how == "change":
        return PAYLOAD[:i] + char + PAYLOAD[i + 1 :]
    if how == "drop":
        return PAYLOAD[:i] + PAYLOAD[i + 1 :]
    return PAYLOAD[:i] + char + PAYLOAD[i:]


anything = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=300),
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
    st.binary(max_size=300).map(lambda b: b"\xff\xd8\xff" + b),
    st.text(st.sampled_from(B45), max_size=400).map(lambda t: "GK1:" + t),
    st.text(st.sampled_from(B45), max_size=400).map(lambda t: ("GK1:" + t).encode("ascii")),
    damaged_payloads(),
)


@SLOW
@given(
    fields=driving_fields,
    holder=holders,
    days_before=st.integers(0, 3000),
    years=st.integers(1, 12),
)
def test_any_valid_driving_licence_survives_issue_and_verify(
    fields: dict[str, Any], holder: Holder, days_before: int, years: int
) -> None:
    valid_from = TODAY - timedelta(days=days_before)
    valid_until = date(TODAY.year + years, 1, 1)
    issued = ISSUER.issue(
        "driving-licence",
        holder=holder,
        fields=fields,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    verified = VERIFIER.verify(issued.qr_payload)
    assert dict(verified.licence.fields) == fields
    assert verified.licence == issued.licence
    assert verified.licence.holder == holder
    assert (verified.licence.valid_from, verified.licence.valid_until) == (valid_from, valid_until)
    assert verified.issuer.agency == AGENCY
    assert verified.status is Status.VALID


def test_the_undamaged_payload_verifies() -> None:
    # The control for the properties below: damage, not the payload, is what they feed.
    verified = VERIFIER.verify(PAYLOAD)
    assert verified.issuer.agency == AGENCY
    assert verified.licence == ISSUED.licence


@FAST
@given(data=anything)
def test_inspect_always_returns_a_report(data: str | bytes) -> None:
    try:
        report = VERIFIER.inspect(data)
    except QrUnreadable:  # a picture with no readable QR code: nothing to report on
        assert isinstance(data, bytes)
        assert data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
        return
    assert isinstance(report, CertificateReport)
    assert report.checks[-1].name == "trust_freshness"
    assert report.to_dict()["valid"] is report.ok
    if not report.ok:
        assert isinstance(report.code, str)
        assert report.certificate is None
        return
    # Accepted: only the original signed bytes, arrived by surrounding whitespace or
    # by a deflate bit that does not change what the stream inflates to.
    assert report.certificate is not None
    assert report.certificate.licence == ISSUED.licence
    text = data.decode("ascii") if isinstance(data, bytes) else data
    accepted = codec.decode(text.strip())
    assert (accepted.payload, accepted.signature) == (SIGNED.payload, SIGNED.signature)


@FAST
@given(data=anything)
def test_verify_returns_a_certificate_or_raises_a_govkit_error(data: str | bytes) -> None:
    outcome: object
    try:
        outcome = VERIFIER.verify(data)
    except GovkitError as exc:  # any other exception fails the test
        outcome = exc
    assert isinstance(outcome, (VerifiedCertificate, GovkitError))
    if isinstance(outcome, GovkitError):
        assert isinstance(outcome.code, str)
