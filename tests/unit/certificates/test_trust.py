"""The signed trust list: round trip, forgery, tampering, staleness, permissions, rollback."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkit._encoding import b64url_encode, canonical_json
from govkit.certificates._envelope import sign_envelope
from govkit.certificates._model import Agency
from govkit.certificates._sources import TrustListSource
from govkit.certificates._status import StatusList, sign_status_list
from govkit.certificates._trust import (
    TRUST_LIST_TYPE,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    cose_kid,
    load_trust_list,
    sign_trust_list,
)
from govkit.errors import (
    ConfigurationError,
    GovkitError,
    IssuerNotAllowed,
    NaiveDatetimeError,
    TrustListError,
    TrustListInvalid,
    TrustListStale,
)
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("ES256")
OTHER_ANCHOR = SigningKey.generate("ES256")
POLICE_KEY = SigningKey.generate("ES256")
POLICE_OLD_KEY = SigningKey.generate("EdDSA")
MARKET_KEY = SigningKey.generate("ES256")
POLICE = Agency("广州市公安局", "11440100MB2C92923F")
MARKET = Agency("广州市市场监督管理局", "11440100MB2D12349N")


def make_trust_list(sequence: int = 1) -> TrustList:
    police = TrustedIssuer(
        POLICE,
        (
            TrustedKey.for_key(
                POLICE_KEY.verifying_key,
                {"driving-licence", "vehicle-licence"},
                not_before=T0 - timedelta(days=30),
                not_after=T0 + timedelta(days=365),
            ),
            TrustedKey.for_key(POLICE_OLD_KEY.verifying_key, {"driving-licence"}),
        ),
    )
    market = TrustedIssuer(
        MARKET, (TrustedKey.for_key(MARKET_KEY.verifying_key, {"business-licence"}),)
    )
    return TrustList((police, market), sequence, T0, T0 + timedelta(days=7))


def resign(body: dict[str, Any], anchor: SigningKey = ANCHOR) -> bytes:
    """Sign an arbitrary trust_list body, so parse strictness is tested past the signature."""
    return sign_envelope(TRUST_LIST_TYPE, "trust_list", body, anchor)


def police_key(trust_list: TrustList) -> tuple[TrustedIssuer, TrustedKey]:
    [candidate] = trust_list.candidates(cose_kid(POLICE_KEY.verifying_key))
    return candidate


# --- signing and loading --------------------------------------------------------------


def test_sign_and_load_round_trip() -> None:
    trust_list = make_trust_list()
    data = sign_trust_list(trust_list, ANCHOR)
    loaded = load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    assert loaded == trust_list
    assert loaded.to_json() == trust_list.to_json()


def test_wire_format() -> None:
    document = json.loads(sign_trust_list(make_trust_list(), ANCHOR))
    assert set(document) == {"type", "trust_list", "signature"}
    assert document["type"] == "govkit.trust-list/v1"
    assert set(document["signature"]) == {"alg", "kid", "value"}
    assert document["signature"]["kid"] == ANCHOR.kid
    body = document["trust_list"]
    assert body["issued_at"] == "2026-06-01T09:00:00Z"
    key = body["issuers"][0]["keys"][0]
    assert key["kid"] == b64url_encode(cose_kid(POLICE_KEY.verifying_key))
    assert key["licence_types"] == ["driving-licence", "vehicle-licence"]
    assert key["jwk"] == POLICE_KEY.verifying_key.to_jwk()


def test_cose_kid_is_the_truncated_spki_hash() -> None:
    kid = cose_kid(POLICE_KEY.verifying_key)
    assert len(kid) == 8
    assert kid == TrustedKey.for_key(POLICE_KEY.verifying_key, {"passport"}).kid


@pytest.mark.parametrize("signer", [ANCHOR, OTHER_ANCHOR], ids=["first", "second"])
def test_any_of_several_anchors_may_sign(signer: SigningKey) -> None:
    trust_list = make_trust_list()
    data = sign_trust_list(trust_list, signer)
    for anchors in ([ANCHOR, OTHER_ANCHOR], [OTHER_ANCHOR, ANCHOR]):
        loaded = load_trust_list(data, [a.verifying_key for a in anchors], at=T0)
        assert loaded == trust_list
        assert loaded.to_json() == trust_list.to_json()
        assert loaded.candidates(cose_kid(POLICE_KEY.verifying_key))


def test_a_list_signed_by_another_anchor_is_invalid() -> None:
    data = sign_trust_list(make_trust_list(), OTHER_ANCHOR)
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    assert caught.value.code == "trust.invalid"
    assert caught.value.context["reason"] == "unknown_key"


def test_an_impostor_claiming_the_anchors_kid_is_invalid() -> None:
    document = json.loads(sign_trust_list(make_trust_list(), OTHER_ANCHOR))
    document["signature"]["kid"] = ANCHOR.kid
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(canonical_json(document), [ANCHOR.verifying_key], at=T0)
    assert caught.value.context["reason"] == "signature"


def test_every_tampered_byte_is_detected() -> None:
    data = sign_trust_list(make_trust_list(), ANCHOR)
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(TrustListInvalid):
            load_trust_list(bytes(tampered), [ANCHOR.verifying_key], at=T0)


def test_a_status_list_signed_by_the_anchor_cannot_pass_as_a_trust_list() -> None:
    data = sign_status_list(
        StatusList(16, list_id="x"),
        ANCHOR,
        issued_at=T0,
        expires_at=T0 + timedelta(days=1),
        sequence=1,
    )
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    assert caught.value.context["reason"] == "wrong_type"


def test_an_oversized_document_is_refused_before_parsing() -> None:
    data = sign_trust_list(make_trust_list(), ANCHOR)
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0, max_bytes=len(data) - 1)
    assert caught.value.context["reason"] == "too_large"


def _body() -> dict[str, Any]:
    return make_trust_list().to_json()


def _key0(body: dict[str, Any]) -> dict[str, Any]:
    key: dict[str, Any] = body["issuers"][0]["keys"][0]
    return key


def _edit(change: Any) -> dict[str, Any]:
    body = _body()
    change(body)
    return body


# Unknown members of the body, an issuer or a key are ignored within major version 1
# (test_trust_versions.py); JWKs stay exact.
STRICTNESS: list[tuple[str, Any]] = [
    ("missing member", lambda b: b.pop("expires_at")),
    ("sequence as float", lambda b: b.update(sequence=1.0)),
    ("sequence as bool", lambda b: b.update(sequence=True)),
    ("negative sequence", lambda b: b.update(sequence=-1)),
    ("naive time", lambda b: b.update(issued_at="2026-06-01T09:00:00")),
    ("fractional time", lambda b: b.update(issued_at="2026-06-01T09:00:00.5Z")),
    ("offset time", lambda b: b.update(issued_at="2026-06-01T17:00:00+08:00")),
    ("impossible time", lambda b: b.update(issued_at="2026-02-30T09:00:00Z")),
    ("expiry before issue", lambda b: b.update(expires_at="2026-05-01T00:00:00Z")),
    ("issuers not a list", lambda b: b.update(issuers={})),
    ("issuer bad uscc", lambda b: b["issuers"][0].update(uscc="11440100MB2C92923E")),
    ("two issuers one uscc", lambda b: b["issuers"][1].update(uscc=POLICE.uscc)),
    ("jwk extra member", lambda b: _key0(b)["jwk"].update(x5u="https://evil")),
    ("jwk private", lambda b: _key0(b)["jwk"].update(d="AAAA")),
    ("jwk wrong kid", lambda b: _key0(b)["jwk"].update(kid="other")),
    ("kid too short", lambda b: _key0(b).update(kid="AAAA")),
    ("kid not base64url", lambda b: _key0(b).update(kid="!!!!!!!!!!!")),
    ("types not a list", lambda b: _key0(b).update(licence_types="driving-licence")),
    ("types duplicate", lambda b: _key0(b).update(licence_types=["passport", "passport"])),
    ("types empty", lambda b: _key0(b).update(licence_types=[])),
    ("type name malformed", lambda b: _key0(b).update(licence_types=["Driving Licence"])),
    ("withdrawn as int", lambda b: _key0(b).update(withdrawn=0)),
    ("window reversed", lambda b: _key0(b).update(not_after="2026-01-01T00:00:00Z")),
    (
        "one key for two issuers",
        lambda b: b["issuers"][1]["keys"].append(_key0(b)),
    ),
]


@pytest.mark.parametrize(("name", "change"), STRICTNESS, ids=[s[0] for s in STRICTNESS])
def test_loading_is_strict(name: str, change: Any) -> None:
    data = resign(_edit(change))
    with pytest.raises(TrustListInvalid):
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)


def test_duplicate_member_names_are_refused() -> None:
    data = sign_trust_list(make_trust_list(), ANCHOR)
    doubled = data.replace(b'"type":', b'"type":"x","type":', 1)
    with pytest.raises(TrustListInvalid) as caught:
        load_trust_list(doubled, [ANCHOR.verifying_key], at=T0)
    assert caught.value.context["reason"] == "json"


def test_anchors_must_be_given() -> None:
    data = sign_trust_list(make_trust_list(), ANCHOR)
    with pytest.raises(ConfigurationError):
        load_trust_list(data, [], at=T0)


# --- staleness ----------------------------------------------------------------------


def test_a_stale_list_raises_trust_stale() -> None:
    data = sign_trust_list(make_trust_list(), ANCHOR)
    with pytest.raises(TrustListStale) as caught:
        load_trust_list(data, [ANCHOR.verifying_key], at=T0 + timedelta(days=7))
    assert caught.value.code == "trust.stale"
    assert caught.value.context["expired"] == "2026-06-08T09:00:00Z"


def test_allow_stale_returns_the_list_and_is_stale_reports_it() -> None:
    data = sign_trust_list(make_trust_list(), ANCHOR)
    late = T0 + timedelta(days=8)
    loaded = load_trust_list(data, [ANCHOR.verifying_key], at=late, allow_stale=True)
    assert loaded.is_stale(late)
    assert not loaded.is_stale(T0)


def test_the_clock_is_used_when_at_is_not_given() -> None:
    data = sign_trust_list(make_trust_list(), ANCHOR)
    with pytest.raises(TrustListStale):
        load_trust_list(data, [ANCHOR.verifying_key], clock=FixedClock(T0 + timedelta(days=9)))
    with pytest.raises(NaiveDatetimeError):
        load_trust_list(data, [ANCHOR.verifying_key], at=datetime(2026, 6, 1))


# --- permissions --------------------------------------------------------------------


def test_a_permitted_key_passes() -> None:
    trust_list = make_trust_list()
    issuer, key = police_key(trust_list)
    trust_list.check_permission(issuer, key, "vehicle-licence", at=T0)


def test_a_withdrawn_key_is_not_allowed() -> None:
    trust_list = make_trust_list().withdraw(cose_kid(POLICE_KEY.verifying_key))
    issuer, key = police_key(trust_list)
    assert key.withdrawn
    with pytest.raises(IssuerNotAllowed) as caught:
        trust_list.check_permission(issuer, key, "driving-licence", at=T0)
    assert caught.value.context["reason"] == "withdrawn"


def test_a_key_signing_another_type_is_not_allowed() -> None:
    trust_list = make_trust_list()
    issuer, key = police_key(trust_list)
    with pytest.raises(IssuerNotAllowed) as caught:
        trust_list.check_permission(issuer, key, "business-licence", at=T0)
    assert caught.value.context["reason"] == "type"


@pytest.mark.parametrize(
    "at", [T0 - timedelta(days=31), T0 + timedelta(days=365), T0 + timedelta(days=400)]
)
def test_a_licence_issued_outside_the_key_window_is_not_allowed(at: datetime) -> None:
    trust_list = make_trust_list()
    issuer, key = police_key(trust_list)
    with pytest.raises(IssuerNotAllowed) as caught:
        trust_list.check_permission(issuer, key, "driving-licence", at=at)
    assert caught.value.context["reason"] == "window"


def test_a_key_from_another_list_is_unknown() -> None:
    trust_list = make_trust_list()
    issuer, _key = police_key(trust_list)
    stranger = TrustedKey.for_key(SigningKey.generate("EdDSA").verifying_key, {"passport"})
    with pytest.raises(IssuerNotAllowed) as caught:
        trust_list.check_permission(issuer, stranger, "passport", at=T0)
    assert caught.value.context["reason"] == "unknown"
    _, market_key = trust_list.candidates(cose_kid(MARKET_KEY.verifying_key))[0]
    with pytest.raises(IssuerNotAllowed):  # the market key presented as the police's
        trust_list.check_permission(issuer, market_key, "business-licence", at=T0)


def test_a_kid_collision_returns_every_candidate() -> None:
    kid = cose_kid(POLICE_KEY.verifying_key)
    twin = TrustedKey(MARKET_KEY.verifying_key, kid, frozenset({"business-licence"}))
    trust_list = TrustList(
        (
            TrustedIssuer(POLICE, (TrustedKey.for_key(POLICE_KEY.verifying_key, {"passport"}),)),
            TrustedIssuer(MARKET, (twin,)),
        ),
        1,
        T0,
        T0 + timedelta(days=1),
    )
    found = trust_list.candidates(kid)
    assert [k.key for _, k in found] == [POLICE_KEY.verifying_key, MARKET_KEY.verifying_key]
    assert [i.agency for i, _ in found] == [POLICE, MARKET]
    loaded = load_trust_list(sign_trust_list(trust_list, ANCHOR), [ANCHOR.verifying_key], at=T0)
    assert len(loaded.candidates(kid)) == 2


def test_an_unknown_kid_has_no_candidates() -> None:
    assert make_trust_list().candidates(b"\x00" * 8) == []


# --- builders -----------------------------------------------------------------------


def test_builders_return_new_lists_with_the_next_sequence() -> None:
    base = make_trust_list(sequence=5)
    new_key = TrustedKey.for_key(SigningKey.generate("ES256").verifying_key, {"passport"})
    added = base.with_key(MARKET.uscc, new_key)
    assert added.sequence == 6
    assert new_key in added.issuers[1].keys
    assert new_key not in base.issuers[1].keys
    replaced = added.with_issuer(TrustedIssuer(MARKET, ()))
    assert replaced.sequence == 7
    assert replaced.issuers[-1].keys == ()
    renewed = replaced.renewed(T0 + timedelta(days=7), T0 + timedelta(days=14))
    assert (renewed.sequence, renewed.issued_at) == (8, T0 + timedelta(days=7))
    with pytest.raises(ConfigurationError):
        base.with_key("91440101MA59ABCD1D", new_key)
    with pytest.raises(ConfigurationError):
        base.withdraw(b"\x00" * 8)


def test_model_values_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        TrustedKey(POLICE_KEY.verifying_key, b"short", frozenset({"passport"}))
    with pytest.raises(ConfigurationError):
        TrustedKey.for_key(POLICE_KEY.verifying_key, set())
    with pytest.raises(NaiveDatetimeError):
        TrustedKey.for_key(
            POLICE_KEY.verifying_key,
            {"passport"},
            not_before=datetime(2026, 1, 1),
        )
    with pytest.raises(ConfigurationError):
        TrustList((), 1, T0, T0)
    with pytest.raises(ConfigurationError):
        replace(make_trust_list(), sequence=-1)


def test_repr_shows_no_key_material() -> None:
    _, key = police_key(make_trust_list())
    assert POLICE_KEY.verifying_key.to_jwk()["x"] not in repr(key)


# --- the source (files; HTTP is in tests/integration) --------------------------------


def test_a_file_source_caches_and_refuses_rollback(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    clock = FixedClock(T0)
    path.write_bytes(sign_trust_list(make_trust_list(sequence=5), ANCHOR))
    source = TrustListSource(path, [ANCHOR.verifying_key], clock=clock, ttl=timedelta(minutes=5))
    assert source.get().sequence == 5
    path.write_bytes(sign_trust_list(make_trust_list(sequence=4), ANCHOR))
    clock.advance(timedelta(minutes=10))
    assert source.get().sequence == 5  # the rollback is refused, the good list stays
    with pytest.raises(TrustListError) as caught:
        source.refresh()
    assert caught.value.context["reason"] == "rollback"
    path.write_bytes(sign_trust_list(make_trust_list(sequence=6), ANCHOR))
    assert source.refresh().sequence == 6
    assert source.sequence == 6


def test_a_file_source_refuses_a_different_list_with_the_same_sequence(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_bytes(sign_trust_list(make_trust_list(sequence=5), ANCHOR))
    source = TrustListSource(path, [ANCHOR.verifying_key], clock=FixedClock(T0))
    source.get()
    source.refresh()  # the same list again is fine
    other = make_trust_list(sequence=4).withdraw(cose_kid(MARKET_KEY.verifying_key))
    path.write_bytes(sign_trust_list(other, ANCHOR))
    with pytest.raises(TrustListError) as caught:
        source.refresh()
    assert caught.value.context["reason"] == "equivocation"


def test_min_sequence_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_bytes(sign_trust_list(make_trust_list(sequence=3), ANCHOR))
    source = TrustListSource(path, [ANCHOR.verifying_key], clock=FixedClock(T0), min_sequence=4)
    with pytest.raises(TrustListError) as caught:
        source.get()
    assert caught.value.context["reason"] == "rollback"


def test_a_file_source_reports_why_nothing_is_usable(tmp_path: Path) -> None:
    source = TrustListSource(
        tmp_path / "missing.json", [ANCHOR.verifying_key], clock=FixedClock(T0)
    )
    with pytest.raises(TrustListError) as caught:
        source.get()
    assert (caught.value.code, caught.value.context["reason"]) == ("trust.unavailable", "io")
    forged = tmp_path / "forged.json"
    forged.write_bytes(sign_trust_list(make_trust_list(), OTHER_ANCHOR))
    with pytest.raises(TrustListError) as caught:
        TrustListSource(forged, [ANCHOR.verifying_key], clock=FixedClock(T0)).get()
    assert caught.value.context["reason"] == "invalid"
    assert caught.value.context["cause"] == "trust.invalid"


def test_a_source_raises_stale_unless_allowed_and_bounds_it_with_max_stale(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trust.json"
    path.write_bytes(sign_trust_list(make_trust_list(), ANCHOR))
    clock = FixedClock(T0)
    source = TrustListSource(path, [ANCHOR.verifying_key], clock=clock, max_stale=timedelta(days=1))
    source.get()
    clock.advance(timedelta(days=7, hours=1))
    with pytest.raises(TrustListStale):
        source.get()
    assert source.get(allow_stale=True).is_stale(clock.now())
    clock.advance(timedelta(days=1))
    with pytest.raises(TrustListStale) as caught:
        source.get(allow_stale=True)
    assert caught.value.context["reason"] == "max_stale"


@pytest.mark.parametrize(
    "location",
    ["http://trust.example.gov.cn/list.json", "https://user:pw@trust.example.gov.cn/x", ""],
)
def test_a_source_refuses_unsafe_locations(location: str) -> None:
    with pytest.raises(ConfigurationError):
        TrustListSource(location, [ANCHOR.verifying_key])


# --- hypothesis -----------------------------------------------------------------------


@given(st.binary(max_size=512))
def test_load_arbitrary_bytes_returns_a_list_or_a_govkit_error(data: bytes) -> None:
    with contextlib.suppress(GovkitError):
        load_trust_list(data, [ANCHOR.verifying_key], at=T0)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=15,
)
KEY_NAMES = st.sampled_from(
    ["sequence", "issued_at", "expires_at", "issuers", "name", "uscc", "keys", "jwk", "kid"]
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEY_NAMES, JSON_VALUES, max_size=6))
def test_load_arbitrary_signed_bodies_returns_a_list_or_a_govkit_error(
    body: dict[str, Any],
) -> None:
    with contextlib.suppress(GovkitError):
        load_trust_list(resign(body), [ANCHOR.verifying_key], at=T0)


@given(st.sampled_from(sorted(_key0(_body()))), JSON_VALUES)
def test_load_a_signed_list_with_one_key_member_replaced(member: str, value: Any) -> None:
    body = _body()
    _key0(body)[member] = value
    with contextlib.suppress(GovkitError):
        load_trust_list(resign(body), [ANCHOR.verifying_key], at=T0)
