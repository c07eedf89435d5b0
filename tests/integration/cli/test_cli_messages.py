"""Every message of the ``govkit`` command exists in Chinese and English, and every option
says what it is for.

Three kinds of evidence:

* the catalogue (``govkit/cli/_i18n.py``): each message in both languages, non-empty,
  with the same placeholders; every key the command's code names exists, and every
  entry is named somewhere (no dead translations);
* a scan of ``govkit/cli``: no English (or Chinese) sentence written as a literal outside
  the catalogue, and nothing printed (``out.status``, ``out.data(text=)``, ``print``,
  ``write``, table headings, argparse type errors) from a literal holding words;
* the argument parser: every option and argument of every command has help text, and
  ``govkit issue --help`` lists the licence types.

The scan is checked against small samples of code that must fail it, so a scanner that
has stopped looking fails too.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from govkit.certificates import LicenceRegistry
from govkit.cli import EXIT_OK, main
from govkit.cli._app import build_parser
from govkit.cli._i18n import MESSAGES, placeholders

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "govkit" / "cli"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
#: Two words of letters: a sentence, or a piece of one.
PROSE = re.compile(r"[A-Za-z]{2,}[^\S\n]+[A-Za-z]{2,}|[\u4e00-\u9fff]")
#: Letters: a word a user would read.
WORD = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]")
KEY = re.compile(r"[a-z_]+(?:\.[a-z0-9_]+)+")

#: Messages the same in both languages: marks, templates of codes and numbers.
NEUTRAL = {
    "mark.passed",
    "mark.failed",
    "version",
    "io.failed",
    "demo.step",
    "demo.column.name_zh",  # the demo's column of Chinese names is headed in Chinese
    "demo.column.http",
    "payments.column.http",
}

#: Calls whose first argument is a message key.
KEYED_CALLS = {"t", "say", "CliUsageError", "CliEnvironmentError", "Key", "section"}
#: Keyword arguments that are help or data for a library call, not printed messages:
#: argparse's help texts (English; ``--help`` is not translated) and the ``what`` a
#: library error names (the error is rendered from its code in Chinese).
ALLOWED_KEYWORDS = {"help", "description", "epilog", "metavar", "title", "what"}
#: argparse calls whose positional arguments are titles or help texts.
ARGPARSE_CALLS = {"add_argument_group", "add_mutually_exclusive_group"}
#: Literals that are data, not messages: the demo's sample values and the help texts of
#: ``govkit verify``'s kinds (kept in a list, then given as ``help=``).
ALLOWED_LITERALS = {
    "张三",
    "粤A12345",
    "示例",
    "广东省政务服务数据管理局（演示）",
    "govkit 演示根证书 (demo CA)",
    "电子证照签发",
    "交通违法罚款",
    "a licence: GK1: payload, .txt file or QR picture",
    "a holder's presentation: GKP1: text or its picture",
    "a signed PDF (PAdES) and the licence it embeds",
    "an identity token (compact JWS)",
    "any file, against a detached signature",
    "the inbox: sqlite path or postgresql:// URL",
    "SQLite file path or postgresql:// URL",
}


def call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def strings(node: ast.AST) -> Iterator[ast.Constant]:
    """The string constants in ``node``, skipping dictionary keys (JSON member names)."""
    skip = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Dict):
            skip |= {id(k) for k in inner.keys if k is not None}
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Constant)
            and isinstance(inner.value, str)
            and id(inner) not in skip
        ):
            yield inner


def inside_keyed_call(node: ast.AST, up: dict[int, ast.AST]) -> bool:
    while id(node) in up:
        node = up[id(node)]
        if isinstance(node, ast.Call) and call_name(node) in KEYED_CALLS:
            return True
    return False


def allowed_context(node: ast.AST, up: dict[int, ast.AST]) -> bool:
    """Inside argparse help, a ``what=`` for a library call, argparse's group titles, or
    a ``__doc__`` written by code."""
    child = node
    while id(child) in up:
        parent = up[id(child)]
        if isinstance(parent, ast.keyword) and parent.arg in ALLOWED_KEYWORDS:
            return True
        if isinstance(parent, ast.Call) and call_name(parent) in ARGPARSE_CALLS:
            return True
        if isinstance(parent, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "__doc__" for t in parent.targets
        ):
            return True
        child = parent
    return False


def prose_literals(source: str) -> list[tuple[int, str]]:
    """Literal sentences outside the catalogue, help texts and allowed data."""
    tree = ast.parse(source)
    skip, up = docstrings(tree), parents(tree)
    found = []
    for node in strings(tree):
        if id(node) in skip or node.value in ALLOWED_LITERALS:
            continue
        if not PROSE.search(node.value) or allowed_context(node, up):
            continue
        found.append((node.lineno, node.value))
    return found


def key_parts(expression: ast.AST) -> set[int]:
    """Literals that are parts of message keys: the names a comprehension looks up
    (``[out.t(f"db.column.{n}") for n in ("component", "done")]``)."""
    found: set[int] = set()
    for node in ast.walk(expression):
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            element = node.elt
            if isinstance(element, ast.Call) and call_name(element) in KEYED_CALLS:
                for generator in node.generators:
                    found |= {id(c) for c in strings(generator.iter)}
    return found


def _sink_arguments(node: ast.Call) -> list[ast.expr]:
    """The arguments of a call that end up printed."""
    name = call_name(node)
    if name in ("status", "print", "write", "progress", "ArgumentTypeError"):
        return list(node.args[:1])
    if name == "data":
        texts = [k.value for k in node.keywords if k.arg == "text"]
        return texts + list(node.args[1:2])
    if name == "table":
        return list(node.args[1:2])
    return []


def printed_words(source: str) -> list[tuple[int, str]]:
    """Words printed from a literal: in a sink's argument (or in what a name given to a
    sink was assigned in the same function), outside a catalogue lookup."""
    tree = ast.parse(source)
    up = parents(tree)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        assigned: dict[str, list[ast.expr]] = {}
        for node in ast.walk(function):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            for argument in _sink_arguments(node):
                expressions = [argument]
                if isinstance(argument, ast.Name):
                    expressions += assigned.get(argument.id, [])
                for expression in expressions:
                    parts = key_parts(expression)
                    for constant in strings(expression):
                        if id(constant) in parts or inside_keyed_call(constant, up):
                            continue
                        if WORD.search(constant.value):
                            found.append((constant.lineno, constant.value))
    return found


def cli_sources() -> list[Path]:
    return sorted(p for p in CLI.glob("*.py") if p.name != "_i18n.py")


# --- the scanner finds what it must --------------------------------------------------------

MUST_FAIL = {
    "literal status": 'def f(out):\n    out.status("wrote the file")\n',
    "f-string status": 'def f(out, p):\n    out.status(f"wrote {p}")\n',
    "one word in data text": 'def f(out):\n    out.data({}, text="VALID")\n',
    "a variable printed": 'def f(out):\n    text = "nothing here"\n    out.data({}, text=text)\n',
    "table headings": 'def f(out, rows):\n    return table(rows, ("agency", "kid"))\n',
    "stderr": 'import sys\ndef f():\n    sys.stderr.write("error: broken\\n")\n',
    "usage error text": 'def f():\n    raise CliUsageError(f"give --a or --b, not both")\n',
    "chinese literal": 'def f(out):\n    x = "吊销"\n',
    "argparse type error": ('def f():\n    raise argparse.ArgumentTypeError("expected a date")\n'),
}


@pytest.mark.parametrize("source", MUST_FAIL.values(), ids=list(MUST_FAIL))
def test_the_scan_finds_messages_written_as_literals(source: str) -> None:
    assert prose_literals(source) or printed_words(source) or keys_named(source)[1]


MUST_PASS = (
    'def f(out, p):\n    out.say("wrote", path=p)\n'
    'def g(out, rows):\n    return table(rows, [out.t("trust.column.kid")])\n'
    'def h(out):\n    out.data({"sequence": 1}, text=out.t("wrote", path="x") + "\\n")\n'
    'def i(p):\n    p.add_argument("--x", help="an option with help")\n'
)


def test_the_scan_accepts_messages_from_the_catalogue() -> None:
    assert prose_literals(MUST_PASS) == []
    assert printed_words(MUST_PASS) == []
    used, unknown = keys_named(MUST_PASS)
    assert unknown == []
    assert {"wrote", "trust.column.kid"} <= used


# --- the scan over govkit/cli -----------------------------------------------------------------


def test_no_message_is_written_as_a_literal_outside_the_catalogue() -> None:
    found = [
        f"{path.name}:{line}: {text!r}"
        for path in cli_sources()
        for line, text in prose_literals(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "put these messages in govkit/cli/_i18n.py and look them up with t()"


def test_nothing_is_printed_from_a_literal_holding_words() -> None:
    found = [
        f"{path.name}:{line}: {text!r}"
        for path in cli_sources()
        for line, text in printed_words(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "print catalogue messages: out.say(KEY), out.t(KEY), t(KEY, lang)"


# --- the catalogue ---------------------------------------------------------------------------


def keys_named(source: str) -> tuple[set[str], list[str]]:
    """The message keys ``source`` names, and those it names that the catalogue lacks.

    A key is the first argument of a keyed call (``t``, ``out.t``, ``out.say``, the CLI's
    errors, ``Key``, ``section``), or any literal that is a key; an f-string
    ``"prefix.{x}"`` or a literal ``"prefix."`` names every key under the prefix, and so
    does ``term("group", ...)``.
    """
    tree = ast.parse(source)
    used: set[str] = set()
    unknown: list[str] = []

    def prefix_used(prefix: str) -> None:
        matched = {k for k in MESSAGES if k.startswith(prefix)}
        if not matched:
            unknown.append(prefix + "*")
        used.update(matched)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = call_name(node)
            first = node.args[0] if node.args else None
            if isinstance(first, ast.IfExp):  # "a.key" if condition else "b.key"
                branches = [first.body, first.orelse]
                if name in KEYED_CALLS and all(isinstance(b, ast.Constant) for b in branches):
                    unknown += [str(b.value) for b in branches if b.value not in MESSAGES]  # type: ignore[attr-defined]
                    first = None
            if name in KEYED_CALLS and first is not None:
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    if first.value not in MESSAGES:
                        unknown.append(first.value)
                elif isinstance(first, ast.JoinedStr):
                    head = first.values[0] if first.values else None
                    if not (isinstance(head, ast.Constant) and str(head.value).endswith(".")):
                        unknown.append(f"<an f-string at line {node.lineno}>")
                elif name in ("CliUsageError", "CliEnvironmentError"):
                    unknown.append(f"<not a key at line {node.lineno}>")
            if name == "term" and isinstance(first, ast.Constant):
                prefix_used(f"{first.value}.")
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and KEY.fullmatch(str(head.value) + "x"):
                prefix_used(str(head.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in MESSAGES:
                used.add(node.value)
            elif node.value.endswith(".") and KEY.fullmatch(node.value + "x"):
                used |= {k for k in MESSAGES if k.startswith(node.value)}
    return used, unknown


def test_every_key_the_command_names_is_in_the_catalogue() -> None:
    unknown = [
        f"{path.name}: {key}"
        for path in cli_sources()
        for key in keys_named(path.read_text(encoding="utf-8"))[1]
    ]
    assert unknown == []


def test_every_message_of_the_catalogue_is_used() -> None:
    used: set[str] = set()
    for path in cli_sources():
        used |= keys_named(path.read_text(encoding="utf-8"))[0]
    # keys named inside the catalogue itself (Key values) and the checks' names, which
    # the reports of the library give at run time
    unused = sorted(k for k in MESSAGES if k not in used and not k.startswith("check."))
    assert unused == []


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_each_message_exists_in_both_languages_with_the_same_placeholders(key: str) -> None:
    english, chinese = MESSAGES[key]
    assert english.strip(), key
    assert chinese.strip(), key
    assert placeholders(english) == placeholders(chinese), key
    assert not re.search(r"[\u4e00-\u9fff]", english) or key == "demo.column.name_zh", key
    if key not in NEUTRAL:
        assert CJK.search(chinese), f"{key}: the Chinese message holds no Chinese"
        assert chinese != english, key


# --- help text -----------------------------------------------------------------------------


def walk(
    parser: argparse.ArgumentParser, path: str = "govkit"
) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from walk(child, f"{path} {name}")
        else:
            yield path, action


def test_every_option_of_every_command_has_help_text() -> None:
    actions = list(walk(build_parser()))
    assert len({path for path, _ in actions}) > 40  # the walk reaches the subcommands
    missing = sorted(
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, action in actions
        if not action.help or action.help == argparse.SUPPRESS or not action.help.strip()
    )
    assert missing == [], "give these options help="


def test_the_walker_finds_an_option_without_help() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    sub.add_parser("cmd").add_argument("--quiet-option")
    assert [a.dest for _, a in walk(parser) if not a.help] == ["quiet_option"]


def test_issue_help_lists_the_licence_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["issue", "--help"]) == EXIT_OK
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for name in LicenceRegistry.default().names():
        assert name in shown
