"""Time as a dependency: the :class:`Clock` protocol and :class:`SystemClock`.

>>> from datetime import datetime, timezone
>>> from govkit.clock import SystemClock, require_aware
>>> SystemClock().now().tzinfo is timezone.utc
True
>>> require_aware(datetime(2026, 1, 1))
Traceback (most recent call last):
    ...
govkit.errors.NaiveDatetimeError: 'at' must be timezone-aware (UTC); got a naive datetime

Every govkit object that needs the time takes a ``clock`` in its constructor,
and every verification accepts ``at=``. Naive datetimes are always refused; aware
ones are normalised to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Protocol, runtime_checkable

from govkit.errors import ClockError, NaiveDatetimeError

__all__ = ["Clock", "SystemClock", "require_aware", "resolve_time"]

#: 9999-12-31T23:59:59Z in Unix seconds: the last second a ``datetime`` holds, and the
#: latest NumericDate govkit accepts in a token, licence or presentation.
LAST_UNIX_SECOND: Final = 253402300799


@runtime_checkable
class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock: :func:`datetime.now` in UTC."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


def require_aware(value: datetime, name: str = "at") -> datetime:
    """Return ``value`` converted to UTC, or raise if it is naive.

    Raises:
        NaiveDatetimeError: ``value`` has no timezone.
    """
    if type(value) is datetime and value.tzinfo is UTC:  # already UTC: astimezone returns it
        return value
    if not isinstance(value, datetime):
        raise NaiveDatetimeError(f"{name!r} must be a datetime", argument=name)
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(
            f"{name!r} must be timezone-aware (UTC); got a naive datetime", argument=name
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ClockError(f"{name!r} is out of the representable range in UTC") from None


def resolve_time(clock: Clock, at: datetime | None) -> datetime:
    """Return ``at`` (checked and in UTC) or, when it is ``None``, ``clock.now()``.

    Verifications call this once and use the result for every check.
    """
    if at is None:
        now = clock.now()
        if type(now) is datetime and now.tzinfo is UTC:  # what SystemClock gives
            return now
        return require_aware(now, "clock.now()")
    if type(at) is datetime and at.tzinfo is UTC:  # a time resolved before, passed on
        return at
    return require_aware(at)
