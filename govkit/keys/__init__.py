"""Keys as objects: signing keys, verifying keys, key rings and the Signer protocol.

>>> from govkit.keys import KeyRing, SigningKey, VerifyingKey
>>> key = SigningKey.generate("EdDSA")
>>> signature = key.sign(b"licence 42")
>>> public = VerifyingKey.from_jwk(key.verifying_key.to_jwk())
>>> public.verify(signature, b"licence 42")
>>> public.kid == key.kid
True
>>> [jwk["kid"] for jwk in KeyRing(key).to_jwks()["keys"]] == [key.kid]
True

Algorithms (JOSE names): ``EdDSA`` (Ed25519), ``ES256`` (ECDSA P-256, raw ``r||s``
signatures), ``PS256`` (RSA-PSS, SHA-256, salt 32) and ``RS256`` (RSA PKCS#1 v1.5,
SHA-256). RSA keys must have at least 2048 bits. A key's ``kid`` is its RFC 7638
JWK thumbprint.
"""

from govkit.keys._keyring import KeyRecord, KeyRing
from govkit.keys._keys import (
    ALGORITHMS,
    Algorithm,
    Signer,
    SigningKey,
    VerifyingKey,
    ecdsa_der_to_raw,
    jwk_thumbprint,
)

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "KeyRecord",
    "KeyRing",
    "Signer",
    "SigningKey",
    "VerifyingKey",
    "ecdsa_der_to_raw",
    "jwk_thumbprint",
]
