"""Session-wide test configuration.

* Under ``CI=true`` a skipped test is turned into a failure: nothing is skipped in CI.
* ``vectors_dir`` finds the shared conformance suites (``GOVKIT_VECTORS`` or
  ``../shared/vectors`` beside the checkout); a missing suite is a failure, not a skip.
* Every test has its own ``XDG_STATE_HOME`` (and no ``GOVKIT_STATE``): the verifier
  state ``govkit verify`` keeps between runs is the test's own.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Generator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The machines are shared and noisy: a property test is judged on its result, never on
# how long one example took. (Tests that set their own settings keep them.)
settings.register_profile("govkit", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("govkit")

ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def find_vectors() -> Path:
    env = os.environ.get("GOVKIT_VECTORS")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "vectors")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "conformance vectors not found: set GOVKIT_VECTORS or place them at ../shared/vectors"
    )


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    return find_vectors()


_STATE_HOMES = itertools.count()


@pytest.fixture(autouse=True)
def _own_verifier_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own per-user state directory (``govkit verify`` remembers lists,
    checkpoints and presentations there), never the real one of whoever runs the tests.
    The directory is only named here; the command creates it when it first writes."""
    base = tmp_path_factory.getbasetemp() / "xdg-state"
    monkeypatch.delenv("GOVKIT_STATE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(base / str(next(_STATE_HOMES))))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"
