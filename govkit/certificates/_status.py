"""Status lists: revocation and suspension of licences without revealing which is checked.

>>> from datetime import UTC, datetime, timedelta
>>> from govkit.certificates import Status, StatusList, load_status_list, sign_status_list
>>> from govkit.keys import SigningKey
>>> key = SigningKey.generate("EdDSA")
>>> statuses = StatusList(131072, list_id="gz-police-2026")
>>> index = statuses.allocate()
>>> statuses.set(index, Status.REVOKED)
>>> t0 = datetime(2026, 6, 1, tzinfo=UTC)
>>> data = sign_status_list(statuses, key, issued_at=t0,
...                         expires_at=t0 + timedelta(days=1), sequence=1)
>>> len(data) < 600
True
>>> load_status_list(data, [key.verifying_key], at=t0).status(index)
<Status.REVOKED: 1>

**Privacy.** A verifier downloads and caches the whole list and looks the licence's
``status_index`` up locally, so the issuer never learns which licence was checked,
when or where (herd privacy, as in the IETF Token Status List and the W3C Bitstring
Status List). The privacy grows with the list: use large lists (the W3C
recommendation is at least 131,072 entries; zeros compress to almost nothing).
Indexes are allocated in order (:meth:`StatusList.allocate`), which tells a
verifier the order licences were issued in, never who holds them.

**Encoding.** Two bits per licence (:class:`Status`: ``0`` valid, ``1`` revoked,
``2`` suspended; ``3`` is refused), entry ``i`` in byte ``i // 4`` at bit
``2 * (i % 4)``, least significant bits first (the IETF Token Status List layout);
unused bits of the last byte are zero. The bytes are zlib-compressed (RFC 1950)
and base64url-encoded in ``lst``.

**Compression level.** Lists are compressed at zlib level 6, chosen by measurement on
10,000,000 entries with 5 % revoked (2.5 MB of bits): revoked entries at random,
level 9 took 6.4 s for 471 KB and level 6 0.19 s for 519 KB (10 % more); in runs of
1-200, level 9 took 0.11 s for 21.6 KB and level 6 0.02 s for 27.5 KB; every 20th,
both 3.7 KB in 0.02 s. Levels 8 and 9 search so hard on such bitfields that signing a
large list took seconds (level 8: 1.6 s at random); levels 1-5 save at most 0.15 s
and cost more bytes: up to 28 % more at random, 71 % in runs, 3.6 times as many every
20th (levels 1-3). ``python -m benchmarks lists`` measures levels 6 and 9 again.

**Size.** A list has at most :data:`MAX_STATUS_LIST_SIZE` (16,777,216) entries; the
default document limit :data:`STATUS_LIST_MAX_BYTES` follows from it, so a list of
any allowed size and content is accepted: zlib's worst case for 4 MiB of bits
(``compressBound``: 4,195,597 bytes), in base64url (5,594,130 characters), plus 4 KiB
for the envelope, 5,598,226 bytes in all. Decompression stops at exactly the list's
size whatever the document says, so a small zlib bomb stays small.

**Wire format.** One canonical JSON document, signed like the trust list (the type
marker is inside the signed bytes)::

    {
      "type": "govkit.status-list/v1",
      "status_list": {"id": "gz-police-2026", "bits": 2, "size": 131072,
                      "sequence": 1, "issued_at": "2026-06-01T00:00:00Z",
                      "expires_at": "2026-06-02T00:00:00Z", "lst": "<base64url>"},
      "signature": {"alg": "EdDSA", "kid": "<JWK thumbprint>", "value": "<base64url>"}
    }

Loading is strict and bounded: the document is size-limited, decompression stops
at exactly the expected length (a zlib bomb is
:class:`~govkit.errors.StatusListInvalid`, ``reason`` ``zlib``), and a list past
``expires_at`` raises :class:`~govkit.errors.TrustListStale` unless
``allow_stale=True``.

**Issuer state.** :meth:`StatusList.to_json` / :meth:`StatusList.from_json` save
and restore the issuer's mutable list (unsigned: keep the file where only the
issuer can write it).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any, Final

import requests

from govkit._encoding import b64url_decode, b64url_encode, canonical_json
from govkit._http import SourcePolicy
from govkit.certificates._envelope import (
    check_keys,
    format_time,
    json_int,
    loads_strict,
    members,
    open_envelope,
    parse_time,
    sign_envelope,
    whole_seconds,
)
from govkit.certificates._sources import SignedSource
from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import (
    CertificateStatusStale,
    CertificateStatusUnknown,
    ConfigurationError,
    EncodingError,
    StatusListInvalid,
    TrustListStale,
)
from govkit.keys import Signer, VerifyingKey

__all__ = [
    "MAX_STATUS_LIST_SIZE",
    "STATUS_LIST_MAX_BYTES",
    "STATUS_LIST_STATE_TYPE",
    "STATUS_LIST_TYPE",
    "SignedStatusList",
    "Status",
    "StatusList",
    "StatusListSource",
    "load_status_list",
    "sign_status_list",
]

#: The type marker inside every signed status list.
STATUS_LIST_TYPE: Final = "govkit.status-list/v1"
#: The type marker of the issuer's unsigned state file.
STATUS_LIST_STATE_TYPE: Final = "govkit.status-list-state/v1"
#: The most entries a list may have (4 MiB of bits).
MAX_STATUS_LIST_SIZE: Final = 2**24
_BITS: Final = 2
#: zlib level of ``lst``: 6, measured (see the module docstring); 9 is pathological on
#: large bitfields (6.4 s against 0.19 s at 10 M entries, for 10 % fewer bytes).
_ZLIB_LEVEL: Final = 6


def _max_document_bytes(entries: int) -> int:
    """The largest signed document a list of ``entries`` entries can need.

    zlib's worst case for the bits (``compressBound``: stored blocks), in unpadded
    base64url, plus 4 KiB for the envelope (id, times, sequence, signature).
    """
    raw = (entries * _BITS + 7) // 8
    deflated = raw + (raw >> 12) + (raw >> 14) + (raw >> 25) + 13
    return (4 * deflated + 2) // 3 + 4096


#: Default size limit of a signed status list, following from
#: :data:`MAX_STATUS_LIST_SIZE` (5,598,226 bytes, about 5.3 MiB).
STATUS_LIST_MAX_BYTES: Final = _max_document_bytes(MAX_STATUS_LIST_SIZE)
_MAX_SEQUENCE: Final = 2**53 - 1
_LIST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_PAIRS_MASK_BYTE: Final = 0x55


class Status(IntEnum):
    """A licence's status in a status list (2 bits)."""

    VALID = 0
    REVOKED = 1
    SUSPENDED = 2


def _byte_length(size: int) -> int:
    return (size * _BITS + 7) // 8


def _check_bits(raw: bytes, size: int) -> None:
    """Refuse the unused value 3 and non-zero padding bits (StatusListInvalid)."""
    if len(raw) != _byte_length(size):
        raise StatusListInvalid("the status bits have the wrong length", reason="size")
    number = int.from_bytes(raw, "little")
    if number >> (size * _BITS):
        raise StatusListInvalid("the status list's padding bits are not zero", reason="padding")
    mask = int.from_bytes(bytes([_PAIRS_MASK_BYTE]) * len(raw), "little")
    if number & (number >> 1) & mask:
        raise StatusListInvalid("the status list holds the unused value 3", reason="value")


def _inflate(data: bytes, expected: int) -> bytes:
    """zlib-decompress at most ``expected`` bytes; anything else is StatusListInvalid."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, expected + 1)
    except zlib.error:
        raise StatusListInvalid("the status bits are not valid zlib data", reason="zlib") from None
    if len(raw) != expected or inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise StatusListInvalid(
            "the status bits do not decompress to exactly the list's size", reason="zlib"
        )
    return raw


def _decode_lst(value: object, size: int) -> bytes:
    if not isinstance(value, str):
        raise StatusListInvalid("lst must be base64url text", reason="layout")
    try:
        compressed = b64url_decode(value, what="lst")
    except EncodingError:
        raise StatusListInvalid("lst is not base64url", reason="layout") from None
    raw = _inflate(compressed, _byte_length(size))
    _check_bits(raw, size)
    return raw


def _check_list_id(value: object, error: type[Exception]) -> str:
    if not isinstance(value, str) or not _LIST_ID.fullmatch(value):
        raise error("a list id is 1-128 characters of A-Z a-z 0-9 . _ : / -")
    return value


def _check_size(value: object, error: type[Exception], maximum: int = MAX_STATUS_LIST_SIZE) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise error(f"a status list has 1 to {maximum} entries")
    return value


#: The statuses by their 2 bits (0, 1, 2): a tuple look-up instead of an enum call.
_BY_BITS: Final = (Status.VALID, Status.REVOKED, Status.SUSPENDED)


def _status_at(bits: bytes | bytearray, index: int) -> Status:
    value = (bits[index // 4] >> (2 * (index % 4))) & 0b11
    return _BY_BITS[value] if value < 3 else Status(value)  # (3, never stored, raises)


class StatusList:
    """The issuer's mutable status list: 2 bits per licence, all ``VALID`` at first.

    Args:
        size: the number of entries (1 to :data:`MAX_STATUS_LIST_SIZE`).
        list_id: names the list (1-128 characters of ``A-Za-z0-9._:/-``).

    >>> statuses = StatusList(8, list_id="demo")
    >>> [statuses.allocate(), statuses.allocate()]
    [0, 1]
    >>> statuses.set(1, Status.SUSPENDED)
    >>> statuses.get(1), statuses.get(0)
    (<Status.SUSPENDED: 2>, <Status.VALID: 0>)
    """

    __slots__ = ("_bits", "_list_id", "_next", "_size")

    def __init__(self, size: int, *, list_id: str) -> None:
        self._size = _check_size(size, ConfigurationError)
        self._list_id = _check_list_id(list_id, ConfigurationError)
        self._bits = bytearray(_byte_length(size))
        self._next = 0

    @property
    def size(self) -> int:
        """The number of entries."""
        return self._size

    @property
    def list_id(self) -> str:
        """The list's id."""
        return self._list_id

    @property
    def next_index(self) -> int:
        """The index :meth:`allocate` will return next (equal to ``size`` when full)."""
        return self._next

    def allocate(self) -> int:
        """Reserve and return the next free index.

        Raises:
            ConfigurationError: the list is full (start another list).
        """
        if self._next >= self._size:
            raise ConfigurationError("the status list is full", list_id=self._list_id)
        index = self._next
        self._next += 1
        return index

    def _index(self, index: object) -> int:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self._size:
            raise ConfigurationError("status index out of range", list_id=self._list_id)
        return index

    def set(self, index: int, status: Status) -> None:
        """Set the status of entry ``index``.

        Raises:
            ConfigurationError: ``index`` is out of range or ``status`` is not a
                :class:`Status`.
        """
        index = self._index(index)
        if not isinstance(status, Status):
            raise ConfigurationError("status must be a Status")
        shift = 2 * (index % 4)
        byte = self._bits[index // 4] & ~(0b11 << shift)
        self._bits[index // 4] = byte | (int(status) << shift)

    def get(self, index: int) -> Status:
        """The status of entry ``index``.

        Raises:
            ConfigurationError: ``index`` is out of range.
        """
        return _status_at(self._bits, self._index(index))

    def encoded(self) -> str:
        """The ``lst`` value: base64url of the zlib-compressed bits."""
        return b64url_encode(zlib.compress(bytes(self._bits), _ZLIB_LEVEL))  # a snapshot

    def to_json(self) -> dict[str, Any]:
        """The issuer's state (unsigned) as a JSON-ready dict."""
        return {
            "type": STATUS_LIST_STATE_TYPE,
            "id": self._list_id,
            "bits": _BITS,
            "size": self._size,
            "next": self._next,
            "lst": self.encoded(),
        }

    @classmethod
    def from_json(cls, state: Mapping[str, Any] | bytes | str) -> StatusList:
        """Restore a list saved with :meth:`to_json` (a dict, or its JSON text).

        Raises:
            StatusListInvalid: the state is malformed (``reason`` in the context).
        """
        err = StatusListInvalid
        if isinstance(state, str):
            state = state.encode("utf-8", "surrogatepass")
        if isinstance(state, bytes):
            state = loads_strict(state, err, "status list state")
        if not isinstance(state, Mapping):
            raise err("the state must be a JSON object", reason="layout")
        obj = members(
            dict(state), {"type", "id", "bits", "size", "next", "lst"}, set(), err, "state"
        )
        if obj["type"] != STATUS_LIST_STATE_TYPE:
            raise err("not a status list state", reason="wrong_type")
        if obj["bits"] != _BITS or isinstance(obj["bits"], bool):
            raise err("only 2-bit status lists are supported", reason="bits")
        size = json_int(obj["size"], err, "size", MAX_STATUS_LIST_SIZE)
        if size < 1:
            raise err("a status list has at least one entry", reason="layout")
        next_index = json_int(obj["next"], err, "next", size)
        try:
            result = cls(size, list_id=obj["id"])
        except ConfigurationError as exc:
            raise err(exc.message, reason="layout") from None
        result._bits[:] = _decode_lst(obj["lst"], size)
        result._next = next_index
        return result

    def __repr__(self) -> str:
        return f"StatusList(list_id={self._list_id!r}, size={self._size}, next={self._next})"


@dataclass(frozen=True, slots=True)
class SignedStatusList:
    """A verified, read-only status list as a verifier holds it.

    Attributes:
        list_id: the list's id.
        size: the number of entries.
        sequence: increases with every publication.
        issued_at: when it was signed.
        expires_at: after this it is stale.
        kid: the JWK thumbprint of the key that signed it.
    """

    list_id: str
    size: int
    sequence: int
    issued_at: datetime
    expires_at: datetime
    kid: str
    bits: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_list_id(self.list_id, StatusListInvalid)
        _check_size(self.size, StatusListInvalid)
        if not isinstance(self.bits, bytes):
            raise StatusListInvalid("bits must be bytes", reason="layout")
        _check_bits(self.bits, self.size)
        if self.expires_at <= self.issued_at:
            raise StatusListInvalid("expires_at must be later than issued_at", reason="time")

    def status(self, index: int) -> Status:
        """The status of the licence with this status index.

        Raises:
            StatusListInvalid: the index is outside the list (``reason`` ``index``).
        """
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise StatusListInvalid(
                "the licence's status index is outside the status list",
                reason="index",
                list_id=self.list_id,
            )
        return _status_at(self.bits, index)

    def is_stale(self, at: datetime) -> bool:
        """Whether the list is past ``expires_at`` at ``at``."""
        return require_aware(at) >= self.expires_at


def sign_status_list(
    status_list: StatusList,
    signer: Signer,
    *,
    issued_at: datetime,
    expires_at: datetime,
    sequence: int,
) -> bytes:
    """Sign a snapshot of ``status_list``; return the JSON document (UTF-8 bytes).

    Raises:
        ConfigurationError: bad times (naive, or ``expires_at`` not later) or
            sequence (0 to 2**53 - 1).
    """
    if not isinstance(status_list, StatusList):
        raise ConfigurationError("status_list must be a StatusList")
    start = whole_seconds(issued_at, "issued_at")
    end = whole_seconds(expires_at, "expires_at")
    if end <= start:
        raise ConfigurationError("expires_at must be later than issued_at")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise ConfigurationError("sequence must be an int")
    if not 0 <= sequence <= _MAX_SEQUENCE:
        raise ConfigurationError("sequence must be from 0 to 2**53 - 1")
    body = {
        "id": status_list.list_id,
        "bits": _BITS,
        "size": status_list.size,
        "sequence": sequence,
        "issued_at": format_time(start),
        "expires_at": format_time(end),
        "lst": status_list.encoded(),
    }
    return sign_envelope(STATUS_LIST_TYPE, "status_list", body, signer)


def load_status_list(
    data: bytes,
    keys: Sequence[VerifyingKey],
    *,
    at: datetime | None = None,
    clock: Clock | None = None,
    allow_stale: bool = False,
    max_bytes: int = STATUS_LIST_MAX_BYTES,
    max_size: int = MAX_STATUS_LIST_SIZE,
) -> SignedStatusList:
    """Verify a signed status list with one of ``keys`` and parse it strictly.

    ``max_bytes`` (default :data:`STATUS_LIST_MAX_BYTES`, enough for any list of
    :data:`MAX_STATUS_LIST_SIZE` entries) is checked before anything is parsed;
    ``max_size`` bounds the entries before anything is inflated.

    Raises:
        StatusListInvalid: not signed by one of ``keys``, tampered, malformed, or
            its bits do not decompress to exactly ``size`` entries (``reason``:
            ``type``, ``too_large``, ``json``, ``layout``, ``wrong_type``,
            ``unknown_key``, ``signature``, ``time``, ``bits``, ``size``, ``zlib``,
            ``padding``, ``value``).
        TrustListStale: past ``expires_at`` and ``allow_stale`` is false.
        NaiveDatetimeError: ``at`` has no timezone.
    """
    checked = check_keys(keys, "keys")
    when = resolve_time(clock or SystemClock(), at)
    err = StatusListInvalid
    body, key, _ = open_envelope(
        data,
        marker=STATUS_LIST_TYPE,
        member="status_list",
        keys=checked,
        error=err,
        max_bytes=max_bytes,
    )
    obj = members(
        body,
        {"id", "bits", "size", "sequence", "issued_at", "expires_at", "lst"},
        set(),
        err,
        "status_list",
    )
    if obj["bits"] != _BITS or isinstance(obj["bits"], bool):
        raise err("only 2-bit status lists are supported", reason="bits")
    size = json_int(obj["size"], err, "size", min(max_size, MAX_STATUS_LIST_SIZE))
    if size < 1:
        raise err("a status list has at least one entry", reason="size")
    list_id = obj["id"]
    if not isinstance(list_id, str) or not _LIST_ID.fullmatch(list_id):
        raise err("the list id is malformed", reason="layout")
    signed = SignedStatusList(
        list_id=list_id,
        size=size,
        sequence=json_int(obj["sequence"], err, "sequence", _MAX_SEQUENCE),
        issued_at=parse_time(obj["issued_at"], err, "issued_at"),
        expires_at=parse_time(obj["expires_at"], err, "expires_at"),
        kid=key.kid,
        bits=_decode_lst(obj["lst"], size),
    )
    if signed.is_stale(when) and not allow_stale:
        raise TrustListStale(
            "the status list is past its expiry",
            expired=format_time(signed.expires_at),
            sequence=signed.sequence,
            list_id=signed.list_id,
        )
    return signed


class StatusListSource(SignedSource[SignedStatusList]):
    """A signed status list from a file path or an https URL, cached, never rolled back.

    Behaves like :class:`~govkit.certificates.TrustListSource` (same arguments,
    :class:`~govkit.certificates.SourcePolicy` and defaults, caching,
    stale-while-error, rollback and equivocation refusal) except that ``max_bytes``
    defaults to :data:`STATUS_LIST_MAX_BYTES`; ``keys`` are the issuer's keys that may
    sign the list, and ``list_id``, when given, must be the list's id.
    """

    _what = "status list"
    _defaults = replace(SignedSource._defaults, max_bytes=STATUS_LIST_MAX_BYTES)

    def __init__(
        self,
        location: str | Path,
        keys: Sequence[VerifyingKey],
        *,
        list_id: str | None = None,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        policy: SourcePolicy | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        ttl: timedelta | None = None,
        max_stale: timedelta | None = None,
        refetch_cooldown: timedelta | None = None,
        min_sequence: int | None = None,
    ) -> None:
        self._keys = check_keys(keys, "keys")
        self._list_id = None if list_id is None else _check_list_id(list_id, ConfigurationError)
        super().__init__(
            location,
            clock=clock,
            session=session,
            policy=policy,
            timeout=timeout,
            max_bytes=max_bytes,
            ttl=ttl,
            max_stale=max_stale,
            refetch_cooldown=refetch_cooldown,
            min_sequence=min_sequence,
        )

    def _parse(self, data: bytes, now: datetime) -> tuple[SignedStatusList, bytes]:
        signed = load_status_list(
            data, self._keys, at=now, allow_stale=True, max_bytes=self._max_bytes
        )
        if self._list_id is not None and signed.list_id != self._list_id:
            raise StatusListInvalid("the status list has another id", reason="list_id")
        canonical = canonical_json(
            [signed.list_id, signed.sequence, format_time(signed.issued_at),
             format_time(signed.expires_at), b64url_encode(signed.bits)]
        )  # fmt: skip
        return signed, canonical

    def _sequence(self, document: SignedStatusList) -> int:
        return document.sequence

    def _expires(self, document: SignedStatusList) -> datetime:
        return document.expires_at


class StatusLists:
    """The status lists a verifier holds, found by the keys that sign them (not public).

    A list belongs to the issuer whose current key signed it, so the lists are indexed
    by signing key id (JWK thumbprint): a :class:`SignedStatusList` under its ``kid``, a
    :class:`StatusListSource` under the kid of each key it was given (the only keys that
    can have signed what it loads). Finding an issuer's list looks up that issuer's keys
    and loads only the sources found (through their cache), whatever the number of lists.

    Raises:
        ConfigurationError: an item is neither a :class:`SignedStatusList` nor a
            :class:`StatusListSource`, or there is none.
    """

    __slots__ = ("_count", "_signed", "_sources")

    def __init__(self, lists: Iterable[SignedStatusList | StatusListSource]) -> None:
        signed: dict[str, list[SignedStatusList]] = {}
        sources: dict[str, list[StatusListSource]] = {}
        seen: set[int] = set()
        for item in lists:
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, SignedStatusList):
                signed.setdefault(item.kid, []).append(item)
            elif isinstance(item, StatusListSource):
                for kid in dict.fromkeys(key.kid for key in item._keys):
                    sources.setdefault(kid, []).append(item)
            else:
                raise ConfigurationError(
                    "each status list must be a SignedStatusList or a StatusListSource"
                )
        if not seen:
            raise ConfigurationError("give at least one status list (or None)")
        self._count = len(seen)
        self._signed = signed
        self._sources = sources

    def __len__(self) -> int:
        return self._count

    @property
    def loaded_only(self) -> bool:
        """Whether every list was given loaded (no source): then :meth:`signed_by`
        returns the same for the same kids, whatever ``at``."""
        return not self._sources

    def signed_by(self, kids: Set[str], at: datetime) -> SignedStatusList | None:
        """The newest list signed by one of ``kids`` (stale or not), or ``None``.

        Of several copies of one list (same ``list_id``) the highest ``sequence`` wins,
        then the latest ``issued_at``. Sources are loaded with ``allow_stale=True``.

        Raises:
            CertificateStatusUnknown: lists with different ids are signed by ``kids``
                (``reason`` ``several_lists``): which one the licence's index is in
                cannot be told.
            CertificateStatusStale: a source's list is more than ``max_stale`` past its
                expiry.
            TrustListError: a source has no good list (not a verdict).
        """
        found: dict[int, SignedStatusList] = {}
        loaded: set[int] = set()
        for kid in kids:
            for status_list in self._signed.get(kid, ()):
                found[id(status_list)] = status_list
            for source in self._sources.get(kid, ()):
                if id(source) in loaded:
                    continue
                loaded.add(id(source))
                try:
                    current = source.get(at=at, allow_stale=True)
                except TrustListStale as exc:  # more than max_stale past its expiry
                    raise CertificateStatusStale(exc.message, **exc.context) from None
                if current.kid in kids:
                    found[id(current)] = current
        if not found:
            return None
        ids = {status_list.list_id for status_list in found.values()}
        if len(ids) > 1:
            raise CertificateStatusUnknown(
                "several status lists with different ids are signed by the licence's "
                "issuer, so which one holds its entry cannot be told",
                reason="several_lists",
                lists=len(ids),
            )
        return max(found.values(), key=lambda s: (s.sequence, s.issued_at))
