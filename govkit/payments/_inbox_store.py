"""The payment inbox's SQL (private): its tables, their versions, its statements, group commit.

The state machine (what a delivery does to an event, when the provider hears
"success") lives in :mod:`govkit.payments._inbox`; this module only speaks SQL, on the
connection layer every govkit store shares (:mod:`govkit.stores._sql`).

Group commit: every write of the inbox goes through :class:`GroupCommit`. Deliveries
that arrive while a transaction is committing queue up, and the next transaction
runs all of them and commits once, so one ``fsync`` (SQLite ``synchronous=FULL``, or
PostgreSQL's WAL flush) covers several events. A job is a function of the open
transaction that returns plain data and has no other effect, so it can run again:
when a group's transaction fails, each of its jobs runs again in a transaction of its
own, and only the job that fails alone reports the error.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from govkit.errors import (
    ConfigurationError,
    PaymentBodyPurged,
    PaymentDeliveryUnknown,
    PaymentError,
    PaymentStoreError,
    PaymentStoreLocked,
    PaymentStoreSchemaError,
)
from govkit.payments._event import EventKind, PaymentEvent, Provider
from govkit.payments._orders import Order, OrderState
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

__all__ = ["HandlerTransaction"]

T = TypeVar("T")

#: At most this many bytes of a body that failed verification are kept.
BODY_EXCERPT: Final = 1024
#: At most this many bytes of its headers (as JSON) are kept.
HEADERS_EXCERPT: Final = 1024
#: The longest source address kept.
SOURCE_LIMIT: Final = 256

# Version 1: govkit 0.1 (no govkit_schema row). Version 2 adds what the state machine
# of govkit 0.2 needs: content digests and conflicts, retry times, released
# quarantine, excerpts of refused bodies; and calls a finished event "processed".
_V1: Final = """
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

_V2_COLUMNS: Final = """
ALTER TABLE payment_deliveries ADD COLUMN body_size BIGINT;
ALTER TABLE payment_deliveries ADD COLUMN excerpt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_events ADD COLUMN content_digest TEXT;
ALTER TABLE payment_events ADD COLUMN conflict_digest TEXT;
ALTER TABLE payment_events ADD COLUMN conflict_json TEXT;
ALTER TABLE payment_events ADD COLUMN conflict_us BIGINT;
ALTER TABLE payment_events ADD COLUMN next_attempt_us BIGINT;
ALTER TABLE payment_events ADD COLUMN needs_handler INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_events ADD COLUMN released_us BIGINT;
ALTER TABLE payment_quarantine ADD COLUMN released_us BIGINT;
ALTER TABLE payment_quarantine ADD COLUMN released_by TEXT;
ALTER TABLE payment_quarantine ADD COLUMN release_reason TEXT;
CREATE INDEX IF NOT EXISTS payment_quarantine_event ON payment_quarantine (event_pk)
"""

# Rows of govkit 0.1: "done" is now "processed"; a refused body keeps its first KiB
# and its size, its headers only when they are short (rule 15: never more than a small
# excerpt of unauthenticated input).
_V2_DATA: Final = """
UPDATE payment_events SET state = 'processed' WHERE state = 'done';
UPDATE payment_deliveries SET body_size = length(body) WHERE body_size IS NULL;
UPDATE payment_deliveries SET body = substr(body, 1, 1024), excerpt = 1
    WHERE result <> 'ok' AND length(body) > 1024;
UPDATE payment_deliveries SET headers = '{{}}', excerpt = 1
    WHERE result <> 'ok' AND length(headers) > 1024
"""

# Version 3 adds body retention: each delivery's SHA-256 (of the whole body received),
# and when its body and headers were replaced by that digest (``PaymentInbox.purge``).
# Deliveries stored before keep a NULL digest until a purge computes it.
_V3_COLUMNS: Final = """
ALTER TABLE payment_deliveries ADD COLUMN body_sha256 TEXT;
ALTER TABLE payment_deliveries ADD COLUMN purged_us BIGINT;
CREATE INDEX IF NOT EXISTS payment_deliveries_received ON payment_deliveries (received_us)
"""

#: The inbox tables' schema. Version 1 is what govkit 0.1 wrote (without a
#: ``govkit_schema`` row); version 2 is govkit 0.2's; version 3 is this release's
#: (body digests and retention). Readers need version 3.
SCHEMA: Final = Schema(
    component="payments",
    version=3,
    create=(_V1, _V2_COLUMNS, _V3_COLUMNS),
    marker="payment_events",
    upgrades={1: (_V2_COLUMNS, _V2_DATA), 2: (_V3_COLUMNS,)},
    readable_from=3,
)
ERRORS: Final = Errors(
    PaymentStoreError, PaymentStoreLocked, PaymentStoreSchemaError, "the payment inbox"
)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def us(value: datetime) -> int:
    """Microseconds since the Unix epoch."""
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The aware UTC time ``value`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=int(value))


def _target(url: str | Path) -> str:
    text = str(url)
    if text.startswith("sqlite:///"):
        return text[len("sqlite:///") :]
    if "://" in text and not is_postgres_url(text):
        raise ConfigurationError("the inbox URL must be sqlite:///path or postgresql://...")
    return text


def open_inbox_database(
    url: str | Path, *, durable: bool, busy_timeout: float, read_only: bool
) -> Database:
    """Open (creating or upgrading when writable) the inbox tables at ``url``."""
    return open_database(
        _target(url),
        schema=SCHEMA,
        errors=ERRORS,
        read_only=read_only,
        durable=durable,
        busy_timeout=busy_timeout,
    )


def upgrade_inbox(url: str | Path) -> SchemaUpgrade | None:
    """Bring the inbox tables in ``url`` to this release's schema (``govkit db upgrade``).

    A writable :class:`~govkit.payments.PaymentInbox` upgrades on open anyway; this is
    for operators, and for stores only read (``govkit payments show`` needs version 2).
    Returns ``None`` when the store holds no inbox (nothing is created).

    Raises:
        PaymentStoreError: the store cannot be reached or written.
        PaymentStoreSchemaError: its schema is newer than this release.
    """
    return upgrade_database(_target(url), schema=SCHEMA, errors=ERRORS)


# --- events as stored -------------------------------------------------------------


def event_json(event: PaymentEvent) -> str:
    """The stored form of a verified event (its fields and its raw payload)."""
    return json.dumps(
        {**event.to_dict(), "raw": dict(event.raw)}, ensure_ascii=False, sort_keys=True
    )


def event_from_json(text: str) -> PaymentEvent:
    """The event stored as ``text``.

    Raises:
        PaymentStoreError: the stored text is damaged.
    """
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


def body_digest(body: bytes) -> str:
    """The SHA-256 (hex) of a delivery's body, as received: what a purge keeps of it."""
    return hashlib.sha256(body).hexdigest()


def content_digest(event: PaymentEvent) -> str:
    """The digest of an event's business content: what a duplicate must repeat exactly.

    SHA-256 over the normalised kind, order id, amount, currency, refunded amount and
    provider transaction id: not over the raw body, so a provider's retry with a new
    ``notify_time`` and signature has the same digest, and one with another amount
    has another.
    """
    content = [
        "govkit.payment-content.v1",
        str(event.kind),
        event.order_id,
        event.amount,
        event.currency,
        event.refunded_total,
        event.transaction_id,
    ]
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """The processing columns of one event row, as a delivery or the re-drive finds them."""

    pk: int
    state: str
    content_digest: str | None
    event_json: str
    claim: str | None
    claimed_us: int | None
    order_applied: bool
    result: str | None
    conflict_digest: str | None
    needs_handler: bool
    released: bool
    attempts: int


_STORED: Final = (
    "pk, state, content_digest, event_json, claim, claimed_us, order_applied, result,"
    " conflict_digest, needs_handler, released_us, attempts"
)


def _stored(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        pk=int(row[0]),
        state=str(row[1]),
        content_digest=None if row[2] is None else str(row[2]),
        event_json=str(row[3]),
        claim=None if row[4] is None else str(row[4]),
        claimed_us=None if row[5] is None else int(row[5]),
        order_applied=bool(row[6]),
        result=None if row[7] is None else str(row[7]),
        conflict_digest=None if row[8] is None else str(row[8]),
        needs_handler=bool(row[9]),
        released=row[10] is not None,
        attempts=int(row[11]),
    )


# --- statements -------------------------------------------------------------------


def insert_event(
    tx: Tx,
    event: PaymentEvent,
    *,
    digest: str,
    state: str,
    needs_handler: bool,
    now: int,
) -> int | None:
    """Insert a new event; its primary key, or ``None`` when its dedup key is taken."""
    rows = tx.run(
        "INSERT INTO payment_events (provider, dedup_key, event_id, order_id, kind, amount,"
        " currency, event_json, state, attempts, content_digest, needs_handler, created_us,"
        " updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (provider, dedup_key) DO NOTHING RETURNING pk",
        (
            str(event.provider),
            event.dedup_key,
            event.event_id,
            event.order_id,
            str(event.kind),
            event.amount,
            event.currency,
            event_json(event),
            state,
            1 if state == "processed" else 0,
            digest,
            int(needs_handler),
            now,
            now,
        ),
    )
    return int(rows[0][0]) if rows else None


def insert_event_delivery(
    tx: Tx,
    event: PaymentEvent,
    *,
    digest: str,
    state: str,
    needs_handler: bool,
    now: int,
    source: str | None,
    headers: str,
    body: bytes,
) -> tuple[int | None, int]:
    """Insert a verified delivery and, unless its dedup key is taken, its event.

    Returns ``(event pk or None, delivery id)``. On PostgreSQL both rows go in one
    statement (one round trip); a delivery of a known event is linked to it with
    :func:`link_delivery`.
    """
    event_row = (
        str(event.provider),
        event.dedup_key,
        event.event_id,
        event.order_id,
        str(event.kind),
        event.amount,
        event.currency,
        event_json(event),
        state,
        1 if state == "processed" else 0,
        digest,
        int(needs_handler),
        now,
        now,
    )
    delivery_row = (
        str(event.provider),
        now,
        None if source is None else source[:SOURCE_LIMIT],
        headers,
        body,
        len(body),
        body_digest(body),
    )
    if tx.postgres:
        rows = tx.run(
            "WITH e AS (INSERT INTO payment_events (provider, dedup_key, event_id, order_id,"
            " kind, amount, currency, event_json, state, attempts, content_digest,"
            " needs_handler, created_us, updated_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (provider, dedup_key) DO NOTHING RETURNING pk),"
            " d AS (INSERT INTO payment_deliveries (provider, received_us, source, headers,"
            " body, body_size, body_sha256, excerpt, result, event_pk)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'ok', (SELECT pk FROM e)) RETURNING id)"
            " SELECT (SELECT pk FROM e), (SELECT id FROM d)",
            (*event_row, *delivery_row),
        )
        pk, delivery_id = rows[0]
        return (None if pk is None else int(pk)), int(delivery_id)
    inserted = insert_event(
        tx, event, digest=digest, state=state, needs_handler=needs_handler, now=now
    )
    delivery_id = insert_delivery(
        tx,
        provider=event.provider,
        now=now,
        source=source,
        headers=headers,
        body=body,
        body_size=len(body),
        body_sha256=body_digest(body),
        excerpt=False,
        result="ok",
        event_pk=inserted,
    )
    return inserted, delivery_id


def link_delivery(tx: Tx, delivery_id: int, pk: int) -> None:
    """Record that delivery ``delivery_id`` carried the known event ``pk``."""
    tx.run("UPDATE payment_deliveries SET event_pk = ? WHERE id = ?", (pk, delivery_id))


def touch_event(tx: Tx, provider: Provider, dedup_key: str) -> StoredEvent:
    """Count one more delivery of a stored event and return it (locked on PostgreSQL)."""
    rows = tx.run(
        f"UPDATE payment_events SET deliveries = deliveries + 1"
        f" WHERE provider = ? AND dedup_key = ? RETURNING {_STORED}",
        (str(provider), dedup_key),
    )
    if not rows:  # pragma: no cover - the insert just found the key taken
        raise PaymentStoreError("a stored event vanished while it was delivered again")
    return _stored(rows[0])


def lock_event(tx: Tx, pk: int) -> StoredEvent | None:
    """The event row ``pk``, locked until the transaction ends (SQLite: the write lock)."""
    lock = " FOR UPDATE" if tx.postgres else ""
    rows = tx.run(f"SELECT {_STORED} FROM payment_events WHERE pk = ?{lock}", (pk,))
    return _stored(rows[0]) if rows else None


def set_digest(tx: Tx, pk: int, digest: str) -> None:
    """Record the content digest of an event stored before digests were (schema 1)."""
    tx.run("UPDATE payment_events SET content_digest = ? WHERE pk = ?", (digest, pk))


def insert_delivery(
    tx: Tx,
    *,
    provider: Provider,
    now: int,
    source: str | None,
    headers: str,
    body: bytes,
    body_size: int,
    body_sha256: str,
    excerpt: bool,
    result: str,
    event_pk: int | None,
) -> int:
    """Store one delivery; its id. ``body_sha256`` is the digest of the whole body received."""
    rows = tx.run(
        "INSERT INTO payment_deliveries (provider, received_us, source, headers, body,"
        " body_size, body_sha256, excerpt, result, event_pk)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            str(provider),
            now,
            None if source is None else source[:SOURCE_LIMIT],
            headers,
            body,
            body_size,
            body_sha256,
            int(excerpt),
            result,
            event_pk,
        ),
    )
    return int(rows[0][0])


def headers_excerpt(headers: Mapping[str, str]) -> str:
    """The headers of a refused delivery as JSON, at most :data:`HEADERS_EXCERPT` bytes.

    Whole ``name: value`` pairs (each cut to 64 and 256 characters) are kept in
    name order while they fit; the result is always valid JSON.
    """
    kept: dict[str, str] = {}
    size = 2
    for name in sorted(str(k) for k in headers)[:64]:
        value = str(headers.get(name, ""))[:256]
        key = name[:64]
        cost = len(json.dumps({key: value}, ensure_ascii=False).encode("utf-8"))
        if size + cost > HEADERS_EXCERPT:
            break
        kept[key] = value
        size += cost
    return json.dumps(kept, ensure_ascii=False, sort_keys=True)


def claim(tx: Tx, pk: int, token: str, now: int) -> None:
    """Mark ``pk`` as being processed by the holder of ``token`` (an at-least-once handler)."""
    tx.run(
        "UPDATE payment_events SET state = 'processing', claim = ?, claimed_us = ?,"
        " updated_us = ? WHERE pk = ?",
        (token, now, now, pk),
    )


def mark_processed(tx: Tx, pk: int, now: int, *, token: str | None = None) -> bool:
    """Mark ``pk`` processed; with ``token``, only while that claim still holds it."""
    statement = (
        "UPDATE payment_events SET state = 'processed', claim = NULL, attempts = attempts + 1,"
        " order_applied = 1, last_error = NULL, next_attempt_us = NULL, updated_us = ?"
        " WHERE pk = ?"
    )
    if token is None:
        tx.run(statement, (now, pk))
        return True
    tx.run(statement + " AND claim = ? AND state = 'processing'", (now, pk, token))
    return tx.rowcount == 1


def mark_failed(
    tx: Tx, pk: int, now: int, *, error: str, retry_at: int, token: str | None = None
) -> bool:
    """Mark ``pk`` failed (retryable at ``retry_at``), releasing any claim."""
    statement = (
        "UPDATE payment_events SET state = 'failed', claim = NULL, attempts = attempts + 1,"
        " last_error = ?, next_attempt_us = ?, updated_us = ? WHERE pk = ?"
    )
    if token is None:
        tx.run(statement, (error[:128], retry_at, now, pk))
        return True
    tx.run(statement + " AND claim = ?", (error[:128], retry_at, now, pk, token))
    return tx.rowcount == 1


def mark_conflict(tx: Tx, pk: int, now: int, *, digest: str, conflicting: PaymentEvent) -> None:
    """Move ``pk`` to ``conflict``, recording the second content and its digest."""
    tx.run(
        "UPDATE payment_events SET state = 'conflict', claim = NULL, conflict_digest = ?,"
        " conflict_json = ?, conflict_us = ?, updated_us = ? WHERE pk = ?",
        (digest, event_json(conflicting), now, now, pk),
    )


def park(tx: Tx, pk: int, now: int, *, state: str, reason: str, order_applied: bool) -> None:
    """Leave ``pk`` deferred or quarantined (no handler runs)."""
    tx.run(
        "UPDATE payment_events SET state = ?, result = ?, claim = NULL, order_applied = ?,"
        " updated_us = ? WHERE pk = ?",
        (state, reason, int(order_applied), now, pk),
    )


def set_applied(tx: Tx, pk: int, result: str, now: int) -> None:
    """Record that the order step of ``pk`` is done, with its result."""
    tx.run(
        "UPDATE payment_events SET order_applied = 1, result = ?, updated_us = ? WHERE pk = ?",
        (result, now, pk),
    )


def quarantine(tx: Tx, pk: int, order_id: str, reason: str, now: int) -> None:
    """Add ``pk`` to the quarantine, unless it is there and not released."""
    rows = tx.run(
        "SELECT 1 FROM payment_quarantine WHERE event_pk = ? AND released_us IS NULL", (pk,)
    )
    if not rows:
        tx.run(
            "INSERT INTO payment_quarantine (event_pk, order_id, reason, created_us)"
            " VALUES (?, ?, ?, ?)",
            (pk, order_id, reason, now),
        )


def release_quarantine(tx: Tx, pk: int, now: int, *, by: str, reason: str) -> None:
    """Mark the quarantine entry of ``pk`` released."""
    tx.run(
        "UPDATE payment_quarantine SET released_us = ?, released_by = ?, release_reason = ?"
        " WHERE event_pk = ? AND released_us IS NULL",
        (now, by[:128], reason[:256], pk),
    )


def release_event(tx: Tx, pk: int, now: int) -> None:
    """Send a quarantined event back to ``pending``, marked released (after review)."""
    tx.run(
        "UPDATE payment_events SET state = 'pending', released_us = ?, order_applied = 0,"
        " next_attempt_us = NULL, updated_us = ? WHERE pk = ?",
        (now, now, pk),
    )


def wake_deferred(tx: Tx, order_id: str, now: int) -> list[int]:
    """Send the deferred refunds of ``order_id`` back to ``pending``; their keys."""
    rows = tx.run(
        "UPDATE payment_events SET state = 'pending', order_applied = 0, updated_us = ?"
        " WHERE order_id = ? AND state = 'deferred' RETURNING pk",
        (now, order_id),
    )
    return [int(r[0]) for r in rows]


def wake_unknown_order(tx: Tx, order_id: str, now: int) -> list[tuple[int, str, str]]:
    """Send events quarantined for want of ``order_id`` back to ``pending``.

    Returns their ``(pk, provider, event_id)``.
    """
    rows = tx.run(
        "UPDATE payment_events SET state = 'pending', order_applied = 0,"
        " next_attempt_us = NULL, updated_us = ? WHERE order_id = ? AND state = 'quarantined'"
        " AND result = 'unknown_order' RETURNING pk, provider, event_id",
        (now, order_id),
    )
    woken = [(int(pk), str(provider), str(event_id)) for pk, provider, event_id in rows]
    for pk, _, _ in woken:
        release_quarantine(tx, pk, now, by="govkit", reason="order_created")
    return woken


def due(tx: Tx, *, now: int, stranded_before: int, with_handler: bool, limit: int) -> list[int]:
    """Events the re-drive should take now, oldest first.

    Pending events; failed ones whose retry time has come; claims that lapsed (a
    worker died or lost its store); events quarantined for want of an order that
    exists now. An inbox without a handler leaves events that need one alone.
    """
    handler = "" if with_handler else " AND needs_handler = 0"
    rows = tx.run(
        "SELECT pk FROM payment_events WHERE (state = 'pending'"
        " OR (state = 'failed' AND (next_attempt_us IS NULL OR next_attempt_us <= ?))"
        " OR (state = 'processing' AND (claimed_us IS NULL OR claimed_us < ?))"
        " OR (state = 'quarantined' AND result = 'unknown_order' AND EXISTS"
        " (SELECT 1 FROM payment_orders o WHERE o.order_id = payment_events.order_id)))"
        f"{handler} ORDER BY pk LIMIT ?",
        (now, stranded_before, max(0, limit)),
    )
    return [int(r[0]) for r in rows]


# --- orders -----------------------------------------------------------------------

_ORDER_COLUMNS: Final = (
    "order_id, provider, amount, currency, merchant_id, state, refunded,"
    " transaction_id, created_us, updated_us"
)


def order_from_row(row: Sequence[Any]) -> Order:
    """An :class:`Order` from its row.

    Raises:
        PaymentStoreError: the row is damaged.
    """
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
            created_at=from_us(int(row[8])),
            updated_at=from_us(int(row[9])),
        )
    except (ValueError, TypeError):
        raise PaymentStoreError("a stored order is damaged") from None


def load_order(tx: Tx, event: PaymentEvent) -> Order | None:
    """The order ``event`` belongs to (by order id, else by transaction id), locked."""
    lock = " FOR UPDATE" if tx.postgres else ""
    rows = tx.run(
        f"SELECT {_ORDER_COLUMNS} FROM payment_orders WHERE order_id = ?{lock}",
        (event.order_id,),
    )
    if not rows and event.transaction_id:
        rows = tx.run(
            f"SELECT {_ORDER_COLUMNS} FROM payment_orders"
            f" WHERE transaction_id = ? AND provider = ?{lock}",
            (event.transaction_id, str(event.provider)),
        )
    return order_from_row(rows[0]) if rows else None


def update_order(tx: Tx, order: Order, now: int) -> None:
    """Store the order's new state."""
    tx.run(
        "UPDATE payment_orders SET state = ?, refunded = ?, transaction_id = ?,"
        " updated_us = ? WHERE order_id = ?",
        (str(order.state), order.refunded, order.transaction_id, now, order.order_id),
    )


def insert_order(
    tx: Tx,
    order_id: str,
    *,
    provider: Provider,
    amount: int,
    currency: str,
    merchant_id: str | None,
    now: int,
) -> Order:
    """Insert the order unless one has that id; the stored order."""
    tx.run(
        "INSERT INTO payment_orders (order_id, provider, amount, currency, merchant_id,"
        " state, created_us, updated_us) VALUES (?, ?, ?, ?, ?, 'created', ?, ?)"
        " ON CONFLICT (order_id) DO NOTHING",
        (order_id, str(provider), amount, currency, merchant_id, now, now),
    )
    rows = tx.run(f"SELECT {_ORDER_COLUMNS} FROM payment_orders WHERE order_id = ?", (order_id,))
    return order_from_row(rows[0])


def read_order(db: Database, order_id: str) -> Order | None:
    """The stored order, or ``None``."""
    with db.transaction(write=False) as tx:
        rows = tx.run(
            f"SELECT {_ORDER_COLUMNS} FROM payment_orders WHERE order_id = ?", (order_id,)
        )
    return order_from_row(rows[0]) if rows else None


# --- reading events ---------------------------------------------------------------

#: The columns :func:`record_fields` reads, in its order.
EVENT_COLUMNS: Final = (
    "pk, provider, event_id, order_id, kind, amount, currency, state, attempts, deliveries,"
    " result, last_error, event_json, content_digest, conflict_digest, conflict_json,"
    " next_attempt_us, released_us"
)


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event row as read for display (decoded by the state machine)."""

    pk: int
    state: str
    attempts: int
    deliveries: int
    result: str | None
    last_error: str | None
    event_json: str
    content_digest: str | None
    conflict_digest: str | None
    conflict_json: str | None
    next_attempt_us: int | None
    released_us: int | None


def _event_row(row: Sequence[Any]) -> EventRow:
    try:
        return EventRow(
            pk=int(row[0]),
            state=str(row[7]),
            attempts=int(row[8]),
            deliveries=int(row[9]),
            result=None if row[10] is None else str(row[10]),
            last_error=None if row[11] is None else str(row[11]),
            event_json=str(row[12]),
            content_digest=None if row[13] is None else str(row[13]),
            conflict_digest=None if row[14] is None else str(row[14]),
            conflict_json=None if row[15] is None else str(row[15]),
            next_attempt_us=None if row[16] is None else int(row[16]),
            released_us=None if row[17] is None else int(row[17]),
        )
    except (ValueError, TypeError):
        raise PaymentStoreError("a stored event row is damaged") from None


def find_events(db: Database, event_id: str, provider: Provider | None) -> list[EventRow]:
    """Events whose provider id or dedup key is ``event_id``."""
    where = "(event_id = ? OR dedup_key = ?)"
    params: list[Any] = [event_id, event_id]
    if provider is not None:
        where += " AND provider = ?"
        params.append(str(provider))
    with db.transaction(write=False) as tx:
        rows = tx.run(
            f"SELECT {EVENT_COLUMNS} FROM payment_events WHERE {where} ORDER BY pk", params
        )
    return [_event_row(r) for r in rows]


def event_by_pk(db: Database, pk: int) -> EventRow | None:
    """The event row ``pk``."""
    with db.transaction(write=False) as tx:
        rows = tx.run(f"SELECT {EVENT_COLUMNS} FROM payment_events WHERE pk = ?", (pk,))
    return _event_row(rows[0]) if rows else None


def list_events(db: Database, filters: Sequence[tuple[str, str]], limit: int) -> list[EventRow]:
    """Events matching every ``(column, value)`` of ``filters``, newest first."""
    where = " AND ".join(f"{column} = ?" for column, _ in filters)
    clause = f"WHERE {where}" if where else ""
    with db.transaction(write=False) as tx:
        rows = tx.run(
            f"SELECT {EVENT_COLUMNS} FROM payment_events {clause} ORDER BY pk DESC LIMIT ?",
            [*(value for _, value in filters), max(0, limit)],
        )
    return [_event_row(r) for r in rows]


def counts(db: Database) -> dict[str, int]:
    """Deliveries, refused deliveries, events, and events per state."""
    with db.transaction(write=False) as tx:
        deliveries = tx.run(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN result = 'ok' THEN 0 ELSE 1 END), 0)"
            " FROM payment_deliveries"
        )
        states = tx.run("SELECT state, COUNT(*) FROM payment_events GROUP BY state")
    found = {"deliveries": int(deliveries[0][0]), "rejected": int(deliveries[0][1])}
    found["events"] = sum(int(n) for _, n in states)
    found.update({str(s): int(n) for s, n in sorted(states)})
    return found


def quarantined(db: Database) -> list[tuple[str, str, str]]:
    """Unreleased quarantine entries as ``(event_id, order_id, reason)``, oldest first."""
    with db.transaction(write=False) as tx:
        rows = tx.run(
            "SELECT e.event_id, q.order_id, q.reason FROM payment_quarantine q"
            " JOIN payment_events e ON e.pk = q.event_pk WHERE q.released_us IS NULL"
            " ORDER BY q.id"
        )
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def latest_deliveries(db: Database, limit: int) -> list[dict[str, Any]]:
    """The latest deliveries, newest first."""
    with db.transaction(write=False) as tx:
        rows = tx.run(
            "SELECT d.id, d.provider, d.received_us, d.source, d.result, e.event_id,"
            " d.body_size, d.excerpt, d.body_sha256, d.purged_us FROM payment_deliveries d"
            " LEFT JOIN payment_events e ON e.pk = d.event_pk ORDER BY d.id DESC LIMIT ?",
            (max(0, limit),),
        )
    return [
        {
            "delivery_id": int(i),
            "provider": str(p),
            "received_at": from_us(int(t)).isoformat(),
            "source": s,
            "result": str(r),
            "event_id": e,
            "body_size": None if size is None else int(size),
            "excerpt": bool(excerpt),
            "body_sha256": None if digest is None else str(digest),
            "purged_at": None if purged is None else from_us(int(purged)).isoformat(),
        }
        for i, p, t, s, r, e, size, excerpt, digest, purged in rows
    ]


def delivery(db: Database, delivery_id: int) -> tuple[dict[str, str], bytes]:
    """The stored headers and body (an excerpt for a refused delivery) of a delivery.

    Raises:
        PaymentDeliveryUnknown: no stored delivery has that id.
        PaymentBodyPurged: the body was replaced by its digest after the retention.
    """
    with db.transaction(write=False) as tx:
        rows = tx.run(
            "SELECT headers, body, purged_us, body_sha256 FROM payment_deliveries WHERE id = ?",
            (delivery_id,),
        )
    if not rows:  # the store answered: a lookup that found nothing, not a failure
        raise PaymentDeliveryUnknown("no stored delivery has that id", delivery_id=delivery_id)
    if rows[0][2] is not None:
        raise PaymentBodyPurged(
            "the delivery's body was purged after the inbox's retention; only its digest is kept",
            delivery_id=delivery_id,
            body_sha256=None if rows[0][3] is None else str(rows[0][3]),
            purged_at=from_us(int(rows[0][2])).isoformat(),
        )
    try:
        headers = json.loads(rows[0][0])
    except ValueError:
        raise PaymentStoreError("a stored delivery is damaged", delivery_id=delivery_id) from None
    return {str(k): str(v) for k, v in headers.items()}, bytes(rows[0][1])


# --- retention --------------------------------------------------------------------

#: How many deliveries one purge transaction changes at most (the write lock is
#: released between batches, so callbacks keep arriving during a long purge).
PURGE_BATCH: Final = 5000

# A delivery whose body may be replaced by its digest: verified ("ok"), received at or
# before the cut-off, not purged yet, and its event finished ("processed"). An event
# pending, processing, failed, deferred, quarantined or in conflict keeps every body.
_PURGEABLE: Final = (
    "purged_us IS NULL AND result = 'ok' AND received_us <= ?"
    " AND event_pk IN (SELECT pk FROM payment_events WHERE state = 'processed')"
)
_DIGEST_BODIES: Final = (
    "UPDATE payment_deliveries SET body = ?, headers = '{}', purged_us = ?"
    " WHERE id IN (SELECT id FROM payment_deliveries"
    f" WHERE {_PURGEABLE} AND body_sha256 IS NOT NULL ORDER BY id LIMIT ?)"
)
_UNDIGESTED: Final = (
    f"SELECT id, body FROM payment_deliveries WHERE {_PURGEABLE} AND body_sha256 IS NULL"
    " ORDER BY id LIMIT ?"
)
_DIGEST_ONE: Final = (
    "UPDATE payment_deliveries SET body = ?, headers = '{}', body_sha256 = ?, purged_us = ?"
    " WHERE id = ? AND purged_us IS NULL"
)
_DROP_REFUSED: Final = (
    "DELETE FROM payment_deliveries WHERE id IN (SELECT id FROM payment_deliveries"
    " WHERE result <> 'ok' AND received_us <= ? ORDER BY id LIMIT ?)"
)


def purge_bodies(tx: Tx, *, cutoff: int, now: int, limit: int) -> int:
    """Replace up to ``limit`` purgeable bodies (and headers) by their digest; how many.

    Deliveries stored before digests were (schema 2) get theirs computed here.
    """
    tx.run(_DIGEST_BODIES, (b"", now, cutoff, limit))
    done = max(tx.rowcount, 0)
    if done < limit:
        for delivery_id, body in tx.run(_UNDIGESTED, (cutoff, limit - done)):
            digest = body_digest(bytes(body))
            tx.run(_DIGEST_ONE, (b"", digest, now, int(delivery_id)))
            done += max(tx.rowcount, 0)
    return done


def purge_refused(tx: Tx, *, cutoff: int, limit: int) -> int:
    """Delete up to ``limit`` refused deliveries (metadata and excerpt) received by ``cutoff``."""
    tx.run(_DROP_REFUSED, (cutoff, limit))
    return max(tx.rowcount, 0)


# --- group commit -----------------------------------------------------------------


class Rerun(Exception):
    """Raised by a job: roll its transaction back and run ``job`` in its place.

    The other jobs of the group run again too (their work was rolled back with it).
    A replacement job may not raise :class:`Rerun` itself.
    """

    def __init__(self, job: Callable[[Tx], Any]) -> None:
        super().__init__("the job asked to be replaced")
        self.job = job


class _Slot(Generic[T]):
    __slots__ = ("error", "finished", "job", "replaced", "value")

    def __init__(self, job: Callable[[Tx], T]) -> None:
        self.job: Callable[[Tx], Any] = job
        self.value: T | None = None
        self.error: BaseException | None = None
        self.finished = False
        self.replaced = False

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class GroupCommit:
    """Runs write jobs in shared transactions: one commit for every job that waited.

    :meth:`run` returns the job's value once the transaction that ran it has
    committed, or raises what the job (alone) raised or the store error of its
    transaction.
    """

    def __init__(self, db: Database, *, limit: int = 64) -> None:
        self._db = db
        self._limit = limit
        self._cond = threading.Condition()
        self._queue: list[_Slot[Any]] = []
        self._leader: int | None = None

    def run(self, job: Callable[[Tx], T]) -> T:
        """Run ``job`` in a transaction (perhaps shared); its value after the commit."""
        slot: _Slot[T] = _Slot(job)
        me = threading.get_ident()
        with self._cond:
            if self._leader == me:
                raise ConfigurationError(
                    "the payment inbox was written to from inside its own transactional "
                    "handler: use the transaction the handler is given"
                )
            self._queue.append(slot)
            while not slot.finished:
                if self._leader is not None:
                    self._cond.wait()
                    continue
                self._leader = me
                batch = self._queue[: self._limit]
                del self._queue[: self._limit]
                self._cond.release()
                try:
                    self._commit(batch)
                finally:
                    self._cond.acquire()
                    self._leader = None
                    self._cond.notify_all()
        return slot.result()

    def _commit(self, batch: list[_Slot[Any]]) -> None:
        values: list[Any] = []
        try:
            with self._db.transaction() as tx:
                for slot in batch:
                    values.append(slot.job(tx))
        except Rerun as rerun:
            slot = batch[len(values)]
            if slot.replaced:  # pragma: no cover - a replacement job never asks again
                slot.error, slot.finished = ConfigurationError("a job was replaced twice"), True
                batch = [s for s in batch if s is not slot]
            else:
                slot.job, slot.replaced = rerun.job, True
            if batch:
                self._commit(batch)
            return
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].finished = True
            else:  # find the job that fails: each runs again, alone
                for slot in batch:
                    self._commit([slot])
            return
        except BaseException as exc:
            for slot in batch:
                slot.error, slot.finished = exc, True
            raise
        for slot, value in zip(batch, values, strict=True):
            slot.value, slot.finished = value, True


# --- the transactional handler's view of the transaction ----------------------------

_CONTROL: Final = frozenset(
    {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "ABORT", "VACUUM"}
)


def _handler_statement(statement: str, postgres: bool) -> str:
    """``statement`` checked (one statement, ``?`` placeholders only outside quotes and
    comments, no transaction control) and spelled for the engine's driver."""
    if not isinstance(statement, str) or not statement.strip():
        raise ConfigurationError("a handler statement must be a non-empty string")
    first = statement.lstrip().split(None, 1)[0].rstrip(";").upper()
    if first in _CONTROL:
        raise ConfigurationError(
            "a transactional handler must not control the inbox's transaction", statement=first
        )
    quote: str | None = None
    i, n = 0, len(statement)
    while i < n:
        ch = statement[i]
        if quote is not None:
            if ch == quote:
                quote = None
            elif ch == "?":
                raise ConfigurationError(
                    "a ? inside a quoted string or name: pass the text as a parameter"
                )
        elif ch in "'\"":
            quote = ch
        elif statement.startswith("--", i) or statement.startswith("/*", i):
            end = statement.find("\n" if statement[i + 1] == "-" else "*/", i + 2)
            comment = statement[i : n if end < 0 else end]
            if "?" in comment:
                raise ConfigurationError("a ? inside a comment: remove it")
            i = n if end < 0 else end + (1 if statement[i + 1] == "-" else 2)
            continue
        elif ch == ";" and statement[i + 1 :].strip():
            raise ConfigurationError("a handler statement must be one statement")
        i += 1
    if quote is not None:
        raise ConfigurationError("a handler statement has an unterminated quote")
    # psycopg reads % as the start of a placeholder; a literal % is written %%. The SQL
    # layer then turns each ? into %s.
    return statement.replace("%", "%%") if postgres else statement


def _handler_error(exc: Exception, postgres: bool) -> PaymentStoreError:
    if postgres:
        state = getattr(exc, "sqlstate", None)
        return PaymentStoreError(
            f"a statement of the transactional handler failed: PostgreSQL {state or 'error'}",
            engine="postgresql",
            sqlstate=state,
        )
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return PaymentStoreError(
        f"a statement of the transactional handler failed: SQLite {name}",
        engine="sqlite",
        sqlite_error=name,
    )


class HandlerTransaction:
    """The inbox's open transaction, as a transactional handler sees it.

    The handler's statements run in the same transaction that marks the event
    ``processed``: they commit with that mark, or not at all. One parameter style on
    SQLite and PostgreSQL alike: ``?`` placeholders (a literal ``?`` inside a quoted
    string is refused: pass the text as a parameter). One statement per
    :meth:`execute`; transaction control (``COMMIT``, ``ROLLBACK``, ``SAVEPOINT``...)
    is refused. A statement that fails raises
    :class:`~govkit.errors.PaymentStoreError` (with the SQLSTATE or SQLite error
    name, never the data) and fails the event's processing even if the handler
    catches it, since PostgreSQL cannot go on in that transaction. The object is
    usable only while the handler runs. The payments guide shows one at work.
    """

    __slots__ = ("_failed", "_open", "_position", "_rowcount", "_rows", "_tx")

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._rows: list[tuple[Any, ...]] = []
        self._position = 0
        self._rowcount = -1
        self._open = True
        self._failed = False

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``, for the few statements spelled differently."""
        return "postgresql" if self._tx.postgres else "sqlite"

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement (-1 when the engine does not say)."""
        return self._rowcount

    @property
    def failed(self) -> bool:
        """Whether a statement of the handler failed (the processing then fails too)."""
        return self._failed

    def execute(self, statement: str, params: Sequence[Any] = ()) -> HandlerTransaction:
        """Run one statement with ``?`` placeholders; returns ``self`` (for ``fetch*``).

        Raises:
            PaymentStoreError: the statement failed, or the handler has returned.
            ConfigurationError: the statement is not one plain statement.
        """
        if not self._open:
            raise PaymentStoreError(
                "the handler's transaction is over: it can be used only while the handler runs"
            )
        spelled = _handler_statement(statement, self._tx.postgres)
        try:
            rows = self._tx.run(spelled, tuple(params))
            self._rowcount = self._tx.rowcount
        except Exception as exc:
            self._failed = True
            raise _handler_error(exc, self._tx.postgres) from None
        self._rows, self._position = rows, 0
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row of the last statement's result, or ``None``."""
        if self._position >= len(self._rows):
            return None
        row = self._rows[self._position]
        self._position += 1
        return row

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        """Up to ``size`` more rows of the last statement's result."""
        rows = self._rows[self._position : self._position + max(0, size)]
        self._position += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The remaining rows of the last statement's result."""
        rows = self._rows[self._position :]
        self._position = len(self._rows)
        return rows

    def close(self) -> None:
        """End the handler's use of the transaction (the inbox calls this)."""
        self._open = False
        self._rows = []

    def __repr__(self) -> str:
        return f"HandlerTransaction({self.dialect}, open={self._open})"
