"""The audit event model, its canonical leaf encoding and keyed pseudonyms.

Covers govkit.audit._events: :class:`AuditEvent` validation, the exact bytes that
are hashed into a leaf (written out literally below, so any change to the encoding
is a visible, deliberate change of the log format), strict decoding of stored
entries, and :class:`Pseudonymizer`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from govkit.audit import ENTRY_TYPE, PERSONAL_FIELDS, AuditEvent, Outcome
from govkit.audit._events import Pseudonymizer, decode_entry, encode_entry
from govkit.audit.merkle import leaf_hash
from govkit.errors import AuditEventInvalid, LeafMismatch, NaiveDatetimeError

CST = timezone(timedelta(hours=8))


def make(**changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "occurred_at": datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        "actor_id": "officer-3107",
        "actor_type": "officer",
        "action": "licence.verify",
        "resource_type": "driving_licence",
    }
    fields.update(changes)
    return AuditEvent(**fields)


# --- the canonical encoding -------------------------------------------------------

FIXED_EVENT = AuditEvent(
    occurred_at=datetime(2026, 11, 28, 16, 30, 5, 123456, tzinfo=CST),
    actor_id="officer-3107",
    actor_type="officer",
    assurance="high",
    action="licence.verify",
    resource_type="driving_licence",
    resource_id="GD-2026-000042",
    service="traffic-police",
    client_address="203.0.113.7",
    outcome="denied",
    reason="licence suspended",
    correlation_id="req-8c1f",
    details={"ref": None, "online": True, "note": "窗口 3", "attempt": 2},
)

#: The exact leaf bytes of FIXED_EVENT: canonical JSON, keys sorted at every level,
#: no whitespace, UTF-8 (no \\u escapes), time in UTC with six fraction digits.
FIXED_ENTRY = (
    '{"action":"licence.verify",'
    '"actor":{"assurance":"high","id":"officer-3107","type":"officer"},'
    '"client_address":"203.0.113.7",'
    '"correlation_id":"req-8c1f",'
    '"details":{"attempt":2,"note":"窗口 3","online":true,"ref":null},'
    '"outcome":"denied",'
    '"personal":["actor_id","client_address"],'
    '"reason":"licence suspended",'
    '"resource":{"id":"GD-2026-000042","type":"driving_licence"},'
    '"service":"traffic-police",'
    '"time":"2026-11-28T08:30:05.123456Z",'
    '"type":"govkit.audit.event/v1"}'
).encode()


def test_fixed_event_encodes_to_the_documented_bytes() -> None:
    assert encode_entry(FIXED_EVENT) == FIXED_ENTRY


def test_fixed_event_leaf_hash_is_sha256_of_zero_byte_and_entry() -> None:
    assert leaf_hash(encode_entry(FIXED_EVENT)) == hashlib.sha256(b"\x00" + FIXED_ENTRY).digest()


def test_fixed_entry_decodes_to_the_same_event() -> None:
    event = decode_entry(FIXED_ENTRY)
    assert event == FIXED_EVENT
    assert event.outcome is Outcome.DENIED
    assert dict(event.details) == {"attempt": 2, "note": "窗口 3", "online": True, "ref": None}


def test_encoding_is_independent_of_insertion_order_and_input_types() -> None:
    same = AuditEvent(
        occurred_at=datetime(2026, 11, 28, 8, 30, 5, 123456, tzinfo=UTC),
        actor_id="officer-3107",
        actor_type="officer",
        assurance="high",
        action="licence.verify",
        resource_type="driving_licence",
        resource_id="GD-2026-000042",
        service="traffic-police",
        client_address="203.0.113.7",
        outcome=Outcome.DENIED,
        reason="licence suspended",
        correlation_id="req-8c1f",
        details={"attempt": 2, "note": "窗口 3", "online": True, "ref": None},
        personal=["client_address", "actor_id"],  # type: ignore[arg-type]
    )
    assert encode_entry(same) == FIXED_ENTRY
    assert encode_entry(FIXED_EVENT) == encode_entry(FIXED_EVENT)


def test_every_encoded_key_is_named_in_the_encoding_docs() -> None:
    doc = encode_entry.__doc__ or ""
    keys = json.loads(FIXED_ENTRY)
    assert set(keys) == {
        "type", "time", "actor", "action", "resource", "service", "client_address",
        "outcome", "reason", "correlation_id", "details", "personal",
    }  # fmt: skip
    for key in keys:
        assert f'"{key}"' in doc, key
    assert "ffffffZ" in doc


def test_absent_optional_values_encode_as_null() -> None:
    doc = json.loads(encode_entry(make(personal=frozenset())))
    assert doc["resource"] == {"type": "driving_licence", "id": None}
    assert doc["actor"]["assurance"] is None
    assert doc["service"] is None
    assert doc["reason"] is None
    assert doc["details"] == {}
    assert doc["personal"] == []
    assert doc["type"] == ENTRY_TYPE


def test_replacements_change_only_the_named_fields() -> None:
    masked = encode_entry(FIXED_EVENT, {"actor_id": "hmac-sha256:AAAA"})
    assert masked == FIXED_ENTRY.replace(b'"officer-3107"', b'"hmac-sha256:AAAA"')


def test_to_dict_is_the_decoded_entry() -> None:
    assert FIXED_EVENT.to_dict() == json.loads(FIXED_ENTRY)


# --- time ------------------------------------------------------------------------------


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        make(occurred_at=datetime(2026, 11, 28, 9, 0))


def test_a_string_is_not_a_time() -> None:
    with pytest.raises(NaiveDatetimeError):
        make(occurred_at="2026-11-28T09:00:00Z")


def test_microseconds_are_stored_exactly_as_hashed() -> None:
    event = make(occurred_at=datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC))
    data = encode_entry(event)
    assert b'"time":"2026-11-28T12:00:00.123456Z"' in data
    back = decode_entry(data)
    assert back.occurred_at == datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)
    assert back.occurred_at.microsecond == 123456
    assert encode_entry(back) == data


def test_whole_seconds_still_carry_six_fraction_digits() -> None:
    assert b'"time":"2026-11-28T09:00:00.000000Z"' in encode_entry(make())


def test_plus_eight_hours_is_normalised_to_utc() -> None:
    event = make(occurred_at=datetime(2026, 11, 28, 20, 0, 0, 1, tzinfo=CST))
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.occurred_at == datetime(2026, 11, 28, 12, 0, 0, 1, tzinfo=UTC)
    assert b'"time":"2026-11-28T12:00:00.000001Z"' in encode_entry(event)
    same_instant = make(occurred_at=datetime(2026, 11, 28, 12, 0, 0, 1, tzinfo=UTC))
    assert encode_entry(event) == encode_entry(same_instant)


def test_year_before_1000_is_zero_padded_so_the_entry_decodes() -> None:
    """Regression: strftime's %Y wrote "5-01-01..." which decode_entry then refused."""
    event = make(occurred_at=datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    data = encode_entry(event)
    assert b'"time":"0005-01-02T03:04:05.000006Z"' in data
    assert decode_entry(data) == event


# --- validation ----------------------------------------------------------------------

BAD_NAMES = [
    "",
    "Licence.issue",
    "licence issue",
    "1licence",
    "_licence",
    "licence.issue\n",
    "licence;drop",
    "licénce.issue",
    "a" * 129,
    None,
    7,
]


@pytest.mark.parametrize("field", ["action", "actor_type", "resource_type"])
@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_malformed_name_is_refused(field: str, bad: Any) -> None:
    with pytest.raises(AuditEventInvalid):
        make(**{field: bad})


@pytest.mark.parametrize("good", ["a", "licence.issue", "cert/revoke:v2", "x-y_z", "a" * 128])
def test_well_formed_action_names_are_accepted(good: str) -> None:
    assert make(action=good).action == good


TEXT_FIELDS = ["actor_id", "resource_id", "service", "client_address", "reason", "correlation_id"]
CONTROL_CHARACTERS = ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\x9f"]


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=repr)
def test_log_injection_by_control_character_is_refused(field: str, char: str) -> None:
    with pytest.raises(AuditEventInvalid):
        make(**{field: f"value{char}forged line"})


@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=repr)
def test_log_injection_by_control_character_in_details_is_refused(char: str) -> None:
    with pytest.raises(AuditEventInvalid):
        make(details={"note": f"ok{char}injected"})


@pytest.mark.parametrize("field", [*TEXT_FIELDS, "details"])
def test_lone_surrogate_that_cannot_be_encoded_is_refused(field: str) -> None:
    """Regression: a lone surrogate passed validation and then broke encode_entry."""
    value = {"note": "a\ud800b"} if field == "details" else "a\ud800b"
    with pytest.raises(AuditEventInvalid):
        make(**{field: value})


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_oversize_text_field_is_refused(field: str) -> None:
    assert getattr(make(**{field: "x" * 1024}), field) == "x" * 1024
    with pytest.raises(AuditEventInvalid):
        make(**{field: "x" * 1025})


def test_oversize_entry_is_refused_when_encoded() -> None:
    """Each value may be 1024 characters, but the whole entry must fit in 65535 bytes."""
    big = make(details={f"k{i}": "𝄞" * 1024 for i in range(64)})  # 4 bytes each in UTF-8
    with pytest.raises(AuditEventInvalid, match="65535"):
        encode_entry(big)


@pytest.mark.parametrize("value", ["", None])
def test_missing_actor_is_refused(value: Any) -> None:
    with pytest.raises(AuditEventInvalid):
        make(actor_id=value)


@pytest.mark.parametrize("field", ["resource_id", "service", "client_address", "reason"])
def test_optional_text_must_be_a_string(field: str) -> None:
    with pytest.raises(AuditEventInvalid):
        make(**{field: 42})


@pytest.mark.parametrize(
    "details",
    [
        {"ratio": 1.5},
        {"items": [1, 2]},
        {"nested": {"a": 1}},
        {"raw": b"bytes"},
        {"pair": (1, 2)},
        {"big": 2**63},
        {"small": -(2**63) - 1},
        {"Bad Key": 1},
        {"": 1},
        {1: "int key"},
        {f"k{i}": i for i in range(65)},
        [("a", 1)],
        "not a mapping",
    ],
    ids=repr,
)
def test_details_of_unsupported_type_or_shape_are_refused(details: Any) -> None:
    with pytest.raises(AuditEventInvalid):
        make(details=details)


def test_details_of_supported_types_are_kept() -> None:
    details = {
        "s": "text",
        "i": -(2**63),
        "j": 2**63 - 1,
        "t": True,
        "f": False,
        "n": None,
        **{f"k{i}": i for i in range(58)},
    }
    event = make(details=details)
    assert dict(event.details) == details
    assert decode_entry(encode_entry(event)) == event


def test_details_are_frozen_and_detached_from_the_callers_dict() -> None:
    source: dict[str, Any] = {"a": 1}
    event = make(details=source)
    source["a"] = 2
    assert event.details["a"] == 1
    with pytest.raises(TypeError):
        event.details["a"] = 3  # type: ignore[index]


@pytest.mark.parametrize(
    "personal",
    [{"reason"}, {"service"}, {"actor_id", "details"}, "actor_id", {"correlation_id"}],
    ids=repr,
)
def test_personal_outside_the_allowed_fields_is_refused(personal: Any) -> None:
    with pytest.raises(AuditEventInvalid, match="personal"):
        make(personal=personal)


@pytest.mark.parametrize("personal", [set(), {"resource_id"}, set(PERSONAL_FIELDS)], ids=repr)
def test_personal_from_the_allowed_fields_is_accepted(personal: set[str]) -> None:
    assert make(personal=personal).personal == frozenset(personal)


def test_default_personal_fields_are_actor_and_client_address() -> None:
    assert make().personal == frozenset({"actor_id", "client_address"})
    assert frozenset({"actor_id", "resource_id", "client_address"}) == PERSONAL_FIELDS


@pytest.mark.parametrize("outcome", ["success", "failure", "denied", "error", Outcome.ERROR])
def test_known_outcomes_are_accepted(outcome: Any) -> None:
    assert make(outcome=outcome).outcome == Outcome(outcome)


@pytest.mark.parametrize("outcome", ["ok", "SUCCESS", "", "success ", None, 1])
def test_unknown_outcome_is_refused(outcome: Any) -> None:
    with pytest.raises(AuditEventInvalid, match="outcome"):
        make(outcome=outcome)


@pytest.mark.parametrize("assurance", ["medium", "HIGH", "", 3])
def test_unknown_assurance_is_refused(assurance: Any) -> None:
    with pytest.raises(AuditEventInvalid, match="assurance"):
        make(assurance=assurance)


def test_events_are_frozen_and_hashable() -> None:
    event = make()
    with pytest.raises(AttributeError):
        event.action = "licence.revoke"  # type: ignore[misc]
    assert len({event, make(), make(action="licence.revoke")}) == 2


# --- decoding stored entries -----------------------------------------------------------


def _tamper(old: str, new: str) -> bytes:
    assert FIXED_ENTRY.count(old.encode()) == 1, old
    return FIXED_ENTRY.replace(old.encode(), new.encode())


NON_CANONICAL = {
    "space_after_colon": _tamper('"action":"', '"action": "'),
    "space_after_comma": _tamper('","actor"', '", "actor"'),
    "trailing_newline": FIXED_ENTRY + b"\n",
    "leading_space": b" " + FIXED_ENTRY,
    "pretty_printed": json.dumps(json.loads(FIXED_ENTRY), indent=2, ensure_ascii=False).encode(),
    "keys_reordered_type_first": json.dumps(
        {"type": ENTRY_TYPE, **{k: v for k, v in json.loads(FIXED_ENTRY).items() if k != "type"}},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode(),
    "nested_keys_reordered": _tamper(
        '{"id":"GD-2026-000042","type":"driving_licence"}',
        '{"type":"driving_licence","id":"GD-2026-000042"}',
    ),
    "non_ascii_escaped": _tamper("窗口", "\\u7a97\\u53e3"),
    "slash_escaped": _tamper("licence.verify", "licence\\u002everify"),
    "personal_unsorted": _tamper('["actor_id","client_address"]', '["client_address","actor_id"]'),
    "time_without_fraction": _tamper("08:30:05.123456Z", "08:30:05Z"),
    "time_with_offset": _tamper("08:30:05.123456Z", "16:30:05.123456+08:00"),
    "time_with_three_digit_fraction": _tamper("08:30:05.123456Z", "08:30:05.123Z"),
    "integer_written_as_float": _tamper('"attempt":2', '"attempt":2.0'),
    "integer_with_exponent": _tamper('"attempt":2', '"attempt":2e0'),
    "duplicate_key": _tamper('"action":"licence.verify"', '"action":"x","action":"licence.verify"'),
}


@pytest.mark.parametrize("data", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_non_canonical_entry_bytes_are_rejected(data: bytes) -> None:
    assert data != FIXED_ENTRY
    assert json.loads(data)  # still JSON a lax parser would accept
    with pytest.raises(LeafMismatch):
        decode_entry(data)


@pytest.mark.parametrize(
    "marker",
    ["govkit.audit.event/v2", "govkit.identity.token/v1", "govkit.audit.evidence/v1", ""],
)
def test_entry_claiming_another_type_is_rejected(marker: str) -> None:
    with pytest.raises(LeafMismatch, match="not a govkit audit event"):
        decode_entry(_tamper('"type":"govkit.audit.event/v1"', f'"type":"{marker}"'))


def test_entry_without_type_marker_is_rejected() -> None:
    with pytest.raises(LeafMismatch):
        decode_entry(_tamper(',"type":"govkit.audit.event/v1"', ""))


MALFORMED = {
    "empty": b"",
    "json_null": b"null",
    "json_array": b"[]",
    "bare_type_string": b'"govkit.audit.event/v1"',
    "not_utf8": b"\xff\xfe",
    "truncated": FIXED_ENTRY[:-1],
    "field_missing": _tamper('"reason":"licence suspended",', ""),
    "unknown_outcome": _tamper('"outcome":"denied"', '"outcome":"maybe"'),
    "float_detail": _tamper('"details":{', '"details":{"x":1.5,'),
    "unknown_nested_field": _tamper('"actor":{', '"actor":{"extra":1,'),
    "escaped_newline_injection": _tamper('"id":"officer-3107"', '"id":"officer\\n3107"'),
    "escaped_lone_surrogate": _tamper('"id":"officer-3107"', '"id":"officer\\ud8003107"'),
    "nested_100000_deep": b"[" * 100_000,
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_entry_bytes_are_rejected_as_leaf_mismatch(data: bytes) -> None:
    with pytest.raises(LeafMismatch):
        decode_entry(data)


def test_pseudonymized_entry_decodes_with_the_pseudonym() -> None:
    pseudonym = Pseudonymizer(b"k" * 32)("officer-3107")
    data = encode_entry(FIXED_EVENT, {"actor_id": pseudonym})
    assert decode_entry(data).actor_id == pseudonym
    assert b"officer-3107" not in data


# --- pseudonyms --------------------------------------------------------------------------


def test_pseudonym_is_the_documented_hmac() -> None:
    key = bytes(range(32))
    digest = hmac.new(key, b"440106199001011234", hashlib.sha256).digest()
    expected = "hmac-sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert Pseudonymizer(key)("440106199001011234") == expected
    assert re.fullmatch(r"hmac-sha256:[A-Za-z0-9_-]{43}", expected)


def test_pseudonyms_are_keyed_so_a_dictionary_attack_needs_the_key() -> None:
    one, two = Pseudonymizer(b"a" * 32), Pseudonymizer(b"b" * 32)
    assert one("citizen-7") == Pseudonymizer(b"a" * 32)("citizen-7")
    assert one("citizen-7") != two("citizen-7")
    assert one("citizen-7") != one("citizen-8")
    unkeyed = hashlib.sha256(b"citizen-7").digest()
    assert base64.urlsafe_b64encode(unkeyed).rstrip(b"=").decode() not in one("citizen-7")


@pytest.mark.parametrize("key", [b"", b"k" * 15, "k" * 32, None, bytearray(32)], ids=repr)
def test_short_or_non_bytes_pseudonym_key_is_refused(key: Any) -> None:
    with pytest.raises(AuditEventInvalid):
        Pseudonymizer(key)


def test_sixteen_byte_pseudonym_key_is_the_minimum() -> None:
    assert Pseudonymizer(b"k" * 16)("x").startswith("hmac-sha256:")


def test_pseudonymizer_repr_hides_the_key() -> None:
    key = b"\x13\x37-very-secret-pepper-value!"
    text = repr(Pseudonymizer(key)) + str(Pseudonymizer(key))
    assert "very-secret" not in text
    assert key.hex() not in text
    assert base64.b64encode(key).decode() not in text
    assert text.startswith("Pseudonymizer(<key hidden>)")
