"""Payments: WeChat callback verification beside wechatpayv3, and inbox throughput.

**(a) WeChat Pay callback.** ``WeChatPayV3.parse(headers, body)`` on one callback made
by :func:`govkit.testing.payments.wechat_callback` (a ``PUB_KEY_ID_`` RSA-2048 key):
replay window, RSA-SHA256 verify over the raw body, AES-256-GCM decrypt of
``resource``, strict JSON parsing of the body and the resource (a repeated member,
``NaN``/``Infinity``, a fraction, a lone surrogate or excess depth is refused) and
normalisation into a validated :class:`PaymentEvent`. Beside it, ``wechatpayv3``'s
``WeChatPay.callback(headers, body)`` on the very same input (verify, decrypt, three
``json.loads``, the body twice, the last of repeated members winning; no replay
window, no normalisation).
Target: govkit >= 1.0 x.

**(b) Inbox throughput, durable, transactional handler.** 8 deliveries in flight at
once (8 threads, each delivering distinct signed Stripe webhooks one after another) to
``PaymentInbox.receive`` with a transactional handler that inserts one effect row per
event in the inbox's own transaction (``orders=False``): verify, store the delivery and
the event, run the handler, mark the event processed, commit, then acknowledge. Durable
settings only, read back from the open connections and printed: SQLite
``synchronous=FULL`` (WAL), PostgreSQL ``synchronous_commit=on`` and ``fsync=on``.
SQLite: one inbox shared by the 8 threads (its group commit gives the deliveries that
waited one commit, one ``fsync``). PostgreSQL: 8 inboxes (8 connections) on a throwaway
cluster. Beside each, the naive way: plain ``INSERT`` statements for the same delivery, event and
effect rows per webhook, one durable transaction each, same threads, no verification.
The note gives the p99 time from delivery to acknowledgement and whether the absolute
target was met: >= 1,000 events/s on SQLite, >= 800 events/s on PostgreSQL.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from benchmarks._harness import Comparison, compare
from benchmarks._pg import PostgresUnavailable, throwaway_cluster
from govkit.keys import SigningKey
from govkit.payments import (
    HandlerTransaction,
    PaymentEvent,
    PaymentInbox,
    Stripe,
    WeChatPayV3,
)
from govkit.testing.payments import stripe_callback, wechat_callback

APIV3 = "0123456789abcdef0123456789abcdef"
KEY_ID = "PUB_KEY_ID_0114232134912410000000000000000000"
SECRET = "whsec_bench"  # noqa: S105 - a benchmark secret
WORKERS = 8


def _wechat_comparison(quick: bool) -> Comparison:
    from wechatpayv3 import WeChatPay, WeChatPayType  # noqa: PLC0415

    platform, merchant = SigningKey.generate("RS256"), SigningKey.generate("RS256")
    headers, body = wechat_callback(platform, KEY_ID, APIV3, order_id="BENCH-1", amount=20000)
    ours = WeChatPayV3(APIV3, {KEY_ID: platform.verifying_key})
    theirs = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid="1900000109",
        private_key=merchant.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        cert_serial_no="444F4864EA9B34415",
        appid="wxd678efh567hg6787",
        apiv3_key=APIV3,
        public_key=platform.verifying_key.public_key.public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        public_key_id=KEY_ID,
    )
    if theirs.callback(headers, body) is None:
        raise RuntimeError("wechatpayv3 refused the benchmark callback")
    return compare(
        "WeChat callback verify+decrypt+normalise vs wechatpayv3 callback()",
        lambda: ours.parse(headers, body),
        lambda: theirs.callback(headers, body),
        number=200 if quick else 2000,
        rounds=3 if quick else 7,
        target=1.0,
    )


def _threads(work: Callable[[int], None], count: int) -> float:
    """Run ``work(i)`` for i in range(count) over WORKERS threads; return seconds."""
    barrier = threading.Barrier(WORKERS + 1)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        barrier.wait()
        try:
            for i in range(offset, count, WORKERS):
                work(i)
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def _plain_sqlite(path: Path) -> Callable[[int, bytes, str], None]:
    import sqlite3  # noqa: PLC0415

    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, provider TEXT, body BLOB, headers TEXT)")
    conn.execute(
        "CREATE TABLE e (pk INTEGER PRIMARY KEY, provider TEXT, key TEXT, UNIQUE(provider, key))"
    )
    conn.execute("CREATE TABLE effects (event_key TEXT, amount BIGINT)")
    lock = threading.Lock()

    def insert(i: int, body: bytes, headers: str) -> None:
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO d (provider, body, headers) VALUES ('stripe', ?, ?)", (body, headers)
            )
            conn.execute("INSERT INTO e (provider, key) VALUES ('stripe', ?)", (f"evt_{i}",))
            conn.execute("INSERT INTO effects VALUES (?, 100)", (f"stripe:evt_{i}",))
            conn.execute("COMMIT")

    return insert


def _plain_postgres(url: str) -> Callable[[int, bytes, str], None]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE d (id BIGSERIAL PRIMARY KEY, provider TEXT, body BYTEA, headers TEXT)"
        )
        conn.execute(
            "CREATE TABLE e (pk BIGSERIAL PRIMARY KEY, provider TEXT, key TEXT,"
            " UNIQUE (provider, key))"
        )
    conns = [psycopg.connect(url, autocommit=True) for _ in range(WORKERS)]

    def insert(i: int, body: bytes, headers: str) -> None:
        conn = conns[i % WORKERS]
        with conn.transaction():
            conn.execute(
                "INSERT INTO d (provider, body, headers) VALUES ('stripe', %s, %s)", (body, headers)
            )
            conn.execute("INSERT INTO e (provider, key) VALUES ('stripe', %s)", (f"evt_{i}",))
            conn.execute("INSERT INTO effects VALUES (%s, 100)", (f"stripe:evt_{i}",))

    return insert


def _effect(event: PaymentEvent, tx: HandlerTransaction) -> None:
    """The benchmark's transactional handler: one effect row, in the inbox's transaction."""
    tx.execute(
        "INSERT INTO effects (event_key, amount) VALUES (?, ?)",
        (event.idempotency_key, event.amount),
    )


def _effects_table(url: str) -> None:
    """The application's own table, in the inbox's database."""
    PaymentInbox(url).close()  # the inbox's tables first
    if url.startswith("postgresql://"):
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS effects (event_key TEXT, amount BIGINT)")
    else:
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(url) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS effects (event_key TEXT, amount BIGINT)")


def _durability(inbox: PaymentInbox, backend: str) -> str:
    """The durability settings of the inbox's own connection, as the engine reports them."""
    db = inbox._db  # the benchmark reads the connection's settings back
    if backend == "sqlite":
        (level,) = db.read("PRAGMA synchronous")[0]
        journal = db.read("PRAGMA journal_mode")[0][0]
        return f"synchronous={ {0: 'OFF', 1: 'NORMAL', 2: 'FULL', 3: 'EXTRA'}[level] } ({journal})"
    commit = db.read("SHOW synchronous_commit")[0][0]
    fsync = db.read("SHOW fsync")[0][0]
    return f"synchronous_commit={commit}, fsync={fsync}"


def _timed_receive(
    inboxes: list[PaymentInbox], adapter: Stripe, deliveries: list[Any], latencies: list[float]
) -> Callable[[int], None]:
    def receive(i: int) -> None:
        start = time.perf_counter()
        receipt = inboxes[i % WORKERS].receive(adapter, *deliveries[i])
        latencies.append(time.perf_counter() - start)
        if not receipt.ack.ok:
            raise RuntimeError(f"delivery {i} was not acknowledged: {receipt.code}")

    return receive


def _insert(
    plain: Callable[[int, bytes, str], None], offset: int, deliveries: list[Any], i: int
) -> None:
    plain(offset + i, deliveries[i][1], str(deliveries[i][0]))


def _inbox_comparison(
    backend: str, url: str, plain: Callable[[int, bytes, str], None], quick: bool
) -> Comparison:
    count = 400 if quick else 3000
    rounds = 1 if quick else 3
    adapter = Stripe([SECRET])
    target = 1000 if backend == "sqlite" else 800
    _effects_table(url)
    ours_rates: list[float] = []
    plain_rates: list[float] = []
    p99s: list[float] = []
    settings = ""
    for round_index in range(rounds):
        deliveries = [
            stripe_callback(
                SECRET,
                order_id=f"O-{round_index}-{i}",
                amount=100,
                event_id=f"evt_{round_index}_{i}",
            )
            for i in range(count)
        ]
        if backend == "sqlite":
            shared = PaymentInbox(url, orders=False, durable=True, transactional_handler=_effect)
            inboxes = [shared] * WORKERS
        else:
            inboxes = [
                PaymentInbox(url, orders=False, transactional_handler=_effect)
                for _ in range(WORKERS)
            ]
        settings = _durability(inboxes[0], backend)
        latencies: list[float] = []
        try:
            elapsed = _threads(_timed_receive(inboxes, adapter, deliveries, latencies), count)
        finally:
            for inbox in set(inboxes):
                inbox.close()
        ours_rates.append(count / elapsed)
        latencies.sort()
        p99s.append(latencies[int(len(latencies) * 0.99)] * 1000)
        offset = round_index * count
        elapsed = _threads(partial(_insert, plain, offset, deliveries), count)
        plain_rates.append(count / elapsed)
    ours, floor = statistics.median(ours_rates), statistics.median(plain_rates)
    met = "met" if ours >= target else "NOT met"
    print(f"inbox on {backend}: {settings}", file=sys.stderr)
    return Comparison(
        label=f"inbox.receive + tx handler, {backend}, {WORKERS} in flight vs plain INSERTs",
        govkit_ops=ours,
        reference_ops=floor,
        ratio=statistics.median(o / p for o, p in zip(ours_rates, plain_rates, strict=True)),
        number=count,
        rounds=rounds,
        note=(
            f"{settings}; p99 delivery->ack {statistics.median(p99s):.1f} ms; "
            f"target >= {target:,}/s {met}"
        ),
    )


def run(quick: bool) -> list[Comparison]:
    """The WeChat comparison and inbox throughput on SQLite and PostgreSQL."""
    results = [_wechat_comparison(quick)]
    with tempfile.TemporaryDirectory(prefix="govkit-bench-payments-") as tmp:
        folder = Path(tmp)
        results.append(
            _inbox_comparison(
                "sqlite", str(folder / "inbox.db"), _plain_sqlite(folder / "plain.db"), quick
            )
        )
    try:
        with throwaway_cluster() as url:
            results.append(_inbox_comparison("postgresql", url, _plain_postgres(url), quick))
    except PostgresUnavailable as exc:
        print(f"PostgreSQL comparison left out: {exc}", file=sys.stderr)
    return results
