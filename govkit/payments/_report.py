"""Reports on payment callbacks: what an adapter's ``parse`` checked, as a verdict.

Each provider adapter has the pair ``parse()`` (the verified :class:`PaymentEvent`, or a
:class:`~govkit.errors.PaymentVerificationError`) and ``inspect()`` (a
:class:`CallbackReport`). ``inspect()`` runs ``parse()`` itself, so both reach the same
verdict by construction; the report names the checks the adapter makes:

* ``signature``: a trusted key (or secret) verifies the signature over the raw body;
* ``timestamp``: the signed time lies within the replay window (Alipay and UnionPay sign
  no time: not performed, the inbox's unique key stops their replays);
* ``decryption``: WeChat Pay's ``resource`` decrypts with the APIv3 key;
* ``merchant``: the callback names the configured merchant or app (not performed when
  none is configured);
* ``format``: the headers and body are well formed and normalise to an event.

A callback that verifies passes every check that was made. A callback that fails fails
exactly one check, the one its error names; the adapter stops at its first failure, and
which of the other checks it had already made depends on the provider, so they are
reported as not established (``ok`` is ``None``), never as passed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from govkit._messages import DETAILS
from govkit.errors import (
    GovkitError,
    PaymentDecryptFailed,
    PaymentKeyUnknown,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
    PaymentTimestampStale,
    VerificationError,
)
from govkit.payments._event import PaymentEvent, PaymentProvider, Provider
from govkit.report import Check, Report, summary_line

__all__ = ["CALLBACK_CHECKS", "NO_SIGNED_TIME", "CallbackReport", "inspect_callback"]

#: The checks each provider's adapter makes, in the order :class:`CallbackReport` lists
#: them.
CALLBACK_CHECKS: Final[Mapping[Provider, tuple[str, ...]]] = {
    Provider.WECHATPAY: ("signature", "timestamp", "decryption", "merchant", "format"),
    Provider.ALIPAY: ("signature", "timestamp", "merchant", "format"),
    Provider.UNIONPAY: ("signature", "timestamp", "merchant", "format"),
    Provider.STRIPE: ("signature", "timestamp", "format"),
    Provider.STANDARD_WEBHOOKS: ("signature", "timestamp", "format"),
}

#: What each check established, when the callback verified: its detail's catalogue key
#: (:data:`govkit._messages.DETAILS`).
_PASSED: Final = {
    "signature": "payment.signature",
    "timestamp": "payment.timestamp",
    "decryption": "payment.decryption",
    "merchant": "payment.merchant",
}
#: The ``timestamp`` check of a provider that signs no time.
NO_SIGNED_TIME: Final = DETAILS["payment.no_signed_time"][0]
#: The catalogue messages an adapter may give as why a check is not made (``unchecked``),
#: as patterns that give back their values: such a detail is said in Chinese too.
_UNCHECKED: Final = tuple(
    (
        key,
        re.compile(
            "".join(
                re.escape(text) + (f"(?P<{name}>.+)" if name else "")
                for text, name, _, _ in string.Formatter().parse(DETAILS[key][0])
            )
        ),
    )
    for key in ("payment.no_signed_time", "payment.no_mchid", "payment.no_mer_id")
)


def _not_made(name: str, why: str) -> Check:
    """The check ``name``, not performed because of ``why``: from the catalogue when
    ``why`` is one of its messages, else as given."""
    for key, pattern in _UNCHECKED:
        match = pattern.fullmatch(why)
        if match:
            return Check.described(name, None, key, **match.groupdict())
    return Check.not_performed(name, why)


def _failed_check(error: GovkitError) -> str:
    """The check an adapter's error is the failure of."""
    if isinstance(error, PaymentTimestampStale):
        return "timestamp"
    if isinstance(error, PaymentDecryptFailed):
        return "decryption"
    if isinstance(error, PaymentMerchantMismatch):
        return "merchant"
    if isinstance(error, (PaymentSignatureInvalid, PaymentKeyUnknown)):
        return "signature"
    return "format"


@dataclass(frozen=True)
class CallbackReport(Report):
    """What ``inspect()`` found in a payment callback: the checks, and the event when valid.

    JSON (:meth:`~govkit.report.Report.to_dict`): ``valid``, ``kind``
    (``payment_callback``), ``code``, ``checks``, then ``provider`` and ``event``
    (:meth:`PaymentEvent.to_dict`, without the raw payload; ``null`` unless valid).
    """

    provider: str
    checks: tuple[Check, ...]
    event: PaymentEvent | None = None
    kind: str = field(default="payment_callback", init=False)

    def json_members(self) -> dict[str, Any]:
        """``provider`` and ``event``."""
        return {
            "provider": self.provider,
            "event": None if self.event is None else self.event.to_dict(),
        }

    def summary(self) -> tuple[str, ...]:
        """The event: kind, order and amount in minor units."""
        e = self.event
        if e is None:
            return ()
        return self.summary_in("en")

    def summary_in(self, lang: str) -> tuple[str, ...]:
        """:meth:`summary` in ``lang``."""
        e = self.event
        if e is None:
            return ()
        values: dict[str, object] = {"provider": e.provider, "kind": e.kind}
        values |= {"event": e.event_id, "order": e.order_id}
        values |= {"amount": e.amount, "currency": e.currency}
        return (summary_line("summary.payment", lang, **values),)


def inspect_callback(
    adapter: PaymentProvider,
    headers: Mapping[str, str],
    body: bytes,
    *,
    at: datetime | None = None,
    checks: Sequence[str] = ("callback",),
    unchecked: Mapping[str, str] | None = None,
) -> CallbackReport:
    """Run ``adapter.parse`` on a callback and report its checks instead of raising.

    The built-in adapters' ``inspect()`` call this with their :data:`CALLBACK_CHECKS`
    and what their configuration leaves unchecked. For any other adapter the report
    has one check, ``callback``: whether its ``parse`` accepted the callback.

    Args:
        adapter: a provider adapter (anything with ``provider`` and ``parse``).
        headers, body, at: as for ``parse``.
        checks: the names of the checks the adapter makes, from ``signature``,
            ``timestamp``, ``decryption``, ``merchant`` and ``format``; by default
            the one check ``callback``.
        unchecked: checks the adapter does not make as configured, each with why
            (``{"merchant": "no mchid configured"}``).

    Raises:
        ConfigurationError, PaymentKeyRefreshFailed: as ``parse`` raises them; only a
            :class:`~govkit.errors.VerificationError` becomes a failed check.
    """
    provider = adapter.provider
    names = tuple(checks) or ("callback",)
    skipped = dict(unchecked or {})
    try:
        event = adapter.parse(headers, body, at=at)
    except GovkitError as exc:
        if not isinstance(exc, VerificationError):
            raise
        failed = _failed_check(exc) if names != ("callback",) else "callback"
        made = [
            Check.from_error(name, exc)
            if name == failed
            else _not_made(name, skipped[name])
            if name in skipped
            else Check.described(name, None, "payment.not_established", failed=failed)
            for name in names
        ]
        if failed not in names:
            made.append(Check.from_error(failed, exc))
        return CallbackReport(str(provider), tuple(made))
    passed = [
        _not_made(name, skipped[name])
        if name in skipped
        else Check.described(name, True, _PASSED[name])
        if name in _PASSED
        else Check.described(name, True, "payment.format", kind=event.kind, order_id=event.order_id)
        for name in names
    ]
    return CallbackReport(str(provider), tuple(passed), event)
