"""The verifier state: what an offline verifier trusts, kept on disk, only moving forward.

A verifier at a roadside check or a service counter often has no signal, and the
command it runs holds no memory between runs. :class:`VerifierState` is that memory: a
directory holding

* the trust anchors (the keys that may sign trust lists);
* the newest trust list accepted, and each issuer's newest status list;
* the newest checkpoint of each audit log verified;
* the newest signed time seen (for noticing a clock set back);
* a replay store for presentations (``replay.db``, a
  :class:`~govkit.stores.SQLiteReplayStore`): a presentation accepted once is refused
  as ``presentation.replayed`` by every process that shares the directory.

It behaves as a TUF client's trusted metadata does: it is the one place that decides
what is trusted, and it only moves forward.

* **Rollback.** A trust or status list with a lower ``sequence`` than the one held is
  :class:`~govkit.errors.TrustListRollback` (``trust.rollback``); a different list with
  the held sequence is :class:`~govkit.errors.TrustListEquivocation`
  (``trust.equivocation``); the same list again changes nothing. A valid newer list
  replaces the held one. Status lists are held per issuer (USCC): an issuer's
  sequence keeps increasing even when it starts a list with a new id.
* **Anchor rotation.** A trust list's ``next_anchors`` introduce the keys that will
  sign later lists. A list signed by a next anchor is accepted only while the held
  list, signed by a current anchor, introduces it; once accepted, the next anchors are
  the current ones and the old anchor signs nothing the state accepts.
* **Audit logs.** :meth:`VerifierState.inspect_log` checks a log for consistency with
  the newest checkpoint held for its origin, and holds the log's newest verified
  checkpoint afterwards: a log rolled back or forked behind it is
  ``audit.truncated`` or ``audit.inconsistent``.
* **Clock.** The state records the newest ``issued_at`` of every list it accepted.
  :meth:`VerifierState.check_clock` fails (``clock.behind``) when the device clock is
  more than :data:`CLOCK_TOLERANCE` earlier than that: validity and freshness cannot
  be judged with a clock set back. A list signed more than :data:`CLOCK_TOLERANCE`
  after the device's clock is refused with :class:`~govkit.errors.ClockBehind`, so one
  list dated in the future cannot make every later check fail.

Layout of the directory (mode 0700)::

    state.json          the index: anchors, what is held, sequences, digests, times
    lists/<sha256>.json each held list, as received, named by the SHA-256 of its bytes
    replay.db           the presentations' replay store
    lock                taken with flock: shared to read, exclusive to write

Every write is a temporary file made durable (``fsync``) and then renamed into place
(``os.replace``): list files first, the index last, so a crash leaves the state as it
was or as it is after the update, never between. Writers hold the exclusive lock and
re-read the index under it, so two processes updating at once both move forward, never
one over the other; readers hold the shared lock while they load, and
:meth:`VerifierState.reading` holds it while a verification reads the held status lists.
Nothing read from disk is trusted for being there: the held trust list is verified
against the anchors, each held file against its digest, whenever they are loaded.

Time is passed in (``now=``): the state reads no clock.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import requests

from govkit._encoding import b64url_encode, canonical_json
from govkit._http import FetchError, check_url, fetch
from govkit._json import loads_object
from govkit.audit import (
    AuditLog,
    AuditStore,
    Checkpoint,
    LogReport,
    NoteVerifier,
    inspect_log,
    verify_checkpoint,
    verify_checkpoint_consistency,
)
from govkit.certificates._envelope import format_time, loads_strict, parse_time
from govkit.certificates._sources import _FetchFailed
from govkit.certificates._status import (
    STATUS_LIST_MAX_BYTES,
    SignedStatusList,
    StatusListSource,
    load_status_list,
)
from govkit.certificates._trust import (
    TRUST_LIST_MAX_BYTES,
    TrustedIssuer,
    TrustList,
    _open_trust_list,
    compact_form,
    from_compact_form,
)
from govkit.certificates._verifier import CertificateVerifier
from govkit.clock import Clock, require_aware
from govkit.errors import (
    CertificateVerificationError,
    ClockBehind,
    ConfigurationError,
    GovkitError,
    InconsistentLog,
    StatusListInvalid,
    TrustListEquivocation,
    TrustListError,
    TrustListRollback,
    TrustListVersionUnsupported,
    VerificationError,
    VerifierAnchorConflict,
    VerifierStateError,
    VerifierStateLocked,
)
from govkit.keys import VerifyingKey
from govkit.report import Check, Report
from govkit.stores import SQLiteReplayStore

if sys.platform == "win32":  # pragma: no cover - govkit's verifier state needs flock
    fcntl: Any = None
else:
    import fcntl

__all__ = [
    "CLOCK_TOLERANCE",
    "STATE_TYPE",
    "SYNC_WORKERS",
    "ClockCheckedReport",
    "ListUpdate",
    "SyncResult",
    "VerifierState",
]

#: The type marker of a state index (``state.json``).
STATE_TYPE: Final = "govkit.verifier-state/v1"
#: How far the device clock may be behind the newest signed time seen (clock skew
#: between signers and devices) before :meth:`VerifierState.check_clock` fails, and how
#: far ahead of the device clock a list may be signed before it is refused.
CLOCK_TOLERANCE: Final = timedelta(minutes=5)
#: The most status lists :meth:`VerifierState.sync` fetches at once.
SYNC_WORKERS: Final = 8

_INDEX: Final = "state.json"
_LISTS: Final = "lists"
#: The held trust list, verified, in its compact form (:func:`_trust.compact_form`):
#: a first line naming the form, a line of JSON binding it to the held list (its file,
#: the digest of its signed part, the anchors) and giving the digest of the form, then
#: the form. Read instead of verifying the list again; any mismatch, and it is rebuilt.
_TRUST_CACHE: Final = "trust-list.cache"
_TRUST_CACHE_MAGIC: Final = b"govkit.verifier-state.trust-cache/v1"
_REPLAY: Final = "replay.db"
_LOCK: Final = "lock"
_INDEX_MAX_BYTES: Final = 512 * 1024 * 1024
_LOG_NOTE_MAX: Final = 64 * 1024
_ACCEPT: Final = ("application/json",)
#: Kept for a status list refused or not fetched: the old list stays, marked stale.
_STALE_KEPT = "the list held before is kept"


# -- results -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListUpdate:
    """What an import or a sync did with one list.

    Attributes:
        kind: ``trust`` or ``status``.
        outcome: ``installed`` (nothing was held), ``updated`` (a newer list
            replaced the held one), ``unchanged`` (the held list again),
            ``not_modified`` (the server said so: HTTP 304), or ``failed`` (the list
            could not be fetched or was refused; the held list, if any, is kept and
            marked stale).
        sequence: the sequence held now (``None`` when nothing is held).
        previous: the sequence held before (``None`` when nothing was).
        uscc: the issuer, for a status list.
        source: the URL or file it came from.
        reason: for ``failed``, why: a fetch reason (``http_status``, ``timeout``,
            ``network``, ``too_large``, ``content_type`` ...) or an error code
            (``trust.rollback``, ``status.invalid`` ...).
        message: for ``failed``, a line for people.
    """

    kind: str
    outcome: str
    sequence: int | None
    previous: int | None
    uscc: str | None = None
    source: str | None = None
    reason: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the list was not ``failed``."""
        return self.outcome != "failed"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: every attribute."""
        return {
            "kind": self.kind,
            "outcome": self.outcome,
            "sequence": self.sequence,
            "previous": self.previous,
            "uscc": self.uscc,
            "source": self.source,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What :meth:`VerifierState.sync` did: the trust list, then each issuer's status list.

    Attributes:
        trust: the trust list's update.
        status: one update per issuer that names a ``status_url``, in list order.
        without_status_url: how many issuers name no ``status_url`` (nothing fetched).
    """

    trust: ListUpdate
    status: tuple[ListUpdate, ...]
    without_status_url: int

    @property
    def ok(self) -> bool:
        """Whether every list was fetched (or not modified) and accepted."""
        return self.trust.ok and all(update.ok for update in self.status)

    @property
    def failed(self) -> tuple[ListUpdate, ...]:
        """The updates that failed (their held lists are kept and marked stale)."""
        return tuple(u for u in (self.trust, *self.status) if not u.ok)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``ok``, ``trust``, ``status``, ``without_status_url``."""
        return {
            "ok": self.ok,
            "trust": self.trust.to_dict(),
            "status": [u.to_dict() for u in self.status],
            "without_status_url": self.without_status_url,
        }


@dataclass(frozen=True)
class ClockCheckedReport(Report):
    """A report with the verifier state's ``clock`` check appended.

    ``kind``, the members after the common head and the summary are the inner
    report's; the verdict is computed over every check, the clock's included. When the
    clock check fails, ``certificate`` and ``presentation`` are ``null`` (nothing is
    vouched for in an invalid report).

    Attributes:
        inner: the report of the verification.
        clock: the :meth:`VerifierState.check_clock` check.
    """

    inner: Report
    clock: Check

    @property
    def kind(self) -> str:  # type: ignore[override]
        """The inner report's kind."""
        return self.inner.kind

    @property
    def checks(self) -> tuple[Check, ...]:  # type: ignore[override]
        """The inner report's checks, then ``clock``."""
        return (*self.inner.checks, self.clock)

    def json_members(self) -> dict[str, Any]:
        """The inner report's members (what it vouches for only when valid)."""
        found = self.inner.json_members()
        if self.clock.ok is False:
            found = {k: None if k in _VOUCHED else v for k, v in found.items()}
        return found

    def summary(self) -> tuple[str, ...]:
        """The inner report's summary, when the clock check did not fail."""
        return self.inner.summary() if self.clock.ok is not False else ()

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang``."""
        return self.inner.summary_in(lang) if self.clock.ok is not False else ()


#: Report members that say what a valid report vouches for.
_VOUCHED: Final = frozenset({"certificate", "presentation"})


# -- the view of a state ---------------------------------------------------------------


@dataclass
class _View:
    """The index and the verified trust list, as read under one lock."""

    index: dict[str, Any]
    anchors: tuple[VerifyingKey, ...]
    trust: TrustList | None
    _issuers: dict[str, TrustedIssuer] | None = None

    @property
    def pending(self) -> tuple[VerifyingKey, ...]:
        """The anchors the held list introduces (a list they sign may come next)."""
        return self.trust.next_anchors if self.trust is not None else ()

    def issuer(self, uscc: str) -> TrustedIssuer | None:
        """The issuer with this USCC on the held trust list (a dictionary look-up)."""
        if self.trust is None:
            return None
        if self._issuers is None:
            self._issuers = {i.agency.uscc: i for i in self.trust.issuers}
        return self._issuers.get(uscc)


def _empty_index() -> dict[str, Any]:
    return {
        "type": STATE_TYPE,
        "anchors": [],
        "trust": None,
        "status": {},
        "logs": {},
        "newest_signed_time": None,
    }


def _current_keys(issuer: TrustedIssuer) -> list[VerifyingKey]:
    return [k.key for k in issuer.keys if not k.withdrawn]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_name(data: bytes) -> str:
    return f"{_LISTS}/{_sha256(data)}.json"


def _failure(reason: str, message: str, now: datetime) -> dict[str, str]:
    return {"reason": reason, "message": message, "at": format_time(now)}


def _reason(error: GovkitError) -> str:
    return error.code


class VerifierState:
    """A verifier's trusted state in a directory: anchors, lists, checkpoints, replays.

    Args:
        path: the state directory (created, mode 0700, on the first write; a state
            that was never written reads as empty).
        lock_timeout: seconds to wait for another process's lock before
            :class:`~govkit.errors.VerifierStateLocked`.

    Reading never writes: a state on read-only media can verify licences (not
    presentations, whose replay store must be written). Every method that changes the
    state takes ``now`` (the device's time) and reads no clock.

    Raises:
        ConfigurationError: ``lock_timeout`` is not a positive number, or this
            platform has no ``flock``.
    """

    def __init__(self, path: str | Path, *, lock_timeout: float = 30.0) -> None:
        if fcntl is None:  # pragma: no cover
            raise ConfigurationError("the verifier state needs flock (POSIX)")
        if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)):
            raise ConfigurationError("lock_timeout must be a number of seconds")
        if not 0 < lock_timeout <= 3600:
            raise ConfigurationError("lock_timeout must be between 0 and 3600 seconds")
        self._path = Path(path)
        self._lock_timeout = float(lock_timeout)
        self._cache: tuple[str, TrustList] | None = None
        self._cache_lock = threading.Lock()
        self._replay: SQLiteReplayStore | None = None

    def __repr__(self) -> str:
        return f"VerifierState({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The state directory."""
        return self._path

    @property
    def replay_path(self) -> Path:
        """The presentations' replay store (``replay.db`` in the directory)."""
        return self._path / _REPLAY

    # -- reading ---------------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the shared lock: no writer replaces or removes a held file meanwhile.

        Hold it while a verifier from :meth:`verifier` runs, if another process may
        sync at the same time (the held status lists are read when first needed).
        Do not call a method that writes the state inside it (that waits for this lock).
        """
        with self._locked(exclusive=False):
            yield

    def anchors(self) -> tuple[VerifyingKey, ...]:
        """The current trust anchors (none for a new state)."""
        with self._locked(exclusive=False):
            return self._anchors(self._read_index())

    def trust_list(self) -> TrustList | None:
        """The held trust list, verified against the anchors, or ``None``.

        Raises:
            VerifierStateError: the state is damaged (``reason`` in the context).
        """
        with self._locked(exclusive=False):
            return self._view().trust

    def newest_signed_time(self) -> datetime | None:
        """The newest ``issued_at`` of every list the state accepted, or ``None``."""
        with self._locked(exclusive=False):
            value = self._read_index()["newest_signed_time"]
        return None if value is None else parse_time(value, VerifierStateError, "time")

    def held_checkpoint(self, origin: str) -> str | None:
        """The newest verified checkpoint held for the audit log ``origin``, or ``None``."""
        with self._locked(exclusive=False):
            entry = self._read_index()["logs"].get(origin)
        return None if entry is None else str(entry["checkpoint"])

    def check_clock(self, now: datetime) -> Check:
        """The ``clock`` check: ``now`` (the device clock) is not behind what was seen.

        Passed when ``now`` is no more than :data:`CLOCK_TOLERANCE` earlier than
        :meth:`newest_signed_time`; failed with ``clock.behind`` otherwise (validity
        and freshness cannot be judged with a clock set back); not performed when the
        state has seen no signed time yet.
        """
        now = require_aware(now, "now")
        newest = self.newest_signed_time()
        if newest is None:
            return Check.described("clock", None, "clock.nothing_held")
        if now + CLOCK_TOLERANCE < newest:
            return Check.failed(
                "clock",
                ClockBehind.code,
                f"the device clock ({format_time(now)}) is behind the newest signed time "
                f"this device has seen ({format_time(newest)}): validity and freshness "
                "cannot be judged; set the clock",
            )
        return Check.described("clock", True, "clock.not_behind", newest=format_time(newest))

    def with_clock_check(self, report: Report, now: datetime) -> Report:
        """``report`` with :meth:`check_clock` at ``now`` appended to its checks.

        The result has the report's ``kind``, members and summary; when the clock
        check fails it is not valid (``clock.behind``), and the verified licence or
        presentation is left out of its members (``null``), as in any invalid report.
        """
        return ClockCheckedReport(report, self.check_clock(now))

    def verifier(
        self,
        *,
        replay: bool = True,
        allow_stale: bool = False,
        unsafe_skip_status: bool = False,
        clock: Clock | None = None,
        max_stale: timedelta = timedelta(days=7),
    ) -> CertificateVerifier:
        """A :class:`~govkit.certificates.CertificateVerifier` over what the state holds.

        The held trust list; the held status list of each issuer still on it (read
        from disk, checked against its digest and the issuer's current keys, when a
        licence of that issuer is first checked); with ``replay`` (the default), the
        state's replay store, so a presentation accepted once is refused everywhere
        the directory is shared. ``allow_stale`` and ``unsafe_skip_status`` are the
        verifier's (``allow_stale_trust``); a status list more than ``max_stale``
        past its expiry is ``certificate.status_stale`` even with ``allow_stale``.

        Raises:
            ConfigurationError: the state holds no trust list.
            VerifierStateError: the state is damaged.
        """
        with self._locked(exclusive=False):
            view = self._view()
        if view.trust is None:
            raise ConfigurationError(
                f"the verifier state at {self._path} holds no trust list (sync or import one)"
            )
        sources: list[StatusListSource] = []
        if not unsafe_skip_status:
            for uscc, entry in view.index["status"].items():
                issuer = view.issuer(uscc)
                keys = _current_keys(issuer) if issuer is not None else []
                if keys:
                    sources.append(
                        _HeldStatusSource(
                            self._path / entry["file"],
                            keys,
                            digest=Path(entry["file"]).stem,
                            list_id=entry["list_id"],
                            min_sequence=entry["sequence"],
                            max_stale=max_stale,
                        )
                    )
        return CertificateVerifier(
            view.trust,
            status=sources or None,
            clock=clock,
            allow_stale_trust=allow_stale,
            unsafe_skip_status=unsafe_skip_status,
            replay_store=self.replay_store() if replay else None,
        )

    def replay_store(self) -> SQLiteReplayStore:
        """The presentations' replay store (opened, and created if missing, once).

        Raises:
            StoreError: the database cannot be opened or created.
        """
        if self._replay is None:
            self._path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._replay = SQLiteReplayStore(self.replay_path)
        return self._replay

    def close(self) -> None:
        """Close the replay store if it was opened."""
        if self._replay is not None:
            self._replay.close()
            self._replay = None

    def __enter__(self) -> VerifierState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- updating from files ------------------------------------------------------------

    def import_lists(
        self,
        trust: bytes | None = None,
        status: Sequence[bytes] = (),
        *,
        now: datetime,
        anchors: Sequence[VerifyingKey] = (),
        trust_source: str | None = None,
        status_sources: Sequence[str | None] = (),
    ) -> tuple[ListUpdate, ...]:
        """Offer a trust list and status lists (signed documents, as bytes); all or nothing.

        The trust list is checked first (a newer one is installed before the status
        lists are checked against it). A status list belongs to the issuer whose
        current key signed it. Every list is verified and checked against what is
        held; if any is refused nothing changes.

        ``anchors`` start a new state (required then) and are otherwise checked: each
        must be a current anchor of the state or one the held list introduces.
        ``trust_source`` and ``status_sources`` (file names or URLs) are recorded for
        :meth:`summary`.

        Returns:
            One :class:`ListUpdate` per list given (none ``failed``).

        Raises:
            TrustListInvalid, StatusListInvalid: a list does not verify.
            TrustListVersionUnsupported: the trust list has a newer major version.
            TrustListRollback: a list is older than the one held (``trust.rollback``).
            TrustListEquivocation: a different list has the sequence held.
            ClockBehind: a list is signed later than ``now`` (plus the tolerance).
            VerifierAnchorConflict: ``anchors`` are not the state's.
            ConfigurationError: a new state without ``anchors``, or status lists
                without any trust list.
            VerifierStateError: the state cannot be read or written.
        """
        now = require_aware(now, "now")
        anchors = _key_tuple(anchors)
        names = list(status_sources) + [None] * (len(status) - len(status_sources))
        with self._locked(exclusive=True):
            view = self._view()
            index = copy.deepcopy(view.index)
            files: dict[str, bytes] = {}
            updates: list[ListUpdate] = []
            new_trust: _View | None = None
            if trust is not None:
                view, update = _offer_trust(
                    view, index, files, trust, anchors=anchors, now=now, source=trust_source
                )
                updates.append(update)
                new_trust = view if update.outcome in ("installed", "updated") else None
            elif anchors:
                _check_given_anchors(view, anchors)
            if status and view.trust is None:
                raise ConfigurationError("a status list needs a trust list: import one first")
            kids = _issuers_by_kid(view.trust) if status and view.trust is not None else {}
            for data, source in zip(status, names, strict=True):
                issuer = _signing_issuer(data, kids)
                parsed, digest = _verify_status(data, issuer, now)
                updates.append(
                    _apply_status(
                        index,
                        files,
                        issuer,
                        data,
                        parsed=parsed,
                        digest=digest,
                        now=now,
                        source=source,
                    )
                )
            if files or index != view.index:
                self._commit(index, files)
            if new_trust is not None:
                self._keep_verified(new_trust)
        return tuple(updates)

    # -- updating from the network -----------------------------------------------------------

    def sync(
        self,
        trust_url: str,
        *,
        now: datetime,
        anchors: Sequence[VerifyingKey] = (),
        session_factory: Callable[[], requests.Session] = requests.Session,
        timeout: float = 60.0,
        workers: int = SYNC_WORKERS,
    ) -> SyncResult:
        """Fetch the trust list from ``trust_url``, then each issuer's status list.

        Each request is conditional (``If-None-Match`` / ``If-Modified-Since`` from the
        last fetch of that URL), so an unchanged list costs a ``304``. Status lists are
        fetched from the ``status_url`` the trust list names, at most ``workers`` at
        once, each verified with its issuer's current keys and checked against the
        held one. A status list that fails (network, HTTP, size, signature, rollback)
        does not stop the others: its held list is kept and marked stale, and the
        result says why. The network is used without holding the state's lock; what
        was fetched is then committed under it, checked again against the state as
        it is by then.

        ``anchors`` start a new state (required then); see :meth:`import_lists`.

        Raises:
            TrustListError: the trust list could not be fetched or was refused and the
                state holds none (nothing to fetch status lists for).
            VerifierAnchorConflict, ConfigurationError: as for :meth:`import_lists`.
            VerifierStateError: the state cannot be read or written.
        """
        now = require_aware(now, "now")
        anchors = _key_tuple(anchors)
        check_url(trust_url, "trust list")
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
            raise ConfigurationError("workers must be from 1 to 64")
        with self._locked(exclusive=False):
            before = self._view()
        if anchors:
            _check_given_anchors(before, anchors)
        elif not before.anchors:
            raise ConfigurationError("a new verifier state needs its trust anchors")
        held = before.index["trust"]
        conditional = held if held is not None and held.get("source") == trust_url else None
        trust_update = self._sync_trust(
            trust_url,
            conditional,
            anchors=anchors,
            now=now,
            session_factory=session_factory,
            timeout=timeout,
        )
        with self._locked(exclusive=False):
            view = self._view()
        if view.trust is None:
            raise TrustListError(
                f"trust list unavailable: {trust_update.message}",
                reason=trust_update.reason,
                location=trust_url,
            )
        jobs = [(i, i.status_url) for i in view.trust.issuers if i.status_url is not None]
        without = len(view.trust.issuers) - len(jobs)
        fetched = self._fetch_status(
            view, jobs, session_factory=session_factory, timeout=timeout, workers=workers, now=now
        )
        status_updates = self._commit_status(view, fetched, now)
        return SyncResult(trust_update, status_updates, without)

    def _sync_trust(
        self,
        url: str,
        held: dict[str, Any] | None,
        *,
        anchors: tuple[VerifyingKey, ...],
        now: datetime,
        session_factory: Callable[[], requests.Session],
        timeout: float,
    ) -> ListUpdate:
        previous = None if held is None else int(held["sequence"])
        session = session_factory()
        try:
            result = fetch(
                session,
                url,
                accept=_ACCEPT,
                timeout=timeout,
                max_bytes=TRUST_LIST_MAX_BYTES,
                etag=None if held is None else held.get("etag"),
                last_modified=None if held is None else held.get("last_modified"),
                what="trust list",
            )
        except FetchError as exc:
            return self._trust_failed(url, exc.reason, exc.message, now, previous)
        finally:
            session.close()
        with self._locked(exclusive=True):
            view = self._view()
            index = copy.deepcopy(view.index)
            files: dict[str, bytes] = {}
            entry = index["trust"]
            if result.not_modified:
                if entry is None or entry.get("source") != url:
                    return self._trust_failed(
                        url, "http_status", "a 304 for a list this state does not hold", now,
                        previous, locked=(index, files),
                    )  # fmt: skip
                entry.update(checked_at=format_time(now), failure=None)
                self._commit(index, files)
                return ListUpdate("trust", "not_modified", entry["sequence"], previous, source=url)
            try:
                offered, update = _offer_trust(
                    view,
                    index,
                    files,
                    result.body,
                    anchors=anchors,
                    now=now,
                    source=url,
                    etag=result.etag,
                    last_modified=result.last_modified,
                )
            except (VerifierAnchorConflict, ConfigurationError):
                raise
            except (CertificateVerificationError, TrustListVersionUnsupported, ClockBehind) as exc:
                return self._trust_failed(
                    url, _reason(exc), exc.message, now, previous, locked=(index, files)
                )
            self._commit(index, files)
            if update.outcome in ("installed", "updated"):
                self._keep_verified(offered)
            return update

    def _trust_failed(
        self,
        url: str,
        reason: str,
        message: str,
        now: datetime,
        previous: int | None,
        *,
        locked: tuple[dict[str, Any], dict[str, bytes]] | None = None,
    ) -> ListUpdate:
        """Record that the trust list failed (the held one is kept, marked stale)."""

        def mark(index: dict[str, Any], files: dict[str, bytes]) -> None:
            if index["trust"] is not None:
                index["trust"]["failure"] = _failure(reason, message, now)
                self._commit(index, files)

        if locked is not None:
            mark(*locked)
        else:
            with self._locked(exclusive=True):
                view = self._view()
                mark(copy.deepcopy(view.index), {})
        return ListUpdate("trust", "failed", previous, previous, None, url, reason, message)

    def _fetch_status(
        self,
        view: _View,
        jobs: list[tuple[TrustedIssuer, str]],
        *,
        session_factory: Callable[[], requests.Session],
        timeout: float,
        workers: int,
        now: datetime,
    ) -> list[_Fetched]:
        local = threading.local()
        sessions: list[requests.Session] = []
        guard = threading.Lock()

        def session() -> requests.Session:
            found: requests.Session | None = getattr(local, "session", None)
            if found is None:
                found = session_factory()
                local.session = found
                with guard:
                    sessions.append(found)
            return found

        def one(job: tuple[TrustedIssuer, str]) -> _Fetched:
            issuer, url = job
            uscc = issuer.agency.uscc
            held = view.index["status"].get(uscc)
            same = held is not None and held.get("source") == url
            try:
                result = fetch(
                    session(),
                    url,
                    accept=_ACCEPT,
                    timeout=timeout,
                    max_bytes=STATUS_LIST_MAX_BYTES,
                    etag=held.get("etag") if same and held is not None else None,
                    last_modified=held.get("last_modified") if same and held else None,
                    what="status list",
                )
            except FetchError as exc:
                return _Fetched(uscc, url, None, None, None, None, exc.reason, exc.message)
            if result.not_modified:
                return _Fetched(uscc, url, None, None, None, None, None, None, not_modified=True)
            try:
                parsed, digest = _verify_status(result.body, issuer, now)
            except (CertificateVerificationError, ClockBehind) as exc:
                return _Fetched(uscc, url, None, None, None, None, _reason(exc), exc.message)
            return _Fetched(
                uscc, url, result.body, parsed, digest, (result.etag, result.last_modified)
            )

        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="govkit-sync") as pool:
                return list(pool.map(one, jobs))
        finally:
            for opened in sessions:
                opened.close()

    def _commit_status(
        self, fetched_under: _View, fetched: list[_Fetched], now: datetime
    ) -> tuple[ListUpdate, ...]:
        """Apply what the workers fetched, under the lock, to the state as it is now."""
        updates: list[ListUpdate] = []
        with self._locked(exclusive=True):
            view = self._view()
            index = copy.deepcopy(view.index)
            files: dict[str, bytes] = {}
            same_trust = (view.index["trust"] or {}).get("digest") == (
                fetched_under.index["trust"] or {}
            ).get("digest")
            for item in fetched:
                update = _apply_fetched(view, index, files, item, now, reverify=not same_trust)
                if not update.ok:
                    held = index["status"].get(item.uscc)
                    if held is not None:
                        held["failure"] = _failure(update.reason or "", update.message or "", now)
                        update = replace(update, message=f"{update.message}; {_STALE_KEPT}")
                updates.append(update)
            if files or index != view.index:
                self._commit(index, files)
        return tuple(updates)

    # -- audit logs ------------------------------------------------------------------------

    def inspect_log(
        self,
        store: AuditStore,
        *,
        verifiers: Sequence[NoteVerifier],
        now: datetime,
        checkpoint: str | None = None,
        deep: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> LogReport:
        """:func:`govkit.audit.inspect_log`, held to the newest checkpoint this state holds.

        The log must be consistent with the checkpoint held for its origin and with
        ``checkpoint`` (one saved elsewhere), if given: the larger is checked by
        :func:`~govkit.audit.inspect_log` (``consistency``), the other by a
        consistency proof between the two. A log that holds fewer entries than the
        held checkpoint (rolled back) is ``audit.truncated``; one that does not extend
        it (forked) ``audit.inconsistent``. When the log verifies, its newest verified
        checkpoint (stored in the log, or ``checkpoint``) is held for next time.

        Raises:
            AuditStoreError: the store cannot be read (not a verdict).
            VerifierStateError: the state cannot be read or written.
        """
        now = require_aware(now, "now")
        origin = store.origin()
        held = self.held_checkpoint(origin) if origin is not None else None
        notes = [(note, "given") for note in (checkpoint,) if note is not None]
        notes += [(note, "held") for note in (held,) if note is not None and note != checkpoint]
        parsed: list[tuple[Checkpoint, str, str]] = []
        for note, label in notes:
            try:
                parsed.append((_unverified(note), note, label))
            except VerificationError as exc:
                return LogReport(store.url, 0, (Check.from_error("consistency", exc),))
        parsed.sort(key=lambda item: item[0].size, reverse=True)
        report = inspect_log(
            store,
            verifiers=verifiers,
            checkpoint=parsed[0][1] if parsed else None,
            deep=deep,
            progress=progress,
        )
        if not report.valid or origin is None:
            return report
        if len(parsed) == 2:
            report = _second_checkpoint(store, origin, report, parsed, verifiers)
            if not report.valid:
                return report
        elif parsed and parsed[0][2] == "held":
            report = _say_held(report)
        sizes = [(size, note) for size, note in store.checkpoints()]
        sizes += [(cp.size, note) for cp, note, _ in parsed]
        if sizes:
            size, note = max(sizes, key=lambda pair: pair[0])
            self._hold_checkpoint(origin, note, size, now)
        return report

    def _hold_checkpoint(self, origin: str, note: str, size: int, now: datetime) -> None:
        if len(note) > _LOG_NOTE_MAX:
            return
        with self._locked(exclusive=True):
            index = copy.deepcopy(self._read_index())
            held = index["logs"].get(origin)
            if held is not None and int(held["size"]) >= size:
                return
            index["logs"][origin] = {"size": size, "checkpoint": note, "held_at": format_time(now)}
            self._commit(index, {})

    # -- what is held ------------------------------------------------------------------------

    def purge(self, *, now: datetime) -> int:
        """Delete what the state no longer needs at ``now``; return how many entries and files.

        Deleted:

        * the presentations' replay entries expired at ``now`` (in ``replay.db``, when
          it exists; none is created);
        * list files the index no longer holds: superseded lists (an update keeps the
          previous index's files one update longer, for a reader that read it just
          before) and files an interrupted update left behind (lists never indexed,
          temporary files). The exclusive lock is taken first, so a reader inside
          :meth:`reading` is waited for.

        Kept, because rollback and equivocation detection and the clock check compare
        what arrives with them: the anchors, the held trust list and each issuer's held
        status list with its sequence and digest (also for an issuer no longer on the
        trust list, so a list it signed earlier cannot come back if it returns), the
        newest checkpoint of each audit log, and the newest signed time. All of them
        are one entry per list or log, replaced, never accumulated.

        Raises:
            VerifierStateError: the state is damaged or its files cannot be used.
            VerifierStateLocked: another process held the lock too long.
            StoreError: the replay store failed.
        """
        when = require_aware(now, "now")
        if not self._path.is_dir():
            return 0
        removed = 0
        with self._locked(exclusive=True):
            held = _held_files(self._read_index())
            lists = self._path / _LISTS
            try:
                leftovers = list(self._path.glob(".*.tmp"))
                if lists.is_dir():
                    leftovers += [p for p in lists.glob(".*.tmp") if p.is_file()]
                    leftovers += [
                        p
                        for p in lists.glob("*.json")
                        if p.is_file() and f"{_LISTS}/{p.name}" not in held
                    ]
                for path in leftovers:
                    path.unlink(missing_ok=True)
                    removed += 1
                if leftovers:
                    _sync_dir(lists if lists.is_dir() else self._path)
            except OSError as exc:
                raise self._io_error("files", exc) from None
        if self.replay_path.is_file():
            removed += self.replay_store().purge(now=when)
        return removed

    def summary(self, now: datetime) -> dict[str, Any]:
        """What the state holds, for people and scripts (``govkit verifier status``).

        ``trust`` and each of ``status`` say the sequence, the times, the age
        (seconds since ``issued_at``), whether the list is ``expired`` (past
        ``expires_at``) and ``stale`` (expired, or its last refresh failed:
        ``failure`` says why); ``logs`` the checkpoints held; ``clock`` the
        :meth:`check_clock` check at ``now``.
        """
        now = require_aware(now, "now")
        with self._locked(exclusive=False):
            view = self._view()
        index = view.index
        result: dict[str, Any] = {
            "path": str(self._path),
            "anchors": [k.kid for k in view.anchors],
            "next_anchors": [k.kid for k in view.pending],
            "trust": None,
            "status": [],
            "issuers": 0,
            "issuers_without_status_list": 0,
            "logs": [
                {"origin": origin, "size": entry["size"], "held_at": entry["held_at"]}
                for origin, entry in sorted(index["logs"].items())
            ],
            "newest_signed_time": index["newest_signed_time"],
            "replay_store": str(self.replay_path) if self.replay_path.exists() else None,
        }
        if index["trust"] is not None:
            result["trust"] = _describe(index["trust"], now)
        names = {}
        if view.trust is not None:
            names = {i.agency.uscc: i.agency.name for i in view.trust.issuers}
            result["issuers"] = len(names)
            result["issuers_without_status_list"] = len(names.keys() - index["status"].keys())
        for uscc, entry in sorted(index["status"].items()):
            described = _describe(entry, now)
            described.update(uscc=uscc, name=names.get(uscc), list_id=entry["list_id"])
            described["on_trust_list"] = uscc in names
            result["status"].append(described)
        clock = self.check_clock(now)
        result["clock"] = {"ok": clock.ok, "code": clock.code, "detail": clock.detail}
        return result

    # -- internals ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """flock on ``lock``: shared to read, exclusive to write (waits, then locked)."""
        lock = self._path / _LOCK
        try:
            if exclusive:
                self._path.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            elif lock.exists():
                try:
                    fd = os.open(lock, os.O_RDWR)
                except OSError:  # read-only media: nobody can write there either
                    fd = os.open(lock, os.O_RDONLY)
            else:  # never written (or no lock file): nothing to wait for
                yield
                return
        except OSError as exc:
            raise self._io_error("lock", exc) from None
        try:
            deadline = time.monotonic() + self._lock_timeout
            operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            while True:
                try:
                    fcntl.flock(fd, operation | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise VerifierStateLocked(
                            "another process holds the verifier state's lock",
                            path=str(self._path),
                        ) from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)

    def _io_error(self, what: str, exc: OSError) -> VerifierStateError:
        return VerifierStateError(
            f"the verifier state's {what} cannot be used ({exc.strerror or type(exc).__name__})",
            reason="io",
            path=str(self._path),
        )

    def _damaged(self, message: str) -> VerifierStateError:
        return VerifierStateError(
            f"the verifier state is damaged: {message}", reason="damaged", path=str(self._path)
        )

    def _read_index(self) -> dict[str, Any]:
        path = self._path / _INDEX
        try:
            with path.open("rb") as handle:
                data = handle.read(_INDEX_MAX_BYTES + 1)
        except FileNotFoundError:
            return _empty_index()
        except OSError as exc:
            raise self._io_error("index", exc) from None
        try:
            index = loads_object(
                data, what="the state index", error=ValueError, max_bytes=_INDEX_MAX_BYTES
            )
            _check_index(index)
        except (ValueError, TypeError, KeyError, GovkitError):
            raise self._damaged(f"{_INDEX} is not a verifier state index") from None
        return index

    def _anchors(self, index: dict[str, Any]) -> tuple[VerifyingKey, ...]:
        try:
            return tuple(VerifyingKey.from_jwk(jwk) for jwk in index["anchors"])
        except GovkitError:
            raise self._damaged("an anchor is not a public key") from None

    def _view(self) -> _View:
        """The index and the held trust list, verified (the caller holds a lock)."""
        index = self._read_index()
        anchors = self._anchors(index)
        entry = index["trust"]
        if entry is None:
            return _View(index, anchors, None)
        if not anchors:
            raise self._damaged("a trust list is held without anchors")
        name = entry["file"]
        with self._cache_lock:
            cached = self._cache
        if cached is not None and cached[0] == entry["digest"] + name:
            return _View(index, anchors, cached[1])
        # the held file is read and checked against its digest on every run (a file
        # swapped or cut short on disk is damage, cache or not); only its verification
        # is kept in the compact form
        data = self._read_list(name, TRUST_LIST_MAX_BYTES)
        trust = self._read_trust_cache(entry, anchors)
        if trust is not None:
            with self._cache_lock:
                self._cache = (entry["digest"] + name, trust)
            return _View(index, anchors, trust)
        try:
            trust, _, signed = _open_trust_list(
                data, anchors, at=parse_time(entry["issued_at"], VerifierStateError, "issued_at"),
                clock=None, allow_stale=True, max_bytes=TRUST_LIST_MAX_BYTES,
            )  # fmt: skip
        except GovkitError:
            raise self._damaged("the held trust list does not verify with the anchors") from None
        if _sha256(signed) != entry["digest"] or trust.sequence != entry["sequence"]:
            raise self._damaged("the held trust list is not the one recorded")
        with self._cache_lock:
            self._cache = (entry["digest"] + name, trust)
        self._write_trust_cache(entry, anchors, trust)
        return _View(index, anchors, trust)

    def _keep_verified(self, view: _View) -> None:
        """After a commit: keep the trust list just verified and installed (``view``'s),
        in memory and in its compact form, so that no verify run checks it again."""
        entry = view.index["trust"]
        if entry is None or view.trust is None or view.trust.sequence != entry["sequence"]:
            return
        with self._cache_lock:
            self._cache = (entry["digest"] + entry["file"], view.trust)
        self._write_trust_cache(entry, view.anchors, view.trust)

    def _read_trust_cache(
        self, entry: dict[str, Any], anchors: tuple[VerifyingKey, ...]
    ) -> TrustList | None:
        """The held trust list from its compact form, or ``None`` when there is none, or
        it is damaged (truncated, changed) or made for another list or other anchors:
        the caller then verifies the list itself and writes the form again. The caller
        has just read the held list's file and checked it against its digest.

        The form was written from the list after it was verified, and is bound to the
        index's record of it (file, digest of the signed part, sequence, anchors) and to
        its own digest: it is as trustworthy as the index, which holds the anchors."""
        try:
            with (self._path / _TRUST_CACHE).open("rb") as handle:
                data = handle.read(2 * TRUST_LIST_MAX_BYTES + 1)
        except OSError:  # absent, or unreadable: verify the list itself
            return None
        try:
            magic, head, form = data.split(b"\n", 2)
            expected = _cache_binding(entry, anchors) | {"form": _sha256(form)}
            if magic != _TRUST_CACHE_MAGIC or loads_object(head) != expected:
                return None
            trust = from_compact_form(form)
        except (ValueError, TypeError, KeyError, IndexError, GovkitError):
            return None
        return trust if trust.sequence == entry["sequence"] else None

    def _write_trust_cache(
        self, entry: dict[str, Any], anchors: tuple[VerifyingKey, ...], trust: TrustList
    ) -> None:
        """Keep ``trust`` (verified, the list ``entry`` holds) in its compact form, so the
        next run need not verify it again. Best effort: a state on a read-only device
        verifies the list each time instead."""
        if not os.access(self._path, os.W_OK):
            return
        form = compact_form(trust)
        binding = _cache_binding(entry, anchors) | {"form": _sha256(form)}
        head = json.dumps(binding, sort_keys=True).encode("ascii")
        with contextlib.suppress(OSError):
            _write_atomic(self._path / _TRUST_CACHE, b"\n".join((_TRUST_CACHE_MAGIC, head, form)))

    def _read_list(self, name: str, limit: int) -> bytes:
        path = self._path / name
        try:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise self._damaged(f"{name} is missing") from None
        except OSError as exc:
            raise self._io_error(name, exc) from None
        if f"{_LISTS}/{_sha256(data)}.json" != name:
            raise self._damaged(f"{name} does not match its digest")
        return data

    def _commit(self, index: dict[str, Any], files: dict[str, bytes]) -> None:
        """Write new list files, then the index, then remove files no longer held.

        The caller holds the exclusive lock. Each file is a durable temporary file
        renamed into place; the directory is synced after the index is. Files the
        index before this one held are kept one update longer, for a reader that
        read that index just before (see :meth:`reading`).
        """
        index["newest_signed_time"] = _newest(index)
        before = _held_files(self._read_index())
        try:
            lists = self._path / _LISTS
            lists.mkdir(mode=0o700, parents=True, exist_ok=True)
            for name, data in files.items():
                target = self._path / name
                if not target.exists():
                    _write_atomic(target, data)
            _sync_dir(lists)
            text = json.dumps(index, indent=1, sort_keys=True, ensure_ascii=False)
            _write_atomic(self._path / _INDEX, text.encode("utf-8") + b"\n")
            _sync_dir(self._path)
            held = _held_files(index) | before
            for path in lists.glob("*.json"):
                if f"{_LISTS}/{path.name}" not in held:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            raise self._io_error("files", exc) from None


# -- offers (pure: they change ``index`` and ``files``, the caller commits) -------------------


def _cache_binding(entry: dict[str, Any], anchors: tuple[VerifyingKey, ...]) -> dict[str, Any]:
    """What the compact form of the held trust list is made for: the list's file, the
    digest of its signed part, its sequence and the anchors it was verified with."""
    return {
        "file": entry["file"],
        "digest": entry["digest"],
        "sequence": entry["sequence"],
        "anchors": sorted(f"{k.alg}:{k.kid}" for k in anchors),
    }


def _key_tuple(anchors: object) -> tuple[VerifyingKey, ...]:
    if isinstance(anchors, VerifyingKey):
        anchors = (anchors,)
    if not isinstance(anchors, Iterable) or isinstance(anchors, (str, bytes)):
        raise ConfigurationError("anchors must be a sequence of VerifyingKey")
    result = tuple(anchors)
    if not all(isinstance(k, VerifyingKey) for k in result):
        raise ConfigurationError("anchors must be a sequence of VerifyingKey")
    return result


def _check_given_anchors(view: _View, given: tuple[VerifyingKey, ...]) -> None:
    """Anchors given by the caller must be the state's (current, or introduced next)."""
    if not view.anchors:
        return
    known = set(view.anchors) | set(view.pending)
    strangers = [k for k in given if k not in known]
    if strangers:
        raise VerifierAnchorConflict(
            "the anchor given is not one this verifier state trusts (its anchors, or the "
            "next anchors its trust list introduces); use another state directory to "
            "trust other anchors",
            kid=strangers[0].kid,
        )


def _offer_trust(
    view: _View,
    index: dict[str, Any],
    files: dict[str, bytes],
    data: bytes,
    *,
    anchors: tuple[VerifyingKey, ...],
    now: datetime,
    source: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> tuple[_View, ListUpdate]:
    """Verify a trust list against the state and install it in ``index`` if newer."""
    if view.anchors:
        _check_given_anchors(view, anchors)
        keys = view.anchors + tuple(k for k in view.pending if k not in view.anchors)
    elif anchors:
        keys = anchors
    else:
        raise ConfigurationError("a new verifier state needs its trust anchors")
    trust, signer, signed = _open_trust_list(
        data, keys, at=now, clock=None, allow_stale=True, max_bytes=TRUST_LIST_MAX_BYTES
    )
    _not_in_future(trust.issued_at, now, "trust list")
    digest = _sha256(signed)
    held = index["trust"]
    previous = None if held is None else int(held["sequence"])
    stamps = {"checked_at": format_time(now), "failure": None}
    if etag is not None or last_modified is not None:
        stamps.update(etag=etag, last_modified=last_modified)
    if held is not None and previous is not None:
        if trust.sequence < previous:
            raise TrustListRollback(
                "the trust list is older than the one this device holds",
                sequence=trust.sequence,
                held=previous,
            )
        if trust.sequence == previous:
            if digest != held["digest"]:
                raise TrustListEquivocation(
                    "a different trust list has the sequence this device holds",
                    sequence=trust.sequence,
                )
            held.update(stamps, source=source or held.get("source"))
            return view, ListUpdate("trust", "unchanged", previous, previous, source=source)
    if not view.anchors:
        current = anchors
    elif signer in view.anchors:
        current = view.anchors
    else:  # signed by a next anchor the held list introduced: rotate
        current = view.pending
    files[_file_name(data)] = data
    index["anchors"] = [k.to_jwk() for k in current]
    index["trust"] = {
        "file": _file_name(data),
        "digest": digest,
        "sequence": trust.sequence,
        "issued_at": format_time(trust.issued_at),
        "expires_at": format_time(trust.expires_at),
        "signed_by": signer.kid,
        "next_anchors": [k.to_jwk() for k in trust.next_anchors],
        "source": source,
        "etag": etag,
        "last_modified": last_modified,
        "accepted_at": format_time(now),
        **stamps,
    }
    outcome = "installed" if held is None else "updated"
    return _View(index, current, trust), ListUpdate(
        "trust", outcome, trust.sequence, previous, source=source
    )


def _issuers_by_kid(trust: TrustList) -> dict[str, list[TrustedIssuer]]:
    """Each current issuer key's JWK thumbprint to the issuers holding it."""
    found: dict[str, list[TrustedIssuer]] = {}
    for issuer in trust.issuers:
        for key in _current_keys(issuer):
            found.setdefault(key.kid, []).append(issuer)
    return found


def _signing_issuer(data: bytes, kids: dict[str, list[TrustedIssuer]]) -> TrustedIssuer:
    """The issuer whose current key is named by the status list's signature."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > STATUS_LIST_MAX_BYTES:
        raise StatusListInvalid("a status list must be bytes within the size limit", reason="type")
    document = loads_strict(bytes(data), StatusListInvalid, "status list")
    signature = document.get("signature")
    kid = signature.get("kid") if isinstance(signature, dict) else None
    issuers = kids.get(kid) if isinstance(kid, str) else None
    if not issuers:
        raise StatusListInvalid(
            "the status list is not signed by a current key of an issuer on the trust list",
            reason="unknown_key",
        )
    return issuers[0]


def _verify_status(
    data: bytes, issuer: TrustedIssuer, now: datetime
) -> tuple[SignedStatusList, str]:
    """Verify a status list with the issuer's current keys; its digest (what is signed)."""
    keys = _current_keys(issuer)
    if not keys:
        raise StatusListInvalid("the issuer has no current key", reason="unknown_key")
    parsed = load_status_list(data, keys, at=now, allow_stale=True)
    _not_in_future(parsed.issued_at, now, "status list")
    canonical = canonical_json(
        [parsed.list_id, parsed.sequence, format_time(parsed.issued_at),
         format_time(parsed.expires_at), b64url_encode(parsed.bits)]
    )  # fmt: skip
    return parsed, _sha256(canonical)


def _apply_status(
    index: dict[str, Any],
    files: dict[str, bytes],
    issuer: TrustedIssuer,
    data: bytes,
    *,
    parsed: SignedStatusList,
    digest: str,
    now: datetime,
    source: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> ListUpdate:
    """Install an issuer's verified status list in ``index`` if newer than the held one."""
    uscc = issuer.agency.uscc
    held = index["status"].get(uscc)
    previous = None if held is None else int(held["sequence"])
    stamps: dict[str, Any] = {"checked_at": format_time(now), "failure": None}
    if etag is not None or last_modified is not None:
        stamps.update(etag=etag, last_modified=last_modified)
    if held is not None and previous is not None:
        if parsed.sequence < previous:
            raise TrustListRollback(
                "the status list is older than the one this device holds for its issuer",
                list="status",
                uscc=uscc,
                sequence=parsed.sequence,
                held=previous,
            )
        if parsed.sequence == previous:
            if digest != held["digest"]:
                raise TrustListEquivocation(
                    "a different status list has the sequence this device holds for its issuer",
                    list="status",
                    uscc=uscc,
                    sequence=parsed.sequence,
                )
            held.update(stamps, source=source or held.get("source"))
            return ListUpdate("status", "unchanged", previous, previous, uscc, source)
    files[_file_name(data)] = data
    index["status"][uscc] = {
        "file": _file_name(data),
        "digest": digest,
        "list_id": parsed.list_id,
        "sequence": parsed.sequence,
        "issued_at": format_time(parsed.issued_at),
        "expires_at": format_time(parsed.expires_at),
        "signed_by": parsed.kid,
        "source": source,
        "etag": etag,
        "last_modified": last_modified,
        "accepted_at": format_time(now),
        **stamps,
    }
    outcome = "installed" if held is None else "updated"
    return ListUpdate("status", outcome, parsed.sequence, previous, uscc, source)


def _apply_fetched(
    view: _View,
    index: dict[str, Any],
    files: dict[str, bytes],
    item: _Fetched,
    now: datetime,
    *,
    reverify: bool,
) -> ListUpdate:
    """One fetched status list applied to ``index`` (or why it failed)."""
    held = index["status"].get(item.uscc)
    previous = None if held is None else int(held["sequence"])

    def failed(reason: str, message: str) -> ListUpdate:
        return ListUpdate(
            "status", "failed", previous, previous, item.uscc, item.url, reason, message
        )

    issuer = view.issuer(item.uscc)
    if issuer is None or issuer.status_url != item.url:
        return failed("moved", "the issuer's status_url changed while the list was fetched")
    if item.reason is not None:
        return failed(item.reason, item.message or item.reason)
    if item.not_modified:
        if held is None or held.get("source") != item.url:
            return failed("http_status", "a 304 answer for a list this device does not hold")
        held.update(checked_at=format_time(now), failure=None)
        return ListUpdate("status", "not_modified", previous, previous, item.uscc, item.url)
    if item.data is None:  # pragma: no cover - a worker sets data, or a reason
        return failed("network", "nothing was fetched")
    try:
        parsed, digest = item.parsed, item.digest
        if reverify or parsed is None or digest is None:  # the trust list changed meanwhile
            parsed, digest = _verify_status(item.data, issuer, now)
        etag, modified = item.validators or (None, None)
        return _apply_status(
            index, files, issuer, item.data, parsed=parsed, digest=digest, now=now,
            source=item.url, etag=etag, last_modified=modified,
        )  # fmt: skip
    except (CertificateVerificationError, ClockBehind) as exc:
        return failed(_reason(exc), exc.message)


def _not_in_future(issued_at: datetime, now: datetime, what: str) -> None:
    if issued_at > now + CLOCK_TOLERANCE:
        raise ClockBehind(
            f"the {what} was signed at {format_time(issued_at)}, later than this device's "
            f"clock ({format_time(now)}): set the clock",
            issued_at=format_time(issued_at),
        )


def _newest(index: dict[str, Any]) -> str | None:
    """The newest ``issued_at`` held, or recorded before (it never goes back)."""
    times = [index["newest_signed_time"]] if index["newest_signed_time"] else []
    if index["trust"] is not None:
        times.append(index["trust"]["issued_at"])
    times += [entry["issued_at"] for entry in index["status"].values()]
    return max(times) if times else None  # YYYY-MM-DDTHH:MM:SSZ sorts as text


def _describe(entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    issued = parse_time(entry["issued_at"], VerifierStateError, "issued_at")
    expires = parse_time(entry["expires_at"], VerifierStateError, "expires_at")
    expired = now >= expires
    return {
        "sequence": entry["sequence"],
        "issued_at": entry["issued_at"],
        "expires_at": entry["expires_at"],
        "age_seconds": int((now - issued).total_seconds()),
        "expired": expired,
        "stale": expired or entry.get("failure") is not None,
        "failure": entry.get("failure"),
        "source": entry.get("source"),
        "checked_at": entry.get("checked_at"),
    }


def _check_index(index: dict[str, Any]) -> None:
    """The shape of ``state.json`` (raises ValueError, TypeError or KeyError)."""
    if index.get("type") != STATE_TYPE:
        raise ValueError("not a verifier state index")
    if set(index) != set(_empty_index()):
        raise ValueError("members")
    if not isinstance(index["anchors"], list) or not isinstance(index["status"], dict):
        raise TypeError("layout")
    if not isinstance(index["logs"], dict):
        raise TypeError("layout")
    entries = list(index["status"].values())
    if index["trust"] is not None:
        entries.append(index["trust"])
    for entry in entries:
        if not isinstance(entry, dict):
            raise TypeError("entry")
        file, digest, sequence = entry["file"], entry["digest"], entry["sequence"]
        if not isinstance(file, str) or not file.startswith(f"{_LISTS}/") or "/" in file[6:]:
            raise ValueError("file")
        if not isinstance(digest, str) or not isinstance(sequence, int):
            raise TypeError("entry")
        parse_time(entry["issued_at"], VerifierStateError, "issued_at")
        parse_time(entry["expires_at"], VerifierStateError, "expires_at")
    for entry in index["logs"].values():
        if not isinstance(entry["size"], int) or not isinstance(entry["checkpoint"], str):
            raise TypeError("log")
    newest = index["newest_signed_time"]
    if newest is not None:
        parse_time(newest, VerifierStateError, "newest_signed_time")


def _held_files(index: dict[str, Any]) -> set[str]:
    held = {index["trust"]["file"]} if index["trust"] is not None else set()
    return held | {entry["file"] for entry in index["status"].values()}


def _write_atomic(path: Path, data: bytes) -> None:
    """``data`` to ``path``: a durable temporary file in the same folder, then a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _sync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (where the platform allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _unverified(note: str) -> Checkpoint:
    """A checkpoint note's body, parsed (its signature is checked by the log's checks)."""
    body = note.split("\n\n", 1)[0] + "\n" if "\n\n" in note else note
    return Checkpoint.parse(body)


def _second_checkpoint(
    store: AuditStore,
    origin: str,
    report: LogReport,
    parsed: list[tuple[Checkpoint, str, str]],
    verifiers: Sequence[NoteVerifier],
) -> LogReport:
    """Check the smaller of two checkpoints against the larger, which the log extends."""
    (big, big_note, _), (small, small_note, label) = parsed
    checks = list(report.checks)
    where = next(i for i, c in enumerate(checks) if c.name == "consistency")
    try:
        verify_checkpoint(small_note, verifiers, origin=origin)
        if small.size == big.size:
            if small.root_hash != big.root_hash:
                raise InconsistentLog(
                    "two checkpoints of one size have different roots (a fork)",
                    checkpoint_size=small.size,
                )
        else:
            proof = AuditLog(store, origin=origin).consistency_proof(small.size, big.size)
            verify_checkpoint_consistency(small_note, big_note, proof, verifiers=verifiers)
    except VerificationError as exc:
        checks[where] = Check.from_error("consistency", exc)
        return replace(report, checks=tuple(checks))
    before = checks[where]
    if before.detail_key == "audit.extends":  # the larger checkpoint's check, in both languages
        key = "audit.extends_also_held" if label == "held" else "audit.extends_also_given"
        checks[where] = Check.described(
            "consistency", True, key, **dict(before.detail_values), other=small.size
        )
    else:
        which = "this device holds" if label == "held" else "given"
        checks[where] = Check.passed(
            "consistency", f"{before.detail}; and the checkpoint {which} (size {small.size})"
        )
    return replace(report, checks=tuple(checks))


def _say_held(report: LogReport) -> LogReport:
    """Say in the consistency check that the checkpoint is the one this device holds."""
    checks = tuple(
        (
            Check.described(c.name, True, "audit.extends_held", **dict(c.detail_values))
            if c.detail_key == "audit.extends"
            else Check.passed(c.name, f"{c.detail} (the checkpoint this device holds)")
        )
        if c.name == "consistency" and c.ok is True
        else c
        for c in report.checks
    )
    return replace(report, checks=checks)


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One status list as fetched (and verified) by a sync worker, before the commit."""

    uscc: str
    url: str
    data: bytes | None
    parsed: SignedStatusList | None
    digest: str | None
    validators: tuple[str | None, str | None] | None
    reason: str | None = None
    message: str | None = None
    not_modified: bool = False


class _HeldStatusSource(StatusListSource):
    """A held status list file: its bytes must match the digest in its name."""

    def __init__(
        self,
        path: Path,
        keys: Sequence[VerifyingKey],
        *,
        digest: str,
        list_id: str,
        min_sequence: int,
        max_stale: timedelta,
    ) -> None:
        super().__init__(
            path,
            keys,
            list_id=list_id,
            min_sequence=min_sequence,
            max_stale=max_stale,
            refetch_cooldown=timedelta(0),
        )
        self._digest = digest

    def _read(self) -> bytes:
        data = super()._read()
        if _sha256(data) != self._digest:
            raise _FetchFailed("damaged", "the held status list does not match its digest")
        return data
