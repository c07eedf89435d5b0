"""The inbox schema's steps from version 1 (govkit 0.1) to 3, on the previous release's inbox.

The fixture ``tests/fixtures/stores/inbox.db`` was written by govkit 0.1 (see its
README); here a 100 KB forged delivery is added to a copy, as 0.1 stored them whole.
``govkit db upgrade`` must bring it to version 3: "done" events become "processed",
the forged body shrinks to its 1 KiB excerpt (its size kept), and every old event keeps
its dedup key and gains a content digest at its next delivery, so conflicts are found
for old events too. A reader of this release refuses version 1 with the command to run.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from contextlib import closing, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.cli import main
from govkit.errors import PaymentStoreSchemaError
from govkit.payments import DeliveryStatus, EventState, PaymentInbox, Stripe
from govkit.testing.payments import stripe_callback

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "stores" / "inbox.db"
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_previous_release"


@pytest.fixture
def old_inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox.db"
    shutil.copy(FIXTURE, path)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "INSERT INTO payment_deliveries (provider, received_us, source, headers, body,"
            " result) VALUES ('stripe', 1777622400000000, '203.0.113.66', ?, ?,"
            " 'payment.bad_signature')",
            (json.dumps({"X-Padding": "p" * 5000}), b"F" * 100_000),
        )
    return path


def cli(*argv: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--json", *argv])
    return code, json.loads(out.getvalue())


def test_a_reader_asks_for_the_upgrade_and_the_upgrade_keeps_every_meaning(
    old_inbox: Path,
) -> None:
    with pytest.raises(PaymentStoreSchemaError) as caught:
        PaymentInbox(old_inbox, read_only=True)
    assert "govkit db upgrade" in caught.value.message
    code, report = cli("db", "upgrade", str(old_inbox))
    assert code == 0
    components = report["components"]
    assert isinstance(components, list)
    assert [c for c in components if c["present"]] == [
        {
            "present": True,
            "component": "payments",
            "before": 1,
            "after": 3,
            "recorded": False,
            "changed": True,
        }
    ]
    with PaymentInbox(old_inbox, read_only=True) as reader:
        assert reader.stats() == {
            "deliveries": 6,
            "rejected": 2,
            "events": 3,
            "failed": 1,
            "processed": 1,
            "quarantined": 1,
        }
        forged = reader.deliveries(limit=1)[0]
        assert (forged["body_size"], forged["excerpt"]) == (100_000, True)
        headers, body = reader.delivery_body(int(forged["delivery_id"]))
        assert (headers, body) == ({}, b"F" * 1024)
        old_forged = next(d for d in reader.deliveries() if d["delivery_id"] == 3)
        assert (old_forged["body_size"], old_forged["excerpt"]) == (314, False)
        assert reader.event("evt_1").state is EventState.PROCESSED
        assert reader.event("evt_1").content_digest is None  # computed at its next delivery
    code, _ = cli("db", "upgrade", str(old_inbox))
    assert code == 0
    with closing(sqlite3.connect(old_inbox)) as conn:
        assert conn.execute("SELECT version FROM govkit_schema").fetchall() == [(3,)]


def test_an_old_event_is_a_duplicate_of_its_retry_and_conflicts_with_other_content(
    old_inbox: Path,
) -> None:
    assert cli("db", "upgrade", str(old_inbox))[0] == 0
    with PaymentInbox(old_inbox) as inbox:
        retry = inbox.delivery_body(1)  # the provider's retry: the very same body
        receipt = inbox.receive(Stripe([SECRET]), *retry, at=NOW)
        assert receipt.status is DeliveryStatus.DUPLICATE
        assert inbox.event("evt_1").content_digest is not None
        other = stripe_callback(SECRET, order_id="GOV-1", amount=1, at=NOW, event_id="evt_1")
        conflict = inbox.receive(Stripe([SECRET]), *other, at=NOW)
        assert (conflict.status, conflict.code) == (DeliveryStatus.CONFLICT, "payment.conflict")
        assert inbox.event("evt_1").state is EventState.CONFLICT
        assert inbox.quarantine() == [("evt_2", "GOV-2", "amount_mismatch")]


def test_old_deliveries_gain_their_digest_when_purged_and_unfinished_ones_keep_bodies(
    old_inbox: Path,
) -> None:
    """Deliveries stored before version 3 have no digest: the purge computes it."""
    import hashlib  # noqa: PLC0415

    from govkit.errors import PaymentBodyPurged  # noqa: PLC0415

    assert cli("db", "upgrade", str(old_inbox))[0] == 0
    later = NOW + timedelta(days=365)
    with PaymentInbox(old_inbox) as inbox:
        before = {row["delivery_id"]: row for row in inbox.deliveries()}
        assert {row["body_sha256"] for row in before.values()} == {None}
        bodies = {i: inbox.delivery_body(i) for i in before}
        assert inbox.purge(now=later) == 4  # evt_1's two deliveries, the two refused ones
        after = {row["delivery_id"]: row for row in inbox.deliveries()}
        assert sorted(after) == [1, 2, 4, 5]
        for delivery_id in (1, 2):  # evt_1, processed
            digest = hashlib.sha256(bodies[delivery_id][1]).hexdigest()
            assert after[delivery_id]["body_sha256"] == digest
            with pytest.raises(PaymentBodyPurged):
                inbox.delivery_body(delivery_id)
        for delivery_id in (4, 5):  # evt_2 quarantined, evt_3 failed: kept whole
            assert inbox.delivery_body(delivery_id) == bodies[delivery_id]
            assert after[delivery_id]["purged_at"] is None
        other = stripe_callback(SECRET, order_id="GOV-1", amount=1, at=later, event_id="evt_1")
        conflict = inbox.receive(Stripe([SECRET]), *other, at=later)
        assert (conflict.status, conflict.code) == (DeliveryStatus.CONFLICT, "payment.conflict")
