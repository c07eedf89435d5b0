"""``govkit verify``: revocation is a required check, and "unreadable" is not "invalid".

Issue #14: the demo's revoked licence passed ``govkit verify`` without ``--status``
("OK: ... not revoked", exit 0) although revocation was never checked, and a mistyped
file name or a photo without a QR code was reported as an invalid licence (exit 1).
Now exit 1 is only ever a verdict about something that was read, and "not revoked" is
printed only when the status list was checked.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code, out, err = run(capsys, *argv, "--json")
    return code, json.loads(out), err


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quiet"]) == EXIT_OK
    return out


def trust(demo: Path) -> list[str]:
    return ["--trust", str(demo / "trust.json"), "--anchor", str(demo / "keys/trust-anchor.pub")]


def revoked(demo: Path) -> str:
    return str(demo / "certificates" / "revoked-driving-licence.txt")


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in report["checks"] if c["name"] == name]
    return found


# --- revocation is a required check ---------------------------------------------------------


def test_revoked_demo_licence_without_status_list_is_status_unknown_not_valid(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "verify", revoked(demo), *trust(demo))
    assert code == EXIT_INVALID
    assert "INVALID [certificate.status_unknown]" in out
    assert "not revoked" not in out + err
    assert "--status" in err  # the hint says what to give
    code, report, _ = run_json(capsys, "verify", revoked(demo), *trust(demo))
    assert (code, report["valid"], report["code"]) == (
        EXIT_INVALID,
        False,
        "certificate.status_unknown",
    )
    assert (check(report, "status")["ok"], check(report, "status")["code"]) == (
        False,
        "certificate.status_unknown",
    )
    assert report["certificate"] is None


def test_revoked_demo_licence_with_the_status_list_is_revoked(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = ["--status", str(demo / "status.json")]
    code, report, err = run_json(capsys, "verify", revoked(demo), *trust(demo), *status)
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.revoked")
    assert "not revoked" not in err


def test_valid_demo_licence_says_not_revoked_only_when_checked(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    licence = str(demo / "certificates" / "driving-licence.png")
    status = ["--status", str(demo / "status.json")]
    code, out, err = run(capsys, "verify", licence, *trust(demo), *status)
    assert code == EXIT_OK
    assert "OK: the licence is genuine, current and not revoked" in err
    assert "NOT checked" not in out + err
    code, report, _ = run_json(capsys, "verify", licence, *trust(demo), *status)
    assert check(report, "status")["ok"] is True
    assert report["certificate"]["status"] == "valid"


def test_unsafe_skip_status_is_valid_but_says_revocation_was_not_checked(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skip = "--unsafe-skip-status"
    code, out, err = run(capsys, "verify", revoked(demo), *trust(demo), skip)
    assert code == EXIT_OK
    assert "Revocation was NOT checked" in out
    assert "revocation was NOT checked" in err
    assert "not revoked" not in out + err
    status_row = next(line for line in out.splitlines() if " status " in line)
    assert status_row.lstrip().startswith("not checked ")  # the one renderer's mark
    assert "✓" not in status_row
    code, report, _ = run_json(capsys, "verify", revoked(demo), *trust(demo), skip)
    assert (code, report["valid"]) == (EXIT_OK, True)
    status = check(report, "status")
    assert status["ok"] is None  # JSON null: not performed, never shown as a pass
    assert "NOT checked" in status["detail"]
    assert report["certificate"]["status"] is None


def test_expired_status_list_is_status_stale_unless_stale_lists_are_accepted(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    licence = str(demo / "certificates" / "driving-licence.txt")
    status = ["--status", str(demo / "status.json")]  # valid for a day; the trust list, 30
    later = ["--at", (datetime.now(UTC) + timedelta(days=3)).isoformat()]
    code, report, err = run_json(capsys, "verify", licence, *trust(demo), *status, *later)
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.status_stale")
    assert "not revoked" not in err
    code, report, _ = run_json(
        capsys, "verify", licence, *trust(demo), *status, *later, "--allow-stale"
    )
    assert code == EXIT_OK, report
    freshness = check(report, "status_freshness")
    assert (freshness["ok"], freshness["code"]) == (True, "certificate.status_stale")


def test_unsafe_skip_status_with_a_status_list_is_a_usage_error(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "verify",
        revoked(demo),
        *trust(demo),
        "--status",
        str(demo / "status.json"),
        "--unsafe-skip-status",
    )
    assert code == EXIT_USAGE
    assert "cli.usage" in err


def present(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A fresh traffic-police presentation of the demo's selective driving licence."""
    code = main(
        [
            "present",
            str(demo / "presentations" / "driving-licence.gks"),
            "--device-key",
            str(demo / "keys" / "device.pem"),
            "--profile",
            "traffic-police",
            "--out",
            str(tmp_path / "shown"),
            "-q",
        ]
    )
    capsys.readouterr()
    assert code == EXIT_OK
    return str(tmp_path / "shown.txt")


def test_presentation_of_the_demo_selective_licence_checks_its_status(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = present(demo, tmp_path, capsys)
    status = ["--status", str(demo / "status.json")]
    code, report, err = run_json(capsys, "verify", shown, *trust(demo), *status)
    assert code == EXIT_OK, report
    assert check(report, "status")["ok"] is True
    assert report["presentation"]["status"] == "valid"
    assert "not revoked" in err


def test_presentation_without_status_list_is_status_unknown(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = present(demo, tmp_path, capsys)
    code, report, _ = run_json(capsys, "verify", shown, *trust(demo))
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.status_unknown")


def test_presentation_with_unsafe_skip_status_says_revocation_was_not_checked(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = present(demo, tmp_path, capsys)
    code, out, err = run(capsys, "verify", shown, *trust(demo), "--unsafe-skip-status")
    assert code == EXIT_OK
    assert "Revocation was NOT checked" in out
    assert "revocation was NOT checked" in err
    assert "not revoked" not in err


def test_issue_without_a_status_state_is_refused(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "issue",
        "--key", str(demo / "keys" / "issuer.pem"),
        "--agency", "演示发证机关",
        "--uscc", "114400000069445123",
        "--type", "driving-licence",
        "--holder", "p-0123456789abcdef",
        "--valid-until", "2031-05-31",
        "--out", str(tmp_path / "dl"),
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert "--status-state" in err
    assert not (tmp_path / "dl.txt").exists()


# --- unreadable is not invalid ----------------------------------------------------------------


def test_mistyped_file_name_is_no_such_file_not_a_forged_licence(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = str(demo / "certificates" / "revoked-drivng-licence.txt")
    status = ["--status", str(demo / "status.json")]
    code, out, err = run(capsys, "verify", typo, *trust(demo), *status)
    assert (code, out) == (EXIT_ENV, "")
    assert "[cli.no_such_file]" in err
    assert "INVALID" not in err
    code, document, _ = run_json(capsys, "verify", "licence", typo, *trust(demo), *status)
    assert code == EXIT_ENV
    assert document["error"]["code"] == "cli.no_such_file"


def test_input_shaped_like_a_token_with_a_deeply_nested_header_does_not_crash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Found in review: sniffing INPUT let json's RecursionError escape as a traceback.
    head = base64.urlsafe_b64encode(b"[" * 30_000).decode().rstrip("=")
    code, out, err = run(capsys, "verify", f"{head}.e30.AA")
    assert (code, out) == (EXIT_ENV, "")
    assert "[cli.no_such_file]" in err
    assert "Traceback" not in err


def test_skipped_revocation_is_said_once_in_the_chosen_language(demo: Path, tmp_path: Path) -> None:
    # A real process: without a handler, Python prints the library's English warning too.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "govkit.cli",
            "--lang",
            "zh",
            "verify",
            "licence",
            revoked(demo),
            *trust(demo),
            "--unsafe-skip-status",
            "--state",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == EXIT_OK
    assert "未检查是否被吊销" in result.stderr
    assert "revocation is NOT checked" not in result.stderr


def test_missing_status_list_file_is_no_such_file(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "verify", revoked(demo), *trust(demo), "--status", str(demo / "statu.json")
    )
    assert code == EXIT_ENV
    assert "[cli.no_such_file]" in err


def test_inline_payload_is_still_read_as_a_licence(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = Path(revoked(demo)).read_text().strip()
    status = ["--status", str(demo / "status.json")]
    code, report, _ = run_json(capsys, "verify", payload, *trust(demo), *status)
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.revoked")


@pytest.fixture
def blank(tmp_path: Path) -> Path:
    path = tmp_path / "blank.png"
    Image.new("L", (400, 400), 255).save(path)
    return path


@pytest.fixture
def two_codes(demo: Path, tmp_path: Path) -> Path:
    first = Image.open(demo / "certificates" / "driving-licence.png").convert("L")
    second = Image.open(demo / "certificates" / "passport.png").convert("L")
    both = Image.new("L", (first.width + second.width, max(first.height, second.height)), 255)
    both.paste(first, (0, 0))
    both.paste(second, (first.width, 0))
    path = tmp_path / "two.png"
    both.save(path)
    return path


@pytest.mark.parametrize("kind", [[], ["licence"], ["presentation"]])
def test_picture_without_qr_code_is_unreadable_with_a_hint(
    demo: Path, blank: Path, kind: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["verify", *kind, str(blank), *trust(demo), "--status", str(demo / "status.json")]
    code, out, err = run(capsys, *args)
    assert (code, out) == (EXIT_ENV, "")
    assert "ERROR: no QR code in the picture [qr.not_found]" in err
    assert "INVALID" not in err
    assert "hint: " in err
    assert "retake the photo" in err
    code, document, _ = run_json(capsys, *args)
    assert code == EXIT_ENV
    assert list(document) == ["error"]  # nothing was read: the error shape, not a verdict
    assert document["error"]["code"] == "qr.not_found"
    assert document["error"]["context"]["reason"] == "no_qr"
    assert "retake the photo" in document["error"]["hint"]


def test_picture_with_two_qr_codes_is_unreadable_with_a_hint(
    demo: Path, two_codes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["verify", str(two_codes), *trust(demo), "--status", str(demo / "status.json")]
    code, out, err = run(capsys, *args)
    assert (code, out) == (EXIT_ENV, "")
    assert "[qr.several_codes]" in err
    assert "only one QR code in the frame" in err
    code, document, _ = run_json(capsys, *args)
    assert code == EXIT_ENV
    assert document["error"]["code"] == "qr.several_codes"
    assert document["error"]["context"]["count"] == 2
    assert "only one QR code" in document["error"]["hint"]
