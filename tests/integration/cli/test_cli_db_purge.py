"""``govkit db purge STORE``: what has expired goes, what is live stays, the counts are said.

Run against one SQLite file holding every kind of store, the same on PostgreSQL, a
verifier state directory, and a real Redis server (``redis://`` on the session's server
under a test prefix, ``unix://`` on a server of the test's own with the default prefix).
``--at`` fixes the time; ``--json`` prints the counts as data; the status line is
English or Chinese.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.cli import main
from govkit.errors import PaymentBodyPurged
from govkit.payments import PaymentInbox, Stripe
from govkit.stores import (
    PostgresFlowStore,
    PostgresIdentityStore,
    PostgresReplayStore,
    PostgresRevocationStore,
    RedisFlowStore,
    RedisReplayStore,
    RedisRevocationStore,
    SQLiteFlowStore,
    SQLiteIdentityStore,
    SQLiteReplayStore,
    SQLiteRevocationStore,
    new_flow_handle,
)
from govkit.testing.payments import stripe_callback

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
KEY = bytes(range(32))
SECRET = "whsec_purge"
LATER = (T0 + 40 * DAY).isoformat()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def fill(target: str) -> dict[str, Any]:
    """One expired and one live entry of each kind; a processed delivery and a refused one."""
    sqlite = "://" not in target
    replay = SQLiteReplayStore if sqlite else PostgresReplayStore
    revocation = SQLiteRevocationStore if sqlite else PostgresRevocationStore
    identity = SQLiteIdentityStore if sqlite else PostgresIdentityStore
    flow = SQLiteFlowStore if sqlite else PostgresFlowStore
    far = T0 + 400 * DAY
    with replay(target) as store:
        store.check_and_remember("old", now=T0, expires_at=T0 + DAY)
        store.check_and_remember("live", now=T0, expires_at=far)
    with revocation(target) as store:
        store.revoke_token("old", expires_at=T0 + DAY)
        store.revoke_token("live", expires_at=far)
    with identity(target) as store:
        store.check_and_remember("old", now=T0, expires_at=T0 + DAY)
        store.revoke_token("old", expires_at=T0 + DAY)
        store.revoke_token("live", expires_at=far)
    handle = new_flow_handle()
    with flow(target, key=KEY) as store:
        store.put(new_flow_handle(), b"x", now=T0, expires_at=T0 + DAY)
        store.put(handle, b"y", now=T0, expires_at=far)
    stripe = Stripe([SECRET])
    with PaymentInbox(target, orders=False) as inbox:
        paid = inbox.receive(
            stripe, *stripe_callback(SECRET, order_id="GOV-1", amount=5, at=T0), at=T0
        )
        forged = stripe_callback("whsec_other", order_id="GOV-2", amount=5, at=T0)
        inbox.receive(stripe, *forged, at=T0)
    return {"handle": handle, "paid": paid.delivery_id}


def check_live_kept(target: str, facts: dict[str, Any]) -> None:
    sqlite = "://" not in target
    now = T0 + 40 * DAY
    replay = SQLiteReplayStore if sqlite else PostgresReplayStore
    with replay(target) as store:
        assert store.check_and_remember("live", now=now, expires_at=now + DAY) is False
    revocation = SQLiteRevocationStore if sqlite else PostgresRevocationStore
    with revocation(target) as store:
        assert store.is_revoked("live", now=now) is True
    flow = SQLiteFlowStore if sqlite else PostgresFlowStore
    with flow(target, key=KEY) as store:
        assert store.take(facts["handle"], now=now) == b"y"
    with PaymentInbox(target, read_only=True) as inbox, pytest.raises(PaymentBodyPurged):
        inbox.delivery_body(facts["paid"])


EXPECTED = {"payments": 2, "identity": 2, "replay": 1, "revocation": 1, "flow": 1}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    url: str = request.getfixturevalue("pg_store_url")
    return url


def test_purge_deletes_the_expired_entries_of_every_store_and_keeps_the_live_ones(
    target: str,
) -> None:
    facts = fill(target)
    code, out, err = run("--json", "db", "purge", target, "--at", LATER)
    assert code == 0, err
    document = json.loads(out)
    assert {c["component"]: c["removed"] for c in document["components"]} == EXPECTED
    assert all(c["present"] for c in document["components"])
    assert document["at"] == LATER
    assert document["body_retention_seconds"] == 30 * 86400
    assert "7 expired entries" in err
    check_live_kept(target, facts)
    code, out, _ = run("--json", "db", "purge", target, "--at", LATER)
    assert {c["removed"] for c in json.loads(out)["components"]} == {0}  # nothing twice


def test_purge_at_an_earlier_time_deletes_nothing(tmp_path: Path) -> None:
    target = str(tmp_path / "state.db")
    fill(target)
    code, out, _ = run(
        "--json", "db", "purge", target, "--at", (T0 + DAY - timedelta(seconds=1)).isoformat()
    )
    assert code == 0
    assert {c["removed"] for c in json.loads(out)["components"]} == {0}


def test_one_component_and_a_shorter_body_retention(tmp_path: Path) -> None:
    target = str(tmp_path / "state.db")
    fill(target)
    at = (T0 + 2 * DAY).isoformat()
    code, out, _ = run(
        "--json",
        "db",
        "purge",
        target,
        "--component",
        "payments",
        "--body-retention",
        "1d",
        "--at",
        at,
    )
    assert code == 0
    document = json.loads(out)
    assert document["components"] == [{"component": "payments", "present": True, "removed": 2}]
    assert document["body_retention_seconds"] == 86400


def test_the_table_and_status_line_are_said_in_chinese(tmp_path: Path) -> None:
    target = str(tmp_path / "state.db")
    fill(target)
    code, out, err = run("--lang", "zh", "db", "purge", target, "--at", LATER)
    assert code == 0
    assert "已删除或清除" in out
    assert "已删除或清除 7 条过期记录" in err
    code, out, err = run("--lang", "en", "db", "purge", target, "--at", LATER)
    assert "removed or erased" in out
    assert "0 expired entries removed or erased" in err


def test_a_verifier_state_directory_is_purged(tmp_path: Path) -> None:
    from govkit.certificates import VerifierState  # noqa: PLC0415

    state_dir = tmp_path / "state"
    with VerifierState(state_dir) as state:
        state.replay_store().check_and_remember("seen", now=T0, expires_at=T0 + DAY)
    (state_dir / "state.json").write_text(
        json.dumps(
            {
                "type": "govkit.verifier-state/v1",
                "anchors": [],
                "trust": None,
                "status": {},
                "logs": {},
                "newest_signed_time": None,
            }
        )
    )
    (state_dir / "lists").mkdir()
    (state_dir / "lists" / ("0" * 64 + ".json")).write_text("{}")  # held by no index
    code, out, err = run("--json", "db", "purge", str(state_dir), "--at", LATER)
    assert code == 0, err
    assert json.loads(out)["components"] == [
        {"component": "verifier", "present": True, "removed": 2}
    ]


def test_a_missing_store_is_an_environment_error(tmp_path: Path) -> None:
    code, out, _ = run("--json", "db", "purge", str(tmp_path / "none.db"))
    assert (code, json.loads(out)["error"]["code"]) == (3, "cli.no_such_file")


def test_a_directory_that_is_not_a_verifier_state_is_refused(tmp_path: Path) -> None:
    code, out, _ = run("--json", "db", "purge", str(tmp_path))
    assert (code, json.loads(out)["error"]["code"]) == (3, "cli.not_a_store")
    code, _, _ = run("db", "purge", str(tmp_path), "--component", "payments")
    assert code == 2


def test_a_file_without_govkit_tables_is_not_a_store_and_stays_untouched(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    code, out, _ = run("--json", "db", "purge", str(path))
    assert (code, json.loads(out)["error"]["code"]) == (3, "cli.not_a_store")
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["unrelated"]


# -- Redis ------------------------------------------------------------------------------


def fill_redis(url: str, prefix: str) -> str:
    """One expired and one live entry of each Redis kind; the live flow's handle."""
    far = T0 + 400 * DAY
    with RedisReplayStore(url, prefix=prefix) as replay:
        replay.check_and_remember("old", now=T0, expires_at=T0 + DAY)
        replay.check_and_remember("live", now=T0, expires_at=far)
    with RedisRevocationStore(url, prefix=prefix) as revocation:
        revocation.revoke_token("old", expires_at=T0 + DAY)
        revocation.revoke_token("live", expires_at=far)
        revocation.revoke_subject("pseudonym-1", not_before=T0)
    handle = new_flow_handle()
    with RedisFlowStore(url, key=KEY, prefix=prefix) as flow:
        flow.put(new_flow_handle(), b"x", now=T0, expires_at=T0 + DAY)
        flow.put(handle, b"y", now=T0, expires_at=far)
    return handle


def check_redis_live_kept(url: str, prefix: str, handle: str) -> None:
    now = T0 + 40 * DAY
    with RedisReplayStore(url, prefix=prefix) as replay:
        assert replay.check_and_remember("live", now=now, expires_at=now + DAY) is False
    with RedisRevocationStore(url, prefix=prefix) as revocation:
        assert revocation.is_revoked("live", now=now) is True
        assert revocation.subject_not_before("pseudonym-1") == T0
    with RedisFlowStore(url, key=KEY, prefix=prefix) as flow:
        assert flow.take(handle, now=now) == b"y"


# Redis has no tables: presence is not checked (null), never claimed.
REDIS_EXPECTED = [
    {"component": "replay", "present": None, "removed": 1},
    {"component": "revocation", "present": None, "removed": 1},
    {"component": "flow", "present": None, "removed": 1},
]


@pytest.mark.redis
def test_purge_on_redis_deletes_the_expired_entries_under_the_prefix_and_keeps_the_live_ones(
    redis_url: str, redis_prefix: str
) -> None:
    handle = fill_redis(redis_url, redis_prefix)
    other = redis_prefix + "other-app:"  # another application's keys on the same server
    fill_redis(redis_url, other)
    code, out, err = run(
        "--json", "db", "purge", redis_url, "--prefix", redis_prefix, "--at", LATER
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["components"] == REDIS_EXPECTED
    assert (document["store"], document["prefix"], document["at"]) == (
        redis_url,
        redis_prefix,
        LATER,
    )
    assert "body_retention_seconds" not in document
    assert "3 expired entries" in err
    check_redis_live_kept(redis_url, redis_prefix, handle)
    code, out, _ = run("--json", "db", "purge", redis_url, "--prefix", redis_prefix, "--at", LATER)
    assert {c["removed"] for c in json.loads(out)["components"]} == {0}  # nothing twice
    code, out, _ = run("--json", "db", "purge", redis_url, "--prefix", other, "--at", LATER)
    assert [c["removed"] for c in json.loads(out)["components"]] == [1, 1, 1]  # untouched before


@pytest.mark.redis
def test_purge_on_redis_at_an_earlier_time_and_one_component(
    redis_url: str, redis_prefix: str
) -> None:
    fill_redis(redis_url, redis_prefix)
    early = (T0 + DAY - timedelta(seconds=1)).isoformat()
    code, out, _ = run("--json", "db", "purge", redis_url, "--prefix", redis_prefix, "--at", early)
    assert code == 0
    assert {c["removed"] for c in json.loads(out)["components"]} == {0}
    code, out, err = run(
        "--json",
        "db",
        "purge",
        redis_url,
        "--prefix",
        redis_prefix,
        "--component",
        "revocation",
        "--at",
        LATER,
    )
    assert code == 0, err
    assert json.loads(out)["components"] == [REDIS_EXPECTED[1]]


@pytest.mark.redis
def test_purge_over_a_unix_socket_uses_the_default_prefix(
    redis_server: Any, tmp_path: Path
) -> None:
    redis_helper = sys.modules["govkit_tests_redis"]  # loaded by tests/integration/conftest.py
    socket_path = tmp_path / "redis.sock"
    options = (*redis_helper.NO_PERSISTENCE, "--unixsocket", str(socket_path))
    with redis_helper.throwaway_redis(options) as server:
        url = f"unix://{socket_path}?db=0"
        handle = fill_redis(server.url, "govkit:")  # the default prefix, written over TCP
        fill_redis(server.url, "elsewhere:")
        code, out, err = run("--json", "db", "purge", url, "--at", LATER)
        assert code == 0, err
        document = json.loads(out)
        assert document["components"] == REDIS_EXPECTED
        assert (document["store"], document["prefix"]) == (f"unix://{socket_path}", "govkit:")
        check_redis_live_kept(server.url, "govkit:", handle)
        code, out, _ = run(
            "--json", "db", "purge", server.url, "--prefix", "elsewhere:", "--at", LATER
        )
        assert [c["removed"] for c in json.loads(out)["components"]] == [1, 1, 1]


@pytest.mark.redis
@pytest.mark.parametrize("component", ["payments", "identity", "verifier"])
def test_a_component_redis_does_not_hold_is_a_usage_error(
    redis_url: str, redis_prefix: str, component: str
) -> None:
    fill_redis(redis_url, redis_prefix)
    code, out, _ = run(
        "--json", "db", "purge", redis_url, "--prefix", redis_prefix, "--component", component
    )
    assert (code, json.loads(out)["error"]["code"]) == (2, "cli.usage")
    code, _, err = run("--lang", "zh", "db", "purge", redis_url, "--component", component)
    assert code == 2
    assert "Redis 服务器上只有这些组件：replay, revocation, flow" in err
    code, out, _ = run("--json", "db", "purge", redis_url, "--prefix", redis_prefix, "--at", LATER)
    assert [c["removed"] for c in json.loads(out)["components"]] == [1, 1, 1]  # nothing done


def test_a_prefix_for_a_store_that_is_not_redis_is_a_usage_error(tmp_path: Path) -> None:
    target = str(tmp_path / "state.db")
    fill(target)
    code, out, _ = run("--json", "db", "purge", target, "--prefix", "govkit:", "--at", LATER)
    assert (code, json.loads(out)["error"]["code"]) == (2, "cli.usage")
    assert "--prefix applies only to a redis://" in json.loads(out)["error"]["message"]


@pytest.mark.redis
def test_a_bad_prefix_is_a_usage_error(redis_url: str) -> None:
    code, out, _ = run("--json", "db", "purge", redis_url, "--prefix", "has space")
    assert (code, json.loads(out)["error"]["code"]) == (2, "config.invalid")


def test_redis_down_exits_3_with_the_store_code_and_no_password() -> None:
    redis_helper = sys.modules["govkit_tests_redis"]
    port = redis_helper.free_port()  # nothing listens there
    url = f"redis://:s3cret-pass@127.0.0.1:{port}/0"
    code, out, err = run("--json", "db", "purge", url, "--at", LATER)
    assert code == 3
    error = json.loads(out)["error"]
    assert error["code"] == "store.error"
    assert "s3cret-pass" not in out + err


@pytest.mark.redis
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_purge_on_redis_under_an_unused_prefix_never_claims_the_stores_are_there(
    redis_url: str, redis_prefix: str, lang: str
) -> None:
    """A typo in --prefix purges nothing: the output must not say the stores were found."""
    unused = redis_prefix + "nobody-uses-this:"
    code, out, err = run("--json", "db", "purge", redis_url, "--prefix", unused, "--at", LATER)
    assert code == 0, err
    assert [(c["present"], c["removed"]) for c in json.loads(out)["components"]] == [
        (None, 0),
        (None, 0),
        (None, 0),
    ]
    code, out, err = run("--lang", lang, "db", "purge", redis_url, "--prefix", unused)
    assert code == 0, err
    said = "not checked: whether anything is stored" if lang == "en" else "未检查：前缀"
    assert said in err
    assert unused in err
