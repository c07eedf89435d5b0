"""Hypothesis over every payment parser: arbitrary bytes give an event or a GovkitError."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from govkit.errors import GovkitError, PaymentVerificationError
from govkit.keys import SigningKey
from govkit.payments import (
    Alipay,
    StandardWebhooks,
    Stripe,
    UnionPay,
    WeChatPayV3,
    parse_alipay_bill,
    parse_wechat_bill,
    yuan_to_fen,
)
from govkit.testing.payments import alipay_callback, stripe_callback, unionpay_test_pki

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
KEY = SigningKey.generate("RS256")
PKI = unionpay_test_pki(NOW)
APIV3 = "0123456789abcdef0123456789abcdef"
SW = "whsec_" + base64.b64encode(b"p" * 32).decode()
ADAPTERS = [
    WeChatPayV3(APIV3, {"PUB_KEY_ID_1": KEY.verifying_key}),
    Alipay(KEY.verifying_key, "app"),
    UnionPay(roots=[PKI.root], intermediates=[PKI.middle], secure_key="k"),
    Stripe(["whsec_p"]),
    StandardWebhooks([SW]),
]
ALIPAY_FORM = alipay_callback(KEY, "app", order_id="G", amount=100, at=NOW)
STRIPE_WEBHOOK = stripe_callback("whsec_p", order_id="G", amount=1, at=NOW)
header_values = st.text(max_size=80)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Wechatpay-Signature": header_values,
        "Wechatpay-Timestamp": st.one_of(header_values, st.just(str(int(NOW.timestamp())))),
        "Wechatpay-Nonce": header_values,
        "Wechatpay-Serial": st.sampled_from(["PUB_KEY_ID_1", "ABC", ""]),
        "Stripe-Signature": header_values,
        "webhook-id": header_values,
        "webhook-timestamp": header_values,
        "webhook-signature": header_values,
    },
)


def only_events_or_govkit_errors(adapter: object, hdrs: dict[str, str], body: bytes) -> None:
    try:
        event = adapter.parse(hdrs, body, at=NOW)  # type: ignore[attr-defined]
    except GovkitError:
        return
    assert event.amount >= 0  # a result is always a valid event (it cannot be forged here)


@settings(max_examples=150, deadline=None)
@given(headers, st.binary(max_size=600))
def test_arbitrary_callbacks_give_an_event_or_a_govkit_error(
    hdrs: dict[str, str], body: bytes
) -> None:
    for adapter in ADAPTERS:
        only_events_or_govkit_errors(adapter, hdrs, body)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_single_byte_change_of_a_signed_alipay_form_is_refused(data: st.DataObject) -> None:
    hdrs, body = ALIPAY_FORM
    index = data.draw(st.integers(0, len(body) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]))
    mutated = body[:index] + bytes([byte]) + body[index + 1 :]
    try:
        event = ADAPTERS[1].parse(hdrs, mutated, at=NOW)
    except GovkitError:
        return
    # Percent-encoding can spell the same form differently; the meaning must be unchanged.
    assert (event.order_id, event.amount) == ("G", 100)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 200), st.binary(min_size=1, max_size=1))
def test_any_byte_change_of_a_stripe_body_is_refused(index: int, byte: bytes) -> None:
    hdrs, body = STRIPE_WEBHOOK
    index %= len(body)
    if body[index : index + 1] == byte:
        return
    mutated = body[:index] + byte + body[index + 1 :]
    try:
        ADAPTERS[3].parse(hdrs, mutated, at=NOW)
    except PaymentVerificationError:
        return
    raise AssertionError("a modified Stripe body was accepted")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=800))
def test_bill_parsers_give_lines_or_a_govkit_error(data: bytes) -> None:
    for parser in (parse_wechat_bill, parse_alipay_bill):
        with contextlib.suppress(GovkitError):
            parser(data)


@given(st.integers(0, 10**15))
def test_yuan_fen_round_trip(fen: int) -> None:
    from govkit.payments import fen_to_yuan  # noqa: PLC0415

    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.text(max_size=20))
def test_yuan_parser_gives_fen_or_malformed(text: str) -> None:
    with contextlib.suppress(GovkitError):
        assert yuan_to_fen(text) >= 0
