"""The ``govkit`` command speaks Chinese or English; the codes never change.

An officer at a roadside reads Chinese first: ``--lang zh``, or a locale starting with
``zh`` (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: the first one set), makes every verdict,
failure, hint and table heading Chinese. ``--lang en`` (or any other locale) keeps
English. With ``--json`` the ``message`` follows the language and ``code`` stays.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from govkit.cli._i18n import display_width, language_from, pad, table

CJK = re.compile(r"[\u4e00-\u9fff]")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quiet"]) == EXIT_OK
    return out


@pytest.fixture
def locale(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No locale variable set: each test sets the ones it is about."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def lists(demo: Path, state: Path) -> list[str]:
    return [
        "--trust",
        str(demo / "trust.json"),
        "--anchor",
        str(demo / "keys" / "trust-anchor.pub"),
        "--status",
        str(demo / "status.json"),
        "--state",
        str(state),
    ]


def revoked(demo: Path) -> str:
    return str(demo / "certificates" / "revoked-driving-licence.txt")


def unreadable_picture(tmp_path: Path) -> str:
    """A PNG with no QR code in it: a photo of the wrong thing."""
    from PIL import Image  # noqa: PLC0415

    path = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(path)
    return str(path)


# --- a revoked licence ------------------------------------------------------------------------


def test_revoked_licence_is_said_in_chinese_with_lang_zh(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    code, out, err = run(
        capsys, "verify", "licence", revoked(demo), *lists(demo, tmp_path), "--lang", "zh"
    )
    assert code == EXIT_INVALID
    assert "电子证照（二维码文本）：无效 [certificate.revoked]" in out
    assert "吊销状态" in out  # the check's name
    assert "电子证照已被吊销 [certificate.revoked]" in out  # the failed check says why
    assert "无效：电子证照（二维码文本）未通过验证：电子证照已被吊销 [certificate.revoked]" in err
    assert "INVALID" not in out + err
    assert "failed verification" not in err


def test_revoked_licence_is_said_in_chinese_under_a_chinese_locale(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    locale.setenv("LANG", "zh_CN.UTF-8")
    code, out, err = run(capsys, "verify", "licence", revoked(demo), *lists(demo, tmp_path))
    assert code == EXIT_INVALID
    assert "无效 [certificate.revoked]" in out
    assert "电子证照已被吊销" in err


def test_revoked_licence_is_said_in_english_with_lang_en(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    locale.setenv("LANG", "zh_CN.UTF-8")  # --lang wins over the locale
    code, out, err = run(
        capsys, "verify", "licence", revoked(demo), *lists(demo, tmp_path), "--lang", "en"
    )
    assert code == EXIT_INVALID
    assert "licence (payload): INVALID [certificate.revoked]" in out
    assert "INVALID: the licence (payload) failed verification" in err
    assert "[certificate.revoked]" in err
    assert not CJK.search(err.replace("广东省政务服务数据管理局（演示）", ""))


def test_a_valid_licence_is_said_in_chinese(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    picture = str(demo / "certificates" / "driving-licence.png")
    code, out, err = run(capsys, "--lang", "zh", "verify", picture, *lists(demo, tmp_path))
    assert code == EXIT_OK
    assert "电子证照（二维码图片）：有效" in out
    assert "通过：电子证照真实、在有效期内，且未被吊销" in err


def test_revocation_not_checked_is_said_in_chinese(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    picture = str(demo / "certificates" / "driving-licence.png")
    args = [
        "--trust",
        str(demo / "trust.json"),
        "--anchor",
        str(demo / "keys" / "trust-anchor.pub"),
    ]
    state = ["--state", str(tmp_path)]
    code, out, err = run(
        capsys, "verify", "licence", picture, *args, *state, "--unsafe-skip-status", "--lang", "zh"
    )
    assert code == EXIT_OK
    assert "未检查" in out  # the mark of a check not made
    assert "未检查是否被吊销（--unsafe-skip-status）" in err
    assert "未被吊销" not in err  # never "not revoked" when it was not checked


# --- an unreadable picture --------------------------------------------------------------------


def test_unreadable_picture_in_chinese_and_english(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    picture = unreadable_picture(tmp_path)
    code, _, err = run(capsys, "--lang", "zh", "verify", picture, *lists(demo, tmp_path))
    assert code == EXIT_ENV
    assert "错误：未能从图片中读取到二维码 [qr.not_found]" in err
    assert "提示：请重新拍照" in err
    locale.setenv("LC_ALL", "en_US.UTF-8")
    code, _, err = run(capsys, "verify", picture, *lists(demo, tmp_path))
    assert code == EXIT_ENV
    assert "ERROR: " in err
    assert "[qr.not_found]" in err
    assert "hint: retake the photo" in err
    assert not CJK.search(err)


def test_json_message_follows_the_language_and_the_code_does_not(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    picture = unreadable_picture(tmp_path)
    errors: dict[str, Any] = {}
    for lang in ("zh", "en"):
        code, out, _ = run(
            capsys, "verify", picture, *lists(demo, tmp_path), "--json", "--lang", lang
        )
        assert code == EXIT_ENV
        errors[lang] = json.loads(out)["error"]
    assert errors["zh"]["code"] == errors["en"]["code"] == "qr.not_found"
    assert errors["zh"]["context"] == errors["en"]["context"]
    assert CJK.search(errors["zh"]["message"])
    assert CJK.search(errors["zh"]["hint"])
    assert not CJK.search(errors["en"]["message"])
    assert not CJK.search(errors["en"]["hint"])
    # a report's JSON is the library's, the same in both languages
    reports = []
    for lang in ("zh", "en"):
        code, out, _ = run(
            capsys, "verify", revoked(demo), *lists(demo, tmp_path), "--json", "--lang", lang
        )
        assert code == EXIT_INVALID
        reports.append(json.loads(out))
    assert reports[0]["code"] == reports[1]["code"] == "certificate.revoked"
    assert [c["name"] for c in reports[0]["checks"]] == [c["name"] for c in reports[1]["checks"]]


def test_usage_errors_of_the_command_in_chinese(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    locale.setenv("LC_MESSAGES", "zh_CN.UTF-8")
    code, _, err = run(capsys, "verify", "licence", "GK1:x", "--at", "yesterday")
    assert code == EXIT_USAGE
    assert "命令参数有误" in err
    assert "应为带 UTC 偏移的 ISO 8601 时间" in err
    code, _, err = run(capsys, "present", "x.gks", "--device-key", "k.pem", "--json")
    assert code == EXIT_USAGE
    assert "请给出 --disclose 或 --profile（二者之一）" in err


# --- choosing the language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        ("zh", {}, "zh"),
        ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "zh_TW"}, "zh"),
        (None, {"LANG": "en_GB.UTF-8"}, "en"),
        (None, {"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL first
        (None, {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),  # empty means unset
        (None, {}, "en"),
    ],
)
def test_the_language_is_the_flag_else_the_first_locale_variable_set(
    flag: str | None, environ: dict[str, str], expected: str
) -> None:
    assert language_from(flag, environ) == expected


# --- an unknown licence type ----------------------------------------------------------------


def test_unknown_licence_type_suggests_the_closest_in_both_languages(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    issue = [
        "issue",
        "--key",
        str(demo / "keys" / "issuer.pem"),
        "--agency",
        "广东省政务服务数据管理局（演示）",
        "--uscc",
        "114400000069445123",
        "--type",
        "drivng-licence",
        "--holder",
        "p-3f9a1c07d2",
        "--valid-until",
        "2030-01-01",
        "--status-state",
        str(tmp_path / "state.json"),
        "--out",
        str(tmp_path / "licence"),
    ]
    code, out, err = run(capsys, *issue, "--json")
    assert code == EXIT_INVALID
    error = json.loads(out)["error"]
    assert error["code"] == "certificate.data_invalid"
    assert error["context"]["suggestions"][0] == "driving-licence"
    assert "passport" in error["context"]["valid_types"]
    assert "did you mean driving-licence" in err
    code, _, err = run(capsys, *issue, "--lang", "zh")
    assert "未知的证照类型“drivng-licence”（是否为 driving-licence" in err
    assert not (tmp_path / "licence.txt").exists()


def test_unknown_type_given_to_a_trust_list_suggests_the_closest(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    trust = tmp_path / "trust.json"
    trust.write_bytes((demo / "trust.json").read_bytes())
    code, _, err = run(
        capsys,
        "trust",
        "add-issuer",
        str(trust),
        "--anchor",
        str(demo / "keys" / "trust-anchor.pem"),
        "--name",
        "Demo agency",
        "--uscc",
        "91350100M000100Y43",
        "--key",
        str(demo / "keys" / "es256.pem.pub"),
        "--types",
        "pasport",
        "--lang",
        "zh",
    )
    assert code == EXIT_USAGE
    assert "未知的证照类型：pasport（是否为 passport？）" in err


# --- tables align by display width ------------------------------------------------------------


def columns(line: str) -> list[int]:
    """The display column where each cell of ``line`` starts (cells split by 2+ spaces)."""
    starts, cells, position = [], 0, 0
    for match in re.finditer(r"\S+(?: \S+)*", line):
        starts.append(display_width(line[: match.start()]))
        cells += 1
        position = match.end()
    del cells, position
    return starts


def test_a_table_with_chinese_names_lines_up_on_a_terminal() -> None:
    rows = [
        ("广东省政务服务数据管理局", "114400000069445123", "active"),
        ("Demo agency", "91350100M000100Y43", "withdrawn"),
        ("居住证", "1", "x"),
    ]
    text = table(rows, ("agency", "uscc", "state"))
    lines = text.splitlines()
    starts = [columns(line) for line in lines if not line.startswith("-")]
    assert all(s == starts[0] for s in starts), text
    # the Chinese name takes 24 columns, not 12 characters
    assert starts[0][1] == 24 + 2
    assert display_width("广东省") == 6
    assert display_width("e\u0301") == 1  # a combining accent takes no column
    assert pad("居住证", 8) == "居住证  "
    assert unicodedata.east_asian_width("（") == "F"


def test_trust_show_lines_up_chinese_and_english_agency_names(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    trust = tmp_path / "trust.json"
    trust.write_bytes((demo / "trust.json").read_bytes())
    anchor = str(demo / "keys" / "trust-anchor.pem")
    code, _, _ = run(
        capsys,
        "trust",
        "add-issuer",
        str(trust),
        "--anchor",
        anchor,
        "--name",
        "Demo agency",
        "--uscc",
        "91350100M000100Y43",
        "--key",
        str(demo / "keys" / "es256.pem.pub"),
        "--types",
        "passport",
    )
    assert code == EXIT_OK
    for lang in ("en", "zh"):
        code, out, _ = run(capsys, "trust", "show", str(trust), "--anchor", anchor, "--lang", lang)
        assert code == EXIT_OK
        lines = [line for line in out.splitlines()[1:] if line and not line.startswith("-")]
        assert len(lines) == 3  # the heading and two issuers
        starts = [columns(line) for line in lines]
        assert all(s == starts[0] for s in starts), out
    assert "签发机关" in out  # the Chinese heading
    assert "广东省政务服务数据管理局（演示）" in out
