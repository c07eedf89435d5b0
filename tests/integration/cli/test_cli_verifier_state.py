"""``govkit verify`` as a stateful checking device: attacks on a verifier with no memory.

Before the verifier state, every run of ``govkit verify`` started from nothing: an older,
validly signed trust list passed (a withdrawn key meant nothing to a device handed the
old list), a presentation verified in two runs, and an audit log was held only to the
checkpoint file passed. Each test is named after the attack; each runs the command
itself, against a state directory that persists between runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.audit import AuditEvent, AuditLog, NoteSigner
from govkit.certificates import (
    Agency,
    CertificateIssuer,
    Holder,
    HolderDevice,
    Status,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifierState,
    sign_status_list,
    sign_trust_list,
)
from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from govkit.keys import SigningKey, VerifyingKey

AGENCY = Agency("广州市公安局交通警察支队", "11440100MB2C92923F")
FIELDS = {
    "name": "张三",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}
ROOT = Path(__file__).resolve().parents[3]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """``govkit *argv --json``: exit code, the JSON document, stderr."""
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


@dataclass
class Kit:
    """An anchor (and the next one), an issuer, its licence and status lists, as files."""

    dir: Path
    anchor: SigningKey
    next_anchor: SigningKey
    issuer_key: SigningKey
    device: SigningKey
    statuses: StatusList
    now: datetime

    def write_key(self, name: str, key: VerifyingKey) -> str:
        path = self.dir / f"{name}.pub"
        path.write_bytes(key.to_pem())
        return str(path)

    def trust(
        self,
        sequence: int,
        *,
        signer: SigningKey | None = None,
        next_anchor: bool = False,
        withdrawn: bool = False,
        at: datetime | None = None,
    ) -> str:
        """Write trust list #sequence (signed by ``signer``, the anchor by default)."""
        key = TrustedKey.for_key(self.issuer_key.verifying_key, {"driving-licence"})
        if withdrawn:
            key = TrustedKey(key.key, key.kid, key.licence_types, withdrawn=True)
        when = at or self.now
        listed = TrustList(
            (TrustedIssuer(AGENCY, (key,)),),
            sequence,
            when,
            when + timedelta(days=7),
            next_anchors=(self.next_anchor.verifying_key,) if next_anchor else (),
        )
        path = self.dir / f"trust-{sequence}-{(signer or self.anchor).kid[:6]}-{withdrawn}.json"
        path.write_bytes(sign_trust_list(listed, signer or self.anchor))
        return str(path)

    def status(self, sequence: int, *, at: datetime | None = None) -> str:
        when = at or self.now
        path = self.dir / f"status-{sequence}.json"
        path.write_bytes(
            sign_status_list(
                self.statuses,
                self.issuer_key,
                issued_at=when,
                expires_at=when + timedelta(days=1),
                sequence=sequence,
            )
        )
        return str(path)

    def licence(self) -> str:
        issuer = CertificateIssuer(self.issuer_key, agency=AGENCY, status=self.statuses)
        issued = issuer.issue(
            "driving-licence",
            holder=Holder("p-0123456789abcdef", "pseudonym"),
            fields=FIELDS,
            valid_from=date(2025, 1, 1),
            valid_until=date(2031, 1, 1),
        )
        path = self.dir / "licence.txt"
        path.write_text(issued.qr_payload)
        return str(path)

    def presentation(self) -> str:
        issuer = CertificateIssuer(self.issuer_key, agency=AGENCY, status=self.statuses)
        credential = issuer.issue_selective(
            "driving-licence",
            device_key=self.device.verifying_key,
            holder=Holder("p-0123456789abcdef", "pseudonym"),
            fields=FIELDS,
            valid_from=date(2025, 1, 1),
            valid_until=date(2031, 1, 1),
        )
        shown = HolderDevice(self.device).present(credential, ["name", "licence_class"])
        path = self.dir / "shown.txt"
        path.write_text(shown.text)
        return str(path)


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return Kit(
        tmp_path,
        SigningKey.generate("EdDSA"),
        SigningKey.generate("EdDSA"),
        SigningKey.generate("ES256"),
        SigningKey.generate("EdDSA"),
        StatusList(1024, list_id="gz-traffic"),
        datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1),
    )


def imported(capsys: pytest.CaptureFixture[str], kit: Kit, *lists: str) -> str:
    """``govkit verifier import`` of ``lists`` into ``KIT/state``; the state's path."""
    state = str(kit.dir / "state")
    code, data, err = run(
        capsys,
        "verifier", "import",
        "--anchor", kit.write_key("anchor", kit.anchor.verifying_key),
        *lists,
        "--state", state,
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert data["state"] == state
    return state


# --- trust lists rolled back or equivocated -------------------------------------------------


def test_an_older_trust_list_given_to_verify_is_refused_as_a_rollback(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    old = kit.trust(1)  # names the key; #2 withdraws it (compromised)
    state = imported(capsys, kit, "--trust", kit.trust(2, withdrawn=True))
    licence = kit.licence()
    code, report, _ = run(capsys, "verify", "licence", licence, "--state", state)
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.issuer_not_allowed")
    code, document, err = run(
        capsys, "verify", "licence", licence, "--trust", old, "--state", state
    )
    assert code == EXIT_INVALID
    assert document["error"]["code"] == "trust.rollback"
    assert document["error"]["context"] == {"sequence": 1, "held": 2}
    assert "[trust.rollback]" in err
    assert "older than the one this device holds" in err
    assert "verifier status" in err  # the hint says where to look
    summary = VerifierState(state).summary(datetime.now(UTC))
    assert summary["trust"]["sequence"] == 2  # the state did not move back


def test_the_per_user_state_remembers_between_runs_without_state_option(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    anchor = kit.write_key("anchor", kit.anchor.verifying_key)
    licence, status = kit.licence(), kit.status(1)
    new, old = kit.trust(2), kit.trust(1)
    code, _, err = run(
        capsys, "verify", licence, "--trust", new, "--anchor", anchor, "--status", status
    )
    assert code == EXIT_OK, err
    code, document, _ = run(capsys, "verify", licence, "--trust", old, "--status", status)
    assert (code, document["error"]["code"]) == (EXIT_INVALID, "trust.rollback")
    state = Path(os.environ["XDG_STATE_HOME"]) / "govkit"
    assert (state / "state.json").is_file()
    code, report, _ = run(capsys, "verify", licence)  # nothing given: the state's lists
    assert (code, report["valid"]) == (EXIT_OK, True)


def test_a_different_trust_list_with_the_held_sequence_is_refused(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    state = imported(capsys, kit, "--trust", kit.trust(2))
    forked = kit.trust(2, withdrawn=True)  # another document, the same sequence number
    code, document, _ = run(
        capsys, "verify", "licence", kit.licence(), "--trust", forked, "--state", state
    )
    assert (code, document["error"]["code"]) == (EXIT_INVALID, "trust.equivocation")
    code, document, _ = run(capsys, "verifier", "import", "--trust", forked, "--state", state)
    assert (code, document["error"]["code"]) == (EXIT_INVALID, "trust.equivocation")


def test_an_older_status_list_that_does_not_revoke_is_refused_as_a_rollback(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    licence = kit.licence()
    before = kit.status(1)
    kit.statuses.set(0, Status.REVOKED)
    state = imported(capsys, kit, "--trust", kit.trust(1), "--status", kit.status(2))
    code, report, _ = run(capsys, "verify", "licence", licence, "--state", state)
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.revoked")
    code, document, _ = run(
        capsys, "verify", "licence", licence, "--status", before, "--state", state
    )
    assert (code, document["error"]["code"]) == (EXIT_INVALID, "trust.rollback")
    assert document["error"]["context"]["list"] == "status"


def test_a_valid_newer_list_given_to_verify_replaces_the_held_one(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    state = imported(capsys, kit, "--trust", kit.trust(1), "--status", kit.status(1))
    code, report, _ = run(
        capsys, "verify", "licence", kit.licence(), "--trust", kit.trust(3), "--state", state
    )
    assert code == EXIT_OK
    assert "trust list #3" in {c["detail"] for c in report["checks"]}
    code, summary, _ = run(capsys, "verifier", "status", "--state", state)
    assert summary["trust"]["sequence"] == 3


# --- presentations replayed ----------------------------------------------------------------


def test_a_presentation_replayed_in_a_second_run_sharing_the_state_is_refused(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    state = imported(capsys, kit, "--trust", kit.trust(1), "--status", kit.status(1))
    shown = kit.presentation()
    code, report, _ = run(capsys, "verify", "presentation", shown, "--state", state)
    assert (code, report["valid"]) == (EXIT_OK, True), report
    code, report, err = run(capsys, "verify", "presentation", shown, "--state", state)
    assert (code, report["code"]) == (EXIT_INVALID, "presentation.replayed")
    assert "presentation.replayed" in err
    assert (Path(state) / "replay.db").is_file()


def test_a_presentation_shown_to_two_processes_at_once_passes_in_exactly_one(kit: Kit) -> None:
    state = str(kit.dir / "state")
    anchor = kit.write_key("anchor", kit.anchor.verifying_key)
    VerifierState(state).import_lists(
        Path(kit.trust(1)).read_bytes(),
        [Path(kit.status(1)).read_bytes()],
        now=datetime.now(UTC),
        anchors=[VerifyingKey.from_pem(Path(anchor).read_bytes())],
    )
    shown = kit.presentation()
    command = [sys.executable, "-m", "govkit.cli", "verify", shown, "--state", state, "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    running = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(3)
    ]
    results = []
    for process in running:
        out, err = process.communicate(timeout=120)
        assert out, err
        results.append((process.returncode, json.loads(out)))
    codes = sorted((code, report["code"]) for code, report in results)
    assert codes == [
        (EXIT_OK, None),
        (EXIT_INVALID, "presentation.replayed"),
        (EXIT_INVALID, "presentation.replayed"),
    ]


# --- audit logs rolled back ---------------------------------------------------------------


def test_a_log_rolled_back_behind_the_held_checkpoint_is_truncated(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    signer = NoteSigner.generate("example.gov.cn/audit")
    store = tmp_path / "audit.db"

    def append(log: AuditLog, count: int) -> None:
        for i in range(count):
            log.append(
                AuditEvent(
                    occurred_at=datetime.now(UTC),
                    actor_id="clerk-0731",
                    actor_type="officer",
                    action="licence.renew",
                    resource_type="driving_licence",
                    resource_id=f"GD-DL-{i}",
                    personal=frozenset(),
                )
            )
        log.checkpoint()

    with AuditLog(store, origin="example.gov.cn/audit", signer=signer) as log:
        append(log, 3)
    shutil.copy(store, tmp_path / "backup.db")  # an old copy of the log, 3 entries
    state = str(tmp_path / "state")
    verify = ("audit", "verify", str(store), "--vkey", signer.vkey, "--state", state)
    code, report, _ = run(capsys, *verify)
    assert (code, report["valid"]) == (EXIT_OK, True)
    with AuditLog(store, origin="example.gov.cn/audit", signer=signer) as log:
        append(log, 2)
    code, report, _ = run(capsys, *verify)  # consistent with the 3 held; now 5 are held
    assert (code, report["valid"]) == (EXIT_OK, True)
    consistency = next(c for c in report["checks"] if c["name"] == "consistency")
    assert consistency["ok"] is True
    assert "this device holds" in consistency["detail"]
    assert VerifierState(state).held_checkpoint("example.gov.cn/audit") is not None

    shutil.copy(tmp_path / "backup.db", store)  # the log is rolled back to the backup
    code, report, err = run(capsys, *verify)
    assert (code, report["code"]) == (EXIT_INVALID, "audit.truncated")
    assert "audit.truncated" in err
    # A checkpoint file passed on the command line cannot lower what the state holds.
    older = tmp_path / "older-checkpoint"
    with AuditLog(
        store,
        origin="example.gov.cn/audit",
        signer=signer,
    ) as log:
        older.write_text(log.checkpoint())
    code, report, _ = run(capsys, *verify, "--checkpoint", str(older))
    assert (code, report["code"]) == (EXIT_INVALID, "audit.truncated")


def test_a_forked_log_is_inconsistent_with_the_held_checkpoint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    signer = NoteSigner.generate("example.gov.cn/audit")
    event = AuditEvent(
        occurred_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        actor_id="clerk-0731",
        actor_type="officer",
        action="licence.renew",
        resource_type="driving_licence",
        resource_id="GD-DL-1",
        personal=frozenset(),
    )
    with AuditLog(tmp_path / "a.db", origin="example.gov.cn/audit", signer=signer) as log:
        log.append_many([event, event])
        log.checkpoint()
    with AuditLog(tmp_path / "b.db", origin="example.gov.cn/audit", signer=signer) as log:
        log.append_many([event, replace(event, resource_id="X")])
        log.checkpoint()  # the same origin and key, another history of the same size
    state = str(tmp_path / "state")
    vkey = signer.vkey
    assert (
        run(capsys, "audit", "verify", str(tmp_path / "a.db"), "--vkey", vkey, "--state", state)[0]
        == 0
    )
    code, report, _ = run(
        capsys, "audit", "verify", str(tmp_path / "b.db"), "--vkey", vkey, "--state", state
    )
    assert (code, report["code"]) == (EXIT_INVALID, "audit.inconsistent")


# --- a clock set back -----------------------------------------------------------------------


def test_a_clock_set_back_is_a_failed_clock_check_not_a_silent_pass(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    # The device synced a day from now (its clock said so then); now its clock says today.
    tomorrow = kit.now + timedelta(days=1)
    state = VerifierState(kit.dir / "state")
    state.import_lists(
        Path(kit.trust(1, at=tomorrow)).read_bytes(),
        [Path(kit.status(1, at=tomorrow)).read_bytes()],
        now=tomorrow,
        anchors=[kit.anchor.verifying_key],
    )
    code, report, err = run(capsys, "verify", "licence", kit.licence(), "--state", str(state.path))
    assert code == EXIT_INVALID
    clock = next(c for c in report["checks"] if c["name"] == "clock")
    assert (clock["ok"], clock["code"]) == (False, "clock.behind")
    assert report["code"] == "clock.behind"
    assert report["certificate"] is None  # nothing is vouched for
    assert "set the clock" in err
    main(["verify", "licence", kit.licence(), "--state", str(state.path)])
    text = capsys.readouterr()
    assert "clock.behind" in text.out
    assert "✗" in text.out
    code, summary, err = run(capsys, "verifier", "status", "--state", str(state.path))
    assert (code, summary["clock"]["code"]) == (EXIT_OK, "clock.behind")
    assert "WARNING" in err


def test_a_list_dated_after_the_device_clock_is_refused_at_import(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    code, document, _ = run(
        capsys,
        "verifier", "import",
        "--anchor", kit.write_key("anchor", kit.anchor.verifying_key),
        "--trust", kit.trust(1, at=kit.now + timedelta(days=2)),
        "--state", str(kit.dir / "state"),
    )  # fmt: skip
    assert (code, document["error"]["code"]) == (EXIT_ENV, "clock.behind")
    assert not (kit.dir / "state" / "state.json").exists()


# --- anchors rotated -------------------------------------------------------------------------


def test_anchor_rotation_through_the_command(capsys: pytest.CaptureFixture[str], kit: Kit) -> None:
    state = imported(
        capsys, kit, "--trust", kit.trust(1, next_anchor=True), "--status", kit.status(1)
    )
    licence = kit.licence()
    rotated = kit.trust(2, signer=kit.next_anchor)  # signed by the anchor #1 introduced
    code, report, err = run(
        capsys, "verify", "licence", licence, "--trust", rotated, "--state", state
    )
    assert (code, report["valid"]) == (EXIT_OK, True), err
    code, summary, _ = run(capsys, "verifier", "status", "--state", state)
    assert summary["anchors"] == [kit.next_anchor.kid]
    # The retired anchor (say it leaked) signs a list with a higher sequence: refused.
    forged = kit.trust(9, signer=kit.anchor)
    code, document, _ = run(
        capsys, "verify", "licence", licence, "--trust", forged, "--state", state
    )
    assert (code, document["error"]["code"]) == (EXIT_INVALID, "trust.invalid")
    assert document["error"]["context"]["reason"] == "unknown_key"
    # And the old anchor given on the command line is not the state's any more.
    code, document, _ = run(
        capsys, "verify", "licence", licence, "--anchor",
        kit.write_key("anchor", kit.anchor.verifying_key), "--state", state,
    )  # fmt: skip
    assert (code, document["error"]["code"]) == (EXIT_USAGE, "verifier.anchor_conflict")


def test_a_list_signed_by_an_anchor_nobody_introduced_is_refused(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    state = imported(capsys, kit, "--trust", kit.trust(1))
    code, document, _ = run(
        capsys,
        "verify", "licence", kit.licence(),
        "--trust", kit.trust(2, signer=kit.next_anchor),
        "--state", state,
    )  # fmt: skip
    assert (code, document["error"]["code"]) == (EXIT_INVALID, "trust.invalid")


# --- subcommands take only their own options --------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("verify", "token", "t.jwt", "--trust", "x"),
        ("verify", "token", "t.jwt", "--state", "x"),
        ("verify", "licence", "l.txt", "--jwks", "x"),
        ("verify", "licence", "l.txt", "--profile", "traffic-police"),
        ("verify", "presentation", "p.txt", "--profile", "access"),
        ("verify", "pdf", "d.pdf", "--signature", "x"),
        ("verify", "detached", "f.txt", "--key", "k.pub"),  # --signature is required
        ("verify", "detached", "f.txt", "--signature", "s", "--key", "k", "--ca", "x"),
    ],
    ids=lambda argv: " ".join(argv[1:]),
)
def test_a_kind_refuses_options_it_does_not_take(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    assert main(list(argv)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "error:" in err
    assert any(why in err for why in ("unrecognized arguments", "invalid choice", "required"))


def test_verify_input_detects_the_kind_then_refuses_the_options_of_other_kinds(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    state = imported(capsys, kit, "--trust", kit.trust(1), "--status", kit.status(1))
    licence = kit.licence()
    code, report, _ = run(capsys, "verify", licence, "--state", state)
    assert (code, report["kind"]) == (EXIT_OK, "payload")
    code, document, err = run(capsys, "verify", licence, "--state", state, "--jwks", "j.json")
    assert (code, document["error"]["code"]) == (EXIT_USAGE, "cli.usage")
    assert "--jwks does not apply to a licence" in err
    code, report, _ = run(capsys, "verify", "--state", state, licence)  # options first
    assert code == EXIT_OK
    code, report, _ = run(capsys, "verify", "licence", licence, "--state", state)
    assert code == EXIT_OK


def test_help_lists_the_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    for kind in ("licence", "presentation", "pdf", "token", "detached"):
        assert kind in out
    assert main(["verify", "token", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "--jwks" in out
    assert "--trust" not in out
    assert "--state" not in out


# --- the state itself ---------------------------------------------------------------------------


def test_verifier_status_says_what_is_held_and_what_is_stale(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    old = kit.now - timedelta(days=3)
    state = VerifierState(kit.dir / "state")
    state.import_lists(
        Path(kit.trust(4)).read_bytes(),
        [Path(kit.status(2, at=old)).read_bytes()],  # expired two days ago
        now=kit.now,
        anchors=[kit.anchor.verifying_key],
    )
    code, summary, _ = run(capsys, "verifier", "status", "--state", str(state.path))
    assert code == EXIT_OK
    assert (summary["trust"]["sequence"], summary["trust"]["stale"]) == (4, False)
    [held] = summary["status"]
    assert (held["uscc"], held["sequence"], held["expired"], held["stale"]) == (
        AGENCY.uscc,
        2,
        True,
        True,
    )
    assert held["age_seconds"] >= 3 * 86400
    assert main(["verifier", "status", "--state", str(state.path)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "trust list #4" in text
    assert "EXPIRED" in text
    assert "1 stale" in text


def test_verify_without_any_list_says_how_to_get_one(
    capsys: pytest.CaptureFixture[str], kit: Kit
) -> None:
    code, document, err = run(
        capsys, "verify", "licence", kit.licence(), "--state", str(kit.dir / "s")
    )
    assert (code, document["error"]["code"]) == (EXIT_USAGE, "cli.usage")
    assert "govkit verifier sync" in err
    assert not (kit.dir / "s").exists()  # reading created nothing


def test_the_readme_example_verifies_from_the_demo_state(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    demo = tmp_path / "demo-out"
    assert main(["demo", "--out", str(demo), "--quiet"]) == EXIT_OK
    capsys.readouterr()
    picture = str(demo / "certificates" / "driving-licence.png")
    assert main(["verify", "--state", str(demo / "verifier"), picture]) == EXIT_OK
    assert "OK: the licence is genuine, current and not revoked" in capsys.readouterr().err
    code, report, _ = run(
        capsys,
        "verify", "--state", str(demo / "verifier"),
        str(demo / "certificates" / "revoked-driving-licence.txt"),
    )  # fmt: skip
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.revoked")
    # The demo's audit step verified its log with the same state: its checkpoint is held.
    assert VerifierState(demo / "verifier").held_checkpoint("demo.govkit.invalid/audit")
