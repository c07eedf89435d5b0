"""What licence and presentation reports share: the check, the verdict, the trace.

The check and the verdict are :mod:`govkit.report`'s, the same for every report govkit
makes; the names here are kept for callers.
"""

from __future__ import annotations

from collections.abc import Callable

from govkit._messages import DETAILS
from govkit.report import Check, Report

__all__ = [
    "STATUS_CHECKED",
    "STATUS_NOT_CHECKED",
    "STATUS_SKIPPED",
    "CertificateCheck",
    "ChecksVerdict",
    "Trace",
]

#: The ``status`` check's detail when the issuer's status list says the licence is valid.
STATUS_CHECKED = DETAILS["status.checked"][0]
#: The ``status`` check's detail under ``unsafe_skip_status`` (the check is not performed).
STATUS_SKIPPED = DETAILS["status.skipped"][0]
#: Said in plain words below a valid licence or presentation whose status was skipped.
STATUS_NOT_CHECKED = (
    "撤销状态未检查 Revocation was NOT checked (unsafe_skip_status): "
    "a revoked or suspended licence would pass."
)


#: One check of a :class:`CertificateReport` or a :class:`PresentationReport` (the name
#: before :class:`govkit.report.Check`). ``ok`` is ``None`` for a check not performed
#: (the ``status`` check under ``unsafe_skip_status``): never counted as passed.
CertificateCheck = Check


class ChecksVerdict(Report):
    """The base of the licence and presentation reports: :class:`govkit.report.Report`."""

    __slots__ = ()


class Trace:
    """Records each passed check when a report is wanted; costs nothing otherwise."""

    def __init__(self, record: Callable[[CertificateCheck], None] | None) -> None:
        self._record = record

    @property
    def recording(self) -> bool:
        """Whether checks are recorded (a report is wanted): values that only a
        report shows need not be computed otherwise."""
        return self._record is not None

    def ok(self, name: str, key: str, /, **values: object) -> None:
        """Record that the check ``name`` passed; its detail is the catalogue message
        ``key`` (:data:`govkit._messages.DETAILS`) filled with ``values``."""
        if self._record is not None:
            self._record(CertificateCheck.described(name, True, key, **values))

    def skipped(self, name: str, key: str, /, **values: object) -> None:
        """Record that the check ``name`` was not performed (``ok`` is ``None``)."""
        if self._record is not None:
            self._record(CertificateCheck.described(name, None, key, **values))
