"""``inspect()`` on payment callbacks: the same verdict as ``parse()``, as a report.

Each adapter's ``inspect`` runs its own ``parse``; the report lists the provider's
checks (:data:`~govkit.payments.CALLBACK_CHECKS`). A callback that fails fails exactly
the check its error names and no other is shown as passed; checks the configuration
does not make are "not performed", never a pass.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from govkit.errors import (
    NaiveDatetimeError,
    PaymentKeyRefreshFailed,
    PaymentSignatureInvalid,
    PaymentVerificationError,
)
from govkit.keys import SigningKey
from govkit.payments import (
    CALLBACK_CHECKS,
    Alipay,
    CallbackReport,
    PaymentEvent,
    Provider,
    StandardWebhooks,
    Stripe,
    UnionPay,
    WeChatPayV3,
    WeChatPlatformKeys,
    inspect_callback,
)
from govkit.testing.payments import (
    alipay_callback,
    standard_webhooks_callback,
    stripe_callback,
    unionpay_callback,
    wechat_callback,
)

from .conftest import APIV3, NOW, PUB_KEY_ID

MCHID = "1900000109"
APP_ID = "2021000118600000"
STRIPE_SECRET = "whsec_test_secret"
UNIONPAY_KEY = "unionpay-secure-key"


def outcomes(report: CallbackReport) -> dict[str, tuple[bool | None, str | None]]:
    return {c.name: (c.ok, c.code) for c in report.checks}


def wechat(platform_key: SigningKey, **options: Any) -> WeChatPayV3:
    return WeChatPayV3(APIV3, {PUB_KEY_ID: platform_key.verifying_key}, **options)


def paid_wechat(platform_key: SigningKey, **options: Any) -> tuple[Mapping[str, str], bytes]:
    return wechat_callback(
        platform_key, PUB_KEY_ID, APIV3, order_id="GOV-1", amount=100, at=NOW, **options
    )


# --- a genuine callback passes every check that was made -------------------------------------


def test_genuine_wechat_callback_passes_every_check_with_the_event(
    platform_key: SigningKey,
) -> None:
    headers, body = paid_wechat(platform_key)
    report = wechat(platform_key, mchid=MCHID).inspect(headers, body, at=NOW)
    assert (report.valid, report.code, report.kind) == (True, None, "payment_callback")
    assert tuple(c.name for c in report.checks) == CALLBACK_CHECKS[Provider.WECHATPAY]
    assert all(c.ok is True for c in report.checks)
    assert report.event == wechat(platform_key).parse(headers, body, at=NOW)
    data = json.loads(json.dumps(report.to_dict()))
    assert list(data)[:4] == ["valid", "kind", "code", "checks"]
    assert (data["provider"], data["event"]["order_id"], data["event"]["amount"]) == (
        "wechatpay",
        "GOV-1",
        100,
    )
    assert "raw" not in data["event"]  # the decrypted payload stays out of reports


def test_wechat_merchant_is_not_performed_without_a_configured_mchid(
    platform_key: SigningKey,
) -> None:
    headers, body = paid_wechat(platform_key)
    report = wechat(platform_key).inspect(headers, body, at=NOW)
    assert report.valid
    assert report.skipped == ("merchant",)
    assert report.to_dict()["checks"][3] == {
        "name": "merchant",
        "ok": None,
        "code": None,
        "detail": "no mchid configured",
    }


def test_alipay_and_unionpay_say_no_signed_time_was_checked(alipay_key: SigningKey) -> None:
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="GOV-2", amount=200, at=NOW)
    report = Alipay(alipay_key.verifying_key, APP_ID).inspect(headers, body, at=NOW)
    assert (report.valid, report.skipped) == (True, ("timestamp",))
    assert "Alipay signs no time" in report.checks[1].detail
    assert report.event is not None
    assert report.event.amount == 200
    headers, body = unionpay_callback(order_id="GOV-3", amount=300, secure_key=UNIONPAY_KEY, at=NOW)
    union = UnionPay(secure_key=UNIONPAY_KEY).inspect(headers, body, at=NOW)
    assert (union.valid, union.skipped) == (True, ("timestamp", "merchant"))
    assert tuple(c.name for c in union.checks) == CALLBACK_CHECKS[Provider.UNIONPAY]


def test_stripe_and_standard_webhooks_reports(platform_key: SigningKey) -> None:
    headers, body = stripe_callback(STRIPE_SECRET, order_id="GOV-4", amount=400, at=NOW)
    report = Stripe([STRIPE_SECRET]).inspect(headers, body, at=NOW)
    assert [(c.name, c.ok) for c in report.checks] == [
        ("signature", True),
        ("timestamp", True),
        ("format", True),
    ]
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    headers, body = standard_webhooks_callback(secret, order_id="GOV-5", amount=500, at=NOW)
    assert StandardWebhooks([secret]).inspect(headers, body, at=NOW).valid


# --- a forged or damaged callback fails exactly the check its error names --------------------


def test_forged_wechat_signature_fails_the_signature_check_and_nothing_passes(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    headers, body = paid_wechat(other_key)  # signed by a key nobody trusts
    report = wechat(platform_key, mchid=MCHID).inspect(headers, body, at=NOW)
    assert (report.valid, report.code, report.event) == (False, "payment.bad_signature", None)
    assert outcomes(report) == {
        "signature": (False, "payment.bad_signature"),
        "timestamp": (None, None),
        "decryption": (None, None),
        "merchant": (None, None),
        "format": (None, None),
    }
    assert report.to_dict()["event"] is None


def test_replayed_stripe_webhook_fails_the_timestamp_check(platform_key: SigningKey) -> None:
    headers, body = stripe_callback(STRIPE_SECRET, order_id="G", amount=1, at=NOW)
    report = Stripe([STRIPE_SECRET]).inspect(headers, body, at=NOW + timedelta(hours=1))
    assert report.code == "payment.stale_timestamp"
    assert [c.name for c in report.checks if c.ok is False] == ["timestamp"]
    assert not any(c.ok for c in report.checks)


def test_callback_for_another_merchant_fails_the_merchant_check(
    platform_key: SigningKey,
) -> None:
    headers, body = paid_wechat(platform_key, mchid="1900000999")
    report = wechat(platform_key, mchid=MCHID).inspect(headers, body, at=NOW)
    assert report.code == "payment.merchant_mismatch"
    assert outcomes(report)["merchant"] == (False, "payment.merchant_mismatch")


def test_wrong_apiv3_key_fails_the_decryption_check(platform_key: SigningKey) -> None:
    headers, body = wechat_callback(
        platform_key, PUB_KEY_ID, "f" * 32, order_id="G", amount=1, at=NOW
    )
    report = wechat(platform_key).inspect(headers, body, at=NOW)
    assert outcomes(report)["decryption"] == (False, "payment.decrypt_failed")


def test_callback_without_signature_headers_fails_the_format_check(
    platform_key: SigningKey,
) -> None:
    _, body = paid_wechat(platform_key)
    report = wechat(platform_key).inspect({}, body, at=NOW)
    assert report.code == "payment.malformed"
    assert outcomes(report)["format"] == (False, "payment.malformed")
    assert [c.name for c in report.checks if c.ok is False] == ["format"]


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"{", b"a=b&c", b"x" * 10])
def test_garbage_is_reported_by_every_adapter_never_raised(
    body: bytes, platform_key: SigningKey, alipay_key: SigningKey
) -> None:
    adapters = [
        wechat(platform_key),
        Alipay(alipay_key.verifying_key, APP_ID),
        UnionPay(secure_key=UNIONPAY_KEY),
        Stripe([STRIPE_SECRET]),
    ]
    for adapter in adapters:
        report = adapter.inspect({}, body, at=NOW)
        assert not report.valid
        assert report.code is not None
        assert report.code.startswith("payment.")
        assert sum(c.ok is False for c in report.checks) == 1


def test_inspect_and_parse_agree_on_the_code(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    adapter = wechat(platform_key, mchid=MCHID)
    for headers, body in (paid_wechat(other_key), paid_wechat(platform_key, mchid="1")):
        report = adapter.inspect(headers, body, at=NOW)
        with pytest.raises(PaymentVerificationError) as caught:
            adapter.parse(headers, body, at=NOW)
        assert report.code == caught.value.code


# --- what is not about the callback raises ---------------------------------------------------


def test_a_failing_key_download_raises_and_is_not_a_verdict(platform_key: SigningKey) -> None:
    def down() -> list[Any]:
        raise PaymentKeyRefreshFailed("the download failed")

    keys = WeChatPlatformKeys({}, downloader=down)
    # an unknown certificate serial makes the ring download the platform certificates
    headers, body = wechat_callback(platform_key, "1234ABCD", APIV3, order_id="G", amount=1, at=NOW)
    with pytest.raises(PaymentKeyRefreshFailed):
        WeChatPayV3(APIV3, keys).inspect(headers, body, at=NOW)


def test_a_naive_time_raises(platform_key: SigningKey) -> None:
    headers, body = paid_wechat(platform_key)
    with pytest.raises(NaiveDatetimeError):
        wechat(platform_key).inspect(headers, body, at=NOW.replace(tzinfo=None))


# --- any other adapter ------------------------------------------------------------------------


class _Echo:
    """A third-party adapter: accepts a body of ``ok``."""

    provider = "example"

    def parse(self, headers: Mapping[str, str], body: bytes, *, at: object = None) -> PaymentEvent:
        if body != b"ok":
            raise PaymentSignatureInvalid("not ok")
        return Stripe([STRIPE_SECRET]).parse(
            *stripe_callback(STRIPE_SECRET, order_id="G", amount=1, at=NOW), at=NOW
        )


def test_another_adapter_gets_one_callback_check() -> None:
    good = inspect_callback(_Echo(), {}, b"ok", at=NOW)  # type: ignore[arg-type]
    assert [(c.name, c.ok) for c in good.checks] == [("callback", True)]
    bad = inspect_callback(_Echo(), {}, b"no", at=NOW)  # type: ignore[arg-type]
    assert [(c.name, c.ok, c.code) for c in bad.checks] == [
        ("callback", False, "payment.bad_signature")
    ]


# --- every check line has its Chinese (govkit._messages.DETAILS) ------------------------------


def test_a_genuine_wechat_callback_says_each_check_in_chinese_with_its_order_as_is(
    platform_key: SigningKey,
) -> None:
    headers, body = paid_wechat(platform_key)
    report = wechat(platform_key, mchid=MCHID).inspect(headers, body, at=NOW)
    said = {c.name: c.detail_in("zh") for c in report.checks}
    assert said == {
        "signature": "受信任的密钥验证了原始报文上的签名",
        "timestamp": "签名时间在防重放时间窗口内",
        "decryption": "resource 可用 APIv3 密钥解密（其 AEAD 标签验证通过）",
        "merchant": "属于所配置的商户",
        "format": "格式正确的 paid 事件，订单 GOV-1",
    }
    english = {c.name: c.detail for c in report.checks}
    assert english["format"] == "a well-formed paid event for order GOV-1"
    assert english["signature"] == "a trusted key verifies the signature over the raw body"


def test_checks_not_made_say_why_in_chinese(
    platform_key: SigningKey, alipay_key: SigningKey
) -> None:
    headers, body = paid_wechat(platform_key)
    no_mchid = wechat(platform_key).inspect(headers, body, at=NOW).checks[3]
    assert (no_mchid.detail, no_mchid.detail_in("zh")) == (
        "no mchid configured",
        "未配置商户号 mchid",
    )
    headers, body = alipay_callback(alipay_key, APP_ID, order_id="GOV-2", amount=200, at=NOW)
    timestamp = Alipay(alipay_key.verifying_key, APP_ID).inspect(headers, body, at=NOW).checks[1]
    # not made, and said so: no claim that replays were stopped (no inbox is involved here)
    assert timestamp.ok is None
    assert timestamp.detail == (
        "Alipay signs no time: freshness NOT checked; only a payment inbox's unique key "
        "stops replays"
    )
    assert timestamp.detail_in("zh") == (
        "Alipay 不签名时间：未检查时效；仅支付收件箱的唯一键可阻止重放"
    )
    headers, body = unionpay_callback(order_id="GOV-3", amount=300, secure_key=UNIONPAY_KEY, at=NOW)
    union_report = UnionPay(secure_key=UNIONPAY_KEY).inspect(headers, body, at=NOW)
    union = {c.name: c for c in union_report.checks}
    assert union["timestamp"].detail_in("zh") == (
        "UnionPay 不签名时间：未检查时效；仅支付收件箱的唯一键可阻止重放"
    )
    assert union["merchant"].detail_in("zh") == "未配置商户号 mer_id"


def test_a_forged_callback_says_in_chinese_which_check_failed(
    platform_key: SigningKey, other_key: SigningKey
) -> None:
    headers, body = paid_wechat(other_key)
    report = wechat(platform_key, mchid=MCHID).inspect(headers, body, at=NOW)
    timestamp = next(c for c in report.checks if c.name == "timestamp")
    assert timestamp.detail == "not established: the callback failed its signature check"
    assert timestamp.detail_in("zh") == "未确认：该支付回调未通过 signature 检查"


def test_every_check_a_callback_passes_or_leaves_open_has_a_catalogue_detail(
    platform_key: SigningKey, other_key: SigningKey, alipay_key: SigningKey
) -> None:
    reports = [
        wechat(platform_key, mchid=MCHID).inspect(*paid_wechat(platform_key), at=NOW),
        wechat(platform_key).inspect(*paid_wechat(other_key), at=NOW),
        Alipay(alipay_key.verifying_key, APP_ID).inspect(
            *alipay_callback(alipay_key, APP_ID, order_id="G", amount=1, at=NOW), at=NOW
        ),
        UnionPay(secure_key=UNIONPAY_KEY).inspect(
            *unionpay_callback(order_id="G", amount=1, secure_key=UNIONPAY_KEY, at=NOW), at=NOW
        ),
        Stripe([STRIPE_SECRET]).inspect(
            *stripe_callback(STRIPE_SECRET, order_id="G", amount=1, at=NOW), at=NOW
        ),
    ]
    untranslated = [
        (r.provider, c.name, c.detail)
        for r in reports
        for c in r.checks
        if c.ok is not False and c.detail_key is None
    ]
    assert untranslated == []


def test_an_adapters_own_reason_is_kept_as_given(platform_key: SigningKey) -> None:
    headers, body = paid_wechat(platform_key)
    report = inspect_callback(
        wechat(platform_key),
        headers,
        body,
        at=NOW,
        checks=CALLBACK_CHECKS[Provider.WECHATPAY],
        unchecked={"merchant": "checked by the gateway"},
    )
    merchant = next(c for c in report.checks if c.name == "merchant")
    assert (merchant.ok, merchant.detail_key, merchant.detail_in("zh")) == (
        None,
        None,
        "checked by the gateway",
    )
