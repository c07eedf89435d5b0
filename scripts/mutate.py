"""Mutation testing of the verification modules, one module at a time (``make mutate``).

For each module this copies the checkout (``govkit/``, ``tests/``, ``pyproject.toml``) into
a scratch directory outside the tree, adds a ``[tool.mutmut]`` table that mutates only
that module's source files and runs only its own test files, runs ``mutmut run`` there
and prints the surviving-mutant rate. Nothing is written inside the checkout.

A survivor is a mutant no selected test failed on: ``survived`` plus ``no tests``
(mutated code no selected test reaches). The rate is survivors over the mutants that
were judged (``skipped`` and the mutants left unrun by a timeout are not counted)::

    python scripts/mutate.py                       # every module, in the order below
    python scripts/mutate.py merkle note webhooks  # some of them
    python scripts/mutate.py --list

Each module's run stops after ``--timeout`` seconds (its partial counts are reported,
marked ``partial``). Survivors are listed in ``<workdir>/<module>/survivors.txt``; show
one with ``cd <workdir>/<module> && mutmut show NAME``. The exit status is 1 when a
module's rate is at or above ``--max-rate`` percent (default 10), else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: module name: (source files to mutate, the test files that are that module's own tests)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "merkle": (
        ["govkit/audit/merkle.py", "govkit/audit/_tree.py"],
        ["tests/unit/audit/test_merkle.py"],
    ),
    "note": (
        ["govkit/audit/_note.py"],
        [
            "tests/unit/audit/test_note.py",
            "tests/unit/audit/test_inspect_checkpoint.py",
            "tests/unit/audit/test_checkpoints_sm2.py",
            "tests/unit/audit/test_note_mutants.py",
        ],
    ),
    "webhooks": (["govkit/payments/_webhooks.py"], ["tests/unit/payments/test_webhooks.py"]),
    "alipay": (
        ["govkit/payments/_alipay.py"],
        [
            "tests/unit/payments/test_alipay_unionpay.py",
            "tests/unit/payments/test_strict_json.py",
            "tests/unit/payments/test_alipay_mutants.py",
        ],
    ),
    "unionpay": (
        ["govkit/payments/_unionpay.py"],
        [
            "tests/unit/payments/test_alipay_unionpay.py",
            "tests/unit/payments/test_strict_json.py",
            "tests/unit/payments/test_unionpay_mutants.py",
        ],
    ),
    "wechat": (
        ["govkit/payments/_wechat.py"],
        [
            "tests/unit/payments/test_wechat.py",
            "tests/unit/payments/test_strict_json.py",
            "tests/unit/payments/test_wechat_mutants.py",
        ],
    ),
    "pdf": (
        ["govkit/esign/_verify.py"],
        [
            "tests/unit/esign/test_pades.py",
            "tests/unit/esign/test_inspect.py",
            "tests/unit/esign/test_pdf_verdicts.py",
        ],
    ),
    "presentation": (
        ["govkit/certificates/_presentation.py", "govkit/certificates/_selective.py"],
        [
            "tests/unit/certificates/test_presentation.py",
            "tests/unit/certificates/test_presentation_mutants.py",
        ],
    ),
    "licence-verifier": (
        ["govkit/certificates/_verifier.py"],
        [
            "tests/unit/certificates/test_issuer_verifier.py",
            "tests/unit/certificates/test_verifier_state.py",
            "tests/unit/certificates/test_several_status_lists.py",
            "tests/unit/certificates/test_verifier_faults.py",
            "tests/unit/certificates/test_async.py",
            "tests/unit/certificates/test_verifier_fast_paths.py",
        ],
    ),
    "licence-codec": (
        ["govkit/certificates/codec.py"],
        [
            "tests/unit/certificates/test_codec.py",
            "tests/unit/certificates/test_codec_canonical.py",
            "tests/unit/certificates/test_codec_fast_path.py",
            "tests/unit/certificates/test_codec_faults.py",
            "tests/unit/certificates/test_cbor_scanner.py",
            # the fixed-shape readers of presentations and selective claims (codec helpers)
            "tests/unit/certificates/test_presentation_mutants.py",
            # the licence verifier's claims reader (decode's _fixed_claims)
            "tests/unit/certificates/test_verifier_fast_paths.py",
        ],
    ),
    "tokens": (
        ["govkit/identity/_tokens.py"],
        [
            "tests/unit/identity/test_tokens.py",
            "tests/unit/identity/test_attacks.py",
            "tests/unit/identity/test_token_faults.py",
        ],
    ),
}

COPIED = ("govkit", "tests", "pyproject.toml")


def say(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _toml_list(values: list[str]) -> str:
    return json.dumps(values)  # a JSON array of plain strings is a TOML array


def prepare(name: str, workdir: Path) -> Path:
    """A fresh scratch copy for ``name`` with its own ``[tool.mutmut]`` table."""
    sources, tests = MODULES[name]
    target = workdir / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache")
    for item in COPIED:
        path = ROOT / item
        if path.is_dir():
            shutil.copytree(path, target / item, ignore=ignore)
        else:
            shutil.copy2(path, target / item)
    table = "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["govkit"]',
            f"only_mutate = {_toml_list(sources)}",
            f"pytest_add_cli_args_test_selection = {_toml_list(tests)}",
            'pytest_add_cli_args = ["-p", "no:cacheprovider"]',
            "use_git_change_detection = false",
            # a mutant that loops (a tree walk that never ends) costs 5x its tests, not 15x
            "timeout_multiplier = 5.0",
            "",
        ]
    )
    with (target / "pyproject.toml").open("a", encoding="utf-8") as out:
        out.write(table)
    return target


def run_one(name: str, workdir: Path, *, timeout: float, jobs: int) -> dict[str, object]:
    """Run mutmut for one module; return its counts and survivor rate."""
    target = prepare(name, workdir)
    mutmut = Path(sys.executable).with_name("mutmut")
    env = dict(os.environ)
    # the shared conformance vectors sit beside the checkout, not beside the scratch copy
    env.setdefault("GOVKIT_VECTORS", str(ROOT.parent / "shared" / "vectors"))
    # under CI=true a skip fails the test, which would count a mutant as killed
    env.pop("CI", None)
    log = (target / "mutmut.log").open("w", encoding="utf-8")
    started = time.monotonic()
    process = subprocess.Popen(
        [str(mutmut), "run", "--max-children", str(jobs)],
        cwd=target,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    partial = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        partial = True
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    finally:
        if process.poll() is None:  # interrupted or terminated: take mutmut's workers along
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    elapsed = time.monotonic() - started
    subprocess.run(
        [str(mutmut), "export-cicd-stats"], cwd=target, env=env, capture_output=True, check=False
    )
    stats_file = target / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        return {"module": name, "error": f"no results; see {target / 'mutmut.log'}"}
    stats: dict[str, int] = json.loads(stats_file.read_text(encoding="utf-8"))
    survivors = subprocess.run(
        [str(mutmut), "results"], cwd=target, env=env, capture_output=True, text=True, check=False
    ).stdout
    (target / "survivors.txt").write_text(survivors, encoding="utf-8")
    not_run = stats.get("total", 0) - sum(
        stats.get(k, 0)
        for k in ("killed", "survived", "no_tests", "skipped", "suspicious", "timeout", "segfault")
    )
    judged = stats.get("total", 0) - stats.get("skipped", 0) - max(not_run, 0)
    surviving = stats.get("survived", 0) + stats.get("no_tests", 0)
    rate = 100.0 * surviving / judged if judged else 0.0
    return {
        "module": name,
        **stats,
        "not_run": max(not_run, 0),
        "surviving": surviving,
        "judged": judged,
        "rate": round(rate, 1),
        "partial": partial or process.returncode != 0,
        "seconds": round(elapsed),
        "workdir": str(target),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(
            os.environ.get("GOVKIT_MUTATE_DIR", Path(tempfile.gettempdir()) / "govkit-mutate")
        ),
        help="scratch directory (default $GOVKIT_MUTATE_DIR or /tmp/govkit-mutate)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per module")
    parser.add_argument("--jobs", type=int, default=1, help="mutmut --max-children")
    parser.add_argument("--max-rate", type=float, default=10.0, help="fail at this rate (%%)")
    args = parser.parse_args(argv)
    # a terminated driver ends its mutmut run too (it runs in a session of its own)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.list:
        for name, (sources, tests) in MODULES.items():
            say(f"{name}: {' '.join(sources)} <- {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown modules {unknown}; choose from {sorted(MODULES)}")
    results = []
    for name in args.modules or list(MODULES):
        say(f"mutating {name} ...", err=True)
        result = run_one(name, args.workdir, timeout=args.timeout, jobs=args.jobs)
        results.append(result)
        say(json.dumps(result), err=True)
    (args.workdir / "summary.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    say(
        f"{'module':18} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} "
        f"{'timeout':>7} {'rate %':>6}"
    )
    failed = False
    for r in results:
        if "error" in r:
            say(f"{r['module']:18} {r['error']}")
            failed = True
            continue
        note = " partial" if r["partial"] else ""
        say(
            f"{r['module']:18} {r['judged']:>7} {r['killed']:>6} {r['survived']:>8} "
            f"{r['no_tests']:>8} {r['timeout']:>7} {r['rate']:>6}{note}"
        )
        failed = failed or float(r["rate"]) >= args.max_rate  # type: ignore[arg-type]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
