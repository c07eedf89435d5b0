"""Sign/s and verify/s per algorithm: govkit's SigningKey/VerifyingKey beside raw cryptography.

Both sides use the same key objects (govkit's ``private_key`` / ``public_key``), the same
message and the same padding objects, so the difference is govkit's wrapper alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from benchmarks._harness import Comparison, compare
from govkit.keys import SigningKey

#: Printed under the table.
#: The one target of this module: verify/s >= 0.90 x the plain primitive's.
VERIFY_TARGET = 0.90

NOTES = (
    "Reference = the plain cryptography primitive with the same key. For ES256 the\n"
    "reference signs and verifies DER signatures; govkit converts to and from the raw\n"
    "r||s form JOSE and COSE use, and that conversion is part of its cost. Verify target:\n"
    f"govkit >= {VERIFY_TARGET:.2f} x reference."
)

MESSAGE = b"licence GD-2026-000042 issued to Acme Ltd for 2026-2031" * 4


def _reference(
    key: SigningKey,
) -> tuple[Callable[[], bytes], Callable[[bytes], Callable[[], None]]]:
    """Raw cryptography calls for ``key``'s algorithm: ``sign()`` and ``verifier(sig)()``.

    Both sides are bound with :func:`functools.partial`, so neither pays for an extra
    Python frame that the other does not.
    """
    private = key.private_key
    public = key.verifying_key.public_key
    if isinstance(private, ed25519.Ed25519PrivateKey):
        assert isinstance(public, ed25519.Ed25519PublicKey)
        return partial(private.sign, MESSAGE), lambda sig: partial(public.verify, sig, MESSAGE)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        assert isinstance(public, ec.EllipticCurvePublicKey)
        ecdsa = ec.ECDSA(hashes.SHA256())
        return (
            partial(private.sign, MESSAGE, ecdsa),
            lambda sig: partial(public.verify, sig, MESSAGE, ecdsa),
        )
    assert isinstance(private, rsa.RSAPrivateKey)
    assert isinstance(public, rsa.RSAPublicKey)
    sha256 = hashes.SHA256()
    pad: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        if key.alg == "PS256"
        else padding.PKCS1v15()
    )
    return (
        partial(private.sign, MESSAGE, pad, sha256),
        lambda sig: partial(public.verify, sig, MESSAGE, pad, sha256),
    )


#: (sign, verify) calls per batch: roughly 5-10 ms per batch on a small cloud machine.
SIZES = {"EdDSA": (100, 40), "ES256": (150, 100), "PS256": (10, 250), "RS256": (10, 250)}


def run(quick: bool) -> list[Comparison]:
    """Sign and verify per algorithm, govkit beside cryptography."""
    rounds = 11 if quick else 61
    shrink = 5 if quick else 1
    results: list[Comparison] = []
    for alg in ("EdDSA", "ES256", "PS256", "RS256"):
        key = SigningKey.generate(alg)
        verifying = key.verifying_key
        ref_sign, ref_verifier = _reference(key)
        signature = key.sign(MESSAGE)
        ref_signature = ref_sign()
        verifying.verify(signature, MESSAGE)  # both sides must accept before timing
        ref_verifier(ref_signature)()
        sign_n, verify_n = SIZES[alg]
        note = "reference DER, govkit raw r||s" if alg == "ES256" else ""
        results.append(
            compare(
                f"{alg} sign",
                partial(key.sign, MESSAGE),
                ref_sign,
                number=max(1, sign_n // shrink),
                rounds=rounds,
                note=note,
            )
        )
        results.append(
            compare(
                f"{alg} verify",
                partial(verifying.verify, signature, MESSAGE),
                ref_verifier(ref_signature),
                number=max(1, verify_n // shrink),
                rounds=rounds,
                target=VERIFY_TARGET,
                note=note,
            )
        )
    return results
