"""The in-process core of the memory replay and revocation stores (private).

One :class:`MemoryState` holds replay entries, revoked ``jti`` values and subject "not
before" times under one lock and one bound. :class:`~govkit.stores.MemoryReplayStore`
uses its replay part, :class:`~govkit.stores.MemoryRevocationStore` the rest, and
:class:`~govkit.stores.MemoryIdentityStore` all of it, so the three behave the same way.
Nothing here reads a clock: every time comes from a caller.
"""

from __future__ import annotations

import heapq
import threading
from datetime import datetime
from typing import Final

from govkit.clock import require_aware
from govkit.errors import ConfigurationError, GovkitError
from govkit.stores._base import check_key

_REPLAY: Final = 0
_REVOKED: Final = 1


class MemoryState:
    """Dictionaries under a lock, bounded by ``max_entries`` live entries.

    When a new entry finds the state full, it first drops the entries expired at the
    caller's ``now`` (for a revocation, which takes no time: the latest ``now`` any
    caller passed), so the bound counts live entries only. If the state is still full
    the new entry raises ``full`` instead of evicting a live one: evicting would reopen
    a replay window or silently un-revoke a token.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        noun: str,
        full: type[GovkitError],
        failed: type[GovkitError],
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("max_entries must be a positive integer")
        self.max_entries = max_entries
        self._noun = noun
        self._full = full
        self._failed = failed
        self._lock = threading.Lock()
        self._replay: dict[str, datetime] = {}
        self._revoked: dict[str, datetime] = {}
        self._subjects: dict[str, datetime] = {}
        # (expires_at, kind, key); stale items (the entry was replaced) are skipped.
        self._expiry: list[tuple[datetime, int, str]] = []
        # The latest time a caller passed (never read from a clock); None until then.
        self._last_now: datetime | None = None
        self._closed = False

    # -- bookkeeping (the lock is held) ------------------------------------------------

    def _table(self, kind: int) -> dict[str, datetime]:
        return self._replay if kind == _REPLAY else self._revoked

    def _drop_expired(self, now: datetime) -> int:
        removed = 0
        heap = self._expiry
        while heap and heap[0][0] <= now:
            expires, kind, key = heapq.heappop(heap)
            table = self._table(kind)
            if table.get(key) == expires:
                del table[key]
                removed += 1
        return removed

    def _size(self) -> int:
        return len(self._replay) + len(self._revoked) + len(self._subjects)

    def _make_room(self, now: datetime | None) -> None:
        """Before adding an entry: drop expired ones if full, then refuse if still full."""
        if self._size() >= self.max_entries and now is not None:
            self._drop_expired(now)
        if self._size() >= self.max_entries:
            raise self._full(f"{self._noun} is full", max_entries=self.max_entries)

    def _push(self, expires: datetime, kind: int, key: str) -> None:
        """Index a new expiry; rebuild the index when replaced entries crowd it."""
        heap = self._expiry
        heapq.heappush(heap, (expires, kind, key))
        if len(heap) > 2 * self.max_entries:
            live = [(t, _REPLAY, k) for k, t in self._replay.items()]
            live += [(t, _REVOKED, k) for k, t in self._revoked.items()]
            heapq.heapify(live)
            self._expiry = live

    def _check_open(self) -> None:
        if self._closed:
            raise self._failed(f"{self._noun} is closed")

    # -- replay ------------------------------------------------------------------------

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        """Record ``key`` until ``expires_at`` unless a live entry exists; ``False``: replay."""
        check_key(key, "replay key")
        when = require_aware(now, "now")
        expires = require_aware(expires_at, "expires_at")
        with self._lock:
            self._check_open()
            self._last_now = when
            current = self._replay.get(key)
            if current is not None and current > when:
                return False
            if current is None:
                self._make_room(when)
            self._replay[key] = expires
            self._push(expires, _REPLAY, key)
            return True

    # -- revocation --------------------------------------------------------------------

    def revoke_token(self, jti: str, *, expires_at: datetime) -> None:
        """Revoke ``jti`` until ``expires_at``; the later expiry is kept."""
        check_key(jti, "jti")
        expires = require_aware(expires_at, "expires_at")
        with self._lock:
            self._check_open()
            current = self._revoked.get(jti)
            if current is None:
                self._make_room(self._last_now)
            elif current >= expires:
                return
            self._revoked[jti] = expires
            self._push(expires, _REVOKED, jti)

    def is_revoked(self, jti: str, *, now: datetime) -> bool:
        """Whether ``jti`` has a revocation entry not yet expired at ``now``."""
        check_key(jti, "jti")
        when = require_aware(now, "now")
        with self._lock:
            self._check_open()
            self._last_now = when
            current = self._revoked.get(jti)
            return current is not None and current > when

    def revoke_subject(self, subject: str, *, not_before: datetime) -> None:
        """Set the subject's "not before" time; the later time is kept."""
        check_key(subject, "subject")
        when = require_aware(not_before, "not_before")
        with self._lock:
            self._check_open()
            current = self._subjects.get(subject)
            if current is None:
                self._make_room(self._last_now)
            elif current >= when:
                return
            self._subjects[subject] = when

    def subject_not_before(self, subject: str) -> datetime | None:
        """The subject's "not before" time, or ``None``."""
        check_key(subject, "subject")
        with self._lock:
            self._check_open()
            return self._subjects.get(subject)

    # -- both --------------------------------------------------------------------------

    def purge(self, *, now: datetime) -> int:
        """Delete the replay and revocation entries expired at ``now``; return how many."""
        when = require_aware(now, "now")
        with self._lock:
            self._check_open()
            self._last_now = when
            return self._drop_expired(when)

    def close(self) -> None:
        """Forget every entry; later calls raise ``failed``."""
        with self._lock:
            self._closed = True
            self._replay.clear()
            self._revoked.clear()
            self._subjects.clear()
            self._expiry.clear()

    def __len__(self) -> int:
        with self._lock:
            return self._size()
