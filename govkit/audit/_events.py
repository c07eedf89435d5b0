"""The audit event model and its canonical leaf encoding."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from govkit._encoding import b64url_encode, canonical_json
from govkit._json import loads_object
from govkit.clock import require_aware
from govkit.errors import AuditEventInvalid, GovkitError, LeafMismatch

__all__ = [
    "ENTRY_TYPE",
    "PERSONAL_FIELDS",
    "AuditEvent",
    "Outcome",
    "Pseudonymizer",
    "decode_entry",
    "encode_entry",
]

#: The purpose marker inside every leaf: an entry can never pass for anything else.
ENTRY_TYPE: Final = "govkit.audit.event/v1"
#: Fields that may be marked personal and so enter the leaf only as pseudonyms.
PERSONAL_FIELDS: Final = frozenset({"actor_id", "resource_id", "client_address"})
#: Pseudonyms start with this tag so they are never confused with clear values.
PSEUDONYM_PREFIX: Final = "hmac-sha256:"
MAX_ENTRY_BYTES: Final = 65535  # the C2SP tlog-tiles entry limit
_MAX_TEXT = 1024
_NAME = re.compile(r"[a-z][a-z0-9_.\-/:]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_ASSURANCE = ("low", "substantial", "high")
_DetailValue = str | int | bool | None


class Outcome(StrEnum):
    """What came of the action."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
    ERROR = "error"


def _format_utc(value: datetime) -> str:
    # strftime's %Y does not zero-pad years before 1000 on glibc ("5-01-01..."),
    # which strptime then refuses: spell out the four-digit year.
    return f"{value.year:04d}" + value.strftime(_TIME_FORMAT[2:])


def format_time(value: datetime) -> str:
    """Aware datetime -> ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six digits, UTC)."""
    return _format_utc(require_aware(value, "occurred_at"))


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`, strict."""
    try:
        value = datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise AuditEventInvalid("time is not in the canonical format") from None
    if _format_utc(value) != text:
        raise AuditEventInvalid("time is not in the canonical format")
    return value


def time_micros(value: datetime) -> int:
    """Microseconds since the Unix epoch (for range queries)."""
    delta = require_aware(value) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _text(name: str, value: object, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise AuditEventInvalid(f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or (required and not value):
        raise AuditEventInvalid(f"{name} must be a non-empty string", field=name)
    if len(value) > _MAX_TEXT or _CONTROL.search(value):
        raise AuditEventInvalid(
            f"{name} must be at most {_MAX_TEXT} printable characters", field=name
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the entry could never be encoded
        raise AuditEventInvalid(f"{name} must be valid Unicode", field=name) from None
    return value


def _name(name: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise AuditEventInvalid(
            f"{name} must be a lower-case name such as 'licence.issue'", field=name
        )
    return value


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what, when, to which record, from where, and how it ended.

    Frozen and valid by construction: a malformed event raises
    :class:`~govkit.errors.AuditEventInvalid`. ``occurred_at`` must be aware; it is
    normalised to UTC and truncated to microseconds, the precision stored and
    hashed. ``personal`` names the fields holding personal data: the log replaces
    them by keyed pseudonyms before hashing.

    >>> from datetime import datetime, timezone
    >>> event = AuditEvent(
    ...     occurred_at=datetime(2026, 11, 28, 8, 30, tzinfo=timezone.utc),
    ...     actor_id="officer-3107", actor_type="officer", assurance="high",
    ...     action="licence.verify", resource_type="driving_licence",
    ...     resource_id="GD-2026-000042", service="traffic-police",
    ...     outcome="success", correlation_id="req-8c1f")
    >>> event.outcome
    <Outcome.SUCCESS: 'success'>
    """

    occurred_at: datetime
    actor_id: str
    actor_type: str
    action: str
    resource_type: str
    resource_id: str | None = None
    assurance: str | None = None
    service: str | None = None
    client_address: str | None = None
    outcome: Outcome | str = Outcome.SUCCESS
    reason: str | None = None
    correlation_id: str | None = None
    details: Mapping[str, _DetailValue] = field(default_factory=dict)
    personal: frozenset[str] = frozenset({"actor_id", "client_address"})

    def __post_init__(self) -> None:
        when = require_aware(self.occurred_at, "occurred_at")
        object.__setattr__(self, "occurred_at", when)
        _text("actor_id", self.actor_id)
        _name("actor_type", self.actor_type)
        _name("action", self.action)
        _name("resource_type", self.resource_type)
        _text("resource_id", self.resource_id, required=False)
        if self.assurance is not None and self.assurance not in _ASSURANCE:
            raise AuditEventInvalid("assurance must be low, substantial or high")
        _text("service", self.service, required=False)
        _text("client_address", self.client_address, required=False)
        try:
            object.__setattr__(self, "outcome", Outcome(self.outcome))
        except ValueError:
            raise AuditEventInvalid("outcome must be success, failure, denied or error") from None
        _text("reason", self.reason, required=False)
        _text("correlation_id", self.correlation_id, required=False)
        if not isinstance(self.details, Mapping) or len(self.details) > 64:
            raise AuditEventInvalid("details must be a mapping of at most 64 items")
        for key, value in self.details.items():
            _name("details key", key)
            if isinstance(value, str):
                _text(f"details[{key}]", value)
            elif value is not None and not isinstance(value, (int, bool)):
                raise AuditEventInvalid("details values must be str, int, bool or None")
            elif isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise AuditEventInvalid("details integers must fit in 64 bits")
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        personal = frozenset(self.personal)
        if not personal <= PERSONAL_FIELDS:
            raise AuditEventInvalid(
                "only actor_id, resource_id and client_address can be marked personal"
            )
        object.__setattr__(self, "personal", personal)

    def __hash__(self) -> int:
        return hash((self.occurred_at, self.actor_id, self.action, self.resource_id))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the event (as encoded in its leaf)."""
        return json.loads(encode_entry(self))  # type: ignore[no-any-return]


class Pseudonymizer:
    """Keyed pseudonyms: ``hmac-sha256:`` + base64url(HMAC-SHA-256(key, value)).

    The key is a per-log secret kept outside the store (in a KMS or a file the
    database administrators cannot read), so a pseudonym of an ID number cannot be
    reversed by trying every number.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < 16:
            raise AuditEventInvalid("the pseudonym key must be at least 16 bytes")
        self._key = key

    def __call__(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).digest()
        return PSEUDONYM_PREFIX + b64url_encode(digest)

    def __repr__(self) -> str:
        return "Pseudonymizer(<key hidden>)"


def is_pseudonym(value: str | None) -> bool:
    """Whether ``value`` is a pseudonym made by :class:`Pseudonymizer`."""
    return value is not None and value.startswith(PSEUDONYM_PREFIX)


def pseudonyms_for(event: AuditEvent, pseudonyms: Pseudonymizer) -> dict[str, str]:
    """``{field: pseudonym}`` for each personal field of ``event`` that holds a clear value."""
    changes: dict[str, str] = {}
    for name in event.personal:
        value = getattr(event, name)
        if value is not None and not is_pseudonym(value):
            changes[name] = pseudonyms(value)
    return changes


def encode_entry(event: AuditEvent, replace: Mapping[str, str] | None = None) -> bytes:
    """The canonical leaf bytes of ``event``, with ``replace`` (pseudonyms) applied.

    Canonical JSON (UTF-8, keys sorted, no whitespace) of::

        {"type": "govkit.audit.event/v1", "time": "...ffffffZ",
         "actor": {"id", "type", "assurance"}, "action",
         "resource": {"type", "id"}, "service", "client_address",
         "outcome", "reason", "correlation_id", "details", "personal"}

    Absent optional values are ``null``; ``personal`` is the sorted list of fields
    marked personal.
    """
    get = replace.get if replace else lambda _name, value: value
    doc = {
        "type": ENTRY_TYPE,
        "time": format_time(event.occurred_at),
        "actor": {
            "id": get("actor_id", event.actor_id),
            "type": event.actor_type,
            "assurance": event.assurance,
        },
        "action": event.action,
        "resource": {"type": event.resource_type, "id": get("resource_id", event.resource_id)},
        "service": event.service,
        "client_address": get("client_address", event.client_address),
        "outcome": str(event.outcome),
        "reason": event.reason,
        "correlation_id": event.correlation_id,
        "details": dict(event.details),
        "personal": sorted(event.personal),
    }
    data = canonical_json(doc)
    if len(data) > MAX_ENTRY_BYTES:
        raise AuditEventInvalid(f"the encoded event exceeds {MAX_ENTRY_BYTES} bytes")
    return data


def decode_entry(data: bytes) -> AuditEvent:
    """Parse leaf bytes back into an :class:`AuditEvent`, requiring canonical form.

    Raises:
        LeafMismatch: the bytes are not a canonical govkit audit entry.
    """
    try:
        doc = loads_object(data, what="the audit entry", error=LeafMismatch)
        if doc.get("type") != ENTRY_TYPE:
            raise LeafMismatch("entry is not a govkit audit event")
        actor, resource = doc["actor"], doc["resource"]
        event = AuditEvent(
            occurred_at=parse_time(doc["time"]),
            actor_id=actor["id"],
            actor_type=actor["type"],
            assurance=actor["assurance"],
            action=doc["action"],
            resource_type=resource["type"],
            resource_id=resource["id"],
            service=doc["service"],
            client_address=doc["client_address"],
            outcome=doc["outcome"],
            reason=doc["reason"],
            correlation_id=doc["correlation_id"],
            details=doc["details"],
            personal=frozenset(doc["personal"]),
        )
    except LeafMismatch:
        raise
    except (GovkitError, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise LeafMismatch("entry bytes are not a valid audit event") from None
    if encode_entry(event) != data:
        raise LeafMismatch("entry bytes are not in canonical form")
    return event
