"""The licence verify hot path (issue #18) keeps every refusal and builds the same objects.

What moved for speed: :func:`codec.decode` checks its limits in one test and builds its
:class:`CoseMessage` without the frozen dataclass's per-field setter, the COSE elements
of what :func:`codec.encode` writes are read without the generic checks (which cannot
fail for them), the time claims take integers first, and :meth:`Licence.from_claims`
checks a registry type code and a trusted agency's USCC once, not on every licence,
and skips the two :meth:`LicenceType.check_licence` checks that hold by construction.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

import pytest

from govkit._encoding import mod37_36_check_character
from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    Licence,
    LicenceRegistry,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    codec,
    licence_id,
)
from govkit.certificates.codec import CoseMessage
from govkit.errors import CertificateFormatError, ConfigurationError, LicenceDataInvalid
from govkit.keys import SigningKey

REGISTRY = LicenceRegistry.default()
AGENCY = Agency("广东省公安厅交通管理局", "114400000069445123")
DRIVING = REGISTRY.get("driving-licence")


def _text(claims: dict[int | str, object] | None = None) -> tuple[str, SigningKey]:
    key = SigningKey.generate("ES256")
    claims = claims if claims is not None else {codec.ISS: "CN", codec.EXP: 1893456000}
    text = codec.encode(claims, key, kid=codec.cose_kid(key.verifying_key))
    return text, key


def test_decoded_message_equals_the_one_the_constructor_builds() -> None:
    text, key = _text()
    message = codec.decode(text, canonical=True)
    rebuilt = CoseMessage(**{f.name: getattr(message, f.name) for f in dataclasses.fields(message)})
    assert message == rebuilt
    assert repr(message) == repr(rebuilt)
    assert codec.verify_signature(message, [key.verifying_key]) == key.verifying_key


def test_decoded_message_stays_frozen_and_read_only() -> None:
    message = codec.decode(_text()[0], canonical=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.kid = b"12345678"  # type: ignore[misc]
    with pytest.raises(TypeError):
        message.claims[codec.ISS] = "XX"  # type: ignore[index]
    with pytest.raises(TypeError):
        message.protected[1] = -8  # type: ignore[index]


@pytest.mark.parametrize(
    ("limits", "name"),
    [
        ({"max_text": True}, "max_text"),
        ({"max_text": 0}, "max_text"),
        ({"max_cose": 1.5}, "max_cose"),
        ({"max_cose": False}, "max_cose"),
        ({"max_depth": 129}, "max_depth"),
        ({"max_depth": 0}, "max_depth"),
    ],
)
def test_decode_still_refuses_bad_limits(limits: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        codec.decode(_text()[0], canonical=True, **limits)  # type: ignore[arg-type]
    assert name in caught.value.message


@pytest.mark.parametrize("value", [True, 1.5e400, "1893456000", b"\x00"])
def test_a_time_claim_that_is_not_a_finite_number_is_still_refused(value: object) -> None:
    claims = {codec.EXP: value}
    with pytest.raises(CertificateFormatError) as caught:
        codec.check_times(claims, at=datetime(2026, 1, 1, tzinfo=UTC))
    assert caught.value.context["reason"] == "cwt"
    assert caught.value.context["claim"] == "exp"


def _claims(**changes: object) -> dict[str, object]:
    licence = Licence(
        type="driving-licence",
        id=licence_id(DRIVING.type_code, AGENCY.uscc, "4401202600001"),
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        issuer=AGENCY,
        valid_from=date(2026, 1, 1),
        valid_until=date(2031, 6, 1),
        fields={
            "name": "张三丰",
            "licence_class": "C1",
            "first_issue_date": "2015-06-01",
            "file_number": "440100123456",
        },
        status_index=3,
    )
    claims = licence.to_claims(REGISTRY)
    claims.update(changes)
    return claims


def test_from_claims_with_the_trusted_agency_builds_the_checked_licence() -> None:
    claims = _claims()
    fast = Licence.from_claims(claims, REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
    slow = Licence.from_claims(claims, REGISTRY, agency_name=AGENCY.name)
    assert fast == slow
    assert fast.issuer is AGENCY
    DRIVING.check_licence(fast, allow_raw_id=True)


def test_forged_issuer_code_is_checked_when_it_is_not_the_trusted_agencys() -> None:
    # a licence whose identifier names an issuer code that is not a valid USCC (its
    # check character recomputed so that only the USCC is wrong)
    bad_uscc = AGENCY.uscc[:-1] + ("0" if AGENCY.uscc[-1] != "0" else "1")
    body = f"{DRIVING.type_code}{bad_uscc}4401202600001001"
    check = mod37_36_check_character(body)
    short_id = f"{DRIVING.type_code}.{bad_uscc}.4401202600001.001.{check}"
    claims = _claims(i=short_id)
    with pytest.raises(LicenceDataInvalid) as caught:
        Licence.from_claims(claims, REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
    assert caught.value.context["field"] == "id"
    assert caught.value.context["reason"] == "issuer_code"


def test_unregistered_type_code_is_still_unknown_type() -> None:
    other = "11100000000013338W999"
    check = mod37_36_check_character(f"{other}{AGENCY.uscc}4401202600001001")
    claims = _claims(i=f"{other}.{AGENCY.uscc}.4401202600001.001.{check}")
    with pytest.raises(LicenceDataInvalid) as caught:
        Licence.from_claims(claims, REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
    assert caught.value.context["reason"] == "unknown_type"


@pytest.mark.parametrize(
    ("index", "value", "reason"),
    [
        (0, "张三丰\u200b", "length"),  # a format character in a text field
        (1, "Z9", "choice"),
        (2, None, None),  # optional field left out: fine
        (3, "2015-02-30", "date"),
        (0, None, "missing"),
    ],
)
def test_field_refusals_keep_their_reason(index: int, value: object, reason: str | None) -> None:
    claims = _claims()
    values = list(claims["f"])  # type: ignore[call-overload]
    values[index] = value
    claims["f"] = values
    if reason is None:
        Licence.from_claims(claims, REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
        return
    with pytest.raises(LicenceDataInvalid) as caught:
        Licence.from_claims(claims, REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
    assert caught.value.context["reason"] == reason
    assert caught.value.context["field"] == DRIVING.fields[index].name


def test_check_licence_still_refuses_an_unknown_field_before_a_missing_one() -> None:
    licence = Licence.from_claims(_claims(), REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
    odd = dataclasses.replace(licence, fields={"nickname": "x"})
    with pytest.raises(LicenceDataInvalid) as caught:
        DRIVING.check_licence(odd)
    assert caught.value.context["reason"] == "unknown"
    assert caught.value.context["field"] == "nickname"


def test_check_licence_still_refuses_a_licence_of_another_type() -> None:
    licence = Licence.from_claims(_claims(), REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get("passport").check_licence(licence)
    assert caught.value.context["reason"] == "type"


def test_max_validity_edge_days_for_a_date_licence() -> None:
    fund = REGISTRY.get("housing-provident-fund")
    assert fund.max_validity == timedelta(days=93)
    fields = {
        "name": "张三丰",
        "account_number": "440100123456",
        "employer": "广州某公司",
        "deposit_status": "正常",
        "monthly_deposit_fen": 120000,
    }
    ident = licence_id(fund.type_code, AGENCY.uscc, "1")

    def make(days: int) -> Licence:
        start = date(2026, 1, 1)
        return Licence(
            type=fund.name,
            id=ident,
            holder=Holder("p-3f9a1c07d2", "pseudonym"),
            issuer=AGENCY,
            valid_from=start,
            valid_until=start + timedelta(days=days),
            fields=fields,
        )

    fund.check_licence(make(92))  # 93 whole days
    with pytest.raises(LicenceDataInvalid) as caught:
        fund.check_licence(make(93))
    assert caught.value.context["reason"] == "max_validity"


@pytest.mark.parametrize(
    ("change", "drop", "reason"),
    [
        ({"x": 1}, None, "keys"),  # an unknown key
        ({}, "i", "keys"),  # a missing required key
        ({"h": ["p", 7]}, None, "kind"),  # a holder pair that is not two texts
        ({"h": ["p"]}, None, "kind"),  # not a pair
        ({"v": ("2026-01-01", "2026-12-31", "x")}, None, "kind"),
    ],
)
def test_claims_refusals_are_the_same_for_a_dict_and_any_other_mapping(
    change: dict[str, object], drop: str | None, reason: str
) -> None:
    claims: dict[str, object] = {**_claims(), **change}
    if drop is not None:
        del claims[drop]
    for given in (claims, MappingProxyType(claims)):
        with pytest.raises(LicenceDataInvalid) as caught:
            Licence.from_claims(given, REGISTRY, agency_name=AGENCY.name, agency=AGENCY)
        assert caught.value.context["reason"] == reason


def test_claims_in_a_read_only_mapping_build_the_same_licence() -> None:
    claims = _claims()
    assert Licence.from_claims(
        MappingProxyType(claims), REGISTRY, agency_name=AGENCY.name, agency=AGENCY
    ) == Licence.from_claims(claims, REGISTRY, agency_name=AGENCY.name, agency=AGENCY)


def test_two_verifiers_do_not_share_what_decoding_remembers() -> None:
    key = SigningKey.generate("ES256")
    today = datetime.now(UTC).date()
    statuses = StatusList(1024, list_id="memo-test")
    issued = CertificateIssuer(key, agency=AGENCY, status=statuses).issue(
        "driving-licence",
        serial="4401202600001",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields={
            "name": "张三丰",
            "licence_class": "C1",
            "first_issue_date": "2015-06-01",
            "file_number": "440100123456",
        },
        valid_from=today - timedelta(days=30),
        valid_until=date(today.year + 5, 6, 1),
    )
    now = datetime.now(UTC)
    trust = TrustList(
        (TrustedIssuer(AGENCY, (TrustedKey.for_key(key.verifying_key, {"driving-licence"}),)),),
        1,
        now - timedelta(hours=1),
        now + timedelta(days=1),
    )
    first, second = (CertificateVerifier(trust, unsafe_skip_status=True) for _ in range(2))
    memo, other = first._codec_memo, second._codec_memo
    assert memo is not other
    assert first._presentations()._memo is memo  # presentations use the verifier's own
    assert second._presentations()._memo is other
    verified = first.verify(issued.qr_payload, at=now)
    assert first.verify(issued.qr_payload, at=now) == verified  # the second time from memory
    assert verified.licence.id == issued.id
    assert len(memo._headers) == 1
    assert memo._key_orders == {}  # the issuer's claims: read by their fixed-shape reader
    assert (other._headers, other._key_orders) == ({}, {})  # the other verifier's: untouched
    assert second.verify(issued.qr_payload, at=now) == verified
    assert len(other._headers) == 1
