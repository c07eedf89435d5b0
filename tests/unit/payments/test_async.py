"""The payment inbox's async forms answer and fail exactly as the blocking ones do.

``areceive``, ``aprocess_pending``, ``acreate_order``, ``aorder``, ``aevent`` and
``apurge`` run the blocking method on govkit's thread pool. Two inboxes get the same
deliveries, one through each form, and must end the same: same receipts (status, code,
answer), same orders, same events. A handler passed to an inbox fed through
``areceive`` runs on a ``govkit-io`` thread, with the caller's context variables.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.errors import (
    NaiveDatetimeError,
    PaymentBodyPurged,
    PaymentEventUnknown,
    PaymentOrderRejected,
    PaymentStoreError,
)
from govkit.payments import DeliveryStatus, PaymentEvent, PaymentInbox, Stripe
from govkit.testing import FixedClock
from govkit.testing.payments import stripe_callback

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_async_forms_test_secret"
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def summary(receipt: Any) -> tuple[Any, ...]:
    return (receipt.status, receipt.code, receipt.ack, receipt.event)


@pytest.fixture
def inboxes(tmp_path: Path) -> Iterator[tuple[PaymentInbox, PaymentInbox]]:
    clock = FixedClock(NOW)
    blocking = PaymentInbox(tmp_path / "sync.db", clock=clock)
    awaited = PaymentInbox(tmp_path / "async.db", clock=clock)
    yield blocking, awaited
    blocking.close()
    awaited.close()


def deliveries() -> list[tuple[dict[str, str], bytes]]:
    paid = stripe_callback(SECRET, order_id="GOV-1", amount=5000, at=NOW, event_id="evt_1")
    forged = stripe_callback("whsec_forger", order_id="GOV-1", amount=5000, at=NOW)
    unknown = stripe_callback(SECRET, order_id="GOV-404", amount=100, at=NOW, event_id="evt_2")
    wrong = stripe_callback(SECRET, order_id="GOV-2", amount=1, at=NOW, event_id="evt_3")
    return [paid, paid, forged, unknown, wrong]


def test_areceive_gives_the_receipts_receive_gives(
    inboxes: tuple[PaymentInbox, PaymentInbox],
) -> None:
    blocking, awaited = inboxes
    provider = Stripe([SECRET], clock=FixedClock(NOW))
    for inbox in inboxes:
        inbox.create_order("GOV-1", provider="stripe", amount=5000)
        inbox.create_order("GOV-2", provider="stripe", amount=700)
    sync_receipts = [summary(blocking.receive(provider, h, b)) for h, b in deliveries()]

    async def feed() -> list[tuple[Any, ...]]:
        return [summary(await awaited.areceive(provider, h, b)) for h, b in deliveries()]

    async_receipts = asyncio.run(feed())
    assert async_receipts == sync_receipts
    statuses = [r[0] for r in async_receipts]
    assert statuses == [
        DeliveryStatus.PROCESSED,
        DeliveryStatus.DUPLICATE,
        DeliveryStatus.REJECTED,
        DeliveryStatus.QUARANTINED,
        DeliveryStatus.QUARANTINED,
    ]
    assert async_receipts[2][1] == "payment.bad_signature"
    assert asyncio.run(awaited.aorder("GOV-1")) == blocking.order("GOV-1")
    assert asyncio.run(awaited.aorder("GOV-9")) is None
    record = asyncio.run(awaited.aevent("evt_1"))
    assert record.state == blocking.event("evt_1").state


def test_acreate_order_and_aprocess_pending_match_the_blocking_forms(
    inboxes: tuple[PaymentInbox, PaymentInbox],
) -> None:
    blocking, awaited = inboxes
    provider = Stripe([SECRET], clock=FixedClock(NOW))
    headers, body = stripe_callback(SECRET, order_id="GOV-7", amount=900, at=NOW)
    # the callback arrives before the order: quarantined until the order exists
    assert blocking.receive(provider, headers, body).status is DeliveryStatus.QUARANTINED
    first = asyncio.run(awaited.areceive(provider, headers, body))
    assert first.status is DeliveryStatus.QUARANTINED
    order = blocking.create_order("GOV-7", provider="stripe", amount=900)
    assert asyncio.run(awaited.acreate_order("GOV-7", provider="stripe", amount=900)) == order
    assert asyncio.run(awaited.aprocess_pending()) == blocking.process_pending()
    assert awaited.stats() == blocking.stats()


def test_a_different_order_under_the_same_id_fails_alike(
    inboxes: tuple[PaymentInbox, PaymentInbox],
) -> None:
    _, awaited = inboxes
    awaited.create_order("GOV-1", provider="stripe", amount=5000)
    with pytest.raises(PaymentOrderRejected) as sync_caught:
        awaited.create_order("GOV-1", provider="stripe", amount=1)
    with pytest.raises(PaymentOrderRejected) as async_caught:
        asyncio.run(awaited.acreate_order("GOV-1", provider="stripe", amount=1))
    assert async_caught.value.code == sync_caught.value.code == "payment.order_rejected"


def test_an_unknown_event_fails_alike(inboxes: tuple[PaymentInbox, PaymentInbox]) -> None:
    _, awaited = inboxes
    with pytest.raises(PaymentEventUnknown) as sync_caught:
        awaited.event("evt_nope")
    with pytest.raises(PaymentEventUnknown) as async_caught:
        asyncio.run(awaited.aevent("evt_nope"))
    assert async_caught.value.code == sync_caught.value.code


def test_a_store_that_cannot_write_fails_alike_and_nothing_is_acknowledged(
    tmp_path: Path,
) -> None:
    """A read-only inbox stands for a store that refuses the write: both forms raise the
    typed store error (the caller answers 5xx and the provider retries)."""
    PaymentInbox(tmp_path / "ro.db").close()
    inbox = PaymentInbox(tmp_path / "ro.db", read_only=True)
    provider = Stripe([SECRET], clock=FixedClock(NOW))
    headers, body = stripe_callback(SECRET, order_id="GOV-1", amount=5, at=NOW)
    try:
        with pytest.raises(PaymentStoreError) as sync_caught:
            inbox.receive(provider, headers, body, at=NOW)
        with pytest.raises(PaymentStoreError) as async_caught:
            asyncio.run(inbox.areceive(provider, headers, body, at=NOW))
    finally:
        inbox.close()
    assert type(async_caught.value) is type(sync_caught.value)
    assert async_caught.value.code == sync_caught.value.code


def test_the_handler_runs_on_the_pool_with_the_callers_context(tmp_path: Path) -> None:
    seen: list[tuple[str, str, str]] = []

    def handler(event: PaymentEvent) -> None:
        seen.append((event.order_id, threading.current_thread().name, REQUEST_ID.get()))

    provider = Stripe([SECRET], clock=FixedClock(NOW))
    headers, body = stripe_callback(SECRET, order_id="GOV-3", amount=300, at=NOW)
    with PaymentInbox(tmp_path / "h.db", handler=handler, clock=FixedClock(NOW)) as inbox:
        inbox.create_order("GOV-3", provider="stripe", amount=300)

        async def main() -> Any:
            REQUEST_ID.set("req-7")
            return await inbox.areceive(provider, headers, body, at=NOW + timedelta(seconds=1))

        receipt = asyncio.run(main())
    assert receipt.status is DeliveryStatus.PROCESSED
    assert len(seen) == 1
    order_id, thread, request_id = seen[0]
    assert (order_id, request_id) == ("GOV-3", "req-7")
    assert thread.startswith("govkit-io")


def test_apurge_erases_what_purge_erases_with_the_same_parameters(
    inboxes: tuple[PaymentInbox, PaymentInbox],
) -> None:
    blocking, awaited = inboxes
    assert inspect.signature(awaited.apurge).parameters == (
        inspect.signature(awaited.purge).parameters
    )
    provider = Stripe([SECRET], clock=FixedClock(NOW))
    receipts: list[list[Any]] = []
    for inbox in inboxes:
        inbox.create_order("GOV-1", provider="stripe", amount=5000)
        receipts.append([inbox.receive(provider, h, b, at=NOW) for h, b in deliveries()])
    later = NOW + timedelta(days=31)  # past the default 30-day body retention
    assert asyncio.run(awaited.apurge(now=NOW)) == blocking.purge(now=NOW) == 0
    removed = asyncio.run(awaited.apurge(now=later))
    assert removed == blocking.purge(now=later)
    # the processed event's two deliveries lose their bodies, the forged one is deleted;
    # the quarantined events' deliveries (not finished) keep theirs
    assert removed == 3
    assert asyncio.run(awaited.apurge(now=later)) == 0  # nothing twice
    for inbox, received in zip(inboxes, receipts, strict=True):
        paid = received[0].delivery_id
        with pytest.raises(PaymentBodyPurged) as caught:
            inbox.delivery_body(paid)
        assert caught.value.code == "payment.body_purged"
    assert awaited.stats() == blocking.stats()


def test_apurge_without_now_uses_the_inbox_clock(tmp_path: Path) -> None:
    clock = FixedClock(NOW)
    provider = Stripe([SECRET], clock=FixedClock(NOW))
    with PaymentInbox(tmp_path / "clock.db", clock=clock) as inbox:
        inbox.create_order("GOV-1", provider="stripe", amount=5000)
        inbox.receive(provider, *deliveries()[0], at=NOW)
        assert asyncio.run(inbox.apurge()) == 0
        clock.advance(timedelta(days=30))
        assert asyncio.run(inbox.apurge()) == 1


def test_apurge_with_a_naive_time_or_a_read_only_store_fails_alike(tmp_path: Path) -> None:
    PaymentInbox(tmp_path / "ro.db").close()
    with PaymentInbox(tmp_path / "ro.db", read_only=True) as reader:
        with pytest.raises(PaymentStoreError) as sync_caught:
            reader.purge(now=NOW)
        with pytest.raises(PaymentStoreError) as async_caught:
            asyncio.run(reader.apurge(now=NOW))
        assert type(async_caught.value) is type(sync_caught.value)
        assert async_caught.value.code == sync_caught.value.code
    with PaymentInbox(tmp_path / "rw.db") as inbox:
        naive = NOW.replace(tzinfo=None)
        with pytest.raises(NaiveDatetimeError):
            inbox.purge(now=naive)
        with pytest.raises(NaiveDatetimeError):
            asyncio.run(inbox.apurge(now=naive))
