"""Evidence for the SQL layer under every store (``govkit.stores._sql``), on SQLite.

Schema versions (create, upgrade step by step, refuse newer, refuse too old for a
reader, recognise a store written before versions were recorded), read-only opening,
"locked" as its own error in every component, and error messages without data. The
PostgreSQL half (reconnection after a restart, SQLSTATE mapping) is in
``tests/integration/stores``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import AuditEvent, AuditLog, SQLiteStore
from govkit.errors import (
    AuditStoreError,
    AuditStoreLocked,
    AuditStoreSchemaError,
    ConfigurationError,
    GovkitError,
    IdentityStoreError,
    IdentityStoreLocked,
    IdentityStoreSchemaError,
    PaymentStoreError,
    PaymentStoreLocked,
    PaymentStoreSchemaError,
    StoreError,
    StoreLocked,
    StoreSchemaError,
)
from govkit.identity import SQLiteIdentityStore
from govkit.payments import PaymentInbox
from govkit.stores import SchemaUpgrade
from govkit.stores._sql import (
    Errors,
    Schema,
    open_database,
    redact_url,
    upgrade_database,
)

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ERRORS = Errors(AuditStoreError, AuditStoreLocked, AuditStoreSchemaError, "the test store")

V1 = ("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",)
V2_STEP = ("ALTER TABLE things ADD COLUMN colour TEXT",)
V3_STEP = ("CREATE TABLE sizes (thing INTEGER NOT NULL, size INTEGER NOT NULL)",)


def schema(version: int, *, readable_from: int = 1) -> Schema:
    """A made-up component "things" at ``version``; each version adds something."""
    steps = {1: V2_STEP, 2: V3_STEP}
    create = V1 + tuple(s for v in range(1, version) for s in steps[v])
    return Schema(
        component="things",
        version=version,
        create=create,
        marker="things",
        upgrades={v: steps[v] for v in range(1, version)},
        readable_from=readable_from,
    )


def recorded(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        return dict(conn.execute("SELECT component, version FROM govkit_schema").fetchall())


def columns(path: Path, table: str) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def event(i: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=NOW + timedelta(seconds=i),
        actor_id="clerk-1",
        actor_type="officer",
        action="licence.issue",
        resource_type="driving_licence",
        resource_id=f"GD-{i}",
        personal=frozenset(),
    )


# --- schema versions ----------------------------------------------------------------


def test_a_fresh_store_records_its_version(tmp_path: Path) -> None:
    db = open_database(tmp_path / "s.db", schema=schema(2), errors=ERRORS)
    db.close()
    assert recorded(tmp_path / "s.db") == {"things": 2}
    assert "colour" in columns(tmp_path / "s.db", "things")


def test_a_writer_upgrades_an_older_store_step_by_step(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_database(path, schema=schema(1), errors=ERRORS).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO things (name) VALUES ('kept')")
    open_database(path, schema=schema(3), errors=ERRORS).close()
    assert recorded(path) == {"things": 3}
    assert "colour" in columns(path, "things")
    assert columns(path, "sizes") == ["thing", "size"]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT name FROM things").fetchall() == [("kept",)]


def test_newer_schema_is_refused_by_writers_and_readers(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_database(path, schema=schema(3), errors=ERRORS).close()
    for read_only in (False, True):
        with pytest.raises(AuditStoreSchemaError) as caught:
            open_database(path, schema=schema(2), errors=ERRORS, read_only=read_only)
        assert caught.value.code == "audit.store_schema"
        assert (caught.value.context["found"], caught.value.context["supported"]) == (3, 2)
        assert "newer" in caught.value.message
    assert recorded(path) == {"things": 3}  # untouched


def test_reader_refuses_a_schema_too_old_to_read_and_names_the_upgrade_command(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    open_database(path, schema=schema(1), errors=ERRORS).close()
    with pytest.raises(AuditStoreSchemaError) as caught:
        open_database(path, schema=schema(3, readable_from=3), errors=ERRORS, read_only=True)
    assert f"govkit db upgrade {path}" in caught.value.message
    assert caught.value.context["found"] == 1
    assert recorded(path) == {"things": 1}  # a reader never upgrades


def test_reader_accepts_an_older_schema_it_can_read_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_database(path, schema=schema(1), errors=ERRORS).close()
    db = open_database(path, schema=schema(3, readable_from=1), errors=ERRORS, read_only=True)
    assert db.read("SELECT COUNT(*) FROM things") == [(0,)]
    db.close()
    assert recorded(path) == {"things": 1}


def test_store_written_before_versions_were_recorded_counts_as_untracked(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(V1[0])
    assert upgrade_database(path, schema=schema(2), errors=ERRORS) == SchemaUpgrade(
        "things", 1, 2, recorded=False
    )
    assert recorded(path) == {"things": 2}
    again = upgrade_database(path, schema=schema(2), errors=ERRORS)
    assert again == SchemaUpgrade("things", 2, 2, recorded=True)
    assert again is not None
    assert not again.changed


def test_upgrade_creates_nothing_where_the_component_is_absent(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(AuditStoreError):
        upgrade_database(missing, schema=schema(2), errors=ERRORS)
    assert not missing.exists()
    other = tmp_path / "other.db"
    open_database(other, schema=schema(1), errors=ERRORS).close()
    absent = Schema(component="absent", version=1, create=("CREATE TABLE a (x)",), marker="a")
    assert upgrade_database(other, schema=absent, errors=ERRORS) is None
    assert recorded(other) == {"things": 1}


def test_several_components_share_one_version_table(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_database(path, schema=schema(2), errors=ERRORS).close()
    other = Schema(component="others", version=1, create=("CREATE TABLE o (x)",), marker="o")
    open_database(path, schema=other, errors=ERRORS).close()
    assert recorded(path) == {"things": 2, "others": 1}


def test_a_schema_missing_an_upgrade_step_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Schema(component="x", version=3, create=V1, marker="things", upgrades={1: V2_STEP})


def test_a_damaged_version_row_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_database(path, schema=schema(1), errors=ERRORS).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE govkit_schema SET version = 'two'")
    with pytest.raises(AuditStoreSchemaError):
        open_database(path, schema=schema(1), errors=ERRORS)


def test_every_component_refuses_a_newer_schema_with_its_own_code(tmp_path: Path) -> None:
    cases: list[tuple[str, type[GovkitError], Callable[[Path], Any]]] = [
        ("audit", AuditStoreSchemaError, SQLiteStore),
        ("payments", PaymentStoreSchemaError, PaymentInbox),
        ("identity", IdentityStoreSchemaError, SQLiteIdentityStore),
    ]
    for component, error, opener in cases:
        path = tmp_path / f"{component}.db"
        opener(path).close()
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("UPDATE govkit_schema SET version = 99 WHERE component = ?", (component,))
        with pytest.raises(error) as caught:
            opener(path)
        assert isinstance(caught.value, StoreSchemaError)
        assert caught.value.context["found"] == 99


# --- read-only ----------------------------------------------------------------------


def test_read_only_open_of_a_missing_file_fails_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing" / "audit.db"
    with pytest.raises(AuditStoreError) as caught:
        SQLiteStore(missing, read_only=True)
    assert caught.value.code == "audit.store"
    assert not missing.parent.exists()


def test_read_only_open_of_a_database_without_the_tables_is_a_store_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE unrelated (x)")
    with pytest.raises(AuditStoreError) as caught:
        SQLiteStore(path, read_only=True)
    assert "no audit tables" in caught.value.message
    with closing(sqlite3.connect(path)) as conn:  # nothing was created
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"unrelated"}


def test_read_only_store_refuses_writes_and_reads_everything(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with AuditLog(path, origin="example.gov/audit") as log:
        log.append_many(event(i) for i in range(3))
    store = SQLiteStore(path, read_only=True)
    try:
        assert store.read_only
        assert store.size() == 3
        with pytest.raises(AuditStoreError) as caught:
            AuditLog(store, origin="example.gov/audit").append(event(9))
        assert caught.value.context["engine"] == "sqlite"
        assert store.size() == 3
    finally:
        store.close()


# --- locked -------------------------------------------------------------------------


def hold_write_lock(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_busy_audit_store_raises_audit_store_locked(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log = AuditLog(SQLiteStore(path, busy_timeout=0.05), origin="example.gov/audit")
    holder = hold_write_lock(path)
    try:
        with pytest.raises(AuditStoreLocked) as caught:
            log.append(event(0))
        assert caught.value.code == "audit.store_locked"
        assert caught.value.context["sqlite_error"] == "SQLITE_BUSY"
        assert isinstance(caught.value, StoreLocked)
    finally:
        holder.close()
    assert log.append(event(0)) == 0  # free again: the next call works
    log.close()


def test_busy_payment_inbox_raises_payment_store_locked(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    inbox = PaymentInbox(path, busy_timeout=0.05)
    holder = hold_write_lock(path)
    try:
        with pytest.raises(PaymentStoreLocked) as caught:
            inbox.create_order("GOV-1", provider="stripe", amount=100, at=NOW)
        assert caught.value.code == "payment.store_locked"
        assert isinstance(caught.value, PaymentStoreError)
    finally:
        holder.close()
    assert inbox.create_order("GOV-1", provider="stripe", amount=100, at=NOW).amount == 100
    inbox.close()


def test_busy_identity_store_raises_identity_store_locked(tmp_path: Path) -> None:
    path = tmp_path / "identity.db"
    store = SQLiteIdentityStore(path, busy_timeout=0.05)
    holder = hold_write_lock(path)
    try:
        with pytest.raises(IdentityStoreLocked) as caught:
            store.revoke_subject("pseudonym-1", not_before=NOW)
        assert caught.value.code == "identity.store_locked"
        assert isinstance(caught.value, IdentityStoreError)
    finally:
        holder.close()
    store.revoke_subject("pseudonym-1", not_before=NOW)
    assert store.subject_not_before("pseudonym-1") == NOW
    store.close()


def test_reads_of_the_inbox_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    with PaymentInbox(path) as inbox:
        inbox.create_order("GOV-1", provider="stripe", amount=100, at=NOW)
    inbox = PaymentInbox(path, busy_timeout=0.05)
    holder = hold_write_lock(path)
    try:
        order = inbox.order("GOV-1")  # a read transaction: no write lock needed
        assert order is not None
        assert inbox.stats()["deliveries"] == 0
    finally:
        holder.close()
        inbox.close()


# --- errors carry no data -------------------------------------------------------------


def test_store_errors_are_store_errors_in_every_component() -> None:
    for error in (AuditStoreError, PaymentStoreError, IdentityStoreError):
        assert issubclass(error, StoreError)
    for locked in (AuditStoreLocked, PaymentStoreLocked, IdentityStoreLocked):
        assert issubclass(locked, StoreLocked)


def test_sqlite_constraint_error_names_the_constraint_not_the_value(tmp_path: Path) -> None:
    db = open_database(tmp_path / "s.db", schema=schema(1), errors=ERRORS)
    secret = "citizen-110101199003070035"
    with db.transaction() as tx:
        tx.run("CREATE UNIQUE INDEX things_name ON things (name)")
        tx.run("INSERT INTO things (name) VALUES (?)", (secret,))
    with pytest.raises(AuditStoreError) as caught, db.transaction() as tx:
        tx.run("INSERT INTO things (name) VALUES (?)", (secret,))
    db.close()
    err = caught.value
    assert "SQLITE_CONSTRAINT_UNIQUE" in err.message
    assert "things.name" in err.message
    assert secret not in str(err)
    assert secret not in repr(err.to_dict())


def test_closed_store_raises_a_store_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "audit.db")
    store.close()
    with pytest.raises(AuditStoreError, match="closed"):
        store.size()


def test_redacted_urls_never_show_a_password() -> None:
    url = "postgresql://app:s3cret@db.example.gov:5432/audit?password=s3cret&sslmode=require"
    assert redact_url(url) == "postgresql://app@db.example.gov:5432/audit"


def test_threads_share_one_database_safely(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db", origin="example.gov/audit")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(20):
                log.append(event(worker * 100 + i))
                log.size()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert log.size() == 80
    log.close()


def test_call_commits_one_statement_and_returns_its_rows_on_sqlite(tmp_path: Path) -> None:
    """SQLite's ``Database.call``: a write transaction of its own, synced before it returns;
    a failing statement writes nothing and raises the component's store error."""
    path = tmp_path / "s.db"
    db = open_database(path, schema=schema(1), errors=ERRORS)
    try:
        assert db.call("INSERT INTO things (id, name) VALUES (?, ?) RETURNING id", (7, "it's")) == [
            (7,)
        ]
        with closing(sqlite3.connect(path)) as conn:  # committed: another connection sees it
            assert conn.execute("SELECT id, name FROM things").fetchall() == [(7, "it's")]
        with pytest.raises(AuditStoreError):
            db.call("INSERT INTO things (id, name) VALUES (?, NULL) RETURNING id", (8,))
        assert db.read("SELECT id FROM things") == [(7,)]
    finally:
        db.close()
