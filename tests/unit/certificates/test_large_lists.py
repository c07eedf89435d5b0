"""Trust and status lists of real size: 100,000 issuers, 10,000,000 entries.

The index behind :meth:`TrustList.candidates` and :meth:`TrustList.check_permission`,
the issuer limit and the byte limits that follow from it, duplicate kids, and the
status list's size limit. How long these take is measured in ``benchmarks/lists.py``,
not asserted here.
"""

from __future__ import annotations

import gc
import json
import os
import random
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from govkit._encoding import b64url_encode, canonical_json
from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    Status,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_status_list,
    load_trust_list,
    sign_status_list,
    sign_trust_list,
)
from govkit.certificates._envelope import sign_envelope
from govkit.certificates._identifier import is_uscc
from govkit.certificates._status import (
    MAX_STATUS_LIST_SIZE,
    STATUS_LIST_MAX_BYTES,
    STATUS_LIST_TYPE,
    _max_document_bytes,
)
from govkit.certificates._trust import (
    MAX_TRUSTED_ISSUERS,
    TRUST_LIST_BYTES_PER_ISSUER,
    TRUST_LIST_MAX_BYTES,
    TRUST_LIST_TYPE,
)
from govkit.errors import (
    ConfigurationError,
    IssuerNotAllowed,
    StatusListInvalid,
    TrustListInvalid,
)
from govkit.keys import SigningKey, VerifyingKey
from govkit.testing import FixedClock

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("ES256")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
FIELDS = {
    "name": "张三丰",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}


def uscc(number: int) -> str:
    """The ``number``-th made-up USCC in Guangzhou, with its GB 32100 check character."""
    body = f"11440100{number:09d}"
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[-total % 31]


def filler_key(rng: random.Random) -> VerifyingKey:
    """A public key nobody can sign with: 32 random bytes as an Ed25519 key.

    Generating 100,000 real key pairs would take most of the test's time; only the
    signer needs a private key, and the list treats every key alike.
    """
    return VerifyingKey(ed25519.Ed25519PublicKey.from_public_bytes(rng.randbytes(32)))


def make_issuer(number: int, key: VerifyingKey, types: set[str] | None = None) -> TrustedIssuer:
    return TrustedIssuer(
        Agency(f"广东省测试机构第{number}号", uscc(number)),
        (TrustedKey.for_key(key, types or {"driving-licence"}),),
    )


def issue(issuer: CertificateIssuer) -> str:
    issued = issuer.issue(
        "driving-licence",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields=FIELDS,
        valid_from=date(2026, 1, 1),
        valid_until=date(2031, 6, 1),
    )
    return issued.qr_payload


@dataclass(frozen=True)
class BigList:
    """A 100,000-issuer list whose last issuer holds the only usable signing key."""

    issuers: tuple[TrustedIssuer, ...]
    data: bytes
    loaded: TrustList
    signer: SigningKey
    statuses: StatusList


@pytest.fixture(scope="module")
def big() -> BigList:
    rng = random.Random(14)
    signer = SigningKey.generate("ES256")
    issuers = tuple(make_issuer(n, filler_key(rng)) for n in range(MAX_TRUSTED_ISSUERS - 1))
    issuers += (make_issuer(MAX_TRUSTED_ISSUERS - 1, signer.verifying_key),)
    trust = TrustList(issuers, 1, T0 - timedelta(days=1), T0 + timedelta(days=7))
    data = sign_trust_list(trust, ANCHOR)
    loaded = load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    return BigList(issuers, data, loaded, signer, StatusList(1024, list_id="gd-test-last"))


def verifier_for(big: BigList) -> CertificateVerifier:
    status = sign_status_list(
        big.statuses,
        big.signer,
        issued_at=T0 - timedelta(hours=1),
        expires_at=T0 + timedelta(days=1),
        sequence=1,
    )
    signed_status = load_status_list(status, [big.signer.verifying_key], at=T0)
    return CertificateVerifier(big.loaded, status=signed_status, clock=FixedClock(T0))


# --- 100,000 issuers ------------------------------------------------------------------


@pytest.mark.slow
def test_a_100000_issuer_list_builds_signs_loads_and_verifies(big: BigList) -> None:
    assert len(big.loaded.issuers) == MAX_TRUSTED_ISSUERS
    assert len(big.data) <= TRUST_LIST_MAX_BYTES  # the default max_bytes let it in
    assert big.loaded.issuers == big.issuers


@pytest.mark.slow
def test_the_signer_placed_last_is_found(big: BigList) -> None:
    last = big.issuers[-1]
    issuer = CertificateIssuer(
        big.signer, agency=last.agency, status=big.statuses, clock=FixedClock(T0)
    )
    verified = verifier_for(big).verify(issue(issuer))
    assert verified.issuer.agency == last.agency
    assert verified.issuer is big.loaded.issuers[-1]
    assert verified.key.key == big.signer.verifying_key
    assert verified.status is Status.VALID


@pytest.mark.slow
def test_a_key_of_the_last_issuer_claiming_the_first_agency_is_refused(big: BigList) -> None:
    """A's key signs a licence naming B as its issuer: refused as before the index."""
    impostor = CertificateIssuer(
        big.signer, agency=big.issuers[0].agency, status=big.statuses, clock=FixedClock(T0)
    )
    with pytest.raises(IssuerNotAllowed) as caught:
        verifier_for(big).verify(issue(impostor))
    assert caught.value.code == "certificate.issuer_not_allowed"
    assert caught.value.context["reason"] == "agency"


@pytest.mark.slow
def test_the_index_finds_every_issuers_key(big: BigList) -> None:
    loaded = big.loaded
    for position in (0, 1, 50_000, MAX_TRUSTED_ISSUERS - 2, MAX_TRUSTED_ISSUERS - 1):
        issuer = loaded.issuers[position]
        [(found_issuer, found_key)] = loaded.candidates(issuer.keys[0].kid)
        assert found_issuer is issuer
        assert found_key is issuer.keys[0]
        loaded.check_permission(found_issuer, found_key, "driving-licence", at=T0)


@pytest.mark.slow
def test_one_issuer_over_the_limit_is_refused_when_built(big: BigList) -> None:
    extra = make_issuer(MAX_TRUSTED_ISSUERS, filler_key(random.Random(15)))
    with pytest.raises(ConfigurationError) as caught:
        TrustList((*big.issuers, extra), 2, T0, T0 + timedelta(days=7))
    assert caught.value.context["limit"] == MAX_TRUSTED_ISSUERS
    assert caught.value.context["issuers"] == MAX_TRUSTED_ISSUERS + 1
    with pytest.raises(ConfigurationError) as caught:
        big.loaded.with_issuer(extra)
    assert caught.value.context["limit"] == MAX_TRUSTED_ISSUERS


def test_one_issuer_over_the_limit_is_refused_when_loaded() -> None:
    """Counted before any issuer is parsed: 100,001 empty entries are enough."""
    body = {
        "sequence": 1,
        "issued_at": "2026-06-01T09:00:00Z",
        "expires_at": "2026-06-08T09:00:00Z",
        "issuers": [{}] * (MAX_TRUSTED_ISSUERS + 1),
    }
    data = sign_envelope(TRUST_LIST_TYPE, "trust_list", body, ANCHOR)
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    assert caught.value.code == "trust.invalid"
    assert caught.value.context["reason"] == "too_many"
    assert caught.value.context["limit"] == MAX_TRUSTED_ISSUERS


def test_the_byte_limit_follows_from_the_issuer_limit() -> None:
    assert TRUST_LIST_MAX_BYTES == 64 * 1024 + TRUST_LIST_BYTES_PER_ISSUER * MAX_TRUSTED_ISSUERS
    assert MAX_TRUSTED_ISSUERS >= 100_000


def test_an_issuer_with_two_p256_keys_and_a_long_name_fits_its_byte_budget() -> None:
    window = {"not_before": T0, "not_after": T0 + timedelta(days=365)}
    keys = tuple(
        TrustedKey.for_key(
            SigningKey.generate("ES256").verifying_key, {"driving-licence"}, **window
        )
        for _ in range(2)
    )
    issuer = TrustedIssuer(Agency("广东省公安厅交通管理局" * 4, uscc(1)), keys)
    assert len(canonical_json(issuer.to_json())) + 1 <= TRUST_LIST_BYTES_PER_ISSUER


def test_a_document_over_the_byte_limit_is_refused_before_parsing() -> None:
    data = b"{" + b" " * TRUST_LIST_MAX_BYTES + b"}"
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    assert caught.value.context["reason"] == "too_large"


# --- permission by identity -----------------------------------------------------------

POLICE_KEY = SigningKey.generate("ES256")
OTHER_KEY = SigningKey.generate("ES256")
POLICE = Agency("广州市公安局", "11440100MB2C92923F")


def small_list() -> TrustList:
    police = TrustedIssuer(
        POLICE, (TrustedKey.for_key(POLICE_KEY.verifying_key, {"driving-licence"}),)
    )
    namesake = TrustedIssuer(  # the same name, another USCC and key
        Agency("广州市公安局", uscc(7)),
        (TrustedKey.for_key(OTHER_KEY.verifying_key, {"passport"}),),
    )
    return TrustList((police, namesake), 1, T0, T0 + timedelta(days=7))


def test_an_issuer_that_looks_like_the_listed_one_but_claims_more_types_is_unknown() -> None:
    trust = small_list()
    listed = trust.issuers[0]
    widened = TrustedKey(
        listed.keys[0].key, listed.keys[0].kid, frozenset({"driving-licence", "passport"})
    )
    lookalike = TrustedIssuer(POLICE, (widened,))
    assert lookalike.agency == listed.agency
    assert widened.key == listed.keys[0].key
    with pytest.raises(IssuerNotAllowed) as caught:
        trust.check_permission(lookalike, widened, "passport", at=T0)
    assert caught.value.context["reason"] == "unknown"
    with pytest.raises(IssuerNotAllowed) as caught:  # the listed issuer, the forged key
        trust.check_permission(listed, widened, "passport", at=T0)
    assert caught.value.context["reason"] == "unknown"


def test_the_namesake_issuer_cannot_lend_its_permission_to_another_key() -> None:
    trust = small_list()
    police, namesake = trust.issuers
    assert police.agency.name == namesake.agency.name
    with pytest.raises(IssuerNotAllowed) as caught:
        trust.check_permission(namesake, police.keys[0], "driving-licence", at=T0)
    assert caught.value.context["reason"] == "unknown"
    with pytest.raises(IssuerNotAllowed) as caught:
        trust.check_permission(police, namesake.keys[0], "passport", at=T0)
    assert caught.value.context["reason"] == "unknown"


def test_an_equal_copy_of_the_listed_pair_is_the_same_permission() -> None:
    trust = small_list()
    listed = trust.issuers[0]
    copy = replace(listed, keys=tuple(replace(k) for k in listed.keys))
    assert copy == listed
    assert copy is not listed
    assert copy.keys[0] is not listed.keys[0]
    trust.check_permission(copy, copy.keys[0], "driving-licence", at=T0)


def test_a_withdrawn_key_in_a_newer_list_is_unknown_to_it_with_the_old_objects() -> None:
    old = small_list()
    issuer, key = old.issuers[0], old.issuers[0].keys[0]
    newer = old.withdraw(key.kid)
    with pytest.raises(IssuerNotAllowed) as caught:  # the old, not withdrawn, pair
        newer.check_permission(issuer, key, "driving-licence", at=T0)
    assert caught.value.context["reason"] == "unknown"


# --- duplicate kids -------------------------------------------------------------------


def _sharing(count: int, kid: bytes) -> tuple[TrustedIssuer, ...]:
    rng = random.Random(count)
    return tuple(
        TrustedIssuer(
            Agency(f"共用密钥标识机构{n}", uscc(100 + n)),
            (TrustedKey(filler_key(rng), kid, frozenset({"passport"})),),
        )
        for n in range(count)
    )


def test_eight_keys_may_share_a_kid_and_all_are_candidates() -> None:
    kid = bytes(range(8))
    issuers = _sharing(8, kid)
    trust = TrustList(issuers, 1, T0, T0 + timedelta(days=7))
    assert [i for i, _ in trust.candidates(kid)] == list(issuers)
    loaded = load_trust_list(sign_trust_list(trust, ANCHOR), [ANCHOR.verifying_key], at=T0)
    assert [i.agency for i, _ in loaded.candidates(kid)] == [i.agency for i in issuers]


def test_a_ninth_key_sharing_a_kid_is_refused() -> None:
    """Each key sharing a kid costs the verifier a signature check: bounded."""
    kid = bytes(range(8))
    with pytest.raises(ConfigurationError) as caught:
        TrustList(_sharing(9, kid), 1, T0, T0 + timedelta(days=7))
    assert caught.value.context["kid"] == kid.hex()
    body = TrustList(_sharing(8, kid), 1, T0, T0 + timedelta(days=7)).to_json()
    extra = TrustedIssuer(
        Agency("共用密钥标识机构8", uscc(108)),
        (TrustedKey(filler_key(random.Random(99)), kid, frozenset({"passport"})),),
    )
    body["issuers"].append(extra.to_json())
    data = sign_envelope(TRUST_LIST_TYPE, "trust_list", body, ANCHOR)
    with pytest.raises(TrustListInvalid) as caught_load:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    assert caught_load.value.context["reason"] == "content"


def test_candidates_of_something_that_is_not_a_kid_are_none() -> None:
    trust = small_list()
    assert trust.candidates("not bytes") == []  # type: ignore[arg-type]
    assert trust.candidates(b"\x00" * 8) == []


# --- the signed bytes -------------------------------------------------------------------


def test_the_document_is_the_canonical_json_of_the_whole() -> None:
    data = sign_trust_list(small_list(), ANCHOR)
    assert canonical_json(json.loads(data)) == data


def test_a_re_serialised_document_still_verifies() -> None:
    """Spaces and another member order: the signature is checked over canonical JSON."""
    trust = small_list()
    document = json.loads(sign_trust_list(trust, ANCHOR))
    spaced = json.dumps(
        {"type": document["type"], "trust_list": document["trust_list"], **document},
        indent=2,
        ensure_ascii=True,
    ).encode()
    assert load_trust_list(spaced, [ANCHOR.verifying_key], at=T0) == trust


def test_a_signature_moved_onto_another_body_fails() -> None:
    """The cut-out signed text is only trusted when the signature verifies over it."""
    first = sign_trust_list(small_list(), ANCHOR)
    second = json.loads(sign_trust_list(small_list().renewed(T0, T0 + timedelta(days=9)), ANCHOR))
    signature = json.loads(first)["signature"]
    forged = canonical_json({**second, "signature": signature})
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(forged, [ANCHOR.verifying_key], at=T0)
    assert caught.value.context["reason"] == "signature"


# --- status lists ---------------------------------------------------------------------


def _revoke_five_percent(statuses: StatusList, seed: int) -> list[int]:
    chosen = random.Random(seed).sample(range(statuses.size), statuses.size // 20)
    for index in chosen:
        statuses.set(index, Status.REVOKED)
    return chosen


@pytest.mark.slow
def test_a_10_million_entry_list_with_5_percent_revoked_round_trips() -> None:
    key = SigningKey.generate("EdDSA")
    statuses = StatusList(10_000_000, list_id="gd-10m")
    revoked = _revoke_five_percent(statuses, 10)
    statuses.set(9_999_999, Status.SUSPENDED)
    data = sign_status_list(
        statuses, key, issued_at=T0, expires_at=T0 + timedelta(days=1), sequence=1
    )
    assert len(data) < STATUS_LIST_MAX_BYTES
    loaded = load_status_list(data, [key.verifying_key], at=T0)
    assert loaded.size == 10_000_000
    assert loaded.bits == bytes(statuses._bits)  # the whole list, exactly
    assert all(loaded.status(i) is Status.REVOKED for i in revoked[:1000])
    assert loaded.status(9_999_999) is Status.SUSPENDED


def test_the_status_byte_limit_admits_the_least_compressible_list() -> None:
    """zlib's worst case for the largest list, in base64url, fits the default limit."""
    raw = os.urandom((MAX_STATUS_LIST_SIZE * 2) // 8)
    assert len(b64url_encode(zlib.compress(raw, 6))) + 4096 <= STATUS_LIST_MAX_BYTES
    assert len(b64url_encode(zlib.compress(raw, 9))) + 4096 <= STATUS_LIST_MAX_BYTES
    assert _max_document_bytes(MAX_STATUS_LIST_SIZE) == STATUS_LIST_MAX_BYTES


@pytest.mark.slow
def test_the_largest_list_with_random_statuses_loads_with_the_defaults() -> None:
    key = SigningKey.generate("EdDSA")
    # Random bytes with every 2-bit value 3 turned into 2: valid and barely compressible.
    no_threes = bytes(b & ~(b & (b >> 1) & 0x55) for b in range(256))
    raw = os.urandom(MAX_STATUS_LIST_SIZE // 4).translate(no_threes)
    state = {
        "type": "govkit.status-list-state/v1",
        "id": "gd-largest",
        "bits": 2,
        "size": MAX_STATUS_LIST_SIZE,
        "next": MAX_STATUS_LIST_SIZE,
        "lst": b64url_encode(zlib.compress(raw, 1)),
    }
    statuses = StatusList.from_json(state)
    data = sign_status_list(
        statuses, key, issued_at=T0, expires_at=T0 + timedelta(days=1), sequence=1
    )
    assert len(data) <= STATUS_LIST_MAX_BYTES
    loaded = load_status_list(data, [key.verifying_key], at=T0)
    assert loaded.bits == raw


def test_a_status_document_over_the_byte_limit_is_refused_before_parsing() -> None:
    key = SigningKey.generate("EdDSA")
    body: dict[str, Any] = {
        "id": "x",
        "bits": 2,
        "size": 8,
        "sequence": 1,
        "issued_at": "2026-06-01T09:00:00Z",
        "expires_at": "2026-06-02T09:00:00Z",
        "lst": "A" * STATUS_LIST_MAX_BYTES,
    }
    data = sign_envelope(STATUS_LIST_TYPE, "status_list", body, key)
    with pytest.raises(StatusListInvalid) as caught:
        load_status_list(data, [key.verifying_key], at=T0)
    assert caught.value.context["reason"] == "too_large"


def test_a_zlib_bomb_declaring_the_largest_size_is_refused() -> None:
    """A 2**24-entry list inflates to exactly 4 MiB; 64 MiB of zeros is refused."""
    key = SigningKey.generate("EdDSA")
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MiB of zeros, ~65 KB
    body: dict[str, Any] = {
        "id": "bomb",
        "bits": 2,
        "size": MAX_STATUS_LIST_SIZE,
        "sequence": 1,
        "issued_at": "2026-06-01T09:00:00Z",
        "expires_at": "2026-06-02T09:00:00Z",
        "lst": b64url_encode(bomb),
    }
    data = sign_envelope(STATUS_LIST_TYPE, "status_list", body, key)
    with pytest.raises(StatusListInvalid) as caught:
        load_status_list(data, [key.verifying_key], at=T0)
    assert caught.value.context["reason"] == "zlib"


def test_uscc_helper_makes_valid_codes() -> None:
    assert all(is_uscc(uscc(n)) for n in (0, 1, 99_999, 100_000))


# --- the collector pause ----------------------------------------------------------------


def _list_over_one_mib() -> bytes:
    rng = random.Random(16)
    issuers = tuple(make_issuer(n, filler_key(rng)) for n in range(3600))
    data = sign_trust_list(TrustList(issuers, 1, T0, T0 + timedelta(days=7)), ANCHOR)
    assert len(data) > 1024 * 1024
    return data


def test_loading_a_large_list_leaves_the_garbage_collector_as_it_found_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _list_over_one_mib()
    during: list[bool] = []
    parse = TrustList.from_json.__func__  # type: ignore[attr-defined]

    def spy(cls: type[TrustList], body: object) -> TrustList:
        during.append(gc.isenabled())
        return parse(cls, body)  # type: ignore[no-any-return]

    monkeypatch.setattr(TrustList, "from_json", classmethod(spy))
    assert gc.isenabled()
    assert len(load_trust_list(data, [ANCHOR.verifying_key], at=T0).issuers) == 3600
    assert during == [False]  # paused while the list was parsed
    assert gc.isenabled()
    tampered = data[:-40] + b"X" + data[-39:]
    with pytest.raises(TrustListInvalid):
        load_trust_list(tampered, [ANCHOR.verifying_key], at=T0)
    assert gc.isenabled()
    gc.disable()
    try:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)
        assert not gc.isenabled()  # an app that turned it off keeps it off
    finally:
        gc.enable()
