"""What the inbox promises, each broken on purpose, on SQLite and a real PostgreSQL server.

* Conflicts are loud: the same (provider, event id) with other business content is
  ``payment.conflict``, recorded with both digests, audited, never merged; a provider
  retry with a new ``notify_time`` and signature is a duplicate.
* "Success" only for what is done: a delivery that finds its event in flight, failed
  or stranded gets the provider's retry answer (per provider), never success.
* The transactional handler's writes commit with the ``processed`` mark or not at all.
* Quarantine has a way out: an event that arrived before its order is processed when
  the order is created or by the re-drive; any other is released after review.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import AuditLog
from govkit.errors import ConfigurationError, PaymentReleaseRefused, PaymentStoreError
from govkit.keys import SigningKey
from govkit.payments import (
    Alipay,
    DeliveryStatus,
    EventState,
    HandlerTransaction,
    OrderState,
    PaymentEvent,
    PaymentInbox,
    PaymentProvider,
    StandardWebhooks,
    Stripe,
    UnionPay,
    WeChatPayV3,
)
from govkit.payments._inbox_store import content_digest
from govkit.testing.payments import (
    alipay_callback,
    standard_webhooks_callback,
    stripe_callback,
    unionpay_callback,
    unionpay_test_pki,
    wechat_callback,
)

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_guarantees"
APIV3 = "0123456789abcdef0123456789abcdef"
KEY_ID = "PUB_KEY_ID_0001"
APP_ID = "2021000118600000"
MER_ID = "777290058110048"
SW_SECRET = "whsec_" + base64.b64encode(b"g" * 32).decode()


@pytest.fixture(params=["sqlite", "postgres"])
def inbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "inbox.db")
    else:
        yield request.getfixturevalue("pg_store_url")


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {"wechat": SigningKey.generate("RS256"), "alipay": SigningKey.generate("RS256")}


def paid(order_id: str, amount: int, event_id: str) -> tuple[dict[str, str], bytes]:
    return stripe_callback(SECRET, order_id=order_id, amount=amount, at=NOW, event_id=event_id)


def audit_actions(audit: AuditLog) -> list[tuple[str, str, str | None]]:
    return [
        (e.action, str(e.outcome), e.reason)
        for e in (audit.entry(i).event for i in range(audit.size()))
    ]


# --- 1. conflicts are loud ----------------------------------------------------------------


def test_same_event_id_with_another_amount_is_a_conflict_never_merged(inbox_url: str) -> None:
    """The 1-fen callback first, then the genuine 20,000-fen one under the same event id."""
    handled: list[PaymentEvent] = []
    audit = AuditLog(os.path.join(tempfile.mkdtemp(), "audit.db"), origin="test.gov/payments")
    stripe = Stripe([SECRET])
    with PaymentInbox(inbox_url, handler=handled.append, audit=audit) as inbox:
        inbox.create_order("GOV-1", provider="stripe", amount=20000, at=NOW)
        cheap = inbox.receive(stripe, *paid("GOV-1", 1, "evt_same"), at=NOW)
        assert (cheap.status, cheap.code) == (DeliveryStatus.QUARANTINED, "order.amount_mismatch")
        genuine = inbox.receive(stripe, *paid("GOV-1", 20000, "evt_same"), at=NOW)
        assert genuine.status is DeliveryStatus.CONFLICT
        assert genuine.code == "payment.conflict"
        assert genuine.ack.status == 200  # recorded: a retry cannot resolve it
        assert handled == []  # the handler never ran for either content
        record = inbox.event("evt_same")
        assert record.state is EventState.CONFLICT
        assert cheap.event is not None
        assert genuine.event is not None
        assert record.content_digest == content_digest(cheap.event)
        assert record.conflict_digest == content_digest(genuine.event)
        assert record.content_digest != record.conflict_digest
        assert record.conflicting_event is not None
        assert record.conflicting_event.amount == 20000  # the genuine payment is not forgotten
        assert [r.event.event_id for r in inbox.events(state="conflict")] == ["evt_same"]
        again = inbox.receive(stripe, *paid("GOV-1", 20000, "evt_same"), at=NOW)
        assert (again.status, again.ack.status) == (DeliveryStatus.CONFLICT, 200)
        order = inbox.order("GOV-1")
        assert order is not None
        assert order.state is OrderState.CREATED
    assert ("payment.conflict", "failure", "payment.conflict") in audit_actions(audit)
    logged = [audit.entry(i).event for i in range(audit.size())]
    details = [e.details for e in logged if e.action == "payment.conflict"]
    assert details == [
        {"stored_digest": record.content_digest, "conflicting_digest": record.conflict_digest}
    ]
    audit.close()


def test_conflict_after_processing_moves_the_event_to_conflict(inbox_url: str) -> None:
    handled: list[str] = []
    with PaymentInbox(inbox_url, handler=lambda e: handled.append(e.event_id)) as inbox:
        inbox.create_order("GOV-2", provider="stripe", amount=500, at=NOW)
        first = inbox.receive(Stripe([SECRET]), *paid("GOV-2", 500, "evt_2"), at=NOW)
        assert first.status is DeliveryStatus.PROCESSED
        refund = stripe_callback(
            SECRET,
            order_id="GOV-2",
            amount=500,
            event_type="charge.refunded",
            event_id="evt_2",  # a forger with the secret, or a provider bug
            at=NOW,
        )
        second = inbox.receive(Stripe([SECRET]), *refund, at=NOW)
        assert (second.status, second.code) == (DeliveryStatus.CONFLICT, "payment.conflict")
        assert handled == ["evt_2"]
        assert inbox.event("evt_2").state is EventState.CONFLICT
        order = inbox.order("GOV-2")
        assert order is not None
        assert order.state is OrderState.PAID  # the second content changed nothing


def test_alipay_retry_with_new_notify_time_and_signature_is_a_duplicate(
    inbox_url: str, keys: dict[str, SigningKey]
) -> None:
    alipay = Alipay(keys["alipay"].verifying_key, APP_ID)
    handled: list[str] = []
    with PaymentInbox(inbox_url, handler=lambda e: handled.append(e.order_id)) as inbox:
        inbox.create_order("GOV-3", provider="alipay", amount=300, merchant_id=APP_ID, at=NOW)
        first = alipay_callback(keys["alipay"], APP_ID, order_id="GOV-3", amount=300, at=NOW)
        later = NOW + timedelta(minutes=4)  # Alipay's second try: new notify_time, new sign
        retry = alipay_callback(keys["alipay"], APP_ID, order_id="GOV-3", amount=300, at=later)
        assert first[1] != retry[1]
        assert inbox.receive(alipay, *first, at=NOW).status is DeliveryStatus.PROCESSED
        again = inbox.receive(alipay, *retry, at=later)
        assert (again.status, again.code, again.ack.body) == (
            DeliveryStatus.DUPLICATE,
            None,
            b"success",
        )
        assert handled == ["GOV-3"]
        cheaper = alipay_callback(keys["alipay"], APP_ID, order_id="GOV-3", amount=1, at=later)
        assert inbox.receive(alipay, *cheaper, at=later).status is DeliveryStatus.CONFLICT


# --- 2. acknowledge only what is done ----------------------------------------------------


def providers(keys: dict[str, SigningKey]) -> list[tuple[str, PaymentProvider, Any]]:
    """Each provider with a maker of one signed payment callback for an order."""
    pki = unionpay_test_pki(NOW)
    return [
        (
            "wechatpay",
            WeChatPayV3(APIV3, {KEY_ID: keys["wechat"].verifying_key}),
            lambda order: wechat_callback(
                keys["wechat"], KEY_ID, APIV3, order_id=order, amount=100, at=NOW,
                event_id=f"EV-{order}",
            ),
        ),
        (
            "alipay",
            Alipay(keys["alipay"].verifying_key, APP_ID),
            lambda order: alipay_callback(
                keys["alipay"], APP_ID, order_id=order, amount=100, at=NOW
            ),
        ),
        (
            "unionpay",
            UnionPay(roots=[pki.root], intermediates=[pki.middle], mer_id=MER_ID),
            lambda order: unionpay_callback(order_id=order, amount=100, pki=pki, at=NOW),
        ),
        (
            "stripe",
            Stripe([SECRET]),
            lambda order: stripe_callback(
                SECRET, order_id=order, amount=100, at=NOW, event_id=f"evt_{order}"
            ),
        ),
        (
            "standardwebhooks",
            StandardWebhooks([SW_SECRET]),
            lambda order: standard_webhooks_callback(
                SW_SECRET, order_id=order, amount=100, at=NOW, msg_id=f"msg_{order}"
            ),
        ),
    ]  # fmt: skip


def is_retry_answer(provider: str, status: int, body: bytes) -> bool:
    """The provider's own reading of an answer: "try again"."""
    if provider == "alipay":
        return body != b"success"  # anything but the 7 bytes ``success``
    return not 200 <= status < 300  # WeChat, UnionPay, Stripe, Standard Webhooks: non-2xx


def test_a_retry_finding_the_event_in_flight_is_told_to_retry_per_provider(
    inbox_url: str, keys: dict[str, SigningKey]
) -> None:
    """While the handler of the first delivery runs, the provider's retry arrives."""
    for name, adapter, make in providers(keys):
        order = f"FLIGHT-{name}"[:32]
        callback = make(order)
        answers: list[tuple[DeliveryStatus, int, bytes, str | None]] = []
        second = PaymentInbox(inbox_url, handler=lambda e: None)

        def handler(event: PaymentEvent) -> None:
            retry = second.receive(adapter, *callback, at=NOW)  # noqa: B023
            answers.append((retry.status, retry.ack.status, retry.ack.body, retry.code))  # noqa: B023

        with PaymentInbox(inbox_url, handler=handler) as inbox:
            merchant = {"alipay": APP_ID, "unionpay": MER_ID}.get(name)
            inbox.create_order(order, provider=name, amount=100, merchant_id=merchant, at=NOW)
            first = inbox.receive(adapter, *callback, at=NOW)
            assert first.status is DeliveryStatus.PROCESSED, name
            assert not is_retry_answer(name, first.ack.status, first.ack.body), name
            ((status, http, body, code),) = answers
            assert (status, code) == (DeliveryStatus.IN_FLIGHT, "payment.in_flight"), name
            assert is_retry_answer(name, http, body), (name, http, body)
            done = second.receive(adapter, *callback, at=NOW)
            assert done.status is DeliveryStatus.DUPLICATE, name
            assert not is_retry_answer(name, done.ack.status, done.ack.body), name
        second.close()


def test_a_handler_error_is_answered_with_each_providers_retry_answer(
    inbox_url: str, keys: dict[str, SigningKey]
) -> None:
    def broken(event: PaymentEvent) -> None:
        raise RuntimeError("the fines office is down")

    with PaymentInbox(inbox_url, handler=broken, orders=False) as inbox:
        for name, adapter, make in providers(keys):
            receipt = inbox.receive(adapter, *make(f"FAIL-{name}"), at=NOW)
            assert (receipt.status, receipt.code) == (
                DeliveryStatus.FAILED,
                "payment.handler_failed",
            ), name
            assert is_retry_answer(name, receipt.ack.status, receipt.ack.body), name
            again = inbox.receive(adapter, *make(f"FAIL-{name}"), at=NOW)
            assert again.status is DeliveryStatus.FAILED, name  # failed again: retry again
            assert is_retry_answer(name, again.ack.status, again.ack.body), name
        assert inbox.stats()["failed"] == 5
        assert "processing" not in inbox.stats()  # a failure releases the claim


def test_a_stranded_event_is_told_to_retry_until_its_lease_lapses_then_processed(
    inbox_url: str,
) -> None:
    """The worker died between its claim and the handler's end (no finally ran)."""
    calls: list[str] = []

    class WorkerKilled(BaseException):
        """Stands for SIGKILL: nothing after it runs (the real thing is in test_kill9)."""

    def dies_once(event: PaymentEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise WorkerKilled

    stripe = Stripe([SECRET])
    with PaymentInbox(inbox_url, handler=dies_once, lease=timedelta(minutes=2)) as inbox:
        inbox.create_order("GOV-4", provider="stripe", amount=100, at=NOW)
        with pytest.raises(WorkerKilled):
            inbox.receive(stripe, *paid("GOV-4", 100, "evt_4"), at=NOW)
        assert inbox.event("evt_4").state is EventState.PROCESSING  # stranded
        soon = inbox.receive(stripe, *paid("GOV-4", 100, "evt_4"), at=NOW + timedelta(minutes=1))
        assert (soon.status, soon.ack.status) == (DeliveryStatus.IN_FLIGHT, 500)
        assert inbox.process_pending(at=NOW + timedelta(seconds=90)) == 0  # the lease holds
        assert inbox.process_pending(at=NOW + timedelta(minutes=3)) == 1  # lapsed: re-driven
        assert calls == ["evt_4", "evt_4"]  # at least once: the handler ran again
        record = inbox.event("evt_4")
        assert record.state is EventState.PROCESSED
        order = inbox.order("GOV-4")
        assert order is not None
        assert order.state is OrderState.PAID  # the order step was not repeated
        late = inbox.receive(stripe, *paid("GOV-4", 100, "evt_4"), at=NOW + timedelta(minutes=4))
        assert (late.status, late.ack.status) == (DeliveryStatus.DUPLICATE, 200)


def test_failed_events_are_retried_with_backoff(inbox_url: str) -> None:
    fail = [True]

    def handler(event: PaymentEvent) -> None:
        if fail[0]:
            raise ValueError("down")

    with PaymentInbox(
        inbox_url, handler=handler, orders=False, retry_base=timedelta(seconds=10)
    ) as inbox:
        inbox.receive(Stripe([SECRET]), *paid("GOV-5", 1, "evt_5"), at=NOW)
        first_retry = inbox.event("evt_5").next_attempt_at
        assert first_retry == NOW + timedelta(seconds=10)
        assert inbox.process_pending(at=NOW + timedelta(seconds=9)) == 0
        assert inbox.process_pending(at=NOW + timedelta(seconds=10)) == 0  # failed again
        assert inbox.event("evt_5").next_attempt_at == NOW + timedelta(seconds=30)  # 10 + 20
        fail[0] = False
        assert inbox.process_pending(at=NOW + timedelta(seconds=29)) == 0
        assert inbox.process_pending(at=NOW + timedelta(seconds=30)) == 1
        record = inbox.event("evt_5")
        assert (record.state, record.attempts, record.next_attempt_at) == (
            EventState.PROCESSED,
            3,
            None,
        )


# --- 3. the transactional handler ----------------------------------------------------------


def effects_table(url: str) -> None:
    with PaymentInbox(url) as inbox:  # creates the inbox tables; then the app's own table
        inbox.close()
    if url.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE effects (event_key TEXT, amount BIGINT, note TEXT)")
    else:
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(url) as conn:
            conn.execute("CREATE TABLE effects (event_key TEXT, amount BIGINT, note TEXT)")


def effects(inbox_url: str) -> list[tuple[Any, ...]]:
    if inbox_url.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(inbox_url) as conn:
            return list(conn.execute("SELECT event_key, amount, note FROM effects").fetchall())
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(inbox_url) as conn:
        return list(conn.execute("SELECT event_key, amount, note FROM effects").fetchall())


def test_transactional_effects_commit_with_the_processed_mark(inbox_url: str) -> None:
    effects_table(inbox_url)
    seen: list[str] = []

    def handler(event: PaymentEvent, tx: HandlerTransaction) -> None:
        tx.execute(  # a literal % works on both engines
            "INSERT INTO effects (event_key, amount, note) VALUES (?, ?, '100% paid')",
            (event.idempotency_key, event.amount),
        )
        row = tx.execute("SELECT state FROM payment_orders WHERE order_id = ?", (event.order_id,))
        seen.append(str(row.fetchone()[0]))  # type: ignore[index]
        assert tx.dialect in ("sqlite", "postgresql")

    with PaymentInbox(inbox_url, transactional_handler=handler) as inbox:
        inbox.create_order("GOV-6", provider="stripe", amount=700, at=NOW)
        receipt = inbox.receive(Stripe([SECRET]), *paid("GOV-6", 700, "evt_6"), at=NOW)
        assert receipt.status is DeliveryStatus.PROCESSED
        again = inbox.receive(Stripe([SECRET]), *paid("GOV-6", 700, "evt_6"), at=NOW)
        assert again.status is DeliveryStatus.DUPLICATE
    assert seen == ["paid"]  # the handler sees the order already updated, in its transaction
    assert effects(inbox_url) == [("stripe:evt_6", 700, "100% paid")]


def test_a_failing_transactional_handler_rolls_back_its_writes_and_the_order(
    inbox_url: str,
) -> None:
    effects_table(inbox_url)
    fail = [True]

    def handler(event: PaymentEvent, tx: HandlerTransaction) -> None:
        tx.execute("INSERT INTO effects (event_key, amount) VALUES (?, ?)", ("x", 1))
        if fail[0]:
            raise RuntimeError("after writing")

    with PaymentInbox(inbox_url, transactional_handler=handler) as inbox:
        inbox.create_order("GOV-7", provider="stripe", amount=70, at=NOW)
        failed = inbox.receive(Stripe([SECRET]), *paid("GOV-7", 70, "evt_7"), at=NOW)
        assert (failed.status, failed.ack.status) == (DeliveryStatus.FAILED, 500)
        assert effects(inbox_url) == []
        order = inbox.order("GOV-7")
        assert order is not None
        assert order.state is OrderState.CREATED  # rolled back with the handler's writes
        record = inbox.event("evt_7")
        assert (record.state, record.last_error) == (EventState.FAILED, "RuntimeError")
        fail[0] = False
        assert inbox.receive(Stripe([SECRET]), *paid("GOV-7", 70, "evt_7"), at=NOW).status is (
            DeliveryStatus.PROCESSED
        )
        order = inbox.order("GOV-7")
        assert order is not None
        assert order.state is OrderState.PAID
    assert effects(inbox_url) == [("x", 1, None)]


def test_a_statement_error_the_handler_swallows_still_fails_the_event(inbox_url: str) -> None:
    effects_table(inbox_url)

    messages: list[str] = []

    def handler(event: PaymentEvent, tx: HandlerTransaction) -> None:
        tx.execute("INSERT INTO effects (event_key) VALUES (?)", ("kept?",))
        try:
            tx.execute("INSERT INTO no_such_table VALUES (?)", (1,))
        except PaymentStoreError as exc:
            messages.append(exc.message)

    with PaymentInbox(inbox_url, transactional_handler=handler, orders=False) as inbox:
        receipt = inbox.receive(Stripe([SECRET]), *paid("GOV-8", 1, "evt_8"), at=NOW)
        assert receipt.status is DeliveryStatus.FAILED
        assert inbox.event("evt_8").last_error == "PaymentStoreError"
    assert effects(inbox_url) == []
    assert len(messages) == 1
    assert "no_such_table" not in messages[0]  # the engine's code, never the text


def test_the_handler_transaction_refuses_what_would_break_atomicity(inbox_url: str) -> None:
    kept: list[HandlerTransaction] = []
    refused: list[str] = []

    def handler(event: PaymentEvent, tx: HandlerTransaction) -> None:
        kept.append(tx)
        for statement in (
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT mine",
            "SELECT '?'",
            "SELECT 1; SELECT 2",
        ):
            try:
                tx.execute(statement)
            except ConfigurationError:
                refused.append(statement)
        assert tx.execute("SELECT ? + 1", (1,)).fetchall() == [(2,)]

    with PaymentInbox(inbox_url, transactional_handler=handler, orders=False) as inbox:
        receipt = inbox.receive(Stripe([SECRET]), *paid("GOV-9", 1, "evt_9"), at=NOW)
        assert receipt.status is DeliveryStatus.PROCESSED
    assert len(refused) == 5
    with pytest.raises(PaymentStoreError):  # usable only while the handler runs
        kept[0].execute("SELECT 1")


def test_an_inbox_without_the_handler_never_processes_an_event_that_needs_one(
    inbox_url: str,
) -> None:
    """`govkit payments replay` without --handler must not mark it processed unhandled."""
    fail = [True]
    handled: list[str] = []

    def handler(event: PaymentEvent) -> None:
        if fail[0]:
            raise RuntimeError("down")
        handled.append(event.event_id)

    with PaymentInbox(inbox_url, handler=handler) as inbox:
        inbox.create_order("GOV-10", provider="stripe", amount=10, at=NOW)
        inbox.receive(Stripe([SECRET]), *paid("GOV-10", 10, "evt_10"), at=NOW)
    later = NOW + timedelta(hours=2)
    with PaymentInbox(inbox_url) as bare:  # no handler: an operator's shell, an order service
        assert bare.replay("evt_10", at=later).state is EventState.FAILED
        assert bare.process_pending(at=later) == 0
    fail[0] = False
    with PaymentInbox(inbox_url, handler=handler) as inbox:
        assert inbox.process_pending(at=later) == 1
    assert handled == ["evt_10"]


# --- 4. quarantine has a way out ----------------------------------------------------------


def test_an_event_before_its_order_is_processed_when_the_order_is_created(
    inbox_url: str,
) -> None:
    handled: list[str] = []
    with PaymentInbox(inbox_url, handler=lambda e: handled.append(e.order_id)) as inbox:
        early = inbox.receive(Stripe([SECRET]), *paid("GOV-11", 900, "evt_11"), at=NOW)
        assert (early.status, early.code) == (DeliveryStatus.QUARANTINED, "order.unknown_order")
        assert early.ack.status == 200  # stored, and it has a way out without an operator
        assert handled == []
        inbox.create_order("GOV-11", provider="stripe", amount=900, at=NOW)
        assert handled == ["GOV-11"]
        assert inbox.event("evt_11").state is EventState.PROCESSED
        order = inbox.order("GOV-11")
        assert order is not None
        assert order.state is OrderState.PAID
        assert inbox.quarantine() == []


def test_an_order_created_elsewhere_is_found_by_the_redrive(inbox_url: str) -> None:
    """The order reached the database through an order service without the handler."""
    handled: list[str] = []
    with PaymentInbox(inbox_url, handler=lambda e: handled.append(e.order_id)) as inbox:
        inbox.receive(Stripe([SECRET]), *paid("GOV-12", 900, "evt_12"), at=NOW)
        assert inbox.process_pending(at=NOW) == 0  # no order yet: nothing to re-drive
        with PaymentInbox(inbox_url) as order_service:
            order_service.create_order("GOV-12", provider="stripe", amount=900, at=NOW)
            # the order service has no handler: it leaves the event for the worker
            assert order_service.event("evt_12").state is EventState.PENDING
        assert handled == []
        assert inbox.process_pending(at=NOW) == 1
        assert handled == ["GOV-12"]


def test_release_needs_a_reason_and_an_actor(inbox_url: str) -> None:
    with PaymentInbox(inbox_url) as inbox:
        inbox.receive(Stripe([SECRET]), *paid("GOV-15", 1, "evt_15"), at=NOW)
        for reason, actor in (("", "clerk"), ("reviewed", " "), ("x" * 300, "clerk")):
            with pytest.raises(ConfigurationError):
                inbox.release("evt_15", reason=reason, actor=actor, at=NOW)
        assert inbox.event("evt_15").state is EventState.QUARANTINED


def test_release_after_review(inbox_url: str) -> None:
    handled: list[PaymentEvent] = []
    audit = AuditLog(os.path.join(tempfile.mkdtemp(), "audit.db"), origin="test.gov/payments")
    with PaymentInbox(inbox_url, handler=handled.append, audit=audit) as inbox:
        inbox.create_order("GOV-13", provider="stripe", amount=20000, at=NOW)
        inbox.receive(Stripe([SECRET]), *paid("GOV-13", 19900, "evt_13"), at=NOW)
        assert inbox.quarantine() == [("evt_13", "GOV-13", "amount_mismatch")]
        record = inbox.release(
            "evt_13", reason="1 yuan coupon confirmed by the bureau", actor="clerk-7", at=NOW
        )
        assert (record.state, record.result) == (EventState.PROCESSED, "released")
        assert [e.event_id for e in handled] == ["evt_13"]
        order = inbox.order("GOV-13")
        assert order is not None
        assert order.state is OrderState.CREATED  # never marked paid with the wrong amount
        assert inbox.quarantine() == []
        with pytest.raises(PaymentReleaseRefused) as caught:
            inbox.release("evt_13", reason="again", actor="clerk-7", at=NOW)
        assert caught.value.code == "payment.release_refused"
    events = [audit.entry(i).event for i in range(audit.size())]
    releases = [e for e in events if e.action == "payment.release"]
    assert [(e.actor_id, e.reason) for e in releases] == [
        ("clerk-7", "1 yuan coupon confirmed by the bureau")
    ]
    audit.close()


# --- 5. unauthenticated input is bounded ---------------------------------------------------


def test_a_forged_body_keeps_only_metadata_and_a_small_excerpt(inbox_url: str) -> None:
    stripe = Stripe([SECRET])
    headers, body = stripe_callback("whsec_forger", order_id="GOV-14", amount=1, at=NOW)
    big = body + b" " * (200 * 1024)
    headers = {**headers, "X-Padding": "p" * 5000, **{f"X-{i}": "v" * 300 for i in range(20)}}
    with PaymentInbox(inbox_url) as inbox:
        receipt = inbox.receive(stripe, headers, big, source="198.51.100.9", at=NOW)
        assert (receipt.status, receipt.code) == (DeliveryStatus.REJECTED, "payment.bad_signature")
        assert receipt.delivery_id is not None
        kept_headers, kept_body = inbox.delivery_body(receipt.delivery_id)
        assert kept_body == big[:1024]
        assert len(str(kept_headers).encode()) <= 1100
        (row,) = inbox.deliveries()
        assert (row["body_size"], row["excerpt"], row["source"]) == (
            len(big),
            True,
            "198.51.100.9",
        )
        huge = inbox.receive(stripe, headers, body + b" " * (1024 * 1024), at=NOW)
        assert (huge.status, huge.code, huge.delivery_id) == (
            DeliveryStatus.REJECTED,
            "payment.too_large",
            None,
        )
        assert huge.ack.status == 400
        assert inbox.stats()["deliveries"] == 1  # refused before anything was stored


def test_provider_limits_match_the_adapters(keys: dict[str, SigningKey]) -> None:
    from govkit.errors import PaymentMalformed  # noqa: PLC0415
    from govkit.payments._inbox import MAX_BODY  # noqa: PLC0415

    for name, adapter, _ in providers(keys):
        limit = MAX_BODY[adapter.provider]
        with pytest.raises(PaymentMalformed):
            adapter.parse({}, b"x" * (limit + 1), at=NOW)
        assert name == str(adapter.provider)
