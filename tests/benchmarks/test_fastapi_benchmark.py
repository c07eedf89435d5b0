"""The ``fastapi`` benchmark runs (``--quick``): protected beside open, cost in µs, no target."""

from __future__ import annotations

import re

from benchmarks import fastapi as fastapi_benchmark
from benchmarks._harness import results_document
from benchmarks._summary import NOT_APPLICABLE, summarize


def test_the_fastapi_benchmark_reports_the_dpop_cost_per_request_without_a_target() -> None:
    comparisons = fastapi_benchmark.run(quick=True)
    assert [c.label for c in comparisons] == [
        "DPoP endpoint (memory replay store) vs open",
        "DPoP endpoint (PostgreSQL replay store) vs open",
    ]
    for c in comparisons:
        assert c.govkit_ops > 0
        assert c.reference_ops > 0
        assert c.target is None
        assert c.absolute_target == ""
        assert re.search(r"costs -?[\d,]+ µs per request", c.note), c.note
    rows = summarize(results_document({"fastapi": comparisons}, quick=True)).rows
    assert [r.verdict for r in rows] == [NOT_APPLICABLE, NOT_APPLICABLE]
