"""Active queries: ask WeChat Pay or Alipay for an order's state when a callback is missing."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import zipfile
import zlib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlsplit

import requests

from govkit._aio import offload
from govkit._http import FetchError, SourcePolicy, check_url, fetch, is_loopback, settle
from govkit._json import loads_object, loads_object_at
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentQueryFailed,
    PaymentSignatureInvalid,
)
from govkit.keys import SigningKey
from govkit.payments._alipay import AlipayKeys, alipay_keys
from govkit.payments._alipay import _normalise as _alipay_normalise
from govkit.payments._crypto import b64decode_strict
from govkit.payments._event import PaymentEvent
from govkit.payments._keys import AlipayCertificates
from govkit.payments._wechat import (
    _PROVIDER_DEFAULTS,
    DEFAULT_BASE_URL,
    WeChatKeys,
    WeChatPlatformKeys,
    _transaction_event,
    b64encode,
    verify_wechat_signature,
    wechat_authorization,
)

__all__ = ["AlipayClient", "WeChatPayClient"]

ALIPAY_GATEWAY: Final = "https://openapi.alipay.com/gateway.do"
#: What Alipay's gateway labels its JSON with: the response is verified by its
#: signature, and the gateway has been seen answering JSON as ``text/html``.
_ALIPAY_CONTENT_TYPES: Final = ("application/json", "text/html", "text/plain")


def _query_failed(provider: str, error: FetchError) -> PaymentQueryFailed:
    """The :class:`~govkit.errors.PaymentQueryFailed` for a failed fetch (no body quoted)."""
    context = {"status": error.status} if error.status is not None else {}
    if error.reason == "http_status":
        return PaymentQueryFailed(f"{provider} refused the request", reason=error.reason, **context)
    return PaymentQueryFailed(
        f"the {provider} request failed: {error.message}", reason=error.reason, **context
    )


#: The largest bill a client downloads by default (after decompression), as the parsers.
MAX_BILL_BYTES: Final = 64 * 1024 * 1024
#: What a bill file may be labelled (it is checked by its signed hash, or is a zip).
_BILL_CONTENT_TYPES: Final = (
    "application/octet-stream",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "application/x-zip-compressed",
    "text/plain",
    "text/csv",
)
_WECHAT_BILL_TYPES: Final = frozenset({"ALL", "SUCCESS", "REFUND"})
#: A provider's error code as it may appear in an error's context (identifiers only).
_PROVIDER_CODE: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _provider_code(value: object) -> str | None:
    """``value`` if it looks like a provider's error code, else ``None`` (never free text)."""
    return value if isinstance(value, str) and _PROVIDER_CODE.fullmatch(value) else None


def _bill_day(value: object) -> str:
    """A bill date as ``YYYY-MM-DD``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ConfigurationError("bill_date must be a date or 'YYYY-MM-DD'", argument="bill_date")


def _check_max_bytes(max_bytes: object) -> int:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ConfigurationError("max_bytes must be a positive integer", argument="max_bytes")
    return max_bytes


def _too_large(provider: str, max_bytes: int) -> PaymentQueryFailed:
    return PaymentQueryFailed(
        f"the {provider} bill is larger than {max_bytes} bytes", reason="too_large"
    )


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """``data`` decompressed if it is a gzip stream (what ``tar_type=GZIP`` returns), bounded."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    decoder = zlib.decompressobj(31)
    try:
        plain = decoder.decompress(data, max_bytes + 1)
    except zlib.error:
        raise PaymentMalformed("the WeChat Pay bill's gzip stream does not decode") from None
    if len(plain) > max_bytes:
        raise _too_large("WeChat Pay", max_bytes)
    if not decoder.eof or decoder.unused_data:
        raise PaymentMalformed("the WeChat Pay bill's gzip stream does not decode")
    return plain


def _same_origin(url: str, base: str) -> bool:
    def origin(text: str) -> tuple[str, str, int | None]:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80}.get(scheme, 443)

    try:
        return origin(url) == origin(base)
    except ValueError:
        return False


def _zip_name(info: zipfile.ZipInfo) -> str:
    """A member's name; Alipay writes GBK names without the zip UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _alipay_detail_csv(data: bytes, max_bytes: int) -> bytes:
    """The ``..._业务明细.csv`` member of an Alipay bill archive (not the ``(汇总)`` one)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            details = [
                info for info in archive.infolist() if _zip_name(info).endswith("业务明细.csv")
            ]
            if len(details) != 1:
                raise PaymentMalformed(
                    "the Alipay bill archive does not hold exactly one 业务明细 (details) file"
                )
            info = details[0]
            if info.file_size > max_bytes:
                raise _too_large("Alipay", max_bytes)
            with archive.open(info) as member:  # checks the CRC when it reaches the end
                plain = member.read(max_bytes + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise PaymentMalformed("the Alipay bill is not a readable zip archive") from None
    if len(plain) > max_bytes:
        raise _too_large("Alipay", max_bytes)
    return plain


class WeChatPayClient:
    """Signed WeChat Pay v3 requests; verifies every response's signature.

    Args:
        mchid: the merchant id.
        merchant_serial: the serial of the merchant API certificate.
        merchant_key: the merchant's RSA signing key (``RS256``).
        platform_keys: the platform keys that sign responses.
        base_url: the API root (``https``; ``http`` only for a loopback host, such as
            a local server in tests).
        session: a :class:`requests.Session` to reuse.
        policy: a :class:`~govkit.payments.SourcePolicy`; ``timeout`` (default 10
            seconds), ``max_bytes`` (default 1 MiB) and ``max_redirects`` (default 0)
            apply.
        timeout: seconds for connecting, each read and the whole body; the same
            as ``policy.timeout``.
        clock: time source (request timestamps, response replay window).

    Requests go through govkit's bounded fetcher: the response is read up to
    ``max_bytes`` and within the deadline, must be ``application/json``, and a
    redirect is a failed request (:class:`~govkit.errors.PaymentQueryFailed` with
    ``reason`` ``redirect``).
    """

    def __init__(
        self,
        *,
        mchid: str,
        merchant_serial: str,
        merchant_key: SigningKey,
        platform_keys: WeChatKeys | WeChatPlatformKeys,
        base_url: str = DEFAULT_BASE_URL,
        session: requests.Session | None = None,
        policy: SourcePolicy | None = None,
        timeout: float | None = None,
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
        self._base_url = check_url(base_url, "WeChat Pay").rstrip("/")
        self._session = session or requests.Session()
        self._limits = settle(
            policy, SourcePolicy(timeout=timeout), _PROVIDER_DEFAULTS, what="a WeChat Pay client"
        )

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
        limits = self._limits
        try:
            response = fetch(
                self._session,
                self._base_url + path,
                method=method,
                data=body or None,
                accept=("application/json",),
                headers={"Authorization": auth, "Content-Type": "application/json"},
                timeout=limits.timeout,
                max_bytes=limits.max_bytes,
                max_redirects=limits.max_redirects,
                what="WeChat Pay response",
            )
        except FetchError as exc:
            raise _query_failed("WeChat Pay", exc) from None
        verify_wechat_signature(
            self._keys,
            response.headers,
            response.body,
            now,
            timedelta(minutes=5).total_seconds(),
        )
        return loads_object(response.body, what="the WeChat Pay response", error=PaymentMalformed)

    def query_order(self, order_id: str) -> PaymentEvent:
        """The order's current state (``GET /v3/pay/transactions/out-trade-no/...``).

        The signed answer must be about the order asked for and this merchant: WeChat
        Pay's response signature covers the body and a time, not the request, so a
        genuine answer about another order (replayed within the five-minute window) is
        refused rather than returned as this order's state.

        Raises:
            PaymentQueryFailed: the request failed or was refused (an order WeChat Pay
                does not know is HTTP 404, ``ORDER_NOT_EXIST``: ``reason``
                ``http_status``, ``status`` 404).
            PaymentSignatureInvalid: the response's signature does not verify.
            PaymentMalformed: the response is not about ``order_id``, or is not an order.
            PaymentMerchantMismatch: the response names another ``mchid``.
        """
        order = quote(order_id, safe="")
        path = f"/v3/pay/transactions/out-trade-no/{order}?mchid={quote(self._mchid)}"
        plain = self.request("GET", path)
        if plain.get("out_trade_no") != order_id:
            raise PaymentMalformed("the WeChat Pay response is about another order")
        if plain.get("mchid", self._mchid) != self._mchid:
            raise PaymentMerchantMismatch("the WeChat Pay response is for another merchant")
        state = plain.get("trade_state")
        txn = plain.get("transaction_id") or order_id
        event_id = f"query:{txn}:{state}"
        now = resolve_time(self._clock, None)
        # raw: the queried order as the resource, the query time as the fallback time
        envelope = {"create_time": now.isoformat(), "resource": plain}
        return _transaction_event(event_id, plain, envelope)

    async def aquery_order(self, order_id: str) -> PaymentEvent:
        """:meth:`query_order` for asyncio: same argument, result and errors; the HTTPS
        request runs on govkit's bounded thread pool."""
        return await offload(self.query_order, order_id)

    def download_bill(
        self, bill_date: date | str, *, bill_type: str = "ALL", max_bytes: int = MAX_BILL_BYTES
    ) -> bytes:
        """Download a day's trade bill and check it against its signed SHA-1.

        Two signed requests, as WeChat Pay documents them: ``GET
        /v3/bill/tradebill?bill_date=...&bill_type=...&tar_type=GZIP``, whose verified
        response names ``download_url``, ``hash_type`` (``SHA1``) and ``hash_value``;
        then ``GET download_url``, which WeChat Pay answers unsigned with the bill,
        gzip-compressed. The SHA-1 of the decompressed bill must equal ``hash_value``
        (WeChat Pay's "原始账单（gzip需要解压缩）的摘要值"), and ``download_url``
        must be on the API's origin (the request to it carries a signed
        ``Authorization``).

        Args:
            bill_date: the day (China Standard Time), a :class:`~datetime.date` or
                ``"YYYY-MM-DD"``.
            bill_type: ``ALL`` (what :func:`~govkit.payments.parse_wechat_bill`
                reads), ``SUCCESS`` or ``REFUND``.
            max_bytes: the largest bill accepted, compressed and decompressed.

        Returns:
            The bill as WeChat Pay writes it (UTF-8 CSV, values prefixed with a
            backquote), for :func:`~govkit.payments.parse_wechat_bill`.

        Raises:
            PaymentQueryFailed: a request failed or was refused (no bill for that day
                is HTTP 400 ``NO_STATEMENT_EXIST``: ``reason`` ``http_status``); the
                bill is over ``max_bytes`` (``too_large``); ``download_url`` is on
                another origin (``other_origin``).
            PaymentSignatureInvalid: the first response's signature does not verify,
                or the bill's SHA-1 is not the signed ``hash_value``.
            PaymentMalformed: the first response lacks a field or names another hash;
                the gzip stream does not decode.
        """
        day = _bill_day(bill_date)
        limit = _check_max_bytes(max_bytes)
        if bill_type not in _WECHAT_BILL_TYPES:
            raise ConfigurationError("bill_type must be ALL, SUCCESS or REFUND")
        info = self.request(
            "GET", f"/v3/bill/tradebill?bill_date={day}&bill_type={bill_type}&tar_type=GZIP"
        )
        url, hash_type, expected = (
            info.get("download_url"),
            info.get("hash_type"),
            info.get("hash_value"),
        )
        if not isinstance(url, str) or not isinstance(expected, str) or not expected.isascii():
            raise PaymentMalformed("the WeChat Pay bill response lacks download_url or hash_value")
        if not isinstance(hash_type, str) or hash_type.upper() != "SHA1":
            raise PaymentMalformed("the WeChat Pay bill response names a hash other than SHA1")
        if not url.isascii() or not _same_origin(url, self._base_url):
            raise PaymentQueryFailed(
                "the WeChat Pay bill's download_url is not on the API's origin",
                reason="other_origin",
            )
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        auth = wechat_authorization(
            mchid=self._mchid,
            serial=self._serial,
            key=self._key,
            method="GET",
            path=path,
            timestamp=int(resolve_time(self._clock, None).timestamp()),
        )
        limits = self._limits
        try:
            response = fetch(
                self._session,
                url.split("#", 1)[0],
                accept=_BILL_CONTENT_TYPES,
                headers={"Authorization": auth},
                timeout=limits.timeout,
                max_bytes=limit,
                max_redirects=limits.max_redirects,
                what="WeChat Pay bill",
            )
        except FetchError as exc:
            raise _query_failed("WeChat Pay", exc) from None
        plain = _gunzip(response.body, limit)
        digest = hashlib.sha1(plain, usedforsecurity=False).hexdigest()
        if not hmac.compare_digest(digest, expected.lower()):
            raise PaymentSignatureInvalid(
                "the WeChat Pay bill's SHA-1 is not the hash_value of the signed response"
            )
        return plain


def _alipay_request_content(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])


class AlipayClient:
    """Signed Alipay OpenAPI requests (RSA2); verifies every response's signature.

    Args:
        app_id: the app id.
        app_private_key: the app's RSA signing key (``RS256``).
        alipay_public_key: the Alipay public key that signs responses
            (:data:`~govkit.payments.AlipayKeys`). With the certificate mode's
            :class:`~govkit.payments.AlipayCertificates`, every request also carries
            its ``app_cert_sn`` and ``alipay_root_cert_sn``.
        gateway: the gateway URL (``https``; ``http`` only for a loopback host, such
            as a local server in tests).
        session: a :class:`requests.Session` to reuse.
        policy: a :class:`~govkit.payments.SourcePolicy`; ``timeout`` (default 10
            seconds), ``max_bytes`` (default 1 MiB) and ``max_redirects`` (default 0;
            the gateway is called with ``POST``, which is never redirected) apply.
        timeout: seconds for connecting, each read and the whole body; the same
            as ``policy.timeout``.
        clock: time source.

    Calls go through govkit's bounded fetcher: the response is read up to
    ``max_bytes`` and within the deadline, must be labelled JSON (or ``text/html``
    or ``text/plain``, as the gateway has labelled it; its signature is what counts),
    and a redirect is a failed call (:class:`~govkit.errors.PaymentQueryFailed` with
    ``reason`` ``redirect``).
    """

    def __init__(
        self,
        *,
        app_id: str,
        app_private_key: SigningKey,
        alipay_public_key: AlipayKeys,
        gateway: str = ALIPAY_GATEWAY,
        session: requests.Session | None = None,
        policy: SourcePolicy | None = None,
        timeout: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        if app_private_key.alg != "RS256":
            raise ConfigurationError("the Alipay app key must be an RS256 (RSA) key")
        self._app_id = app_id
        self._key = app_private_key
        self._alipay_keys = alipay_keys(alipay_public_key)
        self._cert_sns = (
            {
                "app_cert_sn": alipay_public_key.app_cert_sn,
                "alipay_root_cert_sn": alipay_public_key.alipay_root_cert_sn,
            }
            if isinstance(alipay_public_key, AlipayCertificates)
            else {}
        )
        self._gateway = check_url(gateway, "Alipay gateway")
        self._session = session or requests.Session()
        self._limits = settle(
            policy, SourcePolicy(timeout=timeout), _PROVIDER_DEFAULTS, what="an Alipay client"
        )
        self._clock = clock or SystemClock()

    def call(self, method: str, biz_content: Mapping[str, Any]) -> dict[str, Any]:
        """Call an OpenAPI method; return its verified ``..._response`` object.

        The signature covers the exact text of the ``..._response`` member, as sent.
        An answer whose ``code`` is not ``10000`` is an error
        (:class:`~govkit.errors.PaymentQueryFailed`, ``reason`` ``provider_error``,
        with Alipay's ``code`` and ``sub_code``). Alipay signs its errors too, except
        those where it could not authenticate the request (``40002``, such as
        ``isv.invalid-signature`` or ``isv.invalid-app-id``): an unsigned error is
        reported with ``signed`` false, its codes unverified, as Alipay's own SDKs
        do. An unsigned *success* is never accepted.

        Raises:
            PaymentQueryFailed: the request failed or Alipay answered with an error code.
            PaymentSignatureInvalid: the response signature does not verify, or a
                success is not signed.
            PaymentKeyUnknown: no configured Alipay key (certificate) is valid now.
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
            **self._cert_sns,
        }
        params["sign"] = b64encode(self._key.sign(_alipay_request_content(params).encode()))
        limits = self._limits
        try:
            response = fetch(
                self._session,
                self._gateway,
                method="POST",
                data=params,
                accept=_ALIPAY_CONTENT_TYPES,
                timeout=limits.timeout,
                max_bytes=limits.max_bytes,
                max_redirects=limits.max_redirects,
                what="Alipay response",
            )
        except FetchError as exc:
            raise _query_failed("Alipay", exc) from None
        text = response.body.decode("utf-8", "replace")
        name = method.replace(".", "_") + "_response"
        signed, part, document = _response_part(text, name)
        signature = document.get("sign")
        code = part.get("code")
        codes = {
            "code": _provider_code(code),
            "sub_code": _provider_code(part.get("sub_code")),
        }
        codes = {key: value for key, value in codes.items() if value is not None}
        if not isinstance(signature, str) or not signature:
            if code != "10000":  # an error Alipay could not sign: nothing in it is trusted
                raise PaymentQueryFailed(
                    "Alipay answered with an unsigned error",
                    reason="provider_error",
                    signed=False,
                    **codes,
                )
            raise PaymentSignatureInvalid("the Alipay response is not signed")
        self._alipay_keys.verify(
            b64decode_strict(signature, "the sign"), signed.encode("utf-8"), now
        )
        if code != "10000":
            raise PaymentQueryFailed(
                "Alipay answered with an error", reason="provider_error", signed=True, **codes
            )
        return part

    def query_order(self, order_id: str) -> PaymentEvent:
        """The order's current state (``alipay.trade.query``).

        The signed answer must be about ``order_id``: Alipay's signature covers the
        answer, not the request, so a genuine answer about another order is refused.
        (It covers no time either: a replayed earlier answer about the *same* order is
        indistinguishable from a fresh one; the gateway's TLS is what prevents that.)

        Raises:
            PaymentQueryFailed: the request failed, or Alipay answered with an error
                (an unknown order: ``code`` ``40004``, ``sub_code``
                ``ACQ.TRADE_NOT_EXIST``).
            PaymentSignatureInvalid: the response's signature does not verify.
            PaymentMalformed: the answer is about another order, or lacks a field.
        """
        part = self.call("alipay.trade.query", {"out_trade_no": order_id})
        if part.get("out_trade_no") != order_id:
            raise PaymentMalformed("the Alipay response is about another order")
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

    async def aquery_order(self, order_id: str) -> PaymentEvent:
        """:meth:`query_order` for asyncio: same argument, result and errors; the HTTPS
        request runs on govkit's bounded thread pool."""
        return await offload(self.query_order, order_id)

    def download_bill(
        self, bill_date: date | str, *, bill_type: str = "trade", max_bytes: int = MAX_BILL_BYTES
    ) -> bytes:
        """Download a day's trade bill: the ``业务明细`` (details) CSV of Alipay's archive.

        ``alipay.data.dataservice.bill.downloadurl.query`` (signed, its response
        verified) names ``bill_download_url``, valid for 30 seconds; that URL answers
        with a zip archive holding the details file and a ``(汇总)`` summary.
        Alipay documents the URL as plain ``http``; govkit fetches it over ``https``
        (plain ``http`` only to a loopback host, a test server), since the archive
        carries no signature or hash of its own.

        Args:
            bill_date: the day (China Standard Time), a :class:`~datetime.date` or
                ``"YYYY-MM-DD"``.
            bill_type: ``trade`` (what :func:`~govkit.payments.parse_alipay_bill`
                reads) or ``signcustomer``.
            max_bytes: the largest archive, and details file, accepted.

        Returns:
            The details file's bytes (GBK CSV), for
            :func:`~govkit.payments.parse_alipay_bill`.

        Raises:
            PaymentQueryFailed: a request failed, or Alipay answered with an error (no
                bill for that day: ``sub_code`` ``isp.bill_not_exist``); the bill is
                over ``max_bytes`` (``reason`` ``too_large``).
            PaymentSignatureInvalid: the response's signature does not verify.
            PaymentMalformed: no usable ``bill_download_url``; the archive is not a zip
                holding exactly one details file.
        """
        day = _bill_day(bill_date)
        limit = _check_max_bytes(max_bytes)
        if bill_type not in ("trade", "signcustomer"):
            raise ConfigurationError("bill_type must be trade or signcustomer")
        part = self.call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": bill_type, "bill_date": day},
        )
        url = part.get("bill_download_url")
        if not isinstance(url, str) or not url.isascii():
            raise PaymentMalformed("the Alipay response lacks bill_download_url")
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        if url[:7].lower() == "http://" and not is_loopback(host):
            url = "https://" + url[7:]
        try:
            check_url(url, "Alipay bill")
        except ConfigurationError:
            raise PaymentMalformed("the Alipay bill_download_url is not a usable URL") from None
        limits = self._limits
        try:
            response = fetch(
                self._session,
                url,
                accept=_BILL_CONTENT_TYPES,
                timeout=limits.timeout,
                max_bytes=limit,
                max_redirects=limits.max_redirects,
                what="Alipay bill",
            )
        except FetchError as exc:
            raise _query_failed("Alipay", exc) from None
        return _alipay_detail_csv(response.body, limit)


def _cst() -> Any:
    from govkit.payments._alipay import CST  # noqa: PLC0415

    return CST


def _response_part(text: str, name: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The exact text of the ``"<name>"`` member's object (what Alipay signs), that
    object, and the whole document.

    The object returned is the one parsed from the signed text, and it must equal the
    document's own ``<name>`` member: a decoy ``"<name>": {...}`` earlier in the text
    (nested in another member) cannot get one object's signature checked while the
    caller reads another.
    """
    what = "the Alipay response"
    document = loads_object(text, what=what, error=PaymentMalformed, allow_floats=True)
    if not isinstance(document.get(name), dict):
        raise PaymentMalformed("the Alipay response lacks its method's object")
    key = f'"{name}"'
    start = text.find(key)
    colon = text.find(":", start + len(key))
    if start < 0 or colon < 0 or text[start + len(key) : colon].strip(" \t\r\n"):
        raise PaymentMalformed("the Alipay response lacks its method's object")
    begin = colon + 1
    while begin < len(text) and text[begin] in " \t\r\n":
        begin += 1
    part, end = loads_object_at(text, begin, what=what, error=PaymentMalformed, allow_floats=True)
    if part != document[name]:
        raise PaymentMalformed("the Alipay response's signed object is not its method's object")
    return text[begin:end], part, document
