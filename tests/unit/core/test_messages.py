"""Evidence for the error messages in English and Chinese (``govkit/_messages.py``,
:func:`govkit.errors.render_message`, :func:`govkit.errors.message_for`).

Every code an error of govkit can carry has a message in both languages: the codes of
the classes (the whole tree, walked from :class:`~govkit.errors.GovkitError`) and the
codes given as literals where an error or a failed check is made (``code=``,
``required=``, the ``govkit`` command's ``cli.*`` codes). Both languages of a message
name the same placeholders, and the Chinese uses the words of the field.
"""

from __future__ import annotations

import ast
import re
import string
import unicodedata
from pathlib import Path
from typing import Any

import pytest

import govkit.errors as errors_module
from govkit._messages import LANGUAGES, MESSAGES
from govkit.errors import (
    CertificateRevoked,
    ConfigurationError,
    GovkitError,
    LicenceDataInvalid,
    QrNotFound,
    message_for,
    render_message,
)

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "govkit"
CODE = re.compile(r"[a-z]+(?:\.[a-z_]+)+")
CJK = re.compile(r"[\u4e00-\u9fff]")


def error_classes() -> list[type[GovkitError]]:
    """Every class in the tree, found by walking subclasses (not by a list kept by hand)."""
    found: list[type[GovkitError]] = []
    pending: list[type[GovkitError]] = [GovkitError]
    while pending:
        cls = pending.pop()
        if cls not in found and cls.__module__ == "govkit.errors":
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found


def literal_codes() -> dict[str, str]:
    """Codes written as literals where errors and failed checks are made, and where.

    ``code="..."`` and ``required="..."`` keywords, the second argument of the CLI's
    error classes and of ``Check.failed``, and ``code = "..."`` assignments.
    """
    found: dict[str, str] = {}

    def keep(node: ast.expr, where: str) -> None:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and CODE.fullmatch(node.value)
        ):
            found.setdefault(node.value, where)

    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_messages.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                for keyword in node.keywords:
                    if keyword.arg in ("code", "required"):
                        keep(keyword.value, where)
                if (
                    name in ("CliUsageError", "CliEnvironmentError", "failed")
                    and len(node.args) >= 2
                ):
                    keep(node.args[1], where)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                named = any(
                    (isinstance(t, ast.Name) and t.id == "code")
                    or (isinstance(t, ast.Attribute) and t.attr == "code")
                    for t in targets
                )
                if named and node.value is not None:
                    keep(node.value, where)
            elif isinstance(node, ast.FunctionDef):
                # a default code: def __init__(self, message, code: str = "cli.usage")
                positional = node.args.posonlyargs + node.args.args
                defaults = node.args.defaults
                named = positional[len(positional) - len(defaults) :]
                pairs = list(zip(named, defaults, strict=True))
                pairs += list(zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True))
                for arg, default in pairs:
                    if arg.arg == "code" and default is not None:
                        keep(default, where)
    return found


def documented_cli_codes() -> set[str]:
    """The ``cli.*`` codes docs/errors.rst lists for the command."""
    page = (ROOT / "docs" / "errors.rst").read_text(encoding="utf-8")
    return set(re.findall(r"^   \* - ``(cli\.[a-z_]+)``", page, flags=re.MULTILINE))


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def all_codes() -> dict[str, str]:
    codes = {cls.code: cls.__name__ for cls in error_classes()}
    codes |= {code: f"literal at {where}" for code, where in literal_codes().items()}
    codes |= dict.fromkeys(documented_cli_codes(), "docs/errors.rst")
    return codes


# --- the enumeration itself can find what it must --------------------------------------


def test_the_walk_finds_every_class_of_the_tree_and_the_literal_codes() -> None:
    names = {cls.__name__ for cls in error_classes()}
    exported = {n for n in errors_module.__all__ if isinstance(getattr(errors_module, n), type)}
    assert names == exported
    literals = literal_codes()
    # the CLI's own codes are raised as literals (and its error classes' defaults)
    assert {"cli.no_such_file", "cli.file_exists", "cli.usage", "cli.environment"} <= set(literals)
    assert {"cli.usage", "cli.file_exists", "cli.io"} <= documented_cli_codes()


# --- completeness --------------------------------------------------------------------------


def test_every_error_code_has_a_message_in_both_languages() -> None:
    missing = sorted(
        f"{code} ({source})" for code, source in all_codes().items() if code not in MESSAGES
    )
    assert missing == [], "add these codes to govkit/_messages.py, in English and Chinese"


def test_the_catalogue_holds_no_message_for_a_code_nothing_raises() -> None:
    known = set(all_codes())
    stale = sorted(key for key in MESSAGES if key.split("#", 1)[0] not in known)
    assert stale == []


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_each_message_is_complete_and_consistent(key: str) -> None:
    variants = MESSAGES[key]
    assert variants, key
    assert LANGUAGES == ("en", "zh")
    for english, chinese in variants:
        assert english.strip(), key
        assert chinese.strip(), key
        assert english == english.strip(), key
        assert chinese == chinese.strip(), key
        assert not CJK.search(english), f"{key}: the English message holds Chinese"
        assert CJK.search(chinese), f"{key}: the Chinese message holds no Chinese"
        assert placeholders(english) == placeholders(chinese), (
            f"{key}: the two languages name different placeholders"
        )
        english.format_map(dict.fromkeys(placeholders(english), "x"))
        chinese.format_map(dict.fromkeys(placeholders(chinese), "x"))
    if "#" not in key:
        # the last variant of a code needs no context: any error of the code renders
        assert placeholders(variants[-1][0]) == set(), f"{key}: no variant without context"


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.code)
def test_every_error_renders_in_chinese_and_keeps_its_english(cls: type[GovkitError]) -> None:
    required = {"required": "high"} if cls.__name__ == "InsufficientAssurance" else {}
    error = cls("the English message", **required)
    assert render_message(error, "en") == "the English message"
    chinese = render_message(error, "zh")
    assert CJK.search(chinese)
    assert "{" not in chinese
    assert error.code == cls.code  # rendering changes no code


# --- the words of the field --------------------------------------------------------------

FIELD_WORDS = {
    "certificate.revoked": "吊销",
    "certificate.suspended": "暂停",
    "certificate.expired": "有效期",
    "certificate.not_yet_valid": "有效期",
    "certificate.status_unknown": "吊销",
    "certificate.status_stale": "状态列表",
    "certificate.invalid": "电子证照",
    "certificate.unknown_key": "签发机关",
    "certificate.issuer_not_allowed": "签发机关",
    "trust.invalid": "信任列表",
    "trust.stale": "信任列表",
    "trust.unavailable": "信任列表",
    "status.invalid": "状态列表",
    "token.invalid": "身份令牌",
    "token.expired": "身份令牌",
    "token.invalid_signature": "签名",
    "audit.verification_failed": "审计日志",
    "audit.checkpoint_signature": "检查点",
    "payment.bad_signature": "回调",
    "payment.invalid": "无效",
    "certificate.data_invalid": "无效",
}


@pytest.mark.parametrize(("code", "word"), sorted(FIELD_WORDS.items()))
def test_chinese_messages_use_the_words_of_the_field(code: str, word: str) -> None:
    assert word in message_for(code, "zh")


# --- rendering -------------------------------------------------------------------------------


def test_a_licence_field_error_names_the_field_in_both_languages() -> None:
    error = LicenceDataInvalid("licence field 'name' is missing", field="name", reason="missing")
    assert render_message(error, "zh") == "缺少证照字段“name”"
    assert message_for(error.code, "en", **error.context) == "licence field 'name' is missing"
    # without the field in the context, a message that needs none
    assert render_message(LicenceDataInvalid(reason="missing"), "zh") == "缺少必需的证照字段"


def test_the_reason_picks_its_own_wording() -> None:
    assert (
        render_message(QrNotFound("x", reason="not_an_image"), "zh") == "文件不是 PNG 或 JPEG 图片"
    )
    assert render_message(QrNotFound("x", reason="no_qr"), "zh") == "未能从图片中读取到二维码"


@pytest.mark.parametrize(
    ("tag", "chinese"),
    [
        ("zh", True),
        ("zh-CN", True),
        ("zh_CN.UTF-8", True),
        ("ZH_tw", True),
        ("en", False),
        ("en_GB.UTF-8", False),
        ("fr", False),
        ("", False),
    ],
)
def test_language_tags(tag: str, chinese: bool) -> None:
    shown = render_message(CertificateRevoked("the licence is revoked"), tag)
    assert (shown == "电子证照已被吊销") is chinese
    assert (shown == "the licence is revoked") is not chinese


def test_a_language_that_is_not_text_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        render_message(CertificateRevoked(), None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        message_for("certificate.revoked", b"zh")  # type: ignore[arg-type]


def test_an_unknown_code_gets_a_generic_message_naming_it() -> None:
    assert message_for("note.status_unknown", "zh") == "govkit 错误（note.status_unknown）"
    assert message_for("note.status_unknown", "en") == "govkit error (note.status_unknown)"


def test_an_application_subclass_falls_back_to_its_base_message() -> None:
    class NoteRevoked(CertificateRevoked):
        """A note was revoked."""

        code = "note.revoked"

    assert render_message(NoteRevoked(), "zh") == "电子证照已被吊销"


def test_injected_control_characters_and_long_values_are_not_shown_as_given() -> None:
    """A context value crafted to move the cursor or fake a line (a field name read from a
    forged licence) is shown as one line, cut short."""
    hostile = "name\x1b[2J\nVALID\u202e" + "x" * 500
    shown = render_message(LicenceDataInvalid(field=hostile, reason="missing"), "zh")
    assert "\x1b" not in shown
    assert "\n" not in shown
    assert "\u202e" not in shown
    assert len(shown) < 120
    assert all(unicodedata.category(c)[0] != "C" for c in shown)


def test_only_the_placeholders_of_the_message_are_filled_from_the_context() -> None:
    error = CertificateRevoked("x", kid="abc", secret_looking="do-not-show")
    assert "do-not-show" not in render_message(error, "zh")


def test_lists_are_joined_in_the_reader_s_language() -> None:
    context: dict[str, Any] = {
        "reason": "unknown_type",
        "given": "pasport",
        "suggestions": ("passport",),
        "valid_types": ("passport", "driving-licence"),
    }
    assert message_for("certificate.data_invalid", "zh", **context) == (
        "未知的证照类型“pasport”（是否为 passport？）；有效类型：passport、driving-licence"
    )
    assert message_for("certificate.data_invalid", "en", **context) == (
        "unknown licence type 'pasport' (did you mean passport?); "
        "the valid types are passport, driving-licence"
    )


def test_an_unknown_licence_type_suggests_the_closest_type_first() -> None:
    from govkit.certificates import LicenceRegistry  # noqa: PLC0415

    with pytest.raises(LicenceDataInvalid) as caught:
        LicenceRegistry.default().get("driving-licnce")
    error = caught.value
    assert error.context["reason"] == "unknown_type"
    assert error.context["suggestions"][0] == "driving-licence"
    assert "passport" in error.context["valid_types"]
    assert "did you mean driving-licence" in error.message
    assert "是否为 driving-licence" in render_message(error, "zh")


def test_an_unknown_licence_type_that_is_not_a_type_name_is_not_echoed() -> None:
    from govkit.certificates import LicenceRegistry  # noqa: PLC0415

    with pytest.raises(LicenceDataInvalid) as caught:
        LicenceRegistry.default().get("张三 110105194912310029")
    error = caught.value
    assert "given" not in error.context
    assert "张三" not in error.message
    assert "张三" not in render_message(error, "zh")


def test_a_missing_or_unknown_licence_field_is_named_with_the_closest_field() -> None:
    from govkit.certificates import LicenceRegistry  # noqa: PLC0415

    driving = LicenceRegistry.default().get("driving-licence")
    with pytest.raises(LicenceDataInvalid) as caught:
        driving.validate({"name": "李四"})
    assert caught.value.context["field"] == "licence_class"
    assert "licence field 'licence_class' is missing" in caught.value.message
    with pytest.raises(LicenceDataInvalid) as caught:
        driving.validate({"nmae": "李四"})
    assert caught.value.context["field"] == "nmae"
    assert caught.value.context["suggestions"][0] == "name"
    assert "did you mean 'name'" in caught.value.message
