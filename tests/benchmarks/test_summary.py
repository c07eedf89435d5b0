"""Evidence for the benchmark summary: one table of every target with PASS, MISS or n/a.

The verdict is recomputed from the numbers in a results document (never copied from it);
a row states PASS only when every target it has is met; a ratio is the median of the
per-round paired ratios; fewer than MIN_ROUNDS rounds is flagged, never hidden.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from benchmarks import _harness
from benchmarks._harness import MIN_ROUNDS, Comparison, compare, results_document, with_ops_target
from benchmarks._summary import (
    ERROR,
    MISS,
    NOT_APPLICABLE,
    PASS,
    format_summary,
    summarize,
    verdict,
)


def _comparison(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "label": "verify",
        "govkit_ops": 900.0,
        "reference_ops": 1000.0,
        "ratio": 0.9,
        "number": 10,
        "rounds": 11,
        "target": None,
        "note": "",
    }
    return {**base, **fields}


# --- the verdict rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "target", "absolute_met", "expected"),
    [
        (0.95, 0.90, None, PASS),
        (0.90, 0.90, None, PASS),  # reaching the target is enough
        (0.899, 0.90, None, MISS),
        (25.0, 20.0, None, PASS),
        (0.5, None, None, NOT_APPLICABLE),
        (0.5, None, True, PASS),
        (0.5, None, False, MISS),
        (0.95, 0.90, False, MISS),  # a met ratio never hides a missed absolute target
        (0.85, 0.90, True, MISS),  # nor the other way round
        (math.nan, 0.90, None, MISS),
        (math.inf, 0.90, None, PASS),
    ],
)
def test_verdict_is_pass_only_when_every_stated_target_is_met(
    ratio: float, target: float | None, absolute_met: bool | None, expected: str
) -> None:
    assert verdict(ratio, target, absolute_met) == expected


def test_summary_counts_pass_miss_and_rows_without_target() -> None:
    summary = summarize(
        {
            "quick": False,
            "benchmarks": {
                "keys": [
                    _comparison(label="EdDSA sign"),
                    _comparison(label="EdDSA verify", ratio=1.01, target=0.9),
                    _comparison(label="ES256 verify", ratio=0.87, target=0.9),
                ],
                "audit": [
                    _comparison(
                        label="append",
                        ratio=0.1,
                        absolute_target=">= 1,000 entries/s",
                        absolute_met=True,
                    )
                ],
            },
        }
    )
    verdicts = [(row.module, row.label, row.verdict) for row in summary.rows]
    assert verdicts == [
        ("keys", "EdDSA sign", NOT_APPLICABLE),
        ("keys", "EdDSA verify", PASS),
        ("keys", "ES256 verify", MISS),
        ("audit", "append", PASS),
    ]
    document = summary.to_json()
    assert (document["pass"], document["miss"], document["na"]) == (2, 1, 1)
    assert document["rows"][2] == {
        "module": "keys",
        "label": "ES256 verify",
        "ratio": 0.87,
        "govkit_ops": 900.0,
        "rounds": 11,
        "target": 0.9,
        "absolute_target": "",
        "verdict": MISS,
        "few_rounds": False,
    }
    table = format_summary(summary)
    assert "ES256 verify | 0.870 | ratio >= 0.90" in table
    assert "append       | 0.100 | >= 1,000 entries/s" in table
    assert table.splitlines()[-1] == "2 PASS, 1 MISS, 1 without a target"


def test_summary_ignores_a_verdict_claimed_in_the_file() -> None:
    """A results file edited (or written by an older harness) to say the target was met."""
    lying = _comparison(ratio=0.5, target=0.9, meets_target=True)
    (row,) = summarize({"benchmarks": {"keys": [lying]}}).rows
    assert row.verdict == MISS


def test_fewer_than_min_rounds_is_flagged_not_hidden() -> None:
    summary = summarize(
        {
            "quick": True,
            "benchmarks": {
                "lists": [
                    _comparison(label="few", ratio=1.0, target=0.9, rounds=MIN_ROUNDS - 1),
                    _comparison(label="enough", ratio=1.0, target=0.9, rounds=MIN_ROUNDS),
                ]
            },
        }
    )
    assert [(row.verdict, row.few_rounds) for row in summary.rows] == [
        (PASS, True),
        (PASS, False),
    ]
    assert summary.to_json()["few_rounds"] == 1
    table = format_summary(summary)
    assert table.startswith("Summary (quick run: smoke test, not a measurement)")
    (few_line,) = [line for line in table.splitlines() if "| few " in line]
    assert few_line.endswith(f" {MIN_ROUNDS - 1}* | PASS")
    assert f"* 1 row(s) timed over fewer than {MIN_ROUNDS} rounds: not a median" in table


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, 'no "benchmarks" object'),
        ({"benchmarks": []}, 'no "benchmarks" object'),
        ({"benchmarks": {"keys": "verify"}}, "expected a list"),
        ({"benchmarks": {"keys": [1]}}, "expected an object"),
        ({"benchmarks": {"keys": [{"label": "x"}]}}, "missing or bad field"),
        ({"benchmarks": {"keys": [_comparison(rounds=5.0)]}}, "rounds an integer"),
        ({"benchmarks": {"keys": [_comparison(rounds=True)]}}, "rounds an integer"),
        ({"benchmarks": {"keys": [_comparison(target="0.9")]}}, "target must be a number"),
        ({"benchmarks": {"keys": [_comparison(target=True)]}}, "target must be a number"),
        ({"benchmarks": {"keys": [_comparison(absolute_met="yes")]}}, "absolute_met must be"),
        (
            {"benchmarks": {"keys": [_comparison(absolute_target=">= 1/s")]}},
            "go together",
        ),
        ({"benchmarks": {"keys": [_comparison(absolute_met=True)]}}, "go together"),
    ],
)
def test_malformed_results_document_is_refused(document: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize(document)


def test_results_document_round_trips_through_the_summary() -> None:
    comparisons = [
        Comparison("sign", 2.0, 1.0, 2.0, 1, 5, target=1.8),
        with_ops_target(Comparison("render", 25.0, 50.0, 0.5, 1, 7), 30.0, "renders/s"),
    ]
    document = results_document({"documents": comparisons}, quick=False)
    assert document["benchmarks"]["documents"][1]["absolute_target"] == ">= 30 renders/s"
    assert document["benchmarks"]["documents"][1]["meets_target"] is False
    summary = summarize(document)
    assert [row.verdict for row in summary.rows] == [PASS, MISS]
    assert summary.quick is False


# --- the harness: targets on a comparison, and the median of paired rounds --------------


def test_absolute_target_without_its_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="together"):
        Comparison("x", 1.0, 1.0, 1.0, 1, 5, absolute_target=">= 1/s")
    with pytest.raises(ValueError, match="together"):
        Comparison("x", 1.0, 1.0, 1.0, 1, 5, absolute_met=True)


def test_meets_target_combines_ratio_and_absolute_targets() -> None:
    plain = Comparison("x", 10.0, 10.0, 1.0, 1, 5)
    assert plain.meets_target is None
    assert Comparison("x", 10.0, 10.0, 1.0, 1, 5, target=0.9).meets_target is True
    assert with_ops_target(plain, 10.0, "ops/s").meets_target is True
    assert with_ops_target(plain, 10.5, "ops/s").meets_target is False
    both = with_ops_target(Comparison("x", 10.0, 10.0, 1.0, 1, 5, target=1.1), 1.0, "ops/s")
    assert (both.ratio_met, both.absolute_met, both.meets_target) == (False, True, False)


def _scripted(times: list[float]) -> Callable[[Callable[[], object], int], float]:
    """A stand-in for the batch timer that hands out ``times`` in order."""
    supply: Iterator[float] = iter(times)
    return lambda fn, number: (fn(), next(supply))[1]


def test_ratio_is_the_median_of_paired_rounds_run_alternately(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    # Round by round: (first timed, second timed). Even rounds time govkit first.
    # govkit times 1, 2, 4, 1, 10; reference times 2, 2, 2, 3, 10 -> ratios
    # reference/govkit = 2, 1, 0.5, 3, 1: median 1. (Two separate medians would give 2/2.)
    order = [1.0, 2.0, 2.0, 2.0, 4.0, 2.0, 3.0, 1.0, 10.0, 10.0]
    monkeypatch.setattr(_harness, "_time_batch", _scripted(order))
    comparison = compare(
        "paired",
        lambda: calls.append("govkit"),
        lambda: calls.append("reference"),
        number=1,
        rounds=5,
        target=1.0,
    )
    assert calls[:2] == ["govkit", "reference"]  # the untimed warm-up call of each
    assert calls[2:] == [
        "govkit", "reference",
        "reference", "govkit",
        "govkit", "reference",
        "reference", "govkit",
        "govkit", "reference",
    ]  # fmt: skip
    assert comparison.ratio == 1.0
    assert comparison.govkit_ops == 1 / 2.0  # median govkit batch: 2 s
    assert comparison.reference_ops == 1 / 2.0
    assert comparison.rounds == 5
    assert comparison.meets_target is True


def test_batches_run_with_the_older_objects_frozen_and_nothing_stays_frozen() -> None:
    seen: list[tuple[int, bool]] = []

    def batch() -> None:
        seen.append((gc.get_freeze_count(), gc.isenabled()))

    assert gc.get_freeze_count() == 0
    compare("frozen", batch, batch, number=2, rounds=3)
    # the two warm-up calls see nothing frozen; every timed call sees the process's
    # objects frozen (so each collection between batches walks only new ones), gc off
    assert seen[0][0] == seen[1][0] == 0
    assert len(seen) == 2 + 2 * 2 * 3
    assert all(count > 1000 and not enabled for count, enabled in seen[2:])
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_failing_round_leaves_nothing_frozen() -> None:
    calls = iter(range(100))

    def fails_in_a_later_round() -> None:
        if next(calls) == 3:  # the warm-up call is 0: this is the third round
            raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        compare("x", fails_in_a_later_round, lambda: None, number=1, rounds=5)
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_compare_refuses_zero_rounds() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        compare("x", lambda: None, lambda: None, number=1, rounds=0)


def test_failed_module_is_an_error_neither_pass_nor_miss() -> None:
    summary = summarize(
        {
            "benchmarks": {"keys": [_comparison(ratio=1.0, target=0.9)]},
            "errors": {"audit": "PostgresUnavailable: no initdb"},
        }
    )
    assert [(row.module, row.verdict) for row in summary.rows] == [("keys", PASS), ("audit", ERROR)]
    assert (summary.passed, summary.missed, summary.errors) == (1, 0, 1)
    table = format_summary(summary)
    assert "audit  | did not run: PostgresUnavailable: no initdb |     - | -" in table
    assert table.splitlines()[-1] == (
        "1 PASS, 0 MISS, 0 without a target, 1 module(s) failed (ERROR)"
    )
    with pytest.raises(ValueError, match='"pending" must be'):
        summarize({"benchmarks": {}, "pending": "lists"})
    with pytest.raises(ValueError, match='"errors" must map'):
        summarize({"benchmarks": {}, "errors": {"audit": 1}})
