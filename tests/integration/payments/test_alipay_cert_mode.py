"""Alipay's public-key-certificate mode against a local HTTP server playing the gateway.

In certificate mode every request carries ``app_cert_sn`` and ``alipay_root_cert_sn``
inside the signed parameters, and responses are signed by the key of
``alipayCertPublicKey_RSA2.crt``. The server checks both, as Alipay's gateway does,
and records what it was sent. The chain is made fresh by
:func:`govkit.testing.payments.alipay_test_pki`; the expected SNs come from
python-alipay-sdk's ``DCAliPay`` (an independent implementation of the rule).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from govkit.errors import PaymentKeyUnknown
from govkit.payments import AlipayClient, EventKind, load_alipay_certificates
from govkit.testing import FixedClock
from govkit.testing.payments import AlipayTestPki, alipay_test_pki

APP_ID = "2021000118600000"
PKI = alipay_test_pki(datetime.now(UTC), valid_for=timedelta(days=30))


class Gateway(BaseHTTPRequestHandler):
    """``/gateway.do``: checks the app's signature, records the parameters, answers signed."""

    seen: list[dict[str, str]] = []  # noqa: RUF012 - test double state, per server class

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        params = dict(parse_qsl(body.decode()))
        type(self).seen.append(dict(params))
        signature = base64.b64decode(params.pop("sign"))
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k])
        PKI.app_key.verifying_key.verify(signature, content.encode())  # the app signed it all
        part = json.dumps(
            {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": "GOV-C",
                "trade_no": "2026050122009",
                "trade_status": "TRADE_SUCCESS",
                "total_amount": "12.30",
            }
        )
        signed = base64.b64encode(PKI.alipay_key.sign(part.encode())).decode()
        reply = (
            f'{{"alipay_trade_query_response":{part},'
            f'"alipay_cert_sn":"{type(self).alipay_cert_sn}","sign":"{signed}"}}'
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.end_headers()
        self.wfile.write(reply.encode())

    alipay_cert_sn = ""


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[Gateway]]]:
    handler = type("Handler", (Gateway,), {"seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/gateway.do", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def sdk_sns(pki: AlipayTestPki) -> tuple[str, str]:
    import warnings  # noqa: PLC0415

    from alipay import DCAliPay  # noqa: PLC0415

    with warnings.catch_warnings():  # pyOpenSSL deprecations inside python-alipay-sdk
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk = DCAliPay(
            appid=APP_ID,
            app_private_key_string=pki.app_key.private_key.private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            ).decode(),
            app_public_key_cert_string=pki.app_cert,
            alipay_public_key_cert_string=pki.alipay_cert,
            alipay_root_cert_string=pki.root_cert,
        )
        return sdk.app_cert_sn, sdk.alipay_root_cert_sn


def client(url: str, **options: Any) -> AlipayClient:
    certs = load_alipay_certificates(
        app_cert=PKI.app_cert, alipay_cert=PKI.alipay_cert, root_cert=PKI.root_cert
    )
    return AlipayClient(
        app_id=APP_ID, app_private_key=PKI.app_key, alipay_public_key=certs, gateway=url, **options
    )


def test_certificate_mode_requests_carry_the_sns_python_alipay_sdk_computes(
    gateway: tuple[str, type[Gateway]],
) -> None:
    url, handler = gateway
    event = client(url).query_order("GOV-C")
    assert (event.kind, event.order_id, event.amount) == (EventKind.PAID, "GOV-C", 1230)
    sent = handler.seen[-1]
    assert (sent["app_cert_sn"], sent["alipay_root_cert_sn"]) == sdk_sns(PKI)


def test_certificate_mode_response_after_the_alipay_certificate_expired_is_refused(
    gateway: tuple[str, type[Gateway]],
) -> None:
    url, _ = gateway
    later = FixedClock(PKI.alipay.not_valid_after_utc + timedelta(minutes=1))
    with pytest.raises(PaymentKeyUnknown):
        client(url, clock=later).query_order("GOV-C")
