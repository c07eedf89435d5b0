"""What licence and presentation reports share: one check, the verdict, the trace."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CertificateCheck", "ChecksVerdict", "Trace"]


@dataclass(frozen=True)
class CertificateCheck:
    """One check of a :class:`CertificateReport` or a :class:`PresentationReport`."""

    name: str
    ok: bool
    code: str | None = None
    detail: str = ""


class ChecksVerdict:
    """The verdict of a report from its ``checks`` (a mixin for the frozen reports)."""

    checks: Sequence[CertificateCheck]
    kind: str

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def code(self) -> str | None:
        """The code of the first failed check, if any."""
        return next((c.code for c in self.checks if not c.ok), None)

    def _report_json(self, name: str, found: dict[str, Any] | None) -> dict[str, Any]:
        """``valid``, ``kind``, ``code``, ``checks``, then ``name``: what was found."""
        return {
            "valid": self.ok,
            "kind": self.kind,
            "code": self.code,
            "checks": [
                {"name": c.name, "ok": c.ok, "code": c.code, "detail": c.detail}
                for c in self.checks
            ],
            name: found,
        }


class Trace:
    """Records each passed check when a report is wanted; costs nothing otherwise."""

    def __init__(self, record: Callable[[CertificateCheck], None] | None) -> None:
        self._record = record

    def ok(self, name: str, detail: str) -> None:
        """Record that the check ``name`` passed."""
        if self._record is not None:
            self._record(CertificateCheck(name, True, None, detail))
