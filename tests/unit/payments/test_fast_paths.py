"""The callback hot path's shortcuts give exactly what the plain code gives, good or bad."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from govkit.clock import require_aware
from govkit.errors import (
    ClockError,
    GovkitError,
    NaiveDatetimeError,
    PaymentMalformed,
    PaymentSignatureInvalid,
)
from govkit.keys import VerifyingKey
from govkit.payments import EventKind, PaymentEvent, Provider
from govkit.payments._crypto import b64decode_strict
from govkit.payments._event import (
    _CONTROL,
    MAX_AMOUNT,
    _check_fields,
    _no_control,
)
from govkit.payments._keys import ProviderKeys
from govkit.payments._wechat import _transaction_event

CST = timezone(timedelta(hours=8))
NOW_UTC = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
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
CHECKED = (
    "event_id",
    "order_id",
    "transaction_id",
    "merchant_id",
    "refund_id",
    "amount",
    "payer_amount",
    "total",
    "refunded_total",
    "currency",
    "status",
)
NAMES = [f.name for f in dataclasses.fields(PaymentEvent)]


def checked(fields: dict[str, Any]) -> list[Any]:
    return [fields.get(name) if name in fields else _default(name) for name in CHECKED]


def _default(name: str) -> Any:
    return next(f.default for f in dataclasses.fields(PaymentEvent) if f.name == name)


def reference(**fields: Any) -> tuple[Any, ...]:
    """The constructor's contract written out plainly, one step at a time, no shortcut."""
    provider = Provider(fields["provider"])
    kind = EventKind(fields["kind"])
    _check_fields(tuple(checked(fields)))
    try:
        occurred = require_aware(fields["occurred_at"], "occurred_at")
    except NaiveDatetimeError:
        raise
    except ClockError:  # a time UTC cannot hold is a malformed field of the event
        raise PaymentMalformed(
            "occurred_at is out of the representable range in UTC", field="occurred_at"
        ) from None
    values = {**fields, "provider": provider, "kind": kind, "occurred_at": occurred}
    return tuple(values.get(n, _default(n)) for n in NAMES if n != "raw")


def built(**fields: Any) -> tuple[Any, ...]:
    event = PaymentEvent(**fields)
    assert type(event.raw) is MappingProxyType
    assert dict(event.raw) == dict(fields.get("raw") or {})
    return tuple(getattr(event, n) for n in NAMES if n != "raw")


def outcome(make: Any, **fields: Any) -> tuple[str, Any]:
    try:
        return "event", make(**fields)
    except (GovkitError, ValueError, TypeError) as exc:
        return "error", (type(exc), str(exc), getattr(exc, "context", None))


def test_event_is_frozen_validated_and_in_utc() -> None:
    event = PaymentEvent(**GOOD)
    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at == GOOD["occurred_at"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.amount = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del event.order_id
    with pytest.raises(TypeError):
        event.raw["id"] = "forged"  # type: ignore[index]
    # raw is a copy: changing the caller's dict afterwards changes nothing
    raw = {"id": "EV-1"}
    copied = PaymentEvent(**{**GOOD, "raw": raw})
    raw["id"] = "changed"
    assert copied.raw["id"] == "EV-1"


def test_event_keeps_the_dataclass_contract() -> None:
    event = PaymentEvent(**GOOD)
    assert NAMES[:7] == [
        "provider",
        "event_id",
        "kind",
        "order_id",
        "amount",
        "currency",
        "occurred_at",
    ]
    assert event == PaymentEvent(**{**GOOD, "raw": {"other": 1}})  # raw is not compared
    assert hash(event) == hash(PaymentEvent(**GOOD))
    assert event != PaymentEvent(**{**GOOD, "amount": 101})
    changed = dataclasses.replace(event, amount=5)
    assert (changed.amount, changed.order_id) == (5, event.order_id)
    with pytest.raises(PaymentMalformed):
        dataclasses.replace(event, amount=-5)
    positional = PaymentEvent(*(GOOD[n] for n in NAMES[:7]))
    assert (positional.order_id, positional.amount) == ("GOV-1", 100)
    assert (positional.raw, positional.transaction_id) == ({}, None)
    assert "order_id='GOV-1'" in repr(event)


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
    ("raw", None),
]


@pytest.mark.parametrize(("name", "value"), ODD_VALUES)
def test_constructor_matches_the_plain_contract_on_each_odd_field(name: str, value: Any) -> None:
    fields = {**GOOD, name: value}
    assert outcome(built, **fields) == outcome(reference, **fields)


def test_first_bad_field_wins() -> None:
    fields = {**GOOD, "order_id": "", "currency": "usd", "event_id": "E\x01"}
    assert outcome(built, **fields) == outcome(reference, **fields)
    assert outcome(built, **fields)[1][1] == "event_id must not contain control characters"


texts = st.text(alphabet=st.characters(max_codepoint=0x3100), max_size=12)
odd = st.none() | st.booleans() | st.floats(allow_nan=False) | texts
numbers = st.integers(min_value=-2, max_value=MAX_AMOUNT + 2)


@given(
    event_id=texts,
    order_id=texts,
    transaction_id=st.none() | texts,
    amount=numbers,
    currency=st.text(max_size=4),
    status=st.text(max_size=66),
)
def test_constructor_matches_the_plain_contract_on_arbitrary_fields(**fields: Any) -> None:
    fields = {**GOOD, **fields}
    assert outcome(built, **fields) == outcome(reference, **fields)


@given(
    st.tuples(
        texts | odd,
        texts | odd,
        st.none() | texts | odd,
        st.none() | texts | odd,
        st.none() | texts | odd,
        numbers | odd,
        st.none() | numbers | odd,
        st.none() | numbers | odd,
        st.none() | numbers | odd,
        st.text(max_size=4) | odd,
        st.text(max_size=66) | odd,
    )
)
def test_constructor_matches_the_plain_contract_on_every_checked_field(
    values: tuple[Any, ...],
) -> None:
    """The constructor's one-step check of plain values passes exactly what the
    field-by-field checks pass, and fails with their first error otherwise."""
    fields = {**GOOD, **dict(zip(CHECKED, values, strict=True))}
    assert outcome(built, **fields) == outcome(reference, **fields)


@given(st.text())
def test_control_shortcut_agrees_with_the_pattern(text: str) -> None:
    assert _no_control(text) is (_CONTROL.search(text) is None)


def test_control_shortcut_agrees_on_every_code_point() -> None:
    for code in range(0x110000):
        char = chr(code)
        assert _no_control(char) is (_CONTROL.search(char) is None), hex(code)


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


def _cryptography_verdict(
    public: rsa.RSAPublicKey, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm
) -> bool:
    try:
        public.verify(signature, data, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _provider_verdict(keys: ProviderKeys, signature: bytes, data: bytes, *, sha1: bool) -> bool:
    try:
        keys.verify(signature, data, NOW_UTC, sha1=sha1)
    except PaymentSignatureInvalid:
        return False
    return True


@pytest.mark.parametrize("sha1", [False, True])  # True: Alipay's legacy RSA mode
def test_provider_key_verify_agrees_with_cryptography(
    rsa_private: rsa.RSAPrivateKey, sha1: bool
) -> None:
    """The adapters' RSA check on a govkit RS256 key (RFC 8017 recover-and-compare for
    SHA-256, cryptography's ``verify`` for the opt-in SHA-1 mode) gives cryptography's
    verdict on every case."""
    public = rsa_private.public_key()
    keys = ProviderKeys(VerifyingKey(public, "RS256"), "test")
    algorithm: hashes.HashAlgorithm = hashes.SHA1() if sha1 else hashes.SHA256()  # noqa: S303
    good = rsa_private.sign(b"body", padding.PKCS1v15(), algorithm)
    other = hashes.SHA256() if sha1 else hashes.SHA1()  # noqa: S303
    cases = [
        (good, b"body"),
        (good, b"Body"),
        (good[:-1] + bytes([good[-1] ^ 1]), b"body"),
        (good + b"\x00", b"body"),
        (b"\x00" + good, b"body"),
        (b"", b"body"),
        (b"\xff" * len(good), b"body"),  # larger than the modulus
        (rsa_private.sign(b"body", padding.PKCS1v15(), other), b"body"),
        (rsa_private.sign(b"body", padding.PKCS1v15(), hashes.SHA512()), b"body"),
    ]
    for signature, data in cases:
        assert _provider_verdict(keys, signature, data, sha1=sha1) is _cryptography_verdict(
            public, signature, data, algorithm
        )
    assert _provider_verdict(keys, good, b"body", sha1=sha1) is True


def test_provider_key_refuses_a_signature_with_its_leading_zero_byte_dropped(
    rsa_private: rsa.RSAPrivateKey,
) -> None:
    """OpenSSL's recovery alone would read a 255-byte signature as if zero-padded;
    RFC 8017 (8.2.2 step 1) and ``verify`` refuse any length but the modulus's."""
    public = rsa_private.public_key()
    keys = ProviderKeys(VerifyingKey(public, "RS256"), "test")
    for counter in range(20_000):  # about 1 in 256 signatures starts with 0x00
        message = b"message %d" % counter
        signature = rsa_private.sign(message, padding.PKCS1v15(), hashes.SHA256())
        if signature[0] == 0:
            break
    else:  # pragma: no cover - probability about 1e-34
        pytest.fail("no signature with a leading zero byte")
    assert _provider_verdict(keys, signature, message, sha1=False) is True
    short = signature[1:]
    assert public.recover_data_from_signature(short, padding.PKCS1v15(), None)  # OpenSSL: yes
    assert _provider_verdict(keys, short, message, sha1=False) is False
    assert _cryptography_verdict(public, short, message, hashes.SHA256()) is False


# --- WeChat Pay: the event built positionally on the callback path ---------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"transaction_id": "", "mchid": None, "sp_mchid": "1230000109"},
        {"transaction_id": None, "mchid": "", "amount": {"total": 5}},
        {"trade_state": "S" * 100, "amount": {"total": 1, "payer_total": 0, "currency": "USD"}},
        {"out_trade_no": None},
        {"amount": {"total": -1}},
        {"amount": {"total": 1, "currency": "cny"}},
    ],
)
def test_wechat_transaction_event_is_the_keyword_built_event(changes: dict[str, Any]) -> None:
    """The positional constructor call gives the event (or the refusal) that the same
    fields given by name give."""
    plain: dict[str, Any] = {
        "mchid": "1900000109",
        "out_trade_no": "GOV-1",
        "transaction_id": "4200000001",
        "trade_state": "SUCCESS",
        "success_time": "2026-05-01T15:59:00+08:00",
        "amount": {"total": 100, "payer_total": 90, "currency": "CNY"},
        **changes,
    }
    envelope = {"id": "EV-1", "create_time": "2026-05-01T16:00:00+08:00", "resource": plain}
    amount = plain["amount"]

    def by_name() -> PaymentEvent:
        return PaymentEvent(
            provider=Provider.WECHATPAY,
            event_id="EV-1",
            kind=EventKind.PAID if plain["trade_state"] == "SUCCESS" else EventKind.OTHER,
            order_id=plain["out_trade_no"],
            transaction_id=plain["transaction_id"] or None,
            amount=amount["total"],
            currency=amount.get("currency", "CNY"),
            payer_amount=amount.get("payer_total"),
            occurred_at=datetime(2026, 5, 1, 7, 59, tzinfo=UTC),
            merchant_id=plain.get("mchid") or plain.get("sp_mchid") or None,
            status=plain["trade_state"][:64],
            raw=envelope,
        )

    def positional() -> PaymentEvent:
        return _transaction_event("EV-1", plain, envelope)

    expected, got = outcome(by_name), outcome(positional)
    assert got[0] == expected[0]
    if got[0] == "error":
        assert got == expected
    else:
        fields = [n for n in NAMES if n != "raw"]
        assert [getattr(got[1], n) for n in fields] == [getattr(expected[1], n) for n in fields]
        assert dict(got[1].raw) == envelope
