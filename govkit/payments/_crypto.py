"""Key handling shared by the provider adapters: RSA public keys from keys or certificates."""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections.abc import Callable
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

#: EMSA-PKCS1-v1_5's DigestInfo prefixes (RFC 8017, section 9.2, note 1), by hash name,
#: with the hash to compute: T = prefix || H(M).
_DIGEST_INFO: dict[str, tuple[bytes, Callable[[bytes], hashlib._Hash]]] = {
    "sha256": (bytes.fromhex("3031300d060960864801650304020105000420"), hashlib.sha256),
    "sha1": (bytes.fromhex("3021300906052b0e03021a05000414"), hashlib.sha1),
}


class RsaKey:
    """An RSA public key (>= 2048 bits), optionally bounded by its certificate's validity."""

    __slots__ = ("_not_after", "_not_before", "_size", "bounded", "key", "serial")

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
        #: Whether the key has a validity period to check (it came with a certificate).
        self.bounded = self._not_before is not None
        self._size = (public.key_size + 7) // 8

    def check_valid_at(self, at: datetime, key_id: str) -> None:
        """Raise :class:`PaymentKeyUnknown` when a certificate is outside its validity."""
        if (self._not_before is not None and at < self._not_before) or (
            self._not_after is not None and at > self._not_after
        ):
            raise PaymentKeyUnknown(
                "the provider certificate is not valid at this time", key_id=key_id
            )

    def verify(self, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> bool:
        """Whether ``signature`` is a PKCS#1 v1.5 signature of ``data``.

        For SHA-256 and SHA-1 this is RFC 8017's own verification (section 8.2.2):
        RSAVP1 and the padding check by OpenSSL
        (:meth:`~cryptography.hazmat.primitives.asymmetric.rsa.RSAPublicKey.recover_data_from_signature`),
        then the recovered ``T`` compared with the one expected, ``DigestInfo || H(M)``,
        byte for byte. That accepts exactly what ``verify`` accepts (the Wycheproof
        suite checks it) without OpenSSL's per-call digest set-up: callbacks are
        verified on every request. Other hashes go through ``verify``.
        """
        expected = _DIGEST_INFO.get(algorithm.name)
        if expected is None:
            try:
                self.key.verify(signature, data, _PKCS1, algorithm)
            except InvalidSignature:
                return False
            return True
        if len(signature) != self._size:  # RSASSA-PKCS1-V1_5-VERIFY step 1
            return False
        try:
            recovered = self.key.recover_data_from_signature(signature, _PKCS1, None)
        except (InvalidSignature, ValueError):
            return False
        prefix, digest = expected
        return hmac.compare_digest(recovered, prefix + digest(data).digest())


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 with padding; anything else is malformed."""
    try:  # what base64.b64decode(..., validate=True) does, less its Python layer
        return binascii.a2b_base64(text, strict_mode=True)  # non-ASCII text: ValueError
    except ValueError:  # binascii.Error included
        raise PaymentMalformed(f"{what} is not base64") from None


def consteq(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two strings or byte strings."""
    left = a.encode("utf-8") if isinstance(a, str) else a
    right = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)
