"""The throwaway PostgreSQL cluster of ``tests/pg.py``, for benchmarks.

One implementation serves the test session and the benchmarks; it is loaded by path
because ``tests`` is not a package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["PostgresUnavailable", "throwaway_cluster"]


def _load() -> ModuleType:
    name = "govkit_tests_pg"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "tests" / "pg.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_pg = _load()
#: Raised when the server binaries are missing or the server will not start.
PostgresUnavailable: type[Exception] = _pg.PostgresUnavailable
#: ``with throwaway_cluster() as url:`` a fresh, durable (fsync on) cluster.
throwaway_cluster = _pg.throwaway_cluster
