"""``govkit payments show --state conflict``, ``release`` and ``worker`` (SIGTERM included)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.audit import AuditLog
from govkit.cli import main
from govkit.payments import EventState, PaymentEvent, PaymentInbox, Stripe
from govkit.testing.payments import stripe_callback

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_cli_inbox"
HANDLERS = """
import time
from pathlib import Path

LOG = Path(__file__).with_name("handled.log")

def handle(event):
    with LOG.open("a") as out:
        out.write(f"start {event.event_id}\\n")
    time.sleep(float(Path(__file__).with_name("sleep").read_text() or 0))
    with LOG.open("a") as out:
        out.write(f"end {event.event_id}\\n")

def effect(event, tx):
    tx.execute("INSERT INTO effects (event_key) VALUES (?)", (event.idempotency_key,))
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["--json", *argv])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "inbox_handlers.py").write_text(HANDLERS)
    (folder / "sleep").write_text("0")
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_show_state_conflict_lists_the_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inbox.db"
    with PaymentInbox(path) as inbox:
        inbox.create_order("GOV-1", provider="stripe", amount=20000, at=NOW)
        for amount in (1, 20000):
            callback = stripe_callback(
                SECRET, order_id="GOV-1", amount=amount, at=NOW, event_id="evt_c"
            )
            inbox.receive(Stripe([SECRET]), *callback, at=NOW)
    code, data = run(capsys, "payments", "show", str(path), "--state", "conflict")
    assert code == 0
    (event,) = data["events"]  # type: ignore[misc]
    assert (event["event_id"], event["state"], event["amount"]) == ("evt_c", "conflict", 1)
    assert event["conflicting_event"]["amount"] == 20000
    assert event["content_digest"] != event["conflict_digest"]
    assert data["stats"]["conflict"] == 1  # type: ignore[index]
    assert main(["payments", "show", str(path), "--state", "conflict"]) == 0
    text = capsys.readouterr().out
    assert "conflict stripe:evt_c: stored 1 CNY" in text
    assert "then 20000" in text


def test_release_records_who_and_why_in_the_audit_log(
    tmp_path: Path, handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inbox.db"
    audit_path = tmp_path / "audit.db"
    AuditLog(audit_path, origin="test.gov/payments").close()
    with PaymentInbox(path, handler=lambda e: None) as inbox:
        inbox.create_order("GOV-2", provider="stripe", amount=5000, at=NOW)
        callback = stripe_callback(SECRET, order_id="GOV-2", amount=4000, at=NOW, event_id="evt_q")
        assert inbox.receive(Stripe([SECRET]), *callback, at=NOW).code == "order.amount_mismatch"
    argv = ["payments", "release", str(path), "evt_q", "--reason", "coupon", "--actor", "clerk-9"]
    code, data = run(capsys, *argv, "--audit", str(audit_path))
    assert code == 0
    # Received with a handler, released from a shell without it: pending for the worker.
    assert data["event"]["state"] == "pending"  # type: ignore[index]
    code, data = run(capsys, *argv)
    assert code == 1
    assert data["error"]["code"] == "payment.release_refused"  # type: ignore[index]
    code, data = run(
        capsys, "payments", "worker", str(path), "--once", "--handler", "inbox_handlers:handle"
    )
    assert (code, data["processed"]) == (0, 1)
    assert (handlers / "handled.log").read_text().split() == ["start", "evt_q", "end", "evt_q"]
    with PaymentInbox(path, read_only=True) as inbox:
        record = inbox.event("evt_q")
        assert (record.state, record.result) == (EventState.PROCESSED, "released")
        order = inbox.order("GOV-2")
        assert order is not None
        assert order.state == "created"
    with AuditLog(audit_path, origin="test.gov/payments") as log:
        (entry,) = [log.entry(i).event for i in range(log.size())]
    assert (entry.action, entry.actor_id, entry.reason) == ("payment.release", "clerk-9", "coupon")


def test_worker_runs_a_transactional_handler_from_an_import_path(
    tmp_path: Path, handlers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inbox.db"
    fail = [True]

    def flaky(event: PaymentEvent) -> None:
        if fail[0]:
            raise RuntimeError("down")

    with PaymentInbox(path, handler=flaky, orders=False, retry_base=timedelta(seconds=1)) as inbox:
        callback = stripe_callback(SECRET, order_id="GOV-3", amount=1, event_id="evt_w")
        inbox.receive(Stripe([SECRET]), *callback)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE effects (event_key TEXT)")
    code, data = run(
        capsys, "payments", "worker", str(path), "--once", "--no-orders",
        "--transactional-handler", "inbox_handlers:nope",
    )  # fmt: skip
    assert (code, data["error"]["code"]) == (3, "cli.handler")  # type: ignore[index]
    time.sleep(1.1)  # the retry time of the failed event
    code, data = run(
        capsys, "payments", "worker", str(path), "--once", "--no-orders",
        "--transactional-handler", "inbox_handlers:effect",
    )  # fmt: skip
    assert (code, data["processed"]) == (0, 1)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT event_key FROM effects").fetchall() == [("stripe:evt_w",)]


def test_worker_stops_cleanly_on_sigterm_after_the_event_in_hand(
    tmp_path: Path, handlers: Path
) -> None:
    """SIGTERM while the handler runs: that event is finished, then the worker exits 0."""
    path = tmp_path / "inbox.db"

    def down(event: PaymentEvent) -> None:
        raise RuntimeError("down")

    with PaymentInbox(path, handler=down, retry_base=timedelta(milliseconds=50)) as inbox:
        for n in range(3):
            inbox.create_order(f"GOV-{n}", provider="stripe", amount=10, at=None)
            callback = stripe_callback(SECRET, order_id=f"GOV-{n}", amount=10, event_id=f"evt_{n}")
            inbox.receive(Stripe([SECRET]), *callback)
        assert inbox.stats()["failed"] == 3
    (handlers / "sleep").write_text("1.5")
    env = {**os.environ, "PYTHONPATH": str(handlers)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "govkit.cli", "--json", "payments", "worker", str(path),
         "--handler", "inbox_handlers:handle", "--poll", "0.05"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    log = handlers / "handled.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text().count("start") >= 2):
        assert time.monotonic() < deadline, "the worker did not start the second event"
        assert worker.poll() is None, worker.communicate()
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)  # in the middle of the second event's handler
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "worker stopped cleanly" in err
    summary = json.loads(out)
    assert summary["processed"] == 2
    lines = log.read_text().split("\n")
    assert lines[:4] == ["start evt_0", "end evt_0", "start evt_1", "end evt_1"]  # finished
    with PaymentInbox(path, read_only=True) as inbox:
        states = {r.event.event_id: r.state for r in inbox.events()}
    assert states == {
        "evt_0": EventState.PROCESSED,
        "evt_1": EventState.PROCESSED,
        "evt_2": EventState.FAILED,  # not started: left for the next worker, never cut off
    }
