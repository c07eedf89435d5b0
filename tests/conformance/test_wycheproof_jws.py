"""Wycheproof JSON Web Signature vectors, run through govkit's JWS layer.

Provenance: C2SP/wycheproof ``testvectors_v1/json_web_signature_test.json`` at commit
dac1dd4729fd1f8dd9e1e9f3dce51d783da6c166 (Apache-2.0, licence beside the file), kept in
the shared vectors folder (``<vectors_dir>/wycheproof/``, see ``vectors/README.md``):
401 tests in 23 groups.

What runs
---------
Each group's key (``public``, or ``private`` for the symmetric groups) is loaded with
:meth:`govkit.keys.VerifyingKey.from_jwk`. Each token then goes through
``govkit.identity._tokens._verify_jws``: the exact functions :meth:`TokenVerifier.verify`
runs for size, structure (three strict base64url parts, strict JSON header),
forbidden headers / ``crit`` / ``b64``, the key's pinned algorithm and the signature;
only ``typ``, the ``kid`` lookup and the claims are left out (Wycheproof payloads are
not JWT claims and carry no ``typ``).

Applicable groups (the key loads): 322 tests
    ``es256``, ``rs256`` x2, ``ps256``, ``SpecialCaseEs256``, the four RFC 7520 RSA
    groups (RS256 Figure 13 and the "PS256" Figure 20, with and without ``key_ops``)
    and the ``key_ops: ["encrypt"]`` EC group. Every Wycheproof label is matched
    except the decisions in ``DECISIONS``; ``valid`` tokens must be accepted, and each
    ``invalid`` token must fail with the govkit error listed in ``EXPECTED_ERRORS``
    (by tcId ranges), so a rejection for the wrong reason is also caught.

Groups whose key govkit refuses to load: 79 tests
    HMAC keys (``hs256``, ``base64``, RFC 7520 Figure 35: govkit has no HMAC and
    refuses symmetric JWKs), RS384/RS512/PS384/PS512 (not on govkit's allow-list),
    ES512 on P-521 (not supported), ``use: enc`` keys (not signature keys) and an RSA
    key without ``alg`` (govkit needs RSA keys pinned to PS256 or RS256). The refusal is
    asserted per group in ``LOAD_REFUSALS``; a verifier that cannot hold the key can
    accept none of these tokens. To show the JWS layer also rejects them outright,
    every one of them is run through ``_verify_jws`` with a stand-in key (a fresh
    P-256 key): each fails with a govkit error (mostly ``token.algorithm``, since no
    HS/RS384/PS512... header can match an ES256 key).

The ``base64`` group caveat (vectors/README.md)
    tcId 367 and 370 are byte-identical to the valid tcId 357 but labelled invalid;
    tcId 372 and 373 contain ``?`` but are labelled valid. The group is HMAC, so govkit
    rejects all 21 tokens at the algorithm check whatever their labels. Its structural
    layer is asserted separately in :func:`test_base64_group_structure`: 367 and 370
    get exactly the outcome of 357 (they are the same bytes: the structure passes);
    372 and 373 are ``token.malformed`` because ``?`` is not in the base64url
    alphabet (RFC 7515 section 2), so govkit "disagrees" with the label, as PyJWT and
    joserfc do; the other invalid base64 cases (spaces, stray characters, modified
    unused bits, 360-366, 368, 369, 371, 374, 375) are ``token.malformed`` too.

Counts (asserted)
-----------------
401 = 322 run against their own key + 79 refused at key load. Of the 322: 18 labelled
valid, 16 accepted (346 and 350 are rejected, see ``DECISIONS``); 306 rejected.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from govkit.errors import (
    ForbiddenHeader,
    GovkitError,
    InvalidKey,
    KeyMismatch,
    MalformedToken,
    TokenAlgorithmRejected,
    TokenError,
    TokenSignatureInvalid,
    UnsupportedAlgorithm,
)
from govkit.identity._tokens import _check_header, _split, _verify_jws
from govkit.keys import SigningKey, VerifyingKey

FILE = "json_web_signature_test.json"


@dataclass(frozen=True)
class Case:
    tc_id: int
    group: int
    comment: str
    result: str
    jws: str


#: Where govkit's outcome differs from the Wycheproof label, and why.
DECISIONS: dict[int, tuple[str, str]] = {
    346: (
        "reject",
        "RFC 7520 Figure 20 is signed PS384, but the group's JWK says alg PS256. govkit "
        "pins the algorithm to the key (header PS384 != key PS256: token.algorithm) and "
        "has no PS384 in any case.",
    ),
    350: ("reject", "the same Figure 20 token and key, with key_ops instead of use"),
}

#: For ``invalid`` tokens against their own key: the govkit error, by tcId.
EXPECTED_ERRORS: list[tuple[range, type[TokenError]]] = [
    (range(19, 21), TokenSignatureInvalid),  # modified / missing signature
    (range(21, 22), MalformedToken),  # missing signature and separator: two parts
    (range(22, 24), TokenSignatureInvalid),  # modified / missing payload
    (range(24, 25), MalformedToken),
    (range(25, 26), TokenSignatureInvalid),  # modified header (the kid)
    (range(26, 31), MalformedToken),  # missing header, empty string
    (range(31, 32), TokenAlgorithmRejected),  # HS256 keyed with the EC key's bytes
    (range(32, 33), ForbiddenHeader),  # attacker-provided embedded jwk
    (range(34, 36), TokenSignatureInvalid),
    (range(36, 37), MalformedToken),
    (range(37, 39), TokenSignatureInvalid),
    (range(39, 40), MalformedToken),
    (range(40, 41), TokenSignatureInvalid),
    (range(41, 46), MalformedToken),
    (range(46, 259), TokenSignatureInvalid),  # PKCS#1 v1.5 DigestInfo/padding edits
    (range(276, 320), TokenSignatureInvalid),  # PSS edits
    (range(379, 402), TokenSignatureInvalid),  # ECDSA special cases (CVE-2022-21449)
]

#: Groups whose key govkit refuses, by the first tcId of the group.
LOAD_REFUSALS: dict[int, type[GovkitError]] = {
    1: InvalidKey,  # hs256: symmetric key material
    264: UnsupportedAlgorithm,  # RS384
    268: UnsupportedAlgorithm,  # RS512
    320: UnsupportedAlgorithm,  # PS384
    325: UnsupportedAlgorithm,  # PS512
    347: KeyMismatch,  # ES512 on P-521
    348: InvalidKey,  # HS256 (RFC 7520 Figure 35)
    351: KeyMismatch,  # ES512 on P-521, key_ops
    352: InvalidKey,  # HS256, key_ops
    353: InvalidKey,  # RSA, use enc
    354: InvalidKey,  # EC, use enc
    355: InvalidKey,  # RSA, key_ops ["encrypt"] (and no alg): not a verification key
    356: InvalidKey,  # EC, key_ops ["encrypt"]: not a verification key
    357: InvalidKey,  # base64 group: HMAC
}


def load(vectors_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors_dir / "wycheproof" / FILE).read_text())
    return data


def cases(data: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any], Case]]:
    for index, group in enumerate(data["testGroups"]):
        for test in group["tests"]:
            yield (
                index,
                group,
                Case(test["tcId"], index, test["comment"], test["result"], test["jws"]),
            )


def group_key(group: dict[str, Any]) -> VerifyingKey:
    return VerifyingKey.from_jwk(group.get("public") or group["private"])


def expected_error(tc_id: int) -> type[TokenError]:
    for ids, error in EXPECTED_ERRORS:
        if tc_id in ids:
            return error
    raise AssertionError(f"no expected error recorded for invalid tcId {tc_id}")


def outcome(token: str, key: VerifyingKey) -> GovkitError | None:
    try:
        _verify_jws(token, key)
    except GovkitError as exc:
        return exc
    return None


@pytest.fixture(scope="module")
def data(vectors_dir: Path) -> dict[str, Any]:
    return load(vectors_dir)


@pytest.fixture(scope="module")
def stand_in() -> VerifyingKey:
    """A fresh P-256 key, for tokens whose own key govkit refuses.

    Not a Wycheproof key: tcId 354's "encryption" key is the ``es256`` group's key
    again, which would (rightly) verify that token's signature.
    """
    return SigningKey.generate("ES256").verifying_key


def test_file_is_the_expected_one(data: dict[str, Any]) -> None:
    assert data["numberOfTests"] == 401
    assert len(data["testGroups"]) == 23
    assert sum(1 for _ in cases(data)) == 401


def test_vectors_against_their_own_keys(data: dict[str, Any]) -> None:
    tally: Counter[str] = Counter()
    refused_groups: set[int] = set()
    problems: list[str] = []
    for index, group, case in cases(data):
        first = group["tests"][0]["tcId"]
        try:
            key = group_key(group)
        except GovkitError as exc:
            refused_groups.add(first)
            want = LOAD_REFUSALS.get(first)
            if type(exc) is not want:
                problems.append(f"group {index} (tcId {first}): {type(exc).__name__}, want {want}")
            tally["refused_at_load"] += 1
            continue
        assert first not in LOAD_REFUSALS, f"group {index} now loads: update LOAD_REFUSALS"
        error = outcome(case.jws, key)
        decision = DECISIONS.get(case.tc_id)
        accept = decision[0] == "accept" if decision else case.result == "valid"
        tally[case.result] += 1
        if accept:
            tally["accepted"] += 1
            if error is not None:
                problems.append(f"tcId {case.tc_id} ({case.comment}): rejected {error.code}")
        else:
            tally["rejected"] += 1
            if error is None:
                problems.append(f"tcId {case.tc_id} ({case.comment}): accepted")
            elif decision is None and type(error) is not expected_error(case.tc_id):
                problems.append(
                    f"tcId {case.tc_id} ({case.comment}): {type(error).__name__}, "
                    f"want {expected_error(case.tc_id).__name__}"
                )
            elif decision is not None and type(error) is not TokenAlgorithmRejected:
                problems.append(f"tcId {case.tc_id}: {type(error).__name__}")
    assert problems == []
    assert refused_groups == set(LOAD_REFUSALS)
    assert tally == Counter(refused_at_load=79, valid=18, invalid=304, accepted=16, rejected=306)


def test_every_token_of_a_refused_key_is_also_rejected_by_the_jws_layer(
    data: dict[str, Any], stand_in: VerifyingKey
) -> None:
    """Tokens for keys govkit cannot hold (HMAC, RS384...) fail even against a real key."""
    codes: Counter[str] = Counter()
    for _, group, case in cases(data):
        if group["tests"][0]["tcId"] not in LOAD_REFUSALS:
            continue
        error = outcome(case.jws, stand_in)
        assert error is not None, f"tcId {case.tc_id} accepted by the stand-in key"
        assert isinstance(error, TokenError), (case.tc_id, error)
        codes[error.code] += 1
    assert sum(codes.values()) == 79
    assert codes == Counter(
        {"token.algorithm": 53, "token.malformed": 24, "token.invalid_signature": 2}
    )


def test_hmac_tokens_labelled_valid_are_rejected_for_their_algorithm(
    data: dict[str, Any], stand_in: VerifyingKey
) -> None:
    hmac_valid = [
        case
        for _, group, case in cases(data)
        if (group.get("private") or {}).get("kty") == "oct" and case.result == "valid"
    ]
    assert [c.tc_id for c in hmac_valid] == [1, 348, 352, 357, 358, 359, 372, 373, 376, 377]
    for case in hmac_valid:
        error = outcome(case.jws, stand_in)
        expected = MalformedToken if case.tc_id in (372, 373) else TokenAlgorithmRejected
        assert type(error) is expected, case.tc_id


def structure(token: str) -> str:
    """The outcome of the structural layer alone: ``"ok"`` or an error code."""
    try:
        _check_header(_split(token).header)
    except GovkitError as exc:
        return exc.code
    return "ok"


def test_base64_group_structure(data: dict[str, Any]) -> None:
    """The vectors/README.md caveat: how govkit's strict base64url treats tcId 357-377."""
    by_id = {case.tc_id: case for _, _, case in cases(data)}
    # 367 and 370 are labelled invalid but are byte-identical to the valid 357:
    assert by_id[367].jws == by_id[357].jws == by_id[370].jws
    # 372 and 373 are labelled valid but contain '?', which base64url does not have:
    assert "?" in by_id[372].jws.split(".")[0]
    assert "?" in by_id[373].jws.split(".")[1]
    got = {tc_id: structure(by_id[tc_id].jws) for tc_id in range(357, 378)}
    assert got == {
        357: "ok",
        358: "ok",
        359: "ok",
        360: "token.malformed",  # spaces in the MAC
        361: "token.malformed",
        362: "token.malformed",
        363: "token.malformed",
        364: "token.malformed",
        365: "token.malformed",  # spaces in the header
        366: "token.malformed",
        367: "ok",  # == 357: same bytes, same outcome (label says invalid)
        368: "token.malformed",
        369: "token.malformed",
        370: "ok",  # == 357 (label says invalid)
        371: "token.malformed",
        372: "token.malformed",  # '?' in the header (label says valid)
        373: "token.malformed",  # '?' in the payload (label says valid)
        374: "token.malformed",  # modified unused bits: non-canonical
        375: "token.malformed",
        376: "ok",  # spaces inside the JSON header are fine JSON
        377: "ok",
    }
    assert by_id[376].result == by_id[377].result == "valid"


def test_special_case_es256_group_is_the_spec_list(data: dict[str, Any]) -> None:
    """Spec (b)6: SpecialCaseEs256, tcId 378-401, psychic signatures; only 378 is valid."""
    group = next(g for g in data["testGroups"] if g["comment"] == "SpecialCaseEs256")
    key = group_key(group)
    results = {t["tcId"]: outcome(t["jws"], key) for t in group["tests"]}
    assert list(results) == list(range(378, 402))
    assert results[378] is None
    assert all(type(e) is TokenSignatureInvalid for i, e in results.items() if i != 378)
