"""The identity stores, which moved to :mod:`govkit.stores` (this module re-exports them).

``govkit.identity`` keeps exporting every name below, so code written against it runs
unchanged. Where each one lives now:

* :class:`~govkit.stores.ReplayStore`, :class:`~govkit.stores.RevocationStore`: the
  protocols, in :mod:`govkit.stores` (``govkit/stores/_replay.py``,
  ``govkit/stores/_revocation.py``);
* :class:`~govkit.stores.MemoryIdentityStore`, :class:`~govkit.stores.SQLiteIdentityStore`,
  :class:`~govkit.stores.PostgresIdentityStore`, :func:`~govkit.stores.upgrade_identity_store`
  and the identity tables' schema: ``govkit/stores/_identity.py``, built on the same
  code as the replay and revocation stores (same tables, same ``identity.store*``
  errors as before).

New code can use the separate stores: :class:`~govkit.stores.SQLiteReplayStore` for
``DPoPVerifier(replay_store=...)`` and :class:`~govkit.stores.SQLiteRevocationStore` for
``TokenVerifier(store=...)``.
"""

from __future__ import annotations

from govkit.stores import (
    MemoryIdentityStore,
    PostgresIdentityStore,
    ReplayStore,
    RevocationStore,
    SQLiteIdentityStore,
    upgrade_identity_store,
)

__all__ = [
    "MemoryIdentityStore",
    "PostgresIdentityStore",
    "ReplayStore",
    "RevocationStore",
    "SQLiteIdentityStore",
    "upgrade_identity_store",
]
