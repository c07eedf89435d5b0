"""``govkit verify --status A --status B``: one status list per issuer, each licence checked
in its own issuer's list.

Three issuing departments on one trust list, each with its own status state; Guangzhou
and Shenzhen publish status lists, Foshan does not. Both published lists give their
first licence index 0, so a licence checked in the wrong list would get the other's
status.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govkit.cli import EXIT_INVALID, EXIT_OK, main

OFFICES = {
    "gz": ("广州市公安局交通警察支队", "11440100MB2C92923F"),
    "sz": ("深圳市公安局交通警察局", "11440300MB2D111175"),
    "fs": ("佛山市公安局交通警察支队", "11440600MB2C93187M"),
}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def kit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """An anchor, a trust list naming the three offices, and a holder's device key."""
    keys = ["anchor", "device", *OFFICES]
    for name in keys:
        alg = "EdDSA" if name == "device" else "ES256"
        path = str(tmp_path / f"{name}.pem")
        assert main(["keys", "generate", "--alg", alg, "--out", path, "-q"]) == EXIT_OK
    trust, anchor = str(tmp_path / "trust.json"), str(tmp_path / "anchor.pem")
    assert main(["trust", "create", "--anchor", anchor, "--out", trust, "-q"]) == EXIT_OK
    for office, (name, uscc) in OFFICES.items():
        code = main(
            ["trust", "add-issuer", trust, "--anchor", anchor, "--name", name, "--uscc", uscc,
             "--key", str(tmp_path / f"{office}.pem.pub"), "--types", "driving-licence", "-q"]
        )  # fmt: skip
        assert code == EXIT_OK
    capsys.readouterr()
    return tmp_path


def issue(
    capsys: pytest.CaptureFixture[str], kit: Path, office: str, *extra: str
) -> dict[str, Any]:
    """Issue a driving licence at ``office``, publishing its status list to OFFICE.json."""
    name, uscc = OFFICES[office]
    code, data = run_json(
        capsys,
        "issue",
        "--key", str(kit / f"{office}.pem"),
        "--agency", name,
        "--uscc", uscc,
        "--type", "driving-licence",
        "--holder", "p-0123456789abcdef",
        "--field", "name=张三",
        "--field", "licence_class=C1",
        "--field", "photo_digest=qkbNeQaZiLlrdfDvarj90w",
        "--field", "first_issue_date=2015-06-01",
        "--field", "file_number=440100123456",
        "--valid-from", "2021-06-01",
        "--valid-until", "2031-05-31",
        "--status-state", str(kit / f"{office}-state.json"),
        "--status-out", str(kit / f"{office}.json"),
        "--out", str(kit / f"{office}-licence"),
        "--force",
        *extra,
    )  # fmt: skip
    assert code == EXIT_OK, data
    return data  # type: ignore[no-any-return]


def revoke(capsys: pytest.CaptureFixture[str], kit: Path, office: str, ident: str) -> None:
    code, _ = run_json(
        capsys,
        "revoke", ident,
        "--key", str(kit / f"{office}.pem"),
        "--status-state", str(kit / f"{office}-state.json"),
        "--out", str(kit / f"{office}.json"),
        "--force",
    )  # fmt: skip
    assert code == EXIT_OK


def verify(
    capsys: pytest.CaptureFixture[str], kit: Path, target: Path, *extra: str
) -> tuple[int, Any]:
    """``govkit verify TARGET`` with both published status lists."""
    return run_json(
        capsys,
        "verify", str(target),
        "--trust", str(kit / "trust.json"),
        "--anchor", str(kit / "anchor.pem.pub"),
        "--status", str(kit / "gz.json"),
        "--status", str(kit / "sz.json"),
        *extra,
    )  # fmt: skip


def status_check(report: dict[str, Any]) -> dict[str, Any]:
    [found] = [c for c in report["checks"] if c["name"] == "status"]
    return found


def test_two_status_flags_check_each_licence_in_its_own_issuers_list(
    kit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gz, sz = issue(capsys, kit, "gz"), issue(capsys, kit, "sz")
    revoke(capsys, kit, "sz", sz["id"])
    code, report = verify(capsys, kit, kit / "gz-licence.txt")
    assert (code, report["valid"], report["certificate"]["id"]) == (EXIT_OK, True, gz["id"])
    assert report["certificate"]["status"] == "valid"
    code, report = verify(capsys, kit, kit / "sz-licence.png")
    assert (code, report["valid"], report["code"]) == (EXIT_INVALID, False, "certificate.revoked")
    assert (status_check(report)["ok"], status_check(report)["code"]) == (
        False,
        "certificate.revoked",
    )


def test_licence_of_an_issuer_whose_list_was_not_given_is_status_unknown(
    kit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issue(capsys, kit, "gz")
    issue(capsys, kit, "sz")
    issue(capsys, kit, "fs")  # published to fs.json, which the verifier is not given
    code, report = verify(capsys, kit, kit / "fs-licence.txt")
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.status_unknown")
    assert "reason=no_list_for_issuer" in status_check(report)["detail"]


def present(capsys: pytest.CaptureFixture[str], kit: Path, out: str) -> Path:
    code, _ = run_json(
        capsys,
        "present", str(kit / "sz-licence.gks"),
        "--device-key", str(kit / "device.pem"),
        "--profile", "traffic-police",
        "--out", str(kit / out),
    )  # fmt: skip
    assert code == EXIT_OK
    return kit / f"{out}.txt"


def test_presentation_is_checked_in_its_issuers_list_among_two(
    kit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issue(capsys, kit, "gz")
    sz = issue(capsys, kit, "sz", "--device-key", str(kit / "device.pem.pub"))
    shown = present(capsys, kit, "before")
    code, report = verify(capsys, kit, shown, "--profile", "traffic-police")
    assert (code, report["valid"], report["kind"]) == (EXIT_OK, True, "presentation")
    assert report["presentation"]["status"] == "valid"
    revoke(capsys, kit, "sz", sz["id"])
    shown = present(capsys, kit, "after")
    code, report = verify(capsys, kit, shown, "--profile", "traffic-police")
    assert (code, report["code"]) == (EXIT_INVALID, "certificate.revoked")
