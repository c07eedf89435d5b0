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

from govkit.cli._app import HINTS, CliInvalid, Output
from govkit.report import Report

__all__ = ["MARKS", "emit_report", "render_report"]

#: The mark of each outcome of a check: passed, failed, not performed.
MARKS: Final = {True: "✓", False: "✗", None: "not checked"}

#: What a check that was not made leaves open, in words (by check name, or the part of
#: the name after its last dot: ``party1.purpose``, ``Signature1.timestamp``).
_UNCHECKED: Final = {
    "status": "revocation was NOT checked (--unsafe-skip-status)",
    "licence.status": "the licence's revocation was NOT checked (--unsafe-skip-status)",
    "revocation": "revocation was NOT checked (no revocation store)",
    "columns": "the entries' query columns were NOT checked (--deep)",
    "consistency": "consistency with a saved checkpoint was NOT checked (--checkpoint)",
    "purpose": "the signatures' purpose was NOT checked (--purpose)",
    "roles": "the chain's roles were NOT checked (--roles)",
    "timestamp": "the signing time is the signer's claim: no trusted timestamp",
    "origin": "the log's origin was NOT checked",
    "merchant": "the merchant was NOT checked",
}


def render_report(report: Report, title: str) -> str:
    """The report as text: ``TITLE: VALID`` (or ``INVALID [code]``), a line per check,
    then the report's :meth:`~govkit.report.Report.summary`."""
    if report.valid:
        verdict = "VALID"
    elif report.code is None:
        verdict = "INVALID (nothing was checked)"
    else:
        verdict = f"INVALID [{report.code}]"
    lines = [f"{title}: {verdict}"]
    mark_width = max(len(mark) for mark in MARKS.values())
    name_width = max((len(c.name) for c in report.checks), default=0)
    for check in report.checks:
        mark, name = MARKS[check.ok], check.name
        code = f" [{check.code}]" if check.ok is False else ""
        lines.append(f"  {mark:<{mark_width}}  {name:<{name_width}}  {check.detail}{code}".rstrip())
    lines += report.summary()
    return "\n".join(lines)


def _unchecked(names: Iterable[str]) -> list[str]:
    said: list[str] = []
    for name in names:
        words = _UNCHECKED.get(name) or _UNCHECKED.get(
            name.rsplit(".", 1)[-1], f"{name} was NOT checked"
        )
        if words not in said:
            said.append(words)
    return said


def emit_report(
    report: Report, out: Output, *, title: str, ok_text: str, partly_text: str | None = None
) -> int:
    """Print ``report`` (JSON or text) and its verdict in words; exit 0, or 1 if invalid.

    ``ok_text`` says what a valid report established when every check was made;
    ``partly_text`` (default: ``the TITLE is genuine``) when some were not, followed by
    what was NOT checked.

    Raises:
        CliInvalid: the report is not valid (after printing it): exit 1.
    """
    out.data(report.to_dict(), text=render_report(report, title))
    if not report.valid:
        out.status(f"INVALID: the {title} failed verification [{report.code}]")
        hint = HINTS.get(report.code or "")
        if hint is not None:
            out.status(f"hint: {hint}")
        raise CliInvalid
    if report.skipped:
        said = "; ".join(_unchecked(report.skipped))
        out.status(f"OK: {partly_text or f'the {title} is genuine'}; {said}")
    else:
        out.status(f"OK: {ok_text}")
    return 0
