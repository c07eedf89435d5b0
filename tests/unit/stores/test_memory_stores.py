"""The memory stores' bound: full means refuse (``store.full``), never forget a live entry.

The contract every implementation shares is in
``tests/integration/stores/test_state_contract.py``; these are what only the memory
stores have: ``max_entries``, the expiry index, ``len()``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from govkit.errors import ConfigurationError, FlowUnknown, StoreError, StoreFull
from govkit.stores import (
    MemoryFlowStore,
    MemoryReplayStore,
    MemoryRevocationStore,
    new_flow_handle,
)

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
KEY = bytes(range(32))


def test_a_full_replay_store_refuses_a_new_key_instead_of_evicting_a_live_one() -> None:
    store = MemoryReplayStore(max_entries=2)
    assert store.check_and_remember("a", now=T0, expires_at=T0 + MINUTE)
    assert store.check_and_remember("b", now=T0, expires_at=T0 + 2 * MINUTE)
    with pytest.raises(StoreFull) as caught:
        store.check_and_remember("c", now=T0, expires_at=T0 + MINUTE)
    assert (caught.value.code, caught.value.context["max_entries"]) == ("store.full", 2)
    assert isinstance(caught.value, StoreError)
    # nothing was forgotten: both stay replays
    assert store.check_and_remember("a", now=T0, expires_at=T0 + MINUTE) is False
    assert store.check_and_remember("b", now=T0, expires_at=T0 + MINUTE) is False
    # at T0 + 1 min "a" has expired, which frees its place
    assert store.check_and_remember("c", now=T0 + MINUTE, expires_at=T0 + 2 * MINUTE) is True
    assert len(store) == 2


def test_a_full_replay_store_still_answers_replays_of_what_it_holds() -> None:
    store = MemoryReplayStore(max_entries=1)
    store.check_and_remember("a", now=T0, expires_at=T0 + MINUTE)
    for _ in range(3):
        assert store.check_and_remember("a", now=T0, expires_at=T0 + MINUTE) is False


def test_a_full_revocation_store_refuses_instead_of_forgetting_a_revocation() -> None:
    store = MemoryRevocationStore(max_entries=2)
    store.revoke_token("t1", expires_at=T0 + MINUTE)
    store.revoke_subject("s", not_before=T0)
    with pytest.raises(StoreFull):
        store.revoke_token("t2", expires_at=T0 + MINUTE)
    assert store.is_revoked("t1", now=T0) is True
    # a caller at T0 + 1 min makes t1's expiry known; its place is then reused
    assert store.is_revoked("t1", now=T0 + MINUTE) is False
    store.revoke_token("t2", expires_at=T0 + 2 * MINUTE)
    assert store.is_revoked("t2", now=T0 + MINUTE) is True
    assert store.subject_not_before("s") == T0  # subjects are never dropped


def test_a_full_flow_store_refuses_a_new_flow_and_drops_expired_ones_first() -> None:
    store = MemoryFlowStore(key=KEY, max_entries=2)
    first, second, third = new_flow_handle(), new_flow_handle(), new_flow_handle()
    store.put(first, b"1", now=T0, expires_at=T0 + MINUTE)
    store.put(second, b"2", now=T0, expires_at=T0 + 2 * MINUTE)
    with pytest.raises(StoreFull):
        store.put(third, b"3", now=T0, expires_at=T0 + MINUTE)
    assert store.take(first, now=T0) == b"1"  # taken: still counts until it expires
    with pytest.raises(StoreFull):
        store.put(third, b"3", now=T0 + SECOND, expires_at=T0 + MINUTE)
    store.put(third, b"3", now=T0 + MINUTE, expires_at=T0 + 2 * MINUTE)
    with pytest.raises(FlowUnknown):
        store.take(first, now=T0)  # dropped to make room
    assert store.take(second, now=T0 + MINUTE) == b"2"
    assert len(store) == 2


def test_the_expiry_index_stays_bounded() -> None:
    store = MemoryReplayStore(max_entries=10)
    now = T0
    for step in range(1000):
        now = T0 + step * SECOND
        assert store.check_and_remember(f"k{step}", now=now, expires_at=now + 5 * SECOND)
        assert store.check_and_remember("same", now=now, expires_at=now + SECOND)
        assert len(store) <= 10
    store.purge(now=now)
    assert len(store) == 6  # k995..k999 and "same": the live ones
    assert len(store._state._expiry) <= 20


@pytest.mark.parametrize("bound", [0, -1, True, "5", 1.5])
@pytest.mark.parametrize("cls", [MemoryReplayStore, MemoryRevocationStore, MemoryFlowStore])
def test_the_bound_must_be_a_positive_integer(cls: Any, bound: Any) -> None:
    options = {"key": KEY} if cls is MemoryFlowStore else {}
    with pytest.raises(ConfigurationError):
        cls(max_entries=bound, **options)


def test_repr_names_the_bound_only() -> None:
    assert repr(MemoryReplayStore(max_entries=7)) == "MemoryReplayStore(max_entries=7)"
    assert repr(MemoryRevocationStore()) == "MemoryRevocationStore(max_entries=100000)"
    assert repr(MemoryFlowStore(key=KEY, max_entries=3)) == "MemoryFlowStore(max_entries=3)"


def test_stores_close_at_the_end_of_a_with_block() -> None:
    with MemoryReplayStore() as store:
        store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
    with pytest.raises(StoreError):
        store.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
