"""The trust list's ``pdf_signers``: who may sign an issuer's licence PDFs (issue #17, item 4).

Round trip, the wire form, strict loading, lists written before the member existed, the
model's limits, the builder and the matching rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit.certificates._envelope import sign_envelope
from govkit.certificates._model import Agency
from govkit.certificates._trust import (
    TRUST_LIST_TYPE,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_trust_list,
    sign_trust_list,
)
from govkit.errors import ConfigurationError, GovkitError, TrustListInvalid
from govkit.keys import SigningKey

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("ES256")
POLICE_KEY = SigningKey.generate("ES256")
MARKET_KEY = SigningKey.generate("ES256")
POLICE = Agency("广州市公安局", "11440100MB2C92923F")
MARKET = Agency("广州市市场监督管理局", "11440100MB2D12349N")
HASH_1 = hashlib.sha256(b"agency signing certificate 1").digest()
HASH_2 = hashlib.sha256(b"agency signing certificate 2").digest()
POLICE_ID = f"organizationIdentifier=NTRCN-{POLICE.uscc}"


def police(**signers: Any) -> TrustedIssuer:
    key = TrustedKey.for_key(POLICE_KEY.verifying_key, {"driving-licence"})
    return TrustedIssuer(POLICE, (key,), **signers)


def market() -> TrustedIssuer:
    return TrustedIssuer(
        MARKET, (TrustedKey.for_key(MARKET_KEY.verifying_key, {"business-licence"}),)
    )


def make_list(**signers: Any) -> TrustList:
    return TrustList((police(**signers), market()), 1, T0, T0 + timedelta(days=7))


def load(data: bytes) -> TrustList:
    return load_trust_list(data, [ANCHOR.verifying_key], at=T0)


def resign(body: dict[str, Any]) -> bytes:
    return sign_envelope(TRUST_LIST_TYPE, "trust_list", body, ANCHOR)


SIGNED = make_list(
    pdf_signer_spki=frozenset({HASH_2, HASH_1}),
    pdf_signer_subjects=frozenset({POLICE_ID, "serialNumber=GD-POLICE-0001"}),
)


# --- round trip and wire form ---------------------------------------------------------------


def test_pdf_signers_round_trip_through_a_signed_list() -> None:
    loaded = load(sign_trust_list(SIGNED, ANCHOR))
    assert loaded == SIGNED
    assert loaded.to_json() == SIGNED.to_json()
    issuer = loaded.issuers[0]
    assert issuer.pdf_signer_spki == frozenset({HASH_1, HASH_2})
    assert issuer.pdf_signer_subjects == frozenset({POLICE_ID, "serialNumber=GD-POLICE-0001"})


def test_pdf_signers_wire_form_is_sorted_lowercase_hex_and_subject_ids() -> None:
    body = json.loads(sign_trust_list(SIGNED, ANCHOR))["trust_list"]
    assert body["issuers"][0]["pdf_signers"] == {
        "spki_sha256": sorted([HASH_1.hex(), HASH_2.hex()]),
        "subjects": [POLICE_ID, "serialNumber=GD-POLICE-0001"],
    }
    assert "pdf_signers" not in body["issuers"][1]  # written only when there is one


def test_one_kind_alone_is_written_alone() -> None:
    only_subjects = make_list(pdf_signer_subjects=frozenset({POLICE_ID}))
    assert only_subjects.to_json()["issuers"][0]["pdf_signers"] == {"subjects": [POLICE_ID]}
    assert load(sign_trust_list(only_subjects, ANCHOR)) == only_subjects


def test_a_list_written_before_pdf_signers_existed_still_loads() -> None:
    """An older list, as its JSON was written by hand: no pdf_signers member anywhere."""
    older = {
        "sequence": 3,
        "issued_at": "2026-06-01T09:00:00Z",
        "expires_at": "2026-06-08T09:00:00Z",
        "issuers": [
            {
                "name": POLICE.name,
                "uscc": POLICE.uscc,
                "keys": [
                    TrustedKey.for_key(POLICE_KEY.verifying_key, {"driving-licence"}).to_json()
                ],
            }
        ],
    }
    loaded = load(resign(older))
    assert loaded.sequence == 3
    assert loaded.issuers[0].pdf_signer_spki == frozenset()
    assert loaded.issuers[0].pdf_signer_subjects == frozenset()
    assert loaded.to_json() == older  # and it is written back unchanged


# --- strict loading ----------------------------------------------------------------------------


def _signers(body: dict[str, Any]) -> dict[str, Any]:
    signers: dict[str, Any] = body["issuers"][0]["pdf_signers"]
    return signers


def _edit(change: Any) -> dict[str, Any]:
    body = SIGNED.to_json()
    change(body)
    return body


STRICTNESS: list[tuple[str, Any]] = [
    ("pdf_signers empty", lambda b: b["issuers"][0].update(pdf_signers={})),
    ("pdf_signers not an object", lambda b: b["issuers"][0].update(pdf_signers=[])),
    ("spki empty array", lambda b: _signers(b).update(spki_sha256=[])),
    ("spki not an array", lambda b: _signers(b).update(spki_sha256=HASH_1.hex())),
    ("spki uppercase hex", lambda b: _signers(b).update(spki_sha256=[HASH_1.hex().upper()])),
    ("spki base64url", lambda b: _signers(b).update(spki_sha256=["q" * 43])),
    ("spki 31 bytes", lambda b: _signers(b).update(spki_sha256=[HASH_1.hex()[:62]])),
    ("spki unsorted", lambda b: _signers(b)["spki_sha256"].reverse()),
    ("spki duplicate", lambda b: _signers(b).update(spki_sha256=[HASH_1.hex()] * 2)),
    (
        "spki too many",
        lambda b: _signers(b).update(
            spki_sha256=sorted(hashlib.sha256(bytes([i])).hexdigest() for i in range(65))
        ),
    ),
    ("spki number", lambda b: _signers(b).update(spki_sha256=[1])),
    ("subjects empty array", lambda b: _signers(b).update(subjects=[])),
    ("subject another attribute", lambda b: _signers(b).update(subjects=["CN=广州市公安局"])),
    ("subject empty value", lambda b: _signers(b).update(subjects=["serialNumber="])),
    ("subject control character", lambda b: _signers(b).update(subjects=["serialNumber=a\nb"])),
    ("subject too long", lambda b: _signers(b).update(subjects=["serialNumber=" + "1" * 129])),
    ("subjects unsorted", lambda b: _signers(b)["subjects"].reverse()),
    ("subjects duplicate", lambda b: _signers(b).update(subjects=[POLICE_ID, POLICE_ID])),
]


@pytest.mark.parametrize(("name", "change"), STRICTNESS, ids=[s[0] for s in STRICTNESS])
def test_loading_pdf_signers_is_strict(name: str, change: Any) -> None:
    with pytest.raises(TrustListInvalid) as caught:
        load(resign(_edit(change)))
    assert caught.value.context["reason"] == "layout"


def test_a_signer_kind_this_release_does_not_know_authorises_nobody() -> None:
    """Within version 1 unknown members are skipped (a later minor version may add a kind
    of signer id); skipping one can only leave the issuer with fewer signers: fail closed."""
    body = SIGNED.to_json()
    body["issuers"][0]["pdf_signers"] = {"subject_dn": ["CN=广州市公安局,C=CN"]}
    issuer = load(resign(body)).issuers[0]
    assert (issuer.pdf_signer_spki, issuer.pdf_signer_subjects) == (frozenset(), frozenset())
    assert issuer.pdf_signer_match(HASH_1, (POLICE_ID, "CN=广州市公安局,C=CN")) is None


@given(
    st.sampled_from(["spki_sha256", "subjects", "other"]),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=70),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    ),
)
def test_any_pdf_signers_value_loads_or_is_a_govkit_error(member: str, value: Any) -> None:
    body = SIGNED.to_json()
    _signers(body)[member] = value
    with contextlib.suppress(GovkitError):
        load(resign(body))


# --- the model --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signers",
    [
        {"pdf_signer_spki": frozenset({HASH_1[:31]})},
        {"pdf_signer_spki": frozenset({HASH_1.hex()})},
        {"pdf_signer_spki": HASH_1},
        {"pdf_signer_spki": [[HASH_1]]},
        {"pdf_signer_spki": frozenset(hashlib.sha256(bytes([i])).digest() for i in range(65))},
        {"pdf_signer_subjects": POLICE_ID},
        {"pdf_signer_subjects": frozenset({"O=广州市公安局"})},
        {"pdf_signer_subjects": frozenset({f"serialNumber={i:03}" for i in range(65)})},
    ],
    ids=[
        "hash_31_bytes",
        "hash_as_hex",
        "bytes_not_a_set",
        "unhashable",
        "65_hashes",
        "str_not_a_set",
        "other_attribute",
        "65_subjects",
    ],
)
def test_pdf_signer_values_are_checked(signers: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        police(**signers)


def test_sixty_four_of_each_are_allowed_and_any_iterable_becomes_a_frozenset() -> None:
    hashes = [hashlib.sha256(bytes([i])).digest() for i in range(64)]
    issuer = police(pdf_signer_spki=hashes, pdf_signer_subjects=[POLICE_ID])
    assert issuer.pdf_signer_spki == frozenset(hashes)
    assert isinstance(issuer.pdf_signer_subjects, frozenset)


def test_an_issuer_matches_by_spki_hash_or_subject_id_and_nothing_else() -> None:
    issuer = SIGNED.issuers[0]
    assert issuer.pdf_signer_match(HASH_1, ()) == "spki_sha256"
    assert issuer.pdf_signer_match(b"\x00" * 32, (POLICE_ID,)) == "organizationIdentifier"
    assert issuer.pdf_signer_match(b"\x00" * 32, ("serialNumber=GD-POLICE-0001",)) == (
        "serialNumber"
    )
    other = f"organizationIdentifier=NTRCN-{MARKET.uscc}"
    assert issuer.pdf_signer_match(b"\x00" * 32, (other,)) is None
    # An issuer without PDF signers authorises nobody, whatever the certificate says.
    assert market().pdf_signer_match(HASH_1, (POLICE_ID, other)) is None


def test_with_pdf_signers_adds_to_the_issuer_and_raises_the_sequence() -> None:
    base = make_list(pdf_signer_spki=frozenset({HASH_1}), required_algorithms=frozenset({"ES256"}))
    added = base.with_pdf_signers(POLICE.uscc, spki_sha256=[HASH_2], subjects=[POLICE_ID])
    assert added.sequence == base.sequence + 1
    issuer = added.issuers[0]
    assert issuer.pdf_signer_spki == frozenset({HASH_1, HASH_2})
    assert issuer.pdf_signer_subjects == frozenset({POLICE_ID})
    assert (issuer.keys, issuer.required_algorithms) == (
        base.issuers[0].keys,
        frozenset({"ES256"}),
    )
    assert added.issuers[1] == base.issuers[1]
    assert base.issuers[0].pdf_signer_spki == frozenset({HASH_1})  # the old list is unchanged
    with pytest.raises(ConfigurationError):
        base.with_pdf_signers("91440101MA59ABCD1D", spki_sha256=[HASH_2])
    with pytest.raises(ConfigurationError):
        base.with_pdf_signers(POLICE.uscc, subjects=["CN=x"])


def test_other_builders_keep_the_pdf_signers() -> None:
    kid = TrustedKey.for_key(POLICE_KEY.verifying_key, {"driving-licence"}).kid
    kept = SIGNED.withdraw(kid).renewed(T0 + timedelta(days=1), T0 + timedelta(days=8))
    assert kept.issuers[0].pdf_signer_spki == SIGNED.issuers[0].pdf_signer_spki
    assert kept.issuers[0].pdf_signer_subjects == SIGNED.issuers[0].pdf_signer_subjects
    assert replace(kept.issuers[0], keys=()).pdf_signer_spki == frozenset({HASH_1, HASH_2})
