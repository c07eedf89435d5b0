"""Stripe and Standard Webhooks: the published vector, rotation, tolerance both ways, forgeries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from govkit.errors import (
    ConfigurationError,
    InvalidKey,
    PaymentMalformed,
    PaymentSignatureInvalid,
    PaymentTimestampStale,
)
from govkit.keys import KeyRecord, KeyRing, SigningKey, VerifyingKey
from govkit.payments import (
    EventKind,
    StandardWebhooks,
    Stripe,
    load_standard_webhooks_public_key,
)
from govkit.payments._event import utc_from_unix
from govkit.testing import FixedClock
from govkit.testing.payments import standard_webhooks_callback, stripe_callback

from .conftest import NOW

SECRET = "whsec_test_secret"
SW_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_standard_webhooks_published_vector() -> None:
    # standard-webhooks libraries/python/tests/test_webhooks.py (same vector in Go and JS)
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    at = utc_from_unix(1614265330)
    verifier = StandardWebhooks(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    assert verifier.verify(headers, body, at=at) == ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330)
    event = verifier.parse(headers, body, at=at)
    assert (event.kind, event.event_id) == (EventKind.OTHER, "msg_p5jXN8AQM9LWM0D4loKWxJek")
    with pytest.raises(PaymentSignatureInvalid):
        verifier.verify(headers, b'{"test": 2432232315}', at=at)


def test_stripe_payment_is_verified_and_normalised() -> None:
    headers, body = stripe_callback(SECRET, order_id="GOV-5", amount=5000, at=NOW)
    event = Stripe([SECRET]).parse(headers, body, at=NOW)
    assert (event.kind, event.order_id, event.amount, event.currency) == (
        EventKind.PAID,
        "GOV-5",
        5000,
        "CNY",
    )
    assert event.event_id.startswith("evt_")


def test_stripe_refund_partial_and_full() -> None:
    headers, body = stripe_callback(
        SECRET, order_id="G", amount=5000, event_type="charge.refunded", amount_refunded=100, at=NOW
    )
    event = Stripe([SECRET]).parse(headers, body, at=NOW)
    assert (event.kind, event.refunded_total) == (EventKind.PARTIALLY_REFUNDED, 100)


def test_stripe_secret_rotation_accepts_old_and_new_secrets() -> None:
    headers, body = stripe_callback("whsec_old", order_id="G", amount=1, at=NOW)
    assert Stripe(["whsec_new", "whsec_old"]).parse(headers, body, at=NOW).amount == 1
    headers, body = stripe_callback(
        "whsec_new", order_id="G", amount=2, at=NOW, extra_secrets=("whsec_old",)
    )
    assert Stripe(["whsec_old"]).parse(headers, body, at=NOW).amount == 2


def test_stripe_forged_with_another_secret_is_refused() -> None:
    headers, body = stripe_callback("whsec_attacker", order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentSignatureInvalid):
        Stripe([SECRET]).parse(headers, body, at=NOW)


@pytest.mark.parametrize("skew", [301, -301, 86400 * 365])
def test_stripe_tolerance_applies_in_both_directions(skew: int) -> None:
    headers, body = stripe_callback(
        SECRET, order_id="G", amount=1, at=NOW, timestamp=int(NOW.timestamp()) - skew
    )
    with pytest.raises(PaymentTimestampStale):
        Stripe([SECRET]).parse(headers, body, at=NOW)


def test_stripe_v0_only_header_is_refused() -> None:
    headers, body = stripe_callback(SECRET, order_id="G", amount=1, at=NOW)
    headers["Stripe-Signature"] = headers["Stripe-Signature"].replace("v1=", "v0=")
    with pytest.raises(PaymentSignatureInvalid):
        Stripe([SECRET]).parse(headers, body, at=NOW)


@pytest.mark.parametrize("value", ["", "garbage", "t=1,t=2,v1=aa", "v1=aa", "t=abc,v1=aa"])
def test_stripe_malformed_header(value: str) -> None:
    _, body = stripe_callback(SECRET, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentMalformed):
        Stripe([SECRET]).parse({"Stripe-Signature": value}, body, at=NOW)


def test_stripe_needs_a_list_of_secrets() -> None:
    with pytest.raises(ConfigurationError):
        Stripe(SECRET)  # type: ignore[arg-type]


def test_standard_webhooks_hmac_and_ed25519() -> None:
    headers, body = standard_webhooks_callback(SW_SECRET, order_id="G", amount=700, at=NOW)
    event = StandardWebhooks([SW_SECRET]).parse(headers, body, at=NOW)
    assert (event.kind, event.amount) == (EventKind.PAID, 700)
    private = Ed25519PrivateKey.generate()
    headers, body = standard_webhooks_callback(
        private, order_id="G", amount=800, kind="refunded", at=NOW
    )
    verifier = StandardWebhooks(public_keys=[VerifyingKey(private.public_key())])
    assert verifier.parse(headers, body, at=NOW).kind is EventKind.REFUNDED
    with pytest.raises(PaymentSignatureInvalid):
        StandardWebhooks(
            public_keys=[VerifyingKey(Ed25519PrivateKey.generate().public_key())]
        ).parse(headers, body, at=NOW)


def test_standard_webhooks_whpk_key_loads_and_verifies() -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    whpk = "whpk_" + base64.b64encode(raw).decode()
    loaded = load_standard_webhooks_public_key(whpk)
    assert (loaded.alg, loaded.kid) == ("EdDSA", VerifyingKey(private.public_key()).kid)
    headers, body = standard_webhooks_callback(private, order_id="G", amount=9, at=NOW)
    for keys in ([whpk], [loaded], KeyRing(clock=FixedClock(NOW))):
        if isinstance(keys, KeyRing):
            keys.add(loaded)
        assert StandardWebhooks(public_keys=keys).parse(headers, body, at=NOW).amount == 9


def test_standard_webhooks_key_outside_its_window_does_not_verify() -> None:
    private = Ed25519PrivateKey.generate()
    headers, body = standard_webhooks_callback(private, order_id="G", amount=9, at=NOW)
    retired = KeyRecord(VerifyingKey(private.public_key()), not_after=NOW)
    with pytest.raises(PaymentSignatureInvalid):
        StandardWebhooks(public_keys=[retired]).parse(headers, body, at=NOW)


def test_standard_webhooks_raw_cryptography_key_is_refused_with_the_loader_named() -> None:
    # before issue #15 a cryptography Ed25519PublicKey was accepted as it was
    raw = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ConfigurationError, match="load_standard_webhooks_public_key") as caught:
        StandardWebhooks(public_keys=[raw])  # type: ignore[list-item]
    assert caught.value.code == "config.invalid"
    with pytest.raises(ConfigurationError):
        StandardWebhooks(public_keys=[SigningKey.generate("ES256").verifying_key])
    with pytest.raises(ConfigurationError):
        StandardWebhooks(public_keys=["whpk_not-base64"])
    with pytest.raises(InvalidKey):
        load_standard_webhooks_public_key("whpk_" + base64.b64encode(b"short").decode())


def test_standard_webhooks_rotation_lists_several_signatures() -> None:
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    headers, body = standard_webhooks_callback(SW_SECRET, order_id="G", amount=1, at=NOW)
    _, other = standard_webhooks_callback(new, order_id="G", amount=1, at=NOW)
    assert other  # a second signature on the same message
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    assert StandardWebhooks([new, SW_SECRET]).parse(headers, body, at=NOW).amount == 1


@pytest.mark.parametrize("skew", [301, -301])
def test_standard_webhooks_replay_window(skew: int) -> None:
    headers, body = standard_webhooks_callback(
        SW_SECRET, order_id="G", amount=1, at=NOW, timestamp=int(NOW.timestamp()) - skew
    )
    with pytest.raises(PaymentTimestampStale):
        StandardWebhooks([SW_SECRET]).parse(headers, body, at=NOW)


def test_standard_webhooks_bad_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        StandardWebhooks(["whsec_!!!"])
    with pytest.raises(ConfigurationError):
        StandardWebhooks([])


# --- each refusal says why: the reason a support desk reads is part of the contract ------


def signed_stripe(body: bytes, *, at: int | None = None) -> dict[str, str]:
    """A Stripe-Signature over ``body`` with SECRET, as Stripe computes it."""
    stamp = str(at if at is not None else int(NOW.timestamp()))
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={mac}"}


def stripe_event(event_type: str, obj: dict[str, Any], **extra: Any) -> bytes:
    event = {"id": "evt_1", "type": event_type, "created": 1, "data": {"object": obj}}
    return json.dumps({**event, **extra}).encode()


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({}, b"{}", "the Stripe-Signature header is missing"),
        (
            {"Stripe-Signature": "t=1," + "v1=aa," * 700},
            b"{}",
            "the Stripe-Signature header is missing",
        ),
        ({"Stripe-Signature": "t=1,garbage"}, b"{}", "the Stripe-Signature header is malformed"),
        ({"Stripe-Signature": "v1=aa"}, b"{}", "the Stripe-Signature header needs exactly one t="),
        (
            {"Stripe-Signature": "t=1,t=2,v1=aa"},
            b"{}",
            "the Stripe-Signature header needs exactly one t=",
        ),
        (signed_stripe(b'{"id":1}'), None, "the body is missing or too large"),
        (
            signed_stripe(b"x" * (256 * 1024 + 1)),
            b"x" * (256 * 1024 + 1),
            "the body is missing or too large",
        ),
        (
            signed_stripe(b'{"id": "evt_1", "id": "evt_2"}'),
            b'{"id": "evt_1", "id": "evt_2"}',
            "the Stripe event has a duplicate member name",
        ),
        (
            signed_stripe(b'{"type": "x", "data": {"object": {}}, "created": 1}'),
            b'{"type": "x", "data": {"object": {}}, "created": 1}',
            "the Stripe event lacks id, type or data.object",
        ),
        (
            signed_stripe(b'{"id": "e", "type": "x", "data": {"object": {}}}'),
            b'{"id": "e", "type": "x", "data": {"object": {}}}',
            "the Stripe event lacks created",
        ),
        (
            signed_stripe(stripe_event("payment_intent.succeeded", {"amount_received": -1})),
            stripe_event("payment_intent.succeeded", {"amount_received": -1}),
            "amount_received is not a non-negative integer",
        ),
        (
            signed_stripe(stripe_event("checkout.session.completed", {"amount_total": 1.5})),
            stripe_event("checkout.session.completed", {"amount_total": 1.5}),
            "amount_total is not a non-negative integer",
        ),
        (
            signed_stripe(stripe_event("charge.refunded", {"amount": 5, "amount_refunded": True})),
            stripe_event("charge.refunded", {"amount": 5, "amount_refunded": True}),
            "amount_refunded is not a non-negative integer",
        ),
    ],
    ids=[
        "no-header",
        "header-too-long",
        "item-without-equals",
        "no-timestamp",
        "two-timestamps",
        "no-body",
        "body-too-large",
        "duplicate-member",
        "no-id",
        "no-created",
        "negative-amount",
        "fractional-amount",
        "boolean-refund",
    ],
)
def test_stripe_malformed_callbacks_say_why(
    headers: dict[str, str], body: bytes, message: str
) -> None:
    with pytest.raises(PaymentMalformed) as caught:
        Stripe([SECRET]).parse(headers, body, at=NOW)
    assert caught.value.code == "payment.malformed"
    assert caught.value.message == message


def test_stripe_forgery_and_stale_timestamp_say_why() -> None:
    body = stripe_event("payment_intent.succeeded", {"id": "pi_1", "amount_received": 5})
    headers = signed_stripe(body)
    forged = {"Stripe-Signature": headers["Stripe-Signature"].replace("v1=", "v1=0")}
    with pytest.raises(PaymentSignatureInvalid) as bad:
        Stripe([SECRET]).parse(forged, body, at=NOW)
    assert bad.value.message == "no v1 signature matches a Stripe signing secret"
    stale = signed_stripe(body, at=int(NOW.timestamp()) - 301)
    with pytest.raises(PaymentTimestampStale) as late:
        Stripe([SECRET]).parse(stale, body, at=NOW)
    assert late.value.message == "the webhook timestamp is outside the tolerance"
    assert late.value.context == {"skew": 301}
    edge = signed_stripe(body, at=int(NOW.timestamp()) - 300)
    assert Stripe([SECRET]).parse(edge, body, at=NOW).amount == 5


@pytest.mark.parametrize(
    ("event_type", "obj", "expected"),
    [
        (
            "payment_intent.succeeded",
            {"id": "pi_1", "amount": 7, "currency": "usd", "metadata": {"order_id": "G-1"}},
            (EventKind.PAID, "G-1", "pi_1", 7, "USD", None, None),
        ),
        (
            "checkout.session.completed",
            {
                "id": "cs_1",
                "amount_total": 9,
                "client_reference_id": "G-2",
                "payment_intent": "pi_2",
            },
            (EventKind.PAID, "G-2", "pi_2", 9, "XXX", None, None),
        ),
        (
            "payment_intent.payment_failed",
            {"id": "pi_3", "currency": "cnyx", "payment_intent": "pi_x"},
            (EventKind.FAILED, "pi_3", "pi_3", 0, "XXX", None, None),
        ),
        (
            "payment_intent.canceled",
            {"id": "pi_4", "amount": 4, "currency": "cny"},
            (EventKind.CLOSED, "pi_4", "pi_4", 4, "CNY", None, None),
        ),
        (
            "charge.refunded",
            {"id": "ch_5", "amount": 5, "amount_refunded": 5, "payment_intent": "pi_5"},
            (EventKind.REFUNDED, "pi_5", "pi_5", 5, "XXX", 5, 5),
        ),
        (
            "customer.created",
            {"metadata": "not a map", "client_reference_id": ""},
            (EventKind.OTHER, "evt_1", None, 0, "XXX", None, None),
        ),
    ],
)
def test_stripe_events_are_normalised_field_by_field(
    event_type: str, obj: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    body = stripe_event(event_type, obj, account="acct_9")
    event = Stripe([SECRET]).parse(signed_stripe(body), body, at=NOW)
    got = (
        event.kind,
        event.order_id,
        event.transaction_id,
        event.amount,
        event.currency,
        event.total,
        event.refunded_total,
    )
    assert got == expected
    assert (event.event_id, event.status, event.merchant_id) == ("evt_1", event_type, "acct_9")
    assert event.occurred_at == utc_from_unix(1)


def signed_standard(body: bytes, *, msg_id: str = "msg_1", at: int | None = None) -> dict[str, str]:
    """Standard Webhooks headers over ``body`` with SW_SECRET (v1, HMAC-SHA256)."""
    stamp = str(at if at is not None else int(NOW.timestamp()))
    key = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    signature = "v1,garbage v2,x nocomma v1," + base64.b64encode(mac).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": signature}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secrets": SW_SECRET}, "secrets must be a list of whsec_ strings"),
        ({"secrets": ["whsec_not base64!"]}, "a Standard Webhooks secret is not whsec_ + base64"),
        (
            {"secrets": ["whsec_" + base64.b64encode(b"k" * 15).decode()]},
            "a Standard Webhooks secret must decode to 16-128 bytes",
        ),
        (
            {"secrets": ["whsec_" + base64.b64encode(b"k" * 129).decode()]},
            "a Standard Webhooks secret must decode to 16-128 bytes",
        ),
        ({"public_keys": "whpk_AAAA"}, "public_keys must be a list of keys, not one string"),
        ({"public_keys": ["whpk_AAAA"]}, "a whpk_ key is not base64 of 32 bytes"),
        ({}, "Standard Webhooks needs a secret or a public key"),
        ({"secrets": [], "public_keys": []}, "Standard Webhooks needs a secret or a public key"),
    ],
)
def test_standard_webhooks_misconfiguration_says_why(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        StandardWebhooks(**options)
    assert caught.value.code == "config.invalid"
    assert caught.value.message == message


def test_standard_webhooks_secret_sizes_at_the_limits_are_accepted() -> None:
    for size in (16, 128):
        StandardWebhooks(["whsec_" + base64.b64encode(b"k" * size).decode()])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook-id": ""}, "the webhook-id or webhook-signature header is missing"),
        ({"webhook-id": "m" * 257}, "the webhook-id or webhook-signature header is missing"),
        ({"webhook-id": "msg.1"}, "the webhook-id or webhook-signature header is missing"),
        ({"webhook-signature": None}, "the webhook-id or webhook-signature header is missing"),
    ],
)
def test_standard_webhooks_malformed_headers_say_why(
    change: dict[str, str | None], message: str
) -> None:
    body = b'{"type": "payment.paid"}'
    headers = {**signed_standard(body), **change}
    present = {k: v for k, v in headers.items() if v is not None}
    with pytest.raises(PaymentMalformed) as caught:
        StandardWebhooks([SW_SECRET]).verify(present, body, at=NOW)
    assert caught.value.message == message


def test_standard_webhooks_forgery_and_window_say_why() -> None:
    body = b'{"type": "payment.paid"}'
    verifier = StandardWebhooks([SW_SECRET])
    longest = "m" * 256
    assert verifier.verify(signed_standard(body, msg_id=longest), body, at=NOW)[0] == longest
    with pytest.raises(PaymentSignatureInvalid) as bad:
        verifier.verify(signed_standard(body), body + b" ", at=NOW)
    assert bad.value.message == "no webhook signature matches a configured key"
    with pytest.raises(PaymentTimestampStale) as late:
        verifier.verify(signed_standard(body, at=int(NOW.timestamp()) + 301), body, at=NOW)
    assert late.value.context == {"skew": -301}


def test_standard_webhooks_payload_is_normalised_field_by_field() -> None:
    data = {
        "order_id": "G-7",
        "amount": 700,
        "currency": "CNY",
        "transaction_id": "tx-7",
        "merchant_id": "m-7",
        "refund_id": "r-7",
        "payer_amount": 690,
        "total": 700,
        "refunded_total": 0,
    }
    payload = {"type": "payment.paid", "timestamp": "2026-05-01T07:59:00+00:00", "data": data}
    body = json.dumps(payload).encode()
    event = StandardWebhooks([SW_SECRET]).parse(signed_standard(body), body, at=NOW)
    assert (event.kind, event.event_id, event.order_id, event.transaction_id) == (
        EventKind.PAID,
        "msg_1",
        "G-7",
        "tx-7",
    )
    assert (event.amount, event.currency, event.payer_amount, event.total) == (700, "CNY", 690, 700)
    assert (event.refunded_total, event.merchant_id, event.refund_id) == (0, "m-7", "r-7")
    assert (event.status, event.occurred_at) == (
        "payment.paid",
        datetime(2026, 5, 1, 7, 59, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"type": "invoice.created", "data": {"order_id": "G-8"}},
            (EventKind.OTHER, "G-8", 0, "XXX"),
        ),
        ({"type": "payment.unknown", "data": []}, (EventKind.OTHER, "msg_1", 0, "XXX")),
        ({"data": {"amount": 5}}, (EventKind.OTHER, "msg_1", 0, "XXX")),
        (
            {
                "type": "payment.refunded",
                "timestamp": "2026-05-01T08:00:00",
                "data": {"order_id": "G-9", "amount": 3, "currency": "USD"},
            },
            (EventKind.REFUNDED, "G-9", 3, "USD"),
        ),
    ],
)
def test_standard_webhooks_other_and_partial_payloads(
    payload: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    body = json.dumps(payload).encode()
    event = StandardWebhooks([SW_SECRET]).parse(signed_standard(body), body, at=NOW)
    assert (event.kind, event.order_id, event.amount, event.currency) == expected
    assert event.occurred_at == NOW  # a naive stated time is not taken for the event time
    assert event.status == payload.get("type", "")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"type": "payment.paid", "timestamp": "yesterday"},
            "the payload timestamp is not RFC 3339",
        ),
        (
            {"type": "payment.paid", "data": {"amount": -1}},
            "data.amount is not a non-negative integer",
        ),
    ],
)
def test_standard_webhooks_bad_payload_says_why(payload: dict[str, Any], message: str) -> None:
    body = json.dumps(payload).encode()
    with pytest.raises(PaymentMalformed) as caught:
        StandardWebhooks([SW_SECRET]).parse(signed_standard(body), body, at=NOW)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("verifier", "ok_status"),
    [(Stripe([SECRET]), 200), (StandardWebhooks([SW_SECRET]), 204)],
    ids=["stripe", "standard-webhooks"],
)
def test_webhook_answers_are_the_documented_status_codes(
    verifier: Stripe | StandardWebhooks, ok_status: int
) -> None:
    assert (verifier.acknowledge().status, verifier.acknowledge().body) == (ok_status, b"")
    assert verifier.reject(retry=False).status == 400
    assert verifier.reject(retry=True).status == 500


def test_webhook_inspect_reports_the_same_verdicts_as_parse() -> None:
    body = stripe_event("payment_intent.succeeded", {"id": "pi_1", "amount_received": 5})
    good = Stripe([SECRET]).inspect(signed_stripe(body), body, at=NOW)
    assert good.valid
    assert good.event is not None
    assert good.event.amount == 5
    bad = Stripe([SECRET]).inspect(signed_stripe(body), body + b" ", at=NOW)
    assert not bad.valid
    assert [(c.name, c.ok, c.code) for c in bad.checks] == [
        ("signature", False, "payment.bad_signature"),
        ("timestamp", None, None),  # not performed, never reported as passed
        ("format", None, None),
    ]
    sw_body = b'{"type": "payment.paid", "data": {"order_id": "G", "amount": 1, "currency": "CNY"}}'
    sw_good = StandardWebhooks([SW_SECRET]).inspect(signed_standard(sw_body), sw_body, at=NOW)
    assert sw_good.valid
    sw_bad = StandardWebhooks([SW_SECRET]).inspect(
        signed_standard(sw_body, at=int(NOW.timestamp()) - 301), sw_body, at=NOW
    )
    assert [c.code for c in sw_bad.checks if c.ok is False] == ["payment.stale_timestamp"]


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        (
            b'{"id": "e", "type": "x", "created": 1, "data": ["object"]}',
            "the Stripe event lacks id, type or data.object",
            None,
        ),
        (
            b'{"id": "e", "type": "x", "created": 1, "data": {"object": []}}',
            "the Stripe event lacks id, type or data.object",
            None,
        ),
        (
            stripe_event("payment_intent.canceled", {"amount": -1}),
            "amount is not a non-negative integer",
            "amount",
        ),
        (
            stripe_event("charge.refunded", {"amount": "5", "amount_refunded": 5}),
            "amount is not a non-negative integer",
            "amount",
        ),
    ],
    ids=["data-not-a-map", "object-not-a-map", "cancelled-negative", "refund-total-text"],
)
def test_stripe_event_shapes_say_why(body: bytes, message: str, field: str | None) -> None:
    with pytest.raises(PaymentMalformed) as caught:
        Stripe([SECRET]).parse(signed_stripe(body), body, at=NOW)
    assert caught.value.message == message
    assert caught.value.context.get("field") == field


def test_stripe_event_keeps_the_raw_event_and_a_bounded_status() -> None:
    body = stripe_event("x" * 70, {"id": "ob_1"})
    event = Stripe([SECRET]).parse(signed_stripe(body), body, at=NOW)
    assert event.raw == json.loads(body)
    assert event.status == "x" * 64


def test_standard_webhooks_secret_with_characters_outside_base64_is_refused() -> None:
    # a lenient decoder drops the "$" and takes the rest for the key
    with pytest.raises(ConfigurationError) as caught:
        StandardWebhooks([SW_SECRET + "$"])
    assert caught.value.message == "a Standard Webhooks secret is not whsec_ + base64"


def test_standard_webhooks_ed25519_signature_checks() -> None:
    wrong, right = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    headers, body = standard_webhooks_callback(right, order_id="G", amount=9, at=NOW)
    retired = KeyRecord(VerifyingKey(right.public_key()), not_after=NOW)
    keys = [VerifyingKey(wrong.public_key()), retired, VerifyingKey(right.public_key())]
    # a key that does not verify and a retired key are skipped, not the end of the search
    assert StandardWebhooks(public_keys=keys).parse(headers, body, at=NOW).amount == 9
    only_ed = StandardWebhooks(public_keys=[VerifyingKey(right.public_key())])
    version, _, sig = headers["webhook-signature"].partition(",")
    for forged in (f"{version},{sig[:4]}${sig[4:]}", f"{version},!!!!", f"{version},"):
        with pytest.raises(PaymentSignatureInvalid) as caught:
            only_ed.parse({**headers, "webhook-signature": forged}, body, at=NOW)
        assert caught.value.message == "no webhook signature matches a configured key"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            b'{"type": "payment.paid", "type": "payment.refunded"}',
            "the webhook payload has a duplicate member name",
        ),
        (b'{"type": "payment.paid", "data": {"amount": 1, "currency": "CNY"}}', "order_id"),
        (b'{"type": "payment.paid", "data": {"order_id": "G", "amount": 1}}', "currency"),
    ],
    ids=["duplicate-member", "no-order-id", "no-currency"],
)
def test_standard_webhooks_payload_faults_say_why(payload: bytes, message: str) -> None:
    with pytest.raises(PaymentMalformed) as caught:
        StandardWebhooks([SW_SECRET]).parse(signed_standard(payload), payload, at=NOW)
    assert caught.value.message.startswith(message)


def test_standard_webhooks_payload_keeps_floats_and_the_raw_payload() -> None:
    data = b'"data": {"order_id": "G", "amount": 1, "currency": "CNY"}'
    body = b'{"type": "payment.paid", "rate": 1.5, ' + data + b"}"
    event = StandardWebhooks([SW_SECRET]).parse(signed_standard(body), body, at=NOW)
    assert event.raw == json.loads(body)
    long_type = json.dumps({"type": "y" * 70}).encode()
    assert (
        StandardWebhooks([SW_SECRET]).parse(signed_standard(long_type), long_type, at=NOW).status
        == "y" * 64
    )


@pytest.mark.parametrize("secrets", [[SECRET, ""], [""], [SECRET, 7], []])
def test_stripe_refuses_empty_or_non_text_secrets(secrets: list[Any]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Stripe(secrets)
    assert caught.value.message == "Stripe needs a non-empty list of signing secrets"


def test_webhook_verifiers_read_their_clock_when_no_time_is_given() -> None:
    body = stripe_event("payment_intent.succeeded", {"id": "pi_1", "amount_received": 5})
    assert Stripe([SECRET], clock=FixedClock(NOW)).parse(signed_stripe(body), body).amount == 5
    sw_body = b'{"type": "x"}'
    sw = StandardWebhooks([SW_SECRET], clock=FixedClock(NOW))
    assert sw.verify(signed_standard(sw_body), sw_body) == ("msg_1", int(NOW.timestamp()))


def test_stripe_header_and_body_size_limits_are_inclusive() -> None:
    body = b'{"id": "e", "type": "x", "created": 1, "data": {"object": {}}, "pad": "'
    body += b"p" * (256 * 1024 - len(body) - 2) + b'"}'
    assert len(body) == 256 * 1024
    headers = signed_stripe(body)
    assert Stripe([SECRET]).parse(headers, body, at=NOW).event_id == "e"
    value = headers["Stripe-Signature"] + ",x="
    longest = value + "a" * (4096 - len(value))
    assert Stripe([SECRET]).parse({"Stripe-Signature": longest}, body, at=NOW).event_id == "e"
    with pytest.raises(PaymentMalformed) as caught:
        Stripe([SECRET]).parse({"Stripe-Signature": longest + "a"}, body, at=NOW)
    assert caught.value.message == "the Stripe-Signature header is missing"


def test_timestamps_that_are_not_unix_seconds_say_which_header() -> None:
    body = b'{"type": "x"}'
    with pytest.raises(PaymentMalformed) as stripe:
        Stripe([SECRET]).parse({"Stripe-Signature": "t=12=3,v1=aa"}, body, at=NOW)
    assert (
        stripe.value.message == "the Stripe-Signature timestamp is missing or not a Unix timestamp"
    )
    headers = {**signed_standard(body), "webhook-timestamp": "soon"}
    with pytest.raises(PaymentMalformed) as standard:
        StandardWebhooks([SW_SECRET]).verify(headers, body, at=NOW)
    assert standard.value.message == "webhook-timestamp is missing or not a Unix timestamp"


def test_non_ascii_signatures_are_forgeries_not_crashes() -> None:
    body = b'{"type": "x"}'
    with pytest.raises(PaymentSignatureInvalid):
        Stripe([SECRET]).parse(signed_stripe(body) | {"Stripe-Signature": "t=1,v1=é"}, body, at=NOW)
    headers = {**signed_standard(body), "webhook-signature": "v1,签名"}
    with pytest.raises(PaymentSignatureInvalid):
        StandardWebhooks([SW_SECRET]).verify(headers, body, at=NOW)


def test_standard_webhooks_signatures_are_separated_by_single_spaces() -> None:
    body = b'{"type": "x"}'
    headers = signed_standard(body)
    good = headers["webhook-signature"].rsplit(" ", 1)[1]
    with pytest.raises(PaymentSignatureInvalid):
        StandardWebhooks([SW_SECRET]).verify(
            {**headers, "webhook-signature": f"v1,bad\t{good}"}, body, at=NOW
        )


def test_standard_webhooks_keys_of_every_form_are_all_kept() -> None:
    wrong, right = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    raw = right.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    whpk = "whpk_" + base64.b64encode(raw).decode()
    headers, body = standard_webhooks_callback(right, order_id="G", amount=3, at=NOW)
    mixed = StandardWebhooks(public_keys=[VerifyingKey(wrong.public_key()), whpk])
    assert mixed.parse(headers, body, at=NOW).amount == 3
    ring = KeyRing()
    ring.add(SigningKey.generate("ES256").verifying_key)
    with pytest.raises(ConfigurationError) as caught:
        StandardWebhooks(public_keys=ring)
    assert caught.value.message == "Standard Webhooks v1a keys are EdDSA keys, not ES256"


@pytest.mark.parametrize(
    ("metadata", "reference", "order_id"),
    [({"order_id": 5}, "G-3", "G-3"), ({"order_id": ""}, "G-4", "G-4"), ({}, 6, "pi_6")],
)
def test_stripe_order_reference_must_be_non_empty_text(
    metadata: dict[str, Any], reference: Any, order_id: str
) -> None:
    obj = {"id": "pi_6", "amount": 1, "metadata": metadata, "client_reference_id": reference}
    body = stripe_event("payment_intent.succeeded", obj)
    assert Stripe([SECRET]).parse(signed_stripe(body), body, at=NOW).order_id == order_id


def test_standard_webhooks_currency_must_be_text() -> None:
    body = b'{"type": "payment.paid", "data": {"order_id": "G", "amount": 1, "currency": 1}}'
    with pytest.raises(PaymentMalformed) as caught:
        StandardWebhooks([SW_SECRET]).parse(signed_standard(body), body, at=NOW)
    assert caught.value.message.startswith("currency")
