"""The callback hot path's shortcuts give exactly what the plain code gives, good or bad."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit.errors import GovkitError, PaymentMalformed
from govkit.payments import EventKind, PaymentEvent, Provider
from govkit.payments._crypto import b64decode_strict
from govkit.payments._event import (
    _CONTROL,
    MAX_AMOUNT,
    JsonObjectParser,
    _no_control,
    build_event,
    parse_json_object,
)

CST = timezone(timedelta(hours=8))
GOOD: dict[str, Any] = {
    "provider": Provider.WECHATPAY,
    "event_id": "EV-1",
    "kind": EventKind.PAID,
    "order_id": "GOV-1",
    "amount": 100,
    "currency": "CNY",
    "occurred_at": datetime(2026, 5, 1, 10, 0, tzinfo=CST),
    "transaction_id": "4200000001",
    "payer_amount": 90,
    "merchant_id": "1900000109",
    "status": "SUCCESS",
    "raw": {"id": "EV-1", "resource": {"amount": {"total": 100}}},
}


def outcome(make: Any, **fields: Any) -> tuple[str, Any]:
    try:
        event = make(**fields)
    except (GovkitError, ValueError, TypeError) as exc:
        return "error", (type(exc), str(exc), getattr(exc, "context", None))
    return "event", (
        type(event),
        {f.name: getattr(event, f.name) for f in dataclasses.fields(PaymentEvent)},
        type(event.raw),
    )


def test_built_event_is_a_frozen_validated_payment_event() -> None:
    event = build_event(**GOOD)
    assert type(event) is PaymentEvent
    assert event == PaymentEvent(**GOOD)
    assert event.occurred_at.tzinfo is UTC
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.amount = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.raw["id"] = "forged"  # type: ignore[index]


ODD_VALUES: list[tuple[str, Any]] = [
    ("provider", "wechatpay"),
    ("provider", "nope"),
    ("kind", "paid"),
    ("event_id", ""),
    ("event_id", "x" * 257),
    ("event_id", "EV\x00"),
    ("order_id", "GOV\x85"),
    ("order_id", "订单\u3000一"),
    ("order_id", 7),
    ("transaction_id", ""),
    ("transaction_id", "t\n"),
    ("merchant_id", "m" * 129),
    ("refund_id", "\x7f"),
    ("amount", -1),
    ("amount", True),
    ("amount", MAX_AMOUNT + 1),
    ("amount", 1.0),
    ("payer_amount", -5),
    ("total", "100"),
    ("refunded_total", MAX_AMOUNT),
    ("currency", "cny"),
    ("currency", "CN"),
    ("currency", "ÇNY"),
    ("currency", "C1Y"),
    ("status", "S" * 65),
    ("status", None),
    ("occurred_at", datetime(2026, 5, 1)),
    ("occurred_at", datetime(1, 1, 1, 0, 0, tzinfo=CST)),
    ("occurred_at", datetime(2026, 5, 1, tzinfo=UTC)),
    ("raw", {"a": 1}),
]


@pytest.mark.parametrize(("name", "value"), ODD_VALUES)
def test_built_event_matches_the_constructor_on_each_odd_field(name: str, value: Any) -> None:
    fields = {**GOOD, name: value}
    assert outcome(build_event, **fields) == outcome(PaymentEvent, **fields)


def test_first_bad_field_wins_on_both_paths() -> None:
    fields = {**GOOD, "order_id": "", "currency": "usd", "event_id": "E\x01"}
    assert outcome(build_event, **fields) == outcome(PaymentEvent, **fields)
    assert outcome(build_event, **fields)[1][1] == "event_id must not contain control characters"


texts = st.text(alphabet=st.characters(max_codepoint=0x3100), max_size=12)


@given(
    event_id=texts,
    order_id=texts,
    transaction_id=st.none() | texts,
    amount=st.integers(min_value=-2, max_value=MAX_AMOUNT + 2),
    currency=st.text(max_size=4),
    status=st.text(max_size=66),
)
def test_built_event_matches_the_constructor_on_arbitrary_fields(**fields: Any) -> None:
    fields = {**GOOD, **fields}
    assert outcome(build_event, **fields) == outcome(PaymentEvent, **fields)


@given(st.text())
def test_control_shortcut_agrees_with_the_pattern(text: str) -> None:
    assert _no_control(text) is (_CONTROL.search(text) is None)


def test_control_shortcut_agrees_on_every_code_point() -> None:
    for code in range(0x110000):
        char = chr(code)
        assert _no_control(char) is (_CONTROL.search(char) is None), hex(code)


def json_outcome(parse: Any, data: bytes | str) -> tuple[str, Any]:
    try:
        return "value", parse(data, "the body")
    except PaymentMalformed as exc:
        return "error", str(exc)


JSON_CASES: list[bytes | str] = [
    b'{"a": 1, "b": [1, 2.5, "x"], "c": {"d": null}}',
    b' \t\r\n{"a": 1} \n',
    b'{"a": 1} x',
    b'{"a": 1}{"b": 2}',
    b'{"a": 1, "a": 2}',
    b"\xef\xbb\xbf{}",
    "\ufeff{}",
    b"",
    b"   ",
    b"[1, 2]",
    b'"text"',
    b"\xff{}",
    b'{"n": NaN, "i": -Infinity}',
    b'{"a": "\\ud800"}',
    b'{"a": "\x01"}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": 1}\x0b',
    '{"订单": "支付成功"}',
    b'{"n": ' + b"9" * 5000 + b"}",
]


@pytest.mark.parametrize("data", JSON_CASES)
def test_json_shortcut_matches_parse_json_object(data: bytes | str) -> None:
    assert json_outcome(JsonObjectParser().parse, data) == json_outcome(parse_json_object, data)


@given(st.binary(max_size=64) | st.text(max_size=64))
def test_json_shortcut_matches_on_arbitrary_input(data: bytes | str) -> None:
    assert json_outcome(JsonObjectParser().parse, data) == json_outcome(parse_json_object, data)


@given(st.text(alphabet="AZaz09+/= \n-_é", max_size=16))
def test_strict_base64_matches_validating_b64decode(text: str) -> None:
    try:
        expected: bytes | None = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError:
        expected = None
    try:
        got: bytes | None = b64decode_strict(text, "it")
    except PaymentMalformed:
        got = None
    assert got == expected
