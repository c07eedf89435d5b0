"""A PostgreSQL restart under the audit log, the payment inbox and an identity store.

The server goes away (``pg_ctl stop -m immediate``, then ``start``; and ``pg_ctl restart
-m immediate``) while the three stores are open. Evidence that each one

* fails every call during the outage with its own typed ``*.store`` error (never a
  psycopg exception, never a hang),
* works again within seconds of the server's return, without being reopened,
* loses nothing committed before the crash and writes nothing twice: a call that
  failed is not replayed behind the caller's back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, verify_log
from govkit.errors import (
    AuditStoreError,
    GovkitError,
    IdentityStoreError,
    PaymentStoreError,
    StoreError,
)
from govkit.identity import PostgresIdentityStore
from govkit.payments import DeliveryStatus, PaymentInbox, Stripe
from govkit.testing.payments import stripe_callback

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
ORIGIN = "restart.example.gov/audit"
SECRET = "whsec_restart"
#: How long a store may take to work again once the server accepts connections.
RECOVERY_SECONDS = 10.0

T = TypeVar("T")


def event(i: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=NOW + timedelta(seconds=i),
        actor_id="clerk-7",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{i}",
        personal=frozenset(),
    )


def paid(order: str, amount: int) -> tuple[dict[str, str], bytes]:
    return stripe_callback(SECRET, order_id=order, amount=amount, at=NOW, event_id=f"evt_{order}")


@dataclass
class Stores:
    log: AuditLog
    inbox: PaymentInbox
    identity: PostgresIdentityStore
    signer: NoteSigner

    def close(self) -> None:
        self.log.close()
        self.inbox.close()
        self.identity.close()


@pytest.fixture
def stores(restartable_db: str) -> Iterator[Stores]:
    signer = NoteSigner.generate(ORIGIN)
    opened = Stores(
        AuditLog(restartable_db, origin=ORIGIN, signer=signer),
        PaymentInbox(restartable_db),
        PostgresIdentityStore(restartable_db),
        signer,
    )
    yield opened
    opened.close()


def recovered(call: Callable[[], T], error: type[GovkitError]) -> tuple[T, float, int]:
    """Call until it works; only ``error`` may be raised meanwhile. (result, seconds, fails)."""
    start = time.monotonic()
    failures = 0
    while True:
        try:
            return call(), time.monotonic() - start, failures
        except error:
            failures += 1
            assert time.monotonic() - start < RECOVERY_SECONDS, "the store did not recover"
            time.sleep(0.05)


def use_before_the_outage(s: Stores) -> None:
    assert s.log.append(event(0)) == 0
    s.log.checkpoint()
    s.inbox.create_order("GOV-1", provider="stripe", amount=100, at=NOW)
    s.inbox.create_order("GOV-2", provider="stripe", amount=200, at=NOW)
    receipt = s.inbox.receive(Stripe([SECRET]), *paid("GOV-1", 100), at=NOW)
    assert receipt.status is DeliveryStatus.PROCESSED
    assert s.identity.check_and_remember("dpop:jkt:before", now=NOW, expires_at=LATER)
    s.identity.revoke_token("jti-before", expires_at=LATER)


def check_after_recovery(s: Stores) -> None:
    """Everything from before is there once, everything after the outage once."""
    stripe = Stripe([SECRET])
    index, _, _ = recovered(lambda: s.log.append(event(1)), AuditStoreError)
    assert index == 1  # the append that failed during the outage was not committed
    receipt, _, _ = recovered(
        lambda: s.inbox.receive(stripe, *paid("GOV-2", 200), at=NOW), PaymentStoreError
    )
    assert receipt.status is DeliveryStatus.PROCESSED
    fresh, _, _ = recovered(
        lambda: s.identity.check_and_remember("dpop:jkt:after", now=NOW, expires_at=LATER),
        IdentityStoreError,
    )
    assert fresh

    # Nothing lost: what was committed before the crash is still there.
    assert not s.identity.check_and_remember("dpop:jkt:before", now=NOW, expires_at=LATER)
    assert s.identity.is_revoked("jti-before", now=NOW)
    first = s.inbox.event("evt_GOV-1")
    assert (first.deliveries, first.attempts) == (1, 1)
    # Nothing written twice: a redelivery is a duplicate, each order was applied once.
    again = s.inbox.receive(stripe, *paid("GOV-2", 200), at=NOW)
    assert again.status is DeliveryStatus.DUPLICATE
    stats = s.inbox.stats()
    assert (stats["events"], stats["processed"]) == (2, 2)
    assert [o.state for o in (s.inbox.order("GOV-1"), s.inbox.order("GOV-2")) if o] == [
        "paid",
        "paid",
    ]
    s.log.checkpoint()
    assert verify_log(s.log, verifiers=[s.signer.verifier]).size == 2
    assert [e.event.resource_id for e in s.log.query()] == ["GD-0", "GD-1"]


def test_every_store_fails_typed_while_the_server_is_down_and_recovers_after(
    restartable_postgres: Any, stores: Stores
) -> None:
    use_before_the_outage(stores)
    restartable_postgres.stop(mode="immediate")
    try:
        calls: list[tuple[Callable[[], object], type[StoreError]]] = [
            (lambda: stores.log.append(event(1)), AuditStoreError),
            (stores.log.size, AuditStoreError),
            (
                lambda: stores.inbox.receive(Stripe([SECRET]), *paid("GOV-2", 200), at=NOW),
                PaymentStoreError,
            ),
            (stores.inbox.stats, PaymentStoreError),
            (
                lambda: stores.identity.check_and_remember("dpop:jkt:x", now=NOW, expires_at=LATER),
                IdentityStoreError,
            ),
            (lambda: stores.identity.is_revoked("jti-before", now=NOW), IdentityStoreError),
        ]
        for _ in range(2):  # the dead connection, then the refused reconnection
            for call, error in calls:
                started = time.monotonic()
                with pytest.raises(error) as caught:
                    call()
                assert time.monotonic() - started < 15  # connect_timeout bounds a refusal
                assert caught.value.context["engine"] == "postgresql"
                assert isinstance(caught.value, StoreError)
    finally:
        restartable_postgres.start()
    check_after_recovery(stores)


def test_pg_ctl_restart_immediate_costs_at_most_one_failed_call_per_store(
    restartable_postgres: Any, stores: Stores
) -> None:
    use_before_the_outage(stores)
    restartable_postgres.restart(mode="immediate")
    _, seconds, failures = recovered(stores.log.size, AuditStoreError)
    assert (failures, seconds < RECOVERY_SECONDS) in ((0, True), (1, True))
    _, _, failures = recovered(stores.inbox.stats, PaymentStoreError)
    assert failures <= 1
    _, _, failures = recovered(
        lambda: stores.identity.is_revoked("jti-before", now=NOW), IdentityStoreError
    )
    assert failures <= 1
    check_after_recovery(stores)


def test_appends_racing_a_restart_are_never_replayed(
    restartable_postgres: Any, stores: Stores
) -> None:
    """A writer keeps appending through ``pg_ctl restart -m immediate``.

    Every append that returned an index holds exactly the event that was appended; an
    append that raised may or may not have committed (its COMMIT may have reached the
    server), but nothing is in the log twice and the log verifies.
    """
    stop = threading.Event()
    succeeded: dict[int, int] = {}
    failed: list[int] = []
    unexpected: list[BaseException] = []

    def writer() -> None:
        n = 0
        while not stop.is_set() or n < 5:
            n += 1
            try:
                succeeded[n] = stores.log.append(event(n))
            except AuditStoreError:
                failed.append(n)
                time.sleep(0.02)
            except BaseException as exc:  # pragma: no cover - reported below
                unexpected.append(exc)
                return
            if n > 5000:
                return

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)
    restartable_postgres.restart(mode="immediate")
    time.sleep(0.5)
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert unexpected == []
    assert failed, "the restart did not interrupt the writer"
    entries = stores.log.query(limit=100_000)
    written = [int(str(e.event.resource_id).removeprefix("GD-")) for e in entries]
    assert len(written) == len(set(written))  # nothing twice
    assert set(succeeded) <= set(written) <= set(succeeded) | set(failed)
    assert all(entries[index].event.resource_id == f"GD-{n}" for n, index in succeeded.items())
    stores.log.checkpoint()
    assert verify_log(stores.log, verifiers=[stores.signer.verifier]).size == len(written)
