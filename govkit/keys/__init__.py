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

With the optional extra ``govkit[sm]``, ``SM2`` (GB/T 32918 signatures with SM3 and the
signer identity ``1234567812345678``; raw ``r||s`` signatures; JWK ``kty`` ``EC``,
``crv`` ``SM2``) works behind the same API; see :data:`OPTIONAL_ALGORITHMS` and the
national-cryptography guide.
"""

from govkit.keys._keyring import KeyRecord, KeyRing
from govkit.keys._keys import (
    ALGORITHMS,
    OPTIONAL_ALGORITHMS,
    Algorithm,
    Signer,
    SigningKey,
    VerifyingKey,
    ecdsa_der_to_raw,
    jwk_thumbprint,
)
from govkit.keys._sm2 import (
    SM2_SIGNER_ID,
    sm2_available,
    sm2_der_to_raw,
    sm2_raw_to_der,
    sm2_z_value,
)

__all__ = [
    "ALGORITHMS",
    "OPTIONAL_ALGORITHMS",
    "SM2_SIGNER_ID",
    "Algorithm",
    "KeyRecord",
    "KeyRing",
    "Signer",
    "SigningKey",
    "VerifyingKey",
    "ecdsa_der_to_raw",
    "jwk_thumbprint",
    "sm2_available",
    "sm2_der_to_raw",
    "sm2_raw_to_der",
    "sm2_z_value",
]
