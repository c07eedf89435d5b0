"""Faults of the licence verifier that the broader verifier tests did not pin down (issue #18).

Each test here was written against a mutant of ``govkit/certificates/_verifier.py`` that
the other verifier tests let through: the exact wording and context of each refusal as
``inspect`` reports it, the NumericDate bounds at 1970 and 9999, UTC times in the
verified certificate, the officer's summary, the audit and log fields, stale lists that
the verifier was told to accept (also for presentations and through a
:class:`TrustListSource`), and the asyncio entry points with every argument they pass on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest

from govkit._encoding import b45encode
from govkit.certificates import (
    LICENCE_CLAIM,
    Agency,
    CertificateIssuer,
    CertificateReport,
    CertificateVerifier,
    Holder,
    HolderDevice,
    IssuedCertificate,
    SelectiveCredential,
    SignedStatusList,
    Status,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    TrustListSource,
    codec,
    load_status_list,
    sign_status_list,
    sign_trust_list,
)
from govkit.certificates._identifier import licence_id
from govkit.certificates._model import FieldSpec, LicenceRegistry, LicenceType
from govkit.errors import (
    CertificateExpired,
    CertificateFormatError,
    CertificateKeyUnknown,
    CertificateRevoked,
    CertificateStatusStale,
    CertificateSuspended,
    CertificateVerificationError,
    ConfigurationError,
    HolderBindingInvalid,
    IssuerNotAllowed,
    PresentationIncomplete,
    PresentationReplayed,
    PresentationStale,
    TrustListStale,
)
from govkit.keys import SigningKey
from govkit.stores import MemoryReplayStore
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
POLICE = Agency("广东省公安厅交通管理局", "114400000069445123")
MARKET = Agency("广东省市场监督管理局", "11440000725058373U")
HOLDER = Holder("p-3f9a1c07d2", "pseudonym")
DRIVING = {
    "name": "张三",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}
MAX_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z
ANCHOR = SigningKey.generate("ES256")
STATUS_SKIPPED_LINE = (
    "撤销状态未检查 Revocation was NOT checked (unsafe_skip_status): "
    "a revoked or suspended licence would pass."
)


@dataclass
class Audit:
    """Records the events a verifier appends (the verifier only calls ``append``)."""

    events: list[Any] = field(default_factory=list)

    def append(self, event: Any) -> None:
        self.events.append(event)


class World:
    """The traffic police, their key, status list and a trust list, at T0."""

    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.key = SigningKey.generate("ES256")
        self.statuses = StatusList(64, list_id="gd-licences-2026")
        self.issuer = CertificateIssuer(
            self.key, agency=POLICE, clock=self.clock, status=self.statuses
        )
        self.trusted = TrustedIssuer(
            POLICE, (TrustedKey.for_key(self.key.verifying_key, {"driving-licence"}),)
        )
        self.trust = self.trust_list(T0 + timedelta(days=7300))
        self.device = HolderDevice(SigningKey.generate("EdDSA"), clock=self.clock)

    def trust_list(self, expires_at: datetime, *more: TrustedIssuer) -> TrustList:
        return TrustList((self.trusted, *more), 1, T0 - timedelta(days=1), expires_at)

    def issue(self, issuer: CertificateIssuer | None = None) -> IssuedCertificate:
        return (issuer or self.issuer).issue(
            "driving-licence",
            holder=HOLDER,
            fields=DRIVING,
            valid_from=date(2021, 6, 1),
            valid_until=date(2031, 6, 1),
        )

    def issue_selective(self) -> SelectiveCredential:
        return self.issuer.issue_selective(
            "driving-licence",
            device_key=self.device.verifying_key,
            holder=HOLDER,
            fields=DRIVING,
            valid_from=date(2021, 6, 1),
            valid_until=date(2031, 6, 1),
        )

    def publish(
        self,
        key: SigningKey | None = None,
        statuses: StatusList | None = None,
        *,
        valid_for: timedelta = timedelta(days=1),
    ) -> SignedStatusList:
        signer = key or self.key
        data = sign_status_list(
            statuses or self.statuses,
            signer,
            issued_at=T0,
            expires_at=T0 + valid_for,
            sequence=1,
        )
        return load_status_list(data, [signer.verifying_key], at=T0)

    def verifier(self, **options: Any) -> CertificateVerifier:
        options.setdefault("clock", self.clock)
        if "status" not in options and not options.get("unsafe_skip_status"):
            options["status"] = self.publish(valid_for=timedelta(days=3650))
        return CertificateVerifier(options.pop("trust", self.trust), **options)

    def resigned(
        self, licence: Callable[[dict[str, Any]], Any] | None = None, **claims: Any
    ) -> str:
        """A genuine licence's claims with ``claims`` changed (``None`` drops one),
        signed again by the police's key: only the verifier's own checks can refuse it."""
        message = codec.decode(self.issue().qr_payload)
        changed: dict[Any, Any] = dict(message.claims)
        for label, value in claims.items():
            number = {"iat": codec.IAT, "nbf": codec.NBF, "exp": codec.EXP}.get(label)
            key = number if number is not None else int(label.removeprefix("claim_"))
            if value is None:
                changed.pop(key, None)
            else:
                changed[key] = value
        if licence is not None:
            changed[LICENCE_CLAIM] = licence(dict(changed[LICENCE_CLAIM]))
        return codec.encode(changed, self.key, kid=codec.cose_kid(self.key.verifying_key))


@pytest.fixture
def world() -> World:
    return World()


def failed_check(report: CertificateReport) -> tuple[str, bool | None, str | None, str]:
    failed = [c for c in report.checks if c.ok is False]
    assert failed, report.checks
    first = failed[0]
    return first.name, first.ok, first.code, first.detail


# --- a genuine licence: every check says what it checked ---------------------------------


def test_a_genuine_licence_report_says_exactly_what_was_checked(world: World) -> None:
    issued = world.issue()
    report = world.verifier().inspect(issued.qr_payload)
    kid = codec.cose_kid(world.key.verifying_key).hex()
    assert [(c.name, c.ok, c.code, c.detail) for c in report.checks] == [
        ("input", True, None, "payload text"),
        ("format", True, None, "a GK1: licence payload"),
        ("trust", True, None, "trust list #1"),
        ("signature", True, None, f"signed by {POLICE.name} (kid {kid})"),
        ("issuer", True, None, f"{POLICE.name} may issue driving-licence"),
        ("validity", True, None, "valid until 2031-06-01T15:59:59+00:00"),
        (
            "status",
            True,
            None,
            "valid: the issuer's status list marks it neither revoked nor suspended",
        ),
        ("trust_freshness", True, None, "trust list #1 is current"),
    ]
    picture = world.verifier().inspect(issued.qr_png())
    assert (picture.kind, picture.checks[0].detail) == ("image", "QR picture decoded")


def test_the_verified_times_are_the_claims_in_utc(world: World) -> None:
    issued = world.issue()
    claims = codec.decode(issued.qr_payload).claims
    verified = world.verifier().verify(issued.qr_payload)
    assert verified.issued_at == T0
    assert verified.not_before == datetime.fromtimestamp(claims[codec.NBF], UTC)
    assert verified.not_before == datetime(2021, 5, 31, 16, tzinfo=UTC)  # 00:00 in Beijing
    assert verified.expires_at == datetime(2031, 6, 1, 15, 59, 59, tzinfo=UTC)
    assert {verified.issued_at.tzinfo, verified.not_before.tzinfo, verified.expires_at.tzinfo} == {
        UTC
    }
    assert (verified.checked_at, verified.trust_sequence, verified.status) == (T0, 1, Status.VALID)


def test_the_report_json_shows_the_validity_window_and_masked_data(world: World) -> None:
    issued = world.issue()
    certificate = world.verifier().inspect(issued.qr_payload).to_dict()["certificate"]
    assert certificate == {
        "id": issued.id,
        "type": "driving-licence",
        "issuer": {"name": POLICE.name, "uscc": POLICE.uscc},
        "holder": "p-3f9a1c07d2",
        "fields": {
            "name": "张*",
            "licence_class": "C1",
            "first_issue_date": "2015-06-01",
            "file_number": "4***********",
        },
        "valid_from": "2021-05-31T16:00:00+00:00",
        "valid_until": "2031-06-01T15:59:59+00:00",
        "status": "valid",
    }


def test_the_officer_summary_labels_every_field_and_masks_personal_data(world: World) -> None:
    issued = world.issue()
    lines = (
        f"机动车驾驶证 Motor vehicle driving licence  {issued.id}",
        f"颁发机构 Issuer: {POLICE.name} ({POLICE.uscc})",
        "持证人 Holder: p-3f9a1c07d2",
        "姓名 Name: 张*",
        "准驾车型 Licence class: C1",
        "初次领证日期 Date of first issue: 2015-06-01",
        "档案编号 File number: 4***********",
        "有效期 Valid: 2021-06-01 – 2031-06-01",
    )
    assert world.verifier().inspect(issued.qr_payload).summary() == lines
    skipped = world.verifier(unsafe_skip_status=True).inspect(issued.qr_payload)
    assert skipped.summary() == (*lines, STATUS_SKIPPED_LINE)
    refused = world.verifier().inspect(issued.qr_payload, at=T0 + timedelta(days=3650))
    assert refused.summary() == ()


# --- the NumericDate bounds: 1970 to 9999 -------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": 0},
        {"nbf": 0},
        {"iat": 0, "nbf": 0},
        {"exp": MAX_NUMERIC_DATE},
    ],
    ids=["iat-1970", "nbf-1970", "both-1970", "exp-9999"],
)
def test_numeric_dates_at_the_bounds_pass_the_format_check(
    world: World, claims: dict[str, int]
) -> None:
    verified = world.verifier().verify(world.resigned(**claims))
    if "exp" in claims:
        assert verified.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    else:
        assert datetime(1970, 1, 1, tzinfo=UTC) in (verified.issued_at, verified.not_before)


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": -1},
        {"nbf": -1},
        {"exp": -1},
        {"iat": MAX_NUMERIC_DATE + 1},
        {"nbf": MAX_NUMERIC_DATE + 1},
        {"exp": MAX_NUMERIC_DATE + 1},
        {"iat": None},
        {"exp": None},
        {"nbf": True},
        {"exp": 1938095999.0},
    ],
    ids=str,
)
def test_numeric_dates_outside_1970_to_9999_are_a_format_error(
    world: World, claims: dict[str, Any]
) -> None:
    text = world.resigned(**claims)
    with pytest.raises(CertificateFormatError) as caught:
        world.verifier().verify(text)
    assert caught.value.message == "iat, nbf and exp must be integers from 1970 to 9999"
    assert dict(caught.value.context) == {"reason": "cwt"}
    assert failed_check(world.verifier().inspect(text)) == (
        "format",
        False,
        "certificate.format",
        "iat, nbf and exp must be integers from 1970 to 9999 (reason=cwt)",
    )


def test_a_payload_without_a_licence_is_a_format_error(world: World) -> None:
    text = world.resigned(**{f"claim_{LICENCE_CLAIM}": None})
    assert failed_check(world.verifier().inspect(text)) == (
        "format",
        False,
        "certificate.format",
        "the payload holds no govkit licence (reason=claims)",
    )


# --- keys -----------------------------------------------------------------------------------


def test_a_licence_without_a_key_id_names_the_fault(world: World) -> None:
    message = codec.decode(world.issue().qr_payload)
    protected = cbor2.dumps({1: -7}, canonical=True)
    signature = world.key.sign(codec._sig_structure(protected, message.payload))
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, message.payload, signature]))
    text = "GK1:" + b45encode(cose)
    with pytest.raises(CertificateKeyUnknown) as caught:
        world.verifier().verify(text)
    assert (caught.value.message, dict(caught.value.context)) == (
        "the licence names no key id",
        {},
    )


def test_a_licence_by_an_unknown_key_names_its_key_id(world: World) -> None:
    stranger = SigningKey.generate("ES256")
    issuer = CertificateIssuer(stranger, agency=POLICE, clock=world.clock, status=world.statuses)
    kid = codec.cose_kid(stranger.verifying_key).hex()
    assert failed_check(world.verifier().inspect(world.issue(issuer).qr_payload)) == (
        "signature",
        False,
        "certificate.unknown_key",
        f"no trusted key has this key id (kid={kid})",
    )


# --- revocation: each way it cannot be checked or fails --------------------------------------


def test_no_status_list_given_names_the_fault(world: World) -> None:
    report = CertificateVerifier(world.trust, clock=world.clock).inspect(world.issue().qr_payload)
    assert failed_check(report) == (
        "status",
        False,
        "certificate.status_unknown",
        "no status list was given, so revocation cannot be checked (reason=no_list)",
    )


def test_the_list_of_another_issuer_names_the_fault(world: World) -> None:
    other = SigningKey.generate("ES256")
    theirs = world.publish(other, StatusList(64, list_id="market-2026"))
    report = world.verifier(status=theirs).inspect(world.issue().qr_payload)
    assert failed_check(report) == (
        "status",
        False,
        "certificate.status_unknown",
        "there is no status list for the licence's issuer: the list given is not signed "
        "by a current key of that issuer (reason=other_issuer)",
    )
    third = SigningKey.generate("ES256")
    lists = [theirs, world.publish(third, StatusList(64, list_id="third-2026"))]
    several = world.verifier(status=lists).inspect(world.issue().qr_payload)
    assert failed_check(several) == (
        "status",
        False,
        "certificate.status_unknown",
        "there is no status list for the licence's issuer: none of the lists given is "
        "signed by a current key of that issuer (reason=no_list_for_issuer)",
    )


def test_a_licence_without_a_status_reference_names_the_fault(world: World) -> None:
    text = world.resigned(licence=lambda claim: {k: v for k, v in claim.items() if k != "s"})
    report = world.verifier().inspect(text)
    assert failed_check(report) == (
        "status",
        False,
        "certificate.status_unknown",
        "the licence carries no status reference, so its revocation cannot be checked "
        "(reason=no_index)",
    )


def test_a_stale_status_list_names_its_expiry_and_id(world: World) -> None:
    stale = world.publish(valid_for=timedelta(hours=1))
    later = T0 + timedelta(hours=2)
    with pytest.raises(CertificateStatusStale) as caught:
        world.verifier(status=stale).verify(world.issue().qr_payload, at=later)
    assert caught.value.message == "the issuer's status list is past its expiry"
    assert dict(caught.value.context) == {
        "expired": (T0 + timedelta(hours=1)).isoformat(),
        "list_id": "gd-licences-2026",
    }


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (Status.REVOKED, CertificateRevoked, "the licence is revoked"),
        (Status.SUSPENDED, CertificateSuspended, "the licence is suspended"),
    ],
)
def test_a_revoked_or_suspended_licence_says_which(
    world: World, status: Status, error: type[CertificateVerificationError], message: str
) -> None:
    issued = world.issue()
    world.statuses.set(issued.licence.status_index or 0, status)
    with pytest.raises(error) as caught:
        world.verifier(status=world.publish()).verify(issued.qr_payload)
    assert (caught.value.message, dict(caught.value.context)) == (message, {})


# --- stale trust lists ----------------------------------------------------------------------


def test_a_stale_trust_list_names_its_expiry(world: World) -> None:
    trust = world.trust_list(T0 - timedelta(hours=1))
    with pytest.raises(TrustListStale) as caught:
        world.verifier(trust=trust).verify(world.issue().qr_payload)
    assert caught.value.message == "the trust list is past its expiry"
    assert dict(caught.value.context) == {"expired": (T0 - timedelta(hours=1)).isoformat()}


def write_trust(world: World, path: Path, expires_at: datetime) -> TrustListSource:
    path.write_bytes(sign_trust_list(world.trust_list(expires_at), ANCHOR))
    return TrustListSource(path, [ANCHOR.verifying_key], clock=world.clock)


def test_a_stale_trust_list_source_is_accepted_when_allowed(world: World, tmp_path: Path) -> None:
    source = write_trust(world, tmp_path / "trust.json", T0 - timedelta(hours=1))
    payload = world.issue().qr_payload
    verified = world.verifier(trust=source, allow_stale_trust=True).verify(payload)
    assert verified.trust_sequence == 1
    with pytest.raises(TrustListStale) as caught:
        world.verifier(trust=source).verify(payload)
    assert caught.value.message == "the trust list is past its expiry"


def test_a_trust_list_source_is_judged_at_the_verification_time(
    world: World, tmp_path: Path
) -> None:
    # fresh by the source's clock (T0), more than max_stale (7 days) past at the
    # verification time: the verification time decides, even when stale is allowed
    source = write_trust(world, tmp_path / "trust.json", T0 + timedelta(days=1))
    later = T0 + timedelta(days=9)
    with pytest.raises(TrustListStale) as caught:
        world.verifier(trust=source, allow_stale_trust=True).verify(
            world.issue().qr_payload, at=later
        )
    assert caught.value.context["reason"] == "max_stale"


# --- audit and log fields -------------------------------------------------------------------


def test_inspect_audits_the_licence_id_or_unknown_and_the_outcome(world: World) -> None:
    audit = Audit()
    issued = world.issue()
    verifier = world.verifier(audit=audit)
    verifier.inspect(issued.qr_payload)
    verifier.inspect(issued.qr_payload, at=T0 + timedelta(days=3650))
    assert [(e.resource_id, e.outcome.value, e.details["code"]) for e in audit.events] == [
        (issued.id, "success", None),
        ("unknown", "failure", "certificate.expired"),
    ]


def test_verify_and_inspect_log_the_issuer_and_the_key_id(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    issued = world.issue()
    shown = world.device.present(world.issue_selective(), ["name"])
    verifier = world.verifier()
    kid = codec.cose_kid(world.key.verifying_key).hex()
    with caplog.at_level(logging.INFO, logger="govkit.certificates"):
        verifier.verify(issued.qr_payload)
        verifier.inspect(issued.qr_payload)
        world.verifier().verify_presentation(shown.text)
        world.verifier().inspect_presentation(shown.text)
        verifier.inspect(issued.qr_payload, at=T0 + timedelta(days=3650))
    records = [r for r in caplog.records if r.name == "govkit.certificates"]
    fields = [
        (r.kind, getattr(r, "issuer", None), getattr(r, "kid", None))  # type: ignore[attr-defined]
        for r in records
    ]
    assert fields == [
        ("certificate.verify", POLICE.uscc, kid),
        ("certificate.inspect", POLICE.uscc, kid),
        ("presentation.verify", POLICE.uscc, kid),
        ("presentation.inspect", POLICE.uscc, kid),
        ("certificate.inspect", None, None),
    ]


# --- presentations with stale lists the verifier accepts ------------------------------------


def test_a_presentation_under_a_stale_trust_list_passes_when_allowed(world: World) -> None:
    trust = world.trust_list(T0 - timedelta(hours=1))
    shown = world.device.present(world.issue_selective(), ["name"])
    result = world.verifier(trust=trust, allow_stale_trust=True).verify_presentation(shown.text)
    assert dict(result.disclosed) == {"name": "张三"}
    with pytest.raises(TrustListStale):
        world.verifier(trust=trust).verify_presentation(shown.text)


def test_a_presentation_under_a_stale_status_list_passes_when_allowed(world: World) -> None:
    shown = world.device.present(world.issue_selective(), ["name"])
    stale = world.publish(valid_for=timedelta(seconds=1))
    at = T0 + timedelta(seconds=30)
    result = world.verifier(status=stale, allow_stale_trust=True).verify_presentation(
        shown.text, at=at
    )
    assert dict(result.disclosed) == {"name": "张三"}
    with pytest.raises(CertificateStatusStale):
        world.verifier(status=stale).verify_presentation(shown.text, at=at)


# --- asyncio entry points pass every argument on -------------------------------------------


def test_averify_and_ainspect_pass_the_time_on(world: World) -> None:
    payload = world.issue().qr_payload
    verifier = world.verifier()
    late = T0 + timedelta(days=3650)
    with pytest.raises(CertificateExpired):
        asyncio.run(verifier.averify(payload, at=late))
    report = asyncio.run(verifier.ainspect(payload, at=late))
    assert (report.ok, report.code) == (False, "certificate.expired")
    assert asyncio.run(verifier.ainspect(payload)).ok is True


def test_averify_presentation_passes_profile_nonce_window_and_time_on(world: World) -> None:
    nonce = b"challenge-1"
    shown = world.device.present(world.issue_selective(), ["name"], nonce=nonce)
    result = asyncio.run(world.verifier().averify_presentation(shown.text, nonce=nonce))
    assert result.nonce_bound is True
    with pytest.raises(HolderBindingInvalid):
        asyncio.run(world.verifier().averify_presentation(shown.text))
    with pytest.raises(PresentationIncomplete):
        asyncio.run(
            world.verifier().averify_presentation(shown.text, profile="traffic-police", nonce=nonce)
        )
    timed = world.device.present(world.issue_selective(), ["name"])
    later = T0 + timedelta(seconds=90)
    passed = asyncio.run(
        world.verifier().averify_presentation(timed.text, window=timedelta(seconds=120), at=later)
    )
    assert passed.nonce_bound is False
    with pytest.raises(PresentationStale):
        asyncio.run(world.verifier().averify_presentation(timed.text, at=later))


def test_ainspect_presentation_passes_profile_nonce_window_and_time_on(world: World) -> None:
    nonce = b"challenge-2"
    shown = world.device.present(world.issue_selective(), ["name"], nonce=nonce)
    assert asyncio.run(world.verifier().ainspect_presentation(shown.text, nonce=nonce)).ok
    unbound = asyncio.run(world.verifier().ainspect_presentation(shown.text))
    assert unbound.code == "presentation.holder_binding"
    profiled = asyncio.run(
        world.verifier().ainspect_presentation(shown.text, profile="traffic-police", nonce=nonce)
    )
    assert profiled.code == "presentation.missing_disclosure"
    timed = world.device.present(world.issue_selective(), ["name"])
    later = T0 + timedelta(seconds=90)
    window = timedelta(seconds=120)
    assert asyncio.run(
        world.verifier().ainspect_presentation(timed.text, window=window, at=later)
    ).ok
    stale = asyncio.run(world.verifier().ainspect_presentation(timed.text, at=later))
    assert stale.code == "presentation.stale"


# --- licence data the issuer's key signed, refused by the verifier -------------------------


def test_malformed_licence_data_names_the_field_and_the_fault(world: World) -> None:
    def float_class(claim: dict[str, Any]) -> dict[str, Any]:
        values = list(claim["f"])
        values[1] = 1.5  # licence_class: text only
        return {**claim, "f": values}

    text = world.resigned(licence=float_class)
    with pytest.raises(CertificateFormatError) as caught:
        world.verifier().verify(text)
    assert caught.value.message == (
        "the licence data is malformed: field values are text, int or bool"
    )
    assert dict(caught.value.context) == {
        "reason": "licence",
        "detail": "certificate.data_invalid",
        "field": "licence_class",
    }


def test_a_licence_naming_another_agency_than_the_keys_is_refused(world: World) -> None:
    def other_agency(claim: dict[str, Any]) -> dict[str, Any]:
        type_code, _, serial, version, _ = claim["i"].split(".")
        full = licence_id(type_code, MARKET.uscc, serial, int(version))
        return {**claim, "i": full.split(".", 5)[5]}

    text = world.resigned(licence=other_agency)
    with pytest.raises(IssuerNotAllowed) as caught:
        world.verifier().verify(text)
    assert caught.value.message == "the licence names another issuer than the key's agency"
    assert dict(caught.value.context) == {"reason": "agency"}


# --- input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GK1:\xff\xfe", "the input is neither a payload nor a QR picture"),
        (12345, "the input must be text or picture bytes"),
    ],
)
def test_input_that_is_neither_text_nor_a_picture_is_refused(
    world: World, data: Any, message: str
) -> None:
    with pytest.raises(CertificateFormatError) as caught:
        world.verifier().verify(data)
    assert (caught.value.message, dict(caught.value.context)) == (message, {"reason": "input"})


def test_payload_bytes_are_read_as_ascii_text(world: World) -> None:
    issued = world.issue()
    assert (
        world.verifier().verify(b"  " + issued.qr_payload.encode() + b"\n").licence.id == issued.id
    )


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"trust": "trust.json"}, "trust must be a TrustList or a TrustListSource"),
        (
            {"status": "status.json"},
            "status must be a SignedStatusList, a StatusListSource or an iterable of them",
        ),
        (
            {"status": {"gd": None}},
            "status must be a SignedStatusList, a StatusListSource or an iterable of them",
        ),
        (
            {"status": 3},
            "status must be a SignedStatusList, a StatusListSource or an iterable of them",
        ),
        ({"replay_store": {}}, "replay_store must implement govkit.stores.ReplayStore"),
    ],
)
def test_a_verifier_that_cannot_work_is_a_configuration_error(
    world: World, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        world.verifier(**options)
    assert caught.value.message == message


def test_a_status_list_and_skipping_status_together_is_a_configuration_error(
    world: World,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        CertificateVerifier(world.trust, status=world.publish(), unsafe_skip_status=True)
    assert caught.value.message == "give a status list or unsafe_skip_status=True, not both"


def test_skipping_status_logs_a_warning(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="govkit.certificates"):
        world.verifier(unsafe_skip_status=True)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            "govkit.certificates",
            logging.WARNING,
            "CertificateVerifier(unsafe_skip_status=True): revocation is NOT checked; "
            "revoked and suspended licences pass",
        )
    ]


def test_a_shared_replay_store_catches_a_presentation_shown_to_another_verifier(
    world: World,
) -> None:
    store = MemoryReplayStore()
    shown = world.device.present(world.issue_selective(), ["name"])
    world.verifier(replay_store=store).verify_presentation(shown.text)
    with pytest.raises(PresentationReplayed):
        world.verifier(replay_store=store).verify_presentation(shown.text)
    assert world.verifier().verify_presentation(shown.text).disclosed["name"] == "张三"


def test_the_audit_event_of_a_verification_names_the_verifier_not_a_person(
    world: World,
) -> None:
    audit = Audit()
    issued = world.issue()
    world.verifier(audit=audit).verify(issued.qr_payload)
    [event] = audit.events
    assert (
        event.occurred_at,
        event.actor_id,
        event.actor_type,
        event.action,
        event.resource_type,
        event.resource_id,
        event.personal,
    ) == (T0, "verifier", "service", "licence.verify", "licence", issued.id, frozenset())


def test_the_summary_of_a_type_the_standard_registry_lacks_shows_raw_names_and_dates(
    world: World,
) -> None:
    fishing = LicenceType(
        "fishing-licence",
        "捕捞许可证",
        "Fishing licence",
        "11100000000013338W950",
        "person",
        (FieldSpec("name", "姓名", "Name", "text", personal=True),),
    )
    registry = LicenceRegistry.default().with_type(fishing)
    issuer = CertificateIssuer(
        world.key, agency=POLICE, clock=world.clock, status=world.statuses, registry=registry
    )
    issued = issuer.issue(
        "fishing-licence",
        holder=HOLDER,
        fields={"name": "张三"},
        valid_from=datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
        valid_until=datetime(2027, 10, 31, 20, 0, tzinfo=UTC),
    )
    trusted = TrustedIssuer(
        POLICE, (TrustedKey.for_key(world.key.verifying_key, {"fishing-licence"}),)
    )
    trust = TrustList((trusted,), 1, T0 - timedelta(days=1), T0 + timedelta(days=30))
    verifier = CertificateVerifier(
        trust, registry=registry, status=world.publish(), clock=world.clock
    )
    assert verifier.inspect(issued.qr_payload).summary() == (
        f"fishing-licence  {issued.id}",
        f"颁发机构 Issuer: {POLICE.name} ({POLICE.uscc})",
        "持证人 Holder: p-3f9a1c07d2",
        "name: 张*",
        "有效期 Valid: 2026-11-01 – 2027-10-31",
    )


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"iat": MAX_NUMERIC_DATE}, "certificate.not_yet_valid"),
        ({"nbf": MAX_NUMERIC_DATE}, "certificate.not_yet_valid"),
        ({"exp": 0}, "certificate.expired"),
    ],
    ids=["iat-9999", "nbf-9999", "exp-1970"],
)
def test_numeric_dates_at_the_far_bounds_pass_the_format_check_and_fail_validity(
    world: World, claims: dict[str, int], code: str
) -> None:
    report = world.verifier().inspect(world.resigned(**claims))
    assert report.checks[1].name == "format"
    assert report.checks[1].ok is True
    assert failed_check(report)[:3] == ("validity", False, code)
