"""Active queries and certificate downloads against a local HTTP server playing the provider."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from govkit.errors import (
    ConfigurationError,
    PaymentKeyRefreshFailed,
    PaymentQueryFailed,
    PaymentSignatureInvalid,
)
from govkit.keys import SigningKey
from govkit.payments import (
    AlipayClient,
    EventKind,
    SourcePolicy,
    WeChatCertificateDownloader,
    WeChatPayClient,
    WeChatPlatformKeys,
    alipay_content,
)
from govkit.testing.payments import make_certificate

APIV3 = "0123456789abcdef0123456789abcdef"
PLATFORM = SigningKey.generate("RS256")
MERCHANT = SigningKey.generate("RS256")
ALIPAY = SigningKey.generate("RS256")
APP = SigningKey.generate("RS256")
CERT = make_certificate(PLATFORM, PLATFORM, common_name="Tenpay.com Root CA", serial=0x7E57)


def sign(key: SigningKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data)).decode()


class Provider(BaseHTTPRequestHandler):
    """Plays WeChat Pay (/v3/...) and Alipay (/gateway.do); checks request signatures."""

    forge = False
    seen_auth: list[str] = []  # noqa: RUF012 - test double state, per server class
    paths: list[str] = []  # noqa: RUF012 - every request's path, in order
    cross_origin = False  # answer every request with a redirect to another origin

    def _redirected(self) -> bool:
        type(self).paths.append(self.path)
        if not self.cross_origin:
            return False
        # localhost is another origin than 127.0.0.1, and this same server: a followed
        # redirect would show in ``paths``.
        port = self.server.server_address[1]
        self.send_response(302)
        self.send_header("Location", f"http://localhost:{port}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def log_message(self, *args: Any) -> None:
        return

    def _wechat_reply(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        stamp, nonce = str(int(datetime.now(UTC).timestamp())), secrets.token_hex(8)
        key = SigningKey.generate("RS256") if self.forge else PLATFORM
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Wechatpay-Timestamp", stamp)
        self.send_header("Wechatpay-Nonce", nonce)
        self.send_header("Wechatpay-Serial", "PUB_KEY_ID_1")
        self.send_header(
            "Wechatpay-Signature", sign(key, f"{stamp}\n{nonce}\n".encode() + body + b"\n")
        )
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self._redirected():
            return
        auth = self.headers.get("Authorization", "")
        type(self).seen_auth.append(auth)
        if not auth.startswith("WECHATPAY2-SHA256-RSA2048 mchid="):
            self.send_response(401)
            self.end_headers()
            return
        if self.path == "/v3/certificates":
            nonce = secrets.token_hex(6)
            pem = CERT.public_bytes(Encoding.PEM)
            sealed = AESGCM(APIV3.encode()).encrypt(nonce.encode(), pem, b"certificate")
            entry = {
                "serial_no": "7E57",
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": nonce,
                    "associated_data": "certificate",
                    "ciphertext": base64.b64encode(sealed).decode(),
                },
            }
            self._wechat_reply({"data": [entry]})
        elif self.path.startswith("/v3/pay/transactions/out-trade-no/GOV-Q?mchid=1900000109"):
            self._wechat_reply(
                {
                    "mchid": "1900000109",
                    "out_trade_no": "GOV-Q",
                    "transaction_id": "4200000001",
                    "trade_state": "SUCCESS",
                    "success_time": "2026-05-01T16:00:00+08:00",
                    "amount": {"total": 300, "payer_total": 300, "currency": "CNY"},
                }
            )
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self._redirected():
            return
        params = dict(parse_qsl(body.decode()))
        signature = base64.b64decode(params.pop("sign"))
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k])
        APP.verifying_key.verify(signature, content.encode())  # raises when not signed by the app
        part = json.dumps(
            {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": "GOV-A",
                "trade_no": "2026050122001",
                "trade_status": "TRADE_SUCCESS",
                "total_amount": "88.80",
                "send_pay_date": "2026-05-01 16:00:00",
            },
            ensure_ascii=False,
        )
        key = SigningKey.generate("RS256") if self.forge else ALIPAY
        body = f'{{"alipay_trade_query_response":{part},"sign":"{sign(key, part.encode())}"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def server() -> Iterator[tuple[str, type[Provider]]]:
    handler = type("Handler", (Provider,), {"forge": False, "seen_auth": [], "paths": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def wechat_client(url: str, **options: Any) -> WeChatPayClient:
    return WeChatPayClient(
        mchid="1900000109",
        merchant_serial="MERCHANT01",
        merchant_key=MERCHANT,
        platform_keys={"PUB_KEY_ID_1": PLATFORM.verifying_key},
        base_url=url,
        **options,
    )


def test_wechat_query_signs_the_request_and_verifies_the_response(
    server: tuple[str, type[Provider]],
) -> None:
    url, handler = server
    event = wechat_client(url).query_order("GOV-Q")
    assert (event.kind, event.order_id, event.amount) == (EventKind.PAID, "GOV-Q", 300)
    assert 'serial_no="MERCHANT01"' in handler.seen_auth[-1]


def test_wechat_query_with_a_forged_response_raises(server: tuple[str, type[Provider]]) -> None:
    url, handler = server
    handler.forge = True
    with pytest.raises(PaymentSignatureInvalid):
        wechat_client(url).query_order("GOV-Q")


def test_certificate_download_decrypts_with_the_apiv3_key(
    server: tuple[str, type[Provider]],
) -> None:
    url, _ = server
    downloader = WeChatCertificateDownloader(
        mchid="1900000109",
        merchant_serial="MERCHANT01",
        merchant_key=MERCHANT,
        apiv3_key=APIV3,
        base_url=url,
    )
    ring = WeChatPlatformKeys({}, downloader=downloader, min_refresh_interval=timedelta(hours=1))
    key = ring.lookup("7E57", datetime.now(UTC))
    assert key == PLATFORM.verifying_key  # a govkit RS256 key, named by the serial
    assert ring.refreshes == 1


def alipay_client(url: str, **options: Any) -> AlipayClient:
    return AlipayClient(
        app_id="2021000118600000",
        app_private_key=APP,
        alipay_public_key=ALIPAY.verifying_key,
        gateway=url + "/gateway.do",
        **options,
    )


def test_alipay_query_is_signed_and_its_response_verified(
    server: tuple[str, type[Provider]],
) -> None:
    url, _ = server
    event = alipay_client(url).query_order("GOV-A")
    assert (event.kind, event.order_id, event.amount) == (EventKind.PAID, "GOV-A", 8880)
    assert alipay_content({"b": "1", "a": "2"}) == "a=2&b=1"


def test_alipay_query_with_a_forged_response_raises(server: tuple[str, type[Provider]]) -> None:
    url, handler = server
    handler.forge = True
    with pytest.raises(PaymentSignatureInvalid):
        alipay_client(url).query_order("GOV-A")


# --- the one HTTP fetcher: redirects and URLs -----------------------------------------

REDIRECTS_ALLOWED = SourcePolicy(timeout=5.0, max_redirects=3)


def downloader(url: str, **options: Any) -> WeChatCertificateDownloader:
    return WeChatCertificateDownloader(
        mchid="1900000109",
        merchant_serial="MERCHANT01",
        merchant_key=MERCHANT,
        apiv3_key=APIV3,
        base_url=url,
        **options,
    )


def test_a_cross_origin_redirect_of_the_certificate_download_is_refused(
    server: tuple[str, type[Provider]],
) -> None:
    url, handler = server
    handler.cross_origin = True
    with pytest.raises(PaymentKeyRefreshFailed) as caught:
        downloader(url, policy=REDIRECTS_ALLOWED)()
    assert (caught.value.code, caught.value.context["reason"]) == (
        "payment.key_refresh",
        "redirect",
    )
    assert caught.value.context["status"] == 302
    assert handler.paths == ["/v3/certificates"]


def test_a_cross_origin_redirect_of_a_wechat_query_is_refused(
    server: tuple[str, type[Provider]],
) -> None:
    url, handler = server
    handler.cross_origin = True
    with pytest.raises(PaymentQueryFailed) as caught:
        wechat_client(url, policy=REDIRECTS_ALLOWED).query_order("GOV-Q")
    assert (caught.value.code, caught.value.context["reason"]) == (
        "payment.query_failed",
        "redirect",
    )
    assert len(handler.paths) == 1


def test_a_redirect_of_an_alipay_call_is_refused(server: tuple[str, type[Provider]]) -> None:
    url, handler = server
    handler.cross_origin = True
    with pytest.raises(PaymentQueryFailed) as caught:
        alipay_client(url, policy=REDIRECTS_ALLOWED).query_order("GOV-A")
    assert caught.value.context["reason"] == "redirect"
    assert handler.paths == ["/gateway.do"]


def test_a_response_over_the_byte_limit_is_refused(server: tuple[str, type[Provider]]) -> None:
    url, _ = server
    with pytest.raises(PaymentQueryFailed) as caught:
        wechat_client(url, policy=SourcePolicy(max_bytes=64)).query_order("GOV-Q")
    assert caught.value.context["reason"] == "too_large"


@pytest.mark.parametrize(
    "make",
    [
        lambda: wechat_client("http://api.mch.weixin.qq.com"),
        lambda: downloader("http://api.mch.weixin.qq.com"),
        lambda: AlipayClient(
            app_id="2021000118600000",
            app_private_key=APP,
            alipay_public_key=ALIPAY.verifying_key,
            gateway="http://openapi.alipay.com/gateway.do",
        ),
    ],
    ids=["wechat_client", "certificate_download", "alipay_client"],
)
def test_plain_http_to_a_provider_is_refused_before_any_request(make: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make()
    assert "must use https" in str(caught.value)


def test_a_provider_client_refuses_list_settings_it_has_no_use_for() -> None:
    with pytest.raises(ConfigurationError) as caught:
        wechat_client("https://api.mch.weixin.qq.com", policy=SourcePolicy(min_sequence=1))
    assert caught.value.context["argument"] == "min_sequence"
