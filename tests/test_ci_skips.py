"""Under ``CI=true`` a skip is a failure: the root conftest's report hook, driven directly.

Every ``pytest.skip`` in the suite (a PostgreSQL, Redis or OIDC provider that cannot
start, a mount that needs root) relies on this hook instead of a check of its own.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest


def _root_conftest() -> ModuleType:
    name = "govkit_tests_root_conftest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _report_after_hook(report: Any) -> Any:
    hook = _root_conftest().pytest_runtest_makereport  # a generator (a hook wrapper)
    run = hook(None, None)
    next(run)
    with pytest.raises(StopIteration):
        run.send(SimpleNamespace(get_result=lambda: report))
    return report


def skipped_report() -> Any:
    return SimpleNamespace(
        skipped=True, outcome="skipped", longrepr=("f.py", 1, "Skipped: Redis is not available")
    )


def test_skip_under_ci_becomes_a_failure_that_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    report = _report_after_hook(skipped_report())
    assert report.outcome == "failed"
    assert report.longrepr == (
        "skipped under CI=true, which counts as a failure: Skipped: Redis is not available"
    )


def test_skip_outside_ci_stays_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert _report_after_hook(skipped_report()).outcome == "skipped"


def test_expected_failure_under_ci_is_not_turned_into_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    report = skipped_report()
    report.wasxfail = "known"
    assert _report_after_hook(report).outcome == "skipped"
