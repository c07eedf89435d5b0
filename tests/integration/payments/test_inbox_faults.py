"""Store faults under the inbox, and unauthenticated floods, with the real parts.

* A full disk (a 4 MiB tmpfs mounted for the test) while a transactional handler's
  writes commit: nothing commits, the provider is never told "success", and its retry
  once space is back processes the event exactly once.
* A full disk after an at-least-once handler ran, while "processed" is written: the
  delivery fails (5xx), a retry while the disk is full fails too (never "success"),
  and once space is back the inbox records the end of the handler's run: the retry is
  a duplicate and the handler ran once.
* PostgreSQL: the connection dies at the commit of a transactional handler's
  transaction; the database turns read-only while an at-least-once handler runs.
* 1,000 forged 1 MB deliveries grow the store by less than 5 MB.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from govkit.errors import PaymentStoreError
from govkit.payments import (
    DeliveryStatus,
    EventState,
    HandlerTransaction,
    PaymentEvent,
    PaymentInbox,
    Stripe,
)
from govkit.testing.payments import stripe_callback

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_faults"
T = TypeVar("T")


def paid(order_id: str, event_id: str, amount: int = 100) -> tuple[dict[str, str], bytes]:
    return stripe_callback(SECRET, order_id=order_id, amount=amount, at=NOW, event_id=event_id)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, mounted for the test (the tests run as root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file into ``folder`` until the disk is full; the file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (65536, 512):  # then the last few blocks
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
    finally:
        os.close(fd)
    return filler


def effects(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT event_key FROM effects")]


def attempts_until(call: Callable[[], T], tries: int = 4) -> tuple[T, int]:
    """Call until no PaymentStoreError (the provider retrying); result and failures."""
    for failures in range(tries):
        try:
            return call(), failures
        except PaymentStoreError:
            continue
    raise AssertionError("the store did not recover")


# --- a full disk (SQLite) ------------------------------------------------------------


def test_disk_full_at_commit_of_a_transactional_handler_commits_nothing(small_disk: Path) -> None:
    path = small_disk / "inbox.db"
    PaymentInbox(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE effects (event_key TEXT, blob BLOB)")

    def handler(event: PaymentEvent, tx: HandlerTransaction) -> None:
        tx.execute(
            "INSERT INTO effects (event_key, blob) VALUES (?, ?)",
            (event.idempotency_key, os.urandom(256 * 1024)),
        )

    stripe = Stripe([SECRET])
    with PaymentInbox(path, transactional_handler=handler) as inbox:
        inbox.create_order("GOV-1", provider="stripe", amount=100, at=NOW)
        filler = fill(small_disk)
        with pytest.raises(PaymentStoreError) as caught:
            inbox.receive(stripe, *paid("GOV-1", "evt_1"), at=NOW)  # the provider gets a 5xx
        assert caught.value.context.get("sqlite_error") in ("SQLITE_FULL", "SQLITE_IOERR_WRITE")
        assert inbox.stats()["events"] == 0  # nothing committed, nothing left processing
        filler.unlink()
        receipt = inbox.receive(stripe, *paid("GOV-1", "evt_1"), at=NOW)
        assert (receipt.status, receipt.ack.status) == (DeliveryStatus.PROCESSED, 200)
        again = inbox.receive(stripe, *paid("GOV-1", "evt_1"), at=NOW)
        assert again.status is DeliveryStatus.DUPLICATE
    assert effects(path) == ["stripe:evt_1"]


def test_disk_full_while_finishing_an_at_least_once_handler(small_disk: Path) -> None:
    path = small_disk / "inbox.db"
    calls: list[str] = []
    filler: list[Path] = []

    def handler(event: PaymentEvent) -> None:
        calls.append(event.event_id)
        filler.append(fill(small_disk))  # another process fills the disk meanwhile

    stripe = Stripe([SECRET])
    with PaymentInbox(path, handler=handler) as inbox:
        inbox.create_order("GOV-2", provider="stripe", amount=100, at=NOW)
        with pytest.raises(PaymentStoreError):
            inbox.receive(stripe, *paid("GOV-2", "evt_2"), at=NOW)
        with pytest.raises(PaymentStoreError):  # the provider's retry: still no "success"
            inbox.receive(stripe, *paid("GOV-2", "evt_2"), at=NOW)
        filler[0].unlink()
        retry = inbox.receive(stripe, *paid("GOV-2", "evt_2"), at=NOW)
        assert (retry.status, retry.ack.status) == (DeliveryStatus.DUPLICATE, 200)
        assert calls == ["evt_2"]  # the run that could not be recorded was not repeated
        record = inbox.event("evt_2")
        assert (record.state, record.attempts) == (EventState.PROCESSED, 1)


def test_a_handler_failure_the_disk_cannot_record_is_recorded_later(small_disk: Path) -> None:
    path = small_disk / "inbox.db"
    filler: list[Path] = []

    def handler(event: PaymentEvent) -> None:
        filler.append(fill(small_disk))
        raise RuntimeError("the fines office is down")

    with PaymentInbox(path, handler=handler, orders=False) as inbox:
        receipt = inbox.receive(Stripe([SECRET]), *paid("GOV-3", "evt_3"), at=NOW)
        assert (receipt.status, receipt.ack.status) == (DeliveryStatus.FAILED, 500)
        assert inbox.event("evt_3").state is EventState.PROCESSING  # nothing could be written
        filler[0].unlink()
        inbox.process_pending(at=NOW)  # any later write of the inbox records it first
        record = inbox.event("evt_3")
        assert (record.state, record.last_error) == (EventState.FAILED, "RuntimeError")


# --- PostgreSQL ------------------------------------------------------------------------


def admin(url: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, params)


def test_connection_lost_at_the_commit_of_a_transactional_handler(pg_store_url: str) -> None:
    PaymentInbox(pg_store_url).close()
    admin(pg_store_url, "CREATE TABLE effects (event_key TEXT)")
    kill = [True]

    def handler(event: PaymentEvent, tx: HandlerTransaction) -> None:
        tx.execute("INSERT INTO effects (event_key) VALUES (?)", (event.idempotency_key,))
        if kill[0]:
            kill[0] = False
            (pid,) = tx.execute("SELECT pg_backend_pid()").fetchone() or (0,)
            admin(pg_store_url, "SELECT pg_terminate_backend(%s)", (pid,))

    stripe = Stripe([SECRET])
    with PaymentInbox(pg_store_url, transactional_handler=handler) as inbox:
        inbox.create_order("GOV-4", provider="stripe", amount=100, at=NOW)
        with pytest.raises(PaymentStoreError) as caught:
            inbox.receive(stripe, *paid("GOV-4", "evt_4"), at=NOW)
        assert caught.value.context["engine"] == "postgresql"
        receipt = inbox.receive(stripe, *paid("GOV-4", "evt_4"), at=NOW)  # reconnected
        assert (receipt.status, receipt.ack.status) == (DeliveryStatus.PROCESSED, 200)
    import psycopg  # noqa: PLC0415

    with psycopg.connect(pg_store_url) as conn:
        rows = conn.execute("SELECT event_key FROM effects").fetchall()
    assert rows == [("stripe:evt_4",)]


def test_database_turned_read_only_while_an_at_least_once_handler_runs(
    pg_store_url: str,
) -> None:
    server, database = pg_store_url.rsplit("/", 1)
    other = f"{server}/postgres"  # the operator's session, on another database
    calls: list[str] = []

    def switch(read_only: bool) -> None:
        setting = "on" if read_only else "off"
        admin(other, f'ALTER DATABASE "{database}" SET default_transaction_read_only = {setting}')
        admin(  # the inbox's session ends: it reconnects with the new default
            other,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )

    def handler(event: PaymentEvent) -> None:
        calls.append(event.event_id)
        switch(read_only=True)

    stripe = Stripe([SECRET])
    with PaymentInbox(pg_store_url, handler=handler) as inbox:
        inbox.create_order("GOV-5", provider="stripe", amount=100, at=NOW)
        with pytest.raises(PaymentStoreError):
            inbox.receive(stripe, *paid("GOV-5", "evt_5"), at=NOW)
        for _ in range(2):  # reconnected, read-only: still never "success"
            with pytest.raises(PaymentStoreError):
                inbox.receive(stripe, *paid("GOV-5", "evt_5"), at=NOW)
        switch(read_only=False)
        receipt, failures = attempts_until(
            lambda: inbox.receive(stripe, *paid("GOV-5", "evt_5"), at=NOW)
        )
        assert failures <= 1  # the dead connection, once
        assert (receipt.status, receipt.ack.status) == (DeliveryStatus.DUPLICATE, 200)
        assert calls == ["evt_5"]
        assert inbox.event("evt_5").state is EventState.PROCESSED


# --- unauthenticated floods -------------------------------------------------------------


def store_size(url: str) -> int:
    if url.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url) as conn:
            conn.execute("CHECKPOINT")
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        return int(row[0])
    return sum(
        p.stat().st_size for p in Path(url).parent.iterdir() if p.name.startswith("inbox.db")
    )


@pytest.fixture(params=["sqlite", "postgres"])
def inbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "inbox.db")
    url: str = request.getfixturevalue("pg_store_url")
    return url


def test_thousand_forged_1mb_deliveries_grow_the_store_by_less_than_5mb(inbox_url: str) -> None:
    headers, body = stripe_callback("whsec_forger", order_id="GOV-6", amount=1, at=NOW)
    forged = body + b" " * (1024 * 1024 - len(body))
    stripe = Stripe([SECRET])
    # An inbox limit above 1 MB, so that each forged body reaches the adapter, is
    # refused there (payment.malformed: over Stripe's 256 KiB) and stored as an excerpt;
    # with the provider's own limit the inbox stores nothing at all (below).
    with PaymentInbox(inbox_url, durable=False, max_body=2 * 1024 * 1024) as inbox:
        inbox.create_order("GOV-6", provider="stripe", amount=1, at=NOW)
    before = store_size(inbox_url)
    with PaymentInbox(inbox_url, durable=False, max_body=2 * 1024 * 1024) as inbox:
        for n in range(1000):
            receipt = inbox.receive(stripe, headers, forged, source=f"203.0.113.{n % 250}", at=NOW)
            assert (receipt.status, receipt.code) == (DeliveryStatus.REJECTED, "payment.malformed")
        assert inbox.stats()["rejected"] == 1000
    grown = store_size(inbox_url) - before
    assert grown < 5 * 1024 * 1024, f"{grown / 1024 / 1024:.1f} MB for 1,000 forged deliveries"
    with PaymentInbox(inbox_url, durable=False) as inbox:  # the provider's own limit: 256 KiB
        for _ in range(1000):
            receipt = inbox.receive(stripe, headers, forged, at=NOW)
            assert (receipt.code, receipt.delivery_id) == ("payment.too_large", None)
        assert inbox.stats()["deliveries"] == 1000  # the second thousand stored nothing
