"""Fakes and helpers for applications' own tests.

>>> from datetime import datetime, timedelta, timezone
>>> from govkit.testing import FixedClock
>>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> clock.advance(timedelta(minutes=5)).isoformat()
'2026-01-01T00:05:00+00:00'

Nothing under :mod:`govkit` imports this package; it exists for tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from govkit.clock import require_aware

__all__ = ["FixedClock"]


class FixedClock:
    """A clock that stands still until told to move.

    Args:
        at: the initial time; must be timezone-aware.
    """

    def __init__(self, at: datetime) -> None:
        self._now = require_aware(at)

    def now(self) -> datetime:
        """Return the fixed time."""
        return self._now

    def set(self, at: datetime) -> datetime:
        """Move the clock to ``at`` and return it."""
        self._now = require_aware(at)
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        self._now = self._now + delta
        return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()!r})"
