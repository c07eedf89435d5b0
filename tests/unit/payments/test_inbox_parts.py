"""The inbox's parts on their own: content digests, excerpts, the handler's SQL, group commit."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from govkit.errors import ConfigurationError, PaymentStoreError
from govkit.payments import DeliveryStatus, Handler, PaymentEvent, Receipt, TransactionalHandler
from govkit.payments._inbox_store import (
    BODY_EXCERPT,
    ERRORS,
    HEADERS_EXCERPT,
    GroupCommit,
    Rerun,
    _handler_statement,
    content_digest,
    headers_excerpt,
)
from govkit.stores._sql import Schema, Tx, open_database

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def event(**changes: Any) -> PaymentEvent:
    fields: dict[str, Any] = {
        "provider": "alipay",
        "event_id": "notify-1",
        "kind": "paid",
        "order_id": "GOV-1",
        "amount": 20000,
        "currency": "CNY",
        "occurred_at": NOW,
        "transaction_id": "2026000001",
        "refunded_total": None,
        "status": "TRADE_SUCCESS",
        "raw": {"notify_time": "2026-05-01 16:00:00", "sign": "abc"},
    }
    fields.update(changes)
    return PaymentEvent(**fields)


# --- content digests -----------------------------------------------------------------


def test_a_retry_with_new_notify_time_signature_and_notify_id_has_the_same_digest() -> None:
    retry = event(
        event_id="notify-2",
        occurred_at=NOW.replace(minute=4),
        raw={"notify_time": "2026-05-01 16:04:00", "sign": "xyz"},
        payer_amount=19900,
        merchant_id="2021",
    )
    assert content_digest(retry) == content_digest(event())


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "refunded"},
        {"order_id": "GOV-2"},
        {"amount": 1},
        {"currency": "USD"},
        {"refunded_total": 100},
        {"transaction_id": "2026000002"},
        {"transaction_id": None},
    ],
)
def test_each_business_field_changes_the_digest(change: dict[str, Any]) -> None:
    assert content_digest(event(**change)) != content_digest(event())


# --- what is kept of a refused delivery ----------------------------------------------


def test_the_headers_excerpt_is_bounded_valid_json_of_whole_pairs() -> None:
    headers = {f"X-Header-{i:03d}": "v" * 1000 for i in range(200)}
    headers["Wechatpay-Serial"] = "5157F09EFDC096DE"
    kept = headers_excerpt(headers)
    assert len(kept.encode("utf-8")) <= HEADERS_EXCERPT
    pairs = json.loads(kept)
    assert all(len(v) == 256 for k, v in pairs.items() if k.startswith("X-"))
    assert headers_excerpt({"Stripe-Signature": "t=1,v1=ab"}) == '{"Stripe-Signature": "t=1,v1=ab"}'
    wide = json.loads(headers_excerpt({"名": "值" * 600}))  # 3 bytes a character
    assert wide == {"名": "值" * 256}
    assert BODY_EXCERPT + HEADERS_EXCERPT <= 4096  # "an excerpt of at most 4 KiB"


# --- the transactional handler's statements ------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "COMMIT",
        "rollback",
        "  Savepoint x",
        "RELEASE x",
        "BEGIN",
        "SELECT '?'",
        'SELECT 1 AS "a?"',
        "SELECT 1 -- why?\n",
        "SELECT 1 /* ? */",
        "SELECT 1; DELETE FROM payment_events",
        "SELECT 'open",
        "",
    ],
)
def test_statements_that_would_break_the_transaction_or_the_placeholders_are_refused(
    statement: str,
) -> None:
    with pytest.raises(ConfigurationError):
        _handler_statement(statement, postgres=False)


def test_placeholders_are_question_marks_on_both_engines() -> None:
    text = "INSERT INTO t (a, b) VALUES (?, '100%') -- fee\n"
    assert _handler_statement(text, postgres=False) == text
    assert _handler_statement(text, postgres=True) == text.replace("%", "%%")
    assert _handler_statement("SELECT 1;", postgres=False) == "SELECT 1;"


# --- group commit --------------------------------------------------------------------


SCHEMA = Schema(
    component="group_commit_test",
    version=1,
    create=("CREATE TABLE IF NOT EXISTS rows (value TEXT NOT NULL)",),
    marker="rows",
)


def rows(db: Any) -> list[str]:
    return sorted(r[0] for r in db.read("SELECT value FROM rows"))


def test_deliveries_that_wait_share_one_commit(tmp_path: Path) -> None:
    db = open_database(tmp_path / "g.db", schema=SCHEMA, errors=ERRORS)
    group = GroupCommit(db)
    transactions: list[int] = []
    barrier = threading.Barrier(8)

    def job(value: str, tx: Tx) -> str:
        tx.run("INSERT INTO rows (value) VALUES (?)", (value,))
        transactions.append(id(tx))
        time.sleep(0.01)  # a slow job: the others queue behind it
        return value

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(5):
            assert group.run(lambda tx, v=f"{n}-{i}": job(v, tx)) == f"{n}-{i}"

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(rows(db)) == 40
    assert len(set(transactions)) < 40  # some commits covered several jobs
    db.close()


def test_a_failing_job_fails_alone_and_the_others_commit(tmp_path: Path) -> None:
    db = open_database(tmp_path / "g.db", schema=SCHEMA, errors=ERRORS)
    group = GroupCommit(db)
    start = threading.Event()
    outcomes: dict[str, object] = {}

    def job(value: str, tx: Tx) -> str:
        start.wait(5)
        if value == "bad":
            tx.run("INSERT INTO no_such_table VALUES (1)")  # a store error, mid-group
        tx.run("INSERT INTO rows (value) VALUES (?)", (value,))
        return value

    def worker(value: str) -> None:
        try:
            outcomes[value] = group.run(lambda tx: job(value, tx))
        except PaymentStoreError as exc:
            outcomes[value] = exc

    threads = [threading.Thread(target=worker, args=(v,)) for v in ("a", "bad", "b", "c")]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    start.set()
    for thread in threads:
        thread.join()
    assert rows(db) == ["a", "b", "c"]
    assert isinstance(outcomes["bad"], PaymentStoreError)
    db.close()


def test_a_job_can_ask_to_be_replaced_and_its_work_is_rolled_back(tmp_path: Path) -> None:
    db = open_database(tmp_path / "g.db", schema=SCHEMA, errors=ERRORS)
    group = GroupCommit(db)

    def failed(tx: Tx) -> str:
        tx.run("INSERT INTO rows (value) VALUES ('failure recorded')")
        return "replaced"

    def job(tx: Tx) -> str:
        tx.run("INSERT INTO rows (value) VALUES ('handler effect')")
        raise Rerun(failed)

    assert group.run(job) == "replaced"
    assert rows(db) == ["failure recorded"]
    db.close()


def test_writing_to_the_inbox_from_inside_its_own_transaction_is_refused(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "g.db", schema=SCHEMA, errors=ERRORS)
    group = GroupCommit(db)
    with pytest.raises(ConfigurationError):
        group.run(lambda tx: group.run(lambda inner: None))
    db.close()


# --- receipts and the handler docs ------------------------------------------------------


def test_the_handler_docstrings_say_which_guarantee_is_which() -> None:
    assert "at-least-once" in (Handler.__doc__ or "")
    assert "idempotency_key" in (Handler.__doc__ or "")
    text = " ".join((TransactionalHandler.__doc__ or "").split())
    assert "exactly once" in text
    assert "Only there" in text


def test_a_receipt_says_whether_it_acknowledges() -> None:
    from govkit.payments import Acknowledgement  # noqa: PLC0415

    receipt = Receipt(DeliveryStatus.IN_FLIGHT, Acknowledgement(500), 7, code="payment.in_flight")
    assert receipt.to_dict()["acknowledged"] is False
    assert replace(receipt, ack=Acknowledgement(200)).to_dict()["acknowledged"] is True
