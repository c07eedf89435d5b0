"""The ``govkit`` command in Chinese and English: its messages, the language, and tables.

Every line the command prints for people (verdicts, check names, status lines, hints,
its own errors, table headings) is looked up here by key with :func:`t`, in the
language the user reads. The language is ``--lang zh|en``, else the first of
``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set: Chinese when it starts with
``zh`` (``zh_CN.UTF-8``), English otherwise. Errors of the library are rendered with
:func:`govkit.errors.render_message`; the codes never change with the language.

Only the command reads the environment; the library never does. Help texts
(``--help``) are English.

Tables align by display width: a Chinese character takes two columns on a terminal
(East Asian Width ``W`` or ``F``), so :func:`pad` and :func:`table` count it twice.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "display_width",
    "language_from",
    "pad",
    "placeholders",
    "t",
    "table",
    "term",
]

#: The languages of the command.
LANGUAGES: Final = ("en", "zh")
#: The locale variables read for the language, the first one set wins (POSIX order).
LOCALE_VARIABLES: Final = ("LC_ALL", "LC_MESSAGES", "LANG")


def language_from(flag: str | None, environ: Mapping[str, str]) -> str:
    """``flag`` (``--lang``) if given, else ``zh`` when the first locale variable set
    starts with ``zh``, else ``en``."""
    if flag:
        return "zh" if flag.lower().startswith("zh") else "en"
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: 2 for wide and full-width characters, 0 for
    combining marks and format characters, 1 for the others."""
    cells = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        cells += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return cells


def pad(text: str, cells: int) -> str:
    """``text`` followed by spaces up to ``cells`` display columns."""
    return text + " " * max(0, cells - display_width(text))


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Rows under headers, each column as wide as its widest cell in display columns."""
    widths = [display_width(h) for h in headers]
    for row in rows:
        widths = [max(w, display_width(c)) for w, c in zip(widths, row, strict=True)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a message template fills."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def t(key: str, lang: str, /, **values: object) -> str:
    """The message ``key`` in ``lang`` (``en`` or ``zh``), its placeholders filled.

    Raises:
        KeyError: no message has that key (a test finds every key the command uses).
    """
    english, chinese = MESSAGES[key]
    return (chinese if lang == "zh" else english).format_map(values)


def term(group: str, name: str, lang: str) -> str:
    """A word of the command's vocabulary (a check's name, a kind of report), in
    ``lang``: the entry ``group.name`` when there is one, else ``name`` as it is (names
    made at run time, such as ``party2.purpose``, keep their last part translated)."""
    entry = MESSAGES.get(f"{group}.{name}")
    if entry is not None:
        return entry[1] if lang == "zh" else entry[0]
    head, dot, last = name.rpartition(".")
    if dot:
        entry = MESSAGES.get(f"{group}.{last}")
        if entry is not None:
            return f"{head}.{entry[1] if lang == 'zh' else entry[0]}"
    return name


#: key -> (English, Chinese). Both name the same placeholders (a test checks).
MESSAGES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        # -- outcome of a command, failures ----------------------------------------
        "label.invalid": ("INVALID", "无效"),
        "label.error": ("ERROR", "错误"),
        "label.ok": ("OK", "通过"),
        "label.warning": ("WARNING", "警告"),
        "label.hint": ("hint", "提示"),
        "fail.line": ("{label}: {message} [{code}]", "{label}：{message} [{code}]"),
        "hint.line": ("{label}: {hint}", "{label}：{hint}"),
        "usage.command_required": ("a command is required", "需要指定命令"),
        "usage.argparse": (
            "{prog}: error: {message}",
            "{prog}：命令参数有误：{message}（查看帮助：{prog} --help）",
        ),
        "io.failed": ("{reason}", "{reason}"),
        "io.failed_file": ("{reason}: {file}", "{reason}：{file}"),
        "interrupted": ("interrupted", "已中断"),
        "version": ("govkit {version}", "govkit {version}"),
    }
)
