"""A real HTTP server on 127.0.0.1 answering as WeChat Pay API v3 and Alipay's gateway document.

Used by ``tests/integration/payments/test_provider_clients.py`` (loaded by path: ``tests/``
is not a package). One :class:`http.server.ThreadingHTTPServer` on a free port, in a
background thread; sockets, timeouts and signatures are real. What it answers, and where
the format comes from:

WeChat Pay API v3 (pay.weixin.qq.com/docs/merchant/development/interface-rules/):

* Every request must carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="...",
  nonce_str="...",signature="...",timestamp="...",serial_no="..."``, the merchant key's
  RSA-SHA256 signature over ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``;
  otherwise ``401 {"code":"SIGN_ERROR",...}``, unsigned.
* Answers carry ``Wechatpay-Timestamp``, ``Wechatpay-Nonce``, ``Wechatpay-Serial`` and
  ``Wechatpay-Signature``: the platform key's RSA-SHA256 signature over
  ``timestamp\\nnonce\\nbody\\n``. Error answers are signed too.
* ``GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=...``: the order, or
  ``404 {"code":"ORDER_NOT_EXIST","message":"订单不存在"}``.
* ``GET /v3/bill/tradebill?bill_date=...&bill_type=...&tar_type=GZIP``:
  ``{"download_url","hash_type":"SHA1","hash_value"}``, the SHA-1 of the uncompressed
  bill ("原始账单（gzip需要解压缩）的摘要值"); ``400 NO_STATEMENT_EXIST`` for a day
  without one.
* ``GET /v3/billdownload/file?token=...`` (a signed request): the bill, gzip-compressed
  when ``tar_type=GZIP`` was asked, ``application/octet-stream``, unsigned.

Alipay OpenAPI (opendocs.alipay.com, "sign" and "verify sign"):

* ``POST /gateway.do``, a form of the common parameters and ``biz_content``, signed by
  the app (RSA2 over the sorted ``k=v`` of every non-empty parameter but ``sign``); a
  bad signature or app id is answered unsigned:
  ``{"<method>_response":{"code":"40002","msg":"Invalid Arguments",
  "sub_code":"isv.invalid-signature",...}}``.
* ``alipay.trade.query``: ``{"alipay_trade_query_response":{...},"sign":"..."}``, the
  signature over the exact text of the response member; an unknown order is a signed
  ``40004`` with ``sub_code`` ``ACQ.TRADE_NOT_EXIST``.
* ``alipay.data.dataservice.bill.downloadurl.query``: ``bill_download_url`` (``40004``
  ``isp.bill_not_exist`` when there is none), which answers with a zip holding
  ``<pid>_<yyyymmdd>_业务明细.csv`` and ``..._业务明细(汇总).csv``, GBK names (without the
  zip UTF-8 flag) and GBK contents.

A fault set on :attr:`ProviderServer.fault` changes the next answers; see
:data:`FAULTS`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import secrets
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from govkit.keys import SigningKey, VerifyingKey

#: What :attr:`ProviderServer.fault` may be set to.
FAULTS = {
    "forge": "signed by a key the client does not trust",
    "tamper": "the body changed after it was signed",
    "stale": "WeChat: Wechatpay-Timestamp ten minutes old",
    "unknown_serial": "WeChat: Wechatpay-Serial names no key the client has",
    "unsigned": "no signature (WeChat headers / Alipay sign member)",
    "sleep": "waits `delay` seconds before answering at all",
    "trickle": "sends the headers, then the body a byte every 0.2 seconds",
    "truncate": "announces the whole Content-Length, sends half the body, closes",
    "oversize": "a 2 MiB body with its Content-Length",
    "oversize_stream": "a 2 MiB body without a Content-Length (read until close)",
    "html": "WeChat: labelled text/html",
    "wrong_hash": "WeChat bill: hash_value is the SHA-1 of other bytes",
    "other_order": "a genuine, signed answer about another order than the one asked for",
    "other_origin": "WeChat bill: download_url on another origin (localhost, same port)",
}
PADDING = 2 * 1024 * 1024


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)


def sign(key: SigningKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data)).decode("ascii")


def alipay_content(params: dict[str, str]) -> str:
    """What the app signs: every non-empty parameter but ``sign``, sorted, ``k=v&...``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])


class _GbkZipInfo(zipfile.ZipInfo):
    """A zip member whose name is written in GBK without the UTF-8 flag, as Alipay's are."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's name
        return self.filename.encode("gbk"), self.flag_bits


def alipay_bill_zip(details: bytes, *, pid: str, day: str, gbk_names: bool = True) -> bytes:
    """A zip as Alipay's bill download answers: the details file and its summary."""
    stamp = day.replace("-", "")
    summary = "#支付宝业务汇总查询\n业务类型,笔数\n交易,1\n#结束\n".encode("gbk")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            (f"{pid}_{stamp}_业务明细.csv", details),
            (f"{pid}_{stamp}_业务明细(汇总).csv", summary),
        ):
            info = _GbkZipInfo(name) if gbk_names else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


class ProviderServer:
    """WeChat Pay v3 (``/v3/...``) and Alipay (``/gateway.do``) on one loopback port.

    Tests put orders and bills in the dicts below, set :attr:`fault` to make the next
    answers misbehave, and read :attr:`seen` for what the clients sent.
    """

    def __init__(
        self,
        *,
        mchid: str,
        merchant_serial: str,
        merchant_key: VerifyingKey,
        platform_key: SigningKey,
        platform_key_id: str,
        app_id: str,
        app_key: VerifyingKey,
        alipay_key: SigningKey,
        alipay_pid: str = "20881234567890120156",
    ) -> None:
        self.mchid = mchid
        self.merchant_serial = merchant_serial
        self.merchant_key = merchant_key
        self.platform_key = platform_key
        self.platform_key_id = platform_key_id
        self.app_id = app_id
        self.app_key = app_key
        self.alipay_key = alipay_key
        self.alipay_pid = alipay_pid
        #: WeChat Pay orders by out_trade_no (the JSON the query answers with).
        self.wechat_orders: dict[str, dict[str, Any]] = {}
        #: WeChat Pay bills by day (``YYYY-MM-DD``): the uncompressed CSV bytes.
        self.wechat_bills: dict[str, bytes] = {}
        #: Alipay orders by out_trade_no (the members of alipay_trade_query_response).
        self.alipay_orders: dict[str, dict[str, Any]] = {}
        #: Alipay bills by day: the 业务明细 CSV bytes (GBK) put in the zip.
        self.alipay_bills: dict[str, bytes] = {}
        self.alipay_utf8_names = False
        #: When set, what the Alipay bill URL answers with instead of the built zip.
        self.alipay_archive: bytes | None = None
        #: Every answer as sent: (headers, body).
        self.sent: list[tuple[dict[str, str], bytes]] = []
        self.fault: str | None = None
        self.delay = 3.0
        self.seen: list[Seen] = []
        self._downloads: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def paths(self) -> list[str]:
        with self._lock:
            return [seen.path for seen in self.seen]

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def pause(self, seconds: float) -> None:
        """Sleep, cut short when the server closes."""
        self._stop.wait(seconds)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def add_download(self, data: bytes) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._downloads[token] = data
        return token

    def download(self, token: str) -> bytes | None:
        with self._lock:
            return self._downloads.get(token)


@contextmanager
def running(server: ProviderServer) -> Iterator[ProviderServer]:
    server.start()
    try:
        yield server
    finally:
        server.close()


_AUTH = re.compile(r'(\w+)="([^"]*)"')


def _handler(server: ProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        # --- sending, with the faults that concern transport -----------------------

        def _send(
            self, status: int, body: bytes, content_type: str, headers: dict[str, str]
        ) -> None:
            fault = server.fault
            with server._lock:
                server.sent.append((dict(headers), body))
            if fault == "sleep":
                server.pause(server.delay)
            if fault in ("oversize", "oversize_stream"):
                body = body + b" " * PADDING  # JSON allows trailing whitespace
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            if fault != "oversize_stream":
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                if fault == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "trickle":
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        server.pause(0.2)
                        if server._stop.is_set():
                            return
                    return
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up, as it should

        # --- WeChat Pay ---------------------------------------------------------------

        def _wechat(self, status: int, payload: dict[str, Any], *, signed: bool = True) -> None:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            fault = server.fault
            headers: dict[str, str] = {}
            if signed and fault != "unsigned":
                stamp = int(datetime.now(UTC).timestamp()) - (600 if fault == "stale" else 0)
                nonce = secrets.token_hex(16)
                key = SigningKey.generate("RS256") if fault == "forge" else server.platform_key
                message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
                headers = {
                    "Wechatpay-Timestamp": str(stamp),
                    "Wechatpay-Nonce": nonce,
                    "Wechatpay-Signature": sign(key, message),
                    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
                    "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000099"
                    if fault == "unknown_serial"
                    else server.platform_key_id,
                    "Request-ID": secrets.token_hex(8),
                }
                if fault == "tamper":
                    body = body.replace(b'"total":', b'"total":1', 1)
            content_type = "text/html" if fault == "html" else "application/json; charset=utf-8"
            self._send(status, body, content_type, headers)

        def _merchant_signed(self, method: str, body: bytes) -> bool:
            """Whether the request carries a valid merchant signature, as WeChat checks."""
            auth = self.headers.get("Authorization", "")
            scheme, _, rest = auth.partition(" ")
            fields = dict(_AUTH.findall(rest))
            if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != server.mchid:
                return False
            if fields.get("serial_no") != server.merchant_serial:
                return False
            try:
                stamp = int(fields["timestamp"])
                signature = base64.b64decode(fields["signature"], validate=True)
            except (KeyError, ValueError):
                return False
            if abs(time.time() - stamp) > 300:
                return False
            message = f"{method}\n{self.path}\n{stamp}\n{fields.get('nonce_str', '')}\n"
            try:
                server.merchant_key.verify(signature, message.encode() + body + b"\n")
            except Exception:
                return False
            return True

        def do_GET(self) -> None:
            server.record(Seen("GET", self.path, dict(self.headers.items()), b""))
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            if parts.path == "/downloadBillFile.resource":
                self._alipay_file(query)
                return
            if not self._merchant_signed("GET", b""):
                self._wechat(401, {"code": "SIGN_ERROR", "message": "签名错误"}, signed=False)
                return
            prefix = "/v3/pay/transactions/out-trade-no/"
            if parts.path.startswith(prefix):
                self._wechat_order(unquote(parts.path[len(prefix) :]), query)
            elif parts.path == "/v3/bill/tradebill":
                self._wechat_tradebill(query)
            elif parts.path == "/v3/billdownload/file":
                self._wechat_file(query)
            else:
                self._wechat(404, {"code": "NOT_FOUND", "message": "无此接口"})

        def _wechat_order(self, out_trade_no: str, query: dict[str, str]) -> None:
            if query.get("mchid") != server.mchid:
                self._wechat(400, {"code": "PARAM_ERROR", "message": "mchid 与请求方不符"})
                return
            if server.fault == "other_order" and server.wechat_orders:
                out_trade_no = next(o for o in server.wechat_orders if o != out_trade_no)
            order = server.wechat_orders.get(out_trade_no)
            if order is None:
                self._wechat(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
                return
            self._wechat(200, order)

        def _wechat_tradebill(self, query: dict[str, str]) -> None:
            day = query.get("bill_date", "")
            bill = server.wechat_bills.get(day)
            if bill is None:
                self._wechat(400, {"code": "NO_STATEMENT_EXIST", "message": "要查询的账单不存在"})
                return
            data = gzip.compress(bill) if query.get("tar_type") == "GZIP" else bill
            token = server.add_download(data)
            hashed = bill + b"x" if server.fault == "wrong_hash" else bill
            base = server.url
            if server.fault == "other_origin":
                base = base.replace("127.0.0.1", "localhost")
            self._wechat(
                200,
                {
                    "hash_type": "SHA1",
                    "hash_value": hashlib.sha1(hashed, usedforsecurity=False).hexdigest(),
                    "download_url": f"{base}/v3/billdownload/file?token={token}",
                },
            )

        def _wechat_file(self, query: dict[str, str]) -> None:
            data = server.download(query.get("token", ""))
            if data is None:
                self._wechat(400, {"code": "INVALID_REQUEST", "message": "下载链接已失效"})
                return
            self._send(200, data, "application/octet-stream", {})

        # --- Alipay ---------------------------------------------------------------

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            server.record(Seen("POST", self.path, dict(self.headers.items()), body, params))
            method = params.get("method", "")
            name = method.replace(".", "_") + "_response"
            try:
                signature = base64.b64decode(params.get("sign", ""), validate=True)
                server.app_key.verify(signature, alipay_content(params).encode("utf-8"))
                app_ok = params.get("app_id") == server.app_id
            except Exception:
                app_ok = False
            if not app_ok:  # Alipay cannot authenticate the request: it does not sign
                part = {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配",
                }
                self._alipay(name, part, signed=False)
                return
            biz = json.loads(params.get("biz_content", "{}"))
            if method == "alipay.trade.query":
                self._alipay_trade_query(name, biz)
            elif method == "alipay.data.dataservice.bill.downloadurl.query":
                self._alipay_bill_url(name, biz)
            else:
                self._alipay(
                    "error_response",
                    {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"},
                )

        def _alipay(self, name: str, part: dict[str, Any], *, signed: bool = True) -> None:
            text = json.dumps(part, ensure_ascii=False, separators=(",", ":"))
            fault = server.fault
            if not signed or fault == "unsigned":
                document = f'{{"{name}":{text}}}'
            else:
                key = SigningKey.generate("RS256") if fault == "forge" else server.alipay_key
                signature = sign(key, text.encode("utf-8"))
                if fault == "tamper":
                    text = text.replace('"total_amount":"', '"total_amount":"1', 1)
                document = f'{{"{name}":{text},"sign":"{signature}"}}'
            self._send(200, document.encode("utf-8"), "text/html;charset=utf-8", {})

        def _alipay_trade_query(self, name: str, biz: dict[str, Any]) -> None:
            out_trade_no = str(biz.get("out_trade_no", ""))
            if server.fault == "other_order" and server.alipay_orders:
                out_trade_no = next(o for o in server.alipay_orders if o != out_trade_no)
            order = server.alipay_orders.get(out_trade_no)
            if order is None:
                part = {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.TRADE_NOT_EXIST",
                    "sub_msg": "交易不存在",
                    "buyer_pay_amount": "0.00",
                    "invoice_amount": "0.00",
                    "out_trade_no": out_trade_no,
                    "point_amount": "0.00",
                    "receipt_amount": "0.00",
                }
                self._alipay(name, part)
                return
            self._alipay(name, {"code": "10000", "msg": "Success", **order})

        def _alipay_bill_url(self, name: str, biz: dict[str, Any]) -> None:
            day = str(biz.get("bill_date", ""))
            details = server.alipay_bills.get(day)
            if details is None or biz.get("bill_type") != "trade":
                part = {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "isp.bill_not_exist",
                    "sub_msg": "账单不存在",
                }
                self._alipay(name, part)
                return
            archive = server.alipay_archive or alipay_bill_zip(
                details, pid=server.alipay_pid, day=day, gbk_names=not server.alipay_utf8_names
            )
            token = server.add_download(archive)
            stamp = day.replace("-", "")
            url = (
                f"{server.url}/downloadBillFile.resource?bizType=trade&userId={server.alipay_pid}"
                f"&fileType=csv.zip&bizDates={stamp}&downloadFileName={stamp}.csv.zip"
                f"&fileId={token}"
            )
            self._alipay(name, {"code": "10000", "msg": "Success", "bill_download_url": url})

        def _alipay_file(self, query: dict[str, str]) -> None:
            data = server.download(query.get("fileId", ""))
            if data is None:
                self._send(404, b"", "text/plain", {})
                return
            self._send(200, data, "application/octet-stream", {})

    return Handler
