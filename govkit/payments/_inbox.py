"""The payment inbox: persist every delivery, deduplicate, process exactly once, acknowledge.

One schema on SQLite (embedded default) and PostgreSQL. Every delivery is stored
with its raw headers, body, source address and verification result. Verified
events carry a unique key on ``(provider, dedup_key)``; a delivery that inserts or
finds a claimable event *claims* it with one conditional ``UPDATE`` (only one
worker can win), so concurrent duplicates run the order update and the handler
once. Order updates happen in the same transaction that marks the event applied;
a handler error marks the event ``failed`` (retryable) and answers the provider
with a retry acknowledgement.

The inbox runs on the SQL layer every govkit store shares (``govkit.stores._sql``):
after a PostgreSQL restart the call that meets the dead connection fails with
:class:`~govkit.errors.PaymentStoreError` (a delivery is never written twice behind
the caller's back: the provider retries, and the dedup key makes the retry count
once) and the next call reconnects; a busy store raises
:class:`~govkit.errors.PaymentStoreLocked`; the schema version is recorded in
``govkit_schema``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from govkit.audit import AuditEvent, AuditLog
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    PaymentError,
    PaymentKeyRefreshFailed,
    PaymentOrderRejected,
    PaymentStoreError,
    PaymentStoreLocked,
    PaymentStoreSchemaError,
    PaymentVerificationError,
)
from govkit.payments._event import (
    MAX_AMOUNT,
    Acknowledgement,
    EventKind,
    PaymentEvent,
    PaymentProvider,
    Provider,
)
from govkit.payments._orders import ApplyResult, Order, OrderState, Transition, apply_event
from govkit.stores import SchemaUpgrade
from govkit.stores._sql import (
    Database,
    Errors,
    Schema,
    Tx,
    is_postgres_url,
    open_database,
    upgrade_database,
)

__all__ = [
    "DeliveryStatus",
    "EventRecord",
    "EventState",
    "Handler",
    "PaymentInbox",
    "Receipt",
    "upgrade_inbox",
]

#: An application's handler: called once per event, after the order was updated.
Handler = Callable[[PaymentEvent], None]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS payment_deliveries (
    id {serial},
    provider TEXT NOT NULL,
    received_us BIGINT NOT NULL,
    source TEXT,
    headers TEXT NOT NULL,
    body {blob} NOT NULL,
    result TEXT NOT NULL,
    event_pk BIGINT
);
CREATE TABLE IF NOT EXISTS payment_events (
    pk {serial},
    provider TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    event_json TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    deliveries INTEGER NOT NULL DEFAULT 1,
    claim TEXT,
    claimed_us BIGINT,
    order_applied INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    last_error TEXT,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    UNIQUE (provider, dedup_key)
);
CREATE INDEX IF NOT EXISTS payment_events_event_id ON payment_events (event_id);
CREATE INDEX IF NOT EXISTS payment_events_order ON payment_events (order_id, state);
CREATE INDEX IF NOT EXISTS payment_events_state ON payment_events (state);
CREATE TABLE IF NOT EXISTS payment_orders (
    order_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    merchant_id TEXT,
    state TEXT NOT NULL,
    refunded BIGINT NOT NULL DEFAULT 0,
    transaction_id TEXT,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS payment_orders_txn ON payment_orders (transaction_id);
CREATE TABLE IF NOT EXISTS payment_quarantine (
    id {serial},
    event_pk BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_us BIGINT NOT NULL
)
"""

#: The inbox tables' schema. Version 1 is the schema govkit 0.1 wrote (without a
#: ``govkit_schema`` row).
SCHEMA: Final = Schema(component="payments", version=1, create=(_SCHEMA,), marker="payment_events")
_ERRORS: Final = Errors(
    PaymentStoreError, PaymentStoreLocked, PaymentStoreSchemaError, "the payment inbox"
)

_EVENT_COLUMNS: Final = (
    "pk, provider, event_id, order_id, kind, amount, currency, state, attempts, deliveries, "
    "result, last_error, event_json"
)


class EventState(StrEnum):
    """Where a stored event stands in processing."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    DEFERRED = "deferred"
    QUARANTINED = "quarantined"


class DeliveryStatus(StrEnum):
    """What the inbox did with one delivery."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    DEFERRED = "deferred"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of :meth:`PaymentInbox.receive`: what happened and what to answer.

    ``ack`` is the exact HTTP answer the provider expects; ``code`` is the error
    code of a rejected or failed delivery.
    """

    status: DeliveryStatus
    ack: Acknowledgement
    delivery_id: int
    event: PaymentEvent | None = None
    transition: Transition | None = None
    code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "status": str(self.status),
            "http_status": self.ack.status,
            "delivery_id": self.delivery_id,
            "event": None if self.event is None else self.event.to_dict(),
            "transition": None if self.transition is None else self.transition.to_dict(),
            "code": self.code,
        }


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event with its processing state."""

    pk: int
    event: PaymentEvent
    state: EventState
    attempts: int
    deliveries: int
    result: str | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            **self.event.to_dict(),
            "state": str(self.state),
            "attempts": self.attempts,
            "deliveries": self.deliveries,
            "result": self.result,
            "last_error": self.last_error,
        }


def _us(value: datetime) -> int:
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))


def _event_json(event: PaymentEvent) -> str:
    return json.dumps(
        {**event.to_dict(), "raw": dict(event.raw)}, ensure_ascii=False, sort_keys=True
    )


def _event_from_json(text: str) -> PaymentEvent:
    try:
        data = json.loads(text)
        return PaymentEvent(
            provider=Provider(data["provider"]),
            event_id=data["event_id"],
            kind=EventKind(data["kind"]),
            order_id=data["order_id"],
            transaction_id=data["transaction_id"],
            amount=data["amount"],
            currency=data["currency"],
            payer_amount=data["payer_amount"],
            total=data["total"],
            refunded_total=data.get("refunded_total"),
            merchant_id=data["merchant_id"],
            refund_id=data["refund_id"],
            status=data["status"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            raw=data["raw"],
        )
    except (ValueError, KeyError, TypeError, PaymentError):
        raise PaymentStoreError("a stored event is damaged") from None


def _open(url: str | Path, *, durable: bool, busy_timeout: float, read_only: bool) -> Database:
    text = str(url)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text and not is_postgres_url(text):
        raise ConfigurationError("the inbox URL must be sqlite:///path or postgresql://...")
    return open_database(
        text,
        schema=SCHEMA,
        errors=_ERRORS,
        read_only=read_only,
        durable=durable,
        busy_timeout=busy_timeout,
    )


def upgrade_inbox(url: str | Path) -> SchemaUpgrade | None:
    """Bring the inbox tables in ``url`` to this release's schema (``govkit db upgrade``).

    A :class:`PaymentInbox` upgrades on open anyway; this is for operators. Returns
    ``None`` when the store holds no inbox (nothing is created).

    Raises:
        PaymentStoreError: the store cannot be reached or written.
        PaymentStoreSchemaError: its schema is newer than this release.
    """
    text = str(url)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text and not is_postgres_url(text):
        raise ConfigurationError("the inbox URL must be sqlite:///path or postgresql://...")
    return upgrade_database(text, schema=SCHEMA, errors=_ERRORS)


_CLAIMABLE = ("pending", "failed")


class PaymentInbox:
    """Receives provider callbacks exactly once and keeps the order book.

    >>> import tempfile, os
    >>> from govkit.payments import PaymentInbox
    >>> inbox = PaymentInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> inbox.create_order("GOV-1", provider="stripe", amount=5000, currency="CNY").state
    <OrderState.CREATED: 'created'>
    >>> inbox.close()

    Args:
        url: ``sqlite:///path``, a file path (SQLite) or ``postgresql://...``.
        handler: called once per new event, after its order was updated; an
            exception leaves the event ``failed`` and retryable.
        orders: apply events to the order book (``False``: store and hand over only).
        audit: an :class:`~govkit.audit.AuditLog` that receives every verification
            outcome and every state change.
        clock: time source.
        lease: how long a claim stays exclusive before another worker may retry it.
        durable: SQLite ``synchronous=FULL`` (``False``: ``NORMAL``, faster, may lose
            the last commits on power loss but never corrupts).
        busy_timeout: seconds a SQLite writer waits for the lock before
            :class:`~govkit.errors.PaymentStoreLocked`.
        read_only: open for reading only (``show``, reconciliation): nothing is
            written, and :meth:`receive`, :meth:`create_order`, :meth:`replay` and
            :meth:`process_pending` raise :class:`~govkit.errors.PaymentStoreError`.

    Raises:
        PaymentStoreError: the store cannot be reached or opened.
        PaymentStoreSchemaError: its schema is newer than this release.
    """

    def __init__(
        self,
        url: str | Path,
        *,
        handler: Handler | None = None,
        orders: bool = True,
        audit: AuditLog | None = None,
        clock: Clock | None = None,
        lease: timedelta = timedelta(minutes=5),
        durable: bool = True,
        busy_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self._db = _open(url, durable=durable, busy_timeout=busy_timeout, read_only=read_only)
        self._handler = handler
        self._orders = orders
        self._audit = audit
        self._clock = clock or SystemClock()
        self._lease_us = int(lease.total_seconds() * 1_000_000)

    @property
    def url(self) -> str:
        """Where the inbox is (without a password)."""
        return self._db.url

    # -- receiving ---------------------------------------------------------------

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

        The delivery is stored whatever the verdict. A forged, stale or malformed
        callback is rejected (``provider.reject(retry=False)``); a duplicate of a
        stored event is acknowledged without processing it again; a handler error
        answers ``provider.reject(retry=True)`` so the provider retries.
        """
        now = resolve_time(self._clock, at)
        event: PaymentEvent | None = None
        error: PaymentError | None = None
        try:
            event = provider.parse(headers, body, at=now)
        except (PaymentVerificationError, PaymentKeyRefreshFailed) as exc:
            error = exc
        headers_json = json.dumps(dict(headers), ensure_ascii=False, sort_keys=True)
        result = "ok" if error is None else error.code
        pk: int | None = None
        claim: str | None = None
        new = False
        with self._db.transaction() as tx:
            if event is not None:
                pk, claim, new = self._record_event(tx, event, now)
            delivery_id = self._insert_delivery(
                tx,
                provider=provider.provider,
                now=now,
                source=source,
                headers_json=headers_json,
                body=body,
                result=result,
                event_pk=pk,
            )
        self._audit_verify(provider.provider, event, error, source, now)
        if error is not None or event is None:
            retry = isinstance(error, PaymentKeyRefreshFailed)
            return Receipt(
                DeliveryStatus.REJECTED,
                provider.reject(retry=retry),
                delivery_id,
                code=None if error is None else error.code,
            )
        assert pk is not None  # noqa: S101 - set with the event
        if claim is None:
            status = DeliveryStatus.PROCESSED if new else DeliveryStatus.DUPLICATE
            return Receipt(status, provider.acknowledge(), delivery_id, event)
        status, transition, code = self._process(pk, event, claim, now)
        ack = provider.reject(retry=True) if status is DeliveryStatus.FAILED else None
        return Receipt(status, ack or provider.acknowledge(), delivery_id, event, transition, code)

    def _insert_delivery(
        self,
        tx: Tx,
        *,
        provider: Provider,
        now: datetime,
        source: str | None,
        headers_json: str,
        body: bytes,
        result: str,
        event_pk: int | None,
    ) -> int:
        rows = tx.run(
            "INSERT INTO payment_deliveries"
            " (provider, received_us, source, headers, body, result, event_pk)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (str(provider), _us(now), source, headers_json, body, result, event_pk),
        )
        return int(rows[0][0])

    def _record_event(
        self, tx: Tx, event: PaymentEvent, now: datetime
    ) -> tuple[int, str | None, bool]:
        """Insert or find the event; claim it when it is new or retryable.

        With no order book and no handler there is nothing to process: a new event is
        stored ``done`` in the same transaction (one commit per delivery).
        """
        token = secrets.token_hex(8)
        stamp = _us(now)
        nothing_to_do = self._handler is None and not self._orders
        conflict = " ON CONFLICT (provider, dedup_key) DO NOTHING"
        insert = (
            "INSERT INTO payment_events (provider, dedup_key, event_id, order_id, kind, amount,"
            " currency, event_json, state, claim, claimed_us, created_us, updated_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + conflict + " RETURNING pk"
        )
        rows = tx.run(
            insert,
            (
                str(event.provider),
                event.dedup_key,
                event.event_id,
                event.order_id,
                str(event.kind),
                event.amount,
                event.currency,
                _event_json(event),
                "done" if nothing_to_do else "processing",
                None if nothing_to_do else token,
                stamp,
                stamp,
                stamp,
            ),
        )
        if rows:
            pk = int(rows[0][0])
            claimed: str | None = None if nothing_to_do else token
            new = True
        else:
            found = tx.run(
                "SELECT pk FROM payment_events WHERE provider = ? AND dedup_key = ?",
                (str(event.provider), event.dedup_key),
            )
            pk = int(found[0][0])
            tx.run(
                "UPDATE payment_events SET deliveries = deliveries + 1,"
                " claim = CASE WHEN state IN ('pending', 'failed')"
                " OR (state = 'processing' AND claimed_us < ?) THEN ? ELSE claim END,"
                " claimed_us = CASE WHEN state IN ('pending', 'failed')"
                " OR (state = 'processing' AND claimed_us < ?) THEN ? ELSE claimed_us END,"
                " state = CASE WHEN state IN ('pending', 'failed')"
                " OR (state = 'processing' AND claimed_us < ?) THEN 'processing' ELSE state END"
                " WHERE pk = ?",
                (
                    stamp - self._lease_us,
                    token,
                    stamp - self._lease_us,
                    stamp,
                    stamp - self._lease_us,
                    pk,
                ),
            )
            mine = tx.run("SELECT claim FROM payment_events WHERE pk = ?", (pk,))
            claimed = token if mine and mine[0][0] == token else None
            new = False
        return pk, claimed, new

    # -- processing --------------------------------------------------------------

    def _process(
        self, pk: int, event: PaymentEvent, token: str, now: datetime
    ) -> tuple[DeliveryStatus, Transition | None, str | None]:
        transition: Transition | None = None
        if self._orders:
            transition = self._apply_order(pk, event, token, now)
            if transition is not None and transition.reason == "claim_lost":
                return DeliveryStatus.DUPLICATE, None, None
            if transition is not None and transition.result is ApplyResult.DEFERRED:
                return DeliveryStatus.DEFERRED, transition, None
            if transition is not None and transition.result is ApplyResult.QUARANTINED:
                return DeliveryStatus.QUARANTINED, transition, f"order.{transition.reason}"
        if self._handler is not None:
            try:
                self._handler(event)
            except Exception as exc:
                self._finish(pk, token, EventState.FAILED, now, error=type(exc).__name__)
                self._audit_state(event, "payment.handle", "failure", now, type(exc).__name__)
                return DeliveryStatus.FAILED, transition, "payment.handler_failed"
        self._finish(pk, token, EventState.DONE, now)
        if transition is not None and transition.after is OrderState.PAID:
            self._wake_deferred(event.order_id, now)
        return DeliveryStatus.PROCESSED, transition, None

    def _apply_order(
        self, pk: int, event: PaymentEvent, token: str, now: datetime
    ) -> Transition | None:
        stamp = _us(now)
        with self._db.transaction() as tx:
            rows = tx.run(
                "SELECT order_applied, result FROM payment_events WHERE pk = ? AND claim = ?",
                (pk, token),
            )
            if not rows:  # another worker took over a lapsed claim
                return Transition(ApplyResult.UNCHANGED, None, None, "claim_lost")
            if int(rows[0][0]):
                return None  # applied on an earlier attempt; only the handler is retried
            order = self._load_order(tx, event)
            transition, after = apply_event(order, event, now)
            if transition.result is ApplyResult.APPLIED and after is not None:
                tx.run(
                    "UPDATE payment_orders SET state = ?, refunded = ?, transaction_id = ?,"
                    " updated_us = ? WHERE order_id = ?",
                    (str(after.state), after.refunded, after.transaction_id, stamp, after.order_id),
                )
            state = {
                ApplyResult.DEFERRED: "deferred",
                ApplyResult.QUARANTINED: "quarantined",
            }.get(transition.result)
            if transition.result is ApplyResult.QUARANTINED:
                tx.run(
                    "INSERT INTO payment_quarantine (event_pk, order_id, reason, created_us)"
                    " VALUES (?, ?, ?, ?)",
                    (pk, event.order_id, transition.reason, stamp),
                )
            if state is None:
                tx.run(
                    "UPDATE payment_events SET order_applied = 1, result = ?, updated_us = ?"
                    " WHERE pk = ?",
                    (str(transition.result), stamp, pk),
                )
            else:
                tx.run(
                    "UPDATE payment_events SET state = ?, result = ?, claim = NULL,"
                    " order_applied = ?, updated_us = ? WHERE pk = ?",
                    (state, transition.reason, int(state == "quarantined"), stamp, pk),
                )
        self._audit_transition(event, transition, now)
        return transition

    def _load_order(self, tx: Tx, event: PaymentEvent) -> Order | None:
        lock = " FOR UPDATE" if tx.postgres else ""
        columns = (
            "order_id, provider, amount, currency, merchant_id, state, refunded,"
            " transaction_id, created_us, updated_us"
        )
        rows = tx.run(
            f"SELECT {columns} FROM payment_orders WHERE order_id = ?{lock}", (event.order_id,)
        )
        if not rows and event.transaction_id:
            rows = tx.run(
                f"SELECT {columns} FROM payment_orders"
                f" WHERE transaction_id = ? AND provider = ?{lock}",
                (event.transaction_id, str(event.provider)),
            )
        return _order(rows[0]) if rows else None

    def _finish(
        self, pk: int, token: str, state: EventState, now: datetime, error: str | None = None
    ) -> None:
        with self._db.transaction() as tx:
            tx.run(
                "UPDATE payment_events SET state = ?, claim = NULL, updated_us = ?,"
                " attempts = attempts + 1, last_error = ? WHERE pk = ? AND claim = ?",
                (str(state), _us(now), error, pk, token),
            )

    def _wake_deferred(self, order_id: str, now: datetime) -> None:
        """Re-run refunds that arrived before the payment of ``order_id``."""
        with self._db.transaction() as tx:
            rows = tx.run(
                "SELECT pk FROM payment_events WHERE order_id = ? AND state = 'deferred'",
                (order_id,),
            )
            tx.run(
                "UPDATE payment_events SET state = 'pending' WHERE order_id = ?"
                " AND state = 'deferred'",
                (order_id,),
            )
        for (pk,) in rows:
            self._retry(int(pk), now)

    def _claim(self, pk: int, now: datetime) -> tuple[str, PaymentEvent] | None:
        token = secrets.token_hex(8)
        stamp = _us(now)
        with self._db.transaction() as tx:
            tx.run(
                "UPDATE payment_events SET state = 'processing', claim = ?, claimed_us = ?"
                " WHERE pk = ? AND (state IN ('pending', 'failed')"
                " OR (state = 'processing' AND claimed_us < ?))",
                (token, stamp, pk, stamp - self._lease_us),
            )
            rows = tx.run("SELECT claim, event_json FROM payment_events WHERE pk = ?", (pk,))
        if not rows or rows[0][0] != token:
            return None
        return token, _event_from_json(str(rows[0][1]))

    def _retry(self, pk: int, now: datetime) -> tuple[DeliveryStatus, Transition | None] | None:
        claimed = self._claim(pk, now)
        if claimed is None:
            return None
        token, event = claimed
        status, transition, _ = self._process(pk, event, token, now)
        return status, transition

    def process_pending(self, *, limit: int = 100, at: datetime | None = None) -> int:
        """Retry failed events and events whose claim lapsed; return how many were processed."""
        now = resolve_time(self._clock, at)
        with self._db.transaction() as tx:
            rows = tx.run(
                "SELECT pk FROM payment_events WHERE state IN ('pending', 'failed')"
                " OR (state = 'processing' AND claimed_us < ?) ORDER BY pk LIMIT ?",
                (_us(now) - self._lease_us, limit),
            )
        done = 0
        for (pk,) in rows:
            outcome = self._retry(int(pk), now)
            if outcome is not None and outcome[0] is DeliveryStatus.PROCESSED:
                done += 1
        return done

    def replay(
        self, event_id: str, *, provider: Provider | str | None = None, at: datetime | None = None
    ) -> EventRecord:
        """Process a stored event again if it is failed, pending or lapsed; return its record.

        An event already done, deferred or quarantined is left as it is (forward only).

        Raises:
            PaymentStoreError: no stored event has that id.
        """
        now = resolve_time(self._clock, at)
        record = self.event(event_id, provider=provider)
        self._retry(record.pk, now)
        return self.event(event_id, provider=provider)

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
        same id raises :class:`~govkit.errors.PaymentOrderRejected`.
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
        stamp = _us(now)
        with self._db.transaction() as tx:
            tx.run(
                "INSERT INTO payment_orders (order_id, provider, amount, currency, merchant_id,"
                " state, created_us, updated_us) VALUES (?, ?, ?, ?, ?, 'created', ?, ?)"
                " ON CONFLICT (order_id) DO NOTHING",
                (order_id, str(provider), amount, currency, merchant_id, stamp, stamp),
            )
            rows = tx.run(
                "SELECT order_id, provider, amount, currency, merchant_id, state, refunded,"
                " transaction_id, created_us, updated_us FROM payment_orders WHERE order_id = ?",
                (order_id,),
            )
        order = _order(rows[0])
        if (order.provider, order.amount, order.currency, order.merchant_id) != (
            provider,
            amount,
            currency,
            merchant_id,
        ):
            raise PaymentOrderRejected("another order with this id exists", order_id=order_id)
        return order

    def order(self, order_id: str) -> Order | None:
        """The stored order, or ``None`` when no order has that id."""
        with self._db.transaction(write=False) as tx:
            rows = tx.run(
                "SELECT order_id, provider, amount, currency, merchant_id, state, refunded,"
                " transaction_id, created_us, updated_us FROM payment_orders WHERE order_id = ?",
                (order_id,),
            )
        return _order(rows[0]) if rows else None

    def quarantine(self) -> list[tuple[str, str, str]]:
        """Quarantined events as ``(event_id, order_id, reason)``, oldest first."""
        with self._db.transaction(write=False) as tx:
            rows = tx.run(
                "SELECT e.event_id, q.order_id, q.reason FROM payment_quarantine q"
                " JOIN payment_events e ON e.pk = q.event_pk ORDER BY q.id"
            )
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    # -- reading -----------------------------------------------------------------

    def event(self, event_id: str, *, provider: Provider | str | None = None) -> EventRecord:
        """The stored event with ``event_id`` (the provider's id, or the dedup key).

        Raises:
            PaymentStoreError: no such event, or several providers use that id.
        """
        where = "(event_id = ? OR dedup_key = ?)"
        params: list[Any] = [event_id, event_id]
        if provider is not None:
            where += " AND provider = ?"
            params.append(str(Provider(provider)))
        with self._db.transaction(write=False) as tx:
            rows = tx.run(
                f"SELECT {_EVENT_COLUMNS} FROM payment_events WHERE {where} ORDER BY pk",
                params,
            )
        if len(rows) != 1:
            raise PaymentStoreError(
                "no single stored event has that id", matches=len(rows), event_id=event_id[:64]
            )
        return _record(rows[0])

    def events(
        self,
        *,
        state: EventState | str | None = None,
        provider: Provider | str | None = None,
        kind: EventKind | str | None = None,
        limit: int = 100,
    ) -> list[EventRecord]:
        """Stored events, newest first, optionally filtered by state, provider and kind."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("state", None if state is None else str(EventState(state))),
            ("provider", None if provider is None else str(Provider(provider))),
            ("kind", None if kind is None else str(EventKind(kind))),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._db.transaction(write=False) as tx:
            rows = tx.run(
                f"SELECT {_EVENT_COLUMNS} FROM payment_events {where} ORDER BY pk DESC LIMIT ?",
                [*params, max(0, limit)],
            )
        return [_record(r) for r in rows]

    def stats(self) -> dict[str, int]:
        """Counts: deliveries, rejected deliveries, events, and events per state."""
        with self._db.transaction(write=False) as tx:
            deliveries = tx.run(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN result = 'ok' THEN 0 ELSE 1 END), 0)"
                " FROM payment_deliveries"
            )
            states = tx.run("SELECT state, COUNT(*) FROM payment_events GROUP BY state")
        counts = {"deliveries": int(deliveries[0][0]), "rejected": int(deliveries[0][1])}
        counts["events"] = sum(int(n) for _, n in states)
        counts.update({str(s): int(n) for s, n in states})
        return counts

    def deliveries(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The latest deliveries (newest first): id, provider, time, source, result, event."""
        with self._db.transaction(write=False) as tx:
            rows = tx.run(
                "SELECT d.id, d.provider, d.received_us, d.source, d.result, e.event_id"
                " FROM payment_deliveries d LEFT JOIN payment_events e ON e.pk = d.event_pk"
                " ORDER BY d.id DESC LIMIT ?",
                (max(0, limit),),
            )
        return [
            {
                "delivery_id": int(i),
                "provider": str(p),
                "received_at": _from_us(int(t)).isoformat(),
                "source": s,
                "result": str(r),
                "event_id": e,
            }
            for i, p, t, s, r, e in rows
        ]

    def delivery_body(self, delivery_id: int) -> tuple[dict[str, str], bytes]:
        """The raw headers and body of a stored delivery (for re-verification)."""
        with self._db.transaction(write=False) as tx:
            rows = tx.run(
                "SELECT headers, body FROM payment_deliveries WHERE id = ?", (delivery_id,)
            )
        if not rows:
            raise PaymentStoreError("no delivery has that id", delivery_id=delivery_id)
        body = rows[0][1]
        return json.loads(rows[0][0]), bytes(body)

    # -- audit -------------------------------------------------------------------

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
                client_address=source,
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

    def close(self) -> None:
        """Release the connection."""
        self._db.close()

    def __enter__(self) -> PaymentInbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PaymentInbox({self.url!r})"


def _order(row: Sequence[Any]) -> Order:
    try:
        return Order(
            order_id=str(row[0]),
            provider=Provider(row[1]),
            amount=int(row[2]),
            currency=str(row[3]),
            merchant_id=None if row[4] is None else str(row[4]),
            state=OrderState(row[5]),
            refunded=int(row[6]),
            transaction_id=None if row[7] is None else str(row[7]),
            created_at=_from_us(int(row[8])),
            updated_at=_from_us(int(row[9])),
        )
    except (ValueError, TypeError):
        raise PaymentStoreError("a stored order is damaged") from None


def _record(row: Sequence[Any]) -> EventRecord:
    try:
        return EventRecord(
            pk=int(row[0]),
            event=_event_from_json(str(row[12])),
            state=EventState(row[7]),
            attempts=int(row[8]),
            deliveries=int(row[9]),
            result=None if row[10] is None else str(row[10]),
            last_error=None if row[11] is None else str(row[11]),
        )
    except (ValueError, TypeError):
        raise PaymentStoreError("a stored event row is damaged") from None
