"""Side-by-side timing: govkit and its reference, interleaved in one process.

:func:`compare` runs ``rounds`` rounds; each round times one batch of ``number``
calls of each function back to back, alternating which goes first, so both see the
same machine noise (frequency scaling, other processes, cache state). It reports the
median batch of each side as operations per second, and the ratio
``govkit ops/s / reference ops/s`` as the median of the per-round ratios: pairing
batches that ran side by side cancels slow drifts that two separate medians would
keep. A ratio of 1.0 means govkit costs nothing on top of the reference; 0.95 means
it does 5 % fewer operations per second.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO


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

    @property
    def meets_target(self) -> bool | None:
        """Whether :attr:`ratio` reaches :attr:`target`; ``None`` without a target."""
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
    :mod:`timeit` does, and run between rounds.
    """
    if number < 1 or rounds < 1:
        raise ValueError("number and rounds must be at least 1")
    govkit_fn()
    reference_fn()
    govkit_times: list[float] = []
    reference_times: list[float] = []
    gc_was_enabled = gc.isenabled()
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
        verdict = ""
        if c.target is not None:
            verdict = f"target >= {c.target:.2f}: {'ok' if c.meets_target else 'BELOW'}"
        note = "; ".join(part for part in (verdict, c.note) if part)
        rows.append(
            (c.label, f"{c.govkit_ops:,.0f}", f"{c.reference_ops:,.0f}", f"{c.ratio:.3f}", note)
        )
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


def write_json(results: dict[str, list[Comparison]], out: TextIO) -> None:
    """``{"benchmarks": {name: [comparison, ...]}}`` as indented JSON."""
    document = {"benchmarks": {name: [c.to_dict() for c in cs] for name, cs in results.items()}}
    json.dump(document, out, indent=2)
    out.write("\n")
