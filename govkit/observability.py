"""Logs, traces and metrics of what govkit verifies, issues, receives and appends.

Every verify, issue, payment callback and audit append logs one record on a
``govkit.*`` logger of the standard :mod:`logging` module when it ends
(``govkit.identity``, ``govkit.certificates``, ``govkit.esign``, ``govkit.payments``,
``govkit.audit``), with structured ``extra`` fields: ``kind`` (``token.verify``),
``outcome`` (``ok``, ``invalid`` or ``error``), ``code`` (``ok`` or the error code),
``duration_ms`` and, where known, ``kid`` and ``issuer``. Records are ``INFO``
(``WARNING`` for an ``error`` outcome: a store, network or configuration failure).
No record holds personal data, a token, a key, a secret, a body or a signature.

With :func:`configure` and OpenTelemetry providers (``pip install govkit[otel]``),
each of them is also a span, counted in ``govkit.operations`` and timed in
``govkit.operation.duration``. Without a call to :func:`configure`, OpenTelemetry is
never imported.

>>> from govkit.observability import configure
>>> configure()  # the default: logging only, no OpenTelemetry
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import wraps
from importlib import metadata
from typing import Any, ParamSpec, TypeVar

from govkit.errors import ConfigurationError, GovkitError, VerificationError
from govkit.report import Report

__all__ = ["configure"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Histogram bucket boundaries in seconds: 50 µs to 10 s (a verify takes well under
#: a millisecond; a payment callback or an audit append with fsync a few).
DURATION_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

#: ``fields(args, kwargs, result)``: the safe fields of one call (``kid``, ``issuer``,
#: a provider name...); ``result`` is ``None`` when the call raised. It may set
#: ``outcome`` and ``code`` for calls that report a failure instead of raising.
Fields = Callable[[tuple[Any, ...], Mapping[str, Any], Any], Mapping[str, object]]


def _version() -> str | None:
    try:
        return metadata.version("govkit")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return None


class _Otel:
    """A tracer, a counter and a histogram, from the providers given to :func:`configure`."""

    __slots__ = ("counter", "error_status", "histogram", "span_kind", "tracer")

    def __init__(self, tracer_provider: Any, meter_provider: Any) -> None:
        self.tracer: Any = None
        self.counter: Any = None
        self.histogram: Any = None
        self.error_status: Any = None
        self.span_kind: Any = None
        version = _version()
        if tracer_provider is not None:
            try:
                from opentelemetry.trace import (  # noqa: PLC0415 - only when configured
                    SpanKind,
                    Status,
                    StatusCode,
                )
            except ImportError as exc:
                raise ConfigurationError(
                    "OpenTelemetry is not installed: pip install govkit[otel]"
                ) from exc
            self.tracer = tracer_provider.get_tracer("govkit", version)
            self.span_kind = SpanKind.INTERNAL
            self.error_status = lambda code: Status(StatusCode.ERROR, code)
        if meter_provider is not None:
            meter = meter_provider.get_meter("govkit", version)
            self.counter = meter.create_counter(
                "govkit.operations",
                unit="{operation}",
                description="govkit verifies, issues, callbacks and appends, by outcome code",
            )
            description = "how long govkit verifies, issues, callbacks and appends take"
            try:
                self.histogram = meter.create_histogram(
                    "govkit.operation.duration",
                    unit="s",
                    description=description,
                    explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
                )
            except TypeError:  # pragma: no cover - opentelemetry-api before 1.23
                self.histogram = meter.create_histogram(
                    "govkit.operation.duration", unit="s", description=description
                )


# The one piece of process-wide state: what configure() was given. Logging is already
# process-wide (the standard library's loggers); this adds the OpenTelemetry providers.
_otel: _Otel | None = None


def configure(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Send spans and metrics of every govkit operation to OpenTelemetry providers.

    Args:
        tracer_provider: an OpenTelemetry ``TracerProvider`` (for the global one:
            ``opentelemetry.trace.get_tracer_provider()``); ``None``: no spans.
        meter_provider: an OpenTelemetry ``MeterProvider`` (for the global one:
            ``opentelemetry.metrics.get_meter_provider()``); ``None``: no metrics.

    Each call replaces the previous configuration; ``configure()`` with neither turns
    OpenTelemetry off again. Logging needs no configuration: attach handlers to the
    ``govkit`` logger as usual.

    Raises:
        ConfigurationError: a tracer provider was given but ``opentelemetry-api`` is
            not installed.
    """
    global _otel  # noqa: PLW0603 - the providers are process-wide, like logging's
    if tracer_provider is None and meter_provider is None:
        _otel = None
    else:
        _otel = _Otel(tracer_provider, meter_provider)


def _outcome_of(error: BaseException) -> tuple[str, str]:
    if isinstance(error, GovkitError):
        return ("invalid" if isinstance(error, VerificationError) else "error"), error.code
    return "error", "exception"


class observe:  # noqa: N801 - used like a function: ``with observe(...) as fields:``
    """Internal: time a block and log (and trace) it as one ``kind`` operation.

    ``with observe("token.verify", log, issuer=...) as fields:`` yields a dict the
    block may add safe fields to (``fields["kid"] = ...``, or ``outcome`` and ``code``
    when it reports a failure instead of raising). Used by govkit's components; not
    part of the public API.
    """

    __slots__ = ("_kind", "_log", "_otel", "_span", "_span_cm", "_start", "fields")

    def __init__(self, kind: str, log: logging.Logger, **fields: object) -> None:
        self._kind = kind
        self._log = log
        self.fields: dict[str, object] = fields
        self._otel = _otel
        self._span_cm: Any = None
        self._span: Any = None
        self._start = 0

    def __enter__(self) -> dict[str, object]:
        otel = self._otel
        if otel is not None and otel.tracer is not None:
            self._span_cm = otel.tracer.start_as_current_span(
                "govkit." + self._kind,
                kind=otel.span_kind,
                attributes={"govkit.kind": self._kind},
                record_exception=False,  # an exception's text and traceback: not logged
                set_status_on_exception=False,
            )
            self._span = self._span_cm.__enter__()
        self._start = time.perf_counter_ns()
        return self.fields

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        elapsed = time.perf_counter_ns() - self._start
        fields = self.fields
        if exc is not None:
            outcome, code = _outcome_of(exc)
            fields["outcome"], fields["code"] = outcome, code
            if code == "exception":
                fields["exception"] = type(exc).__name__
        try:
            _emit(
                self._kind,
                self._log,
                otel=self._otel,
                span=self._span,
                fields=fields,
                elapsed_ns=elapsed,
            )
        finally:
            if self._span_cm is not None:
                self._span_cm.__exit__(None, None, None)


def _emit(
    kind: str,
    log: logging.Logger,
    *,
    otel: _Otel | None,
    span: Any,
    fields: dict[str, object],
    elapsed_ns: int,
) -> None:
    """Log one record and record the span's attributes, the count and the duration."""
    outcome = str(fields.setdefault("outcome", "ok"))
    code = str(fields.setdefault("code", "ok"))
    ms = elapsed_ns / 1e6
    level = logging.WARNING if outcome == "error" else logging.INFO
    if log.isEnabledFor(level):
        extra = {k: v for k, v in fields.items() if v is not None}
        extra["kind"] = kind
        extra["duration_ms"] = round(ms, 3)
        if outcome == "ok" and code == "ok":
            log.log(level, "%s ok in %.3f ms", kind, ms, extra=extra)
        else:
            log.log(level, "%s %s (%s) in %.3f ms", kind, outcome, code, ms, extra=extra)
    if otel is None:
        return
    if span is not None:
        span.set_attributes({
            "govkit." + k: v if isinstance(v, (str, bool, int, float)) else str(v)
            for k, v in fields.items()
            if v is not None
        })  # fmt: skip
        if outcome == "error":
            span.set_status(otel.error_status(code))
    attributes = {"govkit.kind": kind, "govkit.outcome": outcome}
    if otel.histogram is not None:
        otel.histogram.record(elapsed_ns / 1e9, attributes)
    if otel.counter is not None:
        attributes["govkit.code"] = code
        otel.counter.add(1, attributes)


def observed(
    kind: str, logger: str, fields: Fields | None = None
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Internal: decorate a method so each call is one observed ``kind`` operation.

    The record goes to the logger named ``logger``. ``fields(args, kwargs, result)``
    gives the call's safe fields (``result`` is ``None`` when it raised). A returned
    :class:`~govkit.report.Report` sets ``outcome`` and ``code`` from its verdict.
    When the logger would drop ``INFO`` records and :func:`configure` was not called,
    a call costs an ``isEnabledFor`` check and a clock read (to time a failure that
    is logged as a ``WARNING``).
    """
    log = logging.getLogger(logger)

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            if _otel is not None or log.isEnabledFor(logging.INFO):
                return _observed_call(kind, log, fields, func, args, kwargs)
            start = time.perf_counter_ns()
            try:
                return func(*args, **kwargs)
            except BaseException as exc:
                if log.isEnabledFor(logging.WARNING) and _outcome_of(exc)[0] == "error":
                    _failed(kind, log, fields, args, kwargs, exc, start)
                raise

        return wrapper

    return decorate


def _failed(  # noqa: PLR0917 - the call's state, passed on
    kind: str,
    log: logging.Logger,
    fields: Fields | None,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    error: BaseException,
    start: int,
) -> None:
    """Log the ``WARNING`` of a call that failed with an ``error`` outcome."""
    elapsed = time.perf_counter_ns() - start
    found: dict[str, object] = dict(fields(args, kwargs, None)) if fields is not None else {}
    found["outcome"], found["code"] = _outcome_of(error)
    if found["code"] == "exception":
        found["exception"] = type(error).__name__
    _emit(kind, log, otel=None, span=None, fields=found, elapsed_ns=elapsed)


def _observed_call(  # noqa: PLR0917 - the call's state, passed on
    kind: str,
    log: logging.Logger,
    fields: Fields | None,
    func: Callable[..., _R],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> _R:
    with observe(kind, log) as found:
        try:
            result = func(*args, **kwargs)
        except BaseException:
            if fields is not None:
                found.update(fields(args, kwargs, None))
            raise
        if isinstance(result, Report):
            found["outcome"] = "ok" if result.valid else "invalid"
            found["code"] = result.code or "ok"
        if fields is not None:
            found.update(fields(args, kwargs, result))
    return result
