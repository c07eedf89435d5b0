"""Benchmarks: govkit beside the reference it wraps, measured in the same process.

Run ``python -m benchmarks NAME`` (one module, e.g. ``keys``) or ``python -m benchmarks all``;
add ``--quick`` for a short smoke run and ``--json`` for machine-readable output. Each
module ``benchmarks/<name>.py`` exposes ``run(quick: bool) -> list[Comparison]`` and builds
its comparisons with :func:`benchmarks._harness.compare`.
"""
