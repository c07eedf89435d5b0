"""Stores written by the previous release open, verify and upgrade in this one.

The fixtures in ``tests/fixtures/stores`` were written by govkit 0.1 (commit 9279ae4,
before schema versions were recorded; see their README): a SQLite audit log, payment
inbox and identity store, and the same three in one PostgreSQL dump. Evidence that

* a reader (``verify_log``, ``govkit audit verify``) verifies the old log as it is,
  without writing a byte;
* ``govkit db upgrade`` records each component's version (and says so), and a second
  run finds everything current;
* writers open the old stores (upgrading them themselves) and every old row still
  means what it meant: checkpoints, pseudonyms and erasures, deliveries and their
  dedup keys, failed events to retry, replay keys, revocations.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
from contextlib import closing, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from govkit.audit import (
    AuditEvent,
    AuditLog,
    NoteSigner,
    NoteVerifier,
    verify_checkpoint_consistency,
    verify_log,
)
from govkit.cli import main
from govkit.errors import SubjectErased
from govkit.identity import PostgresIdentityStore, SQLiteIdentityStore
from govkit.payments import DeliveryStatus, EventState, OrderState, PaymentInbox, Stripe

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "stores"
ORIGIN = "fixtures.example.gov/audit"
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_previous_release"
VKEY = (FIXTURES / "audit" / "note-key.vkey").read_text().strip()


def signer() -> NoteSigner:
    return NoteSigner.from_private_key_string((FIXTURES / "audit" / "note-key").read_text().strip())


def pseudonym_key() -> bytes:
    return (FIXTURES / "audit" / "pseudonym.key").read_bytes()


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A folder with copies of the SQLite fixtures (the committed files stay untouched)."""
    for name in ("audit.db", "inbox.db", "identity.db"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def versions(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "govkit_schema" not in tables:
            return {}
        return dict(conn.execute("SELECT component, version FROM govkit_schema").fetchall())


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


# --- readers ------------------------------------------------------------------------


def test_old_audit_log_verifies_read_only_without_being_changed(old: Path) -> None:
    before = digest(old / "audit.db")
    result = verify_log(old / "audit.db", verifiers=[NoteVerifier.from_vkey(VKEY)])
    assert (result.size, result.checkpoints_checked) == (21, 3)
    code, out = cli("audit", "verify", str(old / "audit.db"), "--vkey", VKEY)
    assert code == 0, out
    assert digest(old / "audit.db") == before
    assert versions(old / "audit.db") == {}  # a reader records nothing


# --- govkit db upgrade ----------------------------------------------------------------


def test_db_upgrade_records_the_version_of_each_old_store_once(old: Path) -> None:
    expected = {"audit.db": "audit", "inbox.db": "payments", "identity.db": "identity"}
    current = {"audit": 2, "payments": 3, "identity": 1}  # audit gained tiles; the inbox 2, 3
    for name, component in expected.items():
        code, out = cli("db", "upgrade", str(old / name), "--json")
        assert code == 0, out
        report = json.loads(out)
        found = [c for c in report["components"] if c["present"]]
        assert found == [
            {
                "present": True,
                "component": component,
                "before": 1,
                "after": current[component],
                "recorded": False,
                "changed": True,
            }
        ]
        assert versions(old / name) == {component: current[component]}
        code, out = cli("db", "upgrade", str(old / name), "--json")
        assert code == 0
        again = [c for c in json.loads(out)["components"] if c["present"]]
        assert again[0]["changed"] is False


def test_db_upgrade_of_a_file_without_govkit_tables_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE unrelated (x)")
    before = digest(path)
    code, _ = cli("db", "upgrade", str(path))
    assert code == 3
    assert digest(path) == before
    assert cli("db", "upgrade", str(tmp_path / "missing.db"))[0] == 3
    assert not (tmp_path / "missing.db").exists()


def test_db_upgrade_refuses_a_newer_store_with_exit_3(old: Path) -> None:
    cli("db", "upgrade", str(old / "audit.db"))
    with closing(sqlite3.connect(old / "audit.db")) as conn, conn:
        conn.execute("UPDATE govkit_schema SET version = 7 WHERE component = 'audit'")
    code, out = cli("--json", "db", "upgrade", str(old / "audit.db"))
    assert code == 3
    assert json.loads(out)["error"]["code"] == "audit.store_schema"
    assert versions(old / "audit.db") == {"audit": 7}


# --- writers on old stores ----------------------------------------------------------


def check_old_audit_log(target: str | Path) -> None:
    key = signer()
    with AuditLog(target, origin=ORIGIN, signer=key, pseudonym_key=pseudonym_key()) as log:
        old_note = log.latest_checkpoint()
        assert old_note is not None
        assert log.size() == 21
        assert log.reveal(log.pseudonym("citizen-0")) == "citizen-0"
        with pytest.raises(SubjectErased):
            log.reveal(log.pseudonym("citizen-1"))
        assert len(log.query(actor_id="citizen-2")) == 6
        index = log.append(
            AuditEvent(
                occurred_at=NOW + timedelta(hours=1),
                actor_id="citizen-0",
                actor_type="person",
                action="licence.renew",
                resource_type="driving_licence",
                resource_id="GD-0",
            )
        )
        assert index == 21
        new_note = log.checkpoint()
        verify_checkpoint_consistency(
            old_note, new_note, log.consistency_proof(21), verifiers=[key.verifier]
        )
        result = verify_log(log, verifiers=[key.verifier], checkpoint=old_note, deep=True)
        assert (result.size, result.checkpoints_checked) == (22, 4)


def check_old_inbox(target: str | Path) -> None:
    with PaymentInbox(target) as inbox:
        assert inbox.stats() == {
            "deliveries": 5,
            "rejected": 1,
            "events": 3,
            "processed": 1,
            "failed": 1,
            "quarantined": 1,
        }
        again = inbox.delivery_body(1)  # the provider's retry: the same body, byte for byte
        receipt = inbox.receive(Stripe([SECRET]), *again, at=NOW)
        assert receipt.status is DeliveryStatus.DUPLICATE  # the old dedup key still holds
        assert inbox.process_pending(at=NOW) == 1  # the old failed event is retried
        assert inbox.event("evt_3").state is EventState.DONE
        orders = [inbox.order(f"GOV-{n}") for n in (1, 2, 3)]
        assert [o.state if o else None for o in orders] == [
            OrderState.PAID,
            OrderState.CREATED,  # quarantined, never marked paid
            OrderState.PAID,
        ]
        assert inbox.quarantine() == [("evt_2", "GOV-2", "amount_mismatch")]
        assert inbox.stats()["deliveries"] == 6


def check_old_identity_store(store: SQLiteIdentityStore | PostgresIdentityStore) -> None:
    try:
        assert not store.check_and_remember(
            "dpop:jkt:jti-live", now=NOW, expires_at=NOW + timedelta(minutes=5)
        )
        later = NOW + timedelta(hours=1)
        assert store.check_and_remember(
            "dpop:jkt:jti-expired", now=later, expires_at=later + timedelta(minutes=5)
        )
        assert store.is_revoked("jti-revoked", now=later)
        assert store.subject_not_before("pseudonym-7f3a") == NOW
    finally:
        store.close()


def test_writers_open_old_sqlite_stores_and_every_row_keeps_its_meaning(old: Path) -> None:
    check_old_audit_log(old / "audit.db")
    check_old_inbox(old / "inbox.db")
    check_old_identity_store(SQLiteIdentityStore(old / "identity.db"))
    assert versions(old / "audit.db") == {"audit": 2}  # upgraded by the writer on open
    assert versions(old / "inbox.db") == {"payments": 3}
    assert versions(old / "identity.db") == {"identity": 1}


# --- PostgreSQL -----------------------------------------------------------------------


def load_dump(url: str) -> None:
    """Run ``postgres-previous.sql`` (psql meta-commands such as ``\\restrict`` skipped)."""
    text = (FIXTURES / "postgres-previous.sql").read_text()
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("\\"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode())
        # pg_dump empties search_path for the session; later sessions start afresh.


@pytest.fixture
def old_postgres(pg_store_url: str) -> str:
    load_dump(pg_store_url)
    return pg_store_url


def pg_versions(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('govkit_schema')").fetchone() == (None,):
            return {}
        return dict(conn.execute("SELECT component, version FROM govkit_schema").fetchall())


@pytest.mark.postgres
def test_old_postgres_stores_verify_upgrade_and_keep_their_meaning(old_postgres: str) -> None:
    result = verify_log(old_postgres, verifiers=[NoteVerifier.from_vkey(VKEY)])
    assert (result.size, result.checkpoints_checked) == (21, 3)
    assert pg_versions(old_postgres) == {}  # the reader wrote nothing
    code, out = cli("db", "upgrade", old_postgres, "--json")
    assert code == 0, out
    report = json.loads(out)
    found = [c for c in report["components"] if c["present"]]
    assert [(c["component"], c["before"], c["after"], c["recorded"]) for c in found] == [
        ("audit", 1, 2, False),
        ("payments", 1, 3, False),
        ("identity", 1, 1, False),
    ]
    absent = {c["component"] for c in report["components"] if not c["present"]}
    assert absent == {"replay", "revocation", "flow"}  # nothing created for them
    assert pg_versions(old_postgres) == {"audit": 2, "payments": 3, "identity": 1}
    check_old_audit_log(old_postgres)
    check_old_inbox(old_postgres)
    check_old_identity_store(PostgresIdentityStore(old_postgres))


@pytest.mark.postgres
def test_old_postgres_stores_are_upgraded_by_their_writers_too(old_postgres: str) -> None:
    check_old_inbox(old_postgres)
    assert pg_versions(old_postgres) == {"payments": 3}
    check_old_audit_log(old_postgres)
    check_old_identity_store(PostgresIdentityStore(old_postgres))
    assert pg_versions(old_postgres) == {"audit": 2, "payments": 3, "identity": 1}


def check_old_stores_purge(target: str | Path) -> None:
    """Old rows purge like new ones: digests computed, unfinished events kept whole."""
    later = (NOW + timedelta(days=365)).isoformat()
    code, out = cli("db", "purge", str(target), "--at", later, "--json")
    assert code == 0, out
    removed = {c["component"]: c["removed"] for c in json.loads(out)["components"]}
    # the inbox: evt_1's two deliveries digested, the forged one deleted
    assert removed["payments"] == 3
    with PaymentInbox(target, read_only=True) as inbox:
        rows = {row["delivery_id"]: row for row in inbox.deliveries()}
        assert sorted(rows) == [1, 2, 4, 5]
        assert all(rows[i]["purged_at"] and rows[i]["body_sha256"] for i in (1, 2))
        assert not any(rows[i]["purged_at"] for i in (4, 5))  # quarantined, failed


def test_old_sqlite_stores_purge_after_their_upgrade(old: Path) -> None:
    assert cli("db", "upgrade", str(old / "inbox.db"))[0] == 0
    check_old_stores_purge(old / "inbox.db")


@pytest.mark.postgres
def test_old_postgres_stores_purge_after_their_upgrade(old_postgres: str) -> None:
    assert cli("db", "upgrade", old_postgres)[0] == 0
    check_old_stores_purge(old_postgres)
