"""C2SP signed notes and transparency-log checkpoints (implementation of :mod:`govkit.audit`).

>>> from govkit.audit._note import (
...     Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint, verify_checkpoint)
>>> signer = NoteSigner.generate("example.gov/log")
>>> checkpoint = Checkpoint("example.gov/log", 8, bytes(32))
>>> note = sign_checkpoint(checkpoint, signer)
>>> print(note, end="")  # doctest: +ELLIPSIS
example.gov/log
8
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
<BLANKLINE>
— example.gov/log ...
>>> verifier = NoteVerifier.from_vkey(signer.vkey)  # what a log's clients are given
>>> verify_checkpoint(note, [verifier], origin="example.gov/log") == checkpoint
True

Formats (C2SP ``signed-note``, ``tlog-checkpoint``, ``tlog-cosignature``):

* A signed note is UTF-8 text ending in a newline, a blank line, then one or more
  lines ``— <key name> <base64(4-byte key ID || signature)>``. The last blank line
  separates text from signatures. No ASCII control character other than newline
  may appear anywhere.
* Key ID = ``SHA-256(name || 0x0A || type || public key)[:4]``; type ``0x01`` is an
  Ed25519 note signature, ``0x04`` an Ed25519 ``cosignature/v1`` by a witness, and
  ``0xff || "govkit-sm2"`` an SM2 note signature (govkit's own type under the
  signed-note rule for unassigned types: ``0xff`` followed by a longer identifier).
  An SM2 public key is the 65-byte uncompressed point ``0x04 || x || y``; an SM2
  signature is raw ``r || s`` (64 bytes) over the note text, with SM3 and the signer
  identity ``1234567812345678`` (GB/T 32918.2), and needs the ``govkit[sm]`` extra.
* A verifier key (vkey) is ``<name>+<hex key ID>+<base64(type || public key)>``; a
  private key string is ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || key)>``
  (the Go ``x/mod/sumdb/note`` convention), where the key is the 32-byte Ed25519
  seed or the 32-byte big-endian SM2 private scalar.
* A checkpoint body is the origin line, the tree size in decimal without leading
  zeros, the standard-base64 root hash, then optional extension lines.

Verification ignores signatures by unknown (name, key ID) pairs, rejects the note
if a known key's signature does not verify, and requires at least one (or
``min_signatures``) known keys to have signed. A note is at most 1 MiB with at
most 100 signature lines.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from govkit._encoding import b64_decode, b64_encode, b64url_encode
from govkit.errors import (
    CheckpointInvalid,
    CheckpointSignatureInvalid,
    ConfigurationError,
    EncodingError,
    GovkitError,
    InvalidKey,
    InvalidSignature,
    KeyMismatch,
    UnsupportedAlgorithm,
    VerificationError,
)
from govkit.keys import SigningKey, VerifyingKey
from govkit.report import Check, Report, summary_line

__all__ = [
    "Checkpoint",
    "CheckpointReport",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "VerifiedSignature",
    "WitnessSigner",
    "cosign_checkpoint",
    "inspect_checkpoint",
    "open_note",
    "sign_checkpoint",
    "verify_checkpoint",
]

_SIG_ED25519: Final = 0x01
_SIG_COSIGNATURE_V1: Final = 0x04
_SIG_UNASSIGNED: Final = 0xFF
#: The identifier govkit puts after ``0xff`` for SM2 note signatures (C2SP signed-note:
#: "0xff ... followed by a longer identifier that is unlikely to collide").
_SM2_IDENTIFIER: Final = b"govkit-sm2"
#: The signature type bytes written in key IDs, vkeys and private key strings.
_TYPE_ED25519: Final = bytes([_SIG_ED25519])
_TYPE_COSIGNATURE_V1: Final = bytes([_SIG_COSIGNATURE_V1])
_TYPE_SM2: Final = bytes([_SIG_UNASSIGNED]) + _SM2_IDENTIFIER
#: For each signature type: the key algorithm and whether it is a witness cosignature.
_TYPES: Final[dict[bytes, tuple[str, bool]]] = {
    _TYPE_ED25519: ("EdDSA", False),
    _TYPE_COSIGNATURE_V1: ("EdDSA", True),
    _TYPE_SM2: ("SM2", False),
}
_TYPE_NAMES: Final = "0x01 (Ed25519), 0x04 (Ed25519 cosignature/v1), 0xff govkit-sm2 (SM2)"
_MAX_NOTE_BYTES: Final = 1 << 20
_MAX_SIGNATURES: Final = 100
#: The line number (from 1) of the first extension line: after origin, size and root hash.
_FIRST_EXTENSION: Final = 4
_MAX_TREE_SIZE: Final = (1 << 64) - 1
_MAX_TIMESTAMP: Final = (1 << 63) - 1
_SIG_PREFIX: Final = "— "  # em dash U+2014, then a space
#: A cosignature's timestamp: 8 bytes, big-endian, unsigned.
_TIMESTAMP: Final = struct.Struct(">Q")
_PRIVATE_PREFIX: Final = "PRIVATE+KEY+"

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX_ID = re.compile(r"[0-9a-f]{8}")


# --- shared checks ------------------------------------------------------------


def _name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid key name or origin, or ``None`` if it is."""
    if not isinstance(name, str):
        return "must be a string"
    if not name:
        return "must not be empty"
    if "+" in name:
        return "must not contain '+'"
    if any(ch.isspace() for ch in name):
        return "must not contain spaces"
    if not name.isprintable():
        return "must contain only printable characters"
    return None


def _text_problem(text: str) -> str | None:
    """Why ``text`` cannot appear in a signed note, or ``None`` if it can."""
    if _CONTROL.search(text):
        return "contains an ASCII control character other than newline"
    try:
        text.encode()  # strict UTF-8, the default of str.encode
    except UnicodeEncodeError:
        return "is not valid Unicode (lone surrogate)"
    return None


def _key_id(name: str, sig_type: bytes, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + sig_type + public).digest()[:4]


def _note_type(alg: str, *, cosigner: bool, who: str) -> bytes:
    """The signature type of a key with algorithm ``alg``; refuse other algorithms."""
    if alg == "EdDSA":
        return _TYPE_COSIGNATURE_V1 if cosigner else _TYPE_ED25519
    if cosigner:
        raise KeyMismatch(
            f"{who} needs an Ed25519 (EdDSA) key: cosignature/v1 is Ed25519 only, not {alg}",
            alg=alg,
            key_alg="EdDSA",
        )
    if alg != "SM2":
        raise KeyMismatch(
            f"{who} needs an Ed25519 (EdDSA) or SM2 key, not {alg}", alg=alg, key_alg="EdDSA"
        )
    return _TYPE_SM2


def _note_public(key: VerifyingKey) -> bytes:
    """The public key as a note key encodes it: Ed25519 raw 32 bytes, SM2 ``0x04||x||y``."""
    if key.alg == "SM2":
        return key.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _split_type(raw: bytes, what: str) -> tuple[bytes, bytes]:
    """Split ``type || key`` into the signature type and the key bytes.

    Raises:
        UnsupportedAlgorithm: a signature type govkit does not implement.
    """
    if raw[:1] in (_TYPE_ED25519, _TYPE_COSIGNATURE_V1):
        return raw[:1], raw[1:]
    if raw.startswith(_TYPE_SM2):
        return _TYPE_SM2, raw[len(_TYPE_SM2) :]
    if raw[0] == _SIG_UNASSIGNED:
        raise UnsupportedAlgorithm(
            f"{what} has signature type 0xff with an identifier govkit does not know; "
            f"supported: {_TYPE_NAMES}",
            sig_type=raw[0],
        )
    raise UnsupportedAlgorithm(
        f"{what} signature type {raw[0]:#04x} is not supported; supported: {_TYPE_NAMES}",
        sig_type=raw[0],
    )


def _type_name(sig_type: bytes) -> str:
    return "0xff govkit-sm2" if sig_type == _TYPE_SM2 else f"{sig_type[0]:#04x}"


def _cosigned_message(text: bytes, timestamp: int) -> bytes:
    """The message a ``cosignature/v1`` signs (C2SP tlog-cosignature)."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def _to_text(data: object, what: str) -> str:
    """Decode strict UTF-8 bytes or pass a str through; refuse oversize input."""
    if isinstance(data, bytes):
        if len(data) > _MAX_NOTE_BYTES:
            raise CheckpointInvalid(f"{what} is larger than 1 MiB", size=len(data))
        try:
            return data.decode()  # strict UTF-8
        except UnicodeDecodeError:
            raise CheckpointInvalid(f"{what} is not valid UTF-8") from None
    if not isinstance(data, str):
        raise CheckpointInvalid(f"{what} must be str or bytes")
    if len(data) > _MAX_NOTE_BYTES:
        raise CheckpointInvalid(f"{what} is larger than 1 MiB", size=len(data))
    return data


# --- checkpoints --------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A transparency-log tree head: origin, tree size and RFC 6962 root hash.

    Valid by construction: the origin is a non-empty printable string without
    spaces or ``+``; ``size`` is an integer from 0 to 2**64 - 1; ``root_hash`` is
    32 bytes; extension lines are non-empty and hold no control characters.
    Invalid values raise :class:`~govkit.errors.CheckpointInvalid`.

    The origin rule is stricter than C2SP tlog-checkpoint, which only RECOMMENDS
    it: an origin with spaces (Rekor v1's ``rekor.sigstore.dev - <tree id>``) is
    refused.

    >>> cp = Checkpoint("example.gov/log", 0, bytes(32))
    >>> Checkpoint.parse(cp.body()) == cp
    True
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = _name_problem(self.origin)
        if problem:
            raise CheckpointInvalid(f"checkpoint origin {problem}")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointInvalid("checkpoint size must be an int")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise CheckpointInvalid("checkpoint size must be between 0 and 2**64 - 1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != 32:
            raise CheckpointInvalid("checkpoint root hash must be 32 bytes")
        given: object = self.extensions
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise CheckpointInvalid("checkpoint extensions must be a tuple of lines")
        extensions = tuple(given)
        for index, line in enumerate(extensions):
            if not isinstance(line, str) or not line:
                raise CheckpointInvalid(
                    "extension lines must be non-empty strings", line=_FIRST_EXTENSION + index
                )
            problem = "contains a newline" if "\n" in line else _text_problem(line)
            if problem:
                raise CheckpointInvalid(f"extension line {problem}", line=_FIRST_EXTENSION + index)
        object.__setattr__(self, "extensions", extensions)

    def body(self) -> str:
        """The C2SP checkpoint note text, every line ending in ``\\n``."""
        lines = [self.origin, str(self.size), b64_encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str | bytes) -> Checkpoint:
        """Strictly parse a checkpoint body (the note text, without signatures).

        Refuses a size with leading zeros or a sign, a root that is not canonical
        padded base64 of 32 bytes, fewer than three lines, empty lines and a body
        that does not end in a newline.

        Raises:
            CheckpointInvalid: the body is malformed.
        """
        text = _to_text(body, "checkpoint body")
        if not text.endswith("\n"):
            raise CheckpointInvalid("checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointInvalid("checkpoint body needs origin, size and root lines")
        if any(not line for line in lines):
            raise CheckpointInvalid("checkpoint body has an empty line")
        origin, size_line, root_line, *extensions = lines
        if not _DECIMAL.fullmatch(size_line):
            raise CheckpointInvalid("checkpoint size is not a canonical decimal number")
        try:
            root = b64_decode(root_line, what="checkpoint root hash")
        except EncodingError as exc:
            raise CheckpointInvalid(exc.message) from None
        return cls(origin, int(size_line), root, tuple(extensions))


# --- keys -----------------------------------------------------------------------


class _NoteKey:
    """Shared parts of :class:`NoteSigner` and :class:`WitnessSigner`."""

    __slots__ = ("_key", "_key_id", "_name", "_public", "_type")

    #: ``True`` for witness keys (``cosignature/v1``).
    _COSIGNER: ClassVar[bool] = False
    #: The key algorithms this kind of key signs with, default first.
    _ALGS: ClassVar[tuple[str, ...]] = ("EdDSA", "SM2")

    def __init__(self, name: str, key: SigningKey) -> None:
        problem = _name_problem(name)
        if problem:
            raise ConfigurationError(f"note key name {problem}")
        if not isinstance(key, SigningKey):
            raise InvalidKey(f"{type(self).__name__} needs a govkit SigningKey")
        self._type = _note_type(key.alg, cosigner=self._COSIGNER, who=type(self).__name__)
        self._name = name
        self._key = key
        self._public = _note_public(key.verifying_key)
        self._key_id = _key_id(name, self._type, self._public)

    @classmethod
    def generate(cls, name: str, *, alg: str = "EdDSA") -> Self:
        """Create a key with a new random key pair.

        Args:
            name: the key name (for a log, its origin).
            alg: ``"EdDSA"`` (Ed25519, the default) or, for a :class:`NoteSigner`,
                ``"SM2"`` (needs the ``govkit[sm]`` extra). A witness key is always
                Ed25519.

        Raises:
            UnsupportedAlgorithm: another ``alg``.
            AlgorithmUnavailable: ``"SM2"`` without the ``govkit[sm]`` extra.
        """
        if alg not in cls._ALGS:
            raise UnsupportedAlgorithm(
                f"{cls.__name__} signs with {' or '.join(cls._ALGS)}, not {str(alg)[:32]!r}",
                alg=str(alg)[:32],
            )
        return cls(name, SigningKey.generate(alg))

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._name

    @property
    def alg(self) -> str:
        """The key algorithm: ``"EdDSA"`` (Ed25519) or ``"SM2"``."""
        return self._key.alg

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID: ``SHA-256(name || 0x0A || type || public key)[:4]``."""
        return self._key_id

    @property
    def vkey(self) -> str:
        """The public verifier key string ``<name>+<hex key ID>+<base64(type || key)>``."""
        return self.verifier.vkey

    @property
    def verifier(self) -> NoteVerifier:
        """The matching :class:`NoteVerifier`."""
        return NoteVerifier(self._name, self._key.verifying_key, cosigner=self._COSIGNER)

    def to_private_key_string(self) -> str:
        """Export as ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || key)>``.

        The key is the 32-byte Ed25519 seed, or the 32-byte big-endian SM2 private
        scalar. The result is secret key material: store it like a private key.
        """
        encoded = b64_encode(self._type + self._key.private_bytes_raw())
        return f"{_PRIVATE_PREFIX}{self._name}+{self._key_id.hex()}+{encoded}"

    @classmethod
    def from_private_key_string(cls, text: str) -> Self:
        """Load a key exported by :meth:`to_private_key_string` (or Go's ``note`` package).

        The signature type selects the algorithm; the key ID in the string is
        recomputed from the key and must match.

        Raises:
            InvalidKey: the string is malformed, of a signature type this class does
                not sign with, or its key ID does not match the key.
            UnsupportedAlgorithm: a signature type govkit does not implement.
            AlgorithmUnavailable: an SM2 key without the ``govkit[sm]`` extra.
        """
        if not isinstance(text, str) or not text.startswith(_PRIVATE_PREFIX):
            raise InvalidKey("not a note private key string (PRIVATE+KEY+...)")
        parts = text[len(_PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise InvalidKey("note private key string must have name, key ID and key parts")
        name, hex_id, encoded = parts
        problem = _name_problem(name)
        if problem:
            raise InvalidKey(f"note private key name {problem}")
        if not _HEX_ID.fullmatch(hex_id):
            raise InvalidKey("note private key ID must be 8 lowercase hex digits")
        try:
            raw = b64_decode(encoded, what="note private key")
        except EncodingError as exc:
            raise InvalidKey(exc.message) from None
        if not raw:
            raise InvalidKey("note private key is empty")
        sig_type, secret = _split_type(raw, "note private key")
        alg, cosigner = _TYPES[sig_type]
        if cosigner != cls._COSIGNER or alg not in cls._ALGS:
            wanted = ", ".join(
                _type_name(t)
                for t, (a, c) in _TYPES.items()
                if c == cls._COSIGNER and a in cls._ALGS
            )
            raise InvalidKey(
                f"note private key has signature type {_type_name(sig_type)}, "
                f"{cls.__name__} needs {wanted}",
                sig_type=sig_type[0],
            )
        if len(secret) != 32:
            raise InvalidKey("note private key must be a signature type and a 32-byte key")
        signer = cls(name, SigningKey.from_private_bytes(alg, secret))
        if signer.key_id.hex() != hex_id:
            raise InvalidKey("note private key ID does not match the key", key_id=hex_id)
        return signer

    def _signature_line(self, signature: bytes) -> str:
        return f"{_SIG_PREFIX}{self._name} {b64_encode(self._key_id + signature)}\n"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r}, key_id={self._key_id.hex()!r})"

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} cannot be pickled; use to_private_key_string()")


class NoteSigner(_NoteKey):
    """Signs C2SP notes with an Ed25519 key (type ``0x01``) or an SM2 key (``0xff govkit-sm2``).

    Args:
        name: the key name; non-empty, printable, no spaces and no ``+``. For a
            log it SHOULD equal the checkpoint origin.
        key: an Ed25519 (``EdDSA``) or ``SM2`` :class:`~govkit.keys.SigningKey`
            (anything else raises :class:`~govkit.errors.KeyMismatch`).

    >>> signer = NoteSigner.generate("example.gov/log")
    >>> signer.sign("hello\\n").startswith("hello\\n\\n— example.gov/log ")
    True
    >>> "PRIVATE" in repr(signer)
    False

    ``NoteSigner.generate(name, alg="SM2")`` makes an SM2 signer (with the
    ``govkit[sm]`` extra); see :doc:`/guide/national-crypto`.
    """

    __slots__ = ()

    def sign(self, text: str) -> str:
        """Return the signed note: ``text``, a blank line and one signature line.

        Raises:
            CheckpointInvalid: ``text`` does not end in a newline or holds a
                control character other than newline.
        """
        if not isinstance(text, str) or not text.endswith("\n"):
            raise CheckpointInvalid("note text must be a str ending in a newline")
        problem = _text_problem(text)
        if problem:
            raise CheckpointInvalid(f"note text {problem}")
        return text + "\n" + self._signature_line(self._key.sign(text.encode()))


class WitnessSigner(_NoteKey):
    """A witness's Ed25519 cosigning key (signature type ``0x04``, ``cosignature/v1``).

    Use it with :func:`cosign_checkpoint`. Same construction rules as
    :class:`NoteSigner`, but Ed25519 only (C2SP tlog-cosignature defines no SM2
    cosignature); its key ID and vkey use type ``0x04``, so the same key pair gives
    different key IDs as a note signer and as a witness.
    """

    __slots__ = ()

    _COSIGNER: ClassVar[bool] = True
    _ALGS: ClassVar[tuple[str, ...]] = ("EdDSA",)

    def _cosignature_line(self, text: bytes, timestamp: int) -> str:
        signature = self._key.sign(_cosigned_message(text, timestamp))
        return self._signature_line(_TIMESTAMP.pack(timestamp) + signature)


@dataclass(frozen=True)
class VerifiedSignature:
    """One signature line that verified with a trusted key.

    ``timestamp`` is the POSIX time a witness put in its ``cosignature/v1``, and
    ``None`` for a log's own (Ed25519 or SM2) note signature.
    """

    name: str
    key_id: bytes
    timestamp: int | None = None


@dataclass(frozen=True)
class OpenedNote:
    """A signed note whose signatures were checked by :func:`open_note`.

    ``signatures`` lists one entry per trusted key that signed, in note order;
    signatures by unknown keys are not listed.
    """

    text: str
    signatures: tuple[VerifiedSignature, ...]


def _ed25519_vkey_key(public: bytes) -> VerifyingKey:
    """The Ed25519 key of a vkey: exactly 32 bytes.

    :mod:`cryptography` refuses any other length with a ``ValueError`` (and takes any
    32 bytes: the point is decoded when a signature is checked).
    """
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        raise InvalidKey("an Ed25519 vkey must hold a type byte and a 32-byte key") from None
    return VerifyingKey(key)  # the algorithm follows from the key: EdDSA


def _sm2_vkey_key(public: bytes) -> VerifyingKey:
    """The SM2 key of a vkey: ``0x04 || x || y`` (needs the ``govkit[sm]`` extra)."""
    if len(public) != 65 or public[0] != 0x04:
        raise InvalidKey(
            "an SM2 vkey must hold 0xff, 'govkit-sm2' and a 65-byte uncompressed point"
        )
    jwk = {
        "kty": "EC",
        "crv": "SM2",
        "x": b64url_encode(public[1:33]),
        "y": b64url_encode(public[33:]),
    }
    return VerifyingKey.from_jwk(jwk)  # the algorithm follows from the curve: SM2


class NoteVerifier:
    """Verifies note signatures by one key: a log key (Ed25519 or SM2) or a witness key.

    Build one from a vkey string (:meth:`from_vkey`), from a signer
    (:attr:`NoteSigner.verifier`) or from a :class:`~govkit.keys.VerifyingKey`.
    The key's algorithm fixes the signature type, which is part of the key ID: an
    Ed25519 verifier never matches an SM2 signature line, nor the reverse.

    Args:
        name: the key name.
        key: an Ed25519 (``EdDSA``) or ``SM2`` :class:`~govkit.keys.VerifyingKey`
            (anything else raises :class:`~govkit.errors.KeyMismatch`).
        cosigner: ``True`` for a witness key (Ed25519 only; type ``0x04``,
            ``cosignature/v1``), ``False`` for a note signing key (type ``0x01``
            for Ed25519, ``0xff govkit-sm2`` for SM2).
    """

    __slots__ = ("_cosigner", "_key", "_key_id", "_name", "_public", "_type")

    def __init__(self, name: str, key: VerifyingKey, *, cosigner: bool = False) -> None:
        problem = _name_problem(name)
        if problem:
            raise ConfigurationError(f"note key name {problem}")
        if not isinstance(key, VerifyingKey):
            raise InvalidKey("NoteVerifier needs a govkit VerifyingKey")
        self._cosigner = bool(cosigner)
        self._type = _note_type(key.alg, cosigner=self._cosigner, who="NoteVerifier")
        self._name = name
        self._key = key
        self._public = _note_public(key)
        self._key_id = _key_id(name, self._type, self._public)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Strictly parse ``<name>+<hex key ID>+<base64(type || public key)>``.

        Accepts signature types ``0x01`` (Ed25519, 32-byte key), ``0x04`` (Ed25519
        cosignature/v1) and ``0xff`` followed by ``govkit-sm2`` (SM2, 65-byte
        uncompressed point ``0x04 || x || y``; needs the ``govkit[sm]`` extra). The
        key ID is recomputed and must match.

        Raises:
            InvalidKey: the vkey is malformed, its key is not a valid point, or its
                key ID does not match.
            UnsupportedAlgorithm: any other signature type (including ``0xff``
                with another identifier).
            AlgorithmUnavailable: an SM2 vkey without the ``govkit[sm]`` extra.
        """
        if not isinstance(vkey, str):
            raise InvalidKey("a vkey must be a string")
        parts = vkey.split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3:
            raise InvalidKey("a vkey must have three '+'-separated parts")
        name, hex_id, encoded = parts
        problem = _name_problem(name)
        if problem:
            raise InvalidKey(f"vkey name {problem}")
        if not _HEX_ID.fullmatch(hex_id):
            raise InvalidKey("vkey key ID must be 8 lowercase hex digits")
        try:
            raw = b64_decode(encoded, what="vkey public key")
        except EncodingError as exc:
            raise InvalidKey(exc.message) from None
        if not raw:
            raise InvalidKey("vkey public key is empty")
        sig_type, public = _split_type(raw, "vkey")
        alg, cosigner = _TYPES[sig_type]
        key = _sm2_vkey_key(public) if alg == "SM2" else _ed25519_vkey_key(public)
        verifier = cls(name, key, cosigner=cosigner)
        if verifier.key_id.hex() != hex_id:
            raise InvalidKey("vkey key ID does not match its name and key", key_id=hex_id)
        return verifier

    @property
    def name(self) -> str:
        """The key name expected in signature lines."""
        return self._name

    @property
    def alg(self) -> str:
        """The key algorithm: ``"EdDSA"`` (Ed25519) or ``"SM2"``."""
        return self._key.alg

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID expected in signatures."""
        return self._key_id

    @property
    def cosigner(self) -> bool:
        """``True`` for a witness key that checks ``cosignature/v1`` signatures."""
        return self._cosigner

    @property
    def vkey(self) -> str:
        """The verifier key string."""
        encoded = b64_encode(self._type + self._public)
        return f"{self._name}+{self._key_id.hex()}+{encoded}"

    def verify(self, *, signature: bytes, data: bytes) -> VerifiedSignature:
        """Check one signature (the bytes after the 4-byte key ID) over the note text ``data``.

        Both arguments are keyword-only and named as every govkit verifier names
        them (``signature``, then ``data``). Both are bytes, so a positional call in
        the old order (``verify(text, signature)``) would have checked the wrong
        bytes; any positional call now raises :class:`TypeError`.

        For a witness key, ``signature`` is an 8-byte big-endian timestamp and a
        64-byte Ed25519 signature over ``cosignature/v1\\ntime <t>\\n`` + ``data``.
        For a log key it is 64 bytes: Ed25519, or SM2 raw ``r || s``.

        Raises:
            CheckpointSignatureInvalid: the signature does not verify, or either
                argument is not bytes.
        """
        context = {"name": self._name, "key_id": self._key_id.hex()}
        if not isinstance(signature, bytes) or not isinstance(data, bytes):
            raise CheckpointSignatureInvalid("signature and data must be bytes", **context)
        timestamp: int | None = None
        message = data
        if self._cosigner:
            if len(signature) != 72:
                raise CheckpointSignatureInvalid("cosignature has the wrong length", **context)
            (timestamp,) = _TIMESTAMP.unpack(signature[:8])
            if timestamp > _MAX_TIMESTAMP:
                raise CheckpointSignatureInvalid("cosignature timestamp is too large", **context)
            message = _cosigned_message(data, timestamp)
            signature = signature[8:]
        elif len(signature) != 64:
            raise CheckpointSignatureInvalid("note signature has the wrong length", **context)
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise CheckpointSignatureInvalid(
                "a trusted key's signature on the note does not verify", **context
            ) from None
        return VerifiedSignature(self._name, self._key_id, timestamp)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoteVerifier):
            return NotImplemented
        return self.vkey == other.vkey

    def __hash__(self) -> int:
        return hash(self.vkey)

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey!r})"


# --- notes ----------------------------------------------------------------------


def _split_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Check a note's framing; return its text and (name, key ID, signature) per line."""
    text = _to_text(note, "signed note")
    if len(text.encode("utf-8", "surrogatepass")) > _MAX_NOTE_BYTES:
        raise CheckpointInvalid("signed note is larger than 1 MiB")
    problem = _text_problem(text)
    if problem:
        raise CheckpointInvalid(f"signed note {problem}")
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointInvalid("signed note has no blank line before its signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block or not block.endswith("\n"):
        raise CheckpointInvalid("signed note's signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise CheckpointInvalid(
            f"signed note has more than {_MAX_SIGNATURES} signatures", signatures=len(lines)
        )
    parsed: list[tuple[str, bytes, bytes]] = []
    first = body.count("\n") + 2  # the note's line number (from 1) of the first signature
    for number, line in enumerate(lines, start=first):
        if not line.startswith(_SIG_PREFIX):
            raise CheckpointInvalid("signature line does not start with '— '", line=number)
        fields = line[len(_SIG_PREFIX) :].split(" ")
        if len(fields) != 2 or _name_problem(fields[0]):
            raise CheckpointInvalid("signature line is not '— <name> <base64>'", line=number)
        try:
            raw = b64_decode(fields[1], what="note signature")
        except EncodingError as exc:
            raise CheckpointInvalid(exc.message, line=number) from None
        if len(raw) < 5:
            raise CheckpointInvalid("note signature is too short", line=number)
        parsed.append((fields[0], raw[:4], raw[4:]))
    return body, parsed


def _check_min_signatures(min_signatures: object) -> None:
    if isinstance(min_signatures, bool) or not isinstance(min_signatures, int):
        raise ConfigurationError("min_signatures must be an int")
    if min_signatures < 1:
        raise ConfigurationError("min_signatures must be at least 1")


def _check_origin(checkpoint: Checkpoint, origin: str) -> None:
    if checkpoint.origin != origin:
        raise CheckpointInvalid(
            "checkpoint is for another log (origin mismatch)",
            expected=origin,
            origin=checkpoint.origin,
        )


def _check_verifiers(verifiers: Sequence[NoteVerifier]) -> dict[tuple[str, bytes], NoteVerifier]:
    if isinstance(verifiers, (str, bytes, NoteVerifier)) or not isinstance(verifiers, Sequence):
        raise ConfigurationError("verifiers must be a sequence of NoteVerifier objects")
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        if not isinstance(verifier, NoteVerifier):
            raise ConfigurationError("verifiers must be a sequence of NoteVerifier objects")
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot] != verifier:
            raise ConfigurationError(
                "two different verifiers share a key name and key ID",
                name=verifier.name,
                key_id=verifier.key_id.hex(),
            )
        known[slot] = verifier
    if not known:
        raise ConfigurationError("at least one NoteVerifier is needed")
    return known


def open_note(
    note: str | bytes, verifiers: Sequence[NoteVerifier], *, min_signatures: int = 1
) -> OpenedNote:
    """Check a signed note's framing and signatures; return its text and who signed.

    Signatures by keys not in ``verifiers`` (matched on both name and key ID) are
    ignored. Every signature by a known key must verify. At least
    ``min_signatures`` distinct known keys (log keys and witnesses alike) must
    have signed.

    Raises:
        CheckpointInvalid: the note is malformed (not UTF-8, control characters,
            no blank line, bad signature line, over 100 signatures or 1 MiB).
        CheckpointSignatureInvalid: a known key's signature fails, or fewer than
            ``min_signatures`` known keys signed.
        ConfigurationError: ``verifiers`` is empty or ``min_signatures`` < 1.
    """
    _check_min_signatures(min_signatures)
    known = _check_verifiers(verifiers)
    text, lines = _split_note(note)
    text_bytes = text.encode()
    verified: dict[tuple[str, bytes], VerifiedSignature] = {}
    for name, key_id, signature in lines:
        verifier = known.get((name, key_id))
        if verifier is None:
            continue
        result = verifier.verify(signature=signature, data=text_bytes)
        verified.setdefault((name, key_id), result)
    if not verified:
        raise CheckpointSignatureInvalid("no trusted key signed the note")
    if len(verified) < min_signatures:
        raise CheckpointSignatureInvalid(
            f"only {len(verified)} trusted keys signed the note; {min_signatures} are required",
            verified=len(verified),
            required=min_signatures,
        )
    return OpenedNote(text, tuple(verified.values()))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """Sign a checkpoint's body and return the signed note."""
    if not isinstance(checkpoint, Checkpoint):
        raise ConfigurationError("sign_checkpoint needs a Checkpoint")
    if not isinstance(signer, NoteSigner):
        raise ConfigurationError("sign_checkpoint needs a NoteSigner")
    return signer.sign(checkpoint.body())


def verify_checkpoint(
    note: str | bytes,
    verifiers: Sequence[NoteVerifier],
    *,
    origin: str | None = None,
    min_signatures: int = 1,
) -> Checkpoint:
    """Verify a signed checkpoint and return it.

    The signatures are checked first (:func:`open_note`), then the body is parsed
    strictly. When ``origin`` is given, the checkpoint's origin must equal it. The
    key name need not equal the origin (real logs, such as Rekor v1, differ).

    Raises:
        CheckpointInvalid: malformed note or body, or another origin.
        CheckpointSignatureInvalid: see :func:`open_note`.
    """
    opened = open_note(note, verifiers, min_signatures=min_signatures)
    checkpoint = Checkpoint.parse(opened.text)
    if origin is not None:
        _check_origin(checkpoint, origin)
    return checkpoint


@dataclass(frozen=True)
class CheckpointReport(Report):
    """What :func:`inspect_checkpoint` found: the checks, and the checkpoint when valid.

    The checks, in order: ``note`` (the signed-note framing), ``signatures`` (every
    trusted key's signature verifies and enough trusted keys signed), ``body`` (origin,
    size and root parse strictly) and ``origin`` (the expected log; not performed when
    no ``origin`` was given). JSON (:meth:`~govkit.report.Report.to_dict`): ``valid``,
    ``kind`` (``checkpoint``), ``code``, ``checks``, ``checkpoint`` (``origin``,
    ``size``, ``root_hash`` in standard base64, ``extensions``; or ``null``) and
    ``signatures`` (``name``, ``key_id`` in hex, ``timestamp`` of a cosignature).
    """

    checks: tuple[Check, ...]
    checkpoint: Checkpoint | None = None
    signatures: tuple[VerifiedSignature, ...] = ()
    kind: str = field(default="checkpoint", init=False)

    def json_members(self) -> dict[str, Any]:
        """``checkpoint`` and the ``signatures`` by trusted keys."""
        cp = self.checkpoint
        return {
            "checkpoint": None
            if cp is None
            else {
                "origin": cp.origin,
                "size": cp.size,
                "root_hash": b64_encode(cp.root_hash),
                "extensions": list(cp.extensions),
            },
            "signatures": [
                {"name": s.name, "key_id": s.key_id.hex(), "timestamp": s.timestamp}
                for s in self.signatures
            ],
        }

    def summary(self) -> tuple[str, ...]:
        """The log, tree size and root of a valid checkpoint."""
        return self.summary_in("en")

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang``."""
        cp = self.checkpoint
        if cp is None:
            return ()
        root = b64_encode(cp.root_hash)
        return (
            summary_line("summary.checkpoint", lang, origin=cp.origin, size=cp.size, root=root),
        )


def inspect_checkpoint(
    note: str | bytes,
    verifiers: Sequence[NoteVerifier],
    *,
    origin: str | None = None,
    min_signatures: int = 1,
) -> CheckpointReport:
    """Run :func:`verify_checkpoint`'s checks and return a report instead of raising.

    Only a :class:`~govkit.errors.VerificationError` (a malformed note or body, a
    signature that does not verify, another origin) becomes a failed check.

    >>> signer = NoteSigner.generate("example.gov/log")
    >>> note = sign_checkpoint(Checkpoint("example.gov/log", 8, bytes(32)), signer)
    >>> report = inspect_checkpoint(note, [signer.verifier])
    >>> report.valid, [(c.name, c.ok) for c in report.checks]
    (True, [('note', True), ('signatures', True), ('body', True), ('origin', None)])
    >>> inspect_checkpoint(note, [signer.verifier], origin="example.gov/other").code
    'audit.checkpoint_malformed'

    Raises:
        ConfigurationError: ``verifiers`` is empty or ``min_signatures`` < 1.
    """
    _check_min_signatures(min_signatures)
    _check_verifiers(verifiers)
    checks: list[Check] = []
    step = "note"
    try:
        _, lines = _split_note(note)
        checks.append(Check.described("note", True, "audit.note", count=len(lines)))
        step = "signatures"
        opened = open_note(note, verifiers, min_signatures=min_signatures)
        names = ", ".join(sorted({s.name for s in opened.signatures}))
        checks.append(
            Check.described(
                "signatures", True, "audit.note_signers", count=len(opened.signatures), names=names
            )
        )
        step = "body"
        checkpoint = Checkpoint.parse(opened.text)
        checks.append(Check.described("body", True, "audit.tree", size=checkpoint.size))
        step = "origin"
        if origin is None:
            checks.append(Check.described("origin", None, "audit.no_origin"))
        else:
            _check_origin(checkpoint, origin)
            checks.append(Check.described("origin", True, "audit.origin"))
    except GovkitError as exc:
        if not isinstance(exc, VerificationError):
            raise
        checks.append(Check.from_error(step, exc))
        return CheckpointReport(tuple(checks))
    return CheckpointReport(tuple(checks), checkpoint, opened.signatures)


def cosign_checkpoint(note: str | bytes, witness: WitnessSigner, *, timestamp: int) -> str:
    """Append a witness's ``cosignature/v1`` line to a signed checkpoint.

    The note's framing and checkpoint body are checked, but not the log's
    signature or the log's consistency: a witness does both before it cosigns
    (:func:`verify_checkpoint` and a consistency proof).

    Args:
        note: the signed checkpoint.
        witness: the witness's :class:`WitnessSigner`.
        timestamp: POSIX seconds to put in the cosignature (0 to 2**63 - 1).

    Raises:
        CheckpointInvalid: the note or body is malformed, already carries a
            signature by this witness key, or would exceed 100 signatures.
        ConfigurationError: bad ``witness`` or ``timestamp``.
    """
    if not isinstance(witness, WitnessSigner):
        raise ConfigurationError("cosign_checkpoint needs a WitnessSigner")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise ConfigurationError("timestamp must be an int (POSIX seconds)")
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ConfigurationError("timestamp must be between 0 and 2**63 - 1")
    full = _to_text(note, "signed note")
    text, lines = _split_note(full)
    Checkpoint.parse(text)
    if any(name == witness.name and key_id == witness.key_id for name, key_id, _ in lines):
        raise CheckpointInvalid(
            "the note already carries a signature by this witness key",
            name=witness.name,
            key_id=witness.key_id.hex(),
        )
    if len(lines) >= _MAX_SIGNATURES:
        raise CheckpointInvalid(f"a note may carry at most {_MAX_SIGNATURES} signatures")
    return full + witness._cosignature_line(text.encode(), timestamp)
