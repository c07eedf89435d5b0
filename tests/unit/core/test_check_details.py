"""The details of checks, in Chinese and English (``govkit._messages.DETAILS``).

A passed check's detail is a catalogue message filled with values
(:meth:`govkit.report.Check.described`): :meth:`~govkit.report.Check.detail_in` says
it in Chinese with the same values, while the check's ``detail`` (and its JSON) stays
English. Every entry exists in both languages with the same placeholders, and every
entry is used by a verifier.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import replace
from pathlib import Path

import pytest

from govkit._messages import DETAILS
from govkit.errors import ConfigurationError
from govkit.report import Check

ROOT = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")
#: The verifiers whose passed (and not made) checks are worded from the catalogue: identity
#: tokens, the OIDC provider check, PDF and detached signatures, audit logs, licences and
#: presentations. (Payment callbacks keep an adapter's own ``unchecked`` reason as given;
#: their own messages are checked in tests/unit/payments/test_inspect.py.)
VERIFIERS = (
    "identity/_tokens.py",
    "identity/_fapi.py",
    "esign/_detached.py",
    "esign/_verify.py",
    "audit/_log.py",
    "audit/_note.py",
    "certificates/_verifier.py",
    "certificates/_report.py",
)
#: The methods that record a check whose detail is a catalogue key.
RECORDERS = frozenset({"passed", "skipped", "not_performed", "ok"})


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(DETAILS))
def test_each_detail_exists_in_both_languages_with_the_same_placeholders(key: str) -> None:
    english, chinese = DETAILS[key]
    assert english.strip()
    assert chinese.strip()
    assert placeholders(english) == placeholders(chinese), key
    assert CJK.search(chinese), key
    assert not CJK.search(english), key


def test_every_detail_of_the_catalogue_is_used_by_a_verifier() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "govkit").rglob("*.py"))
    named = set(re.findall(r'"([a-z_]+\.[a-z_]+)"', source))
    prefixes = set(re.findall(r'f"([a-z_]+\.[a-z_]+)\{', source))  # f"key{suffix}"
    unused = sorted(
        k for k in DETAILS if k not in named and not any(k.startswith(p) for p in prefixes)
    )
    assert unused == []


def test_a_described_check_says_its_detail_in_chinese_with_its_values_as_they_are() -> None:
    check = Check.described(
        "signature", True, "signature.issuer_kid", agency="Agency X", kid="3cabfa1d3a03830e"
    )
    assert check.detail == "signed by Agency X (kid 3cabfa1d3a03830e)"
    assert check.detail_in("zh") == "由Agency X签名（密钥标识 3cabfa1d3a03830e）"
    assert check.detail_in("zh-CN") == check.detail_in("zh")
    assert check.detail_in("en") == check.detail


def test_a_check_without_a_key_keeps_its_detail_in_every_language() -> None:
    check = Check.passed("note", "a signed note")
    assert check.detail_in("zh") == "a signed note"


def test_the_key_is_not_part_of_equality_or_of_the_json() -> None:
    described = Check.described("trust", True, "trust.sequence", sequence=3)
    plain = Check.passed("trust", "trust list #3")
    assert described == plain
    assert described.to_dict() == plain.to_dict()
    assert set(described.to_dict()) == {"name", "ok", "code", "detail"}


def test_a_renamed_check_keeps_its_detail_key() -> None:
    check = Check.described("status", True, "status.checked")
    renamed = replace(check, name="licence.status")
    assert renamed.detail_in("zh") == DETAILS["status.checked"][1]


def test_a_failed_described_check_keeps_its_code() -> None:
    check = Check.described(
        "trust_freshness",
        False,
        "trust_freshness.expired",
        "trust.stale",
        expired="2026-01-01T00:00:00+00:00",
    )
    assert check.code == "trust.stale"
    assert check.detail_in("zh") == "信任列表已于 2026-01-01T00:00:00+00:00 过期"


def test_an_unknown_detail_key_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Check.described("trust", True, "trust.no_such_detail")
    with pytest.raises(ConfigurationError):
        Check("trust", True, None, "x", "trust.no_such_detail")


def test_a_detail_whose_values_do_not_fill_it_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Check.described("trust", True, "trust.sequence")  # no sequence


def test_a_failed_described_check_without_a_code_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Check.described("trust_freshness", False, "trust_freshness.expired", expired="x")


def _free_text_details(source: str, label: str) -> list[str]:
    """Where the module words a passed or not-made check in English only: a check made
    with ``Check.passed``/``Check.not_performed``/``Check(name, True|None, ...)``, or a
    recorder (``trace.passed``, ``steps.skipped``...) given a text or an f-string instead
    of a catalogue key."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = func.value if isinstance(func, ast.Attribute) else None
        is_check = isinstance(owner, ast.Name) and owner.id in {"Check", "CertificateCheck"}
        where = f"{label}:{node.lineno}"
        if is_check and name in {"passed", "not_performed"}:
            found.append(f"{where} Check.{name}")
        elif name in {"Check", "CertificateCheck"} and len(node.args) >= 2:
            ok = node.args[1]
            if not (isinstance(ok, ast.Constant) and ok.value is False) and not (
                isinstance(ok, ast.Name) and ok.id == "ok"
            ):
                found.append(f"{where} Check(...)")
        elif name in RECORDERS and not is_check:
            found += [f"{where} {said}" for said in _texts(node)]
    return found


def _texts(call: ast.Call) -> list[str]:
    """The texts given to a recorder that are neither a catalogue key nor a check's
    name (an f-string may build a name, ``f"{name}.coverage"``, but no sentence)."""
    said: list[str] = []
    todo: list[ast.AST] = [*call.args, *(k.value for k in call.keywords)]
    while todo:
        part = todo.pop(0)
        if isinstance(part, ast.JoinedStr):
            pieces = [p.value for p in part.values if isinstance(p, ast.Constant)]
            if not all(re.fullmatch(r"[a-z_.]+", str(p)) for p in pieces):
                said.append("f-string")
        elif isinstance(part, ast.Constant) and isinstance(part.value, str):
            if part.value not in DETAILS and not re.fullmatch(r"[a-z_]+", part.value):
                said.append(repr(part.value))
        else:
            todo += ast.iter_child_nodes(part)
    return said


@pytest.mark.parametrize("module", VERIFIERS)
def test_every_passed_or_unmade_check_of_a_verifier_is_worded_from_the_catalogue(
    module: str,
) -> None:
    source = (ROOT / "govkit" / module).read_text(encoding="utf-8")
    assert _free_text_details(source, module) == []


def test_the_scan_finds_a_detail_worded_in_english_only() -> None:
    source = (
        "def f(trace, steps, n):\n"
        "    trace.passed('at most %d bytes', n)\n"
        "    steps.skipped(f'{n} signature(s)')\n"
        "    Check.passed('x', 'fine')\n"
        "    Check('x', None, None, 'not made')\n"
        "    trace.passed('token.size', n)\n"
        "    Check('x', False, 'a.b', 'failed')\n"
    )
    found = _free_text_details(source, "sample.py")
    assert [f.split(" ", 1)[1] for f in found] == [
        "'at most %d bytes'",
        "f-string",
        "Check.passed",
        "Check(...)",
    ]
