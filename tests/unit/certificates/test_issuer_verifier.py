"""Evidence for CertificateIssuer and CertificateVerifier: issue, verify, and every refusal.

Everything goes through the public API (issuer, verifier, trust and status lists, the
codec) and never looks inside the licence claims map, whose layout is not part of the
contract. Crafted payloads are built layer by layer from what the codec wrote: base45
(RFC 9285, a small independent implementation below), zlib, COSE_Sign1 (RFC 9052, via
cbor2) and the CWT claims (RFC 8392, only the registered ``exp`` claim is touched).

Each negative test is named after the fault or attack it covers and asserts the exact
error class and stable code from :meth:`CertificateVerifier.verify`, and that
:meth:`CertificateVerifier.inspect` reports the same code on the check that failed.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from PIL import Image

from govkit.audit import AuditLog, NoteSigner, Outcome, verify_log
from govkit.certificates import (
    LICENCE_CLAIM,
    Agency,
    CertificateIssuer,
    CertificateReport,
    CertificateVerifier,
    Holder,
    IssuedCertificate,
    IssueRequest,
    LicenceRegistry,
    SignedStatusList,
    Status,
    StatusList,
    StatusListSource,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifiedCertificate,
    codec,
    load_status_list,
    load_trust_list,
    sign_status_list,
    sign_trust_list,
)
from govkit.errors import (
    CertificateAlgorithmRejected,
    CertificateExpired,
    CertificateFormatError,
    CertificateKeyUnknown,
    CertificateNotYetValid,
    CertificateRevoked,
    CertificateSignatureInvalid,
    CertificateStatusStale,
    CertificateStatusUnknown,
    CertificateSuspended,
    CertificateTooLarge,
    CertificateVerificationError,
    ConfigurationError,
    IssuerNotAllowed,
    LicenceDataInvalid,
    QrNotFound,
    QrUnreadable,
    TrustListInvalid,
    TrustListStale,
    VerificationError,
)
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("ES256")
TRAFFIC_POLICE = Agency("广东省公安厅交通管理局", "114400000069445123")
PUBLIC_SECURITY = Agency("广东省公安厅", "11440000MB2C92317K")
MARKET_REGULATOR = Agency("广东省市场监督管理局", "11440000725058373U")
HOUSING_FUND = Agency("广东省住房公积金管理中心", "11440000006824377B")
HOLDER = Holder("p-3f9a1c07d2", "pseudonym")
ALL_TYPES = frozenset(LicenceRegistry.default().names())
#: The checks of a report, in order (trust_freshness is always last).
CHECK_ORDER = ("input", "format", "trust", "signature", "issuer", "validity", "status")
#: A valid resident ID number (GB 11643-1999 layout, ISO 7064 MOD 11-2 check character
#: ``X``); the example number long used in descriptions of the standard.
RAW_ID = "11010519491231002X"

DRIVING = {
    "name": "张三",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}


@dataclass(frozen=True)
class Sample:
    fields: dict[str, Any]
    valid_from: date
    valid_until: date
    holder: Holder = HOLDER


#: One valid licence of each of the ten standard types, each validity period inside
#: the type's max_validity and covering T0.
SAMPLES: dict[str, Sample] = {
    "resident-id-card": Sample(
        {
            "name": "李小红",
            "sex": "女",
            "ethnicity": "汉",
            "birth_date": "1990-03-07",
            "issuing_authority": "广州市公安局天河分局",
        },
        date(2020, 3, 7),
        date(2040, 3, 7),
    ),
    "driving-licence": Sample(DRIVING, date(2021, 6, 1), date(2031, 6, 1)),
    "vehicle-licence": Sample(
        {
            "plate_number": "粤A12345",
            "vehicle_type": "小型轿车",
            "owner": "王五",
            "use_character": "非营运",
            "vin": "LSVAU2180N2123456",
            "register_date": "2020-05-20",
            "inspection_until": "2028-05-31",
        },
        date(2020, 5, 20),
        date(2030, 5, 19),
    ),
    "social-security-card": Sample(
        {"name": "赵六", "card_number": "G12345678", "issuing_region": "广东省广州市"},
        date(2020, 1, 1),
        date(2029, 12, 31),
    ),
    "housing-provident-fund": Sample(
        {
            "name": "陈七",
            "account_number": "440100200012345",
            "employer": "广州某某科技有限公司",
            "deposit_status": "正常",
            "monthly_deposit_fen": 123400,
            "paid_through": "2026-10",
        },
        date(2026, 11, 1),
        date(2027, 1, 31),
    ),
    "passport": Sample(
        {
            "name": "周八",
            "passport_number": "E12345678",
            "sex": "男",
            "birth_date": "1985-08-15",
            "nationality": "CHN",
        },
        date(2020, 3, 1),
        date(2030, 2, 28),
    ),
    "residence-permit": Sample(
        {
            "name": "吴九",
            "address": "广州市天河区体育西路1号",
            "issuing_authority": "广州市公安局天河分局",
        },
        date(2024, 1, 1),
        date(2028, 12, 31),
    ),
    "household-register": Sample(
        {
            "name": "郑十",
            "relationship": "户主",
            "household_type": "家庭户",
            "address": "广州市越秀区中山五路2号",
            "registration_authority": "广州市公安局越秀分局",
        },
        date(2019, 9, 1),
        date(2039, 9, 1),
    ),
    "business-licence": Sample(
        {
            "company_name": "广州某某科技有限公司",
            "entity_type": "有限责任公司",
            "legal_representative": "孙十一",
            "registered_capital": 100,
            "established": "2018-04-12",
            "business_scope": "软件开发；信息技术咨询服务",
        },
        date(2018, 4, 12),
        date(2048, 4, 11),
        # An organisation is named by its USCC, public registration data.
        Holder("11440000725058373U", "raw-id"),
    ),
    "real-estate-certificate": Sample(
        {
            "certificate_number": "粤(2023)广州市不动产权第0123456号",
            "owner": "钱十二",
            "location": "广州市天河区珠江新城花城大道3号",
            "unit_number": "440106001001GB00001F00010001",
            "right_type": "国有建设用地使用权/房屋所有权",
        },
        date(2023, 5, 1),
        date(2093, 4, 30),
    ),
}


# --- base45 (RFC 9285), independent of govkit, for crafting payloads ----------------------

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45encode(data: bytes) -> str:
    out: list[str] = []
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        if len(chunk) == 2:
            n = chunk[0] * 256 + chunk[1]
            out += [B45[n % 45], B45[n // 45 % 45], B45[n // 2025]]
        else:
            out += [B45[chunk[0] % 45], B45[chunk[0] // 45]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    out = bytearray()
    for i in range(0, len(text), 3):
        digits = [B45.index(c) for c in text[i : i + 3]]
        n = sum(d * 45**k for k, d in enumerate(digits))
        out += n.to_bytes(2 if len(digits) == 3 else 1, "big")
    return bytes(out)


def open_cose(text: str) -> list[Any]:
    """The four COSE_Sign1 parts of a compressed GK1: payload."""
    assert text.startswith("GK1:")
    item = cbor2.loads(zlib.decompress(b45decode(text[4:])))
    assert isinstance(item, cbor2.CBORTag)
    assert item.tag == 18
    return list(item.value)


def seal_cose(parts: list[Any], prefix: str = "GK1:") -> str:
    """Parts back into a compressed, base45 payload (without signing anything)."""
    cose = cbor2.dumps(cbor2.CBORTag(18, parts))
    return prefix + b45encode(zlib.compress(cose, 9))


def test_base45_helper_matches_rfc_9285_examples() -> None:
    # RFC 9285 section 4.3: "AB" -> "BB8", "Hello!!" -> "%69 VD92EX0", "base-45" -> "UJCLQE7W581"
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"
    assert b45decode("QED8WEX0") == b"ietf!"


# --- the world: an agency, its key and status list, a trust anchor ------------------------


@dataclass
class World:
    clock: FixedClock
    key: SigningKey
    statuses: StatusList
    issuer: CertificateIssuer
    trust: TrustList

    def verifier(self, **options: Any) -> CertificateVerifier:
        """A verifier of this world; revocation is a required check, so unless the test
        gives its own ``status`` (or skips it), the issuer's list is published now, valid
        for ten years (tests that move the clock are about something else)."""
        options.setdefault("clock", self.clock)
        if "status" not in options and not options.get("unsafe_skip_status"):
            options["status"] = self.publish_status(valid_for=timedelta(days=3650))
        return CertificateVerifier(options.pop("trust", self.trust), **options)

    def publish_status(
        self, sequence: int = 1, *, valid_for: timedelta = timedelta(days=1)
    ) -> SignedStatusList:
        """Sign the issuer's status list now and load it as a verifier would."""
        now = self.clock.now()
        data = sign_status_list(
            self.statuses,
            self.key,
            issued_at=now,
            expires_at=now + valid_for,
            sequence=sequence,
        )
        return load_status_list(data, [self.key.verifying_key], at=now)

    def issue(self, licence_type: str = "driving-licence", **changes: Any) -> IssuedCertificate:
        sample = SAMPLES[licence_type]
        options: dict[str, Any] = {
            "holder": sample.holder,
            "fields": sample.fields,
            "valid_from": sample.valid_from,
            "valid_until": sample.valid_until,
        }
        options.update(changes)
        return self.issuer.issue(licence_type, **options)


def published_trust(
    issuers: tuple[TrustedIssuer, ...],
    *,
    issued_at: datetime = T0 - timedelta(days=1),
    expires_at: datetime = T0 + timedelta(days=365),
    at: datetime = T0,
) -> TrustList:
    """A trust list signed by ANCHOR and loaded back, as a verifier gets it."""
    data = sign_trust_list(TrustList(issuers, 1, issued_at, expires_at), ANCHOR)
    return load_trust_list(data, [ANCHOR.verifying_key], at=at, allow_stale=True)


@pytest.fixture
def world() -> World:
    clock = FixedClock(T0)
    key = SigningKey.generate("ES256")
    statuses = StatusList(64, list_id="gd-licences-2026")
    issuer = CertificateIssuer(key, agency=TRAFFIC_POLICE, clock=clock, status=statuses)
    trusted = TrustedIssuer(TRAFFIC_POLICE, (TrustedKey.for_key(key.verifying_key, ALL_TYPES),))
    return World(clock, key, statuses, issuer, published_trust((trusted,)))


def assert_refused(
    verifier: CertificateVerifier,
    data: str | bytes,
    error: type[CertificateVerificationError],
    code: str,
    check: str,
) -> CertificateVerificationError:
    """verify() raises exactly ``error`` with ``code``; inspect() fails ``check`` with it."""
    with pytest.raises(CertificateVerificationError) as caught:
        verifier.verify(data)
    assert type(caught.value) is error
    assert caught.value.code == code
    report = verifier.inspect(data)
    assert isinstance(report, CertificateReport)
    assert report.ok is False
    assert report.code == code
    assert report.certificate is None
    position = CHECK_ORDER.index(check)
    assert [c.name for c in report.checks] == [*CHECK_ORDER[: position + 1], "trust_freshness"]
    assert all(c.ok for c in report.checks[:position])
    failed = report.checks[position]
    assert (failed.name, failed.ok, failed.code) == (check, False, code)
    assert report.to_dict()["valid"] is False
    return caught.value


# --- round trips --------------------------------------------------------------------------


def test_samples_cover_all_ten_standard_types() -> None:
    assert set(SAMPLES) == ALL_TYPES
    assert len(ALL_TYPES) == 10


@pytest.mark.parametrize("licence_type", sorted(SAMPLES))
def test_round_trip_from_text_and_from_qr_picture(world: World, licence_type: str) -> None:
    issued = world.issue(licence_type)
    verifier = world.verifier(status=world.publish_status())
    png = issued.qr_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    for data, kind in ((issued.qr_payload, "payload"), (png, "image")):
        verified = verifier.verify(data)
        assert isinstance(verified, VerifiedCertificate)
        assert verified.licence == issued.licence
        assert verified.licence.id == issued.id
        assert verified.licence.type == licence_type
        assert dict(verified.licence.fields) == SAMPLES[licence_type].fields
        assert verified.issuer.agency == TRAFFIC_POLICE
        assert verified.key.key == world.key.verifying_key
        assert verified.status is Status.VALID
        assert verified.checked_at == T0
        assert verified.issued_at == T0
        report = verifier.inspect(data)
        assert report.ok is True
        assert report.code is None
        assert report.kind == kind
        assert [c.name for c in report.checks] == [*CHECK_ORDER, "trust_freshness"]
        assert all(c.ok and c.code is None for c in report.checks)
        assert report.certificate is not None
        assert report.certificate.licence == issued.licence
        summary = report.to_dict()["certificate"]
        assert (summary["id"], summary["type"], summary["status"]) == (
            issued.id,
            licence_type,
            "valid",
        )
        assert summary["issuer"] == {"name": TRAFFIC_POLICE.name, "uscc": TRAFFIC_POLICE.uscc}


def test_the_verified_certificate_is_the_one_its_constructor_builds(world: World) -> None:
    # verify() fills the frozen dataclass's fields directly: a field added to the class
    # and forgotten there would be missing here
    verified = world.verifier().verify(world.issue().qr_payload)
    names = [f.name for f in dataclasses.fields(VerifiedCertificate)]
    assert list(vars(verified)) == names
    built = VerifiedCertificate(**{name: getattr(verified, name) for name in names})
    assert verified == built
    assert repr(verified) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verified.status = None  # type: ignore[misc]


@pytest.mark.parametrize("alg", ["EdDSA", "PS256"])
def test_round_trip_with_other_cose_algorithms(alg: str) -> None:
    clock = FixedClock(T0)
    key = SigningKey.generate(alg)
    statuses = StatusList(8, list_id="other-alg")
    issuer = CertificateIssuer(key, agency=TRAFFIC_POLICE, clock=clock, status=statuses)
    issued = issuer.issue(
        "driving-licence",
        holder=HOLDER,
        fields=DRIVING,
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    trust = published_trust(
        (TrustedIssuer(TRAFFIC_POLICE, (TrustedKey.for_key(key.verifying_key, ALL_TYPES),)),)
    )
    published = sign_status_list(
        statuses, key, issued_at=T0, expires_at=T0 + timedelta(days=1), sequence=1
    )
    status = load_status_list(published, [key.verifying_key], at=T0)
    verified = CertificateVerifier(trust, status=status, clock=clock).verify(issued.qr_payload)
    assert verified.licence == issued.licence
    assert verified.key.key.alg == alg
    assert verified.status is Status.VALID


# --- validity -------------------------------------------------------------------------


def test_expired_licence_is_refused(world: World) -> None:
    issued = world.issue(valid_from=date(2026, 11, 1), valid_until=date(2026, 12, 1))
    verifier = world.verifier()
    assert verifier.verify(issued.qr_payload).licence.id == issued.id
    world.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert_refused(
        verifier, issued.qr_payload, CertificateExpired, "certificate.expired", "validity"
    )


def test_licence_is_valid_through_the_end_of_its_last_day_in_china_standard_time(
    world: World,
) -> None:
    issued = world.issue(valid_from=date(2026, 11, 1), valid_until=date(2026, 12, 1))
    verifier = world.verifier()
    # 2026-12-01 23:59:59 at UTC+8 is 15:59:59 UTC: still valid.
    last_second = datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC)
    assert verifier.verify(issued.qr_payload, at=last_second).licence.id == issued.id
    with pytest.raises(CertificateExpired):
        verifier.verify(issued.qr_payload, at=last_second + timedelta(seconds=2))


def test_licence_at_the_exclusive_end_of_its_validity_is_expired(world: World) -> None:
    issued = world.issue(valid_from=date(2026, 11, 1), valid_until=date(2026, 12, 1))
    _, end = issued.licence.validity_window()
    assert end == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    with pytest.raises(CertificateExpired):
        world.verifier().verify(issued.qr_payload, at=end)


def test_licence_not_yet_valid_is_refused(world: World) -> None:
    issued = world.issue(valid_from=date(2026, 12, 1), valid_until=date(2032, 12, 1))
    verifier = world.verifier()
    assert_refused(
        verifier,
        issued.qr_payload,
        CertificateNotYetValid,
        "certificate.not_yet_valid",
        "validity",
    )
    # From 00:00 UTC+8 on its first day it verifies.
    first_moment = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert verifier.verify(issued.qr_payload, at=first_moment).licence.id == issued.id


# --- status ---------------------------------------------------------------------------


def test_revoked_licence_is_refused(world: World) -> None:
    issued = world.issue()
    other = world.issue()
    world.issuer.revoke(issued)
    verifier = world.verifier(status=world.publish_status())
    assert_refused(verifier, issued.qr_payload, CertificateRevoked, "certificate.revoked", "status")
    # Only that licence: its neighbour in the list still verifies.
    assert verifier.verify(other.qr_payload).status is Status.VALID


def test_revocation_is_not_seen_until_the_status_list_is_republished(world: World) -> None:
    issued = world.issue()
    before = world.publish_status(sequence=1)
    world.issuer.revoke(issued.id)  # by licence id too
    assert world.verifier(status=before).verify(issued.qr_payload).status is Status.VALID
    with pytest.raises(CertificateRevoked):
        world.verifier(status=world.publish_status(sequence=2)).verify(issued.qr_payload)


def test_suspended_licence_is_refused(world: World) -> None:
    issued = world.issue()
    world.issuer.suspend(issued)
    verifier = world.verifier(status=world.publish_status())
    assert_refused(
        verifier, issued.qr_payload, CertificateSuspended, "certificate.suspended", "status"
    )


def test_reinstated_licence_verifies_again(world: World) -> None:
    issued = world.issue()
    world.issuer.suspend(issued)
    with pytest.raises(CertificateSuspended):
        world.verifier(status=world.publish_status(sequence=1)).verify(issued.qr_payload)
    world.issuer.reinstate(issued)
    verifier = world.verifier(status=world.publish_status(sequence=2))
    assert verifier.verify(issued.qr_payload).status is Status.VALID
    assert verifier.inspect(issued.qr_payload).ok is True


def test_stale_status_list_is_refused_by_verify_and_reported_by_inspect(world: World) -> None:
    issued = world.issue()
    verifier = world.verifier(status=world.publish_status())
    world.clock.advance(timedelta(days=2))  # the status list expired after one day
    with pytest.raises(CertificateStatusStale) as caught:
        verifier.verify(issued.qr_payload)
    assert caught.value.code == "certificate.status_stale"
    assert isinstance(caught.value, CertificateStatusUnknown)  # caught as "status unknown"
    report = verifier.inspect(issued.qr_payload)
    assert report.ok is False
    assert report.code == "certificate.status_stale"
    assert report.certificate is None
    freshness = report.checks[-1]
    assert (freshness.name, freshness.ok) == ("status_freshness", False)


def test_stale_status_list_is_accepted_with_allow_stale_trust_but_still_reported(
    world: World,
) -> None:
    issued = world.issue()
    verifier = world.verifier(status=world.publish_status(), allow_stale_trust=True)
    world.clock.advance(timedelta(days=2))
    assert verifier.verify(issued.qr_payload).status is Status.VALID
    report = verifier.inspect(issued.qr_payload)
    assert report.ok is True
    freshness = report.checks[-1]
    assert (freshness.name, freshness.ok, freshness.code) == (
        "status_freshness",
        True,
        "certificate.status_stale",
    )


# --- revocation is a required check ------------------------------------------------------


def assert_status_refused(
    verifier: CertificateVerifier,
    payload: str,
    error: type[CertificateStatusUnknown],
    reason: str | None = None,
) -> CertificateStatusUnknown:
    """verify() raises ``error``; inspect() fails the ``status`` check with its code, after
    every earlier check passed, and returns no certificate."""
    with pytest.raises(CertificateStatusUnknown) as caught:
        verifier.verify(payload)
    assert type(caught.value) is error
    assert isinstance(caught.value, VerificationError)
    if reason is not None:
        assert caught.value.context["reason"] == reason
    report = verifier.inspect(payload)
    assert (report.ok, report.code, report.certificate) == (False, error.code, None)
    by_name = {c.name: c for c in report.checks}
    assert all(by_name[name].ok is True for name in CHECK_ORDER[:-1])
    assert (by_name["status"].ok, by_name["status"].code) == (False, error.code)
    assert report.to_dict()["valid"] is False
    return caught.value


def test_revoked_licence_without_a_status_list_is_status_unknown_not_valid(
    world: World,
) -> None:
    issued = world.issue()
    world.issuer.revoke(issued)
    verifier = CertificateVerifier(world.trust, clock=world.clock)  # no status list
    assert_status_refused(verifier, issued.qr_payload, CertificateStatusUnknown, "no_list")


def test_licence_without_a_status_reference_is_status_unknown(world: World) -> None:
    # Crafted with the issuer's own key: the claims of a licence issued before status
    # references were required (there is no other way to get one now).
    issued = world.issue()
    parts = open_cose(issued.qr_payload)
    claims = cbor2.loads(parts[2])
    # The licence map's "s" member is the status index (see the wire format).
    assert claims[LICENCE_CLAIM].pop("s") == issued.licence.status_index
    parts[2] = cbor2.dumps(claims, canonical=True)
    parts[3] = world.key.sign(cbor2.dumps(["Signature1", parts[0], b"", parts[2]]))
    payload = seal_cose(parts)
    assert codec.verify_signature(codec.decode(payload), [world.key.verifying_key])
    assert_status_refused(world.verifier(), payload, CertificateStatusUnknown, "no_index")


def test_status_list_expired_past_max_stale_of_its_source_is_status_stale(
    world: World, tmp_path: Path
) -> None:
    issued = world.issue()
    path = tmp_path / "status.json"
    path.write_bytes(
        sign_status_list(
            world.statuses,
            world.key,
            issued_at=T0,
            expires_at=T0 + timedelta(days=1),
            sequence=1,
        )
    )
    source = StatusListSource(
        path, [world.key.verifying_key], clock=world.clock, max_stale=timedelta(days=7)
    )
    verifier = world.verifier(status=source, allow_stale_trust=True)
    assert verifier.verify(issued.qr_payload).status is Status.VALID
    world.clock.advance(timedelta(days=30))  # past expiry + max_stale: even allow_stale refuses
    error = assert_status_refused(verifier, issued.qr_payload, CertificateStatusStale)
    assert error.context["reason"] == "max_stale"


def test_unsafe_skip_status_accepts_a_revoked_licence_but_reports_status_not_performed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    issued = world.issue()
    world.issuer.revoke(issued)
    with caplog.at_level("WARNING", logger="govkit.certificates"):
        verifier = world.verifier(unsafe_skip_status=True)
    assert "revocation is NOT checked" in caplog.text  # loud when not safe
    verified = verifier.verify(issued.qr_payload)
    assert verified.status is None
    report = verifier.inspect(issued.qr_payload)
    assert report.ok is True
    assert report.code is None
    assert report.skipped == ("status",)
    status = next(c for c in report.checks if c.name == "status")
    assert (status.ok, status.performed, status.code) == (None, False, None)
    assert "NOT checked" in status.detail
    document = report.to_dict()
    assert document["valid"] is True
    assert document["certificate"]["status"] is None
    [as_json] = [c for c in document["checks"] if c["name"] == "status"]
    assert as_json["ok"] is None  # JSON null: not performed, never a pass


def test_unsafe_skip_status_with_a_status_list_is_a_configuration_error(world: World) -> None:
    with pytest.raises(ConfigurationError):
        world.verifier(status=world.publish_status(), unsafe_skip_status=True)


def test_issuers_own_mutable_status_list_is_not_a_verifiers_status(world: World) -> None:
    with pytest.raises(ConfigurationError):
        world.verifier(status=world.statuses)


def test_issuer_without_status_list_refuses_to_issue() -> None:
    issuer = CertificateIssuer(
        SigningKey.generate("ES256"), agency=TRAFFIC_POLICE, clock=FixedClock(T0)
    )
    sample = SAMPLES["driving-licence"]
    with pytest.raises(ConfigurationError) as caught:
        issuer.issue(
            "driving-licence",
            holder=HOLDER,
            fields=sample.fields,
            valid_from=sample.valid_from,
            valid_until=sample.valid_until,
        )
    assert "status list" in caught.value.message
    with pytest.raises(ConfigurationError):
        issuer.issue_many([_request()])


def test_every_issued_licence_carries_a_status_reference(world: World) -> None:
    issued = [world.issue(licence_type) for licence_type in sorted(SAMPLES)]
    assert [i.licence.status_index for i in issued] == list(range(len(SAMPLES)))
    verifier = world.verifier()
    assert all(verifier.verify(i.qr_payload).licence.status_index is not None for i in issued)


# --- trust ----------------------------------------------------------------------------


def test_stale_trust_list_is_refused(world: World) -> None:
    issued = world.issue()
    stale = published_trust(
        world.trust.issuers,
        issued_at=T0 - timedelta(days=30),
        expires_at=T0 - timedelta(days=1),
    )
    assert stale.is_stale(T0)
    verifier = world.verifier(trust=stale)
    with pytest.raises(CertificateVerificationError) as caught:
        verifier.verify(issued.qr_payload)
    assert type(caught.value) is TrustListStale
    assert caught.value.code == "trust.stale"
    report = verifier.inspect(issued.qr_payload)
    assert report.ok is False
    assert report.code == "trust.stale"
    assert report.certificate is None
    assert [c.name for c in report.checks] == [*CHECK_ORDER, "trust_freshness"]
    assert all(c.ok for c in report.checks[:-1])
    freshness = report.checks[-1]
    assert (freshness.ok, freshness.code) == (False, "trust.stale")


def test_stale_trust_list_is_accepted_with_allow_stale_trust_but_still_reported(
    world: World,
) -> None:
    issued = world.issue()
    stale = published_trust(
        world.trust.issuers,
        issued_at=T0 - timedelta(days=30),
        expires_at=T0 - timedelta(days=1),
    )
    verifier = world.verifier(trust=stale, allow_stale_trust=True)
    assert verifier.verify(issued.qr_payload).licence == issued.licence
    report = verifier.inspect(issued.qr_payload)
    assert report.ok is True
    assert report.certificate is not None
    freshness = report.checks[-1]
    assert (freshness.name, freshness.ok, freshness.code) == (
        "trust_freshness",
        True,
        "trust.stale",
    )
    assert "allow_stale_trust" in freshness.detail


def test_trust_list_signed_by_another_anchor_is_refused(world: World) -> None:
    impostor = SigningKey.generate("ES256")
    forged = sign_trust_list(world.trust, impostor)
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(forged, [ANCHOR.verifying_key], at=T0)
    assert type(caught.value) is TrustListInvalid
    assert caught.value.code == "trust.invalid"
    assert caught.value.context["reason"] == "unknown_key"


def test_licence_signed_by_key_not_on_trust_list_is_unknown_key(world: World) -> None:
    rogue = CertificateIssuer(
        SigningKey.generate("ES256"),
        agency=TRAFFIC_POLICE,
        clock=world.clock,
        status=StatusList(8, list_id="rogue"),
    )
    forged = rogue.issue(
        "driving-licence",
        holder=HOLDER,
        fields=DRIVING,
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    error = assert_refused(
        world.verifier(),
        forged.qr_payload,
        CertificateKeyUnknown,
        "certificate.unknown_key",
        "signature",
    )
    assert error.context["kid"] == rogue.kid.hex()


def _kid_collision_world() -> tuple[FixedClock, bytes, dict[str, CertificateIssuer], TrustList]:
    """Two agencies whose keys were given the same 8-byte kid on the trust list."""
    clock = FixedClock(T0)
    police_key, market_key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    shared = codec.cose_kid(police_key.verifying_key)
    trust = published_trust(
        (
            TrustedIssuer(
                TRAFFIC_POLICE,
                (TrustedKey(police_key.verifying_key, shared, frozenset({"driving-licence"})),),
            ),
            TrustedIssuer(
                MARKET_REGULATOR,
                (TrustedKey(market_key.verifying_key, shared, frozenset({"business-licence"})),),
            ),
        )
    )
    assert len(trust.candidates(shared)) == 2
    issuers = {
        "police": CertificateIssuer(
            police_key,
            agency=TRAFFIC_POLICE,
            kid=shared,
            clock=clock,
            status=StatusList(8, list_id="police"),
        ),
        "market": CertificateIssuer(
            market_key,
            agency=MARKET_REGULATOR,
            kid=shared,
            clock=clock,
            status=StatusList(8, list_id="market"),
        ),
    }
    return clock, shared, issuers, trust


def test_kid_collision_finds_the_key_that_signed(world: World) -> None:
    clock, shared, issuers, trust = _kid_collision_world()
    # About finding the signer among colliding kids; one verifier holds one issuer's
    # status list, so revocation is skipped here (the status tests cover it).
    verifier = CertificateVerifier(trust, clock=clock, unsafe_skip_status=True)
    for name, licence_type, agency in (
        ("police", "driving-licence", TRAFFIC_POLICE),  # the first candidate
        ("market", "business-licence", MARKET_REGULATOR),  # the second candidate
    ):
        sample = SAMPLES[licence_type]
        issued = issuers[name].issue(
            licence_type,
            holder=sample.holder,
            fields=sample.fields,
            valid_from=sample.valid_from,
            valid_until=sample.valid_until,
        )
        assert issued.kid == shared
        verified = verifier.verify(issued.qr_payload)
        assert verified.issuer.agency == agency
        assert verified.key.kid == shared
        assert licence_type in verified.key.licence_types
        assert verifier.inspect(issued.qr_payload).ok is True


def test_forged_licence_from_untrusted_key_sharing_a_trusted_kid_is_invalid_signature() -> None:
    clock, shared, _, trust = _kid_collision_world()
    forger = CertificateIssuer(
        SigningKey.generate("ES256"),
        agency=TRAFFIC_POLICE,
        kid=shared,
        clock=clock,
        status=StatusList(8, list_id="forger"),
    )
    forged = forger.issue(
        "driving-licence",
        holder=HOLDER,
        fields=DRIVING,
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    assert_refused(
        CertificateVerifier(trust, clock=clock, unsafe_skip_status=True),
        forged.qr_payload,
        CertificateSignatureInvalid,
        "certificate.invalid_signature",
        "signature",
    )


# --- issuer permissions ------------------------------------------------------------------


def test_key_trusted_only_for_passports_signing_a_driving_licence_is_not_allowed(
    world: World,
) -> None:
    passports_only = published_trust(
        (
            TrustedIssuer(
                TRAFFIC_POLICE, (TrustedKey.for_key(world.key.verifying_key, {"passport"}),)
            ),
        )
    )
    issued = world.issue("driving-licence")
    error = assert_refused(
        world.verifier(trust=passports_only),
        issued.qr_payload,
        IssuerNotAllowed,
        "certificate.issuer_not_allowed",
        "issuer",
    )
    assert error.context["reason"] == "type"
    assert world.verifier(trust=passports_only).verify(world.issue("passport").qr_payload)


def test_licence_from_withdrawn_key_is_not_allowed(world: World) -> None:
    issued = world.issue()
    withdrawn = world.trust.withdraw(world.issuer.kid)
    assert withdrawn.sequence == world.trust.sequence + 1
    error = assert_refused(
        world.verifier(trust=withdrawn),
        issued.qr_payload,
        IssuerNotAllowed,
        "certificate.issuer_not_allowed",
        "issuer",
    )
    assert error.context["reason"] == "withdrawn"


def test_licence_issued_after_key_window_closed_is_not_allowed(world: World) -> None:
    retired = published_trust(
        (
            TrustedIssuer(
                TRAFFIC_POLICE,
                (
                    TrustedKey.for_key(
                        world.key.verifying_key,
                        ALL_TYPES,
                        not_before=T0 - timedelta(days=365),
                        not_after=T0 - timedelta(days=1),
                    ),
                ),
            ),
        )
    )
    late = world.issue()  # issued at T0, a day after the key was retired
    error = assert_refused(
        world.verifier(trust=retired),
        late.qr_payload,
        IssuerNotAllowed,
        "certificate.issuer_not_allowed",
        "issuer",
    )
    assert error.context["reason"] == "window"
    # A licence the key signed while it was current still verifies after retirement.
    world.clock.set(T0 - timedelta(days=10))
    early = world.issue()
    world.clock.set(T0)
    assert world.verifier(trust=retired).verify(early.qr_payload).licence == early.licence


def test_licence_issued_before_key_window_opened_is_not_allowed(world: World) -> None:
    future = published_trust(
        (
            TrustedIssuer(
                TRAFFIC_POLICE,
                (
                    TrustedKey.for_key(
                        world.key.verifying_key, ALL_TYPES, not_before=T0 + timedelta(hours=1)
                    ),
                ),
            ),
        )
    )
    error = assert_refused(
        world.verifier(trust=future),
        world.issue().qr_payload,
        IssuerNotAllowed,
        "certificate.issuer_not_allowed",
        "issuer",
    )
    assert error.context["reason"] == "window"


def test_agency_key_issuing_in_another_agencys_name_is_not_allowed(world: World) -> None:
    impersonator = CertificateIssuer(
        world.key, agency=PUBLIC_SECURITY, clock=world.clock, status=world.statuses
    )
    issued = impersonator.issue(
        "driving-licence",
        holder=HOLDER,
        fields=DRIVING,
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    assert issued.licence.issuer == PUBLIC_SECURITY
    error = assert_refused(
        world.verifier(),
        issued.qr_payload,
        IssuerNotAllowed,
        "certificate.issuer_not_allowed",
        "issuer",
    )
    assert error.context["reason"] == "agency"


# --- tampering, layer by layer ----------------------------------------------------------


def _bump_base45_digit(text: str, group: int) -> str:
    """Change the low digit of base45 group ``group``: the 2 bytes it encodes change by 1."""
    i = 4 + 3 * group
    digit = B45.index(text[i])
    new = B45[digit + 1] if digit < 44 else B45[digit - 1]
    changed = text[:i] + new + text[i + 1 :]
    assert b45decode(changed[4:]) != b45decode(text[4:])
    return changed


def test_changed_character_in_base45_text_is_format_caught_by_zlib_checksum(
    world: World,
) -> None:
    payload = world.issue().qr_payload
    # The last full base45 group encodes bytes of the zlib stream's Adler-32 trailer.
    tampered = _bump_base45_digit(payload, (len(payload) - 4) // 3 - 1)
    error = assert_refused(
        world.verifier(), tampered, CertificateFormatError, "certificate.format", "format"
    )
    # zlib refuses it before any CBOR is read: the signature is never reached.
    assert error.context["reason"] == "zlib"


def test_every_single_character_change_in_base45_text_is_refused_or_changes_nothing_signed(
    world: World,
) -> None:
    payload = world.issue().qr_payload
    original = codec.decode(payload)
    verifier = world.verifier()
    reasons: set[str] = set()
    for i in range(4, len(payload)):
        digit = B45.index(payload[i])
        tampered = payload[:i] + B45[(digit + 1) % 45] + payload[i + 1 :]
        try:
            verifier.verify(tampered)
        except CertificateFormatError as exc:
            reasons.add(exc.context["reason"])
            continue
        # Deflate is malleable: a few bits of a stream can change without changing what
        # it inflates to. Such a text is accepted only because the signed bytes are
        # exactly the original ones.
        accepted = codec.decode(tampered)
        assert (accepted.protected, accepted.payload, accepted.signature) == (
            original.protected,
            original.payload,
            original.signature,
        )
    # base45: an out-of-range triple; zlib: checksum or deflate data; cbor/cose: the
    # zlib header itself changed, so the bytes are read as (malformed) COSE.
    assert reasons <= {"base45", "zlib", "cbor", "cose"}
    assert "zlib" in reasons


def test_changed_character_in_uncompressed_payload_signature_is_invalid_signature(
    world: World,
) -> None:
    plain = CertificateIssuer(
        world.key, agency=TRAFFIC_POLICE, clock=world.clock, status=world.statuses, compress=False
    )
    sample = SAMPLES["driving-licence"]
    payload = plain.issue(
        "driving-licence",
        holder=HOLDER,
        fields=sample.fields,
        valid_from=sample.valid_from,
        valid_until=sample.valid_until,
    ).qr_payload
    assert codec.decode(payload).compressed is False
    assert world.verifier().verify(payload)
    # Without zlib's checksum, a change in the last bytes (the raw r || s signature)
    # still parses: only the signature check catches it.
    last_full_group = (len(payload) - 4) // 3 - 1
    tampered = _bump_base45_digit(payload, last_full_group)
    assert_refused(
        world.verifier(),
        tampered,
        CertificateSignatureInvalid,
        "certificate.invalid_signature",
        "signature",
    )


def test_changed_signature_byte_is_invalid_signature(world: World) -> None:
    parts = open_cose(world.issue().qr_payload)
    signature = bytearray(parts[3])
    signature[10] ^= 0x01
    parts[3] = bytes(signature)
    assert_refused(
        world.verifier(),
        seal_cose(parts),
        CertificateSignatureInvalid,
        "certificate.invalid_signature",
        "signature",
    )


def test_payload_with_extended_expiry_under_original_signature_is_invalid_signature(
    world: World,
) -> None:
    issued = world.issue(valid_from=date(2020, 1, 1), valid_until=date(2026, 11, 1))
    parts = open_cose(issued.qr_payload)
    claims = cbor2.loads(parts[2])
    claims[codec.EXP] += 10 * 365 * 86400  # ten more years, same signature
    parts[2] = cbor2.dumps(claims, canonical=True)
    tampered = seal_cose(parts)
    assert codec.decode(tampered).claims[codec.EXP] == claims[codec.EXP]
    assert_refused(
        world.verifier(),
        tampered,
        CertificateSignatureInvalid,
        "certificate.invalid_signature",
        "signature",
    )


def test_resealed_but_unmodified_parts_still_verify(world: World) -> None:
    # The control for the tampering tests above: opening and resealing alone changes
    # nothing the verifier cares about, so their refusals come from the change made.
    issued = world.issue()
    assert world.verifier().verify(seal_cose(open_cose(issued.qr_payload))).licence.id == issued.id


def test_validly_signed_licence_in_non_canonical_cbor_is_a_format_error(world: World) -> None:
    # The issuer's own key signs the same claims written with the map keys in reverse
    # order: valid CBOR, genuine signature, but not the one encoding a licence may have.
    parts = open_cose(world.issue().qr_payload)
    claims = cbor2.loads(parts[2])
    parts[2] = cbor2.dumps(dict(reversed(list(claims.items()))))
    assert parts[2] != cbor2.dumps(claims, canonical=True)
    parts[3] = world.key.sign(cbor2.dumps(["Signature1", parts[0], b"", parts[2]]))
    payload = seal_cose(parts)
    assert codec.verify_signature(codec.decode(payload), [world.key.verifying_key])
    error = assert_refused(
        world.verifier(), payload, CertificateFormatError, "certificate.format", "format"
    )
    assert error.context["reason"] == "cwt"


def test_algorithm_swapped_in_protected_header_is_refused(world: World) -> None:
    parts = open_cose(world.issue().qr_payload)
    header = cbor2.loads(parts[0])
    header[1] = codec.COSE_ALGORITHMS["EdDSA"]
    parts[0] = cbor2.dumps(header, canonical=True)
    assert_refused(
        world.verifier(),
        seal_cose(parts),
        CertificateAlgorithmRejected,
        "certificate.algorithm",
        "signature",
    )


@pytest.mark.parametrize("prefix", ["HC1:", "XX1:", "gk1:", ""])
def test_govkit_payload_under_wrong_prefix_is_format(world: World, prefix: str) -> None:
    payload = world.issue().qr_payload
    error = assert_refused(
        world.verifier(),
        prefix + payload.removeprefix("GK1:"),
        CertificateFormatError,
        "certificate.format",
        "format",
    )
    assert error.context["reason"] == "prefix"


def test_hcert_style_payload_without_licence_claim_is_format(world: World) -> None:
    claims: dict[int | str, Any] = {
        codec.ISS: "CN",
        codec.IAT: int(T0.timestamp()),
        codec.NBF: int(T0.timestamp()),
        codec.EXP: int((T0 + timedelta(days=30)).timestamp()),
        codec.HCERT: {1: {"ver": "1.3.0", "nam": {"fnt": "ZHANG"}, "dob": "1990-01-01"}},
    }
    payload = codec.encode(claims, world.key, kid=world.issuer.kid)  # a trusted key
    error = assert_refused(
        world.verifier(), payload, CertificateFormatError, "certificate.format", "format"
    )
    assert error.context["reason"] == "claims"


def test_zlib_bomb_is_too_large(world: World) -> None:
    bomb = "GK1:" + b45encode(zlib.compress(b"\x00" * 1_000_000, 9))
    assert len(bomb) < 4096  # small on the wire
    error = assert_refused(
        world.verifier(), bomb, CertificateTooLarge, "certificate.too_large", "format"
    )
    assert error.context["limit"] == "cose"


def test_oversized_text_is_too_large_before_decoding(world: World) -> None:
    error = assert_refused(
        world.verifier(),
        "GK1:" + "0" * 100_000,
        CertificateTooLarge,
        "certificate.too_large",
        "format",
    )
    assert error.context["limit"] == "text"


def test_picture_without_qr_code_is_unreadable_not_an_invalid_licence(world: World) -> None:
    # "I could not read it" is not "it is fake": no verdict, and not a VerificationError.
    buffer = io.BytesIO()
    Image.new("L", (400, 400), 255).save(buffer, format="PNG")
    blank = buffer.getvalue()
    verifier = world.verifier()
    with pytest.raises(QrNotFound) as caught:
        verifier.verify(blank)
    assert caught.value.code == "qr.not_found"
    assert caught.value.context["reason"] == "no_qr"
    assert isinstance(caught.value, QrUnreadable)
    assert not isinstance(caught.value, VerificationError)
    with pytest.raises(QrNotFound):  # inspect has no licence to report on
        verifier.inspect(blank)


def test_non_ascii_bytes_that_are_not_a_picture_are_format(world: World) -> None:
    assert_refused(
        world.verifier(),
        "GK1:张三".encode(),
        CertificateFormatError,
        "certificate.format",
        "input",
    )


# --- holders named by raw ID number --------------------------------------------------------


def test_raw_id_holder_on_type_that_never_carries_one_is_refused_at_issue(world: World) -> None:
    next_index = world.statuses.next_index
    with pytest.raises(LicenceDataInvalid) as caught:
        world.issue("driving-licence", holder=Holder(RAW_ID, "raw-id"), allow_raw_id=True)
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.context["reason"] == "raw_id"
    assert RAW_ID not in str(caught.value)
    assert RAW_ID not in repr(caught.value.context)
    assert world.statuses.next_index == next_index  # a refused licence takes no index


def test_raw_id_holder_without_allow_raw_id_is_refused_at_issue(world: World) -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        world.issue("resident-id-card", holder=Holder(RAW_ID, "raw-id"))
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.context["reason"] == "raw_id"
    assert RAW_ID not in str(caught.value)


def test_raw_id_with_wrong_check_character_is_refused_at_issue(world: World) -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        world.issue(
            "resident-id-card", holder=Holder(RAW_ID[:-1] + "5", "raw-id"), allow_raw_id=True
        )
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.context["reason"] == "format"


def test_raw_id_resident_card_verifies_and_report_masks_the_number(world: World) -> None:
    issued = world.issue("resident-id-card", holder=Holder(RAW_ID, "raw-id"), allow_raw_id=True)
    verifier = world.verifier(status=world.publish_status())
    verified = verifier.verify(issued.qr_payload)
    assert verified.licence.holder == Holder(RAW_ID, "raw-id")
    assert RAW_ID not in repr(verified)
    report = verifier.inspect(issued.qr_payload)
    assert report.ok is True
    as_json = json.dumps(report.to_dict(), ensure_ascii=False)
    assert RAW_ID not in as_json
    assert report.to_dict()["certificate"]["holder"] == "110**************X"
    # The personal fields are masked too; the authority is not personal.
    fields = report.to_dict()["certificate"]["fields"]
    assert fields["name"] == "李**"
    assert fields["birth_date"] == "****-**-**"
    assert fields["issuing_authority"] == "广州市公安局天河分局"
    assert "1990-03-07" not in as_json


# --- audit ------------------------------------------------------------------------------


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[tuple[AuditLog, NoteSigner]]:
    signer = NoteSigner.generate("licences.gd.gov.cn/audit")
    log = AuditLog(
        tmp_path / "audit.db",
        origin="licences.gd.gov.cn/audit",
        signer=signer,
        pseudonym_key=b"p" * 32,
    )
    yield log, signer
    log.close()


def test_audit_logs_issue_revoke_and_verify_outcomes(
    world: World, audit: tuple[AuditLog, NoteSigner]
) -> None:
    log, signer = audit
    issuer = CertificateIssuer(
        world.key, agency=TRAFFIC_POLICE, clock=world.clock, status=world.statuses, audit=log
    )
    sample = SAMPLES["driving-licence"]

    def issue() -> IssuedCertificate:
        return issuer.issue(
            "driving-licence",
            holder=HOLDER,
            fields=sample.fields,
            valid_from=sample.valid_from,
            valid_until=sample.valid_until,
        )

    good, bad = issue(), issue()
    issuer.revoke(bad)
    verifier = world.verifier(status=world.publish_status(), audit=log)
    verifier.verify(good.qr_payload)
    assert verifier.inspect(bad.qr_payload).code == "certificate.revoked"

    issues = log.query(action="licence.issue")
    assert [e.event.resource_id for e in issues] == [good.id, bad.id]
    assert all(e.event.actor_id == TRAFFIC_POLICE.uscc for e in issues)
    assert all(e.event.details["type"] == "driving-licence" for e in issues)
    [revoke] = log.query(action="licence.revoke")
    assert revoke.event.resource_id == bad.id
    verifies = log.query(action="licence.verify")
    assert [e.event.outcome for e in verifies] == [Outcome.SUCCESS, Outcome.FAILURE]
    assert verifies[0].event.resource_id == good.id
    assert verifies[0].event.details["code"] is None
    assert verifies[1].event.details["code"] == "certificate.revoked"
    assert log.size() == 5

    log.checkpoint()
    assert verify_log(log, verifiers=[signer.verifier], deep=True).size == 5
    # The log names licences, never their holders' data.
    entries = [log.entry(index).entry.decode("utf-8") for index in range(log.size())]
    assert sum(good.id in entry for entry in entries) == 2  # issued, verified
    assert not any("张三" in entry or "440100123456" in entry for entry in entries)


def test_audit_logs_a_refused_verify(world: World, audit: tuple[AuditLog, NoteSigner]) -> None:
    log, _ = audit
    issued = world.issue()
    world.issuer.revoke(issued)
    verifier = world.verifier(status=world.publish_status(), audit=log)
    with pytest.raises(CertificateRevoked):
        verifier.verify(issued.qr_payload)
    entries = log.query(action="licence.verify")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.event.outcome is Outcome.FAILURE
    assert entry.event.details["code"] == "certificate.revoked"


# --- batches ----------------------------------------------------------------------------


def _request(licence_type: str = "driving-licence", **changes: Any) -> IssueRequest:
    sample = SAMPLES[licence_type]
    options: dict[str, Any] = {
        "licence_type": licence_type,
        "holder": sample.holder,
        "fields": sample.fields,
        "valid_from": sample.valid_from,
        "valid_until": sample.valid_until,
    }
    options.update(changes)
    return IssueRequest(**options)


def test_issue_many_reports_progress_in_order_and_issues_verifiable_licences(
    world: World,
) -> None:
    calls: list[tuple[int, int | None]] = []
    requests = (_request(t) for t in ("driving-licence", "passport", "vehicle-licence"))
    issued = world.issuer.issue_many(
        requests, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert [i.licence.type for i in issued] == ["driving-licence", "passport", "vehicle-licence"]
    assert len({i.id for i in issued}) == 3
    assert [i.licence.status_index for i in issued] == [0, 1, 2]
    verifier = world.verifier(status=world.publish_status())
    assert [verifier.verify(i.qr_payload).licence for i in issued] == [i.licence for i in issued]


def test_issue_many_with_one_invalid_request_raises_licence_data_invalid(world: World) -> None:
    calls: list[tuple[int, int | None]] = []
    bad_fields = {**DRIVING, "licence_class": "Z9"}
    requests = [_request(), _request(fields=bad_fields), _request()]

    def progress(done: int, total: int | None) -> None:
        calls.append((done, total))

    with pytest.raises(LicenceDataInvalid) as caught:
        world.issuer.issue_many(requests, progress=progress)
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.context["field"] == "licence_class"
    assert caught.value.context["reason"] == "choice"
    assert calls == [(1, 3)]  # stopped at the invalid request


# --- found while writing the docs -----------------------------------------------------


def test_forged_payload_with_a_far_future_iat_is_a_format_error_not_a_crash(world: World) -> None:
    # No trusted signature is needed to reach the time claims: they must be range-checked.
    forger = SigningKey.generate("ES256")
    claims = {codec.IAT: 10**12, codec.NBF: 0, codec.EXP: 10**13, LICENCE_CLAIM: {}}
    payload = codec.encode(claims, forger, kid=b"\x00" * 8)
    with pytest.raises(CertificateFormatError) as caught:
        world.verifier().verify(payload)
    assert caught.value.context["reason"] == "cwt"
    assert world.verifier().inspect(payload).code == "certificate.format"


def test_status_list_signed_by_another_issuer_is_status_unknown(world: World) -> None:
    issued = world.issue()
    other = SigningKey.generate("ES256")
    foreign = StatusList(64, list_id="someone-else")
    signed = sign_status_list(
        foreign,
        other,
        issued_at=world.clock.now(),
        expires_at=world.clock.now() + timedelta(days=1),
        sequence=1,
    )
    status = load_status_list(signed, [other.verifying_key], clock=world.clock)
    # No status list for the licence's issuer: its revocation cannot be checked.
    assert_status_refused(
        world.verifier(status=status), issued.qr_payload, CertificateStatusUnknown, "other_issuer"
    )
