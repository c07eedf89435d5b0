"""The inbox contract, run against SQLite and a real PostgreSQL server.

Every delivery is stored; duplicates are acknowledged and processed once (also with
50 concurrent deliveries of one event); a handler error leaves the event retryable;
a refund before its payment is deferred and applied after it; mismatches are
quarantined, never marked paid.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.audit import AuditLog
from govkit.keys import SigningKey
from govkit.payments import (
    Alipay,
    DeliveryStatus,
    EventState,
    OrderState,
    PaymentEvent,
    PaymentInbox,
    StandardWebhooks,
    Stripe,
    WeChatPayV3,
)
from govkit.testing.payments import (
    alipay_callback,
    standard_webhooks_callback,
    stripe_callback,
    wechat_callback,
    wechat_refund_callback,
)

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
APIV3 = "0123456789abcdef0123456789abcdef"
KEY_ID = "PUB_KEY_ID_0001"
SECRET = "whsec_contract"
APP_ID = "2021000118600000"


@pytest.fixture(params=["sqlite", "postgres"])
def inbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "inbox.db")
    else:
        yield request.getfixturevalue("pg_store_url")


@pytest.fixture(scope="module")
def platform_key() -> SigningKey:
    return SigningKey.generate("RS256")


def stripe_paid(
    order_id: str, amount: int, event_id: str | None = None
) -> tuple[dict[str, str], bytes]:
    return stripe_callback(SECRET, order_id=order_id, amount=amount, at=NOW, event_id=event_id)


def test_every_delivery_is_stored_and_a_duplicate_is_acknowledged_once(inbox_url: str) -> None:
    handled: list[PaymentEvent] = []
    with PaymentInbox(inbox_url, handler=handled.append) as inbox:
        inbox.create_order("GOV-1", provider="stripe", amount=5000, at=NOW)
        headers, body = stripe_paid("GOV-1", 5000)
        first = inbox.receive(Stripe([SECRET]), headers, body, source="198.51.100.7", at=NOW)
        again = inbox.receive(Stripe([SECRET]), headers, body, source="198.51.100.7", at=NOW)
        assert first.status is DeliveryStatus.PROCESSED
        assert again.status is DeliveryStatus.DUPLICATE
        assert first.ack.status == again.ack.status == 200
        assert len(handled) == 1
        order = inbox.order("GOV-1")
        assert order is not None
        assert order.state is OrderState.PAID
        stats = inbox.stats()
        assert (stats["deliveries"], stats["events"], stats["processed"]) == (2, 1, 1)
        assert inbox.event(first.event.event_id).deliveries == 2  # type: ignore[union-attr]
        stored_headers, stored_body = inbox.delivery_body(first.delivery_id)
        assert stored_body == body
        assert stored_headers["Stripe-Signature"] == headers["Stripe-Signature"]


def test_forged_delivery_is_stored_rejected_and_not_processed(inbox_url: str) -> None:
    handled: list[PaymentEvent] = []
    with PaymentInbox(inbox_url, handler=handled.append) as inbox:
        headers, body = stripe_callback("whsec_attacker", order_id="GOV-1", amount=1, at=NOW)
        receipt = inbox.receive(Stripe([SECRET]), headers, body, at=NOW)
        assert receipt.status is DeliveryStatus.REJECTED
        assert receipt.code == "payment.bad_signature"
        assert receipt.ack.status == 400
        assert handled == []
        assert inbox.stats()["rejected"] == 1
        assert inbox.deliveries()[0]["result"] == "payment.bad_signature"


def test_handler_error_leaves_the_event_retryable_never_lost(inbox_url: str) -> None:
    calls: list[str] = []

    def flaky(event: PaymentEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise RuntimeError("database of the fines office is down")

    with PaymentInbox(inbox_url, handler=flaky) as inbox:
        inbox.create_order("GOV-2", provider="stripe", amount=100, at=NOW)
        headers, body = stripe_paid("GOV-2", 100)
        failed = inbox.receive(Stripe([SECRET]), headers, body, at=NOW)
        assert failed.status is DeliveryStatus.FAILED
        assert failed.ack.status == 500  # the provider retries
        record = inbox.event(failed.event.event_id)  # type: ignore[union-attr]
        assert (record.state, record.last_error) == (EventState.FAILED, "RuntimeError")
        retried = inbox.receive(Stripe([SECRET]), headers, body, at=NOW)
        assert retried.status is DeliveryStatus.PROCESSED
        assert len(calls) == 2
        order = inbox.order("GOV-2")
        assert order is not None
        assert (order.state, order.refunded) == (OrderState.PAID, 0)  # applied once


def test_failed_event_is_retried_by_process_pending(inbox_url: str) -> None:
    fail = [True]

    def handler(event: PaymentEvent) -> None:
        if fail[0]:
            raise ValueError("down")

    with PaymentInbox(inbox_url, handler=handler, orders=False) as inbox:
        headers, body = stripe_paid("GOV-3", 1)
        inbox.receive(Stripe([SECRET]), headers, body, at=NOW)
        assert inbox.stats()["failed"] == 1
        fail[0] = False
        assert inbox.process_pending(at=NOW) == 0  # its retry time has not come
        assert inbox.process_pending(at=NOW + timedelta(seconds=10)) == 1
        assert inbox.stats().get("failed", 0) == 0


def test_refund_arriving_before_its_payment_is_deferred_then_applied(
    inbox_url: str, platform_key: SigningKey
) -> None:
    wechat = WeChatPayV3(APIV3, {KEY_ID: platform_key.verifying_key})
    with PaymentInbox(inbox_url) as inbox:
        inbox.create_order("GOV-4", provider="wechatpay", amount=1000, at=NOW)
        headers, body = wechat_refund_callback(
            platform_key, KEY_ID, APIV3, order_id="GOV-4", refund=1000, total=1000, at=NOW
        )
        refund = inbox.receive(wechat, headers, body, at=NOW)
        assert refund.status is DeliveryStatus.DEFERRED
        assert refund.ack.status == 204  # stored: the provider may stop retrying
        order = inbox.order("GOV-4")
        assert order is not None
        assert order.state is OrderState.CREATED
        headers, body = wechat_callback(
            platform_key, KEY_ID, APIV3, order_id="GOV-4", amount=1000, at=NOW
        )
        paid = inbox.receive(wechat, headers, body, at=NOW)
        assert paid.status is DeliveryStatus.PROCESSED
        order = inbox.order("GOV-4")
        assert order is not None
        assert (order.state, order.refunded) == (OrderState.REFUNDED, 1000)


def test_amount_mismatch_is_quarantined_never_marked_paid(inbox_url: str) -> None:
    with PaymentInbox(inbox_url) as inbox:
        inbox.create_order("GOV-5", provider="stripe", amount=20000, at=NOW)
        headers, body = stripe_paid("GOV-5", 200)  # yuan sent as fen: 2.00 instead of 200.00
        receipt = inbox.receive(Stripe([SECRET]), headers, body, at=NOW)
        assert receipt.status is DeliveryStatus.QUARANTINED
        assert receipt.code == "order.amount_mismatch"
        order = inbox.order("GOV-5")
        assert order is not None
        assert order.state is OrderState.CREATED
        assert inbox.quarantine() == [(receipt.event.event_id, "GOV-5", "amount_mismatch")]  # type: ignore[union-attr]


def test_unknown_order_and_currency_mismatch_are_quarantined(inbox_url: str) -> None:
    with PaymentInbox(inbox_url) as inbox:
        headers, body = stripe_paid("NOPE", 1)
        assert inbox.receive(Stripe([SECRET]), headers, body, at=NOW).code == "order.unknown_order"
        inbox.create_order("GOV-6", provider="stripe", amount=100, currency="USD", at=NOW)
        headers, body = stripe_paid("GOV-6", 100)
        receipt = inbox.receive(Stripe([SECRET]), headers, body, at=NOW)
        assert receipt.code == "order.currency_mismatch"


def test_alipay_duplicates_with_new_notify_ids_are_one_event(inbox_url: str) -> None:
    key = SigningKey.generate("RS256")
    alipay = Alipay(key.verifying_key, APP_ID)
    with PaymentInbox(inbox_url) as inbox:
        inbox.create_order("GOV-7", provider="alipay", amount=300, merchant_id=APP_ID, at=NOW)
        first = inbox.receive(
            alipay, *alipay_callback(key, APP_ID, order_id="GOV-7", amount=300, at=NOW), at=NOW
        )
        second = inbox.receive(
            alipay, *alipay_callback(key, APP_ID, order_id="GOV-7", amount=300, at=NOW), at=NOW
        )
        assert (first.status, second.status) == (DeliveryStatus.PROCESSED, DeliveryStatus.DUPLICATE)
        assert first.ack.body == second.ack.body == b"success"


def test_backward_transition_is_refused(inbox_url: str) -> None:
    sw_secret = "whsec_" + base64.b64encode(b"q" * 32).decode()
    adapter = StandardWebhooks([sw_secret])
    with PaymentInbox(inbox_url) as inbox:
        inbox.create_order("GOV-8", provider="standardwebhooks", amount=50, at=NOW)
        for kind in ("paid", "refunded", "paid"):
            headers, body = standard_webhooks_callback(
                sw_secret, order_id="GOV-8", amount=50, kind=kind, at=NOW
            )
            inbox.receive(adapter, headers, body, at=NOW)
        order = inbox.order("GOV-8")
        assert order is not None
        assert order.state is OrderState.REFUNDED


def test_fifty_concurrent_deliveries_of_one_event_are_processed_once(inbox_url: str) -> None:
    counter: list[str] = []
    lock = threading.Lock()

    def handler(event: PaymentEvent) -> None:
        with lock:
            counter.append(event.event_id)

    headers, body = stripe_paid("GOV-9", 999, event_id="evt_concurrent")
    inboxes = [PaymentInbox(inbox_url, handler=handler) for _ in range(10)]
    inboxes[0].create_order("GOV-9", provider="stripe", amount=999, at=NOW)
    barrier = threading.Barrier(50)
    statuses: list[DeliveryStatus] = []
    errors: list[BaseException] = []

    def deliver(index: int) -> None:
        try:
            barrier.wait()
            receipt = inboxes[index % 10].receive(Stripe([SECRET]), headers, body, at=NOW)
            with lock:
                statuses.append(receipt.status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert counter == ["evt_concurrent"]
        assert statuses.count(DeliveryStatus.PROCESSED) == 1
        # The others found it processed ("success") or still in flight (the provider's
        # retry answer, never "success" before the processing committed).
        others = [s for s in statuses if s is not DeliveryStatus.PROCESSED]
        assert set(others) <= {DeliveryStatus.DUPLICATE, DeliveryStatus.IN_FLIGHT}
        assert len(others) == 49
        stats = inboxes[0].stats()
        assert (stats["deliveries"], stats["events"], stats["processed"]) == (50, 1, 1)
    finally:
        for inbox in inboxes:
            inbox.close()


def test_verification_outcomes_and_state_changes_go_to_the_audit_log(inbox_url: str) -> None:
    folder = tempfile.mkdtemp()
    audit = AuditLog(os.path.join(folder, "audit.db"), origin="test.gov/payments")
    with PaymentInbox(inbox_url, audit=audit) as inbox:
        inbox.create_order("GOV-10", provider="stripe", amount=10, at=NOW)
        inbox.receive(Stripe([SECRET]), *stripe_paid("GOV-10", 10), at=NOW)
        forged = stripe_callback("whsec_x", order_id="GOV-10", amount=10, at=NOW)
        inbox.receive(Stripe([SECRET]), *forged, at=NOW)
    actions = [
        (e.action, str(e.outcome)) for e in (audit.entry(i).event for i in range(audit.size()))
    ]
    audit.close()
    assert actions == [
        ("payment.verify", "success"),
        ("payment.order.applied", "success"),
        ("payment.verify", "denied"),
    ]


def test_replay_reprocesses_a_failed_event_only(inbox_url: str) -> None:
    fail = [True]

    def handler(event: PaymentEvent) -> None:
        if fail[0]:
            raise KeyError("x")

    with PaymentInbox(inbox_url, handler=handler) as inbox:
        inbox.create_order("GOV-11", provider="stripe", amount=7, at=NOW)
        receipt = inbox.receive(Stripe([SECRET]), *stripe_paid("GOV-11", 7), at=NOW)
        fail[0] = False
        record = inbox.replay(receipt.event.event_id, at=NOW + timedelta(seconds=1))  # type: ignore[union-attr]
        assert record.state is EventState.PROCESSED
        assert record.attempts == 2
        again = inbox.replay(receipt.event.event_id, at=NOW)  # type: ignore[union-attr]
        assert again.attempts == 2
