"""Benchmarks: govkit beside the reference it wraps, measured in the same process.

Run ``python -m benchmarks NAME`` (one module, e.g. ``keys``) or ``python -m benchmarks all``;
add ``--quick`` for a short smoke run, ``--json`` for machine-readable output and
``--summary`` to end with one table of every ratio, its target and PASS or MISS
(``python -m benchmarks summary [--json] [--from FILE]`` prints that table alone;
``make bench`` runs ``all --summary``). Each module ``benchmarks/<name>.py`` exposes
``run(quick: bool) -> list[Comparison]``, builds its comparisons with
:func:`benchmarks._harness.compare` and declares its targets once, as module constants.
Large data sets are built once into ``GOVKIT_BENCH_CACHE`` (default
``~/.cache/govkit-bench``) by :func:`benchmarks._harness.cached_data`.
"""
