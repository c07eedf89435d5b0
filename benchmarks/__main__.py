"""``python -m benchmarks NAME|all [--json] [--quick]``.

Without ``--json`` the table goes to stdout. With ``--json`` the JSON document goes to
stdout and the table to stderr, so a person still sees it while a script reads the data.
Exit status: 0 done, 2 unknown benchmark name.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import sys
from collections.abc import Sequence

import benchmarks
from benchmarks._harness import Comparison, format_table, write_json


def available() -> list[str]:
    """Every benchmark module (``benchmarks/<name>.py`` not starting with ``_``)."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if not info.name.startswith("_")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the named benchmarks and print their comparisons."""
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("name", help=f"one of: all, {', '.join(names)}")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument("--quick", action="store_true", help="few short rounds (smoke test)")
    args = parser.parse_args(argv)
    if args.name != "all" and args.name not in names:
        parser.print_usage(sys.stderr)
        print(
            f"unknown benchmark {args.name!r}; choose all or one of: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    selected = names if args.name == "all" else [args.name]
    table_out = sys.stderr if args.json else sys.stdout
    print(
        f"python {platform.python_version()} on {platform.machine()}"
        f"{' (quick)' if args.quick else ''}",
        file=table_out,
    )
    results: dict[str, list[Comparison]] = {}
    for name in selected:
        module = importlib.import_module(f"benchmarks.{name}")
        comparisons: list[Comparison] = module.run(args.quick)
        results[name] = comparisons
        print(f"\n[{name}]", file=table_out)
        print(format_table(comparisons), file=table_out)
        notes = getattr(module, "NOTES", "")
        if notes:
            print(notes, file=table_out)
    if args.json:
        write_json(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
