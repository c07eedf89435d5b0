"""Check and Report: the one verdict model every ``inspect()`` in govkit returns.

Every verifier comes as a pair. ``verify()`` returns the verified, typed object or raises
a :class:`~govkit.errors.VerificationError`; ``inspect()`` runs the same checks and
returns a :class:`Report`: each :class:`Check` with its name, outcome, code and detail.
Only a ``VerificationError`` becomes a failed check; configuration, store and network
errors raise from ``inspect()`` as they do from ``verify()``, since they say nothing
about the artifact.

A check has three outcomes: passed (``ok`` is ``True``), failed (``False``, with the
code of the error) or *not performed* (``None``): no nonce was given, no revocation
store configured, revocation skipped with an ``unsafe_*`` option. A check that was not
performed never counts as a pass: a report is :attr:`~Report.valid` only when at least
one check was performed and no check failed. A *required* check that could not be
performed is a failure with its own code (:meth:`Check.not_performed` with
``required=``), so a library caller and the ``govkit`` command reach the same verdict.

>>> from dataclasses import dataclass
>>> from govkit.report import Check, Report
>>> @dataclass(frozen=True)
... class NoteReport(Report):
...     checks: tuple[Check, ...]
...     kind: str = "note"
>>> report = NoteReport((
...     Check.passed("signature", "signed by a trusted key"),
...     Check.not_performed("freshness", "no nonce given"),
... ))
>>> report.valid, report.code, report.skipped
(True, None, ('freshness',))
>>> report.to_dict()["checks"][1]
{'name': 'freshness', 'ok': None, 'code': None, 'detail': 'no nonce given'}
>>> NoteReport((
...     Check.passed("signature", "signed by a trusted key"),
...     Check.not_performed("revocation", "no status list", required="note.status_unknown"),
... )).code
'note.status_unknown'

Every report serialises to the same head (:meth:`Report.to_dict`): ``valid``,
``kind``, ``code`` and ``checks``, then members of its kind (the verified claims,
licence, signatures or event). The ``govkit`` command prints exactly this with
``--json`` and renders it as text otherwise, one line per check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from govkit._messages import DETAILS
from govkit.errors import ConfigurationError, GovkitError

__all__ = ["Check", "Report", "summary_line"]


@dataclass(frozen=True, slots=True)
class Check:
    """One check of a :class:`Report`: name, outcome, error code and a detail line.

    Attributes:
        name: what was checked (``signature``, ``expiry``, ``status``).
        ok: ``True`` (passed), ``False`` (failed) or ``None`` (not performed; never
            counted as a pass).
        code: the error code of a failed check (required then); a passed check may
            carry the code of something accepted on purpose (``trust.stale`` under
            ``allow_stale_trust``).
        detail: one line for people, without key material, tokens or personal data.
        detail_key: when the detail is a message of govkit's catalogue, its key:
            :meth:`detail_in` then says it in another language (build such a check
            with :meth:`described`); not part of equality or of :meth:`to_dict`.
        detail_values: the values that fill that message, ``(name, value)`` pairs,
            shown as they are in every language (dates, key ids, counts, names).

    Raises:
        ConfigurationError: the values do not make a check (a failed check without a
            code, an ``ok`` that is not ``True``, ``False`` or ``None``).
    """

    name: str
    ok: bool | None
    code: str | None = None
    detail: str = ""
    detail_key: str | None = field(default=None, compare=False, repr=False)
    detail_values: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigurationError("a check needs a non-empty name")
        if self.ok is not None and not isinstance(self.ok, bool):
            raise ConfigurationError("a check's ok is True, False or None (not performed)")
        if self.code is not None and (not isinstance(self.code, str) or not self.code):
            raise ConfigurationError("a check's code is a non-empty string or None")
        if self.ok is False and self.code is None:
            raise ConfigurationError("a failed check needs the code of its failure")
        if not isinstance(self.detail, str):
            raise ConfigurationError("a check's detail is a string")
        if self.detail_key is not None and self.detail_key not in DETAILS:
            raise ConfigurationError("a check's detail_key names no message of the catalogue")

    @classmethod
    def described(
        cls, name: str, ok: bool | None, key: str, code: str | None = None, /, **values: object
    ) -> Check:
        """A check whose detail is the catalogue message ``key`` filled with ``values``
        (English in :attr:`detail`; any language with :meth:`detail_in`); ``code`` as
        for a check made directly.

        >>> check = Check.described("trust", True, "trust.sequence", sequence=7)
        >>> check.detail, check.detail_in("zh")
        ('trust list #7', '信任列表 #7')

        Raises:
            ConfigurationError: no message has that key, or ``values`` do not fill it.
        """
        entry = DETAILS.get(key)
        if entry is None:
            raise ConfigurationError("a check's detail_key names no message of the catalogue")
        shown = {k: str(v) for k, v in values.items()}
        try:
            detail = entry[0].format_map(shown)
        except KeyError:
            raise ConfigurationError("the values do not fill the check's detail") from None
        return cls(name, ok, code, detail, key, tuple(shown.items()))

    def detail_in(self, lang: str) -> str:
        """The detail in ``lang`` (``en`` or ``zh``): from the catalogue when the check
        has a :attr:`detail_key`, else :attr:`detail` as it is."""
        if self.detail_key is None or not lang.lower().startswith("zh"):
            return self.detail
        return DETAILS[self.detail_key][1].format_map(dict(self.detail_values))

    @property
    def performed(self) -> bool:
        """Whether the check was made (``ok`` is not ``None``)."""
        return self.ok is not None

    @classmethod
    def passed(cls, name: str, detail: str = "") -> Check:
        """A check that passed."""
        return cls(name, True, None, detail)

    @classmethod
    def failed(cls, name: str, code: str, detail: str = "") -> Check:
        """A check that failed with ``code``."""
        return cls(name, False, code, detail)

    @classmethod
    def from_error(cls, name: str, error: GovkitError) -> Check:
        """The failed check ``name`` for ``error``: its code, its message and context.

        The context holds identifiers only (see :mod:`govkit.errors`), so the detail
        is as safe to show as the message.
        """
        where = ", ".join(f"{k}={v}" for k, v in error.context.items())
        return cls(name, False, error.code, error.message + (f" ({where})" if where else ""))

    @classmethod
    def not_performed(cls, name: str, detail: str, *, required: str | None = None) -> Check:
        """A check that was not made; ``detail`` says why.

        ``required`` is the code to fail with when the check is required: a required
        check that could not be made is a failure (``ok`` is ``False``), never a pass
        and never merely "not checked".
        """
        if required is not None:
            return cls(name, False, required, detail)
        return cls(name, None, None, detail)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``name``, ``ok`` (``null`` when not performed), ``code``, ``detail``."""
        return {"name": self.name, "ok": self.ok, "code": self.code, "detail": self.detail}


class Report:
    """The base of every report an ``inspect()`` returns: checks and one verdict.

    A component's report is a frozen dataclass deriving from this class, with a
    ``kind`` (``token``, ``pdf``, ``audit_log``, ...), its ``checks`` in the order they
    were made and what was found. Checks stop at the first failure, so the failed check
    is usually the last one; checks a verifier could not make are listed as not
    performed. The verdict is computed here, the same for every kind.
    """

    __slots__ = ()

    #: What was inspected (``token``, ``payload``, ``pdf``, ``audit_log``, ...).
    kind: str
    #: The checks in the order they were made.
    checks: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        """Whether at least one check was performed and every performed check passed.

        A report without checks, or whose checks were all not performed, is not valid.
        """
        performed = False
        for check in self.checks:
            if check.ok is False:
                return False
            performed = performed or check.ok is True
        return performed

    @property
    def ok(self) -> bool:
        """The same as :attr:`valid` (the name earlier reports used)."""
        return self.valid

    @property
    def code(self) -> str | None:
        """The code of the first failed check; ``None`` when no check failed."""
        return next((c.code for c in self.checks if c.ok is False), None)

    @property
    def skipped(self) -> tuple[str, ...]:
        """The names of the checks that were not performed (``ok`` is ``None``)."""
        return tuple(c.name for c in self.checks if c.ok is None)

    def json_members(self) -> dict[str, Any]:
        """The members of :meth:`to_dict` after the common head (what was found).

        Each kind of report overrides this; none of its names is ``valid``, ``kind``,
        ``code`` or ``checks``.
        """
        return {}

    def summary(self) -> tuple[str, ...]:
        """Lines for people about what was found (the claims, the licence), or none.

        The ``govkit`` command prints them below the checks.
        """
        return ()

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang`` (``en`` or ``zh``).

        Reports whose summary is worded (rather than data, or labelled in both
        languages already) override this with messages of the catalogue; values stay
        as they are.
        """
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``valid``, ``kind``, ``code``, ``checks``, then :meth:`json_members`."""
        head: dict[str, Any] = {
            "valid": self.valid,
            "kind": self.kind,
            "code": self.code,
            "checks": [c.to_dict() for c in self.checks],
        }
        members = self.json_members()
        clash = head.keys() & members.keys()
        if clash:
            raise ConfigurationError(f"a report member may not be named {sorted(clash)[0]!r}")
        return head | members


def summary_line(key: str, lang: str, /, **values: object) -> str:
    """The catalogue message ``key`` (:data:`govkit._messages.DETAILS`) in ``lang``,
    filled with ``values`` as text: a line of a report's :meth:`Report.summary_in`.

    >>> summary_line("summary.log", "zh", size=3)
    '已核验 3 条记录'
    """
    english, chinese = DETAILS[key]
    template = chinese if lang.lower().startswith("zh") else english
    return template.format_map({k: format(v) for k, v in values.items()})
