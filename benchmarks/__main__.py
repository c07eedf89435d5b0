"""``python -m benchmarks NAME|all|summary [--json] [--quick] [--summary] [--out FILE]``
``python -m benchmarks summary --from FILE [--json]``.

``NAME`` runs one module, ``all`` every module. Without ``--json`` the tables go to
stdout. With ``--json`` the JSON document goes to stdout and the tables to stderr, so a
person still sees them while a script reads the data. ``--summary`` ends the run with one
table of every measurement, its target and PASS, MISS or n/a (see
``benchmarks/_summary.py``); with ``--json`` the document then gains a ``"summary"``.

``summary`` runs every module (their tables go to stderr) and prints only that table,
or with ``--json`` only ``{"rows": [...], "pass": N, "miss": M, ...}``. With
``--from FILE`` it runs nothing and summarises a document saved from ``all --json`` or
by ``--out``.

``--out FILE`` writes the results document to ``FILE`` after every module (replacing it
whole each time), so a long run that is interrupted keeps what it measured; the modules
not yet run are listed under ``"pending"`` and the summary of such a file says so.

A module that raises is reported (traceback on stderr, an ERROR row in the summary, its
message under ``"errors"`` in the JSON document) and the others still run.

Exit status: 0 done (whatever the verdicts: this is a report), 1 a module failed,
2 usage error or unknown benchmark name, 3 the ``--from`` file cannot be read or is not a
results document, or the ``--out`` file cannot be written.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks._harness import Comparison, format_table, results_document
from benchmarks._summary import format_summary, summarize

SUMMARY = "summary"


def available() -> list[str]:
    """Every benchmark module (``benchmarks/<name>.py`` not starting with ``_``)."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if not info.name.startswith("_")
    )


def _run(
    selected: Sequence[str], quick: bool, table_out: Any, out: Path | None = None
) -> dict[str, Any]:
    print(
        f"python {platform.python_version()} on {platform.machine()}{' (quick)' if quick else ''}",
        file=table_out,
        flush=True,
    )
    results: dict[str, list[Comparison]] = {}
    errors: dict[str, str] = {}

    def document(pending: Sequence[str]) -> dict[str, Any]:
        return {**results_document(results, quick=quick), "errors": errors, "pending": pending}

    for done, name in enumerate(selected, 1):
        if out is not None:
            _save(document(selected[done - 1 :]), out)
        print(f"\n[{name}]", file=table_out, flush=True)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            comparisons: list[Comparison] = module.run(quick)
        except Exception as exc:  # one broken module must not lose the others' results
            traceback.print_exc(file=sys.stderr)
            errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"FAILED: {errors[name]}", file=table_out, flush=True)
            continue
        results[name] = comparisons
        print(format_table(comparisons), file=table_out)
        notes = getattr(module, "NOTES", "")
        if notes:
            print(notes, file=table_out)
        table_out.flush()
    if out is not None:
        _save(document([]), out)
    return document([])


class _SaveFailed(Exception):
    """The ``--out`` file could not be written."""


def _save(document: dict[str, Any], out: Path) -> None:
    """Replace ``out`` with ``document`` whole (a reader never sees half a file)."""
    part = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        part.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        part.replace(out)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise _SaveFailed(f"cannot write {out}: {exc}") from exc


def _read_results(path: str) -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as file:
        document = json.load(file)
    if not isinstance(document, dict):
        raise ValueError("not a benchmark results document")
    return document


def main(argv: Sequence[str] | None = None) -> int:
    """Run the named benchmarks and print their comparisons (and the summary)."""
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help=f"one of: all, {SUMMARY}, {', '.join(names)}")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, tables on stderr")
    parser.add_argument("--quick", action="store_true", help="few short rounds (smoke test)")
    parser.add_argument(
        "--summary", action="store_true", help="end with the PASS/MISS table of every target"
    )
    parser.add_argument(
        "--out", metavar="FILE", help="also write the results document here after every module"
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help=f"with {SUMMARY}: summarise this saved `all --json` document, run nothing",
    )
    args = parser.parse_args(argv)
    if args.name not in ("all", SUMMARY, *names):
        parser.print_usage(sys.stderr)
        print(
            f"unknown benchmark {args.name!r}; choose all, {SUMMARY} or one of: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    if args.source is not None and (args.name != SUMMARY or args.quick or args.out):
        parser.print_usage(sys.stderr)
        print(f"--from goes with {SUMMARY} alone (no --quick, no --out)", file=sys.stderr)
        return 2
    out = None if args.out is None else Path(args.out)

    if args.name == SUMMARY:
        if args.source is not None:
            try:
                summary = summarize(_read_results(args.source))
            except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
                print(f"cannot summarise {args.source}: {exc}", file=sys.stderr)
                return 3
        else:
            try:
                summary = summarize(_run(names, args.quick, sys.stderr, out))
            except _SaveFailed as exc:
                print(exc, file=sys.stderr)
                return 3
        if args.json:
            json.dump(summary.to_json(), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print(format_summary(summary))
        return 1 if summary.errors and args.source is None else 0

    table_out = sys.stderr if args.json else sys.stdout
    try:
        document = _run(names if args.name == "all" else [args.name], args.quick, table_out, out)
    except _SaveFailed as exc:
        print(exc, file=sys.stderr)
        return 3
    if args.summary:
        summary = summarize(document)
        print(f"\n{format_summary(summary)}", file=table_out)
        document["summary"] = summary.to_json()
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 1 if document["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
