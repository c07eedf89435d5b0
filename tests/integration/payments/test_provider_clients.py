"""The provider clients and reconciliation against a loopback server that answers as documented.

``tests/provider_server.py`` plays WeChat Pay API v3 and Alipay's gateway on 127.0.0.1
(its docstring lists each answer and where its format comes from): it checks the
merchant's and the app's request signatures as the providers do, signs its answers
with the platform / Alipay key, serves bills (WeChat: a signed ``download_url`` +
``SHA1`` hash, then the gzip file; Alipay: a signed ``bill_download_url``, then a zip
of GBK CSVs), and misbehaves on demand (a forged or tampered signature, a stale
timestamp, an unknown key, a sleep, a trickle, a truncated or oversized body).

The peer SDKs (``wechatpayv3``, python-alipay-sdk) check that the server's answers are
what they expect too, so the server is not merely agreeing with govkit.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import time
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from govkit.errors import (
    ConfigurationError,
    GovkitError,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentQueryFailed,
    PaymentSignatureInvalid,
    PaymentTimestampStale,
)
from govkit.keys import SigningKey
from govkit.payments import (
    Alipay,
    AlipayClient,
    BillDifference,
    EventKind,
    PaymentInbox,
    SourcePolicy,
    WeChatPayClient,
    WeChatPayV3,
    parse_alipay_bill,
    parse_wechat_bill,
    reconcile,
)
from govkit.testing.payments import alipay_callback, wechat_callback, wechat_refund_callback


def _load_server_module() -> ModuleType:
    # tests/ is not a package and pytest imports with --import-mode=importlib: load by path.
    name = "govkit_tests_provider_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[2] / "provider_server.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


providers = _load_server_module()

MCHID = "1900000109"
MERCHANT_SERIAL = "444F4864EA9B34415"
KEY_ID = "PUB_KEY_ID_0114232134912410000000000000000000"
APP_ID = "2021000118600000"
APIV3 = "0123456789abcdef0123456789abcdef"
PLATFORM = SigningKey.generate("RS256")
MERCHANT = SigningKey.generate("RS256")
ALIPAY = SigningKey.generate("RS256")
APP = SigningKey.generate("RS256")
#: The clients' policy in the fault tests: short enough for a sleeping server.
QUICK = SourcePolicy(timeout=0.5)
#: When the inbox's callbacks arrived: 16:00 China Standard Time, 1 May 2026.
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
DAY = "2026-05-01"


@pytest.fixture
def server() -> Iterator[Any]:
    fake = providers.ProviderServer(
        mchid=MCHID,
        merchant_serial=MERCHANT_SERIAL,
        merchant_key=MERCHANT.verifying_key,
        platform_key=PLATFORM,
        platform_key_id=KEY_ID,
        app_id=APP_ID,
        app_key=APP.verifying_key,
        alipay_key=ALIPAY,
    )
    with providers.running(fake):
        yield fake


def wechat(server: Any, **options: Any) -> WeChatPayClient:
    return WeChatPayClient(
        mchid=MCHID,
        merchant_serial=MERCHANT_SERIAL,
        merchant_key=options.pop("merchant_key", MERCHANT),
        platform_keys={KEY_ID: PLATFORM.verifying_key},
        base_url=server.url,
        **options,
    )


def alipay(server: Any, **options: Any) -> AlipayClient:
    return AlipayClient(
        app_id=APP_ID,
        app_private_key=options.pop("app_key", APP),
        alipay_public_key=ALIPAY.verifying_key,
        gateway=server.url + "/gateway.do",
        **options,
    )


def wechat_order(order_id: str, total: int, state: str = "SUCCESS", **extra: Any) -> dict[str, Any]:
    """An order as ``GET /v3/pay/transactions/out-trade-no/...`` returns it."""
    order: dict[str, Any] = {
        "appid": "wxd678efh567hg6787",
        "mchid": MCHID,
        "out_trade_no": order_id,
        "trade_type": "NATIVE",
        "trade_state": state,
        "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付"}.get(state, state),
        "amount": {"total": total, "currency": "CNY"},
        **extra,
    }
    if state == "SUCCESS":
        order.update(
            transaction_id="4200000985202605011234567890",
            bank_type="OTHERS",
            success_time="2026-05-01T16:00:00+08:00",
            payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        )
        order["amount"].update(payer_total=total, payer_currency="CNY")
    return order


def alipay_order(order_id: str, yuan: str, status: str = "TRADE_SUCCESS") -> dict[str, Any]:
    """The members of ``alipay_trade_query_response`` for an order (besides code and msg)."""
    return {
        "trade_no": "2026050122001400000000000001",
        "out_trade_no": order_id,
        "buyer_logon_id": "159****5620",
        "trade_status": status,
        "total_amount": yuan,
        "buyer_pay_amount": yuan,
        "send_pay_date": "2026-05-01 16:00:00",
        "buyer_user_id": "2088101117955611",
    }


def failure(caught: pytest.ExceptionInfo[GovkitError]) -> tuple[str, Any, Any]:
    return caught.value.code, caught.value.context.get("reason"), caught.value.context.get("status")


# --- WeChat Pay order query -------------------------------------------------------------


def test_wechat_query_signs_the_documented_path_and_returns_the_verified_order(server: Any) -> None:
    server.wechat_orders["GOV-1"] = wechat_order("GOV-1", 5000)
    event = wechat(server).query_order("GOV-1")
    assert (event.kind, event.order_id, event.amount, event.currency) == (
        EventKind.PAID,
        "GOV-1",
        5000,
        "CNY",
    )
    assert event.transaction_id == "4200000985202605011234567890"
    assert event.event_id == "query:4200000985202605011234567890:SUCCESS"
    assert event.occurred_at == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    # the server checked the merchant's signature over this exact path (else 401)
    assert server.paths() == ["/v3/pay/transactions/out-trade-no/GOV-1?mchid=1900000109"]


def test_wechat_query_quotes_an_order_id_inside_the_signed_path(server: Any) -> None:
    order_id = "GOV/2026 ?#1"
    server.wechat_orders[order_id] = wechat_order(order_id, 100)
    event = wechat(server).query_order(order_id)
    assert event.order_id == order_id
    assert server.paths() == [
        "/v3/pay/transactions/out-trade-no/GOV%2F2026%20%3F%231?mchid=1900000109"
    ]


def test_wechat_query_of_an_unpaid_order_is_not_a_payment(server: Any) -> None:
    server.wechat_orders["GOV-2"] = wechat_order("GOV-2", 800, state="NOTPAY")
    event = wechat(server).query_order("GOV-2")
    assert (event.kind, event.status, event.transaction_id) == (EventKind.OTHER, "NOTPAY", None)
    assert event.event_id == "query:GOV-2:NOTPAY"


def test_wechat_order_not_exist_is_a_refused_query_quoting_nothing(server: Any) -> None:
    with pytest.raises(PaymentQueryFailed) as caught:
        wechat(server).query_order("GOV-NONE")
    assert failure(caught) == ("payment.query_failed", "http_status", 404)
    # the answer was {"code":"ORDER_NOT_EXIST",...}: not read, not quoted
    assert "ORDER_NOT_EXIST" not in str(caught.value)
    assert server.sent[-1][1].startswith(b'{"code":"ORDER_NOT_EXIST"')


def test_wechat_request_signed_with_another_merchant_key_is_refused_401(server: Any) -> None:
    server.wechat_orders["GOV-1"] = wechat_order("GOV-1", 5000)
    client = wechat(server, merchant_key=SigningKey.generate("RS256"))
    with pytest.raises(PaymentQueryFailed) as caught:
        client.query_order("GOV-1")
    assert failure(caught) == ("payment.query_failed", "http_status", 401)


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("forge", PaymentSignatureInvalid, "payment.bad_signature"),
        ("tamper", PaymentSignatureInvalid, "payment.bad_signature"),
        ("stale", PaymentTimestampStale, "payment.stale_timestamp"),
        ("unknown_serial", PaymentKeyUnknown, "payment.unknown_key"),
        ("unsigned", PaymentMalformed, "payment.malformed"),
    ],
)
def test_wechat_answer_with_a_bad_signature_is_refused(
    server: Any, fault: str, error: type[GovkitError], code: str
) -> None:
    server.wechat_orders["GOV-1"] = wechat_order("GOV-1", 5000)
    server.fault = fault
    with pytest.raises(error) as caught:
        wechat(server).query_order("GOV-1")
    assert caught.value.code == code


def test_wechat_genuine_answer_about_another_order_is_refused(server: Any) -> None:
    # A signed answer is bound to a time, not to the request: one about GOV-PAID,
    # replayed within the window, must not pass as the state of GOV-ASKED.
    server.wechat_orders["GOV-ASKED"] = wechat_order("GOV-ASKED", 5000, state="NOTPAY")
    server.wechat_orders["GOV-PAID"] = wechat_order("GOV-PAID", 5000)
    server.fault = "other_order"
    with pytest.raises(PaymentMalformed) as caught:
        wechat(server).query_order("GOV-ASKED")
    assert "another order" in str(caught.value)


def test_wechat_genuine_answer_for_another_merchant_is_refused(server: Any) -> None:
    server.wechat_orders["GOV-1"] = wechat_order("GOV-1", 5000, mchid="1900000999")
    with pytest.raises(PaymentMerchantMismatch) as caught:
        wechat(server).query_order("GOV-1")
    assert caught.value.code == "payment.merchant_mismatch"


def test_wechatpayv3_verifies_the_servers_answers(server: Any) -> None:
    from wechatpayv3 import WeChatPay, WeChatPayType  # noqa: PLC0415

    server.wechat_orders["GOV-1"] = wechat_order("GOV-1", 5000)
    wechat(server).query_order("GOV-1")
    sdk = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=MCHID,
        private_key=MERCHANT.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        cert_serial_no=MERCHANT_SERIAL,
        appid="wxd678efh567hg6787",
        apiv3_key=APIV3,
        public_key=PLATFORM.verifying_key.public_key.public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        public_key_id=KEY_ID,
    )
    headers, body = server.sent[-1]
    assert sdk._core._verify_signature(headers, body.decode()) is True
    assert sdk._core._verify_signature(headers, body.decode().replace("5000", "5001")) is False


# --- Alipay order query -------------------------------------------------------------


def test_alipay_query_is_signed_as_documented_and_its_answer_verified(server: Any) -> None:
    server.alipay_orders["GOV-A"] = alipay_order("GOV-A", "88.80")
    event = alipay(server).query_order("GOV-A")
    assert (event.kind, event.order_id, event.amount, event.transaction_id) == (
        EventKind.PAID,
        "GOV-A",
        8880,
        "2026050122001400000000000001",
    )
    (sent,) = server.seen
    assert (sent.method, sent.path) == ("POST", "/gateway.do")
    assert {k: sent.params[k] for k in ("app_id", "method", "charset", "sign_type", "version")} == {
        "app_id": APP_ID,
        "method": "alipay.trade.query",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "version": "1.0",
    }
    assert json.loads(sent.params["biz_content"]) == {"out_trade_no": "GOV-A"}


def test_alipay_signature_covers_the_exact_member_text_even_with_braces_in_strings(
    server: Any,
) -> None:
    # Alipay signs the member's text as sent. python-alipay-sdk finds that text by
    # counting braces, including those inside strings; govkit parses JSON, so a brace
    # in a value (a subject, a store name) does not cut the signed text short.
    order = {**alipay_order("GOV-B", "12.30"), "subject": "罚款 {2026} }", "store_name": "a\\/b"}
    server.alipay_orders["GOV-B"] = order
    event = alipay(server).query_order("GOV-B")
    assert (event.order_id, event.amount) == ("GOV-B", 1230)
    from alipay import AliPay  # noqa: PLC0415

    raw = server.sent[-1][1].decode()
    sliced = AliPay._get_string_to_be_signed(None, raw, "alipay_trade_query_response")
    member = raw[raw.index(":") + 1 : raw.rindex(',"sign"')]
    # the SDK's slice ends at the unbalanced brace inside "subject", mid-string
    assert sliced == member[: member.index("{2026} }") + len("{2026} }")]
    assert sliced != member


def test_python_alipay_sdk_verifies_the_servers_answers(server: Any) -> None:
    from alipay import AliPay  # noqa: PLC0415

    server.alipay_orders["GOV-A"] = alipay_order("GOV-A", "88.80")
    alipay(server).query_order("GOV-A")
    sdk = AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=APP.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        alipay_public_key_string=ALIPAY.verifying_key.public_key.public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        sign_type="RSA2",
    )
    raw = server.sent[-1][1].decode()
    part = sdk._verify_and_return_sync_response(raw, "alipay_trade_query_response")
    assert part["out_trade_no"] == "GOV-A"


def test_alipay_unknown_order_is_a_signed_provider_error_with_its_codes(server: Any) -> None:
    with pytest.raises(PaymentQueryFailed) as caught:
        alipay(server).query_order("GOV-NONE")
    assert failure(caught) == ("payment.query_failed", "provider_error", None)
    assert dict(caught.value.context) == {
        "reason": "provider_error",
        "signed": True,
        "code": "40004",
        "sub_code": "ACQ.TRADE_NOT_EXIST",
    }
    assert "交易不存在" not in str(caught.value)  # sub_msg is free text: never quoted


def test_alipay_request_signed_with_another_app_key_gets_an_unsigned_error(server: Any) -> None:
    # Alipay cannot sign for a request it cannot authenticate; its SDKs then report the
    # error without verifying it. govkit reports it as unsigned, never as verified.
    with pytest.raises(PaymentQueryFailed) as caught:
        alipay(server, app_key=SigningKey.generate("RS256")).query_order("GOV-A")
    assert dict(caught.value.context) == {
        "reason": "provider_error",
        "signed": False,
        "code": "40002",
        "sub_code": "isv.invalid-signature",
    }
    assert b'"sign"' not in server.sent[-1][1]


@pytest.mark.parametrize("fault", ["forge", "tamper", "unsigned"])
def test_alipay_success_with_a_bad_or_missing_signature_is_refused(server: Any, fault: str) -> None:
    server.alipay_orders["GOV-A"] = alipay_order("GOV-A", "88.80")
    server.fault = fault
    with pytest.raises(PaymentSignatureInvalid) as caught:
        alipay(server).query_order("GOV-A")
    assert caught.value.code == "payment.bad_signature"


def test_alipay_genuine_answer_about_another_order_is_refused(server: Any) -> None:
    # Alipay's answers carry no time at all: without this check, any answer about a
    # paid order could stand for any other order.
    server.alipay_orders["GOV-ASKED"] = alipay_order("GOV-ASKED", "1.00", "WAIT_BUYER_PAY")
    server.alipay_orders["GOV-PAID"] = alipay_order("GOV-PAID", "1.00")
    server.fault = "other_order"
    with pytest.raises(PaymentMalformed) as caught:
        alipay(server).query_order("GOV-ASKED")
    assert "another order" in str(caught.value)


# --- transport faults, both clients -------------------------------------------------


def query(server: Any, provider: str) -> Any:
    server.wechat_orders["GOV-1"] = wechat_order("GOV-1", 5000)
    server.alipay_orders["GOV-1"] = alipay_order("GOV-1", "50.00")
    client = wechat(server, policy=QUICK) if provider == "wechat" else alipay(server, policy=QUICK)
    return client.query_order("GOV-1")


@pytest.mark.parametrize("provider", ["wechat", "alipay"])
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("sleep", "timeout"),
        ("trickle", "timeout"),
        ("truncate", "network"),
        ("oversize", "too_large"),
        ("oversize_stream", "too_large"),
    ],
)
def test_a_provider_fault_is_a_failed_query_within_the_deadline(
    server: Any, provider: str, fault: str, reason: str
) -> None:
    server.fault = fault
    started = time.monotonic()
    with pytest.raises(PaymentQueryFailed) as caught:
        query(server, provider)
    elapsed = time.monotonic() - started
    assert failure(caught)[:2] == ("payment.query_failed", reason)
    # the server would sleep 3 s or trickle for a minute; the 0.5 s deadline holds
    assert elapsed < 2.0


def test_wechat_answer_labelled_html_is_refused(server: Any) -> None:
    server.fault = "html"
    with pytest.raises(PaymentQueryFailed) as caught:
        query(server, "wechat")
    assert failure(caught)[:2] == ("payment.query_failed", "content_type")


# --- bills ------------------------------------------------------------------------------

WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)


def wechat_paid_row(order_id: str, yuan: str, clock: str = "16:00:00") -> str:
    return (
        f"`{DAY} {clock},`wxd678efh567hg6787,`{MCHID},`0,`,`42000{zlib.crc32(order_id.encode())},"
        f"`{order_id},`oUpF8u,`NATIVE,`SUCCESS,`OTHERS,`CNY,`{yuan},`0.00,`0,`0,`0.00,`0.00,`,`,"
        f"`罚款,`,`0.01,`0.60%,`{yuan},`0.00,`"
    )


def wechat_refund_row(order_id: str, refund_no: str, yuan: str) -> str:
    return (
        f"`{DAY} 17:00:00,`wxd678efh567hg6787,`{MCHID},`0,`,`42000{zlib.crc32(order_id.encode())},"
        f"`{order_id},`oUpF8u,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000{len(refund_no)},"
        f"`{refund_no},`{yuan},`0.00,`ORIGINAL,`SUCCESS,`罚款,`,`0.00,`0.60%,`0.00,`{yuan},`"
    )


def wechat_bill(*rows: str) -> bytes:
    footer = (
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,"
        "申请退款总金额"
    )
    return (
        "\n".join([WECHAT_HEADER, *rows, footer, "`0,`0.00,`0.00,`0.00,`0.00,`0.00,`0.00"]) + "\n"
    ).encode()


ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)


def alipay_row(order_id: str, kind: str, yuan: str, refund_no: str = "") -> str:
    return (
        f"2026050122001{zlib.crc32((order_id + refund_no).encode())}\t,{order_id}\t,{kind},罚款,"
        f"{DAY} 15:59:00,{DAY} 16:00:00,,,,,159****5620,{yuan},{yuan},0.00,0.00,0.00,0.00,"
        f"0.00,,0.00,0.00,{refund_no},0.00,0.00,"
    )


def alipay_bill(*rows: str) -> bytes:
    lines = [
        "#支付宝业务明细查询",
        "#账号：[20881234567890120156]",
        f"#起始日期：[{DAY} 00:00:00]   终止日期：[2026-05-02 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        ALIPAY_HEADER,
        *rows,
        "#-----------------------------------------业务明细列表结束------------------------------------",
        "#交易合计：1笔，交易金额：88.80元，退款合计：0笔，退款金额：0.00元",
        "#导出时间：[2026-05-02 09:00:00]",
    ]
    return ("\n".join(lines) + "\n").encode("gbk")


def test_wechat_bill_download_checks_the_signed_sha1_of_the_decompressed_bill(
    server: Any,
) -> None:
    bill = wechat_bill(wechat_paid_row("GOV-1", "50.00"))
    server.wechat_bills[DAY] = bill
    data = wechat(server).download_bill(date(2026, 5, 1))
    assert data == bill
    tradebill, download = server.paths()
    assert tradebill == f"/v3/bill/tradebill?bill_date={DAY}&bill_type=ALL&tar_type=GZIP"
    assert download.startswith("/v3/billdownload/file?token=")  # a signed request, or 401
    assert server.sent[-1][1][:2] == b"\x1f\x8b"  # it came gzip-compressed
    assert [(line.order_id, line.amount) for line in parse_wechat_bill(data)] == [("GOV-1", 5000)]


def test_wechat_bill_whose_sha1_is_not_the_signed_hash_is_refused(server: Any) -> None:
    server.wechat_bills[DAY] = wechat_bill(wechat_paid_row("GOV-1", "50.00"))
    server.fault = "wrong_hash"
    with pytest.raises(PaymentSignatureInvalid) as caught:
        wechat(server).download_bill(DAY)
    assert caught.value.code == "payment.bad_signature"


def test_wechat_bill_for_a_day_without_one_is_a_refused_request(server: Any) -> None:
    with pytest.raises(PaymentQueryFailed) as caught:
        wechat(server).download_bill(DAY)
    assert failure(caught) == ("payment.query_failed", "http_status", 400)


def test_wechat_bill_download_url_on_another_origin_is_never_fetched(server: Any) -> None:
    server.wechat_bills[DAY] = wechat_bill(wechat_paid_row("GOV-1", "50.00"))
    server.fault = "other_origin"
    with pytest.raises(PaymentQueryFailed) as caught:
        wechat(server).download_bill(DAY)
    assert failure(caught)[:2] == ("payment.query_failed", "other_origin")
    assert len(server.paths()) == 1  # the signed Authorization went nowhere else


def test_wechat_bill_gzip_bomb_stops_at_max_bytes(server: Any) -> None:
    # 4 MiB of one repeated row compresses to a few KiB; the limit counts what it decodes to
    row = wechat_paid_row("GOV-1", "50.00") + "\n"
    server.wechat_bills[DAY] = wechat_bill(*([row.strip()] * (4 * 1024 * 1024 // len(row))))
    with pytest.raises(PaymentQueryFailed) as caught:
        wechat(server).download_bill(DAY, max_bytes=1024 * 1024)
    assert failure(caught)[:2] == ("payment.query_failed", "too_large")
    assert len(server.sent[-1][1]) < 64 * 1024


def test_wechat_bill_truncated_in_transit_is_a_failed_download(server: Any) -> None:
    server.wechat_bills[DAY] = wechat_bill(wechat_paid_row("GOV-1", "50.00"))
    server.fault = "truncate"
    with pytest.raises(PaymentQueryFailed) as caught:
        wechat(server).download_bill(DAY)
    assert failure(caught)[:2] == ("payment.query_failed", "network")


@pytest.mark.parametrize(
    "bad", ["2026-5-1", "2026-02-30", datetime(2026, 5, 1, tzinfo=UTC), 20260501]
)
def test_a_bill_date_that_is_not_a_day_is_refused_before_any_request(
    server: Any, bad: object
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        wechat(server).download_bill(bad)  # type: ignore[arg-type]
    assert caught.value.context["argument"] == "bill_date"
    with pytest.raises(ConfigurationError):
        alipay(server).download_bill(bad)  # type: ignore[arg-type]
    assert server.paths() == []


@pytest.mark.parametrize("utf8_names", [False, True], ids=["gbk_names", "utf8_names"])
def test_alipay_bill_download_returns_the_details_csv_of_the_zip(
    server: Any, utf8_names: bool
) -> None:
    details = alipay_bill(alipay_row("GOV-E", "交易", "88.80"))
    server.alipay_bills[DAY] = details
    server.alipay_utf8_names = utf8_names
    data = alipay(server).download_bill(DAY)
    assert data == details  # the 业务明细 file, not the (汇总) summary beside it
    gateway, download = server.seen
    assert json.loads(gateway.params["biz_content"]) == {"bill_type": "trade", "bill_date": DAY}
    assert gateway.params["method"] == "alipay.data.dataservice.bill.downloadurl.query"
    assert download.path.startswith("/downloadBillFile.resource?bizType=trade&")
    assert [(line.order_id, line.amount) for line in parse_alipay_bill(data)] == [("GOV-E", 8880)]


def test_alipay_bill_for_a_day_without_one_is_a_provider_error(server: Any) -> None:
    with pytest.raises(PaymentQueryFailed) as caught:
        alipay(server).download_bill(DAY)
    assert caught.value.context["sub_code"] == "isp.bill_not_exist"
    assert caught.value.context["signed"] is True


def _zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "archive",
    [
        b"PK\x03\x04 not really a zip",
        _zip(**{"2088_20260501_业务明细(汇总).csv": b"x"}),
        _zip(**{"a_业务明细.csv": b"x", "b_业务明细.csv": b"y"}),
    ],
    ids=["not_a_zip", "no_details_file", "two_details_files"],
)
def test_alipay_bill_archive_without_exactly_one_details_file_is_malformed(
    server: Any, archive: bytes
) -> None:
    server.alipay_bills[DAY] = b"unused"
    server.alipay_archive = archive
    with pytest.raises(PaymentMalformed) as caught:
        alipay(server).download_bill(DAY)
    assert caught.value.code == "payment.malformed"


def test_alipay_bill_zip_bomb_stops_at_max_bytes(server: Any) -> None:
    server.alipay_bills[DAY] = b"unused"
    big = b"0" * (4 * 1024 * 1024)
    server.alipay_archive = providers.alipay_bill_zip(big, pid="2088", day=DAY)
    assert len(server.alipay_archive) < 64 * 1024
    with pytest.raises(PaymentQueryFailed) as caught:
        alipay(server).download_bill(DAY, max_bytes=1024 * 1024)
    assert failure(caught)[:2] == ("payment.query_failed", "too_large")


# --- reconciliation: bills downloaded from the server, against a real inbox ----------


def receive_wechat(inbox: PaymentInbox, at: datetime, **callback: Any) -> None:
    adapter = WeChatPayV3(APIV3, {KEY_ID: PLATFORM.verifying_key})
    if "refund" in callback:
        made = wechat_refund_callback(PLATFORM, KEY_ID, APIV3, at=at, **callback)
    else:
        made = wechat_callback(PLATFORM, KEY_ID, APIV3, at=at, **callback)
    assert inbox.receive(adapter, *made, at=at).ack.status == 204


def test_reconcile_a_wechat_bill_reports_every_difference_both_ways(
    server: Any, tmp_path: Path
) -> None:
    server.wechat_bills[DAY] = wechat_bill(
        wechat_paid_row("GOV-A", "50.00"),  # the inbox agrees
        wechat_paid_row("GOV-B", "20.00"),  # the inbox has 20.01
        wechat_paid_row("GOV-C", "1.00"),  # the inbox has 100.00: yuan stored as fen
        wechat_paid_row("GOV-D", "1.50"),  # the inbox has 0.01 (not a factor of 100)
        wechat_paid_row("GOV-U", "100.00"),  # the inbox has 1.00: fen stored as yuan
        wechat_paid_row("GOV-M", "7.00"),  # no callback arrived
        wechat_refund_row("GOV-A", "RF-A1", "3.00"),  # the inbox agrees
        wechat_refund_row("GOV-B", "RF-B1", "5.00"),  # the inbox has 4.00
        wechat_refund_row("GOV-Q", "RF-Q1", "2.00"),  # no refund callback arrived
    )
    day_before = NOW - timedelta(days=1)
    with PaymentInbox(tmp_path / "wechat.db", orders=False) as inbox:
        for order_id, amount in (
            ("GOV-A", 5000),
            ("GOV-B", 2001),
            ("GOV-C", 10000),
            ("GOV-D", 1),
            ("GOV-U", 100),
        ):
            receive_wechat(inbox, NOW, order_id=order_id, amount=amount)
        receive_wechat(inbox, NOW, order_id="GOV-X", amount=700)  # not in the bill
        receive_wechat(inbox, day_before, order_id="GOV-Y", amount=900)  # another day's bill
        receive_wechat(inbox, NOW, order_id="GOV-A", refund=300, total=5000, refund_no="RF-A1")
        receive_wechat(inbox, NOW, order_id="GOV-B", refund=400, total=2001, refund_no="RF-B1")
        receive_wechat(inbox, NOW, order_id="GOV-Z", refund=100, total=900, refund_no="RF-Z1")
        receive_wechat(
            inbox, day_before, order_id="GOV-O", refund=100, total=900, refund_no="RF-O1"
        )
        report = reconcile(parse_wechat_bill(wechat(server).download_bill(DAY)), inbox)
    assert list(report.differences) == [
        BillDifference("amount_mismatch", "GOV-B", 2000, 2001),
        BillDifference("unit_mismatch", "GOV-C", 100, 10000),
        BillDifference("amount_mismatch", "GOV-D", 150, 1),
        BillDifference("unit_mismatch", "GOV-U", 10000, 100),
        BillDifference("missing", "GOV-M", 700, None),
        BillDifference("extra", "GOV-X", None, 700),
        BillDifference("refund_amount_mismatch", "GOV-B", 500, 400, "RF-B1"),
        BillDifference("refund_missing", "GOV-Q", 200, None, "RF-Q1"),
        BillDifference("refund_extra", "GOV-Z", None, 100, "RF-Z1"),
    ]
    assert (report.bill_lines, report.matched, report.refund_lines, report.refunds_matched) == (
        6,
        1,
        3,
        1,
    )
    assert not report.ok
    assert report.to_dict()["differences"][6] == {
        "kind": "refund_amount_mismatch",
        "order_id": "GOV-B",
        "refund_id": "RF-B1",
        "bill_amount": 500,
        "inbox_amount": 400,
    }


def test_reconcile_a_bill_of_refunds_only(server: Any, tmp_path: Path) -> None:
    server.wechat_bills[DAY] = wechat_bill(wechat_refund_row("GOV-A", "RF-A1", "3.00"))
    with PaymentInbox(tmp_path / "refunds.db", orders=False) as inbox:
        receive_wechat(inbox, NOW, order_id="GOV-A", refund=300, total=5000, refund_no="RF-A1")
        report = reconcile(parse_wechat_bill(wechat(server).download_bill(DAY)), inbox)
    assert report.ok
    assert (report.bill_lines, report.refund_lines, report.refunds_matched) == (0, 1, 1)


def test_reconcile_an_empty_bill_is_refused(tmp_path: Path) -> None:
    with (
        PaymentInbox(tmp_path / "empty.db", orders=False) as inbox,
        pytest.raises(PaymentMalformed) as caught,
    ):
        reconcile(parse_wechat_bill(wechat_bill()), inbox)
    assert "no payments or refunds" in str(caught.value)


def test_reconcile_an_alipay_bill_whose_refund_notices_carry_the_refunded_total(
    server: Any, tmp_path: Path
) -> None:
    # Alipay's refund notification says refund_fee = the order's refunded total; the bill
    # lists each refund. Two partial refunds (8.80, then 10.00) notify 8.80 and 18.80.
    server.alipay_bills[DAY] = alipay_bill(
        alipay_row("GOV-E", "交易", "88.80"),
        alipay_row("GOV-E", "退款", "-8.80", "RF9"),
        alipay_row("GOV-E", "退款", "-10.00", "RF10"),
        alipay_row("GOV-F", "交易", "10.00"),  # no notification arrived
    )
    adapter = Alipay(ALIPAY.verifying_key, APP_ID)
    with PaymentInbox(tmp_path / "alipay.db", orders=False) as inbox:
        for notice in (
            {"order_id": "GOV-E", "amount": 8880},
            {"order_id": "GOV-E", "amount": 8880, "refund_fee": 880, "refund_no": "RF9"},
            {"order_id": "GOV-E", "amount": 8880, "refund_fee": 1880, "refund_no": "RF10"},
            {"order_id": "GOV-G", "amount": 500},  # not in the bill
        ):
            made = alipay_callback(ALIPAY, APP_ID, at=NOW, **notice)  # type: ignore[arg-type]
            assert inbox.receive(adapter, *made, at=NOW).ack.body == b"success"
        report = reconcile(parse_alipay_bill(alipay(server).download_bill(DAY)), inbox)
    assert list(report.differences) == [
        BillDifference("missing", "GOV-F", 1000, None),
        BillDifference("extra", "GOV-G", None, 500),
    ]
    assert (report.matched, report.refund_lines, report.refunds_matched) == (1, 2, 2)


def test_the_cli_renders_refund_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from govkit.cli import main  # noqa: PLC0415

    bill = tmp_path / "bill.csv"
    bill.write_bytes(wechat_bill(wechat_refund_row("GOV-Q", "RF-Q1", "2.00")))
    with PaymentInbox(tmp_path / "cli.db", orders=False):
        pass
    code = main(["payments", "reconcile", str(bill), "--inbox", str(tmp_path / "cli.db")])
    out = capsys.readouterr().out
    assert code == 1
    assert "0/0 payments match, 0/1 refunds match" in out
    assert "refund_missing" in out
    assert "RF-Q1" in out


# --- async forms -------------------------------------------------------------------------


def test_aquery_order_answers_and_fails_as_query_order_does(server: Any) -> None:
    """The async forms run the same HTTPS query on govkit's thread pool."""
    import asyncio  # noqa: PLC0415 - only these tests need it

    server.wechat_orders["GOV-1"] = wechat_order("GOV-1", 5000)
    server.alipay_orders["GOV-A"] = alipay_order("GOV-A", "88.80")
    for client, order_id in ((wechat(server), "GOV-1"), (alipay(server), "GOV-A")):
        assert asyncio.run(client.aquery_order(order_id)) == client.query_order(order_id)
    with pytest.raises(PaymentQueryFailed) as caught:
        asyncio.run(wechat(server).aquery_order("GOV-NONE"))
    assert failure(caught) == ("payment.query_failed", "http_status", 404)
