"""Shared state for every component: replay, revocation and flow stores; the SQL layer.

Three small protocols, each with a memory, a SQLite and a PostgreSQL implementation
that behave the same way (one contract test runs against all of them):

* :class:`ReplayStore` (``check_and_remember``): one-time values such as DPoP proofs
  and licence presentations; :class:`MemoryReplayStore`, :class:`SQLiteReplayStore`,
  :class:`PostgresReplayStore`.
* :class:`RevocationStore`: revoked tokens and "log out everywhere";
  :class:`MemoryRevocationStore`, :class:`SQLiteRevocationStore`,
  :class:`PostgresRevocationStore`. :class:`MemoryIdentityStore`,
  :class:`SQLiteIdentityStore` and :class:`PostgresIdentityStore` are both at once
  (on the identity tables; ``govkit.identity`` exports them too).
* :class:`FlowStore` (``put``/``take``): a short-lived secret handed out once, sealed
  with AES-256-GCM under the application's key; :class:`MemoryFlowStore`,
  :class:`SQLiteFlowStore`, :class:`PostgresFlowStore`, and :func:`new_flow_handle`.

Each protocol also has a Redis implementation (``pip install 'govkit[redis]'``; redis-py
is imported only when one is made): :class:`RedisReplayStore`,
:class:`RedisRevocationStore` and :class:`RedisFlowStore`, with keys under a prefix
(``govkit:`` by default), every read-and-write decision in one Lua script, and Redis's
own expiry set from the caller's ``now`` (never from a clock of the store or server).
A Redis restarted without persistence has forgotten every entry: run it with
``appendonly yes`` for replay and revocation state.

The memory, SQLite and PostgreSQL stores have async forms for asyncio applications,
named ``a`` + the method (``acheck_and_remember``, ``ais_revoked``, ``arevoke_token``,
``aput``, ``atake``, ``apurge``, ...): same parameters, same return, same errors. They
run the blocking method on one bounded thread pool owned by govkit, sized with
:func:`configure_offload` (32 threads by default), so the event loop is never blocked;
see the "Async applications" guide.

Every store takes its time from the caller (``now=``) and reads no clock. An entry
whose expiry is at or before ``now`` counts as absent, and ``purge(now=...)`` deletes
what has expired (and only that) and returns how many entries it deleted;
:func:`purge_replay_store`, :func:`purge_revocation_store`,
:func:`purge_identity_store` and :func:`purge_flow_store` do the same by a store's
location (``govkit db purge``). A store that fails raises a ``*.store`` error
(:class:`~govkit.errors.StoreError` and its subclasses; the identity stores raise
``identity.store*``): a replay check that could not be made is never "not a replay",
and a memory store that is full raises :class:`~govkit.errors.StoreFull` instead of
forgetting a live entry.

Every SQL store in govkit (the audit log, the payment inbox, the identity stores)
runs on one private connection layer, ``govkit.stores._sql``, for SQLite and
PostgreSQL alike. It

* reconnects after a broken PostgreSQL connection: the call that meets the dead
  connection fails with the component's ``*.store`` error (a write is never retried
  behind the caller's back, since it may have committed) and the next call opens
  a new connection;
* opens read-only for verification (SQLite ``mode=ro``, plus ``immutable=1`` on
  read-only media; PostgreSQL ``default_transaction_read_only``);
* maps "locked" and "busy" (SQLite ``SQLITE_BUSY``, PostgreSQL ``lock_not_available``,
  serialization failures, deadlocks) to the component's ``*.store_locked`` error,
  and keeps only the SQLSTATE and the database's primary message in any error;
* records each component's schema version in one table, ``govkit_schema
  (component, version)``, refuses a newer schema, and upgrades an older one
  (:class:`SchemaUpgrade` says what an upgrade did).
"""

from govkit._aio import configure_offload
from govkit.stores._flow import (
    FlowStore,
    MemoryFlowStore,
    PostgresFlowStore,
    SQLiteFlowStore,
    new_flow_handle,
    upgrade_flow_store,
)
from govkit.stores._identity import (
    MemoryIdentityStore,
    PostgresIdentityStore,
    SQLiteIdentityStore,
    upgrade_identity_store,
)
from govkit.stores._purge import (
    purge_flow_store,
    purge_identity_store,
    purge_replay_store,
    purge_revocation_store,
)
from govkit.stores._redis import RedisFlowStore, RedisReplayStore, RedisRevocationStore
from govkit.stores._replay import (
    MemoryReplayStore,
    PostgresReplayStore,
    ReplayStore,
    SQLiteReplayStore,
    upgrade_replay_store,
)
from govkit.stores._revocation import (
    MemoryRevocationStore,
    PostgresRevocationStore,
    RevocationStore,
    SQLiteRevocationStore,
    upgrade_revocation_store,
)
from govkit.stores._seal import Sealer
from govkit.stores._sql import SchemaUpgrade

__all__ = [
    "FlowStore",
    "MemoryFlowStore",
    "MemoryIdentityStore",
    "MemoryReplayStore",
    "MemoryRevocationStore",
    "PostgresFlowStore",
    "PostgresIdentityStore",
    "PostgresReplayStore",
    "PostgresRevocationStore",
    "RedisFlowStore",
    "RedisReplayStore",
    "RedisRevocationStore",
    "ReplayStore",
    "RevocationStore",
    "SQLiteFlowStore",
    "SQLiteIdentityStore",
    "SQLiteReplayStore",
    "SQLiteRevocationStore",
    "SchemaUpgrade",
    "Sealer",
    "configure_offload",
    "new_flow_handle",
    "purge_flow_store",
    "purge_identity_store",
    "purge_replay_store",
    "purge_revocation_store",
    "upgrade_flow_store",
    "upgrade_identity_store",
    "upgrade_replay_store",
    "upgrade_revocation_store",
]
