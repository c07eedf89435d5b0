"""Smoke test of ``python -m benchmarks``: a quick run ends with the summary, which a
script can also read; ``summary --from FILE`` summarises a saved run; a report's exit
status is 0 whatever the verdicts; usage errors are 2, an unreadable file 3.

Only the ``keys`` module is run (quick: about a second): the full ``all`` run takes many
minutes and is ``make bench``, not ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from benchmarks import __main__ as cli
from benchmarks._harness import Comparison

REPOSITORY = Path(__file__).resolve().parent.parent.parent


def test_quick_run_ends_with_the_summary(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "keys", "--quick", "--summary", "--json"],
        cwd=REPOSITORY,
        env={**os.environ, "GOVKIT_BENCH_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["quick"] is True
    labels = [c["label"] for c in document["benchmarks"]["keys"]]
    summary = document["summary"]
    assert [(r["module"], r["label"]) for r in summary["rows"]] == [("keys", x) for x in labels]
    verify = [r for r in summary["rows"] if r["label"].endswith("verify")]
    assert len(verify) == 4
    assert all(r["target"] == 0.9 and r["verdict"] in ("PASS", "MISS") for r in verify)
    assert summary["pass"] + summary["miss"] == 4
    assert summary["na"] == len(labels) - 4
    # the person watching sees the module table, then the summary table last
    assert "[keys]" in done.stderr
    tail = done.stderr.rstrip().splitlines()
    assert (
        tail[-1]
        == f"{summary['pass']} PASS, {summary['miss']} MISS, {summary['na']} without a target"
    )


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, ratio: float) -> list[bool]:
    """``benchmarks.<name>``: one comparison with target 0.9; records the quick flags."""
    runs: list[bool] = []

    def run(quick: bool) -> list[Comparison]:
        runs.append(quick)
        return [Comparison(f"{name} verify", 10.0, 10.0 / ratio, ratio, 1, 5, target=0.9)]

    module = ModuleType(f"benchmarks.{name}")
    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"benchmarks.{name}", module)
    return runs


def test_summary_subcommand_runs_every_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fast = _fake_module(monkeypatch, "_fast", 1.0)
    slow = _fake_module(monkeypatch, "_slow", 0.5)
    monkeypatch.setattr(cli, "available", lambda: ["_fast", "_slow"])
    assert cli.main(["summary", "--quick", "--json"]) == 0  # a MISS is still status 0
    out, err = capsys.readouterr()
    assert (fast, slow) == ([True], [True])
    summary = json.loads(out)
    assert [(r["module"], r["verdict"]) for r in summary["rows"]] == [
        ("_fast", "PASS"),
        ("_slow", "MISS"),
    ]
    assert (summary["pass"], summary["miss"], summary["quick"]) == (1, 1, True)
    assert "[_fast]" in err  # module tables go to stderr, the summary alone to stdout
    assert cli.main(["all", "--summary"]) == 0
    out, err = capsys.readouterr()
    assert (fast, slow) == ([True, False], [True, False])
    assert out.index("[_slow]") < out.index("Summary") < out.index("_slow  | _slow verify")
    assert out.rstrip().endswith("1 PASS, 1 MISS, 0 without a target")


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "results.json"
    row = {"govkit_ops": 1.0, "reference_ops": 1.0, "number": 1, "rounds": 7, "note": ""}
    path.write_text(
        json.dumps(
            {
                "quick": False,
                "benchmarks": {
                    "keys": [
                        {**row, "label": "ES256 verify", "ratio": 0.8, "target": 0.9},
                        {**row, "label": "EdDSA verify", "ratio": 1.0, "target": 0.9},
                    ]
                },
            }
        ),
        encoding="utf-8",
    )
    return path


def test_summary_from_file_reports_misses_with_status_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _saved(tmp_path)
    assert cli.main(["summary", "--from", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in summary["rows"]] == ["MISS", "PASS"]
    assert (summary["pass"], summary["miss"]) == (1, 1)
    assert cli.main(["summary", "--from", str(path)]) == 0
    table = capsys.readouterr().out
    assert "keys   | ES256 verify | 0.800 | ratio >= 0.90 |      7 | MISS" in table


def test_summary_from_unreadable_or_foreign_file_is_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"rows": []}', encoding="utf-8")
    for name in ("missing.json", "bad.json", "list.json", "other.json"):
        assert cli.main(["summary", "--from", str(tmp_path / name)]) == 3
        assert "cannot summarise" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["nosuch"],
        ["keys", "--from", "results.json"],
        ["all", "--from", "results.json"],
        ["summary", "--quick", "--from", "results.json"],
        ["summary", "--out", "x.json", "--from", "results.json"],
    ],
)
def test_usage_errors_are_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_failing_module_is_an_error_row_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_module(monkeypatch, "_fast", 1.0)
    monkeypatch.setattr(cli, "available", lambda: ["_no_such_module", "_fast"])
    assert cli.main(["summary", "--json"]) == 1
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["error"] == 1
    failed = summary["rows"][-1]
    assert failed["module"] == "_no_such_module"
    assert failed["verdict"] == "ERROR"
    assert failed["ratio"] is None
    assert failed["label"].startswith("did not run: ModuleNotFoundError")
    assert [r["module"] for r in summary["rows"][:-1]] == ["_fast"]
    assert "Traceback" in err
    assert cli.main(["all", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert list(document["errors"]) == ["_no_such_module"]
    assert list(document["benchmarks"]) == ["_fast"]


def test_interrupted_run_keeps_what_it_measured_in_out_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C in the middle of a long run: the modules already measured are in the file."""
    _fake_module(monkeypatch, "_fast", 1.0)
    interrupted = ModuleType("benchmarks._interrupted")

    def run(quick: bool) -> list[Comparison]:
        raise KeyboardInterrupt

    interrupted.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "benchmarks._interrupted", interrupted)
    monkeypatch.setattr(cli, "available", lambda: ["_fast", "_interrupted", "_later"])
    out = tmp_path / "results.json"
    with pytest.raises(KeyboardInterrupt):
        cli.main(["all", "--out", str(out)])
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert list(saved["benchmarks"]) == ["_fast"]
    assert saved["pending"] == ["_interrupted", "_later"]
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left
    capsys.readouterr()
    assert cli.main(["summary", "--from", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("Summary (PARTIAL: not run: _interrupted, _later)")
    assert cli.main(["summary", "--from", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pending"] == ["_interrupted", "_later"]


def test_out_file_of_a_finished_run_has_nothing_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_module(monkeypatch, "_fast", 1.0)
    monkeypatch.setattr(cli, "available", lambda: ["_fast"])
    out = tmp_path / "results.json"
    assert cli.main(["summary", "--out", str(out)]) == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert (list(saved["benchmarks"]), saved["pending"], saved["errors"]) == (["_fast"], [], {})
    assert capsys.readouterr().out.startswith("Summary\n")


def test_out_file_that_cannot_be_written_is_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _fake_module(monkeypatch, "_fast", 1.0)
    monkeypatch.setattr(cli, "available", lambda: ["_fast"])
    missing = tmp_path / "no-such-folder" / "results.json"
    assert cli.main(["all", "--out", str(missing)]) == 3
    assert cli.main(["summary", "--out", str(missing)]) == 3
    assert runs == []  # refused before spending time on a measurement it could not keep
    assert "cannot write" in capsys.readouterr().err
