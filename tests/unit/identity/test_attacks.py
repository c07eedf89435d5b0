"""One test per attack a token verifier must reject (``specs/identity.md`` section (b)).

Each test is named after the attack, builds the attack token by hand (base64url of a
crafted header and claims; HMAC from :mod:`hmac` for the key-confusion cases) and asserts
the exact govkit error class and code. The attacker is assumed to know every public key
(they are published as a JWKS) and to hold valid tokens of their own.

References: RFC 8725 (JWT best current practices), CVE-2022-29217 / CVE-2024-37568 /
CVE-2024-33663 (HMAC key confusion), CVE-2022-21449 (ECDSA psychic signatures),
CVE-2022-3102 (sign/encrypt confusion), CVE-2022-39227 (compact/JSON mixing),
CVE-2026-32597 / CVE-2025-59420 (unknown ``crit``), CVE-2024-53861 (partial ``iss``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from joserfc import jwe
from joserfc.jwk import RSAKey

from govkit._encoding import b64url_decode, b64url_encode
from govkit.errors import (
    DPoPBindingMismatch,
    ForbiddenHeader,
    GovkitError,
    InsufficientAssurance,
    MalformedToken,
    MissingClaim,
    TokenAlgorithmRejected,
    TokenError,
    TokenExpired,
    TokenKeyUnknown,
    TokenNotYetValid,
    TokenSignatureInvalid,
    TokenTooLarge,
    UnsupportedCritical,
    WrongAudience,
    WrongIssuer,
    WrongTokenType,
)
from govkit.identity import (
    AssuranceLevel,
    DPoPVerifier,
    MemoryIdentityStore,
    TokenIssuer,
    TokenVerifier,
    create_dpop_proof,
)
from govkit.keys import KeyRing, SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NOW = int(T0.timestamp())
ISS = "https://login.gov.example"
AUD = "https://tax.gov.example"
SUB = "pseudonym-4Qe8"
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# --- the victim: one issuer, one service -----------------------------------------


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ("EdDSA", "ES256", "PS256", "RS256")}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ring(keys: dict[str, SigningKey], clock: FixedClock) -> KeyRing:
    """The service's trusted keys: every algorithm, ES256 active."""
    ring = KeyRing(clock=clock)
    for key in keys.values():
        ring.add(key.verifying_key)
    ring.activate(keys["ES256"])
    return ring


@pytest.fixture
def verifier(ring: KeyRing, clock: FixedClock) -> TokenVerifier:
    return TokenVerifier(
        ring, issuer=ISS, audience=AUD, clock=clock, min_assurance=AssuranceLevel.SUBSTANTIAL
    )


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISS,
        "sub": SUB,
        "aud": AUD,
        "exp": NOW + 600,
        "iat": NOW,
        "jti": "attack-1",
        "acr": AssuranceLevel.HIGH.acr,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def enc(value: dict[str, Any] | bytes) -> str:
    return b64url_encode(value if isinstance(value, bytes) else json.dumps(value).encode())


def header(key: SigningKey, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signing_input(head: dict[str, Any] | bytes, body: dict[str, Any] | bytes) -> str:
    return f"{enc(head)}.{enc(body)}"


def signed(key: SigningKey, head: dict[str, Any] | bytes | None = None, body: Any = None) -> str:
    """A token signed with the real private key (what a buggy issuer or a leak would give)."""
    text = signing_input(
        head if head is not None else header(key), body if body is not None else claims()
    )
    return f"{text}.{b64url_encode(key.sign(text.encode()))}"


def with_signature(head: dict[str, Any], body: dict[str, Any], signature: bytes) -> str:
    return f"{signing_input(head, body)}.{b64url_encode(signature)}"


def hs256(secret: bytes, head: dict[str, Any], body: dict[str, Any]) -> str:
    text = signing_input(head, body)
    mac = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return f"{text}.{b64url_encode(mac)}"


def rejects(
    verifier: TokenVerifier, token: str | bytes, error: type[TokenError], **kwargs: Any
) -> TokenError:
    """Assert ``verify`` raises exactly ``error`` and ``inspect`` reports its code."""
    with pytest.raises(TokenError) as caught:
        verifier.verify(token, **kwargs)
    assert type(caught.value) is error, caught.value
    assert caught.value.code == error.code
    report = verifier.inspect(token, **kwargs)
    assert (report.ok, report.code) == (False, error.code)
    return caught.value


def test_the_victim_accepts_its_own_tokens(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    for key in keys.values():
        assert verifier.verify(signed(key)).subject == SUB


# --- 1. alg none -----------------------------------------------------------------


def test_alg_none_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    token = signing_input(header(keys["ES256"], alg="none"), claims()) + "."
    error = rejects(verifier, token, TokenAlgorithmRejected)
    assert error.context["alg"] == "none"


def test_alg_none_with_a_signature_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    real = signed(key)
    head = enc(header(key, alg="none"))
    rejects(verifier, head + real[real.index(".") :], TokenAlgorithmRejected)


@pytest.mark.parametrize("alg", ["None", "NONE", "nOnE", "none ", " none", "none\u0000"])
def test_alg_none_case_variants_are_rejected(
    alg: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    token = signing_input(header(keys["ES256"], alg=alg), claims()) + "."
    rejects(verifier, token, TokenAlgorithmRejected)


@pytest.mark.parametrize("alg", [None, "", 0, ["ES256"], {"alg": "ES256"}, True])
def test_missing_or_non_string_alg_is_rejected(
    alg: Any, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    head = {"kid": key.kid, "typ": "at+jwt"} if alg is None else header(key, alg=alg)
    rejects(verifier, signed(key, head), TokenAlgorithmRejected)


# --- 2. HMAC key confusion ---------------------------------------------------------


def public_forms(key: SigningKey) -> dict[str, bytes]:
    public = key.verifying_key.public_key
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return {
        "pem": public.public_bytes(serialization.Encoding.PEM, spki),
        "govkit_pem": key.verifying_key.to_pem(),
        "der": public.public_bytes(serialization.Encoding.DER, spki),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk": json.dumps(key.verifying_key.to_jwk()).encode(),
        "jwk_compact": json.dumps(key.verifying_key.to_jwk(), separators=(",", ":")).encode(),
    }


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
@pytest.mark.parametrize("mac", ["HS256", "HS384", "HS512"])
def test_hmac_with_public_key_pem_as_secret_is_rejected(
    alg: str, mac: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys[alg]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[mac]
    head = header(key, alg=mac)
    text = signing_input(head, claims())
    for secret in (public_forms(key)["pem"], public_forms(key)["govkit_pem"]):
        token = f"{text}.{b64url_encode(hmac.new(secret, text.encode(), digest).digest())}"
        error = rejects(verifier, token, TokenAlgorithmRejected)
        assert error.context["expected"] == alg


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_hmac_with_public_key_der_as_secret_is_rejected(
    alg: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys[alg]
    token = hs256(public_forms(key)["der"], header(key, alg="HS256"), claims())
    rejects(verifier, token, TokenAlgorithmRejected)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_hmac_with_public_key_openssh_as_secret_is_rejected(
    alg: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys[alg]
    token = hs256(public_forms(key)["openssh"], header(key, alg="HS256"), claims())
    rejects(verifier, token, TokenAlgorithmRejected)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
@pytest.mark.parametrize("form", ["jwk", "jwk_compact"])
def test_hmac_with_public_key_jwk_as_secret_is_rejected(
    alg: str, form: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys[alg]
    token = hs256(public_forms(key)[form], header(key, alg="HS256"), claims())
    rejects(verifier, token, TokenAlgorithmRejected)


# --- 3. algorithm and curve substitution -------------------------------------------


def test_alg_substitution_rs256_for_ps256_key_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    ps256 = keys["PS256"]
    same_rsa_key_as_rs256 = SigningKey(ps256.private_key, "RS256")
    assert same_rsa_key_as_rs256.kid == ps256.kid  # same modulus, same thumbprint
    token = signed(same_rsa_key_as_rs256)  # a genuine RS256 signature by the PS256 key
    error = rejects(verifier, token, TokenAlgorithmRejected)
    assert (error.context["alg"], error.context["expected"]) == ("RS256", "PS256")


def test_alg_substitution_ps256_for_rs256_key_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    rs256 = keys["RS256"]
    token = signed(SigningKey(rs256.private_key, "PS256"))
    rejects(verifier, token, TokenAlgorithmRejected)


@pytest.mark.parametrize(
    ("key_alg", "claimed"), [("ES256", "EdDSA"), ("EdDSA", "ES256"), ("RS256", "ES256")]
)
def test_alg_substitution_across_key_types_is_rejected(
    key_alg: str, claimed: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys[key_alg]
    rejects(verifier, signed(key, header(key, alg=claimed)), TokenAlgorithmRejected)


def test_curve_substitution_es256_header_with_other_key_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    victim = keys["ES256"]
    p384 = ec.generate_private_key(ec.SECP384R1())
    head = header(victim)  # alg ES256, the victim's kid
    text = signing_input(head, claims())
    r, s = decode_dss_signature(p384.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(48, "big") + s.to_bytes(48, "big")  # 96 bytes, P-384 sized
    rejects(verifier, f"{text}.{b64url_encode(signature)}", TokenSignatureInvalid)


def test_curve_substitution_es384_header_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    victim = keys["ES256"]
    rejects(verifier, signed(victim, header(victim, alg="ES384")), TokenAlgorithmRejected)


# --- 4. keys supplied by the token ------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any attempt to open a connection is recorded and refused."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access during token verification")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_embedded_jwk_header_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    attacker = SigningKey.generate("ES256")
    for kid in (attacker.kid, keys["ES256"].kid):
        head = header(attacker, kid=kid, jwk=attacker.verifying_key.to_jwk())
        error = rejects(verifier, signed(attacker, head), ForbiddenHeader)
        assert error.context["header"] == "jwk"


def test_jku_header_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier, no_network: list[object]
) -> None:
    attacker = SigningKey.generate("ES256")
    head = header(attacker, jku="http://127.0.0.1:9/jwks.json")
    error = rejects(verifier, signed(attacker, head), ForbiddenHeader)
    assert error.context["header"] == "jku"
    assert no_network == []  # no SSRF: nothing was fetched


def test_x5u_header_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier, no_network: list[object]
) -> None:
    key = keys["ES256"]
    head = header(key, x5u="http://169.254.169.254/latest/meta-data/")
    error = rejects(verifier, signed(key, head), ForbiddenHeader)
    assert error.context["header"] == "x5u"
    assert no_network == []


def test_x5c_header_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    head = header(key, x5c=["MIIBszCCAVmgAwIBAgIUQ2ZvcmdlZC1jZXJ0aWZpY2F0ZQ=="])
    error = rejects(verifier, signed(key, head), ForbiddenHeader)
    assert error.context["header"] == "x5c"


@pytest.mark.parametrize("name", ["x5t", "x5t#S256"])
def test_x5t_thumbprint_headers_are_rejected(
    name: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    error = rejects(verifier, signed(key, header(key, **{name: "AAAA"})), ForbiddenHeader)
    assert error.context["header"] == name


# --- 5. kid abuse -----------------------------------------------------------------


def test_kid_path_traversal_is_unknown_key(verifier: TokenVerifier) -> None:
    head = {"alg": "HS256", "kid": "../../../../../../dev/null", "typ": "at+jwt"}
    token = hs256(b"", head, claims())  # the "empty file" key
    error = rejects(verifier, token, TokenKeyUnknown)
    assert error.context["kid"] == "../../../../../../dev/null"


def test_kid_sql_injection_is_unknown_key(verifier: TokenVerifier) -> None:
    kid = "x' UNION SELECT 'attacker-secret' --"
    token = hs256(b"attacker-secret", {"alg": "HS256", "kid": kid, "typ": "at+jwt"}, claims())
    rejects(verifier, token, TokenKeyUnknown)


def test_kid_naming_no_trusted_key_is_unknown_key(verifier: TokenVerifier) -> None:
    attacker = SigningKey.generate("ES256")  # a well-formed token by a key nobody trusts
    rejects(verifier, signed(attacker), TokenKeyUnknown)


def test_huge_kid_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, header(key, kid="k" * 257)), MalformedToken)


@pytest.mark.parametrize("kid", [None, "", 7, ["kid"], {"kid": "x"}, True])
def test_non_string_kid_is_rejected(
    kid: Any, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    head = header(key, kid=kid) if kid is not None else {"alg": "ES256", "typ": "at+jwt"}
    rejects(verifier, signed(key, head), MalformedToken)


def test_kid_flood_is_answered_without_work(verifier: TokenVerifier) -> None:
    attacker = SigningKey.generate("ES256")
    tokens = [signed(attacker, header(attacker, kid=f"random-{i:04d}")) for i in range(500)]
    start = time.perf_counter()
    for token in tokens:
        with pytest.raises(TokenKeyUnknown):
            verifier.verify(token)
    assert time.perf_counter() - start < 2.0  # no signature work, no fetch per kid


# --- 6. ECDSA psychic signatures and friends ---------------------------------------


def test_ecdsa_psychic_signature_zero_r_s_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, with_signature(header(key), claims(), bytes(64)), TokenSignatureInvalid)


@pytest.mark.parametrize("which", ["r", "s", "both"])
def test_ecdsa_r_or_s_equal_to_n_is_rejected(
    which: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    text = signing_input(header(key), claims())
    good = key.sign(text.encode())
    r, s = good[:32], good[32:]
    n = P256_N.to_bytes(32, "big")
    bad = {"r": n + s, "s": r + n, "both": n + n}[which]
    rejects(verifier, f"{text}.{b64url_encode(bad)}", TokenSignatureInvalid)


def test_ecdsa_r_or_s_zero_with_a_valid_other_half_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    text = signing_input(header(key), claims())
    good = key.sign(text.encode())
    for bad in (bytes(32) + good[32:], good[:32] + bytes(32)):
        rejects(verifier, f"{text}.{b64url_encode(bad)}", TokenSignatureInvalid)


def test_der_encoded_es256_signature_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    text = signing_input(header(key), claims())
    raw = key.sign(text.encode())
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    rejects(verifier, f"{text}.{b64url_encode(der)}", TokenSignatureInvalid)


@pytest.mark.parametrize("change", ["append_zero", "prepend_zero", "truncate"])
def test_es256_signature_of_the_wrong_length_is_rejected(
    change: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    text = signing_input(header(key), claims())
    raw = key.sign(text.encode())
    bad = {"append_zero": raw + b"\0", "prepend_zero": b"\0" + raw, "truncate": raw[:-1]}[change]
    rejects(verifier, f"{text}.{b64url_encode(bad)}", TokenSignatureInvalid)


def test_missing_signature_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signing_input(header(key), claims()) + ".", TokenSignatureInvalid)


# --- 7. non-canonical encodings ---------------------------------------------------


@pytest.mark.parametrize("part", [0, 1, 2])
def test_padded_base64_is_rejected(
    part: int, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    pieces = signed(keys["ES256"]).split(".")
    pad = "=" * (-len(pieces[part]) % 4) or "===="
    pieces[part] += pad
    rejects(verifier, ".".join(pieces), MalformedToken)


@pytest.mark.parametrize(
    "where",
    ["leading_space", "trailing_newline", "crlf", "tab_in_header", "space_in_payload", "nbsp"],
)
def test_whitespace_in_token_is_rejected(
    where: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    token = signed(keys["ES256"])
    dot = token.index(".")
    bad = {
        "leading_space": " " + token,
        "trailing_newline": token + "\n",
        "crlf": token + "\r\n",
        "tab_in_header": token[:5] + "\t" + token[5:],
        "space_in_payload": token[: dot + 6] + " " + token[dot + 6 :],
        "nbsp": token[:5] + "\u00a0" + token[5:],
    }[where]
    rejects(verifier, bad, MalformedToken)


def test_non_canonical_trailing_bits_are_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    token = signed(keys["ES256"])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    assert last & 0b1111 == 0  # 64 bytes in 86 characters: 4 unused bits, all zero
    twin = token[:-1] + alphabet[last | 1]
    # A lenient decoder maps both to the same signature, so the twin would verify and
    # defeat any replay cache keyed on the token text.
    signature, twin_signature = token.rsplit(".", 1)[1], twin.rsplit(".", 1)[1]
    assert base64.urlsafe_b64decode(twin_signature + "==") == b64url_decode(signature)
    rejects(verifier, twin, MalformedToken)


def test_standard_base64_alphabet_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    for _ in range(64):  # find a token whose signature has a '-' or '_'
        token = signed(key, body=claims(jti=f"t{time.perf_counter_ns()}"))
        signature = token.rsplit(".", 1)[1]
        if "-" in signature or "_" in signature:
            break
    standard = token.replace("-", "+").replace("_", "/")
    rejects(verifier, standard, MalformedToken)


@pytest.mark.parametrize("text", ["\u0435yJ", "ｅyJ"])  # Cyrillic е, fullwidth ｅ
def test_non_ascii_lookalike_characters_are_rejected(
    text: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    token = signed(keys["ES256"])
    rejects(verifier, text + token[3:], MalformedToken)
    rejects(verifier, (text + token[3:]).encode("utf-8"), MalformedToken)


# --- 8. sign/encrypt confusion -----------------------------------------------------


def test_jwe_presented_as_jws_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    rsa = keys["RS256"]
    jwk = {k: v for k, v in rsa.verifying_key.to_jwk().items() if k not in ("use", "alg")}
    body = json.dumps(claims()).encode()
    token = jwe.encrypt_compact(
        {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": rsa.kid, "typ": "at+jwt"},
        body,
        RSAKey.import_key(jwk),
        algorithms=["RSA-OAEP-256", "A256GCM"],
    )
    assert token.count(".") == 4  # encrypted to the published public key: anyone can
    error = rejects(verifier, token, MalformedToken)
    assert "JWE" in str(error)


# --- 9. parser differentials ------------------------------------------------------


def test_json_serialization_instead_of_compact_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    h, p, s = signed(keys["ES256"]).split(".")
    flattened = json.dumps({"protected": h, "payload": p, "signature": s})
    rejects(verifier, flattened, MalformedToken)
    general = json.dumps({"payload": p, "signatures": [{"protected": h, "signature": s}]})
    rejects(verifier, general, MalformedToken)


def test_unprotected_header_override_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    h, p, s = signed(keys["ES256"]).split(".")
    mixed = json.dumps(
        {"protected": h, "header": {"alg": "none", "kid": "x"}, "payload": p, "signature": s}
    )
    rejects(verifier, mixed, MalformedToken)
    # CVE-2022-39227: a compact token whose text also parses as JSON serialization
    rejects(verifier, '{"  ' + h + "." + p + "." + s + '":""}', MalformedToken)


def test_duplicate_json_keys_are_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    head = f'{{"alg":"ES256","kid":"{key.kid}","typ":"at+jwt","alg":"none"}}'.encode()
    rejects(verifier, signed(key, head), MalformedToken)
    body = json.dumps(claims())[:-1].encode() + b', "sub": "someone-else"}'
    rejects(verifier, signed(key, header(key), body), MalformedToken)
    nested = json.dumps(claims())[:-1].encode() + b', "cnf": {"jkt": "a", "jkt": "b"}}'
    rejects(verifier, signed(key, header(key), nested), MalformedToken)


def test_non_object_header_or_claims_are_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    for head in (b"[]", b'"at+jwt"', b"null", b"1"):
        rejects(verifier, signed(key, head), MalformedToken)
    for body in (b"[]", b'"claims"', b"null", b"", b"{"):
        rejects(verifier, signed(key, header(key), body), MalformedToken)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers_are_rejected(
    number: bytes, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    body = json.dumps(claims())[:-1].encode() + b', "score": ' + number + b"}"
    rejects(verifier, signed(key, header(key), body), MalformedToken)


def test_invalid_utf8_and_lone_surrogates_are_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, b'{"alg":"ES256","typ":"at+jwt","kid":"\xff"}'), MalformedToken)
    body = json.dumps(claims())[:-1].encode() + b', "name": "\\ud800"}'
    rejects(verifier, signed(key, header(key), body), MalformedToken)
    bom = b"\xef\xbb\xbf" + json.dumps(claims()).encode()
    rejects(verifier, signed(key, header(key), bom), MalformedToken)


# --- 10. unknown crit, b64 ---------------------------------------------------------


@pytest.mark.parametrize("crit", [["exp"], ["urn:example:must-understand"], [], "b64", ["b64"]])
def test_unknown_crit_is_rejected(
    crit: Any, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, header(key, crit=crit)), UnsupportedCritical)


def test_unencoded_payload_b64_false_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, header(key, b64=False)), MalformedToken)


# --- 11. claim gaps ---------------------------------------------------------------


def test_missing_exp_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    error = rejects(verifier, signed(key, body=claims(exp=None)), MissingClaim)
    assert error.context["claim"] == "exp"


def test_string_exp_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(exp="9999999999")), MissingClaim)


@pytest.mark.parametrize("exp", [True, 1.8e9, [NOW + 600], {"$date": NOW + 600}, -1, 10**30])
def test_non_integer_exp_is_rejected(
    exp: Any, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(exp=exp)), MissingClaim)


def test_expired_token_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(iat=NOW - 7200, exp=NOW - 3600)), TokenExpired)


@pytest.mark.parametrize(
    "iss",
    [
        "https://login.gov.example.evil.example",
        "https://login.gov.exampl",
        "https://login.gov.example/",
        "https://LOGIN.gov.example",
        "http://login.gov.example",
        "https://login.gov.example\u0000",
        "xhttps://login.gov.example",
    ],
)
def test_partial_issuer_match_is_rejected(
    iss: str, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(iss=iss)), WrongIssuer)


@pytest.mark.parametrize("iss", [None, [ISS], {"iss": ISS}, 1])
def test_missing_or_non_string_issuer_is_rejected(
    iss: Any, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(iss=iss)), MissingClaim)


@pytest.mark.parametrize(
    "aud",
    [[AUD, "https://health.gov.example"], ["https://health.gov.example", AUD], [AUD, AUD], []],
)
def test_audience_list_with_extra_party_is_rejected(
    aud: list[str], keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(aud=aud)), WrongAudience)


def test_other_audience_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(aud="https://tax.gov.example.evil")), WrongAudience)


def test_missing_audience_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(aud=None)), MissingClaim)


def test_future_nbf_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(nbf=NOW + 3600)), TokenNotYetValid)


def test_future_iat_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(iat=NOW + 3600)), TokenNotYetValid)


def test_assurance_below_requirement_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    error = rejects(
        verifier, signed(key, body=claims(acr=AssuranceLevel.LOW.acr)), InsufficientAssurance
    )
    assert error.context["required"] == "substantial"


def test_missing_acr_is_rejected(keys: dict[str, SigningKey], verifier: TokenVerifier) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, body=claims(acr=None)), MissingClaim)


# --- 12. cross-JWT confusion -------------------------------------------------------


def test_access_token_used_as_id_token_is_rejected(
    keys: dict[str, SigningKey], ring: KeyRing, clock: FixedClock
) -> None:
    token = TokenIssuer(keys["ES256"], issuer=ISS, clock=clock).issue(
        SUB, AUD, AssuranceLevel.HIGH, timedelta(minutes=5), profile="access"
    )
    id_verifier = TokenVerifier(ring, issuer=ISS, audience=AUD, profile="id", clock=clock)
    rejects(id_verifier, token, WrongTokenType)


def test_id_token_used_as_access_token_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier, clock: FixedClock
) -> None:
    token = TokenIssuer(keys["ES256"], issuer=ISS, clock=clock).issue(
        SUB, AUD, AssuranceLevel.HIGH, timedelta(minutes=5), profile="id"
    )
    rejects(verifier, token, WrongTokenType)


def test_dpop_proof_used_as_access_token_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier, clock: FixedClock
) -> None:
    proof = create_dpop_proof(keys["ES256"], htm="GET", htu="https://tax.gov.example/", clock=clock)
    rejects(verifier, proof, WrongTokenType)


@pytest.mark.parametrize("typ", [None, "JOSE", "JWT", "dpop+jwt", "secevent+jwt", "at+jwt+evil"])
def test_missing_or_foreign_typ_is_rejected(
    typ: str | None, keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    rejects(verifier, signed(key, header(key, typ=typ)), WrongTokenType)


def test_token_for_another_service_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier, clock: FixedClock
) -> None:
    token = TokenIssuer(keys["ES256"], issuer=ISS, clock=clock).issue(
        SUB, "https://health.gov.example", AssuranceLevel.HIGH, timedelta(minutes=5)
    )
    rejects(verifier, token, WrongAudience)


def test_payload_spliced_from_another_token_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    mine = signed(key, body=claims(acr=AssuranceLevel.SUBSTANTIAL.acr)).split(".")
    other = signed(key, body=claims(sub="victim")).split(".")
    rejects(verifier, f"{mine[0]}.{other[1]}.{mine[2]}", TokenSignatureInvalid)


# --- 13. exhaustion ---------------------------------------------------------------


def test_one_megabyte_token_is_rejected_quickly(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    huge = signed(key, body=claims(pad="A" * 1_000_000))
    assert len(huge) > 1_000_000
    for token in (huge, huge.encode(), "A" * 1_048_576):
        start = time.perf_counter()
        with pytest.raises(TokenTooLarge):
            verifier.verify(token)
        assert time.perf_counter() - start < 0.05  # PyJWT took 0.9 s for 10 MB
    rejects(verifier, huge, TokenTooLarge)


def test_ten_megabyte_token_is_rejected_quickly(verifier: TokenVerifier) -> None:
    token = "eyJ" + "A" * 10_000_000 + ".e30.AA"
    start = time.perf_counter()
    with pytest.raises(TokenTooLarge):
        verifier.verify(token)
    assert time.perf_counter() - start < 0.05


def test_deeply_nested_json_is_rejected(
    keys: dict[str, SigningKey], verifier: TokenVerifier, ring: KeyRing, clock: FixedClock
) -> None:
    key = keys["ES256"]
    deep = json.dumps(header(key))[:-1].encode() + b', "x": ' + b"[" * 17 + b"]" * 17 + b"}"
    rejects(verifier, signed(key, deep), MalformedToken)
    body = json.dumps(claims())[:-1].encode() + b', "x": ' + b'{"a":' * 16 + b"1" + b"}" * 17
    rejects(verifier, signed(key, header(key), body), MalformedToken)
    # Far deeper than the parser's own recursion guard, with the size cap raised:
    roomy = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock, max_token_bytes=2**22)
    abyss = (
        json.dumps(header(key))[:-1].encode() + b', "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    )
    rejects(roomy, signed(key, abyss), MalformedToken)


def test_huge_integer_in_claims_is_rejected(
    keys: dict[str, SigningKey], ring: KeyRing, clock: FixedClock
) -> None:
    key = keys["ES256"]
    roomy = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock, max_token_bytes=2**16)
    body = json.dumps(claims())[:-1].encode() + b', "n": ' + b"9" * 5000 + b"}"
    rejects(roomy, signed(key, header(key), body), MalformedToken)


# --- 15. DPoP binding --------------------------------------------------------------


@pytest.fixture
def dpop_verifier(ring: KeyRing, clock: FixedClock) -> TokenVerifier:
    dpop = DPoPVerifier(replay_store=MemoryIdentityStore(), clock=clock)
    return TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock, dpop=dpop)


def test_dpop_bound_token_sent_as_bearer_is_rejected(
    keys: dict[str, SigningKey], dpop_verifier: TokenVerifier
) -> None:
    key, client = keys["ES256"], keys["EdDSA"]
    token = signed(key, body=claims(cnf={"jkt": client.kid}))
    rejects(dpop_verifier, token, DPoPBindingMismatch)


def test_dpop_proof_by_another_key_is_rejected(
    keys: dict[str, SigningKey], dpop_verifier: TokenVerifier, clock: FixedClock
) -> None:
    key, client = keys["ES256"], keys["EdDSA"]
    token = signed(key, body=claims(cnf={"jkt": client.kid}))
    thief = SigningKey.generate("ES256")
    htu = "https://tax.gov.example/returns"
    proof = create_dpop_proof(thief, htm="GET", htu=htu, access_token=token, clock=clock)
    with pytest.raises(DPoPBindingMismatch):
        dpop_verifier.verify(token, dpop_proof=proof, htm="GET", htu=htu)


def test_dpop_proof_attached_to_a_bearer_token_is_rejected(
    keys: dict[str, SigningKey], dpop_verifier: TokenVerifier, clock: FixedClock
) -> None:
    token = signed(keys["ES256"])
    htu = "https://tax.gov.example/returns"
    proof = create_dpop_proof(keys["EdDSA"], htm="GET", htu=htu, access_token=token, clock=clock)
    with pytest.raises(DPoPBindingMismatch):
        dpop_verifier.verify(token, dpop_proof=proof, htm="GET", htu=htu)


# --- every attack above fails the same way through inspect ---------------------------


def test_inspect_never_raises_for_any_attack_token(
    keys: dict[str, SigningKey], verifier: TokenVerifier
) -> None:
    key = keys["ES256"]
    tokens: list[Any] = [
        signing_input(header(key, alg="none"), claims()) + ".",
        hs256(public_forms(key)["pem"], header(key, alg="HS256"), claims()),
        signed(key, header(key, jku="https://evil.example")),
        signed(key, header(key, kid=["x"])),
        with_signature(header(key), claims(), bytes(64)),
        "eyJ" + "A" * 9000,
        '{"payload":"e30"}',
        b"\xff\xfe\xfd",
    ]
    for token in tokens:
        report = verifier.inspect(token)
        assert report.ok is False
        assert isinstance(report.code, str)
        with pytest.raises(GovkitError):
            verifier.verify(token)
