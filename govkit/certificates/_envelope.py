"""The signed envelope shared by the trust list and the status list.

A signed list is one canonical JSON document (sorted keys, no whitespace) of three
members: the type marker, the body (``trust_list`` or ``status_list``) and the
signature::

    {"signature": {"alg": "ES256", "kid": "<the signer's JWK thumbprint>",
                   "value": "<base64url signature>"},
     "trust_list": {…}, "type": "govkit.trust-list/v1"}

The signature covers the canonical JSON of ``{"type": …, <body member>: …}``, so the
type marker is inside the signed bytes and one kind of list can never pass as
another. :func:`sign_envelope` writes such a document; :func:`open_envelope` checks it
against the anchors' keys and returns the body. The other helpers (strict JSON,
members, integers, times, key sequences) parse both kinds of list alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

from govkit._encoding import b64url_decode, b64url_encode, canonical_json
from govkit._json import loads_object
from govkit.clock import require_aware
from govkit.errors import (
    CertificateVerificationError,
    ConfigurationError,
    EncodingError,
    GovkitError,
    InvalidSignature,
)
from govkit.keys import Signer, VerifyingKey

__all__ = [
    "check_keys",
    "format_time",
    "json_int",
    "loads_strict",
    "members",
    "open_envelope",
    "parse_time",
    "sign_envelope",
    "whole_seconds",
]

_MAX_DEPTH: Final = 12
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def format_time(value: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object, error: type[GovkitError], name: str) -> datetime:
    """Strictly parse ``YYYY-MM-DDTHH:MM:SSZ``; anything else raises ``error``."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise error(f"{name} must be a UTC time YYYY-MM-DDTHH:MM:SSZ", reason="time", member=name)
    try:
        return datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise error(f"{name} is not a valid time", reason="time", member=name) from None


def whole_seconds(value: object, name: str) -> datetime:
    """``value`` checked to be aware, in UTC and truncated to whole seconds."""
    if not isinstance(value, datetime):
        raise ConfigurationError(f"{name} must be an aware datetime", argument=name)
    return require_aware(value, name).replace(microsecond=0)


def loads_strict(data: bytes, error: type[GovkitError], what: str) -> dict[str, Any]:
    """Parse one UTF-8 JSON object strictly (core's loader), raising ``error`` (reason ``json``).

    Refused: invalid UTF-8, a top level that is not an object, duplicate names,
    floats, ``NaN``/``Infinity``, lone surrogates, nesting deeper than 12 levels.
    """
    return loads_object(
        data, what=f"the {what}", error=partial(error, reason="json"), max_depth=_MAX_DEPTH
    )


def check_keys(keys: object, name: str) -> tuple[VerifyingKey, ...]:
    """``keys`` as a non-empty tuple of :class:`VerifyingKey` (else ConfigurationError)."""
    if isinstance(keys, VerifyingKey):
        keys = (keys,)
    if not isinstance(keys, Iterable) or isinstance(keys, (str, bytes)):
        raise ConfigurationError(f"{name} must be a sequence of VerifyingKey", argument=name)
    result = tuple(keys)
    if not result or not all(isinstance(k, VerifyingKey) for k in result):
        raise ConfigurationError(f"{name} must be a non-empty sequence of VerifyingKey")
    return result


#: How a canonical signed document starts: ``signature`` sorts before the body member
#: (``status_list``, ``trust_list``) and ``type``.
_SIGNATURE_FIRST: Final = b'{"signature":'


def sign_envelope(marker: str, member: str, body: dict[str, Any], signer: Signer) -> bytes:
    """``{"type", member, "signature"}`` as canonical JSON, signed over type and body.

    The document is the signed part with the signature member spliced in front (the
    canonical JSON of the whole, since ``signature`` sorts first), so a large list is
    serialised once, not twice.
    """
    signed = canonical_json({"type": marker, member: body})
    signature = {"alg": signer.alg, "kid": signer.kid, "value": b64url_encode(signer.sign(signed))}
    if member > "signature":  # "signature" sorts first
        return _SIGNATURE_FIRST + canonical_json(signature) + b"," + signed[1:]
    return canonical_json({"type": marker, member: body, "signature": signature})


def _signed_forms(
    raw: bytes, signature: dict[str, Any], marker: str, member: str, body: dict[str, Any]
) -> Iterator[bytes]:
    """The bytes a document's signature may cover, cheapest first.

    First the document's own text with its leading signature member cut out: exactly
    what :func:`sign_envelope` signed when the document is as it wrote it, found
    without re-serialising a list of any size. That text parses, on its own, to the
    very ``type`` and body read from the whole document (the strict loader refuses
    duplicate names), so a signature over it is a signature over them. Then, for a
    document re-serialised on the way (spaces, another member order), the canonical
    JSON of type and body, as before.
    """
    prefix = _SIGNATURE_FIRST + canonical_json(signature) + b","
    own = b"{" + raw[len(prefix) :] if raw.startswith(prefix) else None
    if own is not None:
        yield own
    canonical = canonical_json({"type": marker, member: body})
    if canonical != own:
        yield canonical


def open_envelope(
    data: object,
    *,
    marker: str,
    member: str,
    keys: Sequence[VerifyingKey],
    error: type[CertificateVerificationError],
    max_bytes: int,
    unsupported: type[GovkitError] | None = None,
) -> tuple[dict[str, Any], VerifyingKey, bytes]:
    """Check a signed envelope; return its body, the key that signed it, the signed bytes.

    The signed bytes are the canonical JSON of type and body for every document
    :func:`sign_envelope` wrote (sources compare them to spot equivocation).

    Raises ``error`` with ``reason`` ``type``, ``too_large``, ``json``, ``layout``,
    ``wrong_type``, ``signature`` or ``unknown_key``; ``unsupported``, when given, for
    a document of the same family under a newer major version (``…/v2`` where
    ``marker`` is ``…/v1``), before its signature is looked at.
    """
    what = marker.split("/", 1)[0].removeprefix("govkit.").replace("-", " ")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise error(f"a signed {what} must be bytes", reason="type")
    if len(data) > max_bytes:
        raise error(f"the signed {what} is larger than {max_bytes} bytes", reason="too_large")
    raw = bytes(data)
    document = loads_strict(raw, error, what)
    kind = document.get("type")
    if kind != marker:
        family = marker.rsplit("/v", 1)[0] + "/v"
        if (
            unsupported is not None
            and isinstance(kind, str)
            and kind.startswith(family)
            and kind[len(family) :].isdigit()
            and int(kind[len(family) :][:8]) > int(marker[len(family) :])
        ):
            raise unsupported(
                f"the document is a {kind}; this release reads {marker} only",
                reason="version",
                version=kind[len(family) :][:8],
            )
        raise error(f"the document is not a {marker}", reason="wrong_type")
    if set(document) != {"type", member, "signature"}:
        raise error(f"the {what} must have exactly type, {member} and signature", reason="layout")
    body, signature = document[member], document["signature"]
    if not isinstance(body, dict) or not isinstance(signature, dict):
        raise error(f"{member} and signature must be objects", reason="layout")
    if set(signature) != {"alg", "kid", "value"} or not all(
        isinstance(v, str) for v in signature.values()
    ):
        raise error("the signature must have exactly alg, kid and value (text)", reason="layout")
    try:
        value = b64url_decode(signature["value"], what="signature")
    except EncodingError:
        raise error("the signature is not base64url", reason="signature") from None
    candidates = [k for k in keys if k.kid == signature["kid"] and k.alg == signature["alg"]]
    if not candidates:
        raise error(f"the {what} is not signed by a trusted key", reason="unknown_key")
    for signed in _signed_forms(raw, signature, marker, member, body):
        for key in candidates:
            try:
                key.verify(value, signed)
            except InvalidSignature:
                continue
            return body, key, signed
    raise error(f"the {what}'s signature does not verify", reason="signature")


def members(
    obj: object,
    required: set[str],
    optional: set[str],
    error: type[GovkitError],
    what: str,
    *,
    ignore_unknown: bool = False,
) -> dict[str, Any]:
    """``obj`` as a dict with all of ``required`` and nothing outside ``optional``.

    With ``ignore_unknown`` members outside ``required | optional`` are allowed (the
    caller reads only the names it knows): the trust list's rule within a major version.
    """
    if not isinstance(obj, dict):
        raise error(f"{what} must be an object", reason="layout", member=what)
    names = set(obj)
    if not required <= names or (not ignore_unknown and not names <= required | optional):
        raise error(f"{what} has missing or unknown members", reason="layout", member=what)
    return obj


def json_int(value: object, error: type[GovkitError], name: str, maximum: int) -> int:
    """A JSON integer from 0 to ``maximum`` (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise error(f"{name} must be an integer from 0 to {maximum}", reason="layout", member=name)
    return value
