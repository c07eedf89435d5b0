"""One table of every measurement, its target and PASS, MISS or n/a.

The summary is built from the JSON results document (:func:`benchmarks._harness.
results_document`, what ``python -m benchmarks all --json`` prints), so a run in
progress and a results file saved earlier go through the same code. Verdicts are
recomputed from the numbers, never copied from the file:

* a **ratio target** is met when the median paired ratio reaches it (``ratio >= target``);
* an **absolute target** carries the module's own verdict (``absolute_met``), because
  some are compound (events/s and p99 latency together);
* **PASS** when every stated target is met, **MISS** when any is not, **n/a** when the
  row states none;
* a module that failed (the document's ``"errors"``) is one **ERROR** row: what it
  would have measured is not known, so it is neither a pass nor a miss;
* modules an interrupted run did not reach (``"pending"``, written by ``--out``) are
  named in the heading: the summary is then of part of the benchmarks.

A row measured over fewer than :data:`~benchmarks._harness.MIN_ROUNDS` rounds keeps its
verdict but is marked ``few_rounds``: its ratio is not the median of enough alternating
runs to settle the target (every row of a ``--quick`` run, and any module that times
fewer rounds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks._harness import MIN_ROUNDS

PASS, MISS, NOT_APPLICABLE, ERROR = "PASS", "MISS", "n/a", "ERROR"


@dataclass(frozen=True)
class SummaryRow:
    """One comparison of one module, with its verdict."""

    module: str
    label: str
    #: Median over rounds of (govkit ops/s) / (reference ops/s); ``None`` for ERROR.
    ratio: float | None
    govkit_ops: float | None
    rounds: int
    #: The ratio target, if any.
    target: float | None
    #: The absolute target in words, "" if none.
    absolute_target: str
    #: ``PASS``, ``MISS``, ``n/a`` or ``ERROR``.
    verdict: str
    #: Fewer than MIN_ROUNDS rounds: the verdict is not settled.
    few_rounds: bool

    @property
    def target_text(self) -> str:
        """Both targets in words, or ``-``."""
        parts = []
        if self.target is not None:
            parts.append(f"ratio >= {self.target:.2f}")
        if self.absolute_target:
            parts.append(self.absolute_target)
        return "; ".join(parts) or "-"


@dataclass(frozen=True)
class Summary:
    """Every row, the counts, and whether the results came from a ``--quick`` run."""

    rows: tuple[SummaryRow, ...]
    quick: bool
    #: Modules the run did not reach (an interrupted ``--out`` file).
    pending: tuple[str, ...] = ()

    @property
    def passed(self) -> int:
        """Rows whose every target is met."""
        return sum(row.verdict == PASS for row in self.rows)

    @property
    def missed(self) -> int:
        """Rows with at least one target not met."""
        return sum(row.verdict == MISS for row in self.rows)

    @property
    def errors(self) -> int:
        """Modules that failed before giving their comparisons."""
        return sum(row.verdict == ERROR for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        """``{"rows": [...], "pass": N, "miss": M, "na": K, "error": E, "few_rounds": F, ...}``."""
        return {
            "rows": [asdict(row) for row in self.rows],
            "pass": self.passed,
            "miss": self.missed,
            "na": sum(row.verdict == NOT_APPLICABLE for row in self.rows),
            "error": self.errors,
            "few_rounds": sum(row.few_rounds for row in self.rows),
            "min_rounds": MIN_ROUNDS,
            "quick": self.quick,
            "pending": list(self.pending),
        }


def verdict(ratio: float, target: float | None, absolute_met: bool | None) -> str:
    """PASS if every stated target is met, MISS if one is not, n/a if there is none.

    A ratio that is not a number (NaN) meets no target.
    """
    verdicts = []
    if target is not None:
        verdicts.append(not math.isnan(ratio) and ratio >= target)
    if absolute_met is not None:
        verdicts.append(absolute_met)
    if not verdicts:
        return NOT_APPLICABLE
    return PASS if all(verdicts) else MISS


def summarize(document: Mapping[str, Any]) -> Summary:
    """The summary of a results document ``{"quick": b, "benchmarks": {name: [...]}}``
    (and ``"errors": {name: message}`` for modules that failed).

    Raises:
        ValueError: the document does not have that shape.
    """
    benchmarks = document.get("benchmarks") if isinstance(document, Mapping) else None
    if not isinstance(benchmarks, Mapping):
        raise ValueError('not a benchmark results document: no "benchmarks" object')
    rows = []
    for module, comparisons in benchmarks.items():
        if not isinstance(comparisons, Sequence) or isinstance(comparisons, str):
            raise ValueError(f"benchmark {module!r}: expected a list of comparisons")
        for index, item in enumerate(comparisons):
            rows.append(_row(str(module), index, item))
    errors = document.get("errors", {})
    if not isinstance(errors, Mapping) or not all(isinstance(m, str) for m in errors.values()):
        raise ValueError('"errors" must map module names to messages')
    for module, message in errors.items():
        rows.append(
            SummaryRow(
                module=str(module),
                label=f"did not run: {message}",
                ratio=None,
                govkit_ops=None,
                rounds=0,
                target=None,
                absolute_target="",
                verdict=ERROR,
                few_rounds=False,
            )
        )
    pending = document.get("pending", [])
    if not isinstance(pending, list) or not all(isinstance(m, str) for m in pending):
        raise ValueError('"pending" must be a list of module names')
    return Summary(tuple(rows), quick=document.get("quick") is True, pending=tuple(pending))


def _row(module: str, index: int, item: Any) -> SummaryRow:
    where = f"benchmark {module!r}, comparison {index}"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected an object")
    try:
        label = item["label"]
        ratio = float(item["ratio"])
        govkit_ops = float(item["govkit_ops"])
        rounds = item["rounds"]
        target = item.get("target")
        absolute_target = item.get("absolute_target") or ""
        absolute_met = item.get("absolute_met")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: missing or bad field ({exc})") from exc
    if not isinstance(label, str) or not isinstance(rounds, int) or isinstance(rounds, bool):
        raise ValueError(f"{where}: label must be a string and rounds an integer")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        raise ValueError(f"{where}: target must be a number or null")
    if absolute_met is not None and not isinstance(absolute_met, bool):
        raise ValueError(f"{where}: absolute_met must be true, false or null")
    if not isinstance(absolute_target, str) or bool(absolute_target) != (absolute_met is not None):
        raise ValueError(f"{where}: absolute_target and absolute_met go together")
    return SummaryRow(
        module=module,
        label=label,
        ratio=ratio,
        govkit_ops=govkit_ops,
        rounds=rounds,
        target=None if target is None else float(target),
        absolute_target=absolute_target,
        verdict=verdict(ratio, target, absolute_met),
        few_rounds=rounds < MIN_ROUNDS,
    )


def format_summary(summary: Summary) -> str:
    """The table: module | measurement | ratio | target | rounds | verdict, then the counts."""
    header = ("module", "measurement", "ratio", "target", "rounds", "verdict")
    table: list[Sequence[str]] = [header]
    for row in summary.rows:
        rounds = f"{row.rounds}{'*' if row.few_rounds else ''}"
        ratio = "-" if row.ratio is None else f"{row.ratio:.3f}"
        table.append((row.module, row.label, ratio, row.target_text, rounds, row.verdict))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    right = {2, 4}

    def line(cells: Sequence[str]) -> str:
        return " | ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    na = len(summary.rows) - summary.passed - summary.missed - summary.errors
    failed = f", {summary.errors} module(s) failed (ERROR)" if summary.errors else ""
    heading = "Summary"
    if summary.quick:
        heading += " (quick run: smoke test, not a measurement)"
    if summary.pending:
        heading += f" (PARTIAL: not run: {', '.join(summary.pending)})"
    lines = [
        heading,
        line(header),
        "-+-".join("-" * w for w in widths),
        *(line(cells) for cells in table[1:]),
        f"{summary.passed} PASS, {summary.missed} MISS, {na} without a target{failed}",
    ]
    few = sum(row.few_rounds for row in summary.rows)
    if few:
        lines.append(
            f"* {few} row(s) timed over fewer than {MIN_ROUNDS} rounds: not a median of "
            f"{MIN_ROUNDS} alternating runs, so a verdict on them is not settled"
        )
    return "\n".join(lines)
