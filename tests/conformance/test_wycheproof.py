"""Wycheproof signature vectors, run through govkit's own key loaders and ``VerifyingKey.verify``.

Provenance: C2SP/wycheproof ``testvectors_v1/`` at commit
dac1dd4729fd1f8dd9e1e9f3dce51d783da6c166 (Apache-2.0, licence beside the files), kept in
the shared vectors folder (``<vectors_dir>/wycheproof/``, see ``vectors/README.md``).

How each file is run
--------------------
=============================================  ======  ================================
file                                           alg     signature path
=============================================  ======  ================================
ecdsa_secp256r1_sha256_p1363_test.json         ES256   raw ``r || s`` -> ``verify``
ecdsa_secp256r1_sha256_test.json               ES256   DER -> ``ecdsa_der_to_raw`` -> ``verify``
ed25519_test.json                              EdDSA   ``verify``
rsa_pss_2048_sha256_mgf1_32_test.json          PS256   ``verify``
rsa_signature_2048_sha256_test.json            RS256   ``verify``
=============================================  ======  ================================

Each group's public key is loaded with ``VerifyingKey.from_pem``; when the group also
carries a JWK it is loaded with ``VerifyingKey.from_jwk`` too, and the DER key is parsed by
``cryptography`` and wrapped with ``VerifyingKey(public_key, alg)``: all loaders must agree
on ``kid`` and ``alg``.

Outcomes
--------
* ``valid``: ``verify`` returns ``None``.
* ``invalid``: :class:`govkit.errors.InvalidSignature` is raised, by ``verify`` or, for DER,
  by ``ecdsa_der_to_raw``. Any other exception (``ValueError``, ``OverflowError`` ...) is a
  failure, even though it would also "reject".
* ``acceptable``: decided per flag in ``ACCEPTABLE_DECISIONS``; an acceptable vector whose
  flags are not all decided fails the test, so a new upstream flag forces a decision.

  - ``MissingNull`` (1 vector, tcId 8 of the RS256 file): **reject**. The DigestInfo in
    the PKCS#1 v1.5 encoding lacks the ASN.1 NULL parameter. RFC 8017 section 9.2 encodes
    it with the NULL and every JOSE RS256 signer writes it; accepting the legacy form buys
    compatibility with no signer govkit serves and needs lenient ASN.1 parsing, which
    Wycheproof warns is where forgeries come from. govkit (through OpenSSL) compares the
    whole encoded message, so the vector is rejected.

Keys refused at load time
-------------------------
None: every group of these five files loads (``EXPECTED_LOAD_REFUSALS`` is empty for each
file and the test asserts that). This includes the two RS256 groups with public exponent
e = 3 (flag ``SmallPublicKey``, vectors labelled ``valid``): govkit enforces a 2048-bit
minimum modulus but no minimum exponent, so they load and verify, as Wycheproof expects.

ECDSA malleability (high S)
---------------------------
Both ECDSA files label ``(r, n - s)`` twins of valid signatures ``valid`` ("signature
malleability"). ``VerifyingKey.verify`` accepts high-S signatures, as FIPS 186 and
Wycheproof require; :func:`test_es256_accepts_high_s_signatures` pins that. Consequence for
callers: an ES256 signature is not a unique identifier of a signed object (dedupe on the
signed payload or its hash, never on signature bytes).

Counts run (``valid`` / ``invalid`` / ``acceptable``)
-----------------------------------------------------
p1363 262 (173 / 89 / 0), DER 484 (174 / 310 / 0), Ed25519 151 (88 / 63 / 0),
PSS 108 (63 / 45 / 0), PKCS#1 v1.5 259 (9 / 249 / 1). Each file's count is asserted equal
to its ``numberOfTests`` so nothing is silently dropped.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from govkit.errors import GovkitError, InvalidSignature, PaymentSignatureInvalid
from govkit.keys import VerifyingKey, ecdsa_der_to_raw
from govkit.payments import load_alipay_public_key
from govkit.payments._keys import ProviderKeys, rs256_verifier

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

#: What govkit does with ``acceptable`` vectors, per Wycheproof flag.
ACCEPTABLE_DECISIONS: dict[str, str] = {"MissingNull": "reject"}


@dataclass(frozen=True)
class Suite:
    filename: str
    alg: str
    der_signatures: bool
    #: result -> number of vectors, from the pinned upstream file.
    expected: dict[str, int]
    #: error code -> number of key groups govkit refuses to load (documented above).
    expected_load_refusals: dict[str, int]


SUITES = [
    Suite(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        "ES256",
        der_signatures=False,
        expected={"valid": 173, "invalid": 89},
        expected_load_refusals={},
    ),
    Suite(
        "ecdsa_secp256r1_sha256_test.json",
        "ES256",
        der_signatures=True,
        expected={"valid": 174, "invalid": 310},
        expected_load_refusals={},
    ),
    Suite(
        "ed25519_test.json",
        "EdDSA",
        der_signatures=False,
        expected={"valid": 88, "invalid": 63},
        expected_load_refusals={},
    ),
    Suite(
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        "PS256",
        der_signatures=False,
        expected={"valid": 63, "invalid": 45},
        expected_load_refusals={},
    ),
    Suite(
        "rsa_signature_2048_sha256_test.json",
        "RS256",
        der_signatures=False,
        expected={"valid": 9, "invalid": 249, "acceptable": 1},
        expected_load_refusals={},
    ),
]


def load_suite(vectors_dir: Path, suite: Suite) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors_dir / "wycheproof" / suite.filename).read_text())
    return data


def load_group_key(group: dict[str, Any], alg: str) -> VerifyingKey:
    """Load the group's key through every govkit loader the group allows; they must agree."""
    from_pem = VerifyingKey.from_pem(group["publicKeyPem"], alg)
    der_object = serialization.load_der_public_key(bytes.fromhex(group["publicKeyDer"]))
    from_object = VerifyingKey(der_object, alg)  # type: ignore[arg-type]
    assert from_object == from_pem
    jwk = group.get("publicKeyJwk") or group.get("keyJwk")
    if jwk is not None:
        from_jwk = VerifyingKey.from_jwk(jwk, alg)
        assert from_jwk == from_pem
    return from_pem


def outcome(key: VerifyingKey, signature: bytes, message: bytes, *, der: bool) -> str:
    """``accept``, ``reject`` (InvalidSignature) or the name of anything else raised."""
    try:
        key.verify(ecdsa_der_to_raw(signature) if der else signature, message)
    except InvalidSignature:
        return "reject"
    except Exception as exc:  # any other exception is itself the finding
        return f"raised {type(exc).__name__}"
    return "accept"


def expected_outcome(test: dict[str, Any]) -> str | None:
    """What govkit must do with this vector; ``None`` if the flags are not decided."""
    if test["result"] == "valid":
        return "accept"
    if test["result"] == "invalid":
        return "reject"
    decisions = {ACCEPTABLE_DECISIONS.get(flag) for flag in test["flags"]}
    if len(decisions) != 1 or None in decisions:
        return None
    return decisions.pop()


@pytest.mark.parametrize("suite", SUITES, ids=[s.filename for s in SUITES])
def test_wycheproof_file(vectors_dir: Path, suite: Suite) -> None:
    data = load_suite(vectors_dir, suite)
    failures: list[str] = []
    results: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    run = 0
    for group in data["testGroups"]:
        try:
            key = load_group_key(group, suite.alg)
        except GovkitError as exc:
            refusals[exc.code] += 1
            run += len(group["tests"])
            results.update(t["result"] for t in group["tests"])
            continue
        for test in group["tests"]:
            run += 1
            results[test["result"]] += 1
            got = outcome(
                key,
                bytes.fromhex(test["sig"]),
                bytes.fromhex(test["msg"]),
                der=suite.der_signatures,
            )
            want = expected_outcome(test)
            if want is None:
                failures.append(
                    f"tcId {test['tcId']}: acceptable with undecided flags {test['flags']}"
                )
            elif got != want:
                failures.append(
                    f"tcId {test['tcId']} ({test['result']}, {test['flags']}, "
                    f"{test['comment']!r}): expected {want}, got {got}"
                )
    assert run == data["numberOfTests"], "vectors were dropped or double-counted"
    assert dict(results) == suite.expected
    assert dict(refusals) == suite.expected_load_refusals
    assert failures == [], f"{len(failures)} of {run} vectors failed:\n" + "\n".join(failures)


def test_payment_rsa_keys_decide_every_pkcs1_vector_like_verify(vectors_dir: Path) -> None:
    """``govkit.payments`` verifies provider signatures with the key its loaders make
    (here :func:`~govkit.payments.load_alipay_public_key` on the group's DER key in
    base64, as the Alipay console shows keys) through RFC 8017's recover-and-compare
    path (``rs256_verifies``, and the same check prepared once per key,
    ``rs256_verifier``, which the WeChat Pay key ring uses): it accepts exactly what the
    RS256 suite expects, exactly what ``cryptography``'s own ``verify`` accepts, and
    exactly what the same govkit key's ``VerifyingKey.verify`` accepts."""
    suite = next(s for s in SUITES if s.filename == "rsa_signature_2048_sha256_test.json")
    data = load_suite(vectors_dir, suite)
    failures: list[str] = []
    run = 0
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for group in data["testGroups"]:
        der = bytes.fromhex(group["publicKeyDer"])
        public = serialization.load_der_public_key(der)
        assert isinstance(public, rsa.RSAPublicKey)
        keys = ProviderKeys(load_alipay_public_key(base64.b64encode(der)), "Alipay")
        prepared = rs256_verifier(keys.records[0].key)
        for test in group["tests"]:
            run += 1
            signature, message = bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"])
            try:
                keys.verify(signature, message, at)
                ours = True
            except PaymentSignatureInvalid:
                ours = False
            try:
                public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
                theirs = True
            except CryptographyInvalidSignature:
                theirs = False
            try:
                keys.records[0].key.verify(signature, message)
                govkit_key = True
            except InvalidSignature:
                govkit_key = False
            want = expected_outcome(test) == "accept"
            if prepared(signature, message) is not ours:
                failures.append(f"tcId {test['tcId']}: rs256_verifier disagrees")
            if ours is not want or ours is not theirs or ours is not govkit_key:
                failures.append(f"tcId {test['tcId']} ({test['comment']!r}): {ours}")
    assert run == data["numberOfTests"]
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    "filename", ["ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa_secp256r1_sha256_test.json"]
)
def test_es256_accepts_high_s_signatures(vectors_dir: Path, filename: str) -> None:
    """Wycheproof labels high-S twins valid; govkit accepts them (see the module docstring)."""
    suite = next(s for s in SUITES if s.filename == filename)
    data = load_suite(vectors_dir, suite)
    high_s = 0
    for group in data["testGroups"]:
        key = load_group_key(group, "ES256")
        for test in group["tests"]:
            if test["result"] != "valid":
                continue
            signature = bytes.fromhex(test["sig"])
            raw = ecdsa_der_to_raw(signature) if suite.der_signatures else signature
            if int.from_bytes(raw[32:], "big") <= P256_ORDER // 2:
                continue
            high_s += 1
            key.verify(raw, bytes.fromhex(test["msg"]))
    assert high_s >= 1


def test_every_acceptable_flag_in_the_vectors_has_a_decision(vectors_dir: Path) -> None:
    flags = {
        flag
        for suite in SUITES
        for group in load_suite(vectors_dir, suite)["testGroups"]
        for test in group["tests"]
        if test["result"] == "acceptable"
        for flag in test["flags"]
    }
    assert flags == set(ACCEPTABLE_DECISIONS)
