"""Detached JWS signatures (RFC 7797) and multi-party chains: each fault a verifier must catch."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from govkit._encoding import b64url_decode, b64url_encode
from govkit.errors import (
    ConfigurationError,
    DocumentDigestMismatch,
    DocumentSignatureInvalid,
    SignatureChainBroken,
    SignatureFormatError,
    SignerUntrusted,
    WrongSignaturePurpose,
)
from govkit.esign import sign_detached, verify_detached
from govkit.keys import SigningKey
from govkit.testing import FixedClock

DATA = b"%PDF-1.7 an official letter"
CLERK, HEAD, DIRECTOR = (SigningKey.generate(a) for a in ("ES256", "EdDSA", "ES256"))
KEYS = [k.verifying_key for k in (CLERK, HEAD, DIRECTOR)]
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def chain() -> bytes:
    first = sign_detached(DATA, CLERK, purpose="approval", clock=FixedClock(T0))
    second = sign_detached(
        DATA,
        HEAD,
        purpose="approval",
        role="countersign",
        previous=first,
        clock=FixedClock(T0 + timedelta(minutes=5)),
    )
    return sign_detached(
        DATA,
        DIRECTOR,
        purpose="approval",
        role="approve",
        previous=second,
        clock=FixedClock(T0 + timedelta(minutes=9)),
    )


def entries(signature: bytes) -> list[dict[str, str]]:
    return list(json.loads(signature)["signatures"])


def rebuild(items: list[dict[str, str]]) -> bytes:
    return json.dumps({"signatures": items}).encode()


def test_sign_countersign_approve_verifies_in_order() -> None:
    parties = verify_detached(
        DATA,
        chain(),
        KEYS,
        purpose="approval",
        roles=("sign", "countersign", "approve"),
        at=T0 + timedelta(hours=1),
    )
    assert [p.role for p in parties] == ["sign", "countersign", "approve"]
    assert [p.kid for p in parties] == [CLERK.kid, HEAD.kid, DIRECTOR.kid]
    assert parties[1].signed_at == T0 + timedelta(minutes=5)


def test_header_is_rfc7797_unencoded_detached() -> None:
    header = json.loads(b64url_decode(entries(chain())[0]["protected"]))
    assert header["b64"] is False
    assert header["crit"] == ["b64"]
    assert header["typ"] == "govkit-sig+jws"


def test_changed_file_is_a_digest_mismatch() -> None:
    with pytest.raises(DocumentDigestMismatch):
        verify_detached(DATA + b" ", chain(), KEYS, at=T0 + timedelta(hours=1))


def test_signer_not_among_trusted_keys_is_untrusted() -> None:
    with pytest.raises(SignerUntrusted):
        verify_detached(DATA, chain(), KEYS[:2], at=T0 + timedelta(hours=1))


def test_forged_signature_value_is_invalid() -> None:
    items = entries(chain())
    raw = bytearray(b64url_decode(items[1]["signature"]))
    raw[0] ^= 1
    items[1]["signature"] = b64url_encode(bytes(raw))
    with pytest.raises(DocumentSignatureInvalid):
        verify_detached(DATA, rebuild(items), KEYS, at=T0 + timedelta(hours=1))


def test_dropping_the_countersignature_breaks_the_chain() -> None:
    items = entries(chain())
    with pytest.raises(SignatureChainBroken):
        verify_detached(DATA, rebuild([items[0], items[2]]), KEYS, at=T0 + timedelta(hours=1))


def test_reordered_signatures_break_the_chain() -> None:
    items = entries(chain())
    with pytest.raises(SignatureChainBroken):
        verify_detached(DATA, rebuild([items[1], items[0]]), KEYS, at=T0 + timedelta(hours=1))


def test_missing_required_role_breaks_the_chain() -> None:
    single = sign_detached(DATA, CLERK, purpose="approval", clock=FixedClock(T0))
    with pytest.raises(SignatureChainBroken):
        verify_detached(DATA, single, KEYS, roles=("sign", "approve"), at=T0)


def test_signature_for_another_purpose_is_refused() -> None:
    with pytest.raises(WrongSignaturePurpose):
        verify_detached(DATA, chain(), KEYS, purpose="payment", at=T0 + timedelta(hours=1))


def test_signature_dated_in_the_future_is_refused() -> None:
    with pytest.raises(SignatureChainBroken):
        verify_detached(DATA, chain(), KEYS, at=T0)


def test_approve_cannot_be_followed_by_sign() -> None:
    with pytest.raises(ConfigurationError):
        sign_detached(DATA, CLERK, purpose="approval", role="countersign", previous=chain())


@pytest.mark.parametrize(
    "garbage", [b"", b"[]", b'{"signatures": []}', b'{"signatures": [{"protected": 1}]}', b"\xff"]
)
def test_malformed_signature_files_are_format_errors(garbage: bytes) -> None:
    with pytest.raises(SignatureFormatError):
        verify_detached(DATA, garbage, KEYS, at=T0)


def test_repeated_member_in_the_signature_file_is_a_format_error() -> None:
    text = chain().decode()
    doubled = text.replace('{\n "signatures"', '{\n "signatures": [],\n "signatures"', 1)
    assert doubled != text
    with pytest.raises(SignatureFormatError):
        verify_detached(DATA, doubled.encode(), KEYS, at=T0 + timedelta(hours=1))


def test_repeated_header_parameter_signed_by_the_party_is_a_format_error() -> None:
    # Even a header its own signer signed: "role" twice could mean sign or approve.
    items = entries(chain())
    header = b64url_decode(items[0]["protected"]).decode()
    doubled = header.replace('"role":"sign"', '"role":"approve","role":"sign"', 1)
    assert doubled != header
    protected = b64url_encode(doubled.encode())
    digest = hashlib.sha256(DATA).digest()
    items[0] = {
        "protected": protected,
        "signature": b64url_encode(CLERK.sign(protected.encode("ascii") + b"." + digest)),
    }
    with pytest.raises(SignatureFormatError):
        verify_detached(DATA, rebuild(items[:1]), KEYS, at=T0 + timedelta(hours=1))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_a_header_signed_by_the_party_is_a_format_error(constant: str) -> None:
    # Signed by its own party, in a member the header may carry: only the strict JSON
    # loader stands between the constant and the verifier, and its reason must say so.
    items = entries(chain())
    header = b64url_decode(items[0]["protected"]).decode()
    poisoned = header.replace('"purpose":"approval"', f'"purpose":{constant}', 1)
    assert poisoned != header
    protected = b64url_encode(poisoned.encode())
    digest = hashlib.sha256(DATA).digest()
    items[0] = {
        "protected": protected,
        "signature": b64url_encode(CLERK.sign(protected.encode("ascii") + b"." + digest)),
    }
    with pytest.raises(SignatureFormatError) as caught:
        verify_detached(DATA, rebuild(items[:1]), KEYS, at=T0 + timedelta(hours=1))
    assert caught.value.code == "esign.format"
    assert (
        caught.value.message == "a protected header holds NaN or Infinity, which JSON does not have"
    )
