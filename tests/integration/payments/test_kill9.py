"""``kill -9`` against the inbox, 20 times, on SQLite and on a real PostgreSQL server.

A child process receives 40 signed Stripe callbacks (each delivered again in every
run, as a provider retries) into an inbox with a transactional handler that writes
one effect row per event in the inbox's own database. Each run is killed with
SIGKILL: every other run by the handler itself, right after it wrote its effect and
before it returns, at a random call; the runs between by the parent, after a random
delay, wherever the child happens to be. After every run the evidence is read from
the database:

* effects exist exactly for the events marked ``processed``, once each (the handler's
  write and the mark commit together or not at all);
* every event the child acknowledged (logged, fsynced, after ``receive`` returned a
  success answer) is ``processed``: no acknowledged event is lost;
* no event is left ``processing``.

A last run without kill delivers everything again and re-drives: every event ends
processed, its effect there once.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from govkit.payments import PaymentInbox
from govkit.testing.payments import stripe_callback

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_kill9"
EVENTS = 40
KILLS = 20

CHILD = r"""
import base64, json, os, random, signal, sys
from datetime import datetime
from govkit.payments import PaymentInbox, Stripe

url, deliveries_path, acks_path, kill_at, seed, budget = sys.argv[1:7]
kill_at, budget, calls, done = int(kill_at), int(budget), [0], [0]
random.seed(int(seed))
at = datetime.fromisoformat(json.loads(open(deliveries_path).read())["at"])
deliveries = json.loads(open(deliveries_path).read())["deliveries"]

def handler(event, tx):
    tx.execute("INSERT INTO effects (event_key) VALUES (?)", (event.idempotency_key,))
    calls[0] += 1
    if calls[0] == kill_at:  # the effect is written, the handler has not returned
        os.kill(os.getpid(), signal.SIGKILL)

inbox = PaymentInbox(url, transactional_handler=handler)
stripe = Stripe([json.loads(open(deliveries_path).read())["secret"]])
acks = open(acks_path, "a")
order = list(range(len(deliveries))) * 2
random.shuffle(order)
for i in order:
    headers, body = deliveries[i]
    receipt = inbox.receive(stripe, headers, base64.b64decode(body), at=at)
    if receipt.ack.ok:
        acks.write(receipt.event.idempotency_key + "\n")
        acks.flush()
        os.fsync(acks.fileno())
    if receipt.status == "processed":
        done[0] += 1
        if done[0] == budget:  # enough for this run: wait for the SIGKILL
            signal.pause()
inbox.process_pending(at=at)
inbox.close()
"""


@pytest.fixture(params=["sqlite", "postgres"])
def inbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "inbox.db")
    url: str = request.getfixturevalue("pg_store_url")
    return url


def query(url: str, statement: str) -> list[tuple[Any, ...]]:
    if url.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url) as conn:
            return list(conn.execute(statement).fetchall())
    with sqlite3.connect(url) as conn:
        return list(conn.execute(statement).fetchall())


def execute(url: str, statement: str) -> None:
    if url.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)
        return
    with sqlite3.connect(url) as conn:
        conn.execute(statement)


def check(url: str, acks: Path) -> tuple[set[str], int]:
    """The invariants after a run; returns the processed event keys and the effects."""
    states = dict(query(url, "SELECT 'stripe:' || dedup_key, state FROM payment_events"))
    processed = {key for key, state in states.items() if state == "processed"}
    assert "processing" not in states.values()
    effects = Counter(key for (key,) in query(url, "SELECT event_key FROM effects"))
    assert set(effects) == processed, "an effect without its processed mark, or the reverse"
    assert set(effects.values()) <= {1}, f"an effect twice: {effects.most_common(1)}"
    acknowledged = set(acks.read_text().split()) if acks.exists() else set()
    assert acknowledged <= processed, f"acknowledged, then lost: {acknowledged - processed}"
    return processed, sum(effects.values())


def test_sigkill_twenty_times_at_random_points(inbox_url: str, tmp_path: Path) -> None:
    rng = random.Random(16)
    with PaymentInbox(inbox_url) as inbox:
        for n in range(EVENTS):
            inbox.create_order(f"K-{n}", provider="stripe", amount=100 + n, at=NOW)
    execute(inbox_url, "CREATE TABLE effects (event_key TEXT NOT NULL)")
    deliveries = [
        stripe_callback(SECRET, order_id=f"K-{n}", amount=100 + n, at=NOW, event_id=f"evt_k{n}")
        for n in range(EVENTS)
    ]
    path = tmp_path / "deliveries.json"
    path.write_text(
        json.dumps(
            {
                "at": NOW.isoformat(),
                "secret": SECRET,
                "deliveries": [[h, base64.b64encode(b).decode()] for h, b in deliveries],
            }
        )
    )
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    acks = tmp_path / "acks.log"
    killed = {"by the handler": 0, "from outside": 0}
    progress: list[int] = []
    for run in range(KILLS):
        by_handler = run % 2 == 0
        kill_at = rng.randint(1, 3) if by_handler else 0
        budget = 0 if by_handler else rng.randint(1, 2)
        argv = [sys.executable, str(child), inbox_url, str(path), str(acks), str(kill_at)]
        process = subprocess.Popen([*argv, str(run), str(budget)], env=os.environ.copy())
        if not by_handler:  # anywhere: starting, mid-transaction, between deliveries
            time.sleep(rng.uniform(0.1, 1.5))
            process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=120)
        assert code == -signal.SIGKILL, f"run {run} ended with {code}"
        killed["by the handler" if by_handler else "from outside"] += 1
        processed, _ = check(inbox_url, acks)
        progress.append(len(processed))
    assert killed == {"by the handler": KILLS // 2, "from outside": KILLS // 2}
    assert progress[-1] < EVENTS  # events were left for every run (and the last one)
    final = subprocess.run(
        [sys.executable, str(child), inbox_url, str(path), str(acks), "0", "99", "0"],
        env=os.environ.copy(),
        check=False,
        timeout=300,
    )
    assert final.returncode == 0
    processed, effects = check(inbox_url, acks)
    assert len(processed) == EVENTS
    assert effects == EVENTS
    orders = query(inbox_url, "SELECT state FROM payment_orders")
    assert [s for (s,) in orders] == ["paid"] * EVENTS
