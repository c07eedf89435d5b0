"""Orders: a forward-only state machine that cross-checks each event against the stored order."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from govkit.payments._event import EventKind, PaymentEvent, Provider

__all__ = ["ApplyResult", "Order", "OrderState", "Transition", "apply_event"]


class OrderState(StrEnum):
    """Where an order stands. Moves only forward (see :func:`apply_event`)."""

    CREATED = "created"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CLOSED = "closed"


class ApplyResult(StrEnum):
    """What applying an event did to its order."""

    #: The order moved forward.
    APPLIED = "applied"
    #: Nothing to do: a duplicate, a late event for a later state, or a non-money event.
    UNCHANGED = "unchanged"
    #: A refund arrived before its payment; it is kept and applied after the payment.
    DEFERRED = "deferred"
    #: The event disagrees with the order (amount, currency, merchant, state); kept
    #: for review and never applied.
    QUARANTINED = "quarantined"


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the merchant created it and as callbacks have moved it.

    Amounts are integer minor units; ``refunded`` is the total refunded so far.
    """

    order_id: str
    provider: Provider
    amount: int
    currency: str
    state: OrderState
    created_at: datetime
    updated_at: datetime
    merchant_id: str | None = None
    refunded: int = 0
    transaction_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "order_id": self.order_id,
            "provider": str(self.provider),
            "amount": self.amount,
            "currency": self.currency,
            "state": str(self.state),
            "refunded": self.refunded,
            "merchant_id": self.merchant_id,
            "transaction_id": self.transaction_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Transition:
    """The verdict of :func:`apply_event`: the result, the states, and a reason code."""

    result: ApplyResult
    before: OrderState | None
    after: OrderState | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "result": str(self.result),
            "before": None if self.before is None else str(self.before),
            "after": None if self.after is None else str(self.after),
            "reason": self.reason,
        }


_REFUNDS = (EventKind.REFUNDED, EventKind.PARTIALLY_REFUNDED)


def _quarantine(order: Order | None, reason: str) -> tuple[Transition, Order | None]:
    state = None if order is None else order.state
    return Transition(ApplyResult.QUARANTINED, state, state, reason), order


def apply_event(
    order: Order | None, event: PaymentEvent, at: datetime
) -> tuple[Transition, Order | None]:
    """Apply ``event`` to ``order``; return the verdict and the order afterwards.

    Forward only: ``CREATED -> PAID -> PARTIALLY_REFUNDED -> REFUNDED`` and
    ``CREATED -> CLOSED``. A payment must match the order's amount, currency,
    provider and merchant exactly, or it is quarantined (never marked paid). A
    refund before its payment is deferred; a refund beyond the amount, or a
    payment of a closed order, is quarantined.

    >>> from datetime import datetime, timezone
    >>> when = datetime(2026, 5, 1, tzinfo=timezone.utc)
    >>> order = Order("GOV-1", Provider.ALIPAY, 20000, "CNY", OrderState.CREATED, when, when)
    >>> paid = PaymentEvent(provider="alipay", event_id="n1", kind="paid", order_id="GOV-1",
    ...                     amount=2000, currency="CNY", occurred_at=when)
    >>> apply_event(order, paid, when)[0].reason
    'amount_mismatch'
    """
    if order is None:
        return _quarantine(order, "unknown_order")
    if event.kind in (EventKind.OTHER, EventKind.FAILED):
        return Transition(ApplyResult.UNCHANGED, order.state, order.state, "no_money_moved"), order
    if event.provider != order.provider:
        return _quarantine(order, "provider_mismatch")
    if event.currency != order.currency:
        return _quarantine(order, "currency_mismatch")
    if order.merchant_id is not None and event.merchant_id != order.merchant_id:
        return _quarantine(order, "merchant_mismatch")
    state = order.state
    unchanged = Transition(ApplyResult.UNCHANGED, state, state, "already_applied")
    if event.kind is EventKind.PAID:
        if state is OrderState.CLOSED:
            return _quarantine(order, "paid_after_close")
        if event.amount != order.amount:
            return _quarantine(order, "amount_mismatch")
        if state is not OrderState.CREATED:
            return unchanged, order
        after = replace(
            order,
            state=OrderState.PAID,
            transaction_id=event.transaction_id or order.transaction_id,
            updated_at=at,
        )
        return Transition(ApplyResult.APPLIED, state, OrderState.PAID), after
    if event.kind is EventKind.CLOSED:
        if state is not OrderState.CREATED:
            return unchanged, order
        after = replace(order, state=OrderState.CLOSED, updated_at=at)
        return Transition(ApplyResult.APPLIED, state, OrderState.CLOSED), after
    # refunds
    if state is OrderState.CREATED:
        return Transition(ApplyResult.DEFERRED, state, state, "refund_before_payment"), order
    if state is OrderState.CLOSED:
        return _quarantine(order, "refund_of_unpaid_order")
    if event.refunded_total is not None:
        refunded = event.refunded_total
    else:
        refunded = order.refunded + event.amount
    if refunded <= order.refunded:
        return unchanged, order
    if refunded > order.amount:
        return _quarantine(order, "refund_exceeds_amount")
    target = OrderState.REFUNDED if refunded == order.amount else OrderState.PARTIALLY_REFUNDED
    after = replace(order, state=target, refunded=refunded, updated_at=at)
    return Transition(ApplyResult.APPLIED, state, target), after
