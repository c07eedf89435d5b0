"""PostgreSQL errors through the SQL layer: codes, SQLSTATEs, no data; read-only sessions.

Runs against the session's throwaway PostgreSQL server (a fresh database per test).
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import psycopg
import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, PostgresStore, verify_log
from govkit.errors import (
    AuditStoreError,
    AuditStoreLocked,
    AuditStoreSchemaError,
    IdentityStoreLocked,
    PaymentStoreError,
    PaymentStoreLocked,
    StoreLocked,
)
from govkit.identity import PostgresIdentityStore
from govkit.payments import PaymentInbox
from govkit.stores._sql import Errors, Schema, open_database

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ERRORS = Errors(AuditStoreError, AuditStoreLocked, AuditStoreSchemaError, "the test store")
THINGS = Schema(
    component="things",
    version=1,
    create=("CREATE TABLE things (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE)",),
    marker="things",
)
#: A value that must never appear in an error: PostgreSQL's DETAIL line quotes it.
SECRET = "110101199003070035"


def test_unique_violation_keeps_sqlstate_and_primary_message_never_the_detail(
    pg_store_url: str,
) -> None:
    db = open_database(pg_store_url, schema=THINGS, errors=ERRORS)
    try:
        with db.transaction() as tx:
            tx.run("INSERT INTO things (id, name) VALUES (?, ?)", (1, SECRET))
        with pytest.raises(AuditStoreError) as caught, db.transaction() as tx:
            tx.run("INSERT INTO things (id, name) VALUES (?, ?)", (2, SECRET))
        # The same statement straight through psycopg: the DETAIL line has the value.
        with psycopg.connect(pg_store_url) as conn, pytest.raises(psycopg.Error) as raw:
            conn.execute("INSERT INTO things (id, name) VALUES (%s, %s)", (3, SECRET))
        assert raw.value.diag.message_detail is not None
        assert SECRET in raw.value.diag.message_detail
        assert SECRET in str(raw.value)
        err = caught.value
        assert err.code == "audit.store"
        assert err.context["sqlstate"] == "23505"
        assert "23505" in err.message
        assert 'duplicate key value violates unique constraint "things_name_key"' in err.message
        assert SECRET not in str(err)
        assert SECRET not in json.dumps(err.to_dict())
        assert all(SECRET not in str(v) for v in err.context.values())
        assert "DETAIL" not in str(err)
        assert "Key (" not in str(err)
        # The connection is fine after an error: the next call works.
        assert db.read("SELECT COUNT(*) FROM things") == [(1,)]
    finally:
        db.close()


def test_data_exception_message_drops_the_value_it_quotes(pg_store_url: str) -> None:
    db = open_database(pg_store_url, schema=THINGS, errors=ERRORS)
    try:
        with pytest.raises(AuditStoreError) as caught:
            db.read("SELECT CAST(? AS BIGINT)", (SECRET + "x",))
    finally:
        db.close()
    assert caught.value.context["sqlstate"] == "22P02"
    assert "invalid input syntax for type bigint" in caught.value.message
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("sqlstate", "name"),
    [("55P03", "lock_not_available"), ("40001", "serialization_failure"), ("40P01", "deadlock")],
)
def test_lock_and_serialization_failures_are_store_locked(
    pg_store_url: str, sqlstate: str, name: str
) -> None:
    db = open_database(pg_store_url, schema=THINGS, errors=ERRORS)
    try:
        with pytest.raises(AuditStoreLocked) as caught, db.transaction() as tx:
            tx.run(f"DO $$ BEGIN RAISE EXCEPTION '{name}' USING ERRCODE = '{sqlstate}'; END $$")
    finally:
        db.close()
    assert caught.value.code == "audit.store_locked"
    assert caught.value.context["sqlstate"] == sqlstate


def test_a_row_locked_by_another_session_is_store_locked_in_every_component(
    pg_store_url: str,
) -> None:
    """A real lock: another session holds the tables; ``lock_timeout`` expires (55P03)."""
    url = pg_store_url + "?options=-c%20lock_timeout%3D200"
    log = AuditLog(url, origin="example.gov/audit")
    inbox = PaymentInbox(url)
    identity = PostgresIdentityStore(url)
    holder = psycopg.connect(pg_store_url)
    try:
        holder.execute(
            "LOCK TABLE audit_entries, payment_orders, identity_subjects IN ACCESS EXCLUSIVE MODE"
        )
        event = AuditEvent(
            occurred_at=NOW,
            actor_id="clerk-1",
            actor_type="officer",
            action="licence.issue",
            resource_type="driving_licence",
            personal=frozenset(),
        )
        with pytest.raises(AuditStoreLocked) as audit:
            log.append(event)
        with pytest.raises(PaymentStoreLocked) as payment:
            inbox.create_order("GOV-1", provider="stripe", amount=1, at=NOW)
        with pytest.raises(IdentityStoreLocked) as identity_error:
            identity.revoke_subject("pseudonym-1", not_before=NOW)
        for caught in (audit, payment, identity_error):
            assert caught.value.context["sqlstate"] == "55P03"
            assert isinstance(caught.value, StoreLocked)
        holder.rollback()
        assert log.append(event) == 0  # released: the next call works
        assert inbox.create_order("GOV-1", provider="stripe", amount=1, at=NOW).amount == 1
    finally:
        holder.close()
        log.close()
        inbox.close()
        identity.close()


def test_read_only_postgres_store_verifies_and_refuses_writes(pg_store_url: str) -> None:
    signer = NoteSigner.generate("example.gov/audit")
    with AuditLog(pg_store_url, origin="example.gov/audit", signer=signer) as log:
        log.append(
            AuditEvent(
                occurred_at=NOW,
                actor_id="clerk-1",
                actor_type="officer",
                action="licence.issue",
                resource_type="driving_licence",
                personal=frozenset(),
            )
        )
        log.checkpoint()
    store = PostgresStore(pg_store_url, read_only=True)
    try:
        assert store.read_only
        assert store._db.read("SHOW default_transaction_read_only") == [("on",)]
        assert verify_log(store, verifiers=[signer.verifier]).size == 1
        with pytest.raises(AuditStoreError) as caught:
            store.save_checkpoint(1, "forged", 0)
        assert caught.value.context["sqlstate"] == "25006"  # read_only_sql_transaction
    finally:
        store.close()
    assert verify_log(pg_store_url, verifiers=[signer.verifier]).size == 1  # opens read-only


def test_read_only_inbox_refuses_to_receive(pg_store_url: str) -> None:
    PaymentInbox(pg_store_url).close()
    with PaymentInbox(pg_store_url, read_only=True) as inbox:
        assert inbox.stats()["deliveries"] == 0
        with pytest.raises(PaymentStoreError) as caught:
            inbox.create_order("GOV-1", provider="stripe", amount=1, at=NOW)
    assert caught.value.context["sqlstate"] == "25006"


def test_unreachable_server_is_a_typed_store_error_without_the_password() -> None:
    url = "postgresql://app:s3cret-pw@127.0.0.1:1/audit"
    with pytest.raises(AuditStoreError) as caught:
        PostgresStore(url, connect_timeout=2)
    assert "s3cret-pw" not in json.dumps(caught.value.to_dict())
    with pytest.raises(PaymentStoreError):
        PaymentInbox(url)


@pytest.mark.parametrize("binary", [False, True])
def test_call_runs_one_statement_in_one_message_and_an_error_leaves_nothing_behind(
    pg_store_url: str, binary: bool
) -> None:
    """``Database.call`` sends BEGIN, the statement, COMMIT and the flush wait at once:
    one simple-protocol message with literal parameters, or (``binary``) one pipeline
    with binary parameters. Values with quotes and backslashes arrive unchanged, a
    failing statement writes nothing and raises the usual typed error (sqlstate, no
    DETAIL), and the connection works afterwards."""
    db = open_database(pg_store_url, schema=THINGS, errors=ERRORS)
    call = functools.partial(db.call, binary=binary)
    tricky = "it's \\x00 '); DROP TABLE things; -- %s {a,b} 粤"
    idle = psycopg.pq.TransactionStatus.IDLE
    try:
        db.read(
            "CREATE FUNCTION raise_locked() RETURNS int LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'busy' USING ERRCODE = '55P03'; END $$"
        )
        rows = call("INSERT INTO things VALUES (?, ?) RETURNING id, name", (1, tricky))
        assert rows == [(1, tricky)]
        assert db.read("SELECT name FROM things") == [(tricky,)]
        with pytest.raises(AuditStoreError) as caught:
            call("INSERT INTO things (id, name) VALUES (?, ?) RETURNING id", (2, tricky))
        assert caught.value.context["sqlstate"] == "23505"
        assert tricky not in str(caught.value)
        assert db._conn.info.transaction_status == idle  # type: ignore[attr-defined]
        with pytest.raises(AuditStoreLocked) as locked:
            call("INSERT INTO things (id, name) VALUES (?, 'x') RETURNING raise_locked()", (3,))
        assert locked.value.context["sqlstate"] == "55P03"
        assert db._conn.info.transaction_status == idle  # type: ignore[attr-defined]
        assert db.read("SELECT id FROM things") == [(1,)]  # neither failed call wrote
        # a statement without rows: committed, no rows
        assert call("UPDATE things SET name = ? WHERE id = 1", ("renamed",)) == []
        assert db.read("SELECT name FROM things") == [("renamed",)]
    finally:
        db.close()


def test_store_connections_turn_jit_off_even_where_the_database_turns_it_on(
    pg_store_url: str,
) -> None:
    """Once its tables are large, the planner's estimates for govkit's short statements
    pass ``jit_above_cost`` and compiling one took 20-40 ms against < 1 ms to run it
    (measured: a 50-event audit append 30 ms instead of 1 ms at 160,000 entries).
    Every store connection turns JIT off for its own session, whatever the server or
    database default, also after reconnecting."""
    name = pg_store_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_store_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET jit = on')
        conn.execute(f'ALTER DATABASE "{name}" SET jit_above_cost = 0')
    with psycopg.connect(pg_store_url, autocommit=True) as conn:  # the default a session gets
        assert conn.execute("SHOW jit").fetchone() == ("on",)
    db = open_database(pg_store_url, schema=THINGS, errors=ERRORS)
    try:
        assert db.read("SHOW jit") == [("off",)]
        plan = "\n".join(row[0] for row in db.read("EXPLAIN (ANALYZE) SELECT count(*) FROM things"))
        assert "JIT" not in plan
        db._drop()  # type: ignore[attr-defined]  # as after a lost connection
        assert db.read("SHOW jit") == [("off",)]
    finally:
        db.close()
    with AuditLog(pg_store_url, origin="example.gov/jit") as log:
        assert log.store._db.read("SHOW jit") == [("off",)]  # type: ignore[attr-defined]
