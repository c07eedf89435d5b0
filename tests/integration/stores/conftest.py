"""Fixtures of the store tests: a PostgreSQL cluster of their own that they may restart.

``restartable_postgres`` (module) runs a separate throwaway cluster (``tests/pg.py``,
:func:`restartable_cluster`) with ``synchronous_commit`` on, so that a ``pg_ctl
restart -m immediate`` loses no committed row, and so that restarting it never
disturbs the session's shared cluster. ``restartable_db`` (function) is a new database
on it. Without the server binaries the tests are skipped, and fail under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_pg_helper() -> ModuleType:
    name = "govkit_tests_pg"  # the same module object as tests/integration/conftest.py's
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent.parent / "pg.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pg = _load_pg_helper()
_numbers = itertools.count()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


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

    name = f"govkit_restart_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(restartable_postgres.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return restartable_postgres.url.rsplit("/", 1)[0] + "/" + name
