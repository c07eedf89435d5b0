"""Evidence for DPoP proofs (RFC 9449): round trips, and every attack of spec item 15 refused.

Negative tests are named after the attack they cover; each asserts the stable error
code (``dpop.invalid`` or ``token.replayed``) and the ``reason`` in the error context.
Forged proofs are assembled by hand (:func:`forge`) so that each differs from a valid
proof in exactly the way the attack needs. The hypothesis test at the end feeds the
verifier arbitrary strings: the only acceptable outcomes are a proof or a GovkitError.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkit._encoding import b64url_decode, b64url_encode
from govkit.errors import (
    ConfigurationError,
    DPoPInvalid,
    GovkitError,
    NaiveDatetimeError,
    TokenReplayed,
)
from govkit.identity._dpop import DPoPProof, DPoPVerifier, create_dpop_proof
from govkit.identity._stores import MemoryIdentityStore
from govkit.keys import SigningKey, jwk_thumbprint
from govkit.testing import FixedClock

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HTU = "https://api.example.gov/v1/licences"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwc2V1ZG9ueW0tN2YzYSJ9.c2lnbmF0dXJl"
ALGS = ("EdDSA", "ES256", "PS256", "RS256")
RFC7638_MEMBERS = {
    "EC": {"crv", "kty", "x", "y"},
    "OKP": {"crv", "kty", "x"},
    "RSA": {"e", "kty", "n"},
}


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ALGS}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def verifier(clock: FixedClock) -> DPoPVerifier:
    return DPoPVerifier(replay_store=MemoryIdentityStore(), clock=clock)


def parts(proof: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    header, claims, signature = proof.split(".")
    return (
        json.loads(b64url_decode(header)),
        json.loads(b64url_decode(claims)),
        b64url_decode(signature),
    )


def forge(
    header: dict[str, Any] | bytes,
    claims: dict[str, Any] | bytes,
    key: SigningKey | None,
    *,
    signature: bytes | None = None,
) -> str:
    """A compact JWS from the given pieces, signed by ``key`` unless ``signature`` is given."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    body = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    signing_input = f"{b64url_encode(head)}.{b64url_encode(body)}"
    if signature is None:
        assert key is not None
        signature = key.sign(signing_input.encode())
    return f"{signing_input}.{b64url_encode(signature)}"


def public_jwk(key: SigningKey) -> dict[str, str]:
    jwk = key.verifying_key.to_jwk()
    return {name: jwk[name] for name in RFC7638_MEMBERS[jwk["kty"]]}


def good_header(key: SigningKey) -> dict[str, Any]:
    return {"typ": "dpop+jwt", "alg": key.alg, "jwk": public_jwk(key)}


def good_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "jti": "e1j3V_bKic8-LAEB",
        "htm": "POST",
        "htu": HTU,
        "iat": int(T0.timestamp()),
        "ath": b64url_encode(hashlib.sha256(TOKEN.encode()).digest()),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def refused(verifier: DPoPVerifier, proof: str, reason: str, **request: Any) -> DPoPInvalid:
    request = {"htm": "POST", "htu": HTU, "access_token": TOKEN, **request}
    with pytest.raises(DPoPInvalid) as caught:
        verifier.verify(proof, **request)
    assert caught.value.code == "dpop.invalid"
    assert caught.value.context["reason"] == reason
    return caught.value


# --- round trips ------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_create_then_verify_round_trips_for_each_algorithm(
    alg: str, keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    key = keys[alg]
    verifier = DPoPVerifier(replay_store=MemoryIdentityStore(), allowed_algs=ALGS, clock=clock)
    proof = create_dpop_proof(key, htm="POST", htu=HTU, access_token=TOKEN, clock=clock)
    checked = verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN)
    assert isinstance(checked, DPoPProof)
    assert checked.key == key.verifying_key
    assert (checked.htm, checked.htu, checked.issued_at) == ("POST", HTU, T0)
    assert checked.jkt == key.kid


def test_proof_header_carries_only_the_public_rfc7638_members(keys: dict[str, SigningKey]) -> None:
    for key in keys.values():
        header, _, _ = parts(create_dpop_proof(key, htm="GET", htu=HTU))
        assert header["typ"] == "dpop+jwt"
        assert header["alg"] == key.alg
        assert set(header["jwk"]) == RFC7638_MEMBERS[header["jwk"]["kty"]]
        assert set(header) == {"typ", "alg", "jwk"}


def test_jkt_is_the_rfc7638_thumbprint_of_the_public_jwk(
    keys: dict[str, SigningKey], verifier: DPoPVerifier, clock: FixedClock
) -> None:
    key = keys["ES256"]
    proof = create_dpop_proof(key, htm="GET", htu=HTU, clock=clock)
    header, _, _ = parts(proof)
    assert verifier.verify(proof, htm="GET", htu=HTU).jkt == jwk_thumbprint(header["jwk"])


def test_claims_hold_jti_htm_htu_iat_ath_and_nonce(
    keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    proof = create_dpop_proof(
        keys["EdDSA"],
        htm="PUT",
        htu="https://api.example.gov/v1/licences/42?fields=all#top",
        access_token=TOKEN,
        nonce="server-nonce-1",
        clock=clock,
    )
    _, claims, _ = parts(proof)
    assert claims["htm"] == "PUT"
    assert claims["htu"] == "https://api.example.gov/v1/licences/42"
    assert claims["iat"] == int(T0.timestamp())
    assert claims["ath"] == b64url_encode(hashlib.sha256(TOKEN.encode("ascii")).digest())
    assert claims["nonce"] == "server-nonce-1"
    assert len(b64url_decode(claims["jti"])) == 16


def test_every_proof_has_a_fresh_jti(keys: dict[str, SigningKey]) -> None:
    jtis = {
        parts(create_dpop_proof(keys["EdDSA"], htm="GET", htu=HTU))[1]["jti"] for _ in range(50)
    }
    assert len(jtis) == 50


def test_ath_is_not_required_without_an_access_token(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    proof = forge(good_header(key), good_claims(ath="not-the-hash"), key)
    assert verifier.verify(proof, htm="POST", htu=HTU).jti == "e1j3V_bKic8-LAEB"


def test_htu_query_and_fragment_are_ignored_and_equivalent_spellings_match(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    proof = forge(
        good_header(key), good_claims(htu="HTTPS://API.Example.gov:443/v1/./licences?x=1#f"), key
    )
    checked = verifier.verify(proof, htm="POST", htu=HTU + "?page=2#frag", access_token=TOKEN)
    assert checked.htu == HTU


def test_iat_at_the_edges_of_the_window_is_accepted(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    oldest = int((T0 - timedelta(seconds=65)).timestamp())
    newest = int((T0 + timedelta(seconds=5)).timestamp())
    for jti, iat in (("old", oldest), ("new", newest)):
        proof = forge(good_header(key), good_claims(iat=iat, jti=jti), key)
        verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN)


def test_the_same_jti_under_another_key_is_not_a_replay(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    for alg in ("EdDSA", "ES256"):
        key = keys[alg]
        verifier.verify(forge(good_header(key), good_claims(), key), htm="POST", htu=HTU)


def test_server_nonce_is_checked_when_required(
    keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    verifier = DPoPVerifier(
        replay_store=MemoryIdentityStore(),
        require_nonce=lambda nonce: nonce == "n-2026",
        clock=clock,
    )
    key = keys["EdDSA"]
    ok = create_dpop_proof(key, htm="POST", htu=HTU, nonce="n-2026", clock=clock)
    assert verifier.verify(ok, htm="POST", htu=HTU).jkt == key.kid
    missing = create_dpop_proof(key, htm="POST", htu=HTU, clock=clock)
    refused(verifier, missing, "nonce", access_token=None)
    stale = create_dpop_proof(key, htm="POST", htu=HTU, nonce="n-2025", clock=clock)
    refused(verifier, stale, "nonce", access_token=None)


# --- attacks (spec item 15 and the parser attacks of items 1-9, 13) ------------------


def test_replayed_jti_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier, clock: FixedClock
) -> None:
    proof = create_dpop_proof(keys["ES256"], htm="POST", htu=HTU, access_token=TOKEN, clock=clock)
    verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN)
    clock.advance(timedelta(seconds=30))
    with pytest.raises(TokenReplayed) as caught:
        verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN)
    assert caught.value.code == "token.replayed"


def test_replayed_jti_in_a_reencoded_proof_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    """A second proof with the same key and jti (new signature, other claim order) is a replay."""
    key = keys["EdDSA"]
    verifier.verify(forge(good_header(key), good_claims(), key), htm="POST", htu=HTU)
    reordered = dict(reversed(list(good_claims().items())))
    with pytest.raises(TokenReplayed):
        verifier.verify(forge(good_header(key), reordered, key), htm="POST", htu=HTU)


def test_refused_proof_does_not_use_up_its_jti(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    proof = forge(good_header(key), good_claims(), key)
    refused(verifier, proof, "htm", htm="GET")
    verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN)


def test_replay_at_the_last_instant_of_the_iat_window_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    """The oldest acceptable proof, replayed at the same instant: its entry must still count."""
    key = keys["EdDSA"]
    oldest = int((T0 - timedelta(seconds=65)).timestamp())  # max_age 60 s + leeway 5 s
    proof = forge(good_header(key), good_claims(iat=oldest), key)
    verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN, at=T0)
    with pytest.raises(TokenReplayed) as caught:
        verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN, at=T0)
    assert caught.value.code == "token.replayed"


class RecordingStore:
    """A ReplayStore fake that records the times it is given and reads no clock."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, datetime]] = []

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        self.calls.append((key, now, expires_at))
        return all(k != key or e <= now for k, _, e in self.calls[:-1])


def test_the_replay_store_is_asked_with_the_verification_time(
    keys: dict[str, SigningKey], clock: FixedClock
) -> None:
    store = RecordingStore()
    verifier = DPoPVerifier(replay_store=store, clock=clock)
    key = keys["EdDSA"]
    first = forge(good_header(key), good_claims(jti="by-clock"), key)
    verifier.verify(first, htm="POST", htu=HTU, access_token=TOKEN)
    at = T0 + timedelta(seconds=20)
    second = forge(good_header(key), good_claims(jti="by-at"), key)
    verifier.verify(second, htm="POST", htu=HTU, access_token=TOKEN, at=at)
    (key1, now1, until1), (key2, now2, until2) = store.calls
    assert (key1, now1) == (f"dpop:{key.kid}:by-clock", T0)
    assert (key2, now2) == (f"dpop:{key.kid}:by-at", at)
    # remembered until one second after the iat window (60 s + 5 s leeway) closes
    assert until1 == until2 == T0 + timedelta(seconds=66)


@pytest.mark.parametrize("how", ["clock", "at"])
def test_replay_to_a_verifier_years_behind_the_system_clock_is_refused(
    how: str, keys: dict[str, SigningKey]
) -> None:
    """The store once read the system clock: the entry was already expired when stored."""
    past = datetime(2019, 5, 1, 8, 0, tzinfo=UTC)
    assert past < datetime.now(UTC) - timedelta(days=365 * 5)
    behind = FixedClock(past)
    verifier = DPoPVerifier(
        replay_store=MemoryIdentityStore(), clock=behind if how == "clock" else FixedClock(T0)
    )
    at = None if how == "clock" else past
    proof = create_dpop_proof(keys["ES256"], htm="POST", htu=HTU, access_token=TOKEN, clock=behind)
    verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN, at=at)
    with pytest.raises(TokenReplayed) as caught:
        verifier.verify(proof, htm="POST", htu=HTU, access_token=TOKEN, at=at)
    assert caught.value.code == "token.replayed"


def test_htm_mismatch_is_refused(keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    refused(verifier, forge(good_header(key), good_claims(htm="GET"), key), "htm")


def test_htm_is_compared_case_sensitively(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    refused(verifier, forge(good_header(key), good_claims(htm="post"), key), "htm")


@pytest.mark.parametrize(
    "other",
    [
        "https://api.example.gov/v1/licences/42",
        "https://api.example.gov/v1/Licences",
        "https://evil.example/v1/licences",
        "http://api.example.gov/v1/licences",
        "https://api.example.gov:8443/v1/licences",
        "https://user@api.example.gov/v1/licences",
        "/v1/licences",
    ],
    ids=[
        "other_path",
        "path_case",
        "other_host",
        "other_scheme",
        "other_port",
        "userinfo",
        "relative",
    ],
)
def test_htu_mismatch_is_refused(
    other: str, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    refused(verifier, forge(good_header(key), good_claims(htu=other), key), "htu")


def test_missing_htu_is_refused(keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    claims = good_claims()
    del claims["htu"]
    refused(verifier, forge(good_header(key), claims, key), "htu")


def test_bad_ath_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier, clock: FixedClock
) -> None:
    key = keys["EdDSA"]
    proof = create_dpop_proof(key, htm="POST", htu=HTU, access_token="another-token", clock=clock)
    refused(verifier, proof, "ath")


def test_ath_missing_when_an_access_token_is_given_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    refused(verifier, forge(good_header(key), good_claims(ath=None), key), "ath")


def test_ath_for_a_non_ascii_access_token_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    refused(verifier, forge(good_header(key), good_claims(), key), "ath", access_token="tökén")


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "DPOP+JWT", "application/dpop+jwt", None, 1])
def test_typ_not_dpop_jwt_is_refused(
    typ: Any, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    header = {**good_header(key), "typ": typ}
    if typ is None:
        del header["typ"]
    refused(verifier, forge(header, good_claims(), key), "typ")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(alg: str, keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    header = {**good_header(key), "alg": alg}
    refused(verifier, forge(header, good_claims(), None, signature=b"\x00"), "alg")
    unsigned = forge(header, good_claims(), None, signature=b"")
    refused(verifier, unsigned, "malformed")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_alg_signed_with_the_public_key_is_refused(
    alg: str, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    """Key confusion: HMAC 'signed' with the proof's own public JWK as the secret."""
    key = keys["ES256"]
    header = {**good_header(key), "alg": alg}
    head = b64url_encode(json.dumps(header).encode())
    body = b64url_encode(json.dumps(good_claims()).encode())
    secret = json.dumps(header["jwk"]).encode()
    mac = hmac.new(secret, f"{head}.{body}".encode(), "sha" + alg[2:]).digest()
    refused(verifier, f"{head}.{body}.{b64url_encode(mac)}", "alg")


def test_hmac_jwk_of_kty_oct_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    header = {**good_header(key), "jwk": {"kty": "oct", "k": "c2VjcmV0"}}
    refused(verifier, forge(header, good_claims(), key), "jwk")


def test_alg_outside_the_allow_list_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["RS256"]  # RS256 is a govkit algorithm, but not allowed by default for DPoP
    refused(verifier, forge(good_header(key), good_claims(), key), "alg")


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi"])
def test_private_key_inside_jwk_is_refused(
    member: str, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["PS256"] if member != "d" else keys["ES256"]
    header = good_header(key)
    header["jwk"] = {**header["jwk"], member: "AQAB"}
    error = refused(verifier, forge(header, good_claims(), key), "jwk")
    assert "AQAB" not in str(error)


def test_missing_jwk_is_refused(keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    header = good_header(key)
    del header["jwk"]
    refused(verifier, forge({**header, "kid": key.kid}, good_claims(), key), "jwk")


def test_jwk_that_is_not_an_object_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    header = {**good_header(key), "jwk": json.dumps(public_jwk(key))}
    refused(verifier, forge(header, good_claims(), key), "jwk")


def test_stale_iat_is_refused(keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    iat = int((T0 - timedelta(seconds=66)).timestamp())
    refused(verifier, forge(good_header(key), good_claims(iat=iat), key), "iat")


def test_future_iat_is_refused(keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    iat = int((T0 + timedelta(seconds=6)).timestamp())
    refused(verifier, forge(good_header(key), good_claims(iat=iat), key), "iat")


@pytest.mark.parametrize("iat", ["1772366400", True, None, 1e300, -1, [1772366400]], ids=repr)
def test_iat_that_is_not_a_plausible_number_is_refused(
    iat: Any, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    refused(verifier, forge(good_header(key), good_claims(iat=iat), key), "iat")


@pytest.mark.parametrize(
    ("signer", "header_alg"),
    [("ES256", "EdDSA"), ("EdDSA", "ES256"), ("PS256", "ES256"), ("ES256", "PS256")],
)
def test_jwk_that_does_not_match_alg_is_refused(
    signer: str, header_alg: str, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys[signer]
    header = {**good_header(key), "alg": header_alg}
    refused(verifier, forge(header, good_claims(), key), "jwk")


def test_signature_by_another_key_than_the_jwk_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    claimed, actual = keys["ES256"], SigningKey.generate("ES256")
    refused(verifier, forge(good_header(claimed), good_claims(), actual), "signature")


def test_tampered_claims_are_refused(keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    proof = forge(good_header(key), good_claims(htm="GET"), key)
    head, _, signature = proof.split(".")
    body = b64url_encode(json.dumps(good_claims()).encode())
    refused(verifier, f"{head}.{body}.{signature}", "signature")


def test_oversized_proof_is_refused(keys: dict[str, SigningKey], verifier: DPoPVerifier) -> None:
    key = keys["EdDSA"]
    proof = forge(good_header(key), good_claims(padding="x" * 4096), key)
    refused(verifier, proof, "size")


def test_duplicate_json_keys_are_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    """Parser differential: another parser might read the first 'alg' or 'htu'."""
    key = keys["EdDSA"]
    jwk = json.dumps(public_jwk(key))
    header = f'{{"typ":"dpop+jwt","alg":"none","alg":"EdDSA","jwk":{jwk}}}'.encode()
    refused(verifier, forge(header, good_claims(), key), "malformed")
    claims = json.dumps(good_claims())[:-1] + ', "htu": "https://evil.example/"}'
    refused(verifier, forge(good_header(key), claims.encode(), key), "malformed")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p + "=",
        lambda p: p.replace(".", "=.", 1),
        lambda p: " " + p,
        lambda p: p + ".",
        lambda p: p.rsplit(".", 1)[0],
        lambda p: p.replace("-", "+").replace("_", "/") if ("-" in p or "_" in p) else p + "+",
        lambda p: "é" + p,
    ],
    ids=["padding", "inner_padding", "whitespace", "four_parts", "two_parts", "std_base64", "utf8"],
)
def test_non_canonical_encodings_are_refused(
    mangle: Any, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    refused(verifier, mangle(forge(good_header(key), good_claims(), key)), "malformed")


def test_non_canonical_jwk_encoding_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    """An RSA modulus with a leading zero byte would give the same key a second thumbprint."""
    key = keys["PS256"]
    header = good_header(key)
    header["jwk"]["n"] = b64url_encode(b"\x00" + b64url_decode(header["jwk"]["n"]))
    refused(verifier, forge(header, good_claims(), key), "jwk")


def test_critical_header_extension_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    header = {**good_header(key), "crit": ["exp"], "exp": 1}
    refused(verifier, forge(header, good_claims(), key), "crit")


@pytest.mark.parametrize("jti", [None, "", 17, "x" * 257])
def test_missing_or_oversized_jti_is_refused(
    jti: Any, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    claims = good_claims()
    if jti is None:
        del claims["jti"]
    else:
        claims["jti"] = jti
    refused(verifier, forge(good_header(key), claims, key), "jti")


def test_header_and_claims_must_be_json_objects(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    refused(verifier, forge(b"[1, 2]", good_claims(), key), "malformed")
    refused(verifier, forge(good_header(key), b'"claims"', key), "malformed")


def test_error_messages_never_quote_the_proof(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    key = keys["EdDSA"]
    error = refused(
        verifier, forge(good_header(key), good_claims(htu="https://secret.example/"), key), "htu"
    )
    assert "secret" not in str(error)
    assert "secret" not in json.dumps(error.to_dict())


# --- configuration ----------------------------------------------------------------


@pytest.mark.parametrize("algs", [("HS256",), ("none",), ("EdDSA", "ES512"), (), "EdDSA"])
def test_verifier_refuses_algorithms_outside_govkit(algs: Any) -> None:
    with pytest.raises(ConfigurationError):
        DPoPVerifier(replay_store=MemoryIdentityStore(), allowed_algs=algs)


def test_verifier_needs_a_replay_store() -> None:
    with pytest.raises(ConfigurationError):
        DPoPVerifier(replay_store=object())  # type: ignore[arg-type]


def test_naive_verification_time_is_refused(
    keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    proof = create_dpop_proof(keys["EdDSA"], htm="GET", htu=HTU)
    with pytest.raises(NaiveDatetimeError):
        verifier.verify(proof, htm="GET", htu=HTU, at=datetime(2026, 3, 1, 12))


@pytest.mark.parametrize(
    ("htm", "htu"),
    [("GET", "ftp://api.example.gov/"), ("GET", "api.example.gov/x"), ("G ET", HTU), ("", HTU)],
)
def test_malformed_request_method_or_url_is_a_configuration_error(
    htm: str, htu: str, keys: dict[str, SigningKey], verifier: DPoPVerifier
) -> None:
    with pytest.raises(ConfigurationError):
        create_dpop_proof(keys["EdDSA"], htm=htm, htu=htu)
    proof = create_dpop_proof(keys["EdDSA"], htm="GET", htu=HTU)
    with pytest.raises(ConfigurationError):
        verifier.verify(proof, htm=htm, htu=htu)


def test_verification_reads_the_clock_once(keys: dict[str, SigningKey]) -> None:
    class CountingClock(FixedClock):
        reads = 0

        def now(self) -> datetime:
            self.reads += 1
            return super().now()

    clock = CountingClock(T0)
    verifier = DPoPVerifier(replay_store=MemoryIdentityStore(), clock=clock)
    key = keys["EdDSA"]
    verifier.verify(forge(good_header(key), good_claims(), key), htm="POST", htu=HTU)
    assert clock.reads == 1


# --- arbitrary input --------------------------------------------------------------

B64URL_TEXT = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=80
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _fresh_verifier() -> DPoPVerifier:
    clock = FixedClock(T0)
    return DPoPVerifier(replay_store=MemoryIdentityStore(), allowed_algs=ALGS, clock=clock)


def _outcome(proof: str) -> None:
    try:
        result = _fresh_verifier().verify(proof, htm="POST", htu=HTU, access_token=TOKEN)
    except GovkitError:
        return
    assert isinstance(result, DPoPProof)


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.text(st.characters(exclude_categories=()), max_size=300))
def test_arbitrary_text_gives_a_proof_or_a_govkit_error(text: str) -> None:
    _outcome(text)


@PROPERTY
@given(st.lists(B64URL_TEXT, min_size=1, max_size=5))
def test_arbitrary_base64url_segments_give_a_proof_or_a_govkit_error(segments: list[str]) -> None:
    _outcome(".".join(segments))


@PROPERTY
@given(
    header=st.dictionaries(
        st.sampled_from(["typ", "alg", "jwk", "crit", "kid"]), JSON_VALUES, max_size=5
    ),
    claims=st.dictionaries(
        st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]), JSON_VALUES, max_size=6
    ),
    signature=st.binary(max_size=80),
)
def test_arbitrary_json_pieces_give_a_proof_or_a_govkit_error(
    header: dict[str, Any], claims: dict[str, Any], signature: bytes
) -> None:
    _outcome(forge(header, claims, None, signature=signature))


_HYPOTHESIS_KEY = SigningKey.generate("EdDSA")


@PROPERTY
@given(
    changes=st.dictionaries(
        st.sampled_from(["typ", "alg", "jwk", "crit"]), JSON_VALUES, max_size=3
    ),
    claim_changes=st.dictionaries(
        st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]), JSON_VALUES, max_size=3
    ),
)
def test_validly_signed_proofs_with_arbitrary_members_give_a_proof_or_a_govkit_error(
    changes: dict[str, Any], claim_changes: dict[str, Any]
) -> None:
    key = _HYPOTHESIS_KEY
    _outcome(forge({**good_header(key), **changes}, {**good_claims(), **claim_changes}, key))
