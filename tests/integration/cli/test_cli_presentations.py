"""``govkit issue --device-key``, ``govkit present`` and ``govkit verify`` of presentations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govkit.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quiet"]) == EXIT_OK
    return out


def trust_args(demo: Path, status: Path | None = None) -> list[str]:
    """The demo's trust list and anchor, and a status list (revocation is a required check)."""
    return [
        "--trust",
        str(demo / "trust.json"),
        "--anchor",
        str(demo / "keys/trust-anchor.pub"),
        "--status",
        str(status or demo / "status.json"),
    ]


def test_demo_writes_a_traffic_police_presentation_that_fits_version_15(demo: Path) -> None:
    folder = demo / "presentations"
    text = (folder / "driving-licence-traffic-police.txt").read_text().strip()
    assert text.startswith("GKP1:")
    assert len(text) <= 600  # QR version 15 at level M holds 600 alphanumeric characters
    assert (folder / "driving-licence-traffic-police.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "driving-licence.gks").stat().st_mode & 0o077 == 0  # the holder's secret


def test_issue_present_and_verify_from_the_command_line(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, issued = run_json(
        capsys,
        "issue",
        "--key", str(demo / "keys/issuer.pem"),
        "--agency", "广东省政务服务数据管理局（演示）",
        "--uscc", "114400000069445123",
        "--type", "driving-licence",
        "--holder", "p-0123456789abcdef",
        "--field", "name=赵六",
        "--field", "licence_class=C1",
        "--field", "photo_digest=qkbNeQaZiLlrdfDvarj90w",
        "--field", "first_issue_date=2019-05-01",
        "--field", "file_number=440100999999",
        "--valid-until", "2031-05-01",
        "--device-key", str(demo / "keys/device.pem.pub"),
        "--status-state", str(tmp_path / "state.json"),
        "--status-out", str(tmp_path / "status.json"),
        "--out", str(tmp_path / "mine"),
    )  # fmt: skip
    assert code == EXIT_OK
    assert issued["type"] == "driving-licence"
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["licences"] == {issued["id"]: 0}  # the selective licence has a status index
    credential = tmp_path / "mine.gks"
    assert credential.read_text().startswith("GKS1:")

    code, shown = run_json(
        capsys,
        "present", str(credential),
        "--device-key", str(demo / "keys/device.pem"),
        "--profile", "traffic-police",
        "--out", str(tmp_path / "shown"),
    )  # fmt: skip
    assert code == EXIT_OK
    assert shown["disclosed"] == ["name", "licence_class", "photo_digest"]
    assert shown["qr_version"] <= 15

    code, report = run_json(
        capsys,
        "verify",
        str(tmp_path / "shown.png"),
        *trust_args(demo, tmp_path / "status.json"),
        "--profile",
        "traffic-police",
    )
    assert code == EXIT_OK
    assert report["valid"] is True
    assert report["presentation"]["status"] == "valid"
    assert report["kind"] == "presentation"
    assert report["presentation"]["disclosed"]["name"] == "赵六"
    assert "file_number" not in report["presentation"]["disclosed"]
    assert [c["name"] for c in report["checks"]][-2:] == ["profile", "clock"]


def test_over_disclosure_is_reported_with_its_code(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_json(
        capsys,
        "present", str(demo / "presentations/driving-licence.gks"),
        "--device-key", str(demo / "keys/device.pem"),
        "--disclose", "name,licence_class,photo_digest,file_number",
        "--out", str(tmp_path / "more"),
    )  # fmt: skip
    assert code == EXIT_OK
    code, report = run_json(
        capsys,
        "verify",
        str(tmp_path / "more.txt"),
        *trust_args(demo),
        "--profile",
        "traffic-police",
    )
    assert code == EXIT_INVALID
    assert report["code"] == "presentation.over_disclosure"


def test_presentation_for_another_nonce_is_invalid(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_json(
        capsys,
        "present", str(demo / "presentations/driving-licence.gks"),
        "--device-key", str(demo / "keys/device.pem"),
        "--profile", "traffic-police", "--nonce", "00" * 16,
        "--out", str(tmp_path / "nonce"),
    )  # fmt: skip
    assert code == EXIT_OK
    args = ["verify", str(tmp_path / "nonce.txt"), *trust_args(demo)]
    code, report = run_json(capsys, *args, "--nonce", "11" * 16)
    assert (code, report["code"]) == (EXIT_INVALID, "presentation.holder_binding")
    code, report = run_json(capsys, *args, "--nonce", "00" * 16)
    assert (code, report["valid"]) == (EXIT_OK, True)


def test_present_needs_exactly_one_of_disclose_and_profile(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "present", str(demo / "presentations/driving-licence.gks"),
        "--device-key", str(demo / "keys/device.pem"),
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert "--disclose or --profile" in err


def test_unknown_verifier_profile_is_a_usage_error(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = str(demo / "presentations/driving-licence-traffic-police.txt")
    code, _, err = run(capsys, "verify", text, *trust_args(demo), "--profile", "nightclub")
    assert code == EXIT_USAGE
    assert "traffic-police" in err
