"""WeChat Pay API v3: callback verification and decryption, platform keys, request signing."""

from __future__ import annotations

import binascii
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Final, TypeAlias

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from govkit._http import FetchError, SourcePolicy, check_url, fetch, settle
from govkit._json import loads_object
from govkit.clock import Clock, SystemClock, resolve_time
from govkit.errors import (
    ConfigurationError,
    KeysError,
    PaymentDecryptFailed,
    PaymentKeyRefreshFailed,
    PaymentKeyUnknown,
    PaymentMalformed,
    PaymentMerchantMismatch,
    PaymentSignatureInvalid,
    PaymentSignatureProbe,
    PaymentTimestampStale,
)
from govkit.keys import KeyRecord, KeyRing, SigningKey, VerifyingKey
from govkit.payments._crypto import b64decode_strict
from govkit.payments._event import (
    Acknowledgement,
    EventKind,
    PaymentEvent,
    Provider,
    header,
    parse_unix,
)
from govkit.payments._keys import (
    PUBLIC_KEY_PREFIX,
    load_wechat_platform_certificate,
    migration_hint,
    normalise_wechat_key_id,
    provider_records,
    rs256_verifier,
)
from govkit.payments._report import CALLBACK_CHECKS, CallbackReport, inspect_callback

__all__ = [
    "SIGNATURE_TYPE",
    "WeChatCertificateDownloader",
    "WeChatKeys",
    "WeChatPayV3",
    "WeChatPlatformKeys",
    "decrypt_resource",
    "verify_wechat_signature",
    "wechat_authorization",
]

#: The only signature type govkit accepts on callbacks and responses.
SIGNATURE_TYPE: Final = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX: Final = "WECHATPAY/SIGNTEST/"
DEFAULT_BASE_URL: Final = "https://api.mch.weixin.qq.com"
#: What the provider clients fetch with: only ``timeout``, ``max_bytes`` and
#: ``max_redirects`` of a :class:`~govkit.payments.SourcePolicy` apply to them.
_PROVIDER_DEFAULTS: Final = SourcePolicy(timeout=10.0, max_bytes=1024 * 1024, max_redirects=0)
_SIGNATURE_NAMES: Final = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
)
_SIGNATURE_HEADERS: Final = itemgetter(*_SIGNATURE_NAMES)
_MAX_BODY = 64 * 1024

_WECHATPAY: Final = Provider.WECHATPAY
_OTHER: Final = EventKind.OTHER
_TRADE_KINDS: Final = {
    "SUCCESS": EventKind.PAID,
    "CLOSED": EventKind.CLOSED,
    "REVOKED": EventKind.CLOSED,
    "PAYERROR": EventKind.FAILED,
}


def _apiv3_cipher(apiv3_key: bytes | str) -> AESGCM:
    key = apiv3_key.encode("utf-8") if isinstance(apiv3_key, str) else apiv3_key
    if not isinstance(key, bytes) or len(key) != 32:
        raise ConfigurationError("the WeChat Pay APIv3 key must be 32 bytes (32 ASCII characters)")
    return AESGCM(key)


#: What the WeChat Pay adapters take as platform keys: key id -> key (or key with a
#: validity window); records named by their alias (what the loaders return); or a
#: :class:`~govkit.keys.KeyRing` whose aliases are the key ids.
WeChatKeys: TypeAlias = Mapping[str, VerifyingKey | KeyRecord] | Iterable[KeyRecord] | KeyRing

#: A trusted key with its signature check prepared once (:func:`rs256_verifier`).
_PlatformKey: TypeAlias = tuple[KeyRecord, Callable[[bytes, bytes], bool]]


def _prepared(records: dict[str, KeyRecord]) -> dict[str, _PlatformKey]:
    """Each record beside the RS256 check of its own key."""
    return {key_id: (record, rs256_verifier(record.key)) for key_id, record in records.items()}


def _platform_records(keys: object) -> dict[str, KeyRecord]:
    """Normalised key id -> RS256 key record, from any form of :data:`WeChatKeys`."""
    named: list[tuple[str, KeyRecord]] = []
    if isinstance(keys, Mapping):
        for key_id, value in keys.items():
            if not isinstance(key_id, str) or not key_id:
                raise ConfigurationError("WeChat Pay key ids are non-empty strings")
            if not isinstance(value, (VerifyingKey, KeyRecord)):
                raise ConfigurationError(migration_hint(value, "WeChat Pay"))
            named += [(key_id, record) for record in provider_records(value, "WeChat Pay")]
    else:
        if isinstance(keys, KeyRing):
            items: list[object] = list(keys.records())
        elif isinstance(keys, KeyRecord):
            items = [keys]
        elif isinstance(keys, Iterable) and not isinstance(keys, (str, bytes)):
            items = list(keys)
        else:
            items = [keys]
        for record in provider_records(items, "WeChat Pay") if items else ():
            if not record.aliases:
                raise ConfigurationError(
                    "a WeChat Pay key needs its serial or PUB_KEY_ID_ as its alias "
                    "(load_wechat_platform_certificate / load_wechat_public_key name it)"
                )
            named += [(alias, record) for alias in record.aliases]
    found: dict[str, KeyRecord] = {}
    for key_id, record in named:
        normal = normalise_wechat_key_id(key_id)
        old = found.get(normal)
        if old is not None and old.key != record.key:
            raise ConfigurationError("two WeChat Pay keys claim the same key id", key_id=normal)
        found[normal] = record
    return found


def decrypt_resource(cipher: AESGCM, resource: Mapping[str, Any], what: str = "resource") -> bytes:
    """Decrypt a WeChat ``AEAD_AES_256_GCM`` resource (callback or certificate download).

    Raises:
        PaymentMalformed: the resource lacks a field or names another algorithm.
        PaymentDecryptFailed: the tag does not verify (wrong APIv3 key, or tampered).
    """
    get = resource.get
    if get("algorithm") != "AEAD_AES_256_GCM":
        raise PaymentMalformed(f"the {what} is not AEAD_AES_256_GCM")
    nonce, ciphertext, aad = get("nonce"), get("ciphertext"), get("associated_data")
    if aad is None:  # absent or null: none
        aad = ""
    if not isinstance(nonce, str) or not isinstance(ciphertext, str) or not isinstance(aad, str):
        raise PaymentMalformed(f"the {what} lacks nonce, ciphertext or associated_data")
    try:  # b64decode_strict, with its message built only when it is needed
        data = binascii.a2b_base64(ciphertext, strict_mode=True)
    except ValueError:
        raise PaymentMalformed(f"the {what} ciphertext is not base64") from None
    nonce_bytes = nonce.encode()  # UTF-8, as every encode() here
    if not 8 <= len(nonce_bytes) <= 64 or len(data) < 16:  # AES-GCM here takes 8 or more
        raise PaymentMalformed(f"the {what} nonce or ciphertext has the wrong size")
    try:
        return cipher.decrypt(nonce_bytes, data, aad.encode())
    except InvalidTag:
        raise PaymentDecryptFailed(
            f"the {what} does not decrypt with the APIv3 key (wrong key or tampered)"
        ) from None


def wechat_authorization(
    *,
    mchid: str,
    serial: str,
    key: SigningKey,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp: int,
    nonce: str | None = None,
) -> str:
    """The ``Authorization`` header of a signed WeChat Pay v3 request.

    The signed message is ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``, signed
    with the merchant's RSA key (``RS256``: PKCS#1 v1.5, SHA-256).
    """
    if key.alg != "RS256":
        raise ConfigurationError("the WeChat Pay merchant key must be an RS256 (RSA) key")
    nonce = nonce or secrets.token_hex(16)
    message = f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
    signature = b64encode(key.sign(message))
    return (
        f'{SIGNATURE_TYPE} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial}"'
    )


def b64encode(data: bytes) -> str:
    """Standard base64 text."""
    import base64  # noqa: PLC0415 - tiny helper kept local

    return base64.b64encode(data).decode("ascii")


class WeChatCertificateDownloader:
    """Downloads WeChat Pay platform certificates (``GET /v3/certificates``).

    The request is signed with the merchant key; each certificate arrives encrypted
    with the APIv3 key (AES-256-GCM), which is what authenticates it.

    Args:
        mchid: the merchant id.
        merchant_serial: the serial of the merchant's API certificate.
        merchant_key: the merchant's RSA signing key.
        apiv3_key: the 32-byte APIv3 key.
        base_url: the API root (``https``; ``http`` only for a loopback host, such as
            a local server in tests).
        session: a :class:`requests.Session` to reuse.
        policy: a :class:`~govkit.payments.SourcePolicy`; ``timeout`` (default 10
            seconds), ``max_bytes`` (default 1 MiB) and ``max_redirects`` (default 0)
            apply.
        timeout: seconds for connecting, each read and the whole body; the same
            as ``policy.timeout``.
        clock: time source for the request timestamp.

    The download goes through govkit's bounded fetcher: the body is read up to
    ``max_bytes`` and within the deadline, must be ``application/json``, and a
    redirect is a failed download (:class:`~govkit.errors.PaymentKeyRefreshFailed`
    with ``reason`` ``redirect``).
    """

    def __init__(
        self,
        *,
        mchid: str,
        merchant_serial: str,
        merchant_key: SigningKey,
        apiv3_key: bytes | str,
        base_url: str = DEFAULT_BASE_URL,
        session: requests.Session | None = None,
        policy: SourcePolicy | None = None,
        timeout: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._mchid = mchid
        self._serial = merchant_serial
        self._key = merchant_key
        self._cipher = _apiv3_cipher(apiv3_key)
        self._base_url = check_url(base_url, "WeChat Pay").rstrip("/")
        self._session = session or requests.Session()
        self._limits = settle(
            policy,
            SourcePolicy(timeout=timeout),
            _PROVIDER_DEFAULTS,
            what="the WeChat Pay certificate download",
        )
        self._clock = clock or SystemClock()

    def __call__(self) -> list[KeyRecord]:
        """Download and decrypt the current platform certificates.

        Each comes back as :func:`~govkit.payments.load_wechat_platform_certificate`
        loads it: a key named by its serial, valid over the certificate's period.
        """
        path = "/v3/certificates"
        now = resolve_time(self._clock, None)
        auth = wechat_authorization(
            mchid=self._mchid,
            serial=self._serial,
            key=self._key,
            method="GET",
            path=path,
            timestamp=int(now.timestamp()),
        )
        limits = self._limits
        try:
            result = fetch(
                self._session,
                self._base_url + path,
                accept=("application/json",),
                headers={"Authorization": auth},
                timeout=limits.timeout,
                max_bytes=limits.max_bytes,
                max_redirects=limits.max_redirects,
                what="WeChat Pay certificate list",
            )
        except FetchError as exc:
            context = {"status": exc.status} if exc.status is not None else {}
            raise PaymentKeyRefreshFailed(
                f"the platform certificate download failed: {exc.message}",
                reason=exc.reason,
                **context,
            ) from None
        try:
            document = loads_object(
                result.body, what="the certificate list", error=PaymentMalformed
            )
        except PaymentMalformed:
            raise PaymentKeyRefreshFailed("the certificate list is not JSON") from None
        items = document.get("data")
        if not isinstance(items, list):
            raise PaymentKeyRefreshFailed("the certificate list has no data array")
        found: list[KeyRecord] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("encrypt_certificate"), dict):
                raise PaymentKeyRefreshFailed("a certificate entry is malformed")
            try:
                pem = decrypt_resource(self._cipher, item["encrypt_certificate"], "certificate")
                found.append(load_wechat_platform_certificate(pem))
            except (PaymentMalformed, PaymentDecryptFailed, KeysError):
                raise PaymentKeyRefreshFailed(
                    "a downloaded certificate does not decrypt or parse"
                ) from None
        return found


class WeChatPlatformKeys:
    """A merchant's key ring of WeChat Pay platform keys, refreshed at most once per interval.

    Holds platform certificates (by serial, each valid over its certificate's
    period) and ``PUB_KEY_ID_...`` public keys side by side, all ``RS256``
    :mod:`govkit.keys` keys. An unknown certificate serial triggers one download
    through ``downloader`` (single-flight, at most once per ``min_refresh_interval``),
    never a network call per request; an unknown ``PUB_KEY_ID_`` is never downloaded.

    >>> from govkit.keys import SigningKey
    >>> from govkit.payments import load_wechat_public_key
    >>> platform = SigningKey.generate("RS256")
    >>> pem = platform.verifying_key.to_pem()
    >>> keys = WeChatPlatformKeys([load_wechat_public_key(pem, "PUB_KEY_ID_0001")])
    >>> keys.key_ids
    ('PUB_KEY_ID_0001',)

    Args:
        keys: the trusted keys (:data:`WeChatKeys`): a list of records from
            :func:`~govkit.payments.load_wechat_platform_certificate` and
            :func:`~govkit.payments.load_wechat_public_key`, a mapping of key id
            (serial or ``PUB_KEY_ID_...``) to :class:`~govkit.keys.VerifyingKey` or
            :class:`~govkit.keys.KeyRecord`, or a :class:`~govkit.keys.KeyRing`
            whose aliases are the key ids (copied when the ring is built).
        downloader: a callable returning the current certificates as key records
            (usually a :class:`WeChatCertificateDownloader`).
        min_refresh_interval: the least time between two downloads.
        clock: time source for the rate limit.

    Raises:
        ConfigurationError: a key is not a govkit ``RS256`` key (a ``cryptography``
            key, a certificate object or PEM text: load it first), has no key id, or
            two different keys claim one key id.
    """

    def __init__(
        self,
        keys: WeChatKeys = (),
        *,
        downloader: Callable[[], Iterable[KeyRecord]] | None = None,
        min_refresh_interval: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
    ) -> None:
        self._keys = _prepared(_platform_records(keys))
        self._downloader = downloader
        self._interval = min_refresh_interval
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._last_refresh: datetime | None = None
        self._refreshes = 0

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The serials and public-key ids currently trusted."""
        return tuple(sorted(self._keys))

    @property
    def refreshes(self) -> int:
        """How many downloads this ring has made."""
        return self._refreshes

    def lookup(self, key_id: str, at: datetime) -> VerifyingKey:
        """The key for ``key_id`` valid at ``at``, refreshing once if allowed.

        Raises:
            PaymentKeyUnknown: no such key (after any allowed refresh) or not valid at ``at``.
            PaymentKeyRefreshFailed: a refresh was due and failed.
        """
        return self._entry(key_id, at)[0].key

    def _entry(self, key_id: str, at: datetime) -> _PlatformKey:
        """:meth:`lookup`'s record, with its key's prepared signature check."""
        # normalise_wechat_key_id, inline: this runs on every callback
        normal = key_id if key_id.startswith(PUBLIC_KEY_PREFIX) else key_id.upper().lstrip("0")
        entry = self._keys.get(normal)
        if (
            entry is None
            and self._downloader is not None
            and not normal.startswith(PUBLIC_KEY_PREFIX)
        ):
            self._refresh_if_due()
            entry = self._keys.get(normal)
        if entry is None:
            raise PaymentKeyUnknown("no trusted WeChat Pay platform key has this serial or id")
        record = entry[0]
        not_before, not_after = record.not_before, record.not_after
        if (not_before is not None and at < not_before) or (
            not_after is not None and at >= not_after
        ):
            raise PaymentKeyUnknown(
                "the WeChat Pay platform key or certificate is not valid at this time",
                key_id=normal,
            )
        return entry

    def _refresh_if_due(self) -> None:
        with self._lock:  # single flight: concurrent misses wait for one download
            now = resolve_time(self._clock, None)
            if self._last_refresh is not None and now - self._last_refresh < self._interval:
                return
            self._last_refresh = now
            assert self._downloader is not None  # noqa: S101 - checked by the caller
            self._refreshes += 1
            fresh = _prepared(_platform_records(list(self._downloader())))
            self._keys = {**self._keys, **fresh}  # one assignment: readers see old or new

    def __repr__(self) -> str:
        return f"WeChatPlatformKeys({len(self._keys)} keys)"


def verify_wechat_signature(
    keys: WeChatPlatformKeys,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: float,
) -> None:
    """Check a WeChat Pay signature (callback or API response) over ``ts\\nnonce\\nbody\\n``.

    Raises:
        PaymentSignatureProbe, PaymentMalformed, PaymentTimestampStale,
        PaymentKeyUnknown, PaymentSignatureInvalid, PaymentKeyRefreshFailed.
    """
    try:  # the usual spelling, all four at once; otherwise each case-insensitively
        signature, stamp, nonce, serial = _SIGNATURE_HEADERS(headers)
    except KeyError:
        signature, stamp, nonce, serial = (header(headers, name) for name in _SIGNATURE_NAMES)
    if signature is None:
        raise PaymentMalformed("the Wechatpay-Signature header is missing")
    if signature.startswith(PROBE_PREFIX):
        raise PaymentSignatureProbe("a WeChat Pay signature probe (WECHATPAY/SIGNTEST/)")
    kind = headers.get("Wechatpay-Signature-Type")
    if kind is None:
        kind = header(headers, "Wechatpay-Signature-Type")
    if kind is not None and kind != SIGNATURE_TYPE:
        raise PaymentMalformed("the Wechatpay-Signature-Type is not supported")
    if stamp is None:
        raise PaymentMalformed("the Wechatpay-Timestamp header is missing")
    timestamp = parse_unix(stamp, "Wechatpay-Timestamp")
    if not nonce or not serial or len(nonce) > 64 or len(serial) > 128:
        raise PaymentMalformed("the Wechatpay-Nonce or Wechatpay-Serial header is missing")
    if abs(now.timestamp() - timestamp) >= tolerance:
        raise PaymentTimestampStale(
            "the callback timestamp is outside the replay window",
            skew=int(now.timestamp()) - timestamp,
        )
    if not isinstance(body, bytes) or len(body) > _MAX_BODY:
        raise PaymentMalformed("the body is missing or too large")
    verifies = keys._entry(serial, now)[1]  # the ring's key, its check prepared once
    signed = b64decode_strict(signature, "the signature")
    # the header texts as sent (a leading zero stays), each line ending in "\n"
    if not verifies(signed, b"\n".join((stamp.encode(), nonce.encode(), body, b""))):
        raise PaymentSignatureInvalid("the WeChat Pay callback signature does not verify")


class WeChatPayV3:
    """Verifies and normalises WeChat Pay API v3 callbacks.

    Checks, in order: the ``WECHATPAY/SIGNTEST/`` probe, the signature type, the
    replay window (``|now - Wechatpay-Timestamp| < tolerance``, both directions), the
    platform key by ``Wechatpay-Serial``, the RSA-SHA256 signature over
    ``timestamp\\nnonce\\nbody\\n`` (the raw body, never re-serialised), then decrypts
    ``resource`` with the APIv3 key and normalises the plaintext.

    Args:
        apiv3_key: the merchant's 32-byte APIv3 key.
        platform_keys: the platform keys (:data:`WeChatKeys`: loaded records, a
            mapping of key id to :class:`~govkit.keys.VerifyingKey`, or a
            :class:`~govkit.keys.KeyRing`), or a :class:`WeChatPlatformKeys` (for
            refresh on unknown serials). See the payments guide for the loaders.
        mchid: when given, a callback for another merchant is refused.
        clock: time source for the replay window.
        tolerance: the replay window (300 s by default).
    """

    provider: Final = Provider.WECHATPAY

    def __init__(
        self,
        apiv3_key: bytes | str,
        platform_keys: WeChatKeys | WeChatPlatformKeys,
        *,
        mchid: str | None = None,
        clock: Clock | None = None,
        tolerance: timedelta = timedelta(seconds=300),
    ) -> None:
        self._cipher = _apiv3_cipher(apiv3_key)
        self._clock = clock or SystemClock()
        self.keys = (
            platform_keys
            if isinstance(platform_keys, WeChatPlatformKeys)
            else WeChatPlatformKeys(platform_keys, clock=self._clock)
        )
        self._mchid = mchid
        self._tolerance = tolerance.total_seconds()

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> PaymentEvent:
        """Verify a callback and return its event.

        Raises:
            PaymentSignatureProbe: a ``WECHATPAY/SIGNTEST/`` probe (answer 4xx).
            PaymentMalformed: missing headers, bad fields, or bad JSON (a repeated
                member name, ``NaN``, ``Infinity`` or a non-integer number included).
            PaymentTimestampStale: outside the replay window.
            PaymentKeyUnknown: no trusted key for ``Wechatpay-Serial``.
            PaymentSignatureInvalid: the signature does not verify.
            PaymentDecryptFailed: ``resource`` does not decrypt with the APIv3 key.
            PaymentMerchantMismatch: the plaintext names another ``mchid``.
            PaymentKeyRefreshFailed: a due certificate download failed.
        """
        now = resolve_time(self._clock, at)
        verify_wechat_signature(self.keys, headers, body, now, self._tolerance)
        return self._normalise(body)

    def _normalise(self, body: bytes) -> PaymentEvent:
        # Strict JSON even under a verified signature or AEAD tag: a repeated member
        # means two things to two parsers. WeChat's numbers are all integers (fen).
        envelope = loads_object(body, what="the callback body", error=PaymentMalformed)
        resource = envelope.get("resource")
        event_id, event_type = envelope.get("id"), envelope.get("event_type")
        if not isinstance(resource, dict) or not isinstance(event_id, str):
            raise PaymentMalformed("the callback has no id or resource")
        if not isinstance(event_type, str):
            raise PaymentMalformed("the callback has no event_type")
        plain = loads_object(
            decrypt_resource(self._cipher, resource), what="the resource", error=PaymentMalformed
        )
        if self._mchid is not None:
            mchid = plain.get("mchid") if plain.get("mchid") is not None else plain.get("sp_mchid")
            if mchid != self._mchid:
                raise PaymentMerchantMismatch("the callback is for another merchant")
        # The event's raw payload is the envelope with its resource decrypted; the
        # envelope was parsed above for this call alone, so it needs no copy here.
        envelope["resource"] = plain
        if event_type.startswith("REFUND."):
            return _refund_event(event_id, plain, envelope)
        return _transaction_event(event_id, plain, envelope)

    def inspect(
        self, headers: Mapping[str, str], body: bytes, *, at: datetime | None = None
    ) -> CallbackReport:
        """Run :meth:`parse`'s checks and report them instead of raising.

        The checks are :data:`~govkit.payments.CALLBACK_CHECKS` for this provider; see
        :class:`~govkit.payments.CallbackReport`. Only a
        :class:`~govkit.errors.PaymentVerificationError` becomes a failed check.
        """
        unchecked = {} if self._mchid else {"merchant": "no mchid configured"}
        return inspect_callback(
            self, headers, body, at=at, checks=CALLBACK_CHECKS[self.provider], unchecked=unchecked
        )

    def acknowledge(self) -> Acknowledgement:
        """HTTP 204, no body."""
        return Acknowledgement(204)

    def reject(self, *, retry: bool) -> Acknowledgement:
        """A 4xx (refused) or 5xx (retry) with ``{"code": "FAIL", ...}``."""
        if retry:
            return Acknowledgement.json_failure(500, "处理失败，请重试")
        return Acknowledgement.json_failure(401, "验签失败")

    def __repr__(self) -> str:
        return f"WeChatPayV3(keys={self.keys!r}, mchid={self._mchid!r})"


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise PaymentMalformed(f"the resource lacks {what}", field=what)
    return value


def _optional_text(value: object, what: str) -> str | None:
    if value is None or value == "":
        return None
    return _text(value, what)


def _int(value: object, what: str) -> int:
    if type(value) is not int or value < 0:
        raise PaymentMalformed(f"the resource's {what} is not a non-negative integer", field=what)
    return value


def _rfc3339(value: object, fallback: object) -> datetime:
    text = value if isinstance(value, str) and value else fallback
    if not isinstance(text, str):
        raise PaymentMalformed("the callback has no time")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise PaymentMalformed("a time is not RFC 3339") from None
    if when.tzinfo is None:
        raise PaymentMalformed("a time has no offset")
    try:  # in UTC already, PaymentEvent keeps it as it is
        return when.astimezone(UTC)
    except OverflowError:  # PaymentEvent refuses it, after checking the other fields
        return when


def _amount(plain: Mapping[str, Any]) -> Mapping[str, Any]:
    amount = plain.get("amount")
    if not isinstance(amount, dict):
        raise PaymentMalformed("the resource has no amount")
    return amount


def _transaction_event(
    event_id: str, plain: Mapping[str, Any], envelope: Mapping[str, Any]
) -> PaymentEvent:
    get = plain.get
    amount, state = get("amount"), get("trade_state")
    if type(amount) is not dict or type(state) is not str or not state:
        raise PaymentMalformed("the resource has no amount or trade_state")
    transaction_id = get("transaction_id")
    occurred_at = _rfc3339(get("success_time"), envelope.get("create_time"))
    # PaymentEvent checks the rest: texts non-empty without control characters,
    # amounts non-negative integers (never bool or float), the currency [A-Z]{3}.
    # Positional, in the constructor's field order: a class call with keywords
    # builds a dict of them first, a fifth of the constructor's cost.
    return PaymentEvent(
        _WECHATPAY,  # provider
        event_id,
        _TRADE_KINDS.get(state, _OTHER),  # kind
        get("out_trade_no"),  # type: ignore[arg-type]  # order_id
        amount.get("total"),  # type: ignore[arg-type]  # amount
        amount.get("currency", "CNY"),  # currency
        occurred_at,
        None if transaction_id == "" else transaction_id,  # transaction_id
        amount.get("payer_total"),  # payer_amount
        None,  # total
        None,  # refunded_total
        get("mchid") or get("sp_mchid") or None,  # merchant_id
        None,  # refund_id
        state[:64],  # status
        envelope,  # raw
    )


def _refund_event(
    event_id: str, plain: Mapping[str, Any], envelope: Mapping[str, Any]
) -> PaymentEvent:
    amount = _amount(plain)
    status = _text(plain.get("refund_status"), "refund_status")
    refund = _int(amount.get("refund"), "amount.refund")
    total = _int(amount.get("total"), "amount.total")
    if status == "SUCCESS":
        kind = EventKind.REFUNDED if refund >= total else EventKind.PARTIALLY_REFUNDED
    elif status in ("CLOSED", "ABNORMAL"):
        kind = EventKind.FAILED
    else:
        kind = EventKind.OTHER
    payer_refund = amount.get("payer_refund")
    currency = amount.get("currency", "CNY")
    return PaymentEvent(
        provider=Provider.WECHATPAY,
        event_id=event_id,
        kind=kind,
        order_id=_text(plain.get("out_trade_no"), "out_trade_no"),
        transaction_id=_optional_text(plain.get("transaction_id"), "transaction_id"),
        amount=refund,
        total=total,
        currency=currency if isinstance(currency, str) else "",
        payer_amount=None if payer_refund is None else _int(payer_refund, "amount.payer_refund"),
        occurred_at=_rfc3339(plain.get("success_time"), envelope.get("create_time")),
        merchant_id=_optional_text(plain.get("mchid") or plain.get("sp_mchid"), "mchid"),
        refund_id=_optional_text(plain.get("out_refund_no") or plain.get("refund_id"), "refund"),
        status=status[:64],
        raw=envelope,
    )
