"""Signing and verifying keys (implementation of :mod:`govkit.keys`)."""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, Protocol, TypeAlias, runtime_checkable

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from govkit._encoding import (
    b64url_decode,
    b64url_encode,
    canonical_json,
    int_from_b64url,
    int_to_b64url,
)
from govkit.errors import (
    EncodingError,
    InvalidKey,
    InvalidSignature,
    KeyMismatch,
    KeyPasswordError,
    KeysError,
    UnsupportedAlgorithm,
    WeakKey,
)
from govkit.keys._sm2 import SM2PrivateKey, SM2PublicKey, contains_sm2_oid, sm2_available

__all__ = [
    "ALGORITHMS",
    "OPTIONAL_ALGORITHMS",
    "Algorithm",
    "Signer",
    "SigningKey",
    "VerifyingKey",
    "ecdsa_der_to_raw",
    "jwk_thumbprint",
]

#: The algorithms govkit signs and verifies with, by their JOSE names.
Algorithm: TypeAlias = Literal["EdDSA", "ES256", "PS256", "RS256", "SM2"]
#: The algorithms every installation has, in the order govkit lists them.
ALGORITHMS: Final[tuple[str, ...]] = ("EdDSA", "ES256", "PS256", "RS256")
#: Algorithms that need an optional extra: ``SM2`` needs ``govkit[sm]``. Asking for one
#: without its extra raises :class:`~govkit.errors.AlgorithmUnavailable`.
OPTIONAL_ALGORITHMS: Final[tuple[str, ...]] = ("SM2",)

MIN_RSA_BITS: Final = 2048
MAX_RSA_BITS: Final = 16384
_SM2_OID_TEXT: Final = "1.2.156.10197.1.301"  # how cryptography names the curve it lacks
_P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ALG_LINE = re.compile(rb"^alg: *([A-Za-z0-9]+) *\r?$", re.MULTILINE)

_PrivateKey: TypeAlias = (
    ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | SM2PrivateKey
)
_PublicKey: TypeAlias = (
    ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey | SM2PublicKey
)
_PRIVATE_TYPES: Final = (
    ed25519.Ed25519PrivateKey,
    ec.EllipticCurvePrivateKey,
    rsa.RSAPrivateKey,
    SM2PrivateKey,
)
_PUBLIC_TYPES: Final = (
    ed25519.Ed25519PublicKey,
    ec.EllipticCurvePublicKey,
    rsa.RSAPublicKey,
    SM2PublicKey,
)
#: ``verifier(signature, data)`` raises cryptography's InvalidSignature when it fails.
_Verifier: TypeAlias = Callable[[bytes, bytes], None]


@runtime_checkable
class Signer(Protocol):
    """Anything that signs bytes with a named algorithm and key id.

    :class:`SigningKey` is one; an HSM or a cloud KMS client that keeps the
    private key to itself is another. ``sign`` returns the signature in the form
    JOSE and COSE use (raw ``r || s`` for ES256).
    """

    @property
    def alg(self) -> str:
        """The JOSE algorithm name."""
        ...

    @property
    def kid(self) -> str:
        """The key id (RFC 7638 thumbprint for govkit keys)."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` and return the signature."""
        ...


def _check_alg(alg: str) -> Algorithm:
    if alg not in ALGORITHMS and alg not in OPTIONAL_ALGORITHMS:
        raise UnsupportedAlgorithm(
            f"algorithm {alg!r} is not supported; use one of {', '.join(ALGORITHMS)}",
            alg=str(alg)[:32],
        )
    return alg  # type: ignore[return-value]


def _alg_for_public(public: object, alg: str | None) -> Algorithm:
    """Decide and check the algorithm for a public key object."""
    if alg is not None:
        _check_alg(alg)
    if isinstance(public, ed25519.Ed25519PublicKey):
        inferred: Algorithm = "EdDSA"
    elif isinstance(public, SM2PublicKey):
        inferred = "SM2"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if not isinstance(public.curve, ec.SECP256R1):
            raise KeyMismatch(
                f"elliptic-curve keys must be on P-256; got {public.curve.name}",
                curve=public.curve.name,
            )
        inferred = "ES256"
    elif isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise WeakKey(
                f"RSA keys must have at least {MIN_RSA_BITS} bits; got {public.key_size}",
                bits=public.key_size,
            )
        if public.key_size > MAX_RSA_BITS:
            raise InvalidKey(f"RSA keys over {MAX_RSA_BITS} bits are refused", bits=public.key_size)
        if alg is None:
            raise KeyMismatch("an RSA key needs an explicit algorithm (PS256 or RS256)")
        inferred = alg  # type: ignore[assignment]
        if inferred not in ("PS256", "RS256"):
            raise KeyMismatch(f"an RSA key cannot be used with {alg}", alg=alg)
    else:
        raise InvalidKey(f"unsupported key type {type(public).__name__}")
    if alg is not None and alg != inferred:
        raise KeyMismatch(f"the key is for {inferred}, not {alg}", alg=alg, key_alg=inferred)
    return inferred


def _public_jwk_members(public: _PublicKey) -> dict[str, str]:
    """The RFC 7638 required members of a public key's JWK."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
    if isinstance(public, SM2PublicKey):
        return {
            "crv": "SM2",
            "kty": "EC",
            "x": int_to_b64url(public.x, 32),
            "y": int_to_b64url(public.y, 32),
        }
    if isinstance(public, ec.EllipticCurvePublicKey):
        nums = public.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": int_to_b64url(nums.x, 32),
            "y": int_to_b64url(nums.y, 32),
        }
    nums_rsa = public.public_numbers()
    return {"e": int_to_b64url(nums_rsa.e), "kty": "RSA", "n": int_to_b64url(nums_rsa.n)}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url without padding).

    >>> jwk_thumbprint({"crv": "Ed25519", "kty": "OKP",
    ...                 "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
    """
    kty = jwk.get("kty")
    members = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
    if kty not in members:
        raise InvalidKey("JWK has an unsupported or missing 'kty'")
    try:
        required = {name: jwk[name] for name in members[kty]}
    except KeyError as missing:
        raise InvalidKey(f"JWK lacks the member {missing.args[0]!r}") from None
    if not all(isinstance(v, str) for v in required.values()):
        raise InvalidKey("JWK members must be strings")
    return b64url_encode(hashlib.sha256(canonical_json(required)).digest())


def _pem_alg_hint(data: bytes) -> str | None:
    """Read the ``alg:`` explanatory line govkit writes before a PEM block (RFC 7468 s.2)."""
    head = data.split(b"-----BEGIN", 1)[0]
    match = _ALG_LINE.search(head)
    return match.group(1).decode("ascii") if match else None


def _to_bytes(data: bytes | str) -> bytes:
    if not isinstance(data, str):
        return data
    try:
        return data.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800" escape
        raise InvalidKey("key text or password is not valid Unicode") from None


def ecdsa_der_to_raw(signature: bytes) -> bytes:
    """Convert a strict-DER ECDSA P-256 signature to the raw ``r || s`` form.

    Raises :class:`~govkit.errors.InvalidSignature` for anything that is not a
    canonical DER ``SEQUENCE { INTEGER r, INTEGER s }`` with both values in range.
    """
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        raise InvalidSignature("ECDSA signature is not strict DER") from None
    if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
        raise InvalidSignature("ECDSA signature values out of range")
    if encode_dss_signature(r, s) != signature:
        raise InvalidSignature("ECDSA signature is not canonical DER")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


#: The prime of P-256's field and the curve's ``b`` (FIPS 186-4 D.1.2.3); ``a`` is -3.
_P256_P: Final = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P256_B: Final = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
#: The members of a P-256 and of an Ed25519 public JWK as :meth:`VerifyingKey.to_jwk`
#: writes them.
_P256_JWK_NAMES: Final = frozenset({"alg", "crv", "kid", "kty", "use", "x", "y"})
_ED25519_JWK_NAMES: Final = frozenset({"alg", "crv", "kid", "kty", "use", "x"})
#: The RFC 7638 thumbprint input of a P-256 key, its ``x`` and ``y`` to be put in.
_P256_THUMBPRINT_TEXT: Final = '{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}'
#: The curves whose members :func:`_thumbprint_of` writes out (SM2 is also ``kty`` EC).
_OWN_THUMBPRINT_CURVES: Final = frozenset({"Ed25519", "P-256"})
#: base64url to standard base64, with the characters of standard base64 that base64url
#: does not have (and padding) made ones that no base64 has.
_B64URL_GROUPS: Final = bytes.maketrans(b"-_+/=", b"+/!!!")


def _decode_b64url_groups(text: str) -> bytes | None:
    """``text``, whole 4-character groups of base64url, decoded; ``None`` when it holds
    anything but the 64 characters of base64url."""
    try:
        return binascii.a2b_base64(text.encode("ascii").translate(_B64URL_GROUPS), strict_mode=True)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        return None


def _on_p256(x: int, y: int) -> bool:
    """Whether ``(x, y)`` is a point of P-256: both coordinates are field elements and
    ``y² = x³ - 3x + b`` (mod p), as OpenSSL checks when it builds a public key."""
    p = _P256_P
    return x < p and y < p and (y * y - (x * x * x - 3 * x + _P256_B)) % p == 0


def _thumbprint_of(members: Mapping[str, str]) -> str:
    """:func:`jwk_thumbprint` of govkit's own P-256 or Ed25519 members (base64url values,
    which JSON writes as they are)."""
    return b64url_encode(_thumbprint_digest(members))


def _thumbprint_digest(members: Mapping[str, str]) -> bytes:
    """The SHA-256 digest whose base64url :func:`_thumbprint_of` is."""
    if members["kty"] == "OKP":
        text = f'{{"crv":"{members["crv"]}","kty":"OKP","x":"{members["x"]}"}}'
    else:
        text = _P256_THUMBPRINT_TEXT.format(members["x"], members["y"])
    return hashlib.sha256(text.encode("ascii")).digest()


def _alg_of_kind(inferred: Algorithm, chosen: str | None, jwk: Mapping[str, Any]) -> Algorithm:
    """``inferred``, the algorithm of the key's type, checked against ``chosen`` as
    :func:`_alg_for_public` does, and the JWK's ``kid`` member (a string if present)."""
    if chosen is not None:
        _check_alg(chosen)
        if chosen != inferred:
            raise KeyMismatch(
                f"the key is for {inferred}, not {chosen}", alg=chosen, key_alg=inferred
            )
    if "kid" in jwk and not isinstance(jwk["kid"], str):
        raise InvalidKey("JWK 'kid' must be a string")
    return inferred


#: r and s, 32 bytes each, compare as the integers they are: both must lie in [1, n-1].
_P256_ZERO_BYTES: Final = bytes(32)
_P256_ORDER_BYTES: Final = _P256_ORDER.to_bytes(32, "big")
#: DER of ``SEQUENCE { INTEGER r, INTEGER s }`` for r and s whose first byte is not zero:
#: the SEQUENCE and r's INTEGER header, indexed by r's then s's high bit, and s's header
#: by its high bit (a set high bit needs a leading zero byte: DER integers are signed).
_P256_DER_HEADS: Final = (
    (b"\x30\x44\x02\x20", b"\x30\x45\x02\x20"),
    (b"\x30\x45\x02\x21\x00", b"\x30\x46\x02\x21\x00"),
)
_P256_DER_S_HEADS: Final = (b"\x02\x20", b"\x02\x21\x00")


def _p256_raw_to_der(signature: bytes) -> bytes | None:
    """The DER form (what OpenSSL verifies) of a raw ``r || s`` P-256 signature, or
    ``None`` when it is not 64 bytes or r or s is not in ``[1, n-1]``.

    Exactly ``encode_dss_signature(r, s)``, built from the bytes without converting
    to integers and back.
    """
    if len(signature) != 64:
        return None
    r, s = signature[:32], signature[32:]
    zero, order = _P256_ZERO_BYTES, _P256_ORDER_BYTES
    if not (zero < r < order and zero < s < order):
        return None
    r_first, s_first = signature[0], signature[32]
    if r_first and s_first:  # both 32 significant bytes: all but 1 in 128 signatures
        return _P256_DER_HEADS[r_first >> 7][s_first >> 7] + r + _P256_DER_S_HEADS[s_first >> 7] + s
    body = _der_positive_integer(r) + _der_positive_integer(s)
    return bytes((0x30, len(body))) + body


def _der_positive_integer(value: bytes) -> bytes:
    """DER ``INTEGER`` of a non-zero big-endian unsigned value of at most 126 bytes."""
    value = value.lstrip(b"\x00")
    if value[0] & 0x80:
        value = b"\x00" + value
    return bytes((0x02, len(value))) + value


def _verifier_for(public: _PublicKey, alg: Algorithm) -> _Verifier:
    """The cryptography call that checks a signature for this key and algorithm.

    Chosen once, when the key is built, so that :meth:`VerifyingKey.verify` does no
    type dispatch and builds no padding or hash objects per call.
    """
    if isinstance(public, (ed25519.Ed25519PublicKey, SM2PublicKey)):
        return public.verify
    sha256 = hashes.SHA256()
    if isinstance(public, ec.EllipticCurvePublicKey):
        ec_verify = public.verify
        ecdsa = ec.ECDSA(sha256)

        def verify_es256(signature: bytes, data: bytes) -> None:
            der = _p256_raw_to_der(signature)
            if der is None:
                raise _CryptoInvalidSignature
            ec_verify(der, data, ecdsa)

        return verify_es256
    rsa_verify = public.verify
    rsa_padding: padding.AsymmetricPadding = _PSS if alg == "PS256" else padding.PKCS1v15()

    def verify_rsa(signature: bytes, data: bytes) -> None:
        rsa_verify(signature, data, rsa_padding, sha256)

    return verify_rsa


class VerifyingKey:
    """A public key bound to one algorithm; verifies signatures.

    Build one from a :class:`SigningKey` (``.verifying_key``), from PEM
    (:meth:`from_pem`) or from a JWK (:meth:`from_jwk`).

    >>> from govkit.keys import SigningKey
    >>> key = SigningKey.generate("EdDSA")
    >>> sig = key.sign(b"hello")
    >>> key.verifying_key.verify(sig, b"hello")
    >>> key.verifying_key.verify(sig, b"hellO")
    Traceback (most recent call last):
        ...
    govkit.errors.InvalidSignature: signature does not verify
    """

    __slots__ = ("_alg", "_jwk_members", "_kid", "_public", "_verifier")

    def __init__(self, public_key: _PublicKey, alg: str | None = None) -> None:
        self._alg: Algorithm = _alg_for_public(public_key, alg)
        self._public: _PublicKey | None = public_key
        members = self._jwk_members = _public_jwk_members(public_key)
        # govkit's own members of an Ed25519 or P-256 key: the thumbprint text written
        # out (the same bytes canonical JSON gives, without the JSON encoder)
        own = members.get("crv") in _OWN_THUMBPRINT_CURVES
        self._kid = _thumbprint_of(members) if own else jwk_thumbprint(members)
        self._verifier: _Verifier | None = _verifier_for(public_key, self._alg)

    @classmethod
    def _deferred(cls, alg: Algorithm, members: dict[str, str]) -> VerifyingKey:
        """A P-256 or Ed25519 key from its checked JWK members (``x`` and ``y`` in their
        exact encoding; a P-256 point already found on the curve): the
        :mod:`cryptography` object is built when the key is first used, which is what
        makes loading a list of 100,000 keys fast. Equal to the key built at once."""
        key = cls.__new__(cls)
        key._alg = alg
        key._jwk_members = members
        key._kid = _thumbprint_of(members)
        key._public = None
        key._verifier = None
        return key

    @classmethod
    def _ed25519(cls, raw: bytes) -> VerifyingKey:
        """An Ed25519 key from its 32 raw bytes (a selective licence's device key):
        ``VerifyingKey(Ed25519PublicKey.from_public_bytes(raw))`` without serialising
        the key again for its JWK. Raises ``ValueError`` as ``from_public_bytes`` does."""
        public = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        key = cls.__new__(cls)
        key._alg = "EdDSA"
        key._public = public
        key._jwk_members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
        key._kid = _thumbprint_of(key._jwk_members)
        key._verifier = public.verify
        return key

    @classmethod
    def unsafe_restore(cls, alg: str, x: str, y: str | None, kid: str) -> VerifyingKey:
        """A P-256 (``y`` given) or Ed25519 key rebuilt, unchecked, from what a key this
        program already checked said of itself: its :attr:`alg`, the ``x`` (and ``y``)
        of its :meth:`to_jwk` and its :attr:`kid`.

        Unsafe: nothing is checked now, neither the point nor the thumbprint; only for
        data this program wrote and knows to be intact (a verifier state's compact
        trust list). The :mod:`cryptography` key is built when the key is first used,
        and a point that is not a public key raises
        :class:`~govkit.errors.InvalidKey` then. Use :meth:`from_jwk` for anything else.
        """
        if y is None:
            members = {"crv": "Ed25519", "kty": "OKP", "x": x}
        else:
            members = {"crv": "P-256", "kty": "EC", "x": x, "y": y}
        key = cls.__new__(cls)
        key._alg = _check_alg(alg)
        key._jwk_members = members
        key._kid = kid
        key._public = None
        key._verifier = None
        return key

    @classmethod
    def _from_exact_jwk(cls, jwk: object) -> VerifyingKey | None:
        """The key of ``jwk`` if it is a P-256 or Ed25519 JWK exactly as :meth:`to_jwk`
        writes it and :meth:`from_jwk` accepts it, else ``None``.

        For a strict reader of many keys (a trust list of 100,000 issuers): the
        checks are those of ``from_jwk(jwk).to_jwk() == jwk`` (the exact members, the
        coordinates' one base64url encoding, 32 bytes each, a P-256 point on the
        curve, ``kid`` the thumbprint), made once, without building the JWK again to
        compare. ``None`` for anything else, a refusal included: the caller then reads
        ``jwk`` with :meth:`from_jwk` and compares it with :meth:`to_jwk`, which refuse
        it with their own errors (or accept a key of another kind).
        """
        if type(jwk) is not dict:
            return None
        names = jwk.keys()
        x_text, kid = jwk.get("x"), jwk.get("kid")
        if type(x_text) is not str or type(kid) is not str or jwk.get("use") != "sig":
            return None
        # 43 characters of base64url are 32 bytes and 2 unused bits: with an "A" (6 zero
        # bits) after each, the coordinates and the kid decode in one call, and each
        # is in its one encoding exactly when the byte after its 32 is zero. The kid
        # is the thumbprint when those 32 bytes are its digest.
        if names == _P256_JWK_NAMES:
            y_text = jwk["y"]
            if (
                jwk["kty"] != "EC"
                or jwk["crv"] != "P-256"
                or jwk["alg"] != "ES256"
                or type(y_text) is not str
                or not len(x_text) == len(y_text) == len(kid) == 43
            ):
                return None
            raw = _decode_b64url_groups(f"{x_text}A{y_text}A{kid}A")
            if raw is None or raw[32] or raw[65] or raw[98]:
                return None
            if not _on_p256(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[33:65], "big")):
                return None
            members = {"crv": "P-256", "kty": "EC", "x": x_text, "y": y_text}
            alg: Algorithm = "ES256"
        elif names == _ED25519_JWK_NAMES:
            if (
                jwk["kty"] != "OKP"
                or jwk["crv"] != "Ed25519"
                or jwk["alg"] != "EdDSA"
                or not len(x_text) == len(kid) == 43
            ):
                return None
            raw = _decode_b64url_groups(f"{x_text}A{kid}A")
            if raw is None or raw[32] or raw[65]:
                return None
            members = {"crv": "Ed25519", "kty": "OKP", "x": x_text}
            alg = "EdDSA"
        else:
            return None
        if raw[-33:-1] != _thumbprint_digest(members):
            return None
        key = cls.__new__(cls)
        key._alg = alg
        key._jwk_members = members
        key._kid = kid
        key._public = None
        key._verifier = None
        return key

    def _built(self) -> _PublicKey:
        """The :mod:`cryptography` key (built on first use for a deferred key)."""
        public = self._public
        if public is None:
            members = self._jwk_members
            x = b64url_decode(members["x"], what="JWK x")
            try:
                if members["kty"] == "OKP":
                    public = ed25519.Ed25519PublicKey.from_public_bytes(x)
                else:
                    y = int.from_bytes(b64url_decode(members["y"], what="JWK y"), "big")
                    public = ec.EllipticCurvePublicNumbers(
                        int.from_bytes(x, "big"), y, ec.SECP256R1()
                    ).public_key()
            except ValueError:  # only for a key from unsafe_restore: from_jwk checked it
                raise InvalidKey("JWK does not describe a valid public key") from None
            self._verifier = _verifier_for(public, self._alg)
            self._public = public
        return public

    @property
    def alg(self) -> Algorithm:
        """The JOSE algorithm this key verifies (``EdDSA``, ``ES256``, ``PS256``, ``RS256``)."""
        return self._alg

    @property
    def kid(self) -> str:
        """RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key."""
        return self._kid

    @property
    def public_key(self) -> _PublicKey:
        """The underlying :mod:`cryptography` public key object."""
        return self._built()

    def verify(self, signature: bytes, data: bytes) -> None:
        """Return ``None`` if ``signature`` is valid for ``data``.

        ES256 and SM2 signatures are raw ``r || s`` (64 bytes), as JOSE and COSE use
        them; SM2 hashes ``Z`` of the signer identity ``1234567812345678`` first.

        Raises:
            InvalidSignature: the signature does not verify.
        """
        if not isinstance(signature, bytes) or not isinstance(data, bytes):
            raise InvalidSignature("signature and data must be bytes", kid=self._kid)
        verifier = self._verifier
        if verifier is None:
            self._built()
            verifier = self._verifier
            assert verifier is not None  # noqa: S101 - set by _built
        try:
            verifier(signature, data)
        except _CryptoInvalidSignature:
            raise InvalidSignature("signature does not verify", kid=self._kid) from None

    def to_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM, preceded by an ``alg:`` explanatory line."""
        body = self._built().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"alg: {self._alg}\n".encode() + body

    @classmethod
    def from_pem(cls, data: bytes | str, alg: str | None = None) -> VerifyingKey:
        """Load a SubjectPublicKeyInfo PEM.

        ``alg`` is needed for RSA keys unless the PEM carries govkit's ``alg:`` line.
        SM2 keys (curve OID 1.2.156.10197.1.301, as ``openssl pkey`` writes them) need
        the ``govkit[sm]`` extra.
        """
        raw = _to_bytes(data)
        alg = alg or _pem_alg_hint(raw)
        public: object
        try:
            public = serialization.load_pem_public_key(raw)
        except _CryptoUnsupported:
            if not contains_sm2_oid(raw):
                raise InvalidKey("not a PEM public key govkit can read") from None
            public = SM2PublicKey.from_pem(raw)
        except (ValueError, TypeError):
            raise InvalidKey("not a PEM public key govkit can read") from None
        if not isinstance(public, _PUBLIC_TYPES):
            raise InvalidKey(f"unsupported public key type {type(public).__name__}")
        return cls(public, alg)

    def to_jwk(self) -> dict[str, str]:
        """The public JWK, with ``alg``, ``kid`` and ``use``."""
        return {**self._jwk_members, "alg": self._alg, "kid": self._kid, "use": "sig"}

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any], alg: str | None = None) -> VerifyingKey:
        """Load a public JWK.

        Refuses JWKs that carry private members, whose ``alg`` disagrees with the key
        type or with ``alg``, or whose ``use`` is not ``sig``. An RSA JWK needs an
        ``alg`` (in the JWK or as the argument). The returned key's :attr:`kid` is
        always the thumbprint; :class:`KeyRing` keeps a JWK's own ``kid`` as an alias.
        """
        if not isinstance(jwk, Mapping):
            raise InvalidKey("a JWK must be a JSON object")
        _check_jwk_usage(jwk)
        jwk_alg = jwk.get("alg")
        if jwk_alg is not None and not isinstance(jwk_alg, str):
            raise InvalidKey("JWK 'alg' must be a string")
        if alg is not None and jwk_alg is not None and alg != jwk_alg:
            raise KeyMismatch(f"the JWK is for {jwk_alg}, not {alg}", alg=alg)
        chosen = alg or jwk_alg
        kty = jwk.get("kty")
        try:
            public: _PublicKey
            if kty == "OKP":
                if jwk.get("crv") != "Ed25519":
                    raise UnsupportedAlgorithm("only the Ed25519 OKP curve is supported")
                x_text = _member(jwk, "x")
                if len(b64url_decode(x_text, what="JWK x")) != 32:
                    raise InvalidKey("Ed25519 JWK 'x' must be 32 bytes")
                # any 32 bytes make an Ed25519 public key for cryptography too: the point
                # is decoded when a signature is checked. The strict decoder refuses any
                # other encoding of the bytes, so the text is the key's own.
                members = {"crv": "Ed25519", "kty": "OKP", "x": x_text}
                return cls._deferred(_alg_of_kind("EdDSA", chosen, jwk), members)
            if kty == "EC" and jwk.get("crv") == "SM2":
                public = _sm2_public_from_jwk(jwk)
            elif kty == "EC":
                if jwk.get("crv") != "P-256":
                    raise KeyMismatch("only the P-256 curve is supported for EC keys")
                x_text, y_text = _member(jwk, "x"), _member(jwk, "y")
                xb = b64url_decode(x_text, what="JWK x")
                yb = b64url_decode(y_text, what="JWK y")
                if len(xb) != 32 or len(yb) != 32:
                    raise InvalidKey("P-256 JWK coordinates must be 32 bytes each")
                # the check OpenSSL makes when it builds the key (the cofactor is 1, so a
                # point on the curve is a valid public key); the key is built when used
                if not _on_p256(int.from_bytes(xb, "big"), int.from_bytes(yb, "big")):
                    raise InvalidKey("JWK does not describe a valid public key")
                members = {"crv": "P-256", "kty": "EC", "x": x_text, "y": y_text}
                return cls._deferred(_alg_of_kind("ES256", chosen, jwk), members)
            elif kty == "RSA":
                n = int_from_b64url(_member(jwk, "n"), what="JWK n")
                e = int_from_b64url(_member(jwk, "e"), what="JWK e")
                if n.bit_length() < MIN_RSA_BITS:
                    raise WeakKey(
                        f"RSA keys must have at least {MIN_RSA_BITS} bits",
                        bits=n.bit_length(),
                    )
                if n.bit_length() > MAX_RSA_BITS:
                    raise InvalidKey(
                        f"RSA keys over {MAX_RSA_BITS} bits are refused", bits=n.bit_length()
                    )
                public = rsa.RSAPublicNumbers(e, n).public_key()
            else:
                raise InvalidKey("JWK has an unsupported or missing 'kty'")
        except EncodingError as exc:
            raise InvalidKey(f"JWK member is malformed: {exc.message}") from None
        except ValueError:
            raise InvalidKey("JWK does not describe a valid public key") from None
        if "kid" in jwk and not isinstance(jwk["kid"], str):
            raise InvalidKey("JWK 'kid' must be a string")
        return cls(public, chosen)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifyingKey):
            return NotImplemented
        return self._kid == other._kid and self._alg == other._alg

    def __hash__(self) -> int:
        return hash((self._kid, self._alg))

    def __repr__(self) -> str:
        return f"VerifyingKey(alg={self._alg!r}, kid={self._kid!r})"


def _encrypted_sm2_or_none(raw: bytes, pw: bytes | None, alg: str | None) -> SM2PrivateKey | None:
    """An encrypted PEM that cryptography could not open, opened as SM2 if it is one.

    With an ``alg: SM2`` line the SM2 loader's own error is raised (naming the extra
    when it is missing); otherwise ``None`` unless the extra is installed and opens it.
    """
    if alg == "SM2":
        return SM2PrivateKey.from_pem(raw, pw)
    if not sm2_available():
        return None
    try:
        return SM2PrivateKey.from_pem(raw, pw)
    except KeysError:
        return None


def _sm2_public_from_jwk(jwk: Mapping[str, Any]) -> SM2PublicKey:
    """The public key of an EC JWK with ``crv`` ``SM2`` (needs ``govkit[sm]``)."""
    xb = b64url_decode(_member(jwk, "x"), what="JWK x")
    yb = b64url_decode(_member(jwk, "y"), what="JWK y")
    if len(xb) != 32 or len(yb) != 32:
        raise InvalidKey("SM2 JWK coordinates must be 32 bytes each")
    return SM2PublicKey.from_coordinates(int.from_bytes(xb, "big"), int.from_bytes(yb, "big"))


def _check_jwk_usage(jwk: Mapping[str, Any]) -> None:
    """Refuse JWKs with private members, or whose ``use``/``key_ops`` exclude verifying."""
    if any(m in jwk for m in ("d", "p", "q", "dp", "dq", "qi", "oth", "k")):
        raise InvalidKey("the JWK holds private or symmetric key material; refusing it")
    if jwk.get("use", "sig") != "sig":
        raise InvalidKey("the JWK is not a signature key ('use' is not 'sig')")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise InvalidKey("the JWK's 'key_ops' does not allow 'verify'")


def _member(jwk: Mapping[str, Any], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKey(f"JWK member {name!r} is missing or not a string")
    return value


_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


class SigningKey:
    """A private key bound to one algorithm; signs bytes.

    >>> key = SigningKey.generate("ES256")
    >>> key.alg, len(key.sign(b"data"))
    ('ES256', 64)
    >>> "PRIVATE" in repr(key)
    False

    ``repr`` never shows key material. Satisfies the :class:`Signer` protocol.
    """

    __slots__ = ("_private", "_verifying")

    def __init__(self, private_key: _PrivateKey, alg: str | None = None) -> None:
        if not isinstance(private_key, _PRIVATE_TYPES):
            raise InvalidKey(f"unsupported private key type {type(private_key).__name__}")
        self._private = private_key
        self._verifying = VerifyingKey(private_key.public_key(), alg)

    @classmethod
    def generate(cls, alg: str, *, rsa_bits: int = 2048) -> SigningKey:
        """Generate a new key for ``alg`` (``EdDSA``, ``ES256``, ``PS256``, ``RS256``, ``SM2``).

        ``SM2`` needs the ``govkit[sm]`` extra; without it this raises
        :class:`~govkit.errors.AlgorithmUnavailable`, whose message names the extra.
        """
        checked = _check_alg(alg)
        private: _PrivateKey
        if checked == "SM2":
            private = SM2PrivateKey.generate()
        elif checked == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        elif checked == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            if rsa_bits < MIN_RSA_BITS:
                raise WeakKey(f"RSA keys must have at least {MIN_RSA_BITS} bits", bits=rsa_bits)
            private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        return cls(private, checked)

    @property
    def alg(self) -> Algorithm:
        """The JOSE algorithm this key signs with."""
        return self._verifying.alg

    @property
    def kid(self) -> str:
        """RFC 7638 thumbprint of the public key."""
        return self._verifying.kid

    @property
    def verifying_key(self) -> VerifyingKey:
        """The matching public key."""
        return self._verifying

    @property
    def private_key(self) -> _PrivateKey:
        """The underlying :mod:`cryptography` private key (handle with care)."""
        return self._private

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``; ES256 and SM2 signatures come back as raw ``r || s`` (64 bytes)."""
        if not isinstance(data, bytes):
            raise TypeError("data must be bytes")
        priv = self._private
        if isinstance(priv, (ed25519.Ed25519PrivateKey, SM2PrivateKey)):
            return priv.sign(data)
        if isinstance(priv, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(priv.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.alg == "PS256":
            return priv.sign(data, _PSS, hashes.SHA256())
        return priv.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def private_bytes_raw(self) -> bytes:
        """The raw 32-byte private key; secret key material, store it like a private key.

        It is the RFC 8032 seed for ``EdDSA`` and the big-endian private scalar ``d``
        for ``SM2``. Raw forms exist for these two only (C2SP note private keys use
        them); :meth:`from_private_bytes` reads them back.

        Raises:
            UnsupportedAlgorithm: the key is ``ES256``, ``PS256`` or ``RS256``.
        """
        priv = self._private
        if isinstance(priv, ed25519.Ed25519PrivateKey):
            return priv.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        if isinstance(priv, SM2PrivateKey):
            return priv.private_value().to_bytes(32, "big")
        raise UnsupportedAlgorithm(
            f"{self.alg} keys have no raw private form; use to_pem()", alg=self.alg
        )

    @classmethod
    def from_private_bytes(cls, alg: str, data: bytes) -> SigningKey:
        """Load a raw 32-byte private key written by :meth:`private_bytes_raw`.

        ``alg`` is ``EdDSA`` (an RFC 8032 seed) or ``SM2`` (a big-endian scalar in
        ``[1, n-2]``; needs the ``govkit[sm]`` extra).

        >>> key = SigningKey.generate("EdDSA")
        >>> SigningKey.from_private_bytes("EdDSA", key.private_bytes_raw()).kid == key.kid
        True

        Raises:
            InvalidKey: ``data`` is not 32 bytes or not a valid key.
            UnsupportedAlgorithm: ``alg`` has no raw private form.
            AlgorithmUnavailable: ``SM2`` without the extra.
        """
        checked = _check_alg(alg)
        if checked not in ("EdDSA", "SM2"):
            raise UnsupportedAlgorithm(
                f"{checked} keys have no raw private form; use from_pem()", alg=checked
            )
        if not isinstance(data, bytes) or len(data) != 32:
            raise InvalidKey(f"a raw {checked} private key must be 32 bytes")
        if checked == "SM2":
            return cls(SM2PrivateKey.from_private_value(int.from_bytes(data, "big")), "SM2")
        return cls(ed25519.Ed25519PrivateKey.from_private_bytes(data), "EdDSA")

    def to_pem(self, password: bytes | str | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when ``password`` is given.

        An ``alg:`` explanatory line precedes the PEM block (permitted by RFC 7468
        section 2) so that RSA keys remember whether they are PS256 or RS256.
        """
        if password is not None and not _to_bytes(password):
            raise KeyPasswordError("the password must not be empty")
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(_to_bytes(password))
            if password is not None
            else serialization.NoEncryption()
        )
        body = self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        return f"alg: {self.alg}\n".encode() + body

    @classmethod
    def from_pem(
        cls, data: bytes | str, password: bytes | str | None = None, alg: str | None = None
    ) -> SigningKey:
        """Load a PEM private key (PKCS#8, or traditional EC/RSA).

        SM2 keys (curve OID 1.2.156.10197.1.301, as ``openssl genpkey -algorithm SM2``
        writes them) need the ``govkit[sm]`` extra.

        Raises:
            KeyPasswordError: the key is encrypted and ``password`` is missing or wrong.
            InvalidKey: the data is not a private key govkit supports.
            KeyMismatch, WeakKey: the key does not fit ``alg`` or is too weak.
        """
        raw = _to_bytes(data)
        alg = alg or _pem_alg_hint(raw)
        pw = _to_bytes(password) if password is not None else None
        private: object
        try:
            private = serialization.load_pem_private_key(raw, pw)
        except TypeError:
            if not pw:  # cryptography treats b"" as no password
                raise KeyPasswordError(
                    "the private key is encrypted; a password is needed"
                ) from None
            raise KeyPasswordError("a password was given but the key is not encrypted") from None
        except ValueError:
            if b"ENCRYPTED" not in raw:
                raise InvalidKey("not a PEM private key govkit can read") from None
            # cryptography decrypts an SM2 key and then fails on its curve: the same
            # ValueError as a wrong password. Tongsuo can tell the two apart.
            private = _encrypted_sm2_or_none(raw, pw, alg)
            if private is None:
                raise KeyPasswordError("the password is wrong or the key is damaged") from None
        except _CryptoUnsupported as exc:
            if not (alg == "SM2" or contains_sm2_oid(raw) or _SM2_OID_TEXT in str(exc)):
                raise InvalidKey("the key's format or encryption is not supported") from None
            private = SM2PrivateKey.from_pem(raw, pw)
        if not isinstance(private, _PRIVATE_TYPES):
            raise InvalidKey(f"unsupported private key type {type(private).__name__}")
        return cls(private, alg)

    def __repr__(self) -> str:
        return f"SigningKey(alg={self.alg!r}, kid={self.kid!r})"

    def __reduce__(self) -> Any:
        raise TypeError("SigningKey cannot be pickled; export it with to_pem(password)")
