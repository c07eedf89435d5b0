"""The compact QR codec: CWT claims signed as COSE_Sign1, zlib, base45 and a context prefix.

>>> from govkit.certificates.codec import EXP, ISS, cose_kid, decode, encode, verify_signature
>>> from govkit.keys import SigningKey
>>> key = SigningKey.generate("ES256")
>>> text = encode({ISS: "CN", EXP: 1893456000}, key, kid=cose_kid(key.verifying_key))
>>> text.startswith("GK1:")
True
>>> message = decode(text)
>>> message.alg, message.claims[ISS], message.compressed
('ES256', 'CN', True)
>>> verify_signature(message, [key.verifying_key]) == key.verifying_key
True

Wire format
-----------
The layers are those of the EU Digital COVID Certificate (HCERT, ``HC1:``), so govkit also
reads HCERT payloads::

    text = prefix + base45(zlib(COSE_Sign1(payload = CBOR(CWT claims))))

* **prefix**: ``GK1:`` for govkit licences, ``HC1:`` for HCERT. :func:`decode` accepts only
  the prefixes it is given.
* **base45**: RFC 9285, decoded strictly (:func:`govkit._encoding.b45decode`).
* **zlib**: RFC 1950 (level 9 when encoding). *The rule*: for ``HC1:`` compression is
  required (the HCERT specification says so and DCC test case Z2 expects an uncompressed
  ``HC1:`` payload to be refused); for every other prefix it is optional and is detected
  by a valid RFC 1950 header (``0x78 0xDA`` from :func:`encode`). Detection is
  unambiguous: a COSE message starts with ``0xD2`` (tag 18), ``0xD8 0x3D`` (tag 61) or
  ``0x84`` (an array), none of which is a zlib header. ``require_compression=`` overrides
  the rule. Decompression is bounded: more than ``max_cose`` bytes of output is a zip bomb
  and raises :class:`~govkit.errors.CertificateTooLarge`.
* **COSE_Sign1** (RFC 9052): ``18([protected: bstr, unprotected: map, payload: bstr,
  signature: bstr])``. An outer CWT tag 61 around tag 18 and an untagged 4-element array
  are also read (the DCC test data has all three). The protected header is a bstr holding
  a map (an empty bstr is an empty map); :func:`encode` writes ``{1: alg, 4: kid}`` and
  ``3: content type`` when given, and an empty unprotected map. The signature covers
  ``Sig_structure = ["Signature1", protected, h'', payload]``; ES256 signatures are raw
  ``r || s`` (64 bytes), PS256 is RSASSA-PSS with SHA-256 and a 32-byte salt.
* **CWT claims** (RFC 8392): the payload is a CBOR map whose keys are integers or text;
  the registered claims are :data:`ISS`, :data:`SUB`, :data:`AUD`, :data:`EXP`,
  :data:`NBF`, :data:`IAT`, :data:`CTI`, and HCERT puts its document under :data:`HCERT`.

Key ids
-------
A COSE ``kid`` is 8 bytes. :func:`cose_kid` derives govkit's from the key's
SubjectPublicKeyInfo DER; HCERT derives it from the signing *certificate's* DER, so for
HCERT the caller supplies ``kid=``. Eight bytes can collide, so a verifier must try every
trusted key with that kid: :func:`verify_signature` takes all of them.

Hardening of :func:`decode`
---------------------------
Every failure raises :class:`~govkit.errors.CertificateFormatError` or
:class:`~govkit.errors.CertificateTooLarge` (``limit`` = ``text`` or ``cose`` in its
context), never another exception. A format error's ``reason`` names the layer:

* ``prefix``: no accepted prefix;
* ``base45``: not strict base45;
* ``zlib``: not one complete zlib stream (bad data, truncated, bad checksum, trailing bytes);
* ``cbor``: the COSE message is not one well-formed CBOR item within the limits;
* ``cose``: not a COSE_Sign1 (tag, element count or types, a malformed protected header,
  a kid that is not a byte string);
* ``cwt``: the payload is not a well-formed CBOR map with integer or text keys.

The text length is checked before anything else. Before cbor2 sees
any bytes, an iterative scan checks that they are exactly one well-formed CBOR item, no
deeper than ``max_depth``, whose declared lengths and counts fit in the bytes present, and
whose tags are only 0, 1 (dates), 2, 3 (bignums), 18 (COSE_Sign1) and 61 (CWT), so cbor2
never builds shared references, sets, regular expressions or other semantic objects.
After decoding, a map with a repeated key (which cbor2 would silently collapse) is
refused; note that CBOR ``1``, ``1.0`` and ``true`` are one key to Python and so count as
a repeat. ``kid`` comes from the protected header when it is there, else from the
unprotected one; ``alg`` is read from the protected header only.

Canonical decoding
------------------
:func:`encode` writes canonical CBOR (RFC 8949 section 4.2.3: shortest heads, definite
lengths, map keys sorted by length then bytes) for the claims and the protected header,
and the COSE message around them is canonical too. With ``canonical=True`` (what
:class:`~govkit.certificates.CertificateVerifier` uses for ``GK1:`` licences) each of
the three must be byte for byte the canonical encoding of what it decodes to, so a
licence has exactly one CBOR encoding. The limits still hold on this path
(``max_depth``, no indefinite lengths, no repeated keys, and only tags 18 and 61), and
anything that is not exactly what :func:`encode` writes is refused: non-shortest heads,
unsorted keys, trailing bytes, other tags. ``HC1:`` payloads from other issuers are not
canonical in general, so they are decoded with ``canonical=False`` and checked by the
scan described above.
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import cbor2
from cryptography.hazmat.primitives import serialization

from govkit._encoding import b45decode, b45encode
from govkit.errors import (
    CertificateAlgorithmRejected,
    CertificateExpired,
    CertificateFormatError,
    CertificateKeyUnknown,
    CertificateNotYetValid,
    CertificateSignatureInvalid,
    CertificateTooLarge,
    ConfigurationError,
    EncodingError,
    InvalidSignature,
    LicenceDataInvalid,
    NaiveDatetimeError,
)
from govkit.keys import Signer, VerifyingKey

__all__ = [
    "AUD",
    "COSE_ALGORITHMS",
    "COSE_ALGORITHM_NAMES",
    "CTI",
    "EXP",
    "HCERT",
    "IAT",
    "ISS",
    "NBF",
    "SUB",
    "CoseMessage",
    "check_times",
    "cose_kid",
    "decode",
    "decode_cose",
    "decompress",
    "encode",
    "verify_signature",
]

#: JOSE algorithm name -> COSE algorithm id (IANA COSE registry) for the algorithms the
#: codec signs and verifies with. ``SM2`` (SM2 with SM3, raw ``r || s``; needs
#: ``govkit[sm]``) has no IANA id: -65537 is govkit's pick from the private-use range
#: (below -65536), see docs/guide/national-crypto.rst.
COSE_ALGORITHMS: Final[Mapping[str, int]] = MappingProxyType(
    {"ES256": -7, "EdDSA": -8, "PS256": -37, "SM2": -65537}
)
_RAW_RS_ALGS: Final = frozenset({"ES256", "SM2"})
#: COSE algorithm id -> JOSE algorithm name; the reverse of :data:`COSE_ALGORITHMS`.
COSE_ALGORITHM_NAMES: Final[Mapping[int, str]] = MappingProxyType(
    {cose_id: name for name, cose_id in COSE_ALGORITHMS.items()}
)

#: CWT claim key: issuer (RFC 8392).
ISS: Final = 1
#: CWT claim key: subject.
SUB: Final = 2
#: CWT claim key: audience.
AUD: Final = 3
#: CWT claim key: expiration time (NumericDate).
EXP: Final = 4
#: CWT claim key: not before (NumericDate).
NBF: Final = 5
#: CWT claim key: issued at (NumericDate).
IAT: Final = 6
#: CWT claim key: CWT id.
CTI: Final = 7
#: CWT claim key under which HCERT carries its document (``{1: eu_dcc_v1}``).
HCERT: Final = -260

# COSE header labels (RFC 9052 section 3.1).
_ALG: Final = 1
_CONTENT_TYPE: Final = 3
_KID: Final = 4
_COSE_SIGN1_TAG: Final = 18
_CWT_TAG: Final = 61
#: Tags cbor2 may see: dates (0, 1), bignums (2, 3), COSE_Sign1 (18), CWT (61).
_ALLOWED_TAGS: Final = frozenset({0, 1, 2, 3, _COSE_SIGN1_TAG, _CWT_TAG})
#: Prefixes whose payload must be compressed.
_COMPRESSION_REQUIRED: Final = frozenset({"HC1:"})
_INT_OR_TEXT: Final = frozenset({int, str})
_MAX_DEPTH_LIMIT: Final = 128
_DEFAULT_DEPTH: Final = 16


@dataclass(frozen=True)
class CoseMessage:
    """A decoded (not yet verified) COSE_Sign1 message and its CWT claims.

    Nothing here is trustworthy until :func:`verify_signature` has returned a key.
    """

    #: The context prefix the text started with (``""`` from :func:`decode_cose`).
    prefix: str
    #: Whether the COSE bytes were zlib-compressed.
    compressed: bool
    #: The protected header map (read-only).
    protected: Mapping[Any, Any]
    #: The unprotected header map (read-only).
    unprotected: Mapping[Any, Any]
    #: The payload bytes (the CBOR-encoded claims), exactly as signed.
    payload: bytes
    #: The signature bytes.
    signature: bytes
    #: The JOSE name of the protected-header algorithm, ``None`` if absent or unknown.
    alg: str | None
    #: The protected-header algorithm id, ``None`` if absent or not an integer.
    alg_id: int | None
    #: The key id: the protected header's, else the unprotected header's, else ``None``.
    kid: bytes | None
    #: The CWT claims decoded from the payload (read-only at the top level).
    claims: Mapping[int | str, Any]
    #: The bytes the signature covers: ``["Signature1", protected, h'', payload]``.
    to_be_signed: bytes

    def __repr__(self) -> str:
        kid = self.kid.hex() if self.kid is not None else None
        return (
            f"CoseMessage(prefix={self.prefix!r}, alg={self.alg!r}, kid={kid!r}, "
            f"claims={len(self.claims)} keys)"
        )


# --- encoding -----------------------------------------------------------------------


def cose_kid(key: VerifyingKey) -> bytes:
    """govkit's 8-byte COSE key id: SHA-256 over the key's SubjectPublicKeyInfo DER, truncated.

    (HCERT hashes the signing certificate's DER instead; pass that kid to :func:`encode`.)
    """
    if not isinstance(key, VerifyingKey):
        raise ConfigurationError("cose_kid needs a VerifyingKey")
    spki = key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:8]


#: ``["Signature1", ...`` (an array of 4 and the text "Signature1") of every Sig_structure.
_SIG1_PREFIX: Final = b"\x84\x6aSignature1"


def _bstr_head(length: int) -> bytes:
    """The shortest CBOR head of a byte string of ``length`` bytes (major type 2)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:  # to_bytes is big-endian by default
        return b"\x59" + length.to_bytes(2)
    if length < 0x100000000:
        return b"\x5a" + length.to_bytes(4)
    return b"\x5b" + length.to_bytes(8)


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """``cbor2.dumps(["Signature1", protected, b"", payload])``, joined from bytes."""
    return b"".join(
        (
            _SIG1_PREFIX,
            _bstr_head(len(protected)),
            protected,
            b"\x40",
            _bstr_head(len(payload)),
            payload,
        )
    )


def encode(
    claims: Mapping[int | str, Any],
    signer: Signer,
    *,
    kid: bytes,
    prefix: str = "GK1:",
    compress: bool = True,
    content_type: str | int | None = None,
) -> str:
    """Sign ``claims`` as a COSE_Sign1 CWT and return the QR text (see the module docstring).

    The claims are encoded as deterministic CBOR (RFC 8949 section 4.2, cbor2
    ``canonical=True``). The signer's algorithm becomes the protected ``alg``.

    Raises:
        CertificateAlgorithmRejected: the signer's algorithm has no COSE id here (RS256).
        LicenceDataInvalid: the claims are not a map with int/text keys, hold a value
            CBOR cannot carry, or hold a value :func:`decode` would refuse.
        ConfigurationError: ``kid``, ``prefix`` or ``content_type`` has the wrong type,
            or the signer returned an ES256 signature that is not raw ``r || s``.
    """
    alg = getattr(signer, "alg", None)
    alg_id = COSE_ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if alg_id is None:
        raise CertificateAlgorithmRejected(
            "the signer's algorithm has no COSE algorithm govkit accepts (ES256, EdDSA, PS256)",
            alg=str(alg)[:16],
        )
    if not isinstance(kid, bytes):
        raise ConfigurationError("kid must be bytes")
    if not isinstance(prefix, str):
        raise ConfigurationError("prefix must be text")
    if content_type is not None and (
        isinstance(content_type, bool) or not isinstance(content_type, (str, int))
    ):
        raise ConfigurationError("content_type must be text or an integer")
    if not isinstance(claims, Mapping):
        raise LicenceDataInvalid("claims must be a map")
    if not all(isinstance(k, (int, str)) and not isinstance(k, bool) for k in claims):
        raise LicenceDataInvalid("claim keys must be integers or text")
    try:
        payload = cbor2.dumps(dict(claims), canonical=True)
    except Exception:  # cbor2 raises several types for values it cannot encode
        raise LicenceDataInvalid("the claims hold a value CBOR cannot encode") from None
    try:
        _parse_cbor(payload, max_depth=_DEFAULT_DEPTH, reason="cwt")
    except CertificateFormatError as exc:
        raise LicenceDataInvalid(f"the claims would not decode: {exc.message}") from None
    header: dict[int, Any] = {_ALG: alg_id, _KID: kid}
    if content_type is not None:
        header[_CONTENT_TYPE] = content_type
    protected = cbor2.dumps(header, canonical=True)
    signature = signer.sign(_sig_structure(protected, payload))
    if not isinstance(signature, bytes):
        raise ConfigurationError("the signer returned a signature that is not bytes")
    if alg in _RAW_RS_ALGS and len(signature) != 64:
        raise ConfigurationError(f"an {alg} signer must return raw r || s (64 bytes)")
    cose = cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    if compress:
        cose = zlib.compress(cose, 9)
    return prefix + b45encode(cose)


# --- decoding -----------------------------------------------------------------------


def _format_error(message: str, reason: str, **context: Any) -> CertificateFormatError:
    return CertificateFormatError(message, reason=reason, **context)


def _check_limit(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer")


def decode(
    text: str | bytes,
    *,
    prefixes: Sequence[str] = ("GK1:", "HC1:"),
    max_text: int = 16384,
    max_cose: int = 65536,
    max_depth: int = 16,
    require_compression: bool | None = None,
    canonical: bool = False,
    _memo: _CodecMemo | None = None,
    _fixed_claims: Callable[[bytes], Any] | None = None,
) -> CoseMessage:
    """Decode QR text into a :class:`CoseMessage`; the signature is *not* checked here.

    Args:
        text: the scanned text (bytes are read as Latin-1, so any non-ASCII byte fails
            as a character outside base45).
        prefixes: the context prefixes accepted.
        max_text: the longest text accepted, checked before anything else.
        max_cose: the largest COSE message accepted, after decompression.
        max_depth: the deepest CBOR nesting accepted (at most 128).
        require_compression: ``None`` applies the rule of the module docstring (required
            for ``HC1:``, optional otherwise); ``True`` or ``False`` overrides it.
        canonical: also require the COSE message, the protected header and the claims to
            be canonical CBOR, byte for byte what :func:`encode` writes (see "Canonical
            decoding" in the module docstring). The licence verifier sets it for ``GK1:``.

    Raises:
        CertificateTooLarge: the text or the (decompressed) COSE message is too large.
        CertificateFormatError: any layer is malformed; ``context["reason"]`` names it.
    """
    # (_memo, internal: a verifier's own memo of the canonical path, see _CodecMemo;
    # _fixed_claims, internal: a reader of claims of one exact shape, see _parse_cose)
    if not (
        type(max_text) is int  # the usual case in one test; bools and others below
        and type(max_cose) is int
        and type(max_depth) is int
        and max_text > 0
        and max_cose > 0
        and 0 < max_depth <= _MAX_DEPTH_LIMIT
    ):
        _check_limit("max_text", max_text)
        _check_limit("max_cose", max_cose)
        _check_depth(max_depth)
    if isinstance(text, bytes):
        if len(text) > max_text:
            raise CertificateTooLarge("the licence text is too long", limit="text", size=len(text))
        text = text.decode("latin-1")
    if not isinstance(text, str):
        raise _format_error("the licence must be text", "prefix")
    if len(text) > max_text:
        raise CertificateTooLarge("the licence text is too long", limit="text", size=len(text))
    prefix = None
    for accepted in prefixes:
        if accepted and text.startswith(accepted):
            prefix = accepted
            break
    if prefix is None:
        raise _format_error("the licence text does not start with an accepted prefix", "prefix")
    try:
        data = b45decode(text[len(prefix) :])
    except EncodingError as exc:
        raise _format_error(f"the licence text is not base45: {exc.message}", "base45") from None
    required = (
        prefix in _COMPRESSION_REQUIRED if require_compression is None else require_compression
    )
    compressed = required or _looks_like_zlib(data)
    if compressed:
        data = _inflate(data, max_cose)  # bytes (from b45decode), a checked limit
    return _parse_cose(
        data,
        prefix=prefix,
        compressed=compressed,
        max_cose=max_cose,
        max_depth=max_depth,
        parse=_parse_canonical if canonical else _parse_cbor,
        fixed_claims=_fixed_claims if max_depth >= 3 else None,  # (its claims nest 3 deep)
        memo=_memo,
    )


def decode_cose(
    data: bytes, *, max_cose: int = 65536, max_depth: int = 16, canonical: bool = False
) -> CoseMessage:
    """Decode an uncompressed COSE_Sign1 message (no prefix, no base45, no zlib).

    The same checks as the COSE and CWT layers of :func:`decode` (``canonical`` as
    there); ``prefix`` is ``""``.
    """
    _check_limit("max_cose", max_cose)
    _check_depth(max_depth)
    if not isinstance(data, bytes):
        raise _format_error("a COSE message must be bytes", "cbor")
    return _parse_cose(
        data,
        prefix="",
        compressed=False,
        max_cose=max_cose,
        max_depth=max_depth,
        parse=_parse_canonical if canonical else _parse_cbor,
    )


def _decode_canonical_cose(
    data: bytes, fixed_claims: Callable[[bytes], Any], *, memo: _CodecMemo | None = None
) -> CoseMessage:
    """``decode_cose(data, canonical=True)`` of bytes, with the claims of the shape
    ``fixed_claims`` reads (see :func:`_parse_cose`) read without cbor2, and the
    caller's ``memo`` (if any) of the canonical path."""
    return _parse_cose(
        data,
        prefix="",
        compressed=False,
        max_cose=65536,
        max_depth=16,
        parse=_parse_canonical,
        fixed_claims=fixed_claims,
        memo=memo,
    )


def decompress(data: bytes, *, max_size: int = 65536) -> bytes:
    """Inflate one complete zlib stream (RFC 1950) into at most ``max_size`` bytes.

    Raises:
        CertificateTooLarge: the stream inflates to more than ``max_size`` bytes.
        CertificateFormatError: (reason ``zlib``) not a zlib stream, truncated, a bad
            checksum, or bytes after the end of the stream.
    """
    _check_limit("max_size", max_size)
    if not isinstance(data, bytes):
        raise _format_error("compressed data must be bytes", "zlib")
    return _inflate(data, max_size)


def _inflate(data: bytes, max_size: int) -> bytes:
    """:func:`decompress` of bytes with a checked ``max_size``."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, max_size + 1)
    except zlib.error:
        raise _format_error("the payload is not a valid zlib stream", "zlib") from None
    if len(out) > max_size:
        raise CertificateTooLarge(
            "the payload inflates beyond the size limit", limit="cose", max=max_size
        )
    if not inflater.eof:
        raise _format_error("the zlib stream is truncated", "zlib")
    if inflater.unused_data:
        raise _format_error("bytes follow the end of the zlib stream", "zlib")
    return out


def _looks_like_zlib(data: bytes) -> bool:
    """An RFC 1950 header: deflate, a window of at most 32 KiB, a valid check value."""
    if len(data) < 2:
        return False
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


def _check_depth(max_depth: int) -> None:
    _check_limit("max_depth", max_depth)
    if max_depth > _MAX_DEPTH_LIMIT:
        raise ConfigurationError(f"max_depth must be at most {_MAX_DEPTH_LIMIT}")


def _parse_cose(
    data: bytes,
    *,
    prefix: str,
    compressed: bool,
    max_cose: int,
    max_depth: int,
    parse: Callable[..., Any] | None = None,
    fixed_claims: Callable[[bytes], Any] | None = None,
    memo: _CodecMemo | None = None,
) -> CoseMessage:
    """``fixed_claims`` (canonical path only) reads claims of one exact shape from the
    payload bytes and returns ``None`` for any other, which :func:`_parse_canonical`
    then decides: it may accept only bytes that are canonical CBOR, and return what
    :func:`_parse_canonical` returns for them. ``memo`` (canonical path only) is the
    caller's :class:`_CodecMemo`; without one nothing is remembered."""
    parse = parse or _parse_cbor
    if len(data) > max_cose:
        raise CertificateTooLarge("the COSE message is too large", limit="cose", size=len(data))
    canonical = parse is _parse_canonical
    fixed = _fixed_sign1(data) if canonical and max_depth >= 2 else None
    if canonical and memo is not None:
        parse = memo.parse_canonical
    if fixed is not None:  # 18([bstr, {}, bstr, bstr]): every check up to the header holds
        protected_bytes, payload, signature = fixed
        unprotected: Any = {}
    else:
        protected_bytes, unprotected, payload, signature = _sign1_elements(data, parse, max_depth)
    protected: Any = {}
    if protected_bytes:
        known = None
        if fixed is not None:
            known = (
                _fixed_protected(protected_bytes)
                if memo is None
                else memo.known_protected(protected_bytes)
            )
        protected = known or parse(protected_bytes, max_depth=max_depth, reason="cose")
        if type(protected) is not dict and not isinstance(protected, Mapping):  # (dict: no ABC)
            raise _format_error("the protected header must hold a map", "cose")
    kid = protected.get(_KID, unprotected.get(_KID))
    if kid is not None and not isinstance(kid, bytes):
        raise _format_error("the key id must be a byte string", "cose")
    alg_value = protected.get(_ALG)
    if alg_value is not None and (
        isinstance(alg_value, bool) or not isinstance(alg_value, (int, str))
    ):
        raise _format_error("the algorithm must be an integer or text", "cose")
    alg_id = alg_value if isinstance(alg_value, int) else None
    claims = fixed_claims(payload) if fixed is not None and fixed_claims is not None else None
    if claims is None:
        claims = parse(payload, max_depth=max_depth, reason="cwt")
    if type(claims) is not dict and not isinstance(claims, Mapping):  # (dict: no ABC check)
        raise _format_error("the payload is not a CWT claims map", "cwt")
    if not _INT_OR_TEXT.issuperset(map(type, claims)) and not all(
        isinstance(k, (int, str)) and not isinstance(k, bool) for k in claims
    ):  # (exactly int and str keys, the usual case, in one C-level pass)
        raise _format_error("CWT claim keys must be integers or text", "cwt")
    # CoseMessage(...) without the frozen dataclass's object.__setattr__ per field (a
    # tenth of a licence's decoding time): the same object, equal to the one built so
    message = object.__new__(CoseMessage)
    # the maps in read-only views: each was decoded by this call (both parsers return
    # plain dicts, which nothing else holds), so a view needs no copy
    message.__dict__.update(
        prefix=prefix,
        compressed=compressed,
        protected=MappingProxyType(protected),
        unprotected=MappingProxyType(unprotected),
        payload=payload,
        signature=signature,
        alg=COSE_ALGORITHM_NAMES.get(alg_id) if alg_id is not None else None,
        alg_id=alg_id,
        kid=kid,
        claims=MappingProxyType(claims),
        to_be_signed=_sig_structure(protected_bytes, payload),
    )
    return message


def _sign1_elements(
    data: bytes, parse: Callable[..., Any], max_depth: int
) -> tuple[bytes, Mapping[Any, Any], bytes, bytes]:
    """The four elements of any COSE_Sign1 ``data`` (tagged 18, 61(18(...)) or bare)."""
    leading = _leading_tag(data)
    if leading is not None and leading not in (_COSE_SIGN1_TAG, _CWT_TAG):
        raise _format_error("not a COSE_Sign1 message", "cose", tag=leading)
    item = parse(data, max_depth=max_depth, reason="cbor")
    if isinstance(item, cbor2.CBORTag) and item.tag == _CWT_TAG:
        item = item.value
        if not (isinstance(item, cbor2.CBORTag) and item.tag == _COSE_SIGN1_TAG):
            raise _format_error("a CWT tag must wrap a tagged COSE_Sign1", "cose")
    if isinstance(item, cbor2.CBORTag):  # tag 18: the leading tag check let no other through
        item = item.value
    if not isinstance(item, (list, tuple)) or len(item) != 4:
        raise _format_error("COSE_Sign1 must be an array of 4 elements", "cose")
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes):
        raise _format_error("the protected header must be a byte string", "cose")
    if not isinstance(unprotected, Mapping):
        raise _format_error("the unprotected header must be a map", "cose")
    if not isinstance(payload, bytes):
        raise _format_error(
            "the payload must be a byte string (detached payloads are refused)", "cose"
        )
    if not isinstance(signature, bytes):
        raise _format_error("the signature must be a byte string", "cose")
    return protected_bytes, unprotected, payload, signature


def _fixed_sign1(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(protected, payload, signature) when ``data`` is exactly what :func:`encode` writes.

    That is ``18([bstr, {}, bstr, bstr])`` with shortest heads and nothing after it:
    the canonical decoder accepts such bytes and returns these elements, so reading
    them here skips decoding and re-encoding the whole message. Anything else returns
    ``None`` and goes through :func:`_parse_canonical`, whose refusals stay the same.
    """
    if data[:2] != b"\xd2\x84":
        return None
    size = len(data)
    if size > 70 and 0x40 <= data[2] < 0x58 and data[size - 66 : size - 64] == b"\x58\x40":
        # the usual layout, read in place: a protected header of under 24 bytes, {}, a
        # payload of 24 to 65,535 bytes (a 1- or 2-byte length, the shortest) and a
        # 64-byte signature ending the data; else the reads below decide
        after = data[2] - 0x3D  # the header's end (3 + its length)
        if data[after] == 0xA0:
            sign = size - 66  # where the signature's head starts
            initial = data[after + 1]
            if initial == 0x58:
                start, shortest = after + 3, data[after + 2] >= 24
            elif initial == 0x59:
                start, shortest = after + 4, data[after + 2] > 0  # 256 or more
            else:
                start, shortest = 0, False
            if shortest and start + int.from_bytes(data[start - (initial - 0x57) : start]) == sign:
                return data[3:after], data[start:sign], data[sign + 2 :]
    protected = _read_bstr(data, 2)
    if protected is None or data[protected[1] : protected[1] + 1] != b"\xa0":
        return None
    payload = _read_bstr(data, protected[1] + 1)
    if payload is None:
        return None
    signature = _read_bstr(data, payload[1])
    if signature is None or signature[1] != len(data):
        return None
    return protected[0], payload[0], signature[0]


#: The canonical CBOR of each COSE algorithm id -> the id.
_ALG_HEADS: Final = MappingProxyType(
    {cbor2.dumps(alg_id): alg_id for alg_id in COSE_ALGORITHMS.values()}
)


#: The most protected headers a :class:`_CodecMemo` remembers, and the longest.
_PROTECTED_HEADERS_MAX: Final = 1024
_PROTECTED_HEADER_BYTES: Final = 64


def _fixed_protected(header: bytes) -> dict[int, Any] | None:
    """``{1: alg, 4: kid}`` when ``header`` is exactly its canonical encoding (what
    :func:`encode` writes without a content type), else ``None`` (then
    :func:`_parse_canonical` decides, as for any other header)."""
    if header[:2] != b"\xa2\x01":
        return None
    for head, alg_id in _ALG_HEADS.items():
        if header.startswith(head, 2):
            pos = 2 + len(head)
            if header[pos : pos + 1] != b"\x04":
                return None
            kid = _read_bstr(header, pos + 1)
            if kid is None or kid[1] != len(header):
                return None
            return {_ALG: alg_id, _KID: kid[0]}
    return None


def _read_bstr(data: bytes, pos: int, major: int = 2) -> tuple[bytes, int] | None:
    """A byte string with the shortest head at ``pos`` and the position after it, or ``None``.

    With ``major=3``, a text string's head and its (still encoded) bytes.
    """
    if pos >= len(data):
        return None
    initial = data[pos]
    info = initial & 0x1F
    if initial >> 5 != major or info > 26:
        return None
    if info < 24:
        length, start = info, pos + 1
    else:
        size = 1 << (info - 24)
        start = pos + 1 + size
        # a head cut short reads as a shorter length, and then end > len(data) below
        length = int.from_bytes(data[pos + 1 : start])  # big-endian
        if length < (24 if size == 1 else 1 << (4 * size)):  # not the shortest head
            return None
    end = start + length
    if end > len(data):
        return None
    return data[start:end], end


def _read_text(data: bytes, pos: int) -> tuple[str, int] | None:
    """A text string with the shortest head at ``pos`` and the position after it, or
    ``None`` (also for bytes that are not UTF-8, which cbor2 refuses too)."""
    found = _read_bstr(data, pos, 3)
    if found is None:
        return None
    try:
        return found[0].decode("utf-8"), found[1]
    except UnicodeDecodeError:
        return None


#: ``a4 04 1a <exp> 05 1a <nbf> 06 1a <iat>``: the three claims' 4-byte values.
_FOUR_BYTE_TIMES: Final = struct.Struct(">3xI2xI2xI")


def _read_times(payload: bytes) -> tuple[int, int, int, int] | None:
    """``(exp, nbf, iat, position after them)`` when ``payload`` is a map of four
    entries that begins ``4: exp, 5: nbf, 6: iat`` (unsigned integers, shortest
    heads, canonical order), as every govkit issuer writes its claims; else ``None``.
    For the fixed-shape claim readers of licences and selective licences."""
    if (  # the three as 4-byte NumericDates of this century, the usual case: one unpack
        payload[:3] == b"\xa4\x04\x1a"
        and payload[7:9] == b"\x05\x1a"
        and payload[13:15] == b"\x06\x1a"
        and len(payload) >= _FOUR_BYTE_TIMES.size
    ):
        expires, starts, issued = _FOUR_BYTE_TIMES.unpack_from(payload)
        if expires >= 0x10000 and starts >= 0x10000 and issued >= 0x10000:  # shortest heads
            return expires, starts, issued, _FOUR_BYTE_TIMES.size
    if payload[:2] != b"\xa4\x04":
        return None
    exp = _read_time(payload, 2)
    if exp is None or payload[exp[1] : exp[1] + 1] != b"\x05":
        return None
    nbf = _read_time(payload, exp[1] + 1)
    if nbf is None or payload[nbf[1] : nbf[1] + 1] != b"\x06":
        return None
    iat = _read_time(payload, nbf[1] + 1)
    if iat is None:
        return None
    return exp[0], nbf[0], iat[0], iat[1]


def _read_time(data: bytes, pos: int) -> tuple[int, int] | None:
    """:func:`_read_uint`, first trying the 4-byte head of a NumericDate of this century."""
    if data[pos : pos + 1] == b"\x1a":
        end = pos + 5
        value = int.from_bytes(data[pos + 1 : end])  # big-endian
        if value < 0x10000 or end > len(data):  # not the shortest head, or cut short
            return None
        return value, end
    return _read_uint(data, pos)


def _read_uint(data: bytes, pos: int) -> tuple[int, int] | None:
    """An unsigned integer with the shortest head at ``pos`` and the position after it,
    or ``None``."""
    if pos >= len(data):
        return None
    initial = data[pos]
    if initial < 24:  # major type 0, the value in the head
        return initial, pos + 1
    if not 24 <= initial <= 27:
        return None
    size = 1 << (initial - 24)
    end = pos + 1 + size
    if end > len(data):
        return None
    value = int.from_bytes(data[pos + 1 : end])  # big-endian
    if value < (24 if size == 1 else 1 << (4 * size)):  # not the shortest head
        return None
    return value, end


# --- hardened CBOR ------------------------------------------------------------------


def _parse_cbor(data: bytes, *, max_depth: int, reason: str) -> Any:
    """Scan, then decode with cbor2, then check for repeated map keys."""
    pairs = _scan_cbor(data, max_depth=max_depth, reason=reason)
    try:
        item = cbor2.loads(data)
    except Exception:  # every cbor2 failure (and only those) lands here
        raise _format_error("the CBOR data is malformed", reason) from None
    value, found = _plain(item)
    if found != pairs:
        raise _format_error("a CBOR map repeats a key", reason)
    return value


# The canonical path lets cbor2's C decoder enforce the limits instead of the Python
# scan (_parse_cbor), which makes decoding a GK1: licence several times faster.
def _parse_canonical(
    data: bytes, *, max_depth: int, reason: str, memo: _CodecMemo | None = None
) -> Any:
    """:func:`_parse_canonical_full`, with a shortcut for CBOR without floats.

    cbor2's canonical encoder sorts every map's keys again, which is most of the cost of
    the canonical check. The shortcut checks each map's key order as it is decoded
    (:func:`_canonical_keys`: integer and text keys only, an order known to be
    canonical) and compares the data with cbor2's plain encoding, which writes maps
    in their decoded order and is otherwise the canonical encoding, floats apart (plain
    cbor2 writes every float in 8 bytes, so a shorter float in the data never matches,
    and data with the 8-byte float head ``0xFB`` anywhere skips the shortcut). So it
    accepts only data the full check accepts, with the same value; for anything else
    (a refusal included) the full check decides alone, with its own errors.

    With a ``memo`` (a :class:`_CodecMemo`), the key orders found canonical are
    remembered there; without one, nothing is remembered.
    """
    if b"\xfb" not in data:
        try:
            # (indefinite lengths and repeated keys are left to the comparison: such
            # data never encodes back to the same bytes, so the full check refuses it)
            item = cbor2.loads(
                data,
                max_depth=max_depth,
                tag_hook=_only_cose_tags,
                object_hook=_canonical_keys if memo is None else memo.canonical_keys,
                semantic_decoders=_SEMANTIC_DECODERS,
            )
            if cbor2.dumps(item) == data:
                return item
        except Exception:  # noqa: S110 - the full check below decides, with its errors
            pass
    return _parse_canonical_full(data, max_depth=max_depth, reason=reason)


#: The most key orders a :class:`_CodecMemo` remembers, and the largest (keys, and
#: characters of text keys).
_KEY_ORDERS_MAX: Final = 256
_KEY_ORDER_KEYS_MAX: Final = 32
_KEY_ORDER_TEXT_MAX: Final = 512


class _NotCanonicalKeys(Exception):
    """A map the shortcut of :func:`_parse_canonical` leaves to the full check."""


def _canonical_keys(mapping: Mapping[Any, Any], immutable: bool) -> Mapping[Any, Any]:
    """cbor2's object hook (cbor2 6 calls it with the map and an "immutable" flag):
    the map itself when its keys are integers and text in canonical order, else
    raises :class:`_NotCanonicalKeys` (a map used as a key, other keys, another order).

    Remembers nothing (:meth:`_CodecMemo.canonical_keys` is the same check with a memo).
    """
    if immutable:
        raise _NotCanonicalKeys
    keys = tuple(mapping)
    _check_key_order(keys, tuple(map(type, keys)))
    return mapping


def _check_key_order(keys: tuple[Any, ...], types: tuple[type, ...]) -> None:
    """Raise :class:`_NotCanonicalKeys` unless ``keys`` (of ``types``) are integers and
    text in canonical order: cbor2's own order, the keys encoded in this order and
    canonically must be the same bytes."""
    if not all(kind is int or kind is str for kind in types):
        raise _NotCanonicalKeys
    plain = dict.fromkeys(keys)
    if cbor2.dumps(plain, canonical=True) != cbor2.dumps(plain):
        raise _NotCanonicalKeys


class _CodecMemo:
    """What the canonical path remembers for one owner (each
    :class:`~govkit.certificates.CertificateVerifier` makes its own; nothing is kept at
    module level): pure memos, each entry keyed by the exact input it depends on alone,
    bounded (emptied when full, small entries only), never shared between two owners.

    - protected headers that :func:`_fixed_protected` reads -> their alg id and kid
      (an issuer key's licences all carry the same header bytes);
    - key sequences found in canonical order -> their key types (``1`` and ``True`` are
      equal in Python but not in CBOR, so a known order matches only with its types).

    Pass it as ``memo`` to :func:`_parse_cose`, :func:`_parse_canonical` and
    :func:`_decode_canonical_cose` (``_memo`` to :func:`decode`).
    """

    __slots__ = ("_headers", "_key_orders")

    def __init__(self) -> None:
        self._headers: dict[bytes, tuple[int, bytes]] = {}
        self._key_orders: dict[tuple[Any, ...], tuple[type, ...]] = {}

    def known_protected(self, header: bytes) -> dict[int, Any] | None:
        """:func:`_fixed_protected`, remembered by the header's exact bytes (a new dict
        each time, so no two messages share one)."""
        known = self._headers.get(header)
        if known is None:
            found = _fixed_protected(header)
            if found is None:
                return None
            known = (found[_ALG], found[_KID])
            if len(header) <= _PROTECTED_HEADER_BYTES:  # small entries only
                headers = self._headers
                if len(headers) >= _PROTECTED_HEADERS_MAX:
                    headers.clear()
                headers[header] = known
        return {_ALG: known[0], _KID: known[1]}

    def canonical_keys(self, mapping: Mapping[Any, Any], immutable: bool) -> Mapping[Any, Any]:
        """:func:`_canonical_keys` (cbor2's object hook), with the orders found canonical
        remembered by their exact keys and key types."""
        if immutable:
            raise _NotCanonicalKeys
        keys = tuple(mapping)
        types = tuple(map(type, keys))
        orders = self._key_orders
        if orders.get(keys) == types:
            return mapping
        _check_key_order(keys, types)
        text = sum(len(key) for key in keys if type(key) is str)
        if len(keys) <= _KEY_ORDER_KEYS_MAX and text <= _KEY_ORDER_TEXT_MAX:  # small only
            if len(orders) >= _KEY_ORDERS_MAX:
                orders.clear()
            orders[keys] = types
        return mapping

    def parse_canonical(self, data: bytes, *, max_depth: int, reason: str) -> Any:
        """:func:`_parse_canonical` with this memo."""
        return _parse_canonical(data, max_depth=max_depth, reason=reason, memo=self)


def _parse_canonical_full(data: bytes, *, max_depth: int, reason: str) -> Any:
    """Decode with cbor2's own limits, then require the canonical encoding of the result.

    cbor2 refuses nesting deeper than ``max_depth``, indefinite lengths and repeated map
    keys, and reads declared lengths incrementally (a forged huge length fails at the end
    of the data instead of allocating). Tags other than COSE_Sign1 and CWT stop at
    ``tag_hook``; re-encoding canonically and comparing bytes refuses everything else
    that is not exactly what :func:`encode` writes: non-shortest heads, unsorted keys,
    trailing bytes, semantic tags.
    """
    try:
        item = cbor2.loads(
            data,
            max_depth=max_depth,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            tag_hook=_only_cose_tags,
            semantic_decoders=_SEMANTIC_DECODERS,
        )
        again = cbor2.dumps(item, canonical=True)
    except Exception:  # every cbor2 failure (and the tag hook's) lands here
        raise _format_error("the CBOR data is malformed", reason) from None
    if again != data:
        raise _format_error("the CBOR data is not in canonical form", reason)
    return item


def _refuse_semantic_tag(*_args: object) -> None:
    raise _format_error("a CBOR tag govkit does not accept", "cbor")


#: The tags cbor2 6 decodes into Python objects itself (dates, bignums, decimals, shared
#: references, regular expressions, sets, IP addresses, ...), all refused on the
#: canonical path. ``test_codec_canonical`` checks the list against cbor2 for every tag
#: below 70,000, so a cbor2 release that learns a new tag fails the tests, not silently.
_SEMANTIC_TAGS: Final = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256)
_SEMANTIC_TAGS_HIGH: Final = (258, 260, 261, 1004, 43000, 55799)
_NO_SEMANTIC_TAGS: Final = MappingProxyType(
    dict.fromkeys(_SEMANTIC_TAGS + _SEMANTIC_TAGS_HIGH, _refuse_semantic_tag)
)
#: The same as the plain dict handed to cbor2 (which converts a read-only view on each
#: call, a third of the time of decoding a licence's claims). Never changed.
_SEMANTIC_DECODERS: Final = dict(_NO_SEMANTIC_TAGS)


def _only_cose_tags(tag: cbor2.CBORTag, _immutable: bool) -> cbor2.CBORTag:
    """cbor2's tag hook (cbor2 6 calls it with the tag and an "immutable" flag)."""
    if tag.tag not in (_COSE_SIGN1_TAG, _CWT_TAG):
        raise _format_error("a CBOR tag govkit does not accept", "cbor", tag=tag.tag)
    return tag


def _plain(item: Any) -> tuple[Any, int]:
    """Copy decoded CBOR into plain dicts and lists; count map entries (keys included).

    Recursion is bounded: :func:`_scan_cbor` has already limited the nesting depth.
    """
    if isinstance(item, cbor2.CBORTag):
        inner, count = _plain(item.value)
        return cbor2.CBORTag(item.tag, inner), count
    if isinstance(item, Mapping):
        out: dict[Any, Any] = {}
        count = len(item)
        for key, value in item.items():
            count += _count_entries(key)
            out[key], inner = _plain(value)
            count += inner
        return out, count
    if isinstance(item, (list, tuple)):
        values: list[Any] = []
        count = 0
        for element in item:
            plain, inner = _plain(element)
            values.append(plain)
            count += inner
        return values, count
    return item, 0


def _count_entries(key: Any) -> int:
    """Map entries inside a map key (cbor2 turns such keys into hashable frozen types)."""
    if isinstance(key, cbor2.CBORTag):
        return _count_entries(key.value)
    if isinstance(key, Mapping):
        return len(key) + sum(_count_entries(k) + _count_entries(v) for k, v in key.items())
    if isinstance(key, (list, tuple)):
        return sum(_count_entries(k) for k in key)
    return 0


def _read_head(data: bytes, pos: int, reason: str) -> tuple[int, int, int | None, int]:
    """Read one CBOR head at ``pos``: (major type, additional info, argument, next position).

    The argument is ``None`` for an indefinite length (additional info 31).
    """
    end = len(data)
    if pos >= end:
        raise _format_error("the CBOR data ends early", reason)
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        return major, info, info, pos
    if info <= 27:
        size = 1 << (info - 24)
        if pos + size > end:
            raise _format_error("the CBOR data ends early", reason)
        return major, info, int.from_bytes(data[pos : pos + size], "big"), pos + size
    if info == 31 and major in (2, 3, 4, 5, 7):
        return major, info, None, pos
    raise _format_error("the CBOR data uses a reserved encoding", reason)


def _leading_tag(data: bytes) -> int | None:
    """The tag number of the first item if it is a tag (for a precise COSE error)."""
    if not data or data[0] >> 5 != 6:
        return None
    try:
        return _read_head(data, 0, "cbor")[2]
    except CertificateFormatError:
        return None


def _scan_cbor(data: bytes, *, max_depth: int, reason: str) -> int:
    """Check that ``data`` is exactly one well-formed CBOR item within govkit's limits.

    Iterative (no recursion), linear in ``len(data)``. Refuses truncation, trailing
    bytes, reserved encodings, lengths or counts larger than the bytes left, nesting
    deeper than ``max_depth``, unlisted tags and malformed indefinite-length items.
    Returns the number of map entries, for the repeated-key check.
    """
    pos = 0
    pairs = 0
    # Each open item: [items still expected (-1 = indefinite), major type, items seen].
    stack: list[list[int]] = []
    while True:
        major, info, arg, pos = _read_head(data, pos, reason)
        if major == 7 and info == 31:  # "break" closes an indefinite-length item
            pairs += _close_indefinite(stack, reason)
        else:
            chunked = stack[-1][1] if stack and stack[-1][0] == -1 else None
            if chunked in (2, 3) and (major != chunked or arg is None):
                # an indefinite-length string holds definite strings of its own type only
                raise _format_error("an indefinite-length string has a bad chunk", reason)
            pos, opened = _open_item(data, pos, major, arg, stack, reason=reason)
            if major == 5 and arg is not None:
                pairs += arg
            if len(stack) > max_depth:
                raise _format_error(
                    "the CBOR data is nested too deeply", reason, max_depth=max_depth
                )
            if opened:
                continue
        if _item_done(stack):
            break
    if pos != len(data):
        raise _format_error("bytes follow the CBOR item", reason)
    return pairs


def _open_item(
    data: bytes, pos: int, major: int, arg: int | None, stack: list[list[int]], *, reason: str
) -> tuple[int, bool]:
    """Skip a string's bytes or open a container; return (position, whether it opened)."""
    left = len(data) - pos
    if arg is None:  # indefinite length: only major types 2 to 5 get here
        stack.append([-1, major, 0])
        return pos, True
    if major in (2, 3):
        if arg > left:
            raise _format_error("a CBOR string is longer than the data", reason)
        return pos + arg, False
    if major in (4, 5):
        items = arg * 2 if major == 5 else arg
        if items > left:  # every item takes at least one byte
            raise _format_error("a CBOR container is longer than the data", reason)
        if items:
            stack.append([items, major, 0])
        return pos, bool(items)
    if major == 6:
        if arg not in _ALLOWED_TAGS:
            raise _format_error("a CBOR tag govkit does not accept", reason, tag=arg)
        stack.append([1, 6, 0])
        return pos, True
    return pos, False


def _close_indefinite(stack: list[list[int]], reason: str) -> int:
    """Close the innermost indefinite-length item; return its map entries (0 if not a map)."""
    if not stack or stack[-1][0] != -1:
        raise _format_error("a CBOR break outside an indefinite-length item", reason)
    _, major, seen = stack.pop()
    if major == 5 and seen % 2:
        raise _format_error("an indefinite-length map has an odd item count", reason)
    return seen >> 1 if major == 5 else 0  # a key and a value per entry


def _item_done(stack: list[list[int]]) -> bool:
    """Count one finished item in the open containers; True when the top-level item is done."""
    while stack:
        top = stack[-1]
        if top[0] == -1:
            top[2] += 1
            return False
        top[0] -= 1
        if top[0]:
            return False
        stack.pop()
    return True


# --- verification ---------------------------------------------------------------------


def verify_signature(
    message: CoseMessage,
    candidates: Sequence[VerifyingKey],
    *,
    unsafe_unprotected_alg: bool = False,
) -> VerifyingKey:
    """Return the first candidate key whose signature check passes.

    The protected header's ``alg`` must name an algorithm of :data:`COSE_ALGORITHMS` and
    only candidates bound to that algorithm are tried (a key of another algorithm is
    skipped). Pass every trusted key that has the message's kid: 8-byte kids collide.

    Args:
        unsafe_unprotected_alg: also take ``alg`` from the *unprotected* header when the
            protected header has none. RFC 9052 requires ``alg`` to be protected; some
            HCERT verifiers accept it unprotected (DCC test case CO20). Since every
            govkit key is bound to one algorithm, this does not allow algorithm
            substitution, but it is off by default.

    Raises:
        CertificateKeyUnknown: ``candidates`` is empty.
        CertificateAlgorithmRejected: no usable ``alg``, or no candidate is bound to it.
        CertificateSignatureInvalid: no candidate verifies the signature.
    """
    if not candidates:
        raise CertificateKeyUnknown(
            "no trusted key has the licence's key id",
            kid=message.kid.hex() if message.kid is not None else None,
        )
    alg_id: Any = message.alg_id
    if unsafe_unprotected_alg and _ALG not in message.protected:
        alg_id = message.unprotected.get(_ALG)
    alg = COSE_ALGORITHM_NAMES.get(alg_id) if type(alg_id) is int else None  # never a bool
    if alg is None:
        raise CertificateAlgorithmRejected(
            "the licence names no algorithm govkit accepts in its protected header",
            alg=str(alg_id)[:16] if alg_id is not None else None,
        )
    if type(candidates) is tuple and len(candidates) == 1:  # the licence verifier's one key
        only = candidates[0]
        usable = [only] if isinstance(only, VerifyingKey) and only.alg == alg else []
    else:
        usable = [key for key in candidates if isinstance(key, VerifyingKey) and key.alg == alg]
    if not usable:
        raise CertificateAlgorithmRejected(
            "no trusted key with this key id is bound to the licence's algorithm", alg=alg
        )
    if alg in _RAW_RS_ALGS and len(message.signature) != 64:
        raise CertificateSignatureInvalid(f"an {alg} signature must be 64 bytes (raw r || s)")
    for key in usable:
        try:
            key.verify(message.signature, message.to_be_signed)
        except InvalidSignature:
            continue
        return key
    raise CertificateSignatureInvalid(
        "the licence's signature does not verify", candidates=len(usable)
    )


def _numeric_date(claims: Mapping[Any, Any], label: int, name: str) -> float | int | None:
    value = claims.get(label)
    if value is None or type(value) is int:  # the usual case first
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _format_error(f"the {name} claim must be a number", "cwt", claim=name)
    if isinstance(value, float) and not math.isfinite(value):
        raise _format_error(f"the {name} claim must be finite", "cwt", claim=name)
    return value


def check_times(
    claims: Mapping[Any, Any],
    *,
    at: datetime,
    leeway: timedelta = timedelta(0),
    require_exp: bool = True,
) -> None:
    """Check the CWT time claims at the moment ``at`` (an aware datetime).

    Valid when ``iat - leeway <= at``, ``nbf - leeway <= at`` and ``at <= exp + leeway``
    (each bound only when the claim is present; ``exp`` must be present unless
    ``require_exp=False``). NumericDates may be integers or finite floats.

    Raises:
        NaiveDatetimeError: ``at`` has no timezone.
        CertificateFormatError: (reason ``cwt``) a time claim is not a finite number, or
            ``exp`` is missing while required.
        CertificateNotYetValid: ``at`` lies before ``iat`` or ``nbf``.
        CertificateExpired: ``at`` lies after ``exp`` (plus leeway).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError("the verification time must be timezone-aware")
    moment = at.timestamp()
    slack = leeway.total_seconds()
    expires = _numeric_date(claims, EXP, "exp")
    if expires is None and require_exp:
        raise _format_error("the licence has no exp claim", "cwt", claim="exp")
    for label, name in ((IAT, "iat"), (NBF, "nbf")):
        start = _numeric_date(claims, label, name)
        if start is not None and moment < start - slack:
            raise CertificateNotYetValid(f"the licence is not valid before its {name}", claim=name)
    # Inclusive, as HCERT verifiers and the DCC test suite treat exp.
    if expires is not None and moment > expires + slack:
        raise CertificateExpired("the licence has expired", claim="exp")
