"""Every line of a verify report is in the officer's language, passed checks too.

With ``--lang zh`` the detail of each check that passed (or was not made) is Chinese:
the library gives each detail a key of its catalogue (``govkit._messages.DETAILS``)
and the values that fill it; dates, key ids, numbers, agencies' and types' names are
shown as they are. ``--lang en`` prints the library's English, and ``--json`` keeps the
English ``detail`` (the codes and the JSON never change with the language).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.certificates import (
    Agency,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifierState,
    sign_trust_list,
)
from govkit.cli import EXIT_INVALID, EXIT_OK, main
from govkit.keys import SigningKey

AGENCY = "广东省政务服务数据管理局（演示）"
CJK = re.compile(r"[\u4e00-\u9fff]")
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\+00:00|Z)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quiet"]) == EXIT_OK
    return out


@pytest.fixture(autouse=True)
def locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)


def lists(demo: Path, state: Path) -> list[str]:
    return [
        "--trust", str(demo / "trust.json"),
        "--anchor", str(demo / "keys" / "trust-anchor.pub"),
        "--status", str(demo / "status.json"),
        "--state", str(state),
    ]  # fmt: skip


def verify(
    capsys: pytest.CaptureFixture[str], lang: str, *argv: str
) -> tuple[int, dict[str, str], str]:
    """Exit code, each check line's detail by its (translated) name, and stdout."""
    code = main(["--lang", lang, "verify", *argv])
    out = capsys.readouterr().out
    lines: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"  (✓|✗|not checked|未检查)\s+(\S+)\s+(.*)$", line)
        if match:
            lines[match.group(2)] = match.group(3)
    return code, lines, out


def present(demo: Path, out: Path) -> Path:
    code = main([
        "present", str(demo / "presentations/driving-licence.gks"),
        "--device-key", str(demo / "keys/device.pem"),
        "--profile", "traffic-police",
        "--out", str(out / "shown"), "--quiet",
    ])  # fmt: skip
    assert code == EXIT_OK
    return out / "shown.txt"


def test_each_check_line_of_a_licence_picture_is_chinese(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = str(demo / "certificates" / "driving-licence.png")
    code, lines, _ = verify(capsys, "zh", "licence", picture, *lists(demo, tmp_path))
    assert code == EXIT_OK
    assert lines["输入"] == "已识读二维码图片"
    assert lines["格式"] == "GK1: 电子证照数据"
    assert re.fullmatch(r"信任列表 #\d+", lines["信任列表"])
    assert re.fullmatch(f"由{AGENCY}签名（密钥标识 [0-9a-f]{{16}}）", lines["签名"])
    assert lines["签发机关"] == f"{AGENCY}有权签发 driving-licence"
    assert re.fullmatch(f"有效期至 {TIME}", lines["有效期"])
    assert lines["吊销状态"] == "未被吊销：签发机关的状态列表显示其既未吊销也未暂停"
    assert re.fullmatch(r"信任列表 #\d+ 在有效期内", lines["信任列表时效"])
    assert re.fullmatch(f"设备时钟不早于本设备已见过的最新签名时间（{TIME}）", lines["设备时钟"])


def test_the_same_lines_stay_english_with_lang_en(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = str(demo / "certificates" / "driving-licence.txt")
    code, lines, _out = verify(capsys, "en", "licence", payload, *lists(demo, tmp_path))
    assert code == EXIT_OK
    assert lines["input"] == "payload text"
    assert re.fullmatch(r"trust list #\d+", lines["trust"])
    assert re.fullmatch(f"signed by {AGENCY} \\(kid [0-9a-f]{{16}}\\)", lines["signature"])
    assert lines["issuer"] == f"{AGENCY} may issue driving-licence"
    assert lines["status"] == (
        "valid: the issuer's status list marks it neither revoked nor suspended"
    )
    assert re.fullmatch(r"trust list #\d+ is current", lines["trust_freshness"])
    assert not CJK.search("".join(lines.values()).replace(AGENCY, ""))


def test_the_kid_and_dates_are_the_same_in_both_languages(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = str(demo / "certificates" / "driving-licence.txt")
    _, chinese, _ = verify(capsys, "zh", "licence", payload, *lists(demo, tmp_path / "a"))
    _, english, _ = verify(capsys, "en", "licence", payload, *lists(demo, tmp_path / "b"))
    kid = re.search(r"[0-9a-f]{16}", english["signature"])
    assert kid is not None
    assert kid.group() in chinese["签名"]
    until = re.search(TIME, english["validity"])
    assert until is not None
    assert until.group() in chinese["有效期"]


def test_json_keeps_the_english_detail_in_chinese_mode(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = str(demo / "certificates" / "driving-licence.txt")
    code = main(["--lang", "zh", "--json", "verify", payload, *lists(demo, tmp_path)])
    assert code == EXIT_OK
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert re.fullmatch(r"trust list #\d+", checks["trust"]["detail"])
    assert set(checks["trust"]) == {"name", "ok", "code", "detail"}  # the shape is unchanged


def test_each_check_line_of_a_presentation_is_chinese(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = present(demo, tmp_path)
    code, lines, _ = verify(
        capsys, "zh", "presentation", str(shown), *lists(demo, tmp_path / "state"),
        "--profile", "traffic-police",
    )  # fmt: skip
    assert code == EXIT_OK
    assert lines["输入"] == "出示内容文本"
    assert re.fullmatch(r"driving-licence 出示内容，披露 \d+ 个字段", lines["格式"])
    assert lines["签名"] == f"由{AGENCY}签名"
    assert lines["签发机关"] == f"{AGENCY}有权签发 driving-licence"
    assert re.fullmatch(f"有效期至 {TIME}（不含该时刻）", lines["有效期"])
    assert lines["吊销状态"] == "未被吊销：签发机关的状态列表显示其既未吊销也未暂停"
    assert re.fullmatch(r"由持证人设备 \S{12}… 签名", lines["持证人设备"])
    assert re.fullmatch(r"\d+ 秒前生成", lines["时效"])
    assert re.fullmatch(r"\d+ 个出示字段与已签名的默克尔根一致", lines["出示字段"])
    assert lines["验证配置"] == "符合验证配置 traffic-police"


def test_each_check_line_of_a_licence_pdf_is_chinese(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = str(demo / "certificates" / "driving-licence.pdf")
    ca = ["--ca", str(demo / "keys" / "ca.crt")]
    code, lines, _ = verify(capsys, "zh", "pdf", pdf, *ca, *lists(demo, tmp_path))
    assert code in (EXIT_OK, EXIT_INVALID)  # the verdict is another test's
    assert lines["签名"] == "1 个签名"
    assert lines["Signature1.完整性"] == "摘要一致，签名验证通过"
    assert lines["Signature1.签名覆盖范围"] == "签名覆盖整个文档"
    assert lines["Signature1.信任列表"] == "签名者的证书可追溯到受信任的 CA"
    assert lines["电子证照"] == "PDF 内嵌电子证照数据（licence.txt）"
    assert lines["licence.输入"] == "二维码文本"
    assert lines["licence.吊销状态"] == "未被吊销：签发机关的状态列表显示其既未吊销也未暂停"
    assert re.fullmatch(r"信任列表 #\d+ 在有效期内", lines["licence.信任列表时效"])


def test_the_clock_line_of_verifier_status_is_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor, issuer = SigningKey.generate("EdDSA"), SigningKey.generate("EdDSA")
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    listed = TrustList(
        (
            TrustedIssuer(
                Agency("广州市公安局", "11440100MB2C92923F"),
                (TrustedKey.for_key(issuer.verifying_key, {"driving-licence"}),),
            ),
        ),
        1,
        now,
        now + timedelta(days=7),
    )
    VerifierState(tmp_path / "s").import_lists(
        sign_trust_list(listed, anchor), now=now, anchors=[anchor.verifying_key]
    )
    assert main(["--lang", "zh", "verifier", "status", "--state", str(tmp_path / "s")]) == EXIT_OK
    shown = capsys.readouterr().out
    assert re.search(f"设备时钟：设备时钟不早于本设备已见过的最新签名时间（{TIME}）", shown)


# --- identity tokens, detached signatures, audit logs ---------------------------------------

ISS, AUD = "https://login.gd.gov.example", "https://tax.gd.gov.example"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def check_lines(out: str) -> dict[str, str]:
    """Each check line's detail by its (translated) name."""
    lines: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"  (✓|✗|not checked|未检查)\s+(\S+(?: \S+)?)\s{2,}(.*)$", line)
        if match:
            lines[match.group(2)] = match.group(3)
    return lines


@pytest.fixture
def token_args(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[str, list[str]]:
    key = demo / "keys" / "es256.pem"
    jwks = tmp_path / "jwks.json"
    code, out = run(capsys, "keys", "jwks", f"{key}.pub")
    assert code == EXIT_OK
    jwks.write_text(out)
    code, token = run(
        capsys, "token", "issue", "--key", str(key), "--issuer", ISS, "--subject", "p-1",
        "--audience", AUD, "--assurance", "high", "--amr", "face", "-q",
    )  # fmt: skip
    assert code == EXIT_OK
    return token.strip(), ["--jwks", str(jwks), "--issuer", ISS, "--audience", AUD]


def test_each_check_line_of_a_token_is_chinese(
    token_args: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    token, args = token_args
    code, lines, out = verify(capsys, "zh", "token", token, *args)
    assert code == EXIT_OK, out
    assert lines["大小"] == "不超过 8192 字节"
    assert lines["结构"] == "紧凑 JWS：三段 base64url，头部为 JSON 对象"
    assert re.fullmatch(r"密钥 \S+（ES256）", lines["密钥"])
    assert lines["签名"] == "签名验证通过"
    assert re.fullmatch(r"\d+ 秒后过期", lines["过期时间"])
    assert lines["认证等级"] == "认证等级 acr HIGH"
    assert lines["认证方式"] == "1 个 amr 认证方式"
    assert check_lines(out)["DPoP 证明"] == "持有者令牌"
    checks = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(checks) == 21
    prose = r"\b[a-z]{3,} [a-z]{2,} [a-z]{3,}\b"  # three English words in a row
    assert [line for line in checks if re.search(prose, line)] == []
    # the summary under the checks is Chinese too; its values stay as they are
    assert re.search(r"^主体 \S+，认证等级 high，有效期至 \d{4}-\d\d-\d\dT", out, re.M), out
    assert "subject " not in out


def test_a_tokens_json_keeps_the_english_detail_in_chinese_mode(
    token_args: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    token, args = token_args
    code = main(["--lang", "zh", "--json", "verify", "token", token, *args])
    assert code == EXIT_OK
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["size"]["detail"] == "at most 8192 bytes"
    assert checks["signature"]["detail"] == "signature verifies"


def test_each_check_line_of_a_detached_signature_is_chinese(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letter = tmp_path / "letter.txt"
    letter.write_text("批复")
    key = str(demo / "keys" / "es256.pem")
    assert main(["sign", str(letter), "--key", key, "--purpose", "审批", "-q"]) == EXIT_OK
    capsys.readouterr()
    code, lines, out = verify(
        capsys, "zh", "detached", str(letter), "--signature", f"{letter}.sig",
        "--key", f"{key}.pub", "--purpose", "审批",
    )  # fmt: skip
    assert code == EXIT_OK, out
    assert lines["格式"] == "分离签名文件，含 1 个签名"
    assert lines["party1.头部"] == "govkit 分离签名，角色 sign"
    assert lines["party1.用途"] == "用于所要求的用途"
    assert lines["party1.摘要"] == "签署的正是此数据（SHA-256）"
    assert re.fullmatch(r"以受信任的密钥 \S+（ES256）验证通过", lines["party1.签名"])
    assert lines["party1.签名链"] == "签名链的起点"
    english = main(["--lang", "en", "--json", "verify", "detached", str(letter),
                    "--signature", f"{letter}.sig", "--key", f"{key}.pub"])  # fmt: skip
    assert english == EXIT_OK
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["format"]["detail"] == "a detached signature file of 1 signature(s)"


def test_each_check_line_of_an_audit_log_is_chinese(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(demo / "audit.db")
    vkey = str(demo / "audit" / "note-key.vkey")
    checkpoint = str(demo / "audit" / "checkpoint")
    state = ["--state", str(tmp_path / "state")]
    code, out = run(
        capsys, "--lang", "zh", "audit", "verify", store, "--vkey", vkey,
        "--checkpoint", checkpoint, *state,
    )  # fmt: skip
    assert code == EXIT_OK, out
    lines = check_lines(out)
    assert re.fullmatch(r"\d+ 个条目，连续无缺，每个条目的哈希与其叶子一致", lines["条目"])
    assert lines["查询列"] == "未检查条目的查询列（--deep）"  # the command's own words
    assert lines["默克尔节点"] == "存储的内部节点与重新计算的默克尔树一致"
    assert re.fullmatch(r"\d+ 个已存储的检查点签名有效且一致", lines["检查点"])
    assert re.fullmatch(r"是已保存检查点（大小 \d+）的延续", lines["一致性"])
    assert re.search(r"^已核验 \d+ 条记录$", out, re.M), out
    assert "entries verified" not in out
    # run again without --checkpoint: the state's held checkpoint is the one checked
    code, out = run(capsys, "--lang", "zh", "audit", "verify", store, "--vkey", vkey, *state)
    assert code == EXIT_OK, out
    assert re.fullmatch(
        r"是已保存检查点（大小 \d+，即本设备持有的检查点）的延续", check_lines(out)["一致性"]
    )
    code = main(["--json", "audit", "verify", store, "--vkey", vkey, *state])
    assert code == EXIT_OK
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert re.fullmatch(
        r"extends the saved checkpoint of size \d+ \(the checkpoint this device holds\)",
        checks["consistency"]["detail"],
    )
