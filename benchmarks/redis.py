"""Replay checks on Redis: ``RedisReplayStore.check_and_remember`` beside a bare ``SET NX PX``.

Every side talks to one throwaway ``redis-server`` started for this run (``tests/
redis_server.py``: loopback, no persistence), each on its own connection, and records a
key not seen before on every call (the common case: a proof used once):

* **govkit**: ``RedisReplayStore(url).check_and_remember(key, now=..., expires_at=...)``:
  the key checked (length, type), both times converted from aware datetimes into the
  stored expiry and the ``PX`` (``expires_at - now`` plus the margin), then ``SET key
  <expiry> NX PX <ms>``, one round trip; only when the key exists does a Lua script
  decide (has the stored expiry passed at the caller's ``now``?). A store made from a
  URL sets a 5 s socket timeout and turns retries off, so a hung server fails the call.
* **reference, same connection settings** (the target row): redis-py's ``SET key 1 NX
  PX 60000`` on a client with the store's settings (``socket_timeout=5``,
  ``socket_connect_timeout=5``, no retries): what govkit adds on top of the command.
* **reference, redis-py defaults** (no target): the same command on
  ``redis.Redis.from_url(url)``, which has no socket timeout (a hung server blocks it
  forever). Python checks a timed socket with ``poll`` before each ``send``/``recv``,
  which this row includes on govkit's side only.

A last row, without a target, times a replay (the key exists, its entry live): govkit's
``SET NX`` fails and the script then reads the entry, two round trips, beside the
reference's one failing ``SET NX``.

Each pair is timed with :func:`benchmarks._harness.compare`, interleaved in one
process, so both see the same server and the same machine noise.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from benchmarks._harness import Comparison, compare
from govkit.stores import RedisReplayStore

#: The ratio govkit/reference the replay check should reach.
CHECK_TARGET = 0.80

#: Printed under the table.
NOTES = (
    "govkit = RedisReplayStore(url).check_and_remember: SET NX PX of a new key (its expiry\n"
    "in the caller's time as the value), or, when the key exists, SET NX then the Lua script\n"
    "comparing the stored expiry with the caller's now. reference = redis-py SET key 1 NX PX\n"
    "60000 of a new key: on a client with the store's connection settings (5 s socket\n"
    "timeout, no retries; target >= "
    f"{CHECK_TARGET:.2f}), and on a default client (no timeout; no target).\n"
    "One loopback redis-server started for this run (no persistence), one connection each."
)

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)


def _load_server_helper() -> ModuleType:
    name = "govkit_tests_redis"  # the module object tests/integration/conftest.py loads
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "tests" / "redis_server.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run(quick: bool) -> list[Comparison]:
    """``check_and_remember`` of new keys beside ``SET NX PX`` of new keys, one server."""
    import redis  # noqa: PLC0415 - the optional govkit[redis]
    from redis.backoff import NoBackoff  # noqa: PLC0415
    from redis.retry import Retry  # noqa: PLC0415

    helper = _load_server_helper()
    rounds = 5 if quick else 21
    number = 200 if quick else 2000
    with helper.throwaway_redis() as server:
        store = RedisReplayStore(server.url, prefix="bench:govkit:")
        same = redis.Redis.from_url(
            server.url, socket_timeout=5.0, socket_connect_timeout=5.0, retry=Retry(NoBackoff(), 0)
        )
        default = redis.Redis.from_url(server.url)
        try:
            keys = itertools.count()
            expires = NOW + TTL
            ttl_ms = TTL // timedelta(milliseconds=1)

            def govkit_check() -> bool:
                return store.check_and_remember(f"dpop:{next(keys)}", now=NOW, expires_at=expires)

            def same_settings() -> bool:
                return bool(same.set(f"bench:same:dpop:{next(keys)}", b"1", nx=True, px=ttl_ms))

            def defaults() -> bool:
                return bool(default.set(f"bench:ref:dpop:{next(keys)}", b"1", nx=True, px=ttl_ms))

            # Every side records a new key, and refuses an old one, before anything is timed.
            assert store.check_and_remember("seen", now=NOW, expires_at=expires) is True
            assert store.check_and_remember("seen", now=NOW, expires_at=expires) is False
            assert govkit_check() is True
            assert same_settings() is True
            assert defaults() is True
            assert default.set("bench:ref:seen", b"1", nx=True, px=ttl_ms) is True
            assert default.set("bench:ref:seen", b"1", nx=True, px=ttl_ms) is None
            return [
                compare(
                    "replay check (new key) vs SET NX PX",
                    govkit_check,
                    same_settings,
                    number=number,
                    rounds=rounds,
                    target=CHECK_TARGET,
                    note="reference with the store's timeout",
                ),
                compare(
                    "replay check (new key) vs SET NX PX, redis-py defaults",
                    govkit_check,
                    defaults,
                    number=number,
                    rounds=rounds,
                    note="reference without a socket timeout",
                ),
                compare(
                    "replay check (a replay) vs SET NX PX",
                    lambda: store.check_and_remember("seen", now=NOW, expires_at=expires),
                    lambda: default.set("bench:ref:seen", b"1", nx=True, px=ttl_ms),
                    number=number,
                    rounds=rounds,
                    note="two round trips beside one",
                ),
            ]
        finally:
            store.close()
            same.close()
            default.close()
