"""``AuditLog.aappend``/``aappend_many``: the durable append, off the event loop.

The append and its fsync run on govkit's thread pool; the result is the index the
blocking form would have given, appends made at once from many tasks all land (each
index once), and a refused event fails with the same typed error.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner, verify_log
from govkit.errors import AuditError

ORIGIN = "example.gov/audit-async-test"
KEY = b"pseudonym-key-for-tests-only-32b"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def event(i: int, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "occurred_at": T0 + timedelta(seconds=i),
        "actor_id": f"clerk-{i % 3}",
        "actor_type": "officer",
        "action": "licence.verify",
        "resource_type": "driving_licence",
        "resource_id": f"GD-{i}",
        "correlation_id": f"req-{i}",
    }
    fields.update(changes)
    return AuditEvent(**fields)


def test_aappend_gives_the_next_index_and_concurrent_appends_all_land(tmp_path: Path) -> None:
    signer = NoteSigner.generate(ORIGIN)
    with AuditLog(tmp_path / "audit.db", origin=ORIGIN, signer=signer, pseudonym_key=KEY) as log:
        assert log.append(event(0)) == 0
        assert asyncio.run(log.aappend(event(1))) == 1
        assert asyncio.run(log.aappend_many(event(i) for i in (2, 3))) == [2, 3]
        assert asyncio.run(log.aappend_many([])) == []

        async def many() -> list[int]:
            return list(await asyncio.gather(*(log.aappend(event(i)) for i in range(4, 36))))

        indexes = asyncio.run(many())
        assert sorted(indexes) == list(range(4, 36))
        assert log.size() == 36
        assert log.entry(1).event.correlation_id == "req-1"
        log.checkpoint()
        verifier = log.verifier
    assert verify_log(tmp_path / "audit.db", verifiers=[verifier]).size == 36


def test_an_append_to_a_closed_log_fails_alike(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db", origin=ORIGIN, pseudonym_key=KEY)
    log.close()
    with pytest.raises(AuditError) as sync_caught:
        log.append(event(0))
    with pytest.raises(AuditError) as async_caught:
        asyncio.run(log.aappend(event(0)))
    assert type(async_caught.value) is type(sync_caught.value)
    assert async_caught.value.code == sync_caught.value.code
