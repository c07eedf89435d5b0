"""The one-pass check of a JWK in govkit's exact form, used to load 100,000-key lists.

``VerifyingKey._from_exact_jwk(jwk)`` returns a key exactly when
``VerifyingKey.from_jwk(jwk).to_jwk() == jwk`` holds for a P-256 or Ed25519 key (what
a trust list requires of each key), and the same key; ``None`` otherwise, and the
caller then goes the ``from_jwk`` way for the precise error. Each test below holds it
against that reference on a JWK that is subtly wrong.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkit._encoding import b64url_encode
from govkit.errors import GovkitError
from govkit.keys import SigningKey, VerifyingKey
from govkit.keys._keys import _P256_P

P256 = SigningKey.generate("ES256")


def _url_alphabet_key() -> SigningKey:
    """A P-256 key whose ``x`` has a ``-`` or ``_`` (else its standard-alphabet form is itself)."""
    while True:
        key = SigningKey.generate("ES256")
        if set(key.verifying_key.to_jwk()["x"]) & {"-", "_"}:
            return key


URL_ALPHABET = _url_alphabet_key()
ED25519 = SigningKey.generate("EdDSA")


def reference(jwk: Any) -> VerifyingKey | None:
    """What the trust list required before: ``from_jwk`` accepts it and writes it back."""
    try:
        key = VerifyingKey.from_jwk(jwk)
    except GovkitError:
        return None
    return key if key.to_jwk() == jwk else None


def agrees(jwk: Any) -> VerifyingKey | None:
    fast = VerifyingKey._from_exact_jwk(jwk)
    slow = reference(jwk)
    if fast is None:
        assert slow is None or slow.alg not in ("ES256", "EdDSA"), jwk
        return None
    assert slow is not None, jwk
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert fast.kid == slow.kid
    assert fast.to_jwk() == slow.to_jwk() == jwk
    return fast


@pytest.mark.parametrize("signer", [P256, ED25519], ids=["ES256", "EdDSA"])
def test_a_jwk_in_the_exact_form_is_the_key_from_jwk_reads(signer: SigningKey) -> None:
    key = agrees(signer.verifying_key.to_jwk())
    assert key is not None
    key.verify(signer.sign(b"licence"), b"licence")
    assert key.to_pem() == signer.verifying_key.to_pem()


def _coordinate(value: int) -> str:
    return b64url_encode(value.to_bytes(32, "big"))


def _numbers() -> tuple[int, int]:
    numbers = P256.verifying_key.public_key.public_numbers()  # type: ignore[union-attr]
    return numbers.x, numbers.y


def _with(jwk: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**jwk, **changes}


def _cases() -> dict[str, Any]:
    ec = P256.verifying_key.to_jwk()
    ed = ED25519.verifying_key.to_jwk()
    url = URL_ALPHABET.verifying_key.to_jwk()
    x, y = _numbers()
    other = SigningKey.generate("ES256").verifying_key.to_jwk()
    flipped = ec["x"][:-1] + ("B" if ec["x"][-1] == "A" else "A")  # other trailing bits
    cases: dict[str, Any] = {
        "not_a_dict": list(ec.items()),
        "point_off_the_curve": _with(ec, y=_coordinate(y ^ 1)),
        "y_zero": _with(ec, y=_coordinate(0)),
        "x_is_the_field_prime": _with(ec, x=_coordinate(_P256_P)),
        "non_canonical_trailing_bits_x": _with(ec, x=flipped),
        "non_canonical_trailing_bits_ed": _with(ed, x=ed["x"][:-1] + "B"),
        "padded_x": _with(ec, x=ec["x"] + "="),
        "standard_alphabet_x": _with(url, x=url["x"].replace("-", "+").replace("_", "/")),
        "plus_in_kid": _with(ec, kid="+" + ec["kid"][1:]),
        "x_too_short": _with(ec, x=ec["x"][:-4]),
        "x_too_long": _with(ec, x=ec["x"] + "AAAA"),
        "non_ascii_x": _with(ec, x="é" + ec["x"][1:]),
        "space_in_y": _with(ec, y=" " + ec["y"][1:]),
        "kid_of_another_key": _with(ec, kid=other["kid"]),
        "kid_not_text": _with(ec, kid=7),
        "kid_trailing_bits": _with(ec, kid=ec["kid"][:-1] + chr(ord(ec["kid"][-1]) ^ 1)),
        "x_not_text": _with(ec, x=None),
        "alg_of_another_kind": _with(ec, alg="EdDSA"),
        "alg_rs256": _with(ec, alg="RS256"),
        "curve_p384": _with(ec, crv="P-384"),
        "curve_sm2": _with(ec, crv="SM2"),
        "okp_with_y": _with(ed, y=ec["y"]),
        "kty_okp_for_ec": _with(ec, kty="OKP"),
        "use_enc": _with(ec, use="enc"),
        "private_member": _with(ec, d=ec["x"]),
        "key_ops": _with(ec, key_ops=["verify"]),
        "missing_use": {k: v for k, v in ec.items() if k != "use"},
        "missing_alg": {k: v for k, v in ec.items() if k != "alg"},
        "missing_y": {k: v for k, v in ec.items() if k != "y"},
        "ed_x_of_31_bytes": _with(ed, x=b64url_encode(bytes(31))),
        "rsa": SigningKey.generate("RS256").verifying_key.to_jwk(),
    }
    if x + _P256_P < 2**256:  # the same point modulo p, past the field
        cases["x_plus_the_prime"] = _with(ec, x=_coordinate(x + _P256_P))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_subtly_wrong_jwk_is_refused_as_from_jwk_and_to_jwk_refuse_it(name: str) -> None:
    assert agrees(CASES[name]) is None


MEMBERS = ["alg", "crv", "kid", "kty", "use", "x", "y", "d", "key_ops"]
VALUES = (
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= é")
    | st.sampled_from(["EC", "OKP", "P-256", "Ed25519", "ES256", "EdDSA", "sig", ""])
    | st.none()
    | st.integers()
)


@settings(max_examples=400)
@given(
    base=st.sampled_from([P256, ED25519]),
    member=st.sampled_from(MEMBERS),
    value=VALUES,
    drop=st.booleans(),
)
def test_any_change_of_one_member_gives_the_answer_from_jwk_gives(
    base: SigningKey, member: str, value: Any, drop: bool
) -> None:
    jwk: dict[str, Any] = base.verifying_key.to_jwk()
    if drop:
        jwk.pop(member, None)
    else:
        jwk[member] = value
    agrees(jwk)


@settings(max_examples=400)
@given(
    base=st.sampled_from([P256, ED25519]),
    member=st.sampled_from(["x", "y", "kid"]),
    position=st.integers(min_value=0, max_value=42),
    char=st.characters(min_codepoint=32, max_codepoint=0x10FFFF, exclude_categories=("Cs",)),
)
def test_any_one_character_changed_in_a_coordinate_or_the_kid_gives_the_same_answer(
    base: SigningKey, member: str, position: int, char: str
) -> None:
    jwk: dict[str, Any] = base.verifying_key.to_jwk()
    if member not in jwk:
        return
    text = jwk[member]
    jwk[member] = text[:position] + char + text[position + 1 :]
    agrees(jwk)
