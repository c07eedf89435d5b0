"""The one renderer of reports: every ``verify`` path of the command prints through it.

A :class:`govkit.report.Report` is printed as JSON with ``--json`` (exactly
:meth:`~govkit.report.Report.to_dict`) and otherwise as text: the verdict, one line per
check (``✓`` passed, ``✗`` failed with its code, ``not checked``), then what was found.
The status line on stderr says the verdict in words, and which checks were NOT made.
The verdict is the library's (:attr:`~govkit.report.Report.valid`): the command only
renders it, and exits 1 when it is "invalid".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from govkit.cli._app import CliInvalid, Output, hint
from govkit.cli._i18n import display_width, pad, t, term
from govkit.errors import message_for
from govkit.report import Check, Report

__all__ = ["MARKS", "emit_report", "render_report"]

#: The mark of each outcome of a check, passed, failed, not performed: a catalogue key
#: (:mod:`govkit.cli._i18n`).
MARKS: Final = {True: "mark.passed", False: "mark.failed", None: "mark.not_checked"}

#: What a check that was not made leaves open, in words: the catalogue key of each check
#: name, or of the part of the name after its last dot (``party1.purpose``,
#: ``Signature1.timestamp``).
_UNCHECKED: Final = {
    "status": "unchecked.status",
    "licence.status": "unchecked.licence_status",
    "revocation": "unchecked.revocation",
    "columns": "unchecked.columns",
    "consistency": "unchecked.consistency",
    "purpose": "unchecked.purpose",
    "roles": "unchecked.roles",
    "timestamp": "unchecked.timestamp",
    "origin": "unchecked.origin",
    "merchant": "unchecked.merchant",
}


def _unchecked_key(name: str) -> str | None:
    return _UNCHECKED.get(name) or _UNCHECKED.get(name.rsplit(".", 1)[-1])


def _detail(check: Check, lang: str) -> str:
    """The check's detail line: in Chinese, a failure says what is wrong from its code,
    a check not made says what it leaves open, and a passed check's detail is the
    library's in that language (:meth:`~govkit.report.Check.detail_in`: the values in
    it, dates, key ids and numbers, are shown as they are)."""
    if lang == "zh" and check.ok is False and check.code is not None:
        return message_for(check.code, "zh")
    key = _unchecked_key(check.name) if check.ok is None else None
    if lang == "zh" and key is not None:
        return t(key, lang)
    return check.detail_in(lang)


def render_report(report: Report, title: str, lang: str = "en") -> str:
    """The report as text in ``lang``: ``TITLE: VALID`` (or ``INVALID [code]``), a line
    per check, then the report's :meth:`~govkit.report.Report.summary`."""
    if report.valid:
        verdict = t("verdict.valid", lang)
    elif report.code is None:
        verdict = t("verdict.nothing_checked", lang)
    else:
        verdict = t("verdict.invalid", lang, code=report.code)
    lines = [t("verdict.line", lang, title=title, verdict=verdict)]
    marks = {ok: t(key, lang) for ok, key in MARKS.items()}
    names = [term("check", c.name, lang) for c in report.checks]
    mark_width = max(display_width(mark) for mark in marks.values())
    name_width = max((display_width(n) for n in names), default=0)
    for check, name in zip(report.checks, names, strict=True):
        code = f" [{check.code}]" if check.ok is False else ""
        line = f"  {pad(marks[check.ok], mark_width)}  {pad(name, name_width)}  "
        lines.append((line + _detail(check, lang) + code).rstrip())
    lines += report.summary_in(lang)
    return "\n".join(lines)


def _unchecked(names: Iterable[str], lang: str) -> list[str]:
    said: list[str] = []
    for name in names:
        key = _unchecked_key(name)
        words = (
            t(key, lang)
            if key is not None
            else t("unchecked.other", lang, name=term("check", name, lang))
        )
        if words not in said:
            said.append(words)
    return said


def emit_report(
    report: Report, out: Output, *, title: str, ok_text: str, partly_text: str | None = None
) -> int:
    """Print ``report`` (JSON or text) and its verdict in words; exit 0, or 1 if invalid.

    ``title`` names what was verified, ``ok_text`` says what a valid report established
    when every check was made, ``partly_text`` (default: ``the TITLE is genuine``) when
    some were not, followed by what was NOT checked; all three in ``out``'s language.

    Raises:
        CliInvalid: the report is not valid (after printing it): exit 1.
    """
    lang = out.lang
    out.data(report.to_dict(), text=render_report(report, title, lang))
    if not report.valid:
        failed = next((c for c in report.checks if c.ok is False), None)
        reason = "" if failed is None else _detail(failed, lang)
        key = "report.failed_because" if reason else "report.failed"
        out.say(key, label=out.t("label.invalid"), title=title, reason=reason, code=report.code)
        advice = hint(report.code, lang)
        if advice is not None:
            out.say("hint.line", label=out.t("label.hint"), hint=advice)
        raise CliInvalid
    if report.skipped:
        said = out.t("list.separator").join(_unchecked(report.skipped, lang))
        what = partly_text or out.t("report.genuine", title=title)
        out.say("report.ok_partly", label=out.t("label.ok"), what=what, unchecked=said)
    else:
        out.say("report.ok", label=out.t("label.ok"), what=ok_text)
    return 0
