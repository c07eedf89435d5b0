"""Side-by-side timing: govkit and its reference, interleaved in one process.

:func:`compare` runs ``rounds`` rounds; each round times one batch of ``number``
calls of each function back to back, alternating which goes first, so both see the
same machine noise (frequency scaling, other processes, cache state). It reports the
median batch of each side as operations per second, and the ratio
``govkit ops/s / reference ops/s`` as the median of the per-round ratios: pairing
batches that ran side by side cancels slow drifts that two separate medians would
keep. A ratio of 1.0 means govkit costs nothing on top of the reference; 0.95 means
it does 5 % fewer operations per second.

A comparison may state a **target**: a ratio it should reach (``target``) and/or an
absolute one in words with its verdict (``absolute_target``, ``absolute_met``, e.g.
">= 1,000 entries/s"); :mod:`benchmarks._summary` turns them into PASS or MISS. A ratio
settles a target only as the median of at least :data:`MIN_ROUNDS` rounds.

Large data sets (a 10 M-entry audit log, a 100,000-issuer trust list) are built once
into :func:`cache_root` (``GOVKIT_BENCH_CACHE``, default ``~/.cache/govkit-bench``, never
inside the repository) by :func:`cached_data`, which remembers how long the build took.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

#: A ratio settles a target only as the median of at least this many paired rounds.
MIN_ROUNDS = 5


@dataclass(frozen=True)
class Comparison:
    """One measured pair: operations per second of govkit and of the reference."""

    label: str
    govkit_ops: float
    reference_ops: float
    #: Median over rounds of (govkit ops/s) / (reference ops/s), each round paired.
    ratio: float
    number: int
    rounds: int
    #: The ratio govkit/reference this comparison should reach, if it has a target.
    target: float | None = None
    note: str = ""
    #: A target not on the ratio, in words (">= 1,000 entries/s", "< 1 ms per proof").
    absolute_target: str = ""
    #: Whether the measurement met :attr:`absolute_target`; ``None`` exactly when it is "".
    absolute_met: bool | None = None

    def __post_init__(self) -> None:
        if bool(self.absolute_target) != (self.absolute_met is not None):
            raise ValueError("absolute_target and absolute_met are given together or not at all")

    @property
    def meets_target(self) -> bool | None:
        """Whether every stated target is met; ``None`` when there is no target at all."""
        verdicts = [v for v in (self.ratio_met, self.absolute_met) if v is not None]
        return all(verdicts) if verdicts else None

    @property
    def ratio_met(self) -> bool | None:
        """Whether :attr:`ratio` reaches :attr:`target`; ``None`` without a ratio target."""
        return None if self.target is None else self.ratio >= self.target

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the target verdict."""
        return {**asdict(self), "meets_target": self.meets_target}


def _time_batch(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def compare(
    label: str,
    govkit_fn: Callable[[], object],
    reference_fn: Callable[[], object],
    *,
    number: int,
    rounds: int,
    target: float | None = None,
    note: str = "",
) -> Comparison:
    """Time ``govkit_fn`` against ``reference_fn`` in interleaved rounds.

    Both functions are called once first (warm-up, and so a broken one fails before
    timing starts). The garbage collector is paused during each batch, as
    :mod:`timeit` does, and run before each batch. The objects that exist when the
    rounds begin (the process's modules, the peer libraries, the data sets) are
    collected once and then frozen (:func:`gc.freeze`) until the comparison ends, so
    each collection walks only what the rounds made: microseconds, where a walk of
    every object of a process with the peer libraries imported takes 35-60 ms here,
    and a full run makes about 4,600 collections. What is timed is unchanged.
    """
    if number < 1 or rounds < 1:
        raise ValueError("number and rounds must be at least 1")
    govkit_fn()
    reference_fn()
    govkit_times: list[float] = []
    reference_times: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    try:
        for round_index in range(rounds):
            order = [(govkit_fn, govkit_times), (reference_fn, reference_times)]
            if round_index % 2:
                order.reverse()
            for fn, times in order:
                gc.collect()
                gc.disable()
                try:
                    times.append(_time_batch(fn, number))
                finally:
                    if gc_was_enabled:
                        gc.enable()
    finally:
        gc.unfreeze()
        if gc_was_enabled:
            gc.enable()
    return Comparison(
        label=label,
        govkit_ops=number / statistics.median(govkit_times),
        reference_ops=number / statistics.median(reference_times),
        ratio=statistics.median(r / g for g, r in zip(govkit_times, reference_times, strict=True)),
        number=number,
        rounds=rounds,
        target=target,
        note=note,
    )


def format_table(comparisons: Sequence[Comparison]) -> str:
    """A plain-text table: ``label | govkit ops/s | reference ops/s | ratio | note``."""
    header = ("label", "govkit ops/s", "reference ops/s", "ratio", "note")
    rows = [header]
    for c in comparisons:
        verdicts = []
        if c.target is not None:
            verdicts.append(f"target >= {c.target:.2f}: {'ok' if c.ratio_met else 'BELOW'}")
        if c.absolute_target:
            verdicts.append(f"target {c.absolute_target}: {'ok' if c.absolute_met else 'BELOW'}")
        note = "; ".join(part for part in (*verdicts, c.note) if part)
        rows.append((c.label, _ops(c.govkit_ops), _ops(c.reference_ops), f"{c.ratio:.3f}", note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {1, 2, 3}

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return " | ".join(cells).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def _ops(value: float) -> str:
    """Operations per second: whole numbers, or two decimals below 10 (slow calls)."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def with_ops_target(comparison: Comparison, minimum: float, unit: str) -> Comparison:
    """``comparison`` with the absolute target ``govkit ops/s >= minimum`` and its verdict."""
    return replace(
        comparison,
        absolute_target=f">= {minimum:,.0f} {unit}",
        absolute_met=comparison.govkit_ops >= minimum,
    )


def results_document(
    results: Mapping[str, Sequence[Comparison]], *, quick: bool = False
) -> dict[str, Any]:
    """``{"quick": bool, "benchmarks": {name: [comparison, ...]}}``: what ``--json`` prints."""
    return {
        "quick": quick,
        "benchmarks": {name: [c.to_dict() for c in cs] for name, cs in results.items()},
    }


def write_json(
    results: Mapping[str, Sequence[Comparison]], out: TextIO, *, quick: bool = False
) -> None:
    """:func:`results_document` as indented JSON."""
    json.dump(results_document(results, quick=quick), out, indent=2)
    out.write("\n")


# --- data sets built once ---------------------------------------------------------------

#: The repository: no cache may live inside it (gigabytes under git's nose).
_REPOSITORY = Path(__file__).resolve().parent.parent
_MARKER = "built.json"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where large data sets are kept between runs: ``GOVKIT_BENCH_CACHE``, else
    ``$XDG_CACHE_HOME/govkit-bench``, else ``~/.cache/govkit-bench``.

    Raises:
        ValueError: the folder is inside the repository.
    """
    env = os.environ if environ is None else environ
    if env.get("GOVKIT_BENCH_CACHE"):
        root = Path(env["GOVKIT_BENCH_CACHE"]).expanduser()
    elif env.get("XDG_CACHE_HOME"):
        root = Path(env["XDG_CACHE_HOME"]).expanduser() / "govkit-bench"
    else:
        root = Path.home() / ".cache" / "govkit-bench"
    root = root.resolve()
    if root == _REPOSITORY or _REPOSITORY in root.parents:
        raise ValueError(
            f"benchmark cache {root} is inside the repository; set GOVKIT_BENCH_CACHE to a "
            "folder outside it"
        )
    return root


@dataclass(frozen=True)
class CachedData:
    """A data set in the cache: its folder and how long building it took."""

    path: Path
    #: Seconds the build took, whether it ran now or in an earlier run.
    build_seconds: float
    #: When the build finished (UTC).
    built_at: datetime
    #: Whether this run built it (``False``: reused from an earlier run).
    built_now: bool

    def describe(self) -> str:
        """For a note: "built in 1,502 s (this run)" or "built once in ..., reused"."""
        if self.built_now:
            return f"built in {self.build_seconds:,.0f} s (this run) into {self.path}"
        return (
            f"built once in {self.build_seconds:,.0f} s on {self.built_at:%Y-%m-%d %H:%M} UTC, "
            f"reused from {self.path}"
        )


def cached_data(
    name: str,
    build: Callable[[Path], object],
    *,
    need_bytes: int = 0,
    environ: Mapping[str, str] | None = None,
) -> CachedData:
    """The data set ``name`` in :func:`cache_root`, built by ``build(folder)`` if absent.

    ``name`` should say what the data is and its size (``"trust-list-100000-v1"``); bump
    its version when the build changes. ``build`` fills an empty folder; only when it
    returns is the folder renamed to ``name`` with a ``built.json`` marker, so an
    interrupted or failed build is never taken for a finished one (its leftovers are
    removed on the next try). ``need_bytes`` is checked against the free space first.
    """
    if not name or "/" in name or name.startswith(".") or name.endswith(".partial"):
        raise ValueError(f"bad cache name {name!r}")
    root = cache_root(environ)
    final = root / name
    found = _read_marker(final)
    if found is not None:
        return found
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".{name}.*.partial"):
        if _owner_gone(stale):
            shutil.rmtree(stale, ignore_errors=True)
    free = shutil.disk_usage(root).free
    if need_bytes > free:
        raise OSError(
            f"building {name} needs about {need_bytes / 1e9:.1f} GB; {root} has "
            f"{free / 1e9:.1f} GB free (set GOVKIT_BENCH_CACHE elsewhere)"
        )
    partial = root / f".{name}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        started = time.perf_counter()
        build(partial)
        seconds = time.perf_counter() - started
        built_at = datetime.now(UTC)
        marker = {"name": name, "build_seconds": seconds, "built_at": built_at.isoformat()}
        (partial / _MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        try:
            partial.rename(final)
        except OSError:  # another run finished the same data set first: use theirs
            found = _read_marker(final)
            if found is None:
                raise
            return found
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return CachedData(final, seconds, built_at, built_now=True)


def _read_marker(folder: Path) -> CachedData | None:
    try:
        marker = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
        return CachedData(
            folder,
            float(marker["build_seconds"]),
            datetime.fromisoformat(marker["built_at"]),
            built_now=False,
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OSError(f"benchmark cache {folder} is damaged ({exc}); remove it") from exc


def _owner_gone(partial: Path) -> bool:
    """Whether the process that was building ``partial`` (pid in its name) has ended."""
    try:
        pid = int(partial.name.rsplit(".", 2)[-2])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return True
    except PermissionError:
        return False
    return pid == os.getpid()
