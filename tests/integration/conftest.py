"""Integration fixtures: a real PostgreSQL server for the session, a fresh database per test.

* ``postgres_url`` (session): a throwaway cluster started by ``tests/pg.py``. Without
  the server binaries the test is skipped with the install command, and under
  ``CI=true`` it fails instead (a real part is never silently missing in CI).
* ``pg_store_url`` (function): a new, empty database on that server, dropped after
  the test, so tests never see each other's tables.
* ``restartable_postgres`` (module): a separate throwaway cluster
  (:func:`restartable_cluster`) with ``synchronous_commit`` on, so that a ``pg_ctl
  restart -m immediate`` loses no committed row and restarting it never disturbs the
  session's shared cluster; ``restartable_db`` (function) is a new database on it.
* ``redis_server`` (session): a throwaway ``redis-server`` on a free loopback port
  (``tests/redis_server.py``, no persistence), and ``redis_url`` its URL;
  ``redis_prefix`` (function) is a key prefix of the test's own. Without the server the
  test is skipped with the install command, and fails under ``CI=true``.
* ``english_locale`` (every test): the ``govkit`` command speaks the language of
  ``LC_ALL``/``LC_MESSAGES``/``LANG``, and the tests read its English; a developer whose
  locale is Chinese gets English here (tests of the Chinese set the locale themselves).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest


def _load_pg_helper() -> ModuleType:
    # tests/ is not a package and pytest imports with --import-mode=importlib, so the
    # helper is loaded by path (benchmarks/_pg.py loads the same file the same way).
    name = "govkit_tests_pg"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "pg.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pg = _load_pg_helper()


def _load_redis_helper() -> ModuleType:
    name = "govkit_tests_redis"  # benchmarks/redis.py loads the same file the same way
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parent.parent / "redis_server.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


redis_helper = _load_redis_helper()
_redis_prefixes = itertools.count()
_database_numbers = itertools.count()


def _unavailable(reason: str) -> NoReturn:
    # A skip; under CI=true tests/conftest.py turns every skip into a failure.
    pytest.skip(f"PostgreSQL is not available: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL cluster (database ``postgres``, user ``govkit``)."""
    try:
        import psycopg  # noqa: F401, PLC0415 - only needed when a test asks for PostgreSQL
    except ImportError:
        _unavailable("psycopg is not installed: pip install -e '.[dev,postgres]'")
    cluster = pg.throwaway_cluster(pg.FAST_SETTINGS)
    try:
        url = cluster.__enter__()
    except pg.PostgresUnavailable as exc:
        _unavailable(str(exc))
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)


@pytest.fixture
def pg_store_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database on the session's cluster, dropped after the test."""
    import psycopg  # noqa: PLC0415

    name = f"govkit_test_{os.getpid()}_{next(_database_numbers)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def restartable_postgres() -> Iterator[Any]:
    """A running :class:`Cluster` (``.url``, ``.restart()``, ``.stop()``, ``.start()``)."""
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError:
        _unavailable("psycopg is not installed: pip install -e '.[dev,postgres]'")
    manager = pg.restartable_cluster()
    try:
        cluster = manager.__enter__()
    except pg.PostgresUnavailable as exc:
        _unavailable(str(exc))
    try:
        yield cluster
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture
def restartable_db(restartable_postgres: Any) -> Iterator[str]:
    """URL of a new database on the restartable cluster (left for the cluster's removal)."""
    import psycopg  # noqa: PLC0415

    name = f"govkit_restart_{os.getpid()}_{next(_database_numbers)}"
    with psycopg.connect(restartable_postgres.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return restartable_postgres.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Any]:
    """A running throwaway Redis server (``.url``, ``.port``, ``.stop()``, ``.start()``)."""
    try:
        import redis  # noqa: F401, PLC0415 - only needed when a test asks for Redis
    except ImportError:
        _redis_unavailable("redis-py is not installed: pip install -e '.[dev,redis]'")
    try:
        manager = redis_helper.throwaway_redis()
        server = manager.__enter__()
    except redis_helper.RedisUnavailable as exc:
        _redis_unavailable(str(exc))
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)


def _redis_unavailable(reason: str) -> NoReturn:
    pytest.skip(f"Redis is not available: {reason}")  # a failure under CI=true


@pytest.fixture(scope="session")
def redis_url(redis_server: Any) -> str:
    """``redis://127.0.0.1:PORT/0`` of the session's Redis server."""
    url: str = redis_server.url
    return url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses (tests share the server, not their keys)."""
    return f"govkit-test:{os.getpid()}:{next(_redis_prefixes)}:"


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Chinese locale of the machine running the tests is replaced by ``C.UTF-8``."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(name, "").lower().startswith("zh"):
            monkeypatch.setenv(name, "C.UTF-8")
