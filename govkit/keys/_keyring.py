"""Key rings: one active signer plus verify-only keys with validity windows."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import (
    ConfigurationError,
    InvalidKey,
    KeyNotValidAt,
    NoActiveKey,
    UnknownKey,
)
from govkit.keys._keys import Signer, SigningKey, VerifyingKey

__all__ = ["KeyRecord", "KeyRing"]

_MAX_KID_LENGTH = 256


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A verifying key in a :class:`KeyRing` with its validity window.

    ``not_before`` and ``not_after`` are aware UTC datetimes or ``None`` (open);
    the window is ``not_before <= t < not_after``.
    """

    key: VerifyingKey
    not_before: datetime | None = None
    not_after: datetime | None = None
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.not_before is not None:
            object.__setattr__(self, "not_before", require_aware(self.not_before, "not_before"))
        if self.not_after is not None:
            object.__setattr__(self, "not_after", require_aware(self.not_after, "not_after"))
        if (
            self.not_before is not None
            and self.not_after is not None
            and self.not_after <= self.not_before
        ):
            raise ConfigurationError("a key's not_after must be later than its not_before")

    def valid_at(self, at: datetime) -> bool:
        """Whether ``at`` lies inside the window."""
        at = require_aware(at)
        if self.not_before is not None and at < self.not_before:
            return False
        return not (self.not_after is not None and at >= self.not_after)


class KeyRing:
    """One active signing key plus verify-only keys, looked up by key id.

    Rotation: :meth:`activate` a new key; the previous one stays in the ring as
    verify-only, and :meth:`retire` closes its window when tokens signed with it
    can no longer be in circulation.

    >>> from datetime import datetime, timezone
    >>> from govkit.keys import KeyRing, SigningKey
    >>> from govkit.testing import FixedClock
    >>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> old, new = SigningKey.generate("EdDSA"), SigningKey.generate("EdDSA")
    >>> ring = KeyRing(old, clock=clock)
    >>> sig = ring.active.sign(b"record")
    >>> ring.activate(new)
    >>> ring.retire(old.kid, not_after=datetime(2026, 2, 1, tzinfo=timezone.utc))
    >>> ring.active.kid == new.kid
    True
    >>> ring.verify(old.kid, sig, b"record").kid == old.kid
    True
    >>> ring.verify(old.kid, sig, b"record", at=datetime(2026, 3, 1, tzinfo=timezone.utc))
    Traceback (most recent call last):
        ...
    govkit.errors.KeyNotValidAt: key is outside its validity window

    Reads are safe from many threads; changes take an internal lock.
    """

    def __init__(
        self,
        active: Signer | None = None,
        *,
        verifying_key: VerifyingKey | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._records: dict[str, KeyRecord] = {}
        self._aliases: dict[str, str] = {}
        self._active: Signer | None = None
        if active is not None:
            self.activate(
                active, verifying_key=verifying_key, not_before=not_before, not_after=not_after
            )

    # -- changing the ring ---------------------------------------------------

    def add(
        self,
        key: VerifyingKey | SigningKey,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        kid: str | None = None,
    ) -> KeyRecord:
        """Add a verify-only key (a signing key is reduced to its public half).

        ``kid`` records an extra name for the key, for JWKS whose ``kid`` is not the
        RFC 7638 thumbprint.
        """
        vk = key.verifying_key if isinstance(key, SigningKey) else key
        if not isinstance(vk, VerifyingKey):
            raise InvalidKey("KeyRing.add takes a VerifyingKey or SigningKey")
        aliases: tuple[str, ...] = ()
        if kid is not None and kid != vk.kid:
            _check_kid(kid)
            aliases = (kid,)
        record = KeyRecord(vk, not_before, not_after, aliases)
        with self._lock:
            old = self._records.get(vk.kid)
            if old is not None:
                record = KeyRecord(vk, not_before, not_after, tuple({*old.aliases, *aliases}))
            for alias in aliases:
                owner = self._aliases.get(alias)
                if alias in self._records or (owner is not None and owner != vk.kid):
                    raise ConfigurationError("two keys in the ring claim the same kid", kid=alias)
            records = dict(self._records)
            records[vk.kid] = record
            alias_map = dict(self._aliases)
            alias_map.update(dict.fromkeys(aliases, vk.kid))
            self._records, self._aliases = records, alias_map
        return record

    def activate(
        self,
        signer: Signer,
        *,
        verifying_key: VerifyingKey | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> None:
        """Make ``signer`` the active key; the previous active key stays verify-only.

        A :class:`SigningKey` brings its own verifying key; any other
        :class:`Signer` (an HSM, a KMS) must be given ``verifying_key`` so that the
        ring can verify and publish it.
        """
        if not isinstance(signer, Signer):
            raise InvalidKey("activate() takes a Signer (SigningKey, HSM or KMS signer)")
        vk = signer.verifying_key if isinstance(signer, SigningKey) else verifying_key
        if vk is None:
            raise ConfigurationError("a Signer that is not a SigningKey needs verifying_key=")
        if vk.kid != signer.kid or vk.alg != signer.alg:
            raise ConfigurationError("verifying_key does not belong to the signer")
        self.add(vk, not_before=not_before, not_after=not_after)
        with self._lock:
            self._active = signer

    def retire(self, kid: str, *, not_after: datetime) -> None:
        """Close the validity window of a verify-only key at ``not_after``."""
        with self._lock:
            record = self._lookup(kid)
            if self._active is not None and self._active.kid == record.key.kid:
                raise ConfigurationError("the active key cannot be retired; activate another")
            records = dict(self._records)
            records[record.key.kid] = KeyRecord(
                record.key, record.not_before, not_after, record.aliases
            )
            self._records = records

    def remove(self, kid: str) -> None:
        """Remove a verify-only key entirely."""
        with self._lock:
            record = self._lookup(kid)
            if self._active is not None and self._active.kid == record.key.kid:
                raise ConfigurationError("the active key cannot be removed; activate another")
            records = dict(self._records)
            del records[record.key.kid]
            self._aliases = {a: k for a, k in self._aliases.items() if k != record.key.kid}
            self._records = records

    # -- using the ring ------------------------------------------------------

    @property
    def active(self) -> Signer:
        """The signer new signatures are made with."""
        active = self._active
        if active is None:
            raise NoActiveKey("the key ring has no active signing key")
        return active

    @property
    def has_active(self) -> bool:
        """Whether the ring has an active signer."""
        return self._active is not None

    def record(self, kid: str) -> KeyRecord:
        """The :class:`KeyRecord` for ``kid`` (a thumbprint or an alias)."""
        return self._lookup(kid)

    def get(self, kid: str, *, at: datetime | None = None) -> VerifyingKey:
        """The verifying key for ``kid`` if it is valid at ``at`` (default: now).

        Raises:
            UnknownKey: no such key in the ring.
            KeyNotValidAt: the key's window does not cover ``at``.
        """
        # A key in the ring is found by one dict lookup (the ring holds only valid kids);
        # anything else goes through _lookup, which says why it is not there.
        record = self._records.get(kid) if type(kid) is str else None
        if record is None:
            record = self._lookup(kid)
        if type(at) is not datetime or at.tzinfo is not UTC:  # else resolve_time returns it
            at = resolve_time(self._clock, at)
        # The ring builds its records (exact KeyRecords): an open window holds any time,
        # and ``at`` is aware UTC by now, which is all valid_at would check of it.
        if (record.not_before is not None or record.not_after is not None) and not (
            record.valid_at(at)
        ):
            raise KeyNotValidAt("key is outside its validity window", kid=record.key.kid)
        return record.key

    def verify(
        self, kid: str, signature: bytes, data: bytes, *, at: datetime | None = None
    ) -> VerifyingKey:
        """Verify ``signature`` with the key named ``kid``; return that key."""
        key = self.get(kid, at=at)
        key.verify(signature, data)
        return key

    @property
    def kids(self) -> tuple[str, ...]:
        """Thumbprints of every key in the ring, in insertion order."""
        return tuple(self._records)

    def records(self) -> tuple[KeyRecord, ...]:
        """Every key with its window."""
        return tuple(self._records.values())

    def __contains__(self, kid: object) -> bool:
        return isinstance(kid, str) and (kid in self._records or kid in self._aliases)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[VerifyingKey]:
        return iter([r.key for r in self._records.values()])

    def to_jwks(self, *, at: datetime | None = None) -> dict[str, list[dict[str, str]]]:
        """A JWKS of every key whose window has not closed at ``at`` (default: now).

        Keys that are not valid yet are published too, so verifiers learn them
        before the first signature appears.
        """
        when = resolve_time(self._clock, at)
        keys = [
            r.key.to_jwk()
            for r in self._records.values()
            if r.not_after is None or when < r.not_after
        ]
        return {"keys": keys}

    @classmethod
    def from_jwks(
        cls, jwks: Mapping[str, Any], *, clock: Clock | None = None, alg: str | None = None
    ) -> KeyRing:
        """A verify-only ring from a JWKS document.

        A JWK's own ``kid``, when it differs from the thumbprint, is kept as an
        alias. ``alg`` applies to keys whose JWK has none (RSA keys need one).
        """
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
            raise InvalidKey("a JWKS must be an object with a 'keys' list")
        ring = cls(clock=clock)
        for jwk in jwks["keys"]:
            if not isinstance(jwk, Mapping):
                raise InvalidKey("every entry of a JWKS 'keys' list must be a JSON object")
            key = VerifyingKey.from_jwk(jwk, alg if not jwk.get("alg") else None)
            ring.add(key, kid=jwk.get("kid"))
        return ring

    def _lookup(self, kid: str) -> KeyRecord:
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
            raise UnknownKey("no key with that kid")
        records = self._records
        record = records.get(kid)
        if record is None:
            owner = self._aliases.get(kid)
            record = records.get(owner) if owner is not None else None
        if record is None:
            raise UnknownKey("no key with that kid", kid=kid)
        return record

    def __repr__(self) -> str:
        active = self._active.kid if self._active is not None else None
        return f"KeyRing(keys={len(self._records)}, active={active!r})"


def _check_kid(kid: str) -> None:
    if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
        raise InvalidKey("a kid must be a non-empty string of at most 256 characters")
