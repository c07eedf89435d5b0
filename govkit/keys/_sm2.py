"""SM2 signatures (GB/T 32918.2, GM/T 0003.2) behind govkit's key API.

The SM2 arithmetic comes from the optional extra ``govkit[sm]``, which installs
`tongsuopy <https://pypi.org/project/tongsuopy/>`_ (the Tongsuo fork of OpenSSL with a
cryptography-like API). Everything else here (curve constants, the signer identity
hash ``Z``, signature encodings) is govkit's own and works without the extra, using
:mod:`cryptography`'s SM3.

>>> from govkit.keys._sm2 import SM2_SIGNER_ID, sm2_raw_to_der, sm2_der_to_raw
>>> SM2_SIGNER_ID
b'1234567812345678'
>>> raw = (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
>>> sm2_raw_to_der(raw).hex()
'3006020101020102'
>>> sm2_der_to_raw(sm2_raw_to_der(raw)) == raw
True

Signatures are handled in two forms: raw ``r || s`` (64 bytes, big-endian, what
:meth:`SigningKey.sign <govkit.keys.SigningKey.sign>` returns and what JOSE and COSE
carry) and DER ``SEQUENCE { INTEGER r, INTEGER s }`` (what OpenSSL's ``pkeyutl``
reads and writes). Both ``r`` and ``s`` must lie in ``[1, n-1]``.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Final

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from govkit.errors import (
    AlgorithmUnavailable,
    InvalidKey,
    InvalidSignature,
    KeyPasswordError,
)

__all__ = [
    "SM2_CURVE_OID",
    "SM2_SIGNER_ID",
    "SM2PrivateKey",
    "SM2PublicKey",
    "contains_sm2_oid",
    "sm2_available",
    "sm2_der_to_raw",
    "sm2_raw_to_der",
    "sm2_z_value",
]

#: The object identifier of the SM2 curve (``sm2p256v1``, GM/T 0006).
SM2_CURVE_OID: Final = "1.2.156.10197.1.301"
#: The default signer identity (GM/T 0009-2012 section 10): the ``ID_A`` hashed into ``Z``.
SM2_SIGNER_ID: Final = b"1234567812345678"

# Curve parameters of GB/T 32918.5-2017 (the recommended 256-bit curve).
_P: Final = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A: Final = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B: Final = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_N: Final = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_GX: Final = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
_GY: Final = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

#: DER of the curve OID, as it appears inside PKCS#8 and SubjectPublicKeyInfo.
_OID_DER: Final = bytes.fromhex("06082a811ccf5501822d")
_PEM_BODY = re.compile(rb"-----BEGIN [A-Z ]+-----\s*([A-Za-z0-9+/=\s]+?)-----END ", re.DOTALL)

_EXTRA_MESSAGE: Final = (
    "SM2 needs the optional extra: pip install 'govkit[sm]' (it installs tongsuopy)"
)


def _backend() -> Any:
    """Import tongsuopy's pieces, or raise :class:`AlgorithmUnavailable` naming the extra.

    Imported on use (never at module import) so that govkit works without the extra.
    """
    try:
        import tongsuopy  # noqa: F401, PLC0415 - the optional extra is imported on use
        from tongsuopy.crypto import exceptions  # noqa: PLC0415
        from tongsuopy.crypto import hashes as t_hashes  # noqa: PLC0415
        from tongsuopy.crypto import serialization as t_ser  # noqa: PLC0415
        from tongsuopy.crypto.asymciphers import ec  # noqa: PLC0415
    except ImportError:
        raise AlgorithmUnavailable(_EXTRA_MESSAGE, alg="SM2", extra="sm") from None
    return _Backend(ec, t_hashes, t_ser, exceptions)


class _Backend:
    """The tongsuopy modules one key uses (looked up once, kept on the key)."""

    __slots__ = ("ec", "errors", "hashes", "ser", "sign_alg")

    def __init__(self, ec: Any, t_hashes: Any, ser: Any, errors: Any) -> None:
        self.ec = ec
        self.hashes = t_hashes
        self.ser = ser
        self.errors = (errors.InvalidSignature, errors.InternalError, ValueError)
        self.sign_alg = ec.ECDSA(t_hashes.SM3())


def sm2_available() -> bool:
    """``True`` when the ``govkit[sm]`` extra is installed and SM2 keys can be used."""
    try:
        _backend()
    except AlgorithmUnavailable:
        return False
    return True


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm2_z_value(x: int, y: int, signer_id: bytes = SM2_SIGNER_ID) -> bytes:
    """The signer identity hash ``Z_A`` of GB/T 32918.2 section 5.5 (32 bytes).

    ``Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)``, where
    ``ENTL_A`` is the bit length of ``ID_A`` as two big-endian bytes and every
    field element is 32 big-endian bytes. An SM2 signature signs
    ``e = SM3(Z_A || M)``, not ``M`` itself. Needs no extra.

    >>> from govkit.keys._sm2 import _GX, _GY
    >>> sm2_z_value(_GX, _GY).hex()[:16]  # the public key 1*G, default identity
    '5b32bfe35482899b'
    """
    if not (0 <= x < _P and 0 <= y < _P):
        raise InvalidKey("SM2 public key coordinates out of range")
    return _z_value((_A, _B, _GX, _GY), x, y, signer_id)


def _z_value(curve: tuple[int, int, int, int], x: int, y: int, signer_id: bytes) -> bytes:
    """``Z`` over any 256-bit curve ``(a, b, x_G, y_G)``; tests use the standard's test curve."""
    if not isinstance(signer_id, bytes) or len(signer_id) >= 8192:
        raise InvalidKey("the SM2 signer identity must be bytes shorter than 8192")
    fields = b"".join(v.to_bytes(32, "big") for v in (*curve, x, y))
    return _sm3((8 * len(signer_id)).to_bytes(2, "big") + signer_id + fields)


def sm2_raw_to_der(signature: bytes) -> bytes:
    """Convert a raw ``r || s`` SM2 signature (64 bytes) to DER, as OpenSSL writes it.

    Raises:
        InvalidSignature: not 64 bytes, or ``r`` or ``s`` outside ``[1, n-1]``.
    """
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise InvalidSignature("an SM2 signature must be 64 bytes (raw r || s)")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < _N and 0 < s < _N):
        raise InvalidSignature("SM2 signature values out of range")
    return encode_dss_signature(r, s)


def sm2_der_to_raw(signature: bytes) -> bytes:
    """Convert a strict-DER SM2 signature (OpenSSL's form) to raw ``r || s``.

    Raises:
        InvalidSignature: not canonical DER, or ``r`` or ``s`` outside ``[1, n-1]``.
    """
    try:
        r, s = decode_dss_signature(signature)
    except (ValueError, TypeError):
        raise InvalidSignature("SM2 signature is not strict DER") from None
    if not (0 < r < _N and 0 < s < _N):
        raise InvalidSignature("SM2 signature values out of range")
    if encode_dss_signature(r, s) != signature:
        raise InvalidSignature("SM2 signature is not canonical DER")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _pem_der(data: bytes) -> bytes | None:
    match = _PEM_BODY.search(data)
    if match is None:
        return None
    try:
        return base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except ValueError:
        return None


def contains_sm2_oid(pem: bytes) -> bool:
    """``True`` if the (unencrypted) PEM's DER names the SM2 curve."""
    der = _pem_der(pem)
    return der is not None and _OID_DER in der


def _public_format_ok(encoding: object, fmt: object) -> bool:
    return (
        encoding in (serialization.Encoding.PEM, serialization.Encoding.DER)
        and fmt == serialization.PublicFormat.SubjectPublicKeyInfo
    ) or (
        encoding == serialization.Encoding.X962
        and fmt == serialization.PublicFormat.UncompressedPoint
    )


class SM2PublicKey:
    """An SM2 public key; the counterpart of cryptography's public key objects.

    Verifies with the default signer identity :data:`SM2_SIGNER_ID`.
    """

    __slots__ = ("_be", "_key", "_x", "_y")

    def __init__(self, backend: Any, key: Any) -> None:
        self._be = backend
        self._key = key
        numbers = key.public_numbers()
        self._x: int = numbers.x
        self._y: int = numbers.y

    @classmethod
    def from_coordinates(cls, x: int, y: int) -> SM2PublicKey:
        """The public key of affine point ``(x, y)``; refuses points not on the curve."""
        be = _backend()
        if not (0 <= x < _P and 0 <= y < _P) or (y * y - (x * x * x + _A * x + _B)) % _P:
            raise InvalidKey("the point is not on the SM2 curve")
        try:
            key = be.ec.EllipticCurvePublicNumbers(x, y, be.ec.SM2()).public_key()
        except ValueError:
            raise InvalidKey("the point is not a valid SM2 public key") from None
        return cls(be, key)

    @classmethod
    def from_pem(cls, data: bytes) -> SM2PublicKey:
        """Load a SubjectPublicKeyInfo PEM with the SM2 curve OID."""
        be = _backend()
        try:
            key = be.ser.load_pem_public_key(data)
        except Exception:
            raise InvalidKey("not an SM2 public key PEM govkit can read") from None
        if getattr(getattr(key, "curve", None), "name", None) != "SM2":
            raise InvalidKey("the PEM public key is not on the SM2 curve")
        return cls(be, key)

    @property
    def x(self) -> int:
        """The affine x coordinate."""
        return self._x

    @property
    def y(self) -> int:
        """The affine y coordinate."""
        return self._y

    @property
    def curve_name(self) -> str:
        """Always ``"SM2"``."""
        return "SM2"

    def z_value(self, signer_id: bytes = SM2_SIGNER_ID) -> bytes:
        """``Z_A`` for this key (see :func:`sm2_z_value`)."""
        return sm2_z_value(self._x, self._y, signer_id)

    def public_bytes(
        self, encoding: serialization.Encoding, format: serialization.PublicFormat
    ) -> bytes:
        """SubjectPublicKeyInfo (PEM or DER) or the X9.62 uncompressed point.

        Takes :mod:`cryptography`'s enums, like cryptography's own key objects.
        """
        if not _public_format_ok(encoding, format):
            raise InvalidKey("SM2 public keys export as SubjectPublicKeyInfo or X9.62 only")
        if encoding == serialization.Encoding.X962:
            return b"\x04" + self._x.to_bytes(32, "big") + self._y.to_bytes(32, "big")
        ser = self._be.ser
        t_encoding = (
            ser.Encoding.PEM if encoding == serialization.Encoding.PEM else ser.Encoding.DER
        )
        result: bytes = self._key.public_bytes(t_encoding, ser.PublicFormat.SubjectPublicKeyInfo)
        return result

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check a raw ``r || s`` signature of ``data`` (``Z`` from the default identity).

        Raises cryptography's ``InvalidSignature`` when it fails, like cryptography's
        key objects, so :class:`~govkit.keys.VerifyingKey` treats every key alike.
        """
        try:
            der = sm2_raw_to_der(signature)
        except InvalidSignature:
            raise _CryptoInvalidSignature from None
        try:
            self._key.verify(der, data, self._be.sign_alg)
        except self._be.errors:
            raise _CryptoInvalidSignature from None

    def verify_der(self, signature: bytes, data: bytes) -> None:
        """Check a DER signature, the form OpenSSL writes (converted strictly first)."""
        self.verify(sm2_der_to_raw(signature), data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SM2PublicKey):
            return NotImplemented
        return (self._x, self._y) == (other._x, other._y)

    def __hash__(self) -> int:
        return hash((self._x, self._y))

    def __repr__(self) -> str:
        return "SM2PublicKey()"


class SM2PrivateKey:
    """An SM2 private key; signs with the default signer identity :data:`SM2_SIGNER_ID`."""

    __slots__ = ("_be", "_key", "_public")

    def __init__(self, backend: Any, key: Any) -> None:
        self._be = backend
        self._key = key
        self._public = SM2PublicKey(backend, key.public_key())

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        """A new random key (from Tongsuo's CSPRNG)."""
        be = _backend()
        return cls(be, be.ec.generate_private_key(be.ec.SM2()))

    @classmethod
    def from_pem(cls, data: bytes, password: bytes | None = None) -> SM2PrivateKey:
        """Load a PKCS#8 (optionally encrypted) or SEC1 PEM private key on the SM2 curve."""
        be = _backend()
        try:
            key = be.ser.load_pem_private_key(data, password)
        except TypeError:
            if not password:
                raise KeyPasswordError(
                    "the private key is encrypted; a password is needed"
                ) from None
            raise KeyPasswordError("a password was given but the key is not encrypted") from None
        except ValueError:
            if b"ENCRYPTED" in data:
                raise KeyPasswordError("the password is wrong or the key is damaged") from None
            raise InvalidKey("not an SM2 private key PEM govkit can read") from None
        except Exception:
            raise InvalidKey("not an SM2 private key PEM govkit can read") from None
        if getattr(getattr(key, "curve", None), "name", None) != "SM2":
            raise InvalidKey("the PEM private key is not on the SM2 curve")
        return cls(be, key)

    @classmethod
    def from_private_value(cls, value: int) -> SM2PrivateKey:
        """The key whose private scalar is ``value`` (GB/T 32918.1: ``1 <= d <= n-2``).

        Used by raw key formats such as C2SP note private keys.

        Raises:
            InvalidKey: ``value`` is not an integer in ``[1, n-2]``.
        """
        be = _backend()
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < _N - 1:
            raise InvalidKey("an SM2 private scalar must lie in [1, n-2]")
        try:
            key = be.ec.derive_private_key(value, be.ec.SM2())
        except ValueError:  # pragma: no cover - every scalar in range is a key
            raise InvalidKey("the SM2 private scalar is not a valid key") from None
        return cls(be, key)

    def private_value(self) -> int:
        """The private scalar ``d`` (secret key material: handle with care)."""
        value: int = self._key.private_numbers().private_value
        return value

    def public_key(self) -> SM2PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``; returns raw ``r || s`` (64 bytes)."""
        der = self._key.sign(data, self._be.sign_alg)
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def sign_der(self, data: bytes) -> bytes:
        """Sign ``data``; returns DER, the form OpenSSL's ``pkeyutl`` reads."""
        return sm2_raw_to_der(self.sign(data))

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        """PKCS#8 PEM, optionally encrypted; takes :mod:`cryptography`'s enums.

        Only ``Encoding.PEM`` with ``PrivateFormat.PKCS8`` is offered; encryption is
        ``NoEncryption`` or ``BestAvailableEncryption`` (what Tongsuo picks for it).
        """
        if encoding != serialization.Encoding.PEM or format != serialization.PrivateFormat.PKCS8:
            raise InvalidKey("SM2 private keys export as PKCS#8 PEM only")
        ser = self._be.ser
        if isinstance(encryption_algorithm, serialization.BestAvailableEncryption):
            t_enc = ser.BestAvailableEncryption(encryption_algorithm.password)
        elif isinstance(encryption_algorithm, serialization.NoEncryption):
            t_enc = ser.NoEncryption()
        else:
            raise InvalidKey("SM2 private keys support NoEncryption or BestAvailableEncryption")
        result: bytes = self._key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, t_enc)
        return result

    def __repr__(self) -> str:
        return "SM2PrivateKey()"

    def __reduce__(self) -> Any:
        raise TypeError("SM2PrivateKey cannot be pickled; export it with SigningKey.to_pem")
