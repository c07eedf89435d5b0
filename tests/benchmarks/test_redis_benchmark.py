"""The ``redis`` benchmark runs (``--quick``) and states its target the summary checks."""

from __future__ import annotations

import os
import shutil

import pytest

from benchmarks import redis as redis_benchmark
from benchmarks._harness import results_document
from benchmarks._summary import MISS, PASS, summarize


def test_the_redis_benchmark_times_both_sides_and_states_its_target() -> None:
    if shutil.which("redis-server") is None and not os.path.exists("/usr/bin/redis-server"):
        pytest.skip("redis-server not found: apt-get install -y redis-server")
    comparisons = redis_benchmark.run(quick=True)
    assert [c.label for c in comparisons] == [
        "replay check (new key) vs SET NX PX",
        "replay check (new key) vs SET NX PX, redis-py defaults",
        "replay check (a replay) vs SET NX PX",
    ]
    assert comparisons[0].target == redis_benchmark.CHECK_TARGET == 0.80
    assert [c.target for c in comparisons[1:]] == [None, None]
    assert all(c.govkit_ops > 0 and c.reference_ops > 0 for c in comparisons)
    rows = summarize(results_document({"redis": comparisons}, quick=True)).rows
    assert rows[0].verdict in (PASS, MISS)
    assert rows[0].target_text == "ratio >= 0.80"
