"""A store that is down, unreadable or too new is an environment error: exit 3, its code.

House rule 13: exit 1 is only ever a verdict about an artifact that was read. A store
that cannot be opened (a PostgreSQL server that refuses the connection, a file that is
not a database), or whose schema is newer than this release, gave nothing to judge, so
every command exits 3 with the store's own code (``audit.store``, ``payment.store``,
``*.store_schema``...) in the ``--json`` error shape ``{"error": {"code", "message",
"context"}}``, and no store error from any component ever exits 1.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import sqlite3
from contextlib import closing, redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import govkit.errors
from govkit.audit import AuditEvent, AuditLog, NoteSigner, SQLiteStore
from govkit.cli import EXIT_ENV, main
from govkit.cli import _payments as cli_payments
from govkit.cli._app import Output
from govkit.errors import StoreError
from govkit.payments import PaymentInbox

ORIGIN = "store-errors.example.gov/audit"
SIGNER = NoteSigner.generate(ORIGIN)
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def run(*argv: str) -> tuple[int, Any, str]:
    """``govkit *argv --json``: exit code, the parsed stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([*argv, "--json"])
    return code, json.loads(out.getvalue()), err.getvalue()


def assert_store_error(code: int, data: Any, err: str, expected: str) -> None:
    assert code == EXIT_ENV, data
    assert set(data) == {"error"}  # the error shape, never a report or data
    assert set(data["error"]) == {"code", "message", "context"}
    assert data["error"]["code"] == expected
    assert isinstance(data["error"]["context"], dict)
    assert err.startswith("ERROR: ")  # not "INVALID": nothing was judged
    assert f"[{expected}]" in err


@pytest.fixture(scope="module")
def closed_port_url() -> str:
    """A PostgreSQL URL to a port on 127.0.0.1 that nothing listens on."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://govkit@127.0.0.1:{port}/govkit?connect_timeout=5"


@pytest.fixture
def vkey(tmp_path: Path) -> str:
    path = tmp_path / "published.vkey"
    path.write_text(SIGNER.vkey + "\n")
    return str(path)


@pytest.fixture
def not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a SQLite database\n" * 200)
    return path


def _newer_schema(path: Path, component: str) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        updated = conn.execute(
            "UPDATE govkit_schema SET version = 99 WHERE component = ?", (component,)
        ).rowcount
    assert updated == 1


# --- a store that cannot be opened ---------------------------------------------------


def test_audit_verify_of_a_store_whose_server_is_down_exits_3_with_audit_store(
    closed_port_url: str, vkey: str
) -> None:
    code, data, err = run("audit", "verify", closed_port_url, "--vkey", vkey)
    assert_store_error(code, data, err, "audit.store")
    assert data["error"]["context"]["engine"] == "postgresql"
    assert "govkit@" not in data["error"]["message"]  # no user name or URL repeated


def test_payments_show_of_an_inbox_whose_server_is_down_exits_3_with_payment_store(
    closed_port_url: str,
) -> None:
    code, data, err = run("payments", "show", closed_port_url)
    assert_store_error(code, data, err, "payment.store")
    assert data["error"]["context"]["engine"] == "postgresql"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["audit", "show"], "audit.store"),
        (["audit", "verify"], "audit.store"),
        (["payments", "show"], "payment.store"),
        (["payments", "replay"], "payment.store"),
    ],
)
def test_a_store_file_that_is_not_a_database_exits_3(
    not_a_database: Path, vkey: str, argv: list[str], expected: str
) -> None:
    extra = {"verify": ["--vkey", vkey], "replay": ["evt_1"]}.get(argv[1], [])
    code, data, err = run(*argv, str(not_a_database), *extra)
    assert_store_error(code, data, err, expected)
    assert data["error"]["context"] == {"engine": "sqlite", "sqlite_error": "SQLITE_NOTADB"}


# --- a store of a newer release --------------------------------------------------------


def test_payments_show_of_an_inbox_with_a_newer_schema_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    PaymentInbox(path).close()
    _newer_schema(path, "payments")
    code, data, err = run("payments", "show", str(path))
    assert_store_error(code, data, err, "payment.store_schema")


def test_audit_verify_of_a_log_with_a_newer_schema_exits_3(tmp_path: Path, vkey: str) -> None:
    path = tmp_path / "audit.db"
    with AuditLog(SQLiteStore(path), origin=ORIGIN, signer=SIGNER) as log:
        log.append(
            AuditEvent(
                occurred_at=NOW,
                actor_id="clerk-1",
                actor_type="officer",
                action="licence.issue",
                resource_type="driving_licence",
                resource_id="GD-1",
                personal=frozenset(),
            )
        )
        log.checkpoint()
    _newer_schema(path, "audit")
    code, data, err = run("audit", "verify", str(path), "--vkey", vkey)
    assert_store_error(code, data, err, "audit.store_schema")


# --- every store error in the tree ------------------------------------------------------


def _store_errors() -> list[type[StoreError]]:
    found = [getattr(govkit.errors, name) for name in govkit.errors.__all__]
    return [e for e in found if isinstance(e, type) and issubclass(e, StoreError)]


def test_the_tree_has_the_store_errors_of_every_component() -> None:
    codes = {e.code for e in _store_errors()}
    assert {"store.error", "store.locked", "store.schema", "store.full", "store.damaged"} <= codes
    assert {"audit.store", "audit.store_locked", "audit.store_schema"} <= codes
    assert {"payment.store", "payment.store_locked", "payment.store_schema"} <= codes
    assert {"identity.store", "identity.store_locked", "identity.store_schema"} <= codes
    assert "payment.event_unknown" not in codes  # a lookup that found nothing


@pytest.mark.parametrize("error", _store_errors(), ids=lambda e: e.code)
def test_every_store_error_exits_3_never_1(
    monkeypatch: pytest.MonkeyPatch, error: type[StoreError]
) -> None:
    """Raised from inside a command (here ``payments show``), each one is exit 3."""

    def fails(args: argparse.Namespace, out: Output) -> int:
        raise error("the store is unavailable", engine="sqlite")

    monkeypatch.setattr(cli_payments, "cmd_show", fails)
    code, data, err = run("payments", "show", "postgresql://govkit@127.0.0.1:1/govkit")
    assert_store_error(code, data, err, error.code)
    assert data["error"]["context"] == {"engine": "sqlite"}
