"""The payment inbox's state machine: what a delivery does to its event, and what to answer.

The SQL lives in :mod:`govkit.payments._inbox_store`; this module decides. In short
(the payments guide draws it):

* A delivery that fails verification is stored as metadata and a bounded excerpt,
  and refused; one larger than the provider's limit is refused before anything is
  stored.
* A verified event is inserted under its unique ``(provider, dedup key)``. A second
  delivery with the same business content is a duplicate; one with other content
  moves the event to ``conflict`` (both digests recorded, no handler run).
* Processing runs the order step and the handler. With a *transactional* handler
  (or none) everything, including the handler's own writes and the ``processed``
  mark, is one transaction: it commits whole or not at all, so nothing is ever left
  ``processing``. An at-least-once handler runs between two transactions under a
  claim with a lease; a claim whose worker died lapses and the re-drive takes it.
* The provider hears "success" only once the event's processing has committed (or
  the event is durably parked: deferred, quarantined, in conflict). An event in
  flight or failed gets the provider's retry answer.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, Final, Protocol

from govkit._aio import offload
from govkit.audit import AuditEvent, AuditLog
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    PaymentBodyTooLarge,
    PaymentError,
    PaymentEventUnknown,
    PaymentKeyRefreshFailed,
    PaymentOrderRejected,
    PaymentReleaseRefused,
    PaymentStoreError,
    PaymentVerificationError,
)
from govkit.observability import observed
from govkit.payments import _inbox_store as store
from govkit.payments._event import (
    MAX_AMOUNT,
    Acknowledgement,
    EventKind,
    PaymentEvent,
    PaymentProvider,
    Provider,
)
from govkit.payments._inbox_store import (
    HandlerTransaction,
    StoredEvent,
    content_digest,
    event_from_json,
    from_us,
    upgrade_inbox,
    us,
)
from govkit.payments._orders import ApplyResult, Order, OrderState, Transition, apply_event
from govkit.stores._sql import Tx

__all__ = [
    "BODY_RETENTION",
    "DeliveryStatus",
    "EventRecord",
    "EventState",
    "Handler",
    "HandlerTransaction",
    "PaymentInbox",
    "Receipt",
    "TransactionalHandler",
    "upgrade_inbox",
]


class Handler(Protocol):
    """An application's **at-least-once** handler: ``handler(event)``.

    Called after the event's order step, outside any transaction of the inbox, so it
    may call anything (another service, another database). It runs *at least once*
    per event: a worker killed after the handler returned but before the event was
    marked ``processed`` leaves a claim that lapses after the inbox's ``lease``, and
    the event is processed again. Make its effects idempotent with
    :attr:`PaymentEvent.idempotency_key <govkit.payments.PaymentEvent.idempotency_key>`
    (``provider:dedup_key``, the same for every delivery of the event). An exception
    leaves the event ``failed``; it is retried with backoff.

    For effects in tables of the inbox's own database, use a
    :class:`TransactionalHandler`: those happen exactly once.
    """

    def __call__(self, event: PaymentEvent, /) -> None:
        """Handle ``event``."""
        ...


class TransactionalHandler(Protocol):
    """An application's **transactional** handler: ``handler(event, tx)``.

    Runs inside the inbox's open transaction, ``tx`` (a :class:`HandlerTransaction`:
    ``execute`` with ``?`` placeholders, ``fetchone``/``fetchmany``/``fetchall``), the
    same transaction that applies the order and marks the event ``processed``. Its
    writes through ``tx`` commit with that mark or not at all: effects in tables of
    the inbox's own database happen **exactly once**, whatever kills the process
    when. Only there: anything else it does (a message sent, a file written, another
    database) is at-least-once, because the call itself may be repeated after a
    rolled-back attempt. An exception, or a failed statement, rolls back everything
    the attempt did and leaves the event ``failed``.
    """

    def __call__(self, event: PaymentEvent, tx: HandlerTransaction, /) -> None:
        """Handle ``event`` inside ``tx``."""
        ...


class EventState(StrEnum):
    """Where a stored event stands.

    ``pending`` (stored, not processed yet), ``processing`` (claimed by an
    at-least-once handler's worker), ``processed``, ``failed`` (retried with
    backoff), ``deferred`` (a refund waiting for its payment), ``quarantined`` (it
    disagrees with its order, or the order is not known yet) and ``conflict`` (the
    same event id arrived with different content). ``DONE`` is the old name of
    ``PROCESSED``.
    """

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    DEFERRED = "deferred"
    QUARANTINED = "quarantined"
    CONFLICT = "conflict"
    DONE = "processed"  # the name before govkit 0.2 (an alias of PROCESSED)


class DeliveryStatus(StrEnum):
    """What the inbox did with one delivery (and so what the provider is answered)."""

    #: This delivery's processing committed: "success".
    PROCESSED = "processed"
    #: The event was processed before: "success".
    DUPLICATE = "duplicate"
    #: A refund stored until its payment arrives: "success".
    DEFERRED = "deferred"
    #: Stored and held for review (or for its order): "success".
    QUARANTINED = "quarantined"
    #: Same event id, other content: held in ``conflict``: "success".
    CONFLICT = "conflict"
    #: Not genuine, or too large: refused (a 4xx, or a retry if keys could not load).
    REJECTED = "rejected"
    #: The handler failed: the provider's retry answer.
    FAILED = "failed"
    #: Processing is under way elsewhere (or waits for a worker): the retry answer.
    IN_FLIGHT = "in_flight"


#: How long a :class:`PaymentInbox` keeps delivery bodies by default (``body_retention``).
BODY_RETENTION: Final = timedelta(days=30)

#: The statuses answered with the provider's retry answer.
_RETRY: Final = frozenset({DeliveryStatus.FAILED, DeliveryStatus.IN_FLIGHT})

#: The largest body each provider's adapter accepts; the inbox refuses larger ones
#: before it stores anything.
MAX_BODY: Final[Mapping[Provider, int]] = {
    Provider.WECHATPAY: 64 * 1024,
    Provider.ALIPAY: 64 * 1024,
    Provider.UNIONPAY: 64 * 1024,
    Provider.STRIPE: 256 * 1024,
    Provider.STANDARD_WEBHOOKS: 256 * 1024,
}


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of :meth:`PaymentInbox.receive`: what happened and what to answer.

    ``ack`` is the exact HTTP answer the provider expects: its success answer only
    when ``status`` is processed, duplicate, deferred, quarantined or conflict (all
    durably recorded), its retry answer when failed or in flight. ``code`` names
    why a delivery was not simply processed (``payment.conflict``,
    ``payment.in_flight``, ``payment.handler_failed``, ``order.amount_mismatch``, a
    verification code...). ``delivery_id`` is ``None`` when nothing was stored (a
    body over the provider's size limit).
    """

    status: DeliveryStatus
    ack: Acknowledgement
    delivery_id: int | None
    event: PaymentEvent | None = None
    transition: Transition | None = None
    code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "status": str(self.status),
            "http_status": self.ack.status,
            "acknowledged": self.ack.ok,
            "delivery_id": self.delivery_id,
            "event": None if self.event is None else self.event.to_dict(),
            "transition": None if self.transition is None else self.transition.to_dict(),
            "code": self.code,
        }


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event with its processing state.

    ``content_digest`` is the digest of its business content (kind, order, amount,
    currency, refunded amount, transaction id); an event in ``conflict`` also has
    the ``conflict_digest`` and the ``conflicting_event`` of the second content.
    ``next_attempt_at`` is when the re-drive retries a failed event.
    """

    pk: int
    event: PaymentEvent
    state: EventState
    attempts: int
    deliveries: int
    result: str | None
    last_error: str | None
    content_digest: str | None = None
    conflict_digest: str | None = None
    conflicting_event: PaymentEvent | None = None
    next_attempt_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            **self.event.to_dict(),
            "state": str(self.state),
            "attempts": self.attempts,
            "deliveries": self.deliveries,
            "result": self.result,
            "last_error": self.last_error,
            "content_digest": self.content_digest,
            "conflict_digest": self.conflict_digest,
            "conflicting_event": (
                None if self.conflicting_event is None else self.conflicting_event.to_dict()
            ),
            "next_attempt_at": (
                None if self.next_attempt_at is None else self.next_attempt_at.isoformat()
            ),
        }


def _record(row: store.EventRow) -> EventRecord:
    try:
        state = EventState(row.state)
    except ValueError:
        raise PaymentStoreError("a stored event has an unknown state") from None
    return EventRecord(
        pk=row.pk,
        event=event_from_json(row.event_json),
        state=state,
        attempts=row.attempts,
        deliveries=row.deliveries,
        result=row.result,
        last_error=row.last_error,
        content_digest=row.content_digest,
        conflict_digest=row.conflict_digest,
        conflicting_event=None if row.conflict_json is None else event_from_json(row.conflict_json),
        next_attempt_at=None if row.next_attempt_us is None else from_us(row.next_attempt_us),
    )


@dataclass(slots=True)
class _Outcome:
    """What one job did (plain data: a job may run twice, and only its last run counts)."""

    status: DeliveryStatus
    pk: int | None = None
    delivery_id: int | None = None
    event: PaymentEvent | None = None
    transition: Transition | None = None
    code: str | None = None
    #: An at-least-once handler still has to run under this claim.
    token: str | None = None
    attempts: int = 0
    #: Events this job sent back to pending (refunds whose payment arrived).
    woken: list[int] = field(default_factory=list)
    #: ``(stored digest, new digest)`` of a conflict found by this job.
    conflict: tuple[str, str] | None = None
    #: The exception name when the transactional handler failed.
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class _Found:
    """The processing facts of one event, as :meth:`PaymentInbox._work` needs them."""

    pk: int
    order_applied: bool
    released: bool
    was_quarantined: bool
    attempts: int
    #: The row was inserted ``processed`` in this very transaction.
    inserted_processed: bool = False


#: Makes the job that runs in place of one whose transactional handler failed.
_Rerun = Callable[[str], Callable[[Tx], Any]]


@dataclass(frozen=True, slots=True)
class _Unrecorded:
    """The end of an at-least-once handler's run that the store could not take yet."""

    token: str
    #: The handler's exception name (the event fails), or ``None`` (it is processed).
    failure: str | None
    retry_at: int


def _delivery_fields(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], done: object
) -> dict[str, object]:
    """Log fields of a callback or a handler run: provider, status (never the event)."""
    if isinstance(done, _Outcome):  # a handler run: args are (inbox, outcome, now)
        provider: object = None if done.event is None else done.event.provider
    else:
        provider = getattr(
            kwargs.get("provider", args[1] if len(args) > 1 else None), "provider", None
        )
    fields: dict[str, object] = {"provider": None if provider is None else str(provider)}
    if isinstance(done, (Receipt, _Outcome)):
        fields["status"] = str(done.status)
        fields["code"] = done.code or "ok"
        fields["outcome"] = {
            DeliveryStatus.REJECTED: "invalid",
            DeliveryStatus.FAILED: "error",
        }.get(done.status, "ok")
    return fields


class PaymentInbox:
    """Receives provider callbacks, processes each event once, keeps the order book.

    >>> import tempfile, os
    >>> from govkit.payments import PaymentInbox
    >>> inbox = PaymentInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> inbox.create_order("GOV-1", provider="stripe", amount=5000, currency="CNY").state
    <OrderState.CREATED: 'created'>
    >>> inbox.close()

    Args:
        url: ``sqlite:///path``, a file path (SQLite) or ``postgresql://...``.
        handler: an at-least-once :class:`Handler`, ``handler(event)``.
        transactional_handler: a :class:`TransactionalHandler`, ``handler(event, tx)``,
            whose writes through ``tx`` commit atomically with the event's
            ``processed`` mark (exactly once, in the inbox's database). Give one of
            the two handlers, or neither (the order book is then the only effect).
        orders: apply events to the order book (``False``: store and hand over only).
        audit: an :class:`~govkit.audit.AuditLog` that receives every verification
            outcome, order change, conflict, handler failure and release.
        clock: time source.
        lease: how long an at-least-once handler's claim stays exclusive; a claim
            older than this (its worker died) is taken by the next delivery or the
            re-drive.
        durable: SQLite ``synchronous=FULL`` (``False``: ``NORMAL``, faster, may lose
            the last commits on power loss but never corrupts).
        busy_timeout: seconds a SQLite writer waits for the lock before
            :class:`~govkit.errors.PaymentStoreLocked`.
        read_only: open for reading only (``show``, reconciliation): nothing is
            written, and every method that writes raises
            :class:`~govkit.errors.PaymentStoreError`.
        max_body: refuse larger bodies before storing anything (default: each
            provider's own limit, 64 KiB for WeChat Pay, Alipay and UnionPay, 256 KiB
            for Stripe and Standard Webhooks).
        retry_base, retry_max: the re-drive retries a failed event after
            ``retry_base``, doubling each attempt, at most ``retry_max`` apart.
        body_retention: how long :meth:`purge` leaves a delivery's raw body and
            headers (which carry the provider's signature and may carry personal
            data) before it replaces them with their SHA-256 digest, and how long it
            keeps refused deliveries. Default :data:`BODY_RETENTION` (30 days:
            longer than any provider retries a callback, long enough for a monthly
            reconciliation); ``None`` keeps them for ever (:meth:`purge` then
            changes nothing). Nothing is removed until :meth:`purge` runs.

    Raises:
        PaymentStoreError: the store cannot be reached or opened.
        PaymentStoreSchemaError: its schema is newer than this release (or, read-only,
            older than version 2: run ``govkit db upgrade``).
        ConfigurationError: both handlers were given.
    """

    def __init__(
        self,
        url: str | Path,
        *,
        handler: Handler | None = None,
        transactional_handler: TransactionalHandler | None = None,
        orders: bool = True,
        audit: AuditLog | None = None,
        clock: Clock | None = None,
        lease: timedelta = timedelta(minutes=5),
        durable: bool = True,
        busy_timeout: float = 30.0,
        read_only: bool = False,
        max_body: int | None = None,
        retry_base: timedelta = timedelta(seconds=10),
        retry_max: timedelta = timedelta(hours=1),
        body_retention: timedelta | None = BODY_RETENTION,
    ) -> None:
        if body_retention is not None and (
            not isinstance(body_retention, timedelta) or body_retention <= timedelta(0)
        ):
            raise ConfigurationError("body_retention must be a positive timedelta, or None")
        if handler is not None and transactional_handler is not None:
            raise ConfigurationError("give a handler or a transactional_handler, not both")
        if max_body is not None and (type(max_body) is not int or max_body < 1):
            raise ConfigurationError("max_body must be a positive number of bytes")
        if lease <= timedelta(0) or retry_base <= timedelta(0) or retry_max < retry_base:
            raise ConfigurationError("lease and retry_base must be positive, retry_max >= base")
        self._db = store.open_inbox_database(
            url, durable=durable, busy_timeout=busy_timeout, read_only=read_only
        )
        self._group = store.GroupCommit(self._db)
        self._handler = handler
        self._tx_handler = transactional_handler
        self._has_handler = handler is not None or transactional_handler is not None
        self._orders = orders
        self._audit = audit
        self._clock = clock or SystemClock()
        self._lease_us = int(lease.total_seconds() * 1_000_000)
        self._max_body = max_body
        self._retry_base_us = int(retry_base.total_seconds() * 1_000_000)
        self._retry_max_us = int(retry_max.total_seconds() * 1_000_000)
        self._unrecorded: dict[int, _Unrecorded] = {}
        self._unrecorded_lock = threading.Lock()
        self._retention = body_retention

    @property
    def url(self) -> str:
        """Where the inbox is (without a password)."""
        return self._db.url

    # -- receiving ---------------------------------------------------------------

    @observed("payment.callback", "govkit.payments", _delivery_fields)
    def receive(
        self,
        provider: PaymentProvider,
        headers: Mapping[str, str],
        body: bytes,
        *,
        source: str | None = None,
        at: datetime | None = None,
    ) -> Receipt:
        """Verify, persist, deduplicate and process one delivery; return what to answer.

        A body over the provider's size limit is refused before anything is stored.
        A forged, stale or malformed callback is stored as metadata and an excerpt
        of at most 2 KiB (1 KiB of headers, 1 KiB of body) and refused
        (``provider.reject(retry=False)``). A verified event is processed, or found
        processed, in flight, failed, parked or in conflict; :class:`Receipt` says
        which, and its ``ack`` is the provider's success answer only when that
        outcome is committed.

        Raises:
            PaymentStoreError: the store failed; nothing this delivery did was
                committed (or, for an at-least-once handler that already ran, the
                claim was released or lapses after the lease). Answer 5xx: the
                provider retries.
        """
        now = resolve_time(self._clock, at)
        received: object = body
        if isinstance(received, (bytearray, memoryview)):
            body = bytes(received)
        elif not isinstance(received, bytes):
            raise ConfigurationError("the callback body must be bytes, exactly as received")
        limit = self._max_body or MAX_BODY.get(provider.provider, 64 * 1024)
        if len(body) > limit:
            too_large = PaymentBodyTooLarge(
                "the callback body exceeds the provider's size limit", limit=limit
            )
            self._audit_verify(provider.provider, None, too_large, source, now)
            return Receipt(
                DeliveryStatus.REJECTED, provider.reject(retry=False), None, code=too_large.code
            )
        event: PaymentEvent | None = None
        error: PaymentError | None = None
        try:
            event = provider.parse(headers, body, at=now)
        except (PaymentVerificationError, PaymentKeyRefreshFailed) as exc:
            error = exc
        if error is not None or event is None:
            code = "payment.invalid" if error is None else error.code
            delivery_id = self._group.run(
                partial(self._refused, provider.provider, headers, body, source, code, now)
            )
            self._audit_verify(provider.provider, None, error, source, now)
            retry = isinstance(error, PaymentKeyRefreshFailed)
            return Receipt(
                DeliveryStatus.REJECTED, provider.reject(retry=retry), delivery_id, code=code
            )
        headers_json = json.dumps(dict(headers), ensure_ascii=False, sort_keys=True)
        digest = content_digest(event)
        ends = self._unrecorded_ends()
        job = partial(self._deliver, event, digest, headers_json, body, source, now)
        if ends:  # handler runs the store could not record: recorded first, in this transaction
            outcome = self._group.run(partial(_after_ends, ends, us(now), job))
            self._forget_ends(ends)
        else:
            outcome = self._group.run(job)
        self._audit_verify(provider.provider, event, None, source, now)
        outcome = self._settle(outcome, now)
        ack = provider.reject(retry=True) if outcome.status in _RETRY else provider.acknowledge()
        return Receipt(
            outcome.status, ack, outcome.delivery_id, event, outcome.transition, outcome.code
        )

    async def areceive(
        self,
        provider: PaymentProvider,
        headers: Mapping[str, str],
        body: bytes,
        *,
        source: str | None = None,
        at: datetime | None = None,
    ) -> Receipt:
        """:meth:`receive` for asyncio: same arguments, result and errors.

        The whole delivery (verification, the transaction and its fsync, the handler)
        runs on govkit's bounded thread pool (:func:`govkit.stores.configure_offload`),
        so the event loop is never blocked. The handler therefore runs on a pool
        thread: it is a plain function, and must be safe to call from several threads
        at once. Cancelling the await does not stop a delivery that has started: its
        transaction commits or rolls back as a whole, and the provider's retry finds
        it (processed once).
        """
        return await offload(self.receive, provider, headers, body, source=source, at=at)

    def _refused(  # noqa: PLR0917 - bound with functools.partial, the transaction last
        self,
        provider: Provider,
        headers: Mapping[str, str],
        body: bytes,
        source: str | None,
        code: str,
        now: datetime,
        tx: Tx,
    ) -> int:
        """Store a refused delivery: metadata and a bounded excerpt, never the whole body."""
        return store.insert_delivery(
            tx,
            provider=provider,
            now=us(now),
            source=source,
            headers=store.headers_excerpt(headers),
            body=bytes(body[: store.BODY_EXCERPT]),
            body_size=len(body),
            body_sha256=store.body_digest(body),
            excerpt=True,
            result=code,
            event_pk=None,
        )

    def _deliver(  # noqa: PLR0917 - bound with functools.partial, the transaction last
        self,
        event: PaymentEvent,
        digest: str,
        headers_json: str,
        body: bytes,
        source: str | None,
        now: datetime,
        tx: Tx,
        failure: str | None = None,
    ) -> _Outcome:
        """The job of one verified delivery: store it, then process, or find, its event.

        ``failure`` is set when this job runs again because the transactional handler
        failed in the first run: then the event is stored ``failed`` instead.
        """
        stamp = us(now)
        # Processed in this transaction, without an order step: the event row can say
        # "processed" from the start (the handler's writes and it commit together).
        at_once = self._handler is None and not self._orders and failure is None
        pk, delivery_id = store.insert_event_delivery(
            tx,
            event,
            digest=digest,
            state="processed" if at_once else "pending",
            needs_handler=self._has_handler,
            now=stamp,
            source=source,
            headers=headers_json,
            body=body,
        )

        def rerun(name: str) -> Callable[[Tx], _Outcome]:
            return partial(
                self._deliver, event, digest, headers_json, body, source, now, failure=name
            )

        if pk is not None:
            found = _Found(pk, False, False, False, 0, inserted_processed=at_once)
            outcome = self._work(tx, found, event, now, failure=failure, rerun=rerun)
        else:
            row = store.touch_event(tx, event.provider, event.dedup_key)
            store.link_delivery(tx, delivery_id, row.pk)
            outcome = self._redelivered(tx, row, event, digest, now, failure, rerun)
        outcome.delivery_id = delivery_id
        return outcome

    def _redelivered(  # noqa: PLR0917 - the delivery job's state, passed on
        self,
        tx: Tx,
        row: StoredEvent,
        event: PaymentEvent,
        digest: str,
        now: datetime,
        failure: str | None,
        rerun: _Rerun,
    ) -> _Outcome:
        stored = row.content_digest
        if stored is None:  # stored by govkit 0.1, before digests
            stored = content_digest(event_from_json(row.event_json))
            store.set_digest(tx, row.pk, stored)
        if stored == digest:
            return self._resume(tx, row, event, now, failure=failure, rerun=rerun)
        outcome = _Outcome(DeliveryStatus.CONFLICT, row.pk, event=event, code="payment.conflict")
        if row.state != "conflict":
            store.mark_conflict(tx, row.pk, us(now), digest=digest, conflicting=event)
            outcome.conflict = (stored, digest)
        return outcome

    def _resume(
        self,
        tx: Tx,
        row: StoredEvent,
        event: PaymentEvent,
        now: datetime,
        *,
        failure: str | None,
        rerun: _Rerun,
    ) -> _Outcome:
        """Process a stored event found by a delivery or the re-drive, if it may be."""
        state, pk = row.state, row.pk
        if state == "processed":
            return _Outcome(DeliveryStatus.DUPLICATE, pk, event=event)
        if state == "conflict":
            return _Outcome(DeliveryStatus.CONFLICT, pk, event=event, code="payment.conflict")
        if state == "deferred":
            return _Outcome(DeliveryStatus.DEFERRED, pk, event=event)
        waiting = state == "quarantined" and row.result == "unknown_order"
        if state == "quarantined" and not waiting:
            code = f"order.{row.result}"
            return _Outcome(DeliveryStatus.QUARANTINED, pk, event=event, code=code)
        in_flight = _Outcome(DeliveryStatus.IN_FLIGHT, pk, event=event, code="payment.in_flight")
        stamp = us(now)
        if state == "processing" and (row.claimed_us or 0) >= stamp - self._lease_us:
            return in_flight
        if row.needs_handler and not self._has_handler:
            return in_flight  # only an inbox with the application's handler may process it
        if state not in ("pending", "failed", "processing") and not waiting:
            raise PaymentStoreError("a stored event has an unknown state", state=state[:32])
        found = _Found(
            pk,
            order_applied=row.order_applied and not waiting,
            released=row.released,
            was_quarantined=waiting,
            attempts=row.attempts,
        )
        return self._work(tx, found, event, now, failure=failure, rerun=rerun)

    # -- processing --------------------------------------------------------------

    def _work(
        self,
        tx: Tx,
        found: _Found,
        event: PaymentEvent,
        now: datetime,
        *,
        failure: str | None,
        rerun: _Rerun,
    ) -> _Outcome:
        """Process one claimable event inside ``tx``.

        An at-least-once handler: the order step, then a claim; the handler runs
        after the commit. A transactional handler (or none): the order step, the
        handler and the ``processed`` mark, all in ``tx``. When the transactional
        handler fails, the whole transaction is rolled back (the handler's writes and
        the order step with it) and the job runs again as ``rerun(failure)``, which
        stores the event ``failed``: no savepoint, so no extra round trips.
        """
        stamp = us(now)
        if failure is not None:
            store.mark_failed(
                tx, found.pk, stamp, error=failure, retry_at=self._retry_at(found, stamp)
            )
            return _Outcome(
                DeliveryStatus.FAILED,
                found.pk,
                event=event,
                code="payment.handler_failed",
                failure=failure,
            )
        outcome = _Outcome(DeliveryStatus.PROCESSED, found.pk, event=event)
        outcome.attempts = found.attempts
        if (
            self._orders
            and not found.order_applied
            and self._order_step(tx, found, event, now, outcome)
        ):
            return outcome  # parked: deferred or quarantined, no handler
        if self._handler is not None:
            outcome.token = secrets.token_hex(8)
            store.claim(tx, found.pk, outcome.token, stamp)
            return outcome
        if self._tx_handler is not None:
            failed = _call(self._tx_handler, event, tx)
            if failed is not None:
                raise store.Rerun(rerun(failed))
        if not found.inserted_processed:
            store.mark_processed(tx, found.pk, stamp)
        return outcome

    def _order_step(
        self, tx: Tx, found: _Found, event: PaymentEvent, now: datetime, outcome: _Outcome
    ) -> bool:
        """Apply ``event`` to its order; ``True`` when the event is parked (no handler)."""
        stamp = us(now)
        transition, after = apply_event(store.load_order(tx, event), event, now)
        outcome.transition = transition
        if transition.result is ApplyResult.QUARANTINED:
            if found.released:  # released after review: handed over, the order untouched
                store.set_applied(tx, found.pk, "released", stamp)
                outcome.transition = Transition(
                    ApplyResult.UNCHANGED, transition.before, transition.after, "released"
                )
                return False
            store.quarantine(tx, found.pk, event.order_id, transition.reason, stamp)
            store.park(
                tx, found.pk, stamp, state="quarantined", reason=transition.reason,
                order_applied=True,
            )  # fmt: skip
            outcome.status = DeliveryStatus.QUARANTINED
            outcome.code = f"order.{transition.reason}"
            return True
        if transition.result is ApplyResult.DEFERRED:
            store.park(
                tx, found.pk, stamp, state="deferred", reason=transition.reason,
                order_applied=False,
            )  # fmt: skip
            outcome.status = DeliveryStatus.DEFERRED
            return True
        if transition.result is ApplyResult.APPLIED and after is not None:
            store.update_order(tx, after, stamp)
            if after.state is OrderState.PAID:
                outcome.woken = store.wake_deferred(tx, event.order_id, stamp)
        store.set_applied(tx, found.pk, str(transition.result), stamp)
        if found.was_quarantined:
            store.release_quarantine(tx, found.pk, stamp, by="govkit", reason="order_found")
        return False

    def _unrecorded_put(self, pk: int, end: _Unrecorded) -> None:
        with self._unrecorded_lock:
            self._unrecorded[pk] = end

    def _unrecorded_ends(self) -> dict[int, _Unrecorded]:
        with self._unrecorded_lock:
            return dict(self._unrecorded)

    def _forget_ends(self, ends: Mapping[int, _Unrecorded]) -> None:
        with self._unrecorded_lock:
            for pk, end in ends.items():
                if self._unrecorded.get(pk) == end:
                    del self._unrecorded[pk]

    def _record_unrecorded(self, now: datetime) -> None:
        """Write the ends of handler runs the store could not take before (best effort)."""
        ends = self._unrecorded_ends()
        if ends:
            with contextlib.suppress(PaymentStoreError):
                self._group.run(partial(_write_ends, ends, us(now)))
                self._forget_ends(ends)

    def _retry_at(self, found: _Found | int, stamp: int) -> int:
        attempts = found if isinstance(found, int) else found.attempts
        delay = self._retry_base_us << min(attempts, 40)
        return stamp + min(delay, self._retry_max_us)

    def _settle(self, outcome: _Outcome, now: datetime) -> _Outcome:
        """After a job committed: audit it, run an at-least-once handler, wake others."""
        self._audit_outcome(outcome, now)
        if outcome.token is not None:
            outcome = self._run_handler(outcome, now)
        for pk in outcome.woken:
            with contextlib.suppress(PaymentStoreError):  # pending: the re-drive takes it
                self._redrive(pk, now)
        return outcome

    @observed("payment.process", "govkit.payments", _delivery_fields)
    def _run_handler(self, outcome: _Outcome, now: datetime) -> _Outcome:
        """Run the at-least-once handler under the committed claim, then finish."""
        handler, event, pk, token = self._handler, outcome.event, outcome.pk, outcome.token
        assert handler is not None  # noqa: S101 - only called with an at-least-once handler
        assert event is not None  # noqa: S101 - set with the claim
        assert pk is not None  # noqa: S101 - set with the claim
        assert token is not None  # noqa: S101 - set with the claim
        stamp = us(now)
        try:
            handler(event)
        except Exception as exc:
            name = type(exc).__name__
            retry_at = self._retry_at(outcome.attempts, stamp)
            try:
                self._group.run(
                    lambda tx: store.mark_failed(
                        tx, pk, stamp, error=name, retry_at=retry_at, token=token
                    )
                )
            except PaymentStoreError:  # released with the next write that succeeds
                self._unrecorded_put(pk, _Unrecorded(token, name, retry_at))
            self._audit_state(event, "payment.handle", "failure", now, name)
            return _Outcome(
                DeliveryStatus.FAILED, pk, outcome.delivery_id, event, outcome.transition,
                "payment.handler_failed", woken=outcome.woken,
            )  # fmt: skip
        try:
            finished = self._group.run(lambda tx: store.mark_processed(tx, pk, stamp, token=token))
        except PaymentStoreError:
            # The handler ran but "processed" could not be written (disk full, store
            # down). Nothing is answered "success"; the claim is released (marked
            # processed) by the next write of this inbox that succeeds, and a provider
            # retry meanwhile gets the retry answer. Should this process die first, the
            # claim lapses after the lease and the event is re-driven (at least once).
            self._unrecorded_put(pk, _Unrecorded(token, None, 0))
            raise
        status = DeliveryStatus.PROCESSED
        code = None
        if not finished:  # the claim lapsed and was taken over, or the event is in conflict
            row = store.event_by_pk(self._db, pk)
            state = None if row is None else row.state
            status = {
                "processed": DeliveryStatus.PROCESSED,
                "conflict": DeliveryStatus.CONFLICT,
            }.get(state or "", DeliveryStatus.IN_FLIGHT)
            code = {
                DeliveryStatus.CONFLICT: "payment.conflict",
                DeliveryStatus.IN_FLIGHT: "payment.in_flight",
            }.get(status)
        return _Outcome(
            status, pk, outcome.delivery_id, event, outcome.transition, code, woken=outcome.woken
        )

    def _redrive_job(
        self, pk: int, now: datetime, tx: Tx, failure: str | None = None
    ) -> _Outcome | None:
        row = store.lock_event(tx, pk)
        if row is None:
            return None

        def rerun(name: str) -> Callable[[Tx], _Outcome | None]:
            return partial(self._redrive_job, pk, now, failure=name)

        event = event_from_json(row.event_json)
        return self._resume(tx, row, event, now, failure=failure, rerun=rerun)

    def _redrive(self, pk: int, now: datetime) -> _Outcome | None:
        outcome = self._group.run(partial(self._redrive_job, pk, now))
        return None if outcome is None else self._settle(outcome, now)

    def _pass(self, now: datetime, limit: int, stop: threading.Event | None) -> tuple[int, int]:
        """One re-drive pass: ``(processed, attempted)``."""
        self._record_unrecorded(now)
        stamp = us(now)
        with self._db.transaction(write=False) as tx:
            pks = store.due(
                tx,
                now=stamp,
                stranded_before=stamp - self._lease_us,
                with_handler=self._has_handler,
                limit=limit,
            )
        processed = attempted = 0
        for pk in pks:
            if stop is not None and stop.is_set():
                break
            outcome = self._redrive(pk, now)
            attempted += 1
            if outcome is not None and outcome.status is DeliveryStatus.PROCESSED:
                processed += 1
        return processed, attempted

    def process_pending(self, *, limit: int = 100, at: datetime | None = None) -> int:
        """One re-drive pass; return how many events it processed.

        Takes pending events, failed ones whose retry time has come (``retry_base``
        doubling per attempt), claims whose lease lapsed (a worker died), and events
        quarantined for want of an order that now exists. An inbox without a handler
        leaves events that were received with one for a worker that has it.
        """
        return self._pass(resolve_time(self._clock, at), limit, None)[0]

    async def aprocess_pending(self, *, limit: int = 100, at: datetime | None = None) -> int:
        """:meth:`process_pending` for asyncio, on govkit's thread pool (see :meth:`areceive`)."""
        return await offload(self.process_pending, limit=limit, at=at)

    def run_pending(
        self,
        *,
        stop: threading.Event | None = None,
        poll: timedelta = timedelta(seconds=1),
        max_poll: timedelta = timedelta(seconds=30),
        limit: int = 100,
        handle_signals: bool = True,
    ) -> dict[str, int]:
        """Re-drive continuously until ``stop`` is set (or SIGTERM/SIGINT arrives).

        Each pass is :meth:`process_pending` at the clock's time; when a pass finds
        nothing to do (or the store is down), the next waits ``poll``, doubling up to
        ``max_poll``. Stopping is clean: the event being processed finishes (its
        transaction commits or rolls back), none is cut off. With
        ``handle_signals`` (and in the main thread) SIGTERM and SIGINT set ``stop``
        while this runs; the previous signal handlers are restored afterwards.

        Returns counts: ``passes``, ``attempted``, ``processed``, ``store_errors``.
        """
        stop = stop if stop is not None else threading.Event()
        previous: dict[signal.Signals, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():

            def on_signal(signum: int, frame: FrameType | None) -> None:
                stop.set()

            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
        totals = {"passes": 0, "attempted": 0, "processed": 0, "store_errors": 0}
        first, longest = poll.total_seconds(), max(poll, max_poll).total_seconds()
        wait = 0.0
        try:
            while not stop.is_set():
                try:
                    processed, attempted = self._pass(resolve_time(self._clock, None), limit, stop)
                except PaymentStoreError:
                    totals["store_errors"] += 1
                    processed = attempted = 0
                totals["passes"] += 1
                totals["attempted"] += attempted
                totals["processed"] += processed
                wait = 0.0 if attempted else min(max(wait * 2, first), longest)
                if wait:
                    stop.wait(wait)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return totals

    def replay(
        self, event_id: str, *, provider: Provider | str | None = None, at: datetime | None = None
    ) -> EventRecord:
        """Process a stored event now if it is pending, failed or stranded; its record.

        An event processed, in flight, deferred, quarantined or in conflict is left as
        it is (release a quarantined one with :meth:`release`).

        Raises:
            PaymentEventUnknown: no single stored event has that id.
        """
        now = resolve_time(self._clock, at)
        self._record_unrecorded(now)
        row = self._single(event_id, provider)
        self._redrive(row.pk, now)
        return self._record_of(row.pk)

    def release(
        self,
        event_id: str,
        *,
        reason: str,
        actor: str,
        provider: Provider | str | None = None,
        at: datetime | None = None,
    ) -> EventRecord:
        """Release a quarantined event after review, with ``actor`` and ``reason`` recorded.

        ``actor`` is the reviewer's staff identifier (kept in clear, as
        :meth:`AuditLog.erase <govkit.audit.AuditLog.erase>` keeps its actor).

        The event goes back to ``pending`` and is processed: the order book is checked
        again, and an order created or corrected since is applied as usual; if the
        order still disagrees, it is left as it is (an order is never marked paid with
        the wrong amount) and the handler receives the event, which ends
        ``processed`` with result ``released``. The release is written to the
        quarantine entry and to the audit log (``payment.release``). An event that
        was received by an inbox with a handler is processed only by an inbox with
        one: released from one without (``govkit payments release``), it stays
        ``pending`` for the worker.

        Raises:
            PaymentReleaseRefused: the event is not quarantined.
            PaymentEventUnknown: no single stored event has that id.
        """
        for name, value, limit in (("reason", reason, 256), ("actor", actor, 128)):
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise ConfigurationError(f"{name} must be 1-{limit} characters")
        now = resolve_time(self._clock, at)
        row = self._single(event_id, provider)
        stamp = us(now)

        def job(tx: Tx) -> str | None:
            found = store.lock_event(tx, row.pk)
            if found is None or found.state != "quarantined":
                return None if found is None else found.state
            store.release_event(tx, row.pk, stamp)
            store.release_quarantine(tx, row.pk, stamp, by=actor, reason=reason)
            return "quarantined"

        state = self._group.run(job)
        if state != "quarantined":
            raise PaymentReleaseRefused(
                f"only a quarantined event can be released; this one is {state}",
                state=state,
                event_id=event_id[:64],
            )
        event = event_from_json(row.event_json)
        if self._audit is not None:
            self._audit.append(
                AuditEvent(
                    occurred_at=now,
                    actor_id=actor,
                    actor_type="operator",
                    action="payment.release",
                    resource_type="payment_event",
                    resource_id=f"{event.provider}:{event.event_id}"[:1024],
                    outcome="success",
                    reason=reason[:128],
                    details={"order_id": event.order_id[:256], "was": row.result or ""},
                    personal=frozenset(),  # a staff identifier, as audit.erase records one
                )
            )
        self._redrive(row.pk, now)
        return self._record_of(row.pk)

    # -- orders ------------------------------------------------------------------

    def create_order(
        self,
        order_id: str,
        *,
        provider: Provider | str,
        amount: int,
        currency: str = "CNY",
        merchant_id: str | None = None,
        at: datetime | None = None,
    ) -> Order:
        """Record an order before the payer pays; callbacks are checked against it.

        Creating the same order again is idempotent; a different order under the
        same id raises :class:`~govkit.errors.PaymentOrderRejected`. Events that
        arrived before the order (quarantined as ``unknown_order``) go back to
        ``pending`` and are processed now (by this inbox if it has the
        application's handler, else by the worker); the order is returned as it
        stands afterwards.
        """
        now = resolve_time(self._clock, at)
        try:
            provider = Provider(provider)
        except ValueError:
            raise PaymentOrderRejected("unknown provider") from None
        if not isinstance(order_id, str) or not order_id or len(order_id) > 128:
            raise PaymentOrderRejected("the order id must be 1-128 characters")
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            raise PaymentOrderRejected("the amount must be a positive integer of minor units")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
            raise PaymentOrderRejected("the currency must be an upper-case ISO 4217 code")
        stamp = us(now)
        chosen = provider

        def job(tx: Tx) -> tuple[Order, list[tuple[int, str, str]]]:
            order = store.insert_order(
                tx,
                order_id,
                provider=chosen,
                amount=amount,
                currency=currency,
                merchant_id=merchant_id,
                now=stamp,
            )
            return order, store.wake_unknown_order(tx, order_id, stamp)

        order, woken = self._group.run(job)
        for pk, woken_provider, woken_id in woken:
            self._audit_release(woken_provider, woken_id, order_id, now)
            with contextlib.suppress(PaymentStoreError):  # pending: the re-drive takes it
                self._redrive(pk, now)
        if woken:  # as it stands after the events that were waiting for it
            order = store.read_order(self._db, order_id) or order
        if (order.provider, order.amount, order.currency, order.merchant_id) != (
            provider,
            amount,
            currency,
            merchant_id,
        ):
            raise PaymentOrderRejected("another order with this id exists", order_id=order_id)
        return order

    async def acreate_order(
        self,
        order_id: str,
        *,
        provider: Provider | str,
        amount: int,
        currency: str = "CNY",
        merchant_id: str | None = None,
        at: datetime | None = None,
    ) -> Order:
        """:meth:`create_order` for asyncio, on govkit's thread pool (see :meth:`areceive`)."""
        return await offload(
            self.create_order,
            order_id,
            provider=provider,
            amount=amount,
            currency=currency,
            merchant_id=merchant_id,
            at=at,
        )

    def order(self, order_id: str) -> Order | None:
        """The stored order, or ``None`` when no order has that id."""
        return store.read_order(self._db, order_id)

    async def aorder(self, order_id: str) -> Order | None:
        """:meth:`order` for asyncio, on govkit's thread pool."""
        return await offload(self.order, order_id)

    def quarantine(self) -> list[tuple[str, str, str]]:
        """Quarantined events not yet released, as ``(event_id, order_id, reason)``."""
        return store.quarantined(self._db)

    # -- reading -----------------------------------------------------------------

    def _single(self, event_id: str, provider: Provider | str | None) -> store.EventRow:
        rows = store.find_events(
            self._db, event_id, None if provider is None else Provider(provider)
        )
        if len(rows) != 1:  # the store answered: a lookup that found nothing, not a failure
            raise PaymentEventUnknown(
                "no stored event has that id"
                if not rows
                else "several providers use that event id; give the provider",
                matches=len(rows),
                event_id=event_id[:64],
            )
        return rows[0]

    def _record_of(self, pk: int) -> EventRecord:
        row = store.event_by_pk(self._db, pk)
        if row is None:  # pragma: no cover - events are never deleted
            raise PaymentStoreError("a stored event vanished")
        return _record(row)

    def event(self, event_id: str, *, provider: Provider | str | None = None) -> EventRecord:
        """The stored event with ``event_id`` (the provider's id, or the dedup key).

        Raises:
            PaymentEventUnknown: no such event, or several providers use that id.
        """
        return _record(self._single(event_id, provider))

    async def aevent(self, event_id: str, *, provider: Provider | str | None = None) -> EventRecord:
        """:meth:`event` for asyncio, on govkit's thread pool."""
        return await offload(self.event, event_id, provider=provider)

    def events(
        self,
        *,
        state: EventState | str | None = None,
        provider: Provider | str | None = None,
        kind: EventKind | str | None = None,
        limit: int = 100,
    ) -> list[EventRecord]:
        """Stored events, newest first, optionally filtered by state, provider and kind."""
        filters = [
            (column, value)
            for column, value in (
                ("state", None if state is None else str(EventState(state))),
                ("provider", None if provider is None else str(Provider(provider))),
                ("kind", None if kind is None else str(EventKind(kind))),
            )
            if value is not None
        ]
        return [_record(r) for r in store.list_events(self._db, filters, limit)]

    def stats(self) -> dict[str, int]:
        """Counts: deliveries, rejected deliveries, events, and events per state."""
        return store.counts(self._db)

    def deliveries(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The latest deliveries (newest first): id, provider, time, source, result, event,
        the body's size, whether only an excerpt was kept (a refused delivery), the
        SHA-256 of the body received (``body_sha256``; ``None`` for a delivery stored
        before govkit recorded digests, until :meth:`purge` computes it) and when the
        body was replaced by that digest (``purged_at``, or ``None``)."""
        return store.latest_deliveries(self._db, limit)

    def delivery_body(self, delivery_id: int) -> tuple[dict[str, str], bytes]:
        """The stored headers and body of a delivery (for re-verification).

        For a refused delivery these are the excerpt kept (see :meth:`receive`).

        Raises:
            PaymentDeliveryUnknown: no stored delivery has that id.
            PaymentBodyPurged: :meth:`purge` replaced the body and headers by their
                digest (``body_sha256`` in the error's context) after the retention.
        """
        return store.delivery(self._db, delivery_id)

    # -- retention ---------------------------------------------------------------

    @property
    def body_retention(self) -> timedelta | None:
        """How long :meth:`purge` leaves delivery bodies (``None``: for ever)."""
        return self._retention

    def purge(self, *, now: datetime | None = None) -> int:
        """Erase what the retention no longer covers; return how many deliveries changed.

        With ``body_retention`` ``R``, for every delivery received at or before
        ``now - R``:

        * a verified delivery whose event is ``processed`` keeps its row (provider,
          time, source, result, event, size) and the SHA-256 of its body
          (``body_sha256``), while its raw body and headers are erased
          (:meth:`delivery_body` then raises
          :class:`~govkit.errors.PaymentBodyPurged`). Nothing decided is lost: the
          event row keeps its content digest, so a later delivery of the same event
          is still a duplicate, and one with other content still a conflict;
        * a refused delivery (metadata and its excerpt) is deleted.

        A delivery of an event not finished (pending, processing, failed, deferred,
        quarantined or in conflict) keeps its body, whatever its age. The work is done
        in batches of :data:`~govkit.payments._inbox_store.PURGE_BATCH` deliveries, one
        transaction each, so callbacks keep arriving meanwhile. Run it daily (``govkit
        db purge STORE --component payments``, or a scheduled call). ``now`` defaults
        to the inbox's clock.

        Raises:
            PaymentStoreError: the store failed (what earlier batches did stays done).
        """
        when = resolve_time(self._clock, now)
        if self._retention is None:
            return 0
        cutoff, stamp, limit = us(when - self._retention), us(when), store.PURGE_BATCH
        total = 0
        for step in (
            partial(store.purge_bodies, cutoff=cutoff, now=stamp, limit=limit),
            partial(store.purge_refused, cutoff=cutoff, limit=limit),
        ):
            while True:
                done = self._group.run(step)
                total += done
                if done < limit:
                    break
        return total

    async def apurge(self, *, now: datetime | None = None) -> int:
        """:meth:`purge` for asyncio, on govkit's thread pool (see :meth:`areceive`).

        Same parameters, return and errors. A cancelled call that has started runs
        to its end on the pool; the batches it committed stay done, as with
        :meth:`purge` interrupted by an error.
        """
        return await offload(self.purge, now=now)

    # -- audit -------------------------------------------------------------------

    def _audit_outcome(self, outcome: _Outcome, now: datetime) -> None:
        event = outcome.event
        if self._audit is None or event is None:
            return
        if outcome.transition is not None:
            self._audit_transition(event, outcome.transition, now)
        if outcome.conflict is not None:
            stored, new = outcome.conflict
            self._audit.append(
                AuditEvent(
                    occurred_at=now,
                    actor_id=str(event.provider),
                    actor_type="payment_provider",
                    action="payment.conflict",
                    resource_type="payment_event",
                    resource_id=f"{event.provider}:{event.event_id}"[:1024],
                    outcome="failure",
                    reason="payment.conflict",
                    details={"stored_digest": stored, "conflicting_digest": new},
                    personal=frozenset(),
                )
            )
        if outcome.failure is not None:
            self._audit_state(event, "payment.handle", "failure", now, outcome.failure)

    def _audit_verify(
        self,
        provider: Provider,
        event: PaymentEvent | None,
        error: PaymentError | None,
        source: str | None,
        now: datetime,
    ) -> None:
        if self._audit is None:
            return
        self._audit.append(
            AuditEvent(
                occurred_at=now,
                actor_id=str(provider),
                actor_type="payment_provider",
                action="payment.verify",
                resource_type="payment_event",
                resource_id=None if event is None else f"{provider}:{event.event_id}"[:1024],
                client_address=None if source is None else source[: store.SOURCE_LIMIT],
                outcome="success" if error is None else "denied",
                reason=None if error is None else error.code,
                details={} if event is None else {"kind": str(event.kind)},
                personal=frozenset({"client_address"}) if source else frozenset(),
            )
        )

    def _audit_transition(self, event: PaymentEvent, transition: Transition, now: datetime) -> None:
        if self._audit is None:
            return
        outcome = "failure" if transition.result is ApplyResult.QUARANTINED else "success"
        self._audit.append(
            AuditEvent(
                occurred_at=now,
                actor_id=str(event.provider),
                actor_type="payment_provider",
                action=f"payment.order.{transition.result}",
                resource_type="payment_order",
                resource_id=event.order_id,
                outcome=outcome,
                reason=transition.reason or None,
                details={
                    "event_id": event.event_id[:256],
                    "before": None if transition.before is None else str(transition.before),
                    "after": None if transition.after is None else str(transition.after),
                },
                personal=frozenset(),
            )
        )

    def _audit_state(
        self, event: PaymentEvent, action: str, outcome: str, now: datetime, reason: str
    ) -> None:
        if self._audit is None:
            return
        self._audit.append(
            AuditEvent(
                occurred_at=now,
                actor_id=str(event.provider),
                actor_type="payment_provider",
                action=action,
                resource_type="payment_event",
                resource_id=f"{event.provider}:{event.event_id}"[:1024],
                outcome=outcome,
                reason=reason[:128],
                personal=frozenset(),
            )
        )

    def _audit_release(self, provider: str, event_id: str, order_id: str, now: datetime) -> None:
        if self._audit is None:
            return
        self._audit.append(
            AuditEvent(
                occurred_at=now,
                actor_id="govkit",
                actor_type="system",
                action="payment.release",
                resource_type="payment_event",
                resource_id=f"{provider}:{event_id}"[:1024],
                outcome="success",
                reason="order_created",
                details={"order_id": order_id[:256]},
                personal=frozenset(),
            )
        )

    def close(self) -> None:
        """Release the connection."""
        self._db.close()

    def __enter__(self) -> PaymentInbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PaymentInbox({self.url!r})"


def _write_ends(ends: Mapping[int, _Unrecorded], stamp: int, tx: Tx) -> None:
    """Record how at-least-once handler runs ended (each only while its claim holds)."""
    for pk, end in ends.items():
        if end.failure is None:
            store.mark_processed(tx, pk, stamp, token=end.token)
        else:
            store.mark_failed(
                tx, pk, stamp, error=end.failure, retry_at=end.retry_at, token=end.token
            )


def _after_ends(
    ends: Mapping[int, _Unrecorded], stamp: int, job: Callable[[Tx], _Outcome], tx: Tx
) -> _Outcome:
    _write_ends(ends, stamp, tx)
    return job(tx)


def _call(handler: TransactionalHandler, event: PaymentEvent, tx: Tx) -> str | None:
    """Run a transactional handler; the name of what failed, or ``None``."""
    view = HandlerTransaction(tx)
    try:
        handler(event, view)
    except Exception as exc:
        return type(exc).__name__
    finally:
        view.close()
    return "PaymentStoreError" if view.failed else None
