"""``--help`` speaks the officer's language: ``govkit verify --help`` and the help of
every ``verify`` kind and ``verifier`` subcommand are Chinese with ``--lang zh`` or a
Chinese locale, English with ``--lang en``; every help text of ``govkit`` and of every
one of its commands (``payments``, ``db`` and ``oidc`` included) has its Chinese in the
catalogue (:data:`govkit.cli._i18n.HELP`), and the ``--help`` of every command of the
argparse tree, found by walking it, shows no English prose with ``--lang zh``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from govkit.cli import EXIT_OK, main
from govkit.cli._app import build_parser
from govkit.cli._i18n import HELP, display_width, help_texts

CJK = re.compile(r"[\u4e00-\u9fff]")


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Every command of the argparse tree (``[]`` for ``govkit`` itself), parents first."""
    yield list(path)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, (*path, name))


#: Every command of ``govkit``, found by walking the parser (not a list kept by hand).
COMMANDS = tuple(commands(build_parser("en")))


@pytest.fixture
def locale(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    return monkeypatch


def shown_help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "--help"]) == EXIT_OK
    return capsys.readouterr().out


def test_verify_help_is_chinese_with_lang_zh(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    shown = shown_help(capsys, "--lang", "zh", "verify")
    assert shown.startswith("用法：govkit verify")
    assert "验证电子证照：GK1: 文本、.txt 文件或二维码图片" in shown
    assert "显示此帮助信息并退出" in shown
    assert "verify a licence" not in shown
    assert "usage:" not in shown


def test_verify_help_is_english_with_lang_en(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    locale.setenv("LANG", "zh_CN.UTF-8")  # the flag wins over the locale
    shown = shown_help(capsys, "--lang", "en", "verify")
    assert shown.startswith("usage: govkit verify")
    assert "verify a licence: GK1: payload, .txt file or QR picture" in shown
    assert not CJK.search(shown)


def test_verify_licence_help_is_chinese_under_a_chinese_locale(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    locale.setenv("LANG", "zh_CN.UTF-8")
    shown = shown_help(capsys, "verify", "licence")
    assert "不检查是否被吊销（报告会注明未检查）" in shown
    assert "已签名的信任列表" in shown
    assert "do not check revocation" not in shown


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(["govkit", *c]))
def test_every_option_of_every_command_is_explained_in_chinese(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch, command: list[str]
) -> None:
    shown = shown_help(capsys, "--lang", "zh", *command)
    body = shown.split("\n\n", 1)[1]  # after the usage lines
    # prose: three English words in a row ("show this help"), outside option names
    english = [
        line
        for line in body.splitlines()
        if re.search(r"\b[a-z]{3,} [a-z]{2,} [a-z]{3,}\b", line.split("  ")[-1])
    ]
    assert english == [], f"untranslated help in govkit {' '.join(command)}".rstrip()
    assert CJK.search(shown)


def test_the_walk_reaches_payments_db_and_oidc() -> None:
    found = {" ".join(c) for c in COMMANDS}
    assert {
        "payments reconcile",
        "payments worker",
        "db upgrade",
        "db purge",
        "oidc check",
    } <= found


def test_payments_help_uses_the_words_of_the_field_in_chinese(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    shown = shown_help(capsys, "--lang", "zh", "payments")
    assert shown.startswith("用法：govkit payments")
    assert "将每日交易对账单与支付回调收件箱对账" in shown
    assert "审核后放行被隔离的支付回调事件" in shown
    assert "compare a daily trade bill" not in shown
    worker = shown_help(capsys, "--lang", "zh", "payments", "worker")
    assert "只处理一轮，然后退出" in worker
    assert "one pass, then exit" not in worker


def test_db_help_is_chinese_with_lang_zh(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    shown = shown_help(capsys, "--lang", "zh", "db")
    assert "将 STORE 中的每个 govkit 存储升级到本版本的数据库结构" in shown
    purge = shown_help(capsys, "--lang", "zh", "db", "purge")
    assert "不会删除任何仍有效的数据" in purge
    assert "Redis：存储的键前缀（默认 govkit:）" in purge
    assert "Nothing live is deleted" not in purge
    assert "usage:" not in purge


def test_db_purge_help_stays_english_with_lang_en(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    locale.setenv("LANG", "zh_CN.UTF-8")
    shown = shown_help(capsys, "--lang", "en", "db", "purge")
    assert "Nothing live is deleted." in " ".join(shown.split())
    assert not CJK.search(shown)


def test_chinese_help_lines_fit_the_terminal_by_display_width(
    capsys: pytest.CaptureFixture[str], locale: pytest.MonkeyPatch
) -> None:
    shown = shown_help(capsys, "--lang", "zh", "verifier", "sync")
    prose = [line for line in shown.splitlines() if CJK.search(line) and "用法" not in line]
    assert prose
    assert max(display_width(line) for line in prose) <= 100


def test_every_help_text_of_every_command_has_its_chinese() -> None:
    texts = {text for _, text in help_texts(build_parser("en"))}
    assert len(texts) > 150  # the walk reaches the subcommands' options
    missing = sorted(text for text in texts if text not in HELP)
    assert missing == [], "add the Chinese of these help texts to HELP in govkit/cli/_i18n.py"


@pytest.mark.parametrize("english", sorted(HELP))
def test_each_help_text_exists_in_both_languages(english: str) -> None:
    chinese = HELP[english]
    assert english.strip()
    assert chinese.strip()
    assert not CJK.search(english)
    assert CJK.search(chinese), english
    # argparse fills %(name)s in help texts: both languages name the same ones
    assert re.findall(r"%\(\w+\)s", english) == re.findall(r"%\(\w+\)s", chinese)


def test_no_help_text_of_the_catalogue_is_dead() -> None:
    texts = {text for _, text in help_texts(build_parser("en"))}
    assert sorted(set(HELP) - texts) == []


def test_the_completeness_walk_finds_an_untranslated_help_text() -> None:
    parser = build_parser("en")
    verify = next(a for a in parser._actions if a.dest == "command").choices["verify"]
    kinds = next(a for a in verify._actions if a.dest == "verify_kind")
    kinds.choices["licence"].add_argument("--new-option", help="an option nobody translated")
    found = {text for _, text in help_texts(parser)}
    assert "an option nobody translated" in found - set(HELP)
