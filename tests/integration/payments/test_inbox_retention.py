"""Body retention of the payment inbox, on SQLite and a real PostgreSQL server.

``PaymentInbox(body_retention=R).purge(now=...)`` replaces the raw body and headers of
each verified delivery received at or before ``now - R`` whose event is processed by
the body's SHA-256, and deletes refused deliveries (metadata and excerpt) as old. What
the inbox decided survives: the delivery row, its event, the event's content digest,
so a retry is still a duplicate and other content still a conflict. An event that is
not finished never loses a body, whatever its age.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.errors import (
    ConfigurationError,
    PaymentBodyPurged,
    PaymentDeliveryUnknown,
    PaymentStoreError,
)
from govkit.payments import (
    BODY_RETENTION,
    DeliveryStatus,
    EventState,
    PaymentInbox,
    Stripe,
    _inbox_store,
)
from govkit.testing.payments import stripe_callback

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
SECRET = "whsec_retention"
STRIPE = Stripe([SECRET])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def inbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "inbox.db")
    else:
        yield request.getfixturevalue("pg_store_url")


def _paid(order: str, at: datetime, amount: int = 5000) -> tuple[dict[str, str], bytes]:
    return stripe_callback(SECRET, order_id=order, amount=amount, at=at, event_id=f"evt_{order}")


def test_the_default_retention_is_thirty_days(inbox_url: str) -> None:
    assert timedelta(days=30) == BODY_RETENTION
    with PaymentInbox(inbox_url) as inbox:
        assert inbox.body_retention == BODY_RETENTION


@pytest.mark.parametrize("bad", [timedelta(0), -DAY, 30, "30d"])
def test_a_retention_that_is_not_a_positive_duration_is_refused(
    inbox_url: str, bad: object
) -> None:
    with pytest.raises(ConfigurationError):
        PaymentInbox(inbox_url, body_retention=bad)  # type: ignore[arg-type]


def test_purge_keeps_only_the_digest_of_old_processed_bodies(inbox_url: str) -> None:
    old_headers, old_body = _paid("GOV-1", NOW)
    new_headers, new_body = _paid("GOV-2", NOW + 20 * DAY)
    with PaymentInbox(inbox_url, orders=False, body_retention=30 * DAY) as inbox:
        first = inbox.receive(STRIPE, old_headers, old_body, source="192.0.2.1", at=NOW)
        second = inbox.receive(STRIPE, new_headers, new_body, at=NOW + 20 * DAY)
        assert first.status is DeliveryStatus.PROCESSED
        assert first.delivery_id is not None
        assert second.delivery_id is not None
        # a delivery received exactly at now - retention is purged; one microsecond later, not
        assert inbox.purge(now=NOW + 30 * DAY - US) == 0
        assert inbox.purge(now=NOW + 30 * DAY) == 1
        assert inbox.purge(now=NOW + 30 * DAY) == 0  # nothing twice
        with pytest.raises(PaymentBodyPurged) as caught:
            inbox.delivery_body(first.delivery_id)
        assert caught.value.code == "payment.body_purged"
        digest = hashlib.sha256(old_body).hexdigest()
        assert caught.value.context["body_sha256"] == digest
        assert caught.value.context["delivery_id"] == first.delivery_id
        assert digest not in caught.value.message  # identifiers in the context only
        assert inbox.delivery_body(second.delivery_id) == (new_headers, new_body)
        rows = {row["delivery_id"]: row for row in inbox.deliveries()}
        kept = rows[first.delivery_id]
        assert kept["event_id"] == "evt_GOV-1"
        assert (kept["result"], kept["body_size"], kept["source"]) == (
            "ok",
            len(old_body),
            "192.0.2.1",
        )
        assert kept["body_sha256"] == digest
        assert kept["purged_at"] == (NOW + 30 * DAY).isoformat()
        assert rows[second.delivery_id]["purged_at"] is None
        assert rows[second.delivery_id]["body_sha256"] == hashlib.sha256(new_body).hexdigest()
        assert inbox.event("evt_GOV-1").state is EventState.PROCESSED
        assert inbox.stats()["deliveries"] == 2


def test_after_purge_a_retry_is_a_duplicate_and_other_content_a_conflict(inbox_url: str) -> None:
    headers, body = _paid("GOV-1", NOW)
    with PaymentInbox(inbox_url, orders=False, body_retention=DAY) as inbox:
        inbox.receive(STRIPE, headers, body, at=NOW)
        later = NOW + 2 * DAY
        assert inbox.purge(now=later) == 1
        retry = inbox.receive(STRIPE, *_paid("GOV-1", later), at=later)
        assert retry.status is DeliveryStatus.DUPLICATE
        forged_content = _paid("GOV-1", later, amount=1)  # same event id, other amount
        conflict = inbox.receive(STRIPE, *forged_content, at=later)
        assert (conflict.status, conflict.code) == (DeliveryStatus.CONFLICT, "payment.conflict")
        record = inbox.event("evt_GOV-1")
        assert record.state is EventState.CONFLICT
        assert record.content_digest is not None
        assert record.conflict_digest not in (None, record.content_digest)
        # the event is in conflict now: none of its deliveries loses a body any more
        assert inbox.purge(now=later + 10 * DAY) == 0
        assert inbox.delivery_body(int(conflict.delivery_id or 0))[1] == forged_content[1]


@pytest.mark.parametrize(
    "state", ["pending", "processing", "failed", "deferred", "quarantined", "conflict"]
)
def test_an_unfinished_event_never_loses_a_body(inbox_url: str, state: str) -> None:
    headers, body = _paid("GOV-1", NOW)
    with PaymentInbox(inbox_url, orders=False, body_retention=DAY) as inbox:
        receipt = inbox.receive(STRIPE, headers, body, at=NOW)
        with inbox._db.transaction() as tx:  # the state under test, set directly
            tx.run("UPDATE payment_events SET state = ? WHERE event_id = ?", (state, "evt_GOV-1"))
        assert inbox.purge(now=NOW + 3650 * DAY) == 0
        assert inbox.delivery_body(int(receipt.delivery_id or 0)) == (headers, body)


def test_events_left_failed_or_quarantined_by_the_inbox_keep_their_bodies(
    inbox_url: str,
) -> None:
    def handler(event: object) -> None:
        raise RuntimeError("the fines office is down")

    with PaymentInbox(inbox_url, handler=handler, body_retention=DAY) as inbox:
        inbox.create_order("GOV-1", provider="stripe", amount=5000, at=NOW)
        inbox.create_order("GOV-2", provider="stripe", amount=20000, at=NOW)
        failed = inbox.receive(STRIPE, *_paid("GOV-1", NOW), at=NOW)
        mismatch = inbox.receive(STRIPE, *_paid("GOV-2", NOW, amount=1), at=NOW)
        assert failed.status is DeliveryStatus.FAILED
        assert mismatch.status is DeliveryStatus.QUARANTINED
        assert inbox.purge(now=NOW + 400 * DAY) == 0
        for receipt in (failed, mismatch):
            assert inbox.delivery_body(int(receipt.delivery_id or 0))[1]


def test_refused_deliveries_are_deleted_after_the_retention(inbox_url: str) -> None:
    forged = stripe_callback("whsec_forger", order_id="GOV-9", amount=1, at=NOW)
    with PaymentInbox(inbox_url, orders=False, body_retention=7 * DAY) as inbox:
        refused = inbox.receive(STRIPE, *forged, source="198.51.100.9", at=NOW)
        fresh = inbox.receive(STRIPE, *forged, at=NOW + 5 * DAY)
        assert refused.status is DeliveryStatus.REJECTED
        assert refused.delivery_id is not None
        assert fresh.delivery_id is not None
        assert inbox.purge(now=NOW + 7 * DAY) == 1
        with pytest.raises(PaymentDeliveryUnknown):
            inbox.delivery_body(refused.delivery_id)
        assert inbox.delivery_body(fresh.delivery_id)[1] == forged[1][:1024]
        assert inbox.stats()["rejected"] == 1


def test_retention_none_keeps_every_body(inbox_url: str) -> None:
    forged = stripe_callback("whsec_forger", order_id="GOV-9", amount=1, at=NOW)
    with PaymentInbox(inbox_url, orders=False, body_retention=None) as inbox:
        kept = inbox.receive(STRIPE, *_paid("GOV-1", NOW), at=NOW)
        inbox.receive(STRIPE, *forged, at=NOW)
        assert inbox.body_retention is None
        assert inbox.purge(now=NOW + 3650 * DAY) == 0
        assert inbox.delivery_body(int(kept.delivery_id or 0))[1]
        assert inbox.stats()["deliveries"] == 2


def test_a_large_purge_runs_in_batches(inbox_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_inbox_store, "PURGE_BATCH", 2)
    forged = stripe_callback("whsec_forger", order_id="GOV-9", amount=1, at=NOW)
    with PaymentInbox(inbox_url, orders=False, body_retention=DAY) as inbox:
        for n in range(5):
            inbox.receive(STRIPE, *_paid(f"GOV-{n}", NOW), at=NOW)
        for _ in range(3):
            inbox.receive(STRIPE, *forged, at=NOW)
        assert inbox.purge(now=NOW + DAY) == 8
        assert all(row["purged_at"] for row in inbox.deliveries())
        assert inbox.stats()["deliveries"] == 5


def test_a_read_only_inbox_cannot_purge(inbox_url: str) -> None:
    with PaymentInbox(inbox_url, orders=False, body_retention=DAY) as inbox:
        inbox.receive(STRIPE, *_paid("GOV-1", NOW), at=NOW)
    with PaymentInbox(inbox_url, read_only=True) as reader, pytest.raises(PaymentStoreError):
        reader.purge(now=NOW + 2 * DAY)
