"""Active queries: ask WeChat Pay or Alipay for an order's state when a callback is missing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from urllib.parse import quote

import requests
from cryptography.hazmat.primitives import hashes

from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    PaymentMalformed,
    PaymentQueryFailed,
    PaymentSignatureInvalid,
)
from govkit.keys import SigningKey
from govkit.payments._alipay import _normalise as _alipay_normalise
from govkit.payments._crypto import PublicKeyLike, RsaKey, b64decode_strict
from govkit.payments._event import PaymentEvent, parse_json_object, strict_json_decoder
from govkit.payments._wechat import (
    DEFAULT_BASE_URL,
    WeChatPlatformKeys,
    _transaction_event,
    b64encode,
    verify_wechat_signature,
    wechat_authorization,
)

__all__ = ["AlipayClient", "WeChatPayClient"]

ALIPAY_GATEWAY: Final = "https://openapi.alipay.com/gateway.do"


class WeChatPayClient:
    """Signed WeChat Pay v3 requests; verifies every response's signature.

    Args:
        mchid: the merchant id.
        merchant_serial: the serial of the merchant API certificate.
        merchant_key: the merchant's RSA signing key (``RS256``).
        platform_keys: the platform keys that sign responses.
        base_url: the API root (a local server in tests).
        session: a :class:`requests.Session` to reuse.
        timeout: seconds per request.
        clock: time source (request timestamps, response replay window).
    """

    def __init__(
        self,
        *,
        mchid: str,
        merchant_serial: str,
        merchant_key: SigningKey,
        platform_keys: Mapping[str, PublicKeyLike] | WeChatPlatformKeys,
        base_url: str = DEFAULT_BASE_URL,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self._mchid = mchid
        self._serial = merchant_serial
        self._key = merchant_key
        self._clock = clock or SystemClock()
        self._keys = (
            platform_keys
            if isinstance(platform_keys, WeChatPlatformKeys)
            else WeChatPlatformKeys(platform_keys, clock=self._clock)
        )
        self._base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout

    def request(self, method: str, path: str, body: bytes = b"") -> dict[str, Any]:
        """Send a signed request and return the verified JSON response.

        Raises:
            PaymentQueryFailed: the request failed or was refused.
            PaymentVerificationError: the response signature does not verify.
        """
        now = resolve_time(self._clock, None)
        auth = wechat_authorization(
            mchid=self._mchid,
            serial=self._serial,
            key=self._key,
            method=method,
            path=path,
            body=body,
            timestamp=int(now.timestamp()),
        )
        try:
            response = self._session.request(
                method,
                self._base_url + path,
                data=body or None,
                headers={
                    "Authorization": auth,
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                },
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise PaymentQueryFailed(
                "the WeChat Pay request failed", reason=type(exc).__name__
            ) from None
        if response.status_code != 200:
            raise PaymentQueryFailed("WeChat Pay refused the request", status=response.status_code)
        verify_wechat_signature(
            self._keys,
            response.headers,
            response.content,
            now,
            timedelta(minutes=5).total_seconds(),
        )
        return parse_json_object(response.content, "the WeChat Pay response")

    def query_order(self, order_id: str) -> PaymentEvent:
        """The order's current state (``GET /v3/pay/transactions/out-trade-no/...``)."""
        order = quote(order_id, safe="")
        path = f"/v3/pay/transactions/out-trade-no/{order}?mchid={quote(self._mchid)}"
        plain = self.request("GET", path)
        state = plain.get("trade_state")
        txn = plain.get("transaction_id") or order_id
        event_id = f"query:{txn}:{state}"
        now = resolve_time(self._clock, None)
        # raw: the queried order as the resource, the query time as the fallback time
        envelope = {"create_time": now.isoformat(), "resource": plain}
        return _transaction_event(event_id, plain, envelope)


def _alipay_request_content(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])


class AlipayClient:
    """Signed Alipay OpenAPI requests (RSA2); verifies every response's signature.

    Args:
        app_id: the app id.
        app_private_key: the app's RSA signing key (``RS256``).
        alipay_public_key: the Alipay public key (or certificate) that signs responses.
        gateway: the gateway URL (a local server in tests).
        session: a :class:`requests.Session` to reuse.
        timeout: seconds per request.
        clock: time source.
    """

    def __init__(
        self,
        *,
        app_id: str,
        app_private_key: SigningKey,
        alipay_public_key: PublicKeyLike,
        gateway: str = ALIPAY_GATEWAY,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        if app_private_key.alg != "RS256":
            raise ConfigurationError("the Alipay app key must be an RS256 (RSA) key")
        self._app_id = app_id
        self._key = app_private_key
        self._alipay_key = RsaKey(alipay_public_key)
        self._gateway = gateway
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock or SystemClock()

    def call(self, method: str, biz_content: Mapping[str, Any]) -> dict[str, Any]:
        """Call an OpenAPI method; return its verified ``..._response`` object.

        Raises:
            PaymentQueryFailed: the request failed or Alipay answered with an error code.
            PaymentSignatureInvalid: the response signature does not verify.
        """
        now = resolve_time(self._clock, None)
        params = {
            "app_id": self._app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": now.astimezone(_cst()).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(dict(biz_content), ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = b64encode(self._key.sign(_alipay_request_content(params).encode()))
        try:
            response = self._session.post(self._gateway, data=params, timeout=self._timeout)
        except requests.RequestException as exc:
            raise PaymentQueryFailed(
                "the Alipay request failed", reason=type(exc).__name__
            ) from None
        if response.status_code != 200:
            raise PaymentQueryFailed("Alipay refused the request", status=response.status_code)
        text = response.content.decode("utf-8", "replace")
        name = method.replace(".", "_") + "_response"
        signed, document = _response_part(text, name)
        signature = document.get("sign")
        if not isinstance(signature, str):
            raise PaymentSignatureInvalid("the Alipay response is not signed")
        if not self._alipay_key.verify(
            b64decode_strict(signature, "the sign"), signed.encode("utf-8"), hashes.SHA256()
        ):
            raise PaymentSignatureInvalid("the Alipay response signature does not verify")
        part = document[name]
        if not isinstance(part, dict):
            raise PaymentMalformed("the Alipay response is not an object")
        if part.get("code") != "10000":
            raise PaymentQueryFailed("Alipay answered with an error", code=str(part.get("code")))
        return part

    def query_order(self, order_id: str) -> PaymentEvent:
        """The order's current state (``alipay.trade.query``)."""
        part = self.call("alipay.trade.query", {"out_trade_no": order_id})
        status = str(part.get("trade_status", ""))
        params = {
            "notify_id": f"query:{part.get('trade_no', order_id)}:{status}",
            "out_trade_no": str(part.get("out_trade_no", "")),
            "trade_no": str(part.get("trade_no", "")),
            "trade_status": status,
            "total_amount": str(part.get("total_amount", "")),
            "buyer_pay_amount": str(part.get("buyer_pay_amount", "") or ""),
            "gmt_payment": str(part.get("send_pay_date", "") or ""),
            "notify_time": resolve_time(self._clock, None)
            .astimezone(_cst())
            .strftime("%Y-%m-%d %H:%M:%S"),
            "app_id": self._app_id,
        }
        return _alipay_normalise(params)


def _cst() -> Any:
    from govkit.payments._alipay import CST  # noqa: PLC0415

    return CST


def _response_part(text: str, name: str) -> tuple[str, dict[str, Any]]:
    """The exact text of ``"<name>": {...}`` (what Alipay signs) and the whole document."""
    document = parse_json_object(text, "the Alipay response", strict_json_decoder())
    if name not in document:
        raise PaymentMalformed("the Alipay response lacks its method's object")
    key = f'"{name}"'
    start = text.find(key)
    colon = text.find(":", start + len(key))
    if start < 0 or colon < 0:
        raise PaymentMalformed("the Alipay response lacks its method's object")
    begin = colon + 1
    while begin < len(text) and text[begin] in " \t\r\n":
        begin += 1
    try:
        _, end = json.JSONDecoder().raw_decode(text, begin)
    except ValueError:
        raise PaymentMalformed("the Alipay response is not JSON") from None
    return text[begin:end], document
