"""The demo's instances step: two verifiers share one SQLite file; purge; JSON log lines.

The demo runs twice in the same folder (the second time with ``--force``, as ``make
demo`` does) and must say the same both times: instance B refuses the DPoP proof A
accepted (``token.replayed``) and the token A revoked (``token.revoked``); a purge now
removes nothing, an hour later the two proofs and the revocation; the step's
``govkit.*`` records are JSON lines in ``logs/govkit.jsonl`` with their structured
fields and no token, and the logging set-up of the process is as it was before.
"""

from __future__ import annotations

import io
import json
import logging
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any

from govkit.cli import main
from govkit.cli._demo_instances import JsonLinesHandler
from govkit.stores import SQLiteReplayStore, SQLiteRevocationStore

EXPECTED_CHECKS = [
    {"instance": "A", "request": "first", "ok": True, "code": None},
    {"instance": "B", "request": "replay", "ok": False, "code": "token.replayed"},
    {"instance": "B", "request": "fresh", "ok": True, "code": None},
    {"instance": "B", "request": "revoked", "ok": False, "code": "token.revoked"},
]


def demo(*argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--json", "demo", *argv])
    return code, json.loads(out.getvalue()), err.getvalue()


def test_two_instances_share_replays_and_revocations_on_every_run(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    logger = logging.getLogger("govkit")
    level = logger.level
    for argv in (["--out", str(folder)], ["--out", str(folder), "--force"]):
        code, data, err = demo(*argv)
        assert code == 0, err
        instances = data["instances"]
        assert instances["checks"] == EXPECTED_CHECKS
        now = instances["purged"]["now"]
        assert (now["replay"], now["revocation"]) == (0, 0)
        later = instances["purged"]["later"]
        assert (later["replay"], later["revocation"]) == (2, 1)
        assert instances["store"] == str(folder / "instances" / "state.db")
        assert {"token.issue", "token.inspect", "dpop.verify"} <= set(instances["log_kinds"])
        # the step's handler is gone and the logger's level is what it was
        assert not any(isinstance(h, JsonLinesHandler) for h in logger.handlers)
        assert logger.level == level

    lines = (folder / "logs" / "govkit.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == data["instances"]["log_records"]  # replaced, not appended to
    records = [json.loads(line) for line in lines]
    assert all(r["logger"].startswith("govkit.") for r in records)
    inspected = [r for r in records if r.get("kind") == "token.inspect"]
    assert [(r["outcome"], r["code"]) for r in inspected] == [
        ("ok", "ok"),
        ("invalid", "token.replayed"),
        ("ok", "ok"),
        ("invalid", "token.revoked"),
    ]
    fields = {"time", "level", "message", "duration_ms", "issuer"}
    assert all(fields <= r.keys() for r in inspected)
    assert all(r["kid"] for r in inspected if r["outcome"] == "ok")  # the verifying key's id
    text = "\n".join(lines)
    assert "eyJ" not in text  # no token, no proof (JWS headers start so)
    assert "440104199003071234" not in text

    # the shared file is a store like any other, left purged as of the later time
    later = datetime.fromisoformat(data["instances"]["purged"]["later"]["at"])
    path = Path(data["instances"]["store"])
    with SQLiteReplayStore(path) as replay, SQLiteRevocationStore(path) as revocation:
        assert replay.purge(now=later) == 0
        assert revocation.purge(now=later) == 0
