"""Evidence for :mod:`govkit.clock` (and the :class:`govkit.testing.FixedClock` fake)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest

from govkit.clock import Clock, SystemClock, require_aware, resolve_time
from govkit.errors import NaiveDatetimeError
from govkit.testing import FixedClock

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class CountingClock:
    """A clock that records how often it is read."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.reads = 0

    def now(self) -> datetime:
        self.reads += 1
        return self.at


class NoOffset(tzinfo):
    """A tzinfo that does not know its offset: the datetime is effectively naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_system_clock_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert before <= now <= after
    assert repr(SystemClock()) == "SystemClock()"


def test_clock_protocol_is_satisfied_by_the_real_and_fake_clocks() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FixedClock(T0), Clock)
    assert isinstance(CountingClock(T0), Clock)
    assert not isinstance(object(), Clock)


def test_require_aware_refuses_a_naive_datetime_and_names_the_argument() -> None:
    with pytest.raises(NaiveDatetimeError) as exc:
        require_aware(datetime(2026, 1, 1), "not_before")
    assert exc.value.context["argument"] == "not_before"
    assert exc.value.code == "clock.naive_datetime"


def test_require_aware_refuses_a_tzinfo_without_offset() -> None:
    with pytest.raises(NaiveDatetimeError):
        require_aware(datetime(2026, 1, 1, tzinfo=NoOffset()))


@pytest.mark.parametrize("value", [date(2026, 1, 1), "2026-01-01T00:00:00Z", 1767225600])
def test_require_aware_refuses_things_that_are_not_datetimes(value: object) -> None:
    with pytest.raises(NaiveDatetimeError):
        require_aware(value)  # type: ignore[arg-type]


def test_require_aware_converts_other_zones_to_utc_without_moving_the_instant() -> None:
    tokyo = datetime(2026, 1, 1, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    result = require_aware(tokyo)
    assert result.tzinfo is UTC
    assert result == tokyo
    assert result == T0
    assert (result.hour, result.utcoffset()) == (12, timedelta(0))


def test_require_aware_returns_a_utc_datetime_as_it_is() -> None:
    assert require_aware(T0) is T0

    class Moment(datetime):
        """A datetime subclass: converted as any other aware value."""

    moment = Moment(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert require_aware(moment) == T0
    assert require_aware(moment).tzinfo is UTC


def test_resolve_time_reads_the_clock_once_when_no_time_is_given() -> None:
    clock = CountingClock(T0)
    assert resolve_time(clock, None) == T0
    assert clock.reads == 1


def test_resolve_time_does_not_read_the_clock_when_at_is_given() -> None:
    clock = CountingClock(T0)
    at = T0 + timedelta(days=3)
    assert resolve_time(clock, at) == at
    assert clock.reads == 0


def test_resolve_time_refuses_a_naive_at() -> None:
    with pytest.raises(NaiveDatetimeError) as exc:
        resolve_time(FixedClock(T0), datetime(2026, 1, 1))
    assert exc.value.context["argument"] == "at"


class Instant(datetime):
    """A datetime subclass in UTC: not the exact type the passed-on shortcut takes."""


@pytest.mark.parametrize(
    "at",
    [
        T0,
        T0.astimezone(timezone(timedelta(hours=8))),
        T0.astimezone(timezone(-timedelta(hours=5, minutes=30))),
        Instant(2026, 1, 1, 12, 0, tzinfo=UTC),
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
    ],
)
def test_resolve_time_gives_what_require_aware_gives_for_an_aware_at(at: datetime) -> None:
    # resolve_time passes a UTC datetime (one resolved before) on untouched, without
    # require_aware: the value, type and zone must be what require_aware gives.
    clock = CountingClock(T0 + timedelta(days=9))
    resolved = resolve_time(clock, at)
    expected = require_aware(at)
    assert resolved == expected
    assert type(resolved) is type(expected)
    assert resolved.tzinfo is UTC
    assert clock.reads == 0
    if type(at) is datetime and at.tzinfo is UTC:
        assert resolved is at


@pytest.mark.parametrize("at", [datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=NoOffset())])
def test_resolve_time_refuses_an_at_that_is_effectively_naive(at: datetime) -> None:
    with pytest.raises(NaiveDatetimeError) as exc:
        resolve_time(FixedClock(T0), at)
    assert exc.value.code == require_aware_error_code(at)
    assert exc.value.context["argument"] == "at"


def require_aware_error_code(at: datetime) -> str:
    """The code require_aware's refusal of ``at`` carries."""
    with pytest.raises(NaiveDatetimeError) as exc:
        require_aware(at)
    return exc.value.code


def test_resolve_time_refuses_a_clock_that_returns_naive_time() -> None:
    naive_clock = CountingClock(datetime(2026, 1, 1))
    with pytest.raises(NaiveDatetimeError) as exc:
        resolve_time(naive_clock, None)
    assert exc.value.context["argument"] == "clock.now()"


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(timedelta(minutes=5)) == T0 + timedelta(minutes=5)
    assert clock.now() == T0 + timedelta(minutes=5)
    assert clock.set(T0 - timedelta(days=1)) == T0 - timedelta(days=1)
    assert clock.now() == T0 - timedelta(days=1)
    assert repr(clock) == "FixedClock('2025-12-31T12:00:00+00:00')"


def test_fixed_clock_refuses_naive_times() -> None:
    with pytest.raises(NaiveDatetimeError):
        FixedClock(datetime(2026, 1, 1))
    clock = FixedClock(T0)
    with pytest.raises(NaiveDatetimeError):
        clock.set(datetime(2026, 1, 1))
    assert clock.now() == T0


def test_fixed_clock_normalises_to_utc() -> None:
    clock = FixedClock(datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now().tzinfo is UTC
    assert clock.now() == T0
