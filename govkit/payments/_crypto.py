"""Key handling shared by the provider adapters: RSA public keys from keys or certificates."""

from __future__ import annotations

import binascii
import hmac
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from govkit.errors import ConfigurationError, PaymentKeyUnknown, PaymentMalformed
from govkit.keys import VerifyingKey

__all__ = ["PublicKeyLike", "RsaKey", "b64decode_strict", "consteq"]

#: What the adapters accept as a provider's public key.
PublicKeyLike = VerifyingKey | x509.Certificate | rsa.RSAPublicKey

_PKCS1 = padding.PKCS1v15()


class RsaKey:
    """An RSA public key (>= 2048 bits), optionally bounded by its certificate's validity."""

    __slots__ = ("_not_after", "_not_before", "key", "serial")

    def __init__(self, value: PublicKeyLike) -> None:
        self._not_before: datetime | None = None
        self._not_after: datetime | None = None
        self.serial: str | None = None
        public: object
        if isinstance(value, x509.Certificate):
            public = value.public_key()
            self._not_before = value.not_valid_before_utc
            self._not_after = value.not_valid_after_utc
            self.serial = format(value.serial_number, "X")
        elif isinstance(value, VerifyingKey):
            public = value.public_key
        else:
            public = value
        if not isinstance(public, rsa.RSAPublicKey):
            raise ConfigurationError("payment provider keys must be RSA public keys")
        if public.key_size < 2048:
            raise ConfigurationError("payment provider RSA keys must have at least 2048 bits")
        self.key: rsa.RSAPublicKey = public

    def check_valid_at(self, at: datetime, key_id: str) -> None:
        """Raise :class:`PaymentKeyUnknown` when a certificate is outside its validity."""
        if (self._not_before is not None and at < self._not_before) or (
            self._not_after is not None and at > self._not_after
        ):
            raise PaymentKeyUnknown(
                "the provider certificate is not valid at this time", key_id=key_id
            )

    def verify(self, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> bool:
        """Whether ``signature`` is a PKCS#1 v1.5 signature of ``data``."""
        try:
            self.key.verify(signature, data, _PKCS1, algorithm)
        except InvalidSignature:
            return False
        return True


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 with padding; anything else is malformed."""
    try:  # what base64.b64decode(..., validate=True) does, less its Python layer
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise PaymentMalformed(f"{what} is not base64") from None


def consteq(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two strings or byte strings."""
    left = a.encode("utf-8") if isinstance(a, str) else a
    right = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)
