"""Evidence for SM2 across govkit: identity tokens (JWS ``alg`` ``SM2``), licences (COSE
algorithm -65537) and trust lists that require SM2 for an issuer."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from govkit._encoding import b64url_encode, canonical_json
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
    codec,
    load_trust_list,
    sign_trust_list,
)
from govkit.errors import (
    ConfigurationError,
    IssuerNotAllowed,
    TokenAlgorithmRejected,
    TokenError,
    TrustListInvalid,
)
from govkit.identity import AssuranceLevel, TokenIssuer, TokenVerifier
from govkit.keys import KeyRing, SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
AGENCY = Agency("广东省公安厅交通管理局", "114400000069445123")
ALL_TYPES = frozenset(LicenceRegistry.default().names())
DRIVING = {
    "name": "张三",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}
ANCHOR = SigningKey.generate("SM2")


def header(token: str) -> dict[str, object]:
    part = token.split(".", maxsplit=1)[0]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


# --- identity tokens ------------------------------------------------------------------


def test_sm2_token_round_trip_with_alg_sm2() -> None:
    clock = FixedClock(T0)
    ring = KeyRing(SigningKey.generate("SM2"), clock=clock)
    token = TokenIssuer(ring, issuer=ISS, clock=clock).issue(
        "sub-1", AUD, AssuranceLevel.HIGH, timedelta(minutes=5)
    )
    assert header(token)["alg"] == "SM2"
    claims = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock).verify(token)
    assert claims.subject == "sub-1"


def test_sm2_token_with_tampered_payload_is_refused() -> None:
    clock = FixedClock(T0)
    ring = KeyRing(SigningKey.generate("SM2"), clock=clock)
    token = TokenIssuer(ring, issuer=ISS, clock=clock).issue(
        "sub-1", AUD, AssuranceLevel.HIGH, timedelta(minutes=5)
    )
    head, payload, signature = token.split(".")
    forged = ".".join(
        (head, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1:], signature)
    )
    with pytest.raises(TokenError):
        TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock).verify(forged)


def test_es256_header_on_an_sm2_key_is_an_algorithm_confusion() -> None:
    clock = FixedClock(T0)
    sm2 = SigningKey.generate("SM2")
    ring = KeyRing(sm2, clock=clock)
    token = TokenIssuer(ring, issuer=ISS, clock=clock).issue(
        "sub-1", AUD, AssuranceLevel.HIGH, timedelta(minutes=5)
    )
    head = base64.urlsafe_b64encode(json.dumps({**header(token), "alg": "ES256"}).encode()).rstrip(
        b"="
    )
    forged = head.decode() + token[token.index(".") :]
    with pytest.raises(TokenAlgorithmRejected):
        TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock).verify(forged)


# --- licences ------------------------------------------------------------------------------


def published(issuers: tuple[TrustedIssuer, ...]) -> TrustList:
    data = sign_trust_list(TrustList(issuers, 1, T0, T0 + timedelta(days=30)), ANCHOR)
    return load_trust_list(data, [ANCHOR.verifying_key], at=T0)


def issue(key: SigningKey) -> str:
    status = StatusList(8, list_id="sm2-domains")
    issuer = CertificateIssuer(key, agency=AGENCY, clock=FixedClock(T0), status=status)
    issued = issuer.issue(
        "driving-licence",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields=DRIVING,
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    return issued.qr_payload


def verifier(trust: TrustList) -> CertificateVerifier:
    # These tests are about the signature algorithm; revocation is covered elsewhere.
    return CertificateVerifier(trust, clock=FixedClock(T0), unsafe_skip_status=True)


def test_sm2_licence_uses_private_cose_algorithm_id() -> None:
    assert codec.COSE_ALGORITHMS["SM2"] == -65537
    assert codec.COSE_ALGORITHM_NAMES[-65537] == "SM2"
    key = SigningKey.generate("SM2")
    payload = issue(key)
    assert codec.decode(payload).alg == "SM2"
    trust = published((TrustedIssuer(AGENCY, (TrustedKey.for_key(key.verifying_key, ALL_TYPES),)),))
    verified = verifier(trust).verify(payload)
    assert verified.key.key.alg == "SM2"


def test_issuer_requiring_sm2_refuses_an_es256_licence() -> None:
    es256 = SigningKey.generate("ES256")
    trusted = TrustedKey.for_key(es256.verifying_key, ALL_TYPES)
    trust = published((TrustedIssuer(AGENCY, (trusted,), frozenset({"SM2"})),))
    with pytest.raises(IssuerNotAllowed) as caught:
        verifier(trust).verify(issue(es256))
    assert caught.value.context["reason"] == "algorithm"
    assert caught.value.context["alg"] == "ES256"


def test_issuer_requiring_sm2_accepts_an_sm2_licence() -> None:
    sm2 = SigningKey.generate("SM2")
    trusted = TrustedKey.for_key(sm2.verifying_key, ALL_TYPES)
    trust = published((TrustedIssuer(AGENCY, (trusted,), frozenset({"SM2"})),))
    assert verifier(trust).verify(issue(sm2)).key.key.alg == "SM2"


def test_required_algorithms_survive_signing_loading_and_list_updates() -> None:
    sm2 = SigningKey.generate("SM2")
    trusted = TrustedKey.for_key(sm2.verifying_key, ALL_TYPES)
    trust = published((TrustedIssuer(AGENCY, (trusted,), frozenset({"SM2"})),))
    assert trust.issuers[0].required_algorithms == frozenset({"SM2"})
    assert trust.issuers[0].to_json()["required_algorithms"] == ["SM2"]
    other = TrustedKey.for_key(SigningKey.generate("SM2").verifying_key, ALL_TYPES)
    updated = trust.with_key(AGENCY.uscc, other).withdraw(trusted.kid)
    assert updated.issuers[0].required_algorithms == frozenset({"SM2"})


def test_issuer_without_requirement_is_written_as_before() -> None:
    key = TrustedKey.for_key(SigningKey.generate("ES256").verifying_key, ALL_TYPES)
    assert "required_algorithms" not in TrustedIssuer(AGENCY, (key,)).to_json()


def test_unknown_required_algorithm_is_a_configuration_error() -> None:
    key = TrustedKey.for_key(SigningKey.generate("ES256").verifying_key, ALL_TYPES)
    with pytest.raises(ConfigurationError):
        TrustedIssuer(AGENCY, (key,), frozenset({"SM9"}))


@pytest.mark.parametrize("value", [[], ["SM9"], "SM2", ["SM2", "ES256"], ["ES256", "ES256"]])
def test_malformed_required_algorithms_in_a_trust_list_are_refused(value: object) -> None:
    key = TrustedKey.for_key(SigningKey.generate("ES256").verifying_key, ALL_TYPES)
    data = sign_trust_list(
        TrustList(
            (TrustedIssuer(AGENCY, (key,), frozenset({"ES256"})),), 1, T0, T0 + timedelta(days=1)
        ),
        ANCHOR,
    )
    document = json.loads(data)
    document["trust_list"]["issuers"][0]["required_algorithms"] = value
    signed = canonical_json({"type": document["type"], "trust_list": document["trust_list"]})
    document["signature"]["value"] = b64url_encode(ANCHOR.sign(signed))  # validly re-signed
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(canonical_json(document), [ANCHOR.verifying_key], at=T0)
    assert caught.value.context.get("member") == "required_algorithms"
