"""The verifier's reads of what the issuer writes leave out only what reading guarantees.

Issue #18 (licence verify CPU time). Each shortcut is compared with the general path it
stands for, on the licences the issuer writes and on damaged ones: the same object, or
the same refusal (error class, code, message and context, so ``field`` and ``reason``).

* :meth:`Licence.from_claims` given the ``_ReadClaims`` that ``_fixed_licence_claims``
  makes leaves out the checks of the map's shape (keys, texts, pairs, value types), which
  reading those exact bytes already made; every other check runs, in the same order;
* :meth:`LicenceType._plainly_normalised` says ``True`` only when
  :meth:`LicenceType._normalised` would neither raise nor change a value;
* ``codec._fixed_sign1`` reads the usual layout of a message in place, and returns what
  reading each element's head returns; ``codec._read_times`` reads three 4-byte
  NumericDates in one unpack, and returns what reading each head returns.
"""

from __future__ import annotations

import dataclasses
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from govkit._encoding import b45decode, mod37_36_check_character
from govkit.certificates import (
    LICENCE_CLAIM,
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    Licence,
    LicenceRegistry,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    codec,
    load_status_list,
    sign_status_list,
)
from govkit.certificates import _verifier as verifier_module
from govkit.certificates._model import _check_value_kinds, _ReadClaims
from govkit.certificates._types import FieldSpec, parse_iso_date, standard_types
from govkit.errors import GovkitError, LicenceDataInvalid
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
POLICE = Agency("广东省公安厅交通管理局", "114400000069445123")
OTHER = Agency("广州市公安局交通警察支队", "11440100MB2C92923F")
REGISTRY = LicenceRegistry.default()
DRIVING = REGISTRY.get("driving-licence")
KEY = SigningKey.generate("ES256")
SOME = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELDS = {
    "name": "张三丰",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}


def _ident(
    type_code: str, uscc: str, serial: str = "4401202600001", check: str | None = None
) -> str:
    """An identifier without the root arc, with its check character unless given one."""
    body = f"{type_code}{uscc}{serial}001"
    check = check if check is not None else mod37_36_check_character(body) or "0"
    return f"{type_code}.{uscc}.{serial}.001.{check}"


_GOOD_ID = _ident(DRIVING.type_code, POLICE.uscc)
_IDS = st.sampled_from(
    [
        _GOOD_ID,
        _ident(DRIVING.type_code, POLICE.uscc, serial="7"),
        _ident(DRIVING.type_code, OTHER.uscc),  # another agency than the trusted one
        _ident(DRIVING.type_code, POLICE.uscc, check="0" if not _GOOD_ID.endswith("0") else "1"),
        _ident(REGISTRY.get("passport").type_code, POLICE.uscc),  # another type
        _ident("11100000000013338W999", POLICE.uscc),  # no such type
        _ident(DRIVING.type_code, "114400000069445124"),  # a bad USCC
        _ident(DRIVING.type_code, POLICE.uscc, serial="abc"),
        _GOOD_ID.replace(".001.", ".01."),
        _GOOD_ID + ".1",
        "",
    ]
)
_TEXTS = st.sampled_from(
    [
        "张三丰",
        "C1",
        "Z9",
        "2015-06-01",
        "2015-02-30",
        "440100123456",
        " x",
        "张\u200b",
        "",
        "x" * 40,
    ]
)
_VALUES = st.one_of(
    _TEXTS,
    st.none(),
    st.booleans(),
    st.integers(0, 2**64 - 1),
    st.text(max_size=20),
)
_MOMENTS = st.one_of(
    st.dates(date(2000, 1, 1), date(2040, 1, 1)).map(date.isoformat),
    st.sampled_from(["2026-02-30", "2026-1-01", "", "2031-06-01"]),
    st.integers(0, 2**40),
    st.booleans(),
    st.none(),
)
_HOLDERS = st.tuples(
    st.sampled_from(["p", "m", "r", "x", ""]),
    st.sampled_from(
        ["p-3f9a1c07d2", "short", "110**************X", "11010519491231002X", "A" * 130]
    ),
)


@st.composite
def licence_maps(draw: st.DrawFn) -> dict[str, Any]:
    """A licence claims map of the issuer's shape, whole or with some parts damaged."""
    values: list[Any] = ["张三丰", "C1", None, "2015-06-01", "440100123456"]
    if draw(st.integers(0, 2)) == 0:  # damage: each part in about one map of three
        for _ in range(draw(st.integers(1, 3))):
            values[draw(st.integers(0, 4))] = draw(_VALUES)
    if draw(st.integers(0, 9)) == 0:
        values = draw(st.lists(_VALUES, max_size=7))
    damaged = [draw(st.integers(0, 2)) == 0 for _ in range(3)]
    licence: dict[str, Any] = {
        "f": values,
        "h": list(draw(_HOLDERS)) if damaged[0] else ["p", "p-3f9a1c07d2"],
        "i": draw(_IDS) if damaged[1] else _GOOD_ID,
        "v": [draw(_MOMENTS), draw(_MOMENTS)] if damaged[2] else ["2021-06-01", "2031-06-01"],
    }
    if draw(st.integers(0, 4)):
        licence["s"] = draw(st.one_of(st.integers(0, 63), st.integers(0, 2**33)))
    return licence


def _claims_bytes(licence: dict[str, Any]) -> bytes:
    return cbor2.dumps(
        {
            codec.EXP: 1938095999,
            codec.NBF: 1622476800,
            codec.IAT: 1796503914,
            LICENCE_CLAIM: licence,
        },
        canonical=True,
    )


def _outcome(claims: Any, agency: Agency = POLICE) -> tuple[Any, ...]:
    """The licence built, or the refusal: class, code, message and context."""
    try:
        return ("ok", Licence.from_claims(claims, REGISTRY, agency_name=agency.name, agency=agency))
    except GovkitError as exc:
        return ("refused", type(exc), exc.code, exc.message, dict(exc.context))


# --- Licence.from_claims on what the reader read ----------------------------------------


@SOME
@given(licence_maps(), st.sampled_from([POLICE, OTHER]))
def test_read_claims_build_the_licence_plain_claims_build_or_are_refused_alike(
    licence: dict[str, Any], agency: Agency
) -> None:
    read = verifier_module._fixed_licence_claims(_claims_bytes(licence))
    if read is None:  # beyond what the reader reads: the general path alone
        event("left to the canonical decoder")
        return
    read_licence = read[LICENCE_CLAIM]
    assert type(read_licence) is _ReadClaims
    assert read_licence == licence
    fast = _outcome(read_licence, agency)
    event(f"{fast[0]}: {fast[4].get('reason') if fast[0] == 'refused' else ''}")
    assert fast == _outcome(dict(read_licence), agency)
    assert fast == _outcome(licence, agency)


def test_the_issuers_licence_is_read_and_built_by_the_shortcut() -> None:
    issuer = CertificateIssuer(
        KEY, agency=POLICE, clock=FixedClock(T0), status=StatusList(64, list_id="l")
    )
    issued = issuer.issue(
        "driving-licence",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields=FIELDS,
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    read = verifier_module._fixed_licence_claims(codec.decode(issued.qr_payload).payload)
    assert read is not None
    assert type(read[LICENCE_CLAIM]) is _ReadClaims
    licence = Licence.from_claims(
        read[LICENCE_CLAIM], REGISTRY, agency_name=POLICE.name, agency=POLICE
    )
    assert licence == issued.licence
    assert type(licence.fields) is type(issued.licence.fields)


def test_a_plain_dict_of_the_wrong_shape_is_still_refused_for_its_shape() -> None:
    """Only a _ReadClaims leaves the shape checks out; a dict with its keys does not."""
    claims = {
        "f": [1, 2, 3, 4, 5.5],
        "h": ["p", 7],
        "i": _GOOD_ID,
        "v": ["2021-06-01", "2031-06-01"],
    }
    with pytest.raises(LicenceDataInvalid) as caught:
        Licence.from_claims(claims, REGISTRY, agency_name=POLICE.name, agency=POLICE)
    assert caught.value.context["reason"] == "kind"
    assert caught.value.context["field"] == "holder"


# --- through the verifier: damaged licences, signed -------------------------------------


def _verifier() -> CertificateVerifier:
    trust = TrustList(
        (TrustedIssuer(POLICE, (TrustedKey.for_key(KEY.verifying_key, {"driving-licence"}),)),),
        1,
        T0 - timedelta(days=1),
        T0 + timedelta(days=3650),
    )
    signed = sign_status_list(
        StatusList(64, list_id="gd"),
        KEY,
        issued_at=T0,
        expires_at=T0 + timedelta(days=365),
        sequence=1,
    )
    status = load_status_list(signed, [KEY.verifying_key], at=T0)
    return CertificateVerifier(trust, status=status, clock=FixedClock(T0))


def _plain_reader(payload: bytes) -> dict[int | str, Any] | None:
    """The fixed reader with its licence map handed on as a plain dict (the general path)."""
    read = _ORIGINAL_READER(payload)
    if read is not None:
        read[LICENCE_CLAIM] = dict(read[LICENCE_CLAIM])
    return read


_ORIGINAL_READER = verifier_module._fixed_licence_claims


def _verdicts(verifier: CertificateVerifier, text: str) -> tuple[Any, ...]:
    try:
        found: Any = verifier.verify(text).licence
    except GovkitError as exc:
        found = (type(exc), exc.code, exc.message, dict(exc.context))
    report = verifier.inspect(text)
    return found, report.checks


@FEW
@given(licence_maps())
def test_verifier_refuses_damaged_licences_alike_with_and_without_the_shortcut(
    licence: dict[str, Any],
) -> None:
    claims = {codec.EXP: int(T0.timestamp()) + 86400, codec.NBF: int(T0.timestamp()) - 86400}
    claims |= {codec.IAT: int(T0.timestamp()) - 60, LICENCE_CLAIM: licence}
    text = codec.encode(claims, KEY, kid=codec.cose_kid(KEY.verifying_key))
    verifier = _verifier()
    fast = _verdicts(verifier, text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verifier_module, "_fixed_licence_claims", _plain_reader)
        general = _verdicts(_verifier(), text)
    event("verified" if isinstance(fast[0], Licence) else f"refused: {fast[0][1]}")
    assert fast == general


def test_verifier_refusal_of_a_bad_field_keeps_its_code_field_and_reason() -> None:
    licence = {
        "f": ["张三丰", "Z9", None, "2015-06-01", "440100123456"],
        "h": ["p", "p-3f9a1c07d2"],
        "i": _GOOD_ID,
        "s": 1,
        "v": ["2021-06-01", "2031-06-01"],
    }
    claims = {codec.EXP: int(T0.timestamp()) + 86400, codec.NBF: int(T0.timestamp()) - 86400}
    claims |= {codec.IAT: int(T0.timestamp()) - 60, LICENCE_CLAIM: licence}
    text = codec.encode(claims, KEY, kid=codec.cose_kid(KEY.verifying_key))
    assert verifier_module._fixed_licence_claims(codec.decode(text).payload) is not None
    with pytest.raises(GovkitError) as caught:
        _verifier().verify(text)
    assert caught.value.code == "certificate.format"
    assert caught.value.context["reason"] == "licence"
    assert caught.value.context["field"] == "licence_class"
    assert caught.value.context["detail"] == LicenceDataInvalid.code


# --- fields plainly in normal form -------------------------------------------------------

_FIELD_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["张三丰", " x", "x ", "a\u00a0b", "a\nb", "\u200b", "C1", "男", "正常"]),
    st.dates().map(date.isoformat),
    st.sampled_from(["2015-02-30", "2015-6-01", "20150601"]),
    st.integers(-(2**54), 2**54),
    st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53)]),
    st.booleans(),
    st.none(),
)


def _fitting(spec: Any) -> st.SearchStrategy[Any]:
    """Values of ``spec``'s kind, mostly fitting it, some just outside."""
    if spec.kind == "text":
        clean = st.text(st.characters(categories=["L", "N", "P"]), min_size=1)
        return st.one_of(
            clean.filter(lambda t: len(t) <= spec.max_length),
            clean.map(lambda t: t[: spec.max_length]),
            st.text(max_size=spec.max_length + 1),
        )
    if spec.kind == "enum":
        return st.one_of(st.sampled_from(spec.choices), st.text(max_size=3))
    if spec.kind == "date":
        return st.one_of(st.dates().map(date.isoformat), st.sampled_from(["2015-02-30", "1-1-1"]))
    if spec.kind == "int":
        return st.one_of(st.integers(-(2**53) + 1, 2**53 - 1), st.integers(-(2**54), 2**54))
    return st.booleans()


@SOME
@given(st.sampled_from(standard_types()), st.data())
def test_fields_plainly_normalised_are_what_normalising_leaves_alone(
    licence_type: Any, data: st.DataObject
) -> None:
    fields: dict[str, Any] = {}
    for spec in licence_type.fields:
        if data.draw(st.integers(0, 19)) == 0:
            continue  # left out
        odd = data.draw(st.integers(0, 29)) == 0
        fields[spec.name] = data.draw(_FIELD_VALUES if odd else _fitting(spec))
    plain = licence_type._plainly_normalised(fields)
    event(f"plainly normalised: {plain}")
    if plain:
        assert licence_type._normalised(fields) == fields
    else:  # the general check decides: it refuses, or finds the fields normalised
        try:
            normalised = licence_type._normalised(fields)
        except LicenceDataInvalid:
            event("refused by the general check")
        else:
            event("normalised, by the general check")
            assert normalised == fields


def test_the_issuers_fields_are_plainly_normalised() -> None:
    assert DRIVING._plainly_normalised(dict(DRIVING.validate(FIELDS)))
    assert not DRIVING._plainly_normalised({"name": "张三丰"})  # required fields missing


# --- the COSE message and the time claims, read in place ----------------------------------


def _generic_sign1(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """``_fixed_sign1`` by reading each element's head (what it did before its shortcut)."""
    if data[:2] != b"\xd2\x84":
        return None
    protected = codec._read_bstr(data, 2)
    if protected is None or data[protected[1] : protected[1] + 1] != b"\xa0":
        return None
    payload = codec._read_bstr(data, protected[1] + 1)
    if payload is None:
        return None
    signature = codec._read_bstr(data, payload[1])
    if signature is None or signature[1] != len(data):
        return None
    return protected[0], payload[0], signature[0]


_EDITS = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 800), st.integers(0, 255)), max_size=3
)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for op, where, value in edits:
        if op == 0 and out:
            out[where % len(out)] = value
        elif op == 1:
            out.insert(where % (len(out) + 1), value)
        elif out:
            del out[where % len(out)]
    return bytes(out)


def _bstr(data: bytes, width: int) -> bytes:
    """A byte string with a head of ``width`` length bytes (0: in the head if it fits),
    the shortest or not."""
    if width == 0 and len(data) < 24:
        return bytes([0x40 + len(data)]) + data
    width = max(width, (len(data).bit_length() + 7) // 8, 1)
    width = next(w for w in (1, 2, 4) if w >= width)
    code = {1: 0x58, 2: 0x59, 4: 0x5A}[width]
    return bytes([code]) + len(data).to_bytes(width, "big") + data


_WIDTHS = st.sampled_from([0, 0, 0, 1, 2, 4])


@SOME
@given(
    st.integers(0, 30),
    st.one_of(st.integers(0, 300), st.sampled_from([23, 24, 255, 256, 257, 700])),
    st.sampled_from([0, 63, 64, 65, 66]),
    st.tuples(_WIDTHS, _WIDTHS, _WIDTHS),
    _EDITS,
)
def test_message_read_in_place_is_what_reading_each_head_gives(
    protected: int,
    payload: int,
    signature: int,
    widths: tuple[int, int, int],
    edits: list[tuple[int, int, int]],
) -> None:
    """Heads of every width, the shortest or not, then a few bytes changed."""
    parts = [b"p" * protected, b"c" * payload, b"s" * signature]
    message = b"\xd2\x84" + _bstr(parts[0], widths[0]) + b"\xa0"
    message += _bstr(parts[1], widths[1]) + _bstr(parts[2], widths[2])
    data = _mutate(message, edits)
    assert codec._fixed_sign1(data) == _generic_sign1(data)


@pytest.mark.parametrize(
    ("payload", "head"),
    [
        (b"c" * 5, b"\x58\x05"),  # 5 bytes with a 1-byte length
        (b"c" * 23, b"\x58\x17"),
        (b"c" * 200, b"\x59\x00\xc8"),  # 200 bytes with a 2-byte length
        (b"c" * 255, b"\x59\x00\xff"),
    ],
)
def test_message_with_a_payload_head_not_the_shortest_misses_the_shortcut(
    payload: bytes, head: bytes
) -> None:
    data = b"\xd2\x84\x4d" + b"p" * 13 + b"\xa0" + head + payload + b"\x58\x40" + b"s" * 64
    assert codec._fixed_sign1(data) is None
    assert _generic_sign1(data) is None


def test_the_issuers_message_is_read_in_place() -> None:
    text = codec.encode({codec.EXP: 1938095999}, KEY, kid=codec.cose_kid(KEY.verifying_key))
    data = zlib.decompress(b45decode(text.removeprefix("GK1:")))
    message = codec.decode(text)
    found = codec._fixed_sign1(data)
    assert found is not None
    assert found == _generic_sign1(data)
    assert found[1:] == (message.payload, message.signature)


def _generic_times(payload: bytes) -> tuple[int, int, int, int] | None:
    """``_read_times`` by reading each head (what it did before its shortcut)."""
    if payload[:2] != b"\xa4\x04":
        return None
    exp = codec._read_time(payload, 2)
    if exp is None or payload[exp[1] : exp[1] + 1] != b"\x05":
        return None
    nbf = codec._read_time(payload, exp[1] + 1)
    if nbf is None or payload[nbf[1] : nbf[1] + 1] != b"\x06":
        return None
    iat = codec._read_time(payload, nbf[1] + 1)
    if iat is None:
        return None
    return exp[0], nbf[0], iat[0], iat[1]


_TIMES = st.one_of(
    st.integers(0, 2**64 - 1),
    st.sampled_from([0, 23, 24, 255, 256, 0xFFFF, 0x10000, 2**32 - 1, 2**32]),
)


def _uint(value: int, width: int) -> bytes:
    """An unsigned integer with a head of ``width`` bytes (0: in the head if it fits),
    the shortest or not."""
    if width == 0 and value < 24:
        return bytes([value])
    width = max(width, (value.bit_length() + 7) // 8, 1)
    width = next(w for w in (1, 2, 4, 8) if w >= width)
    return bytes([0x18 + {1: 0, 2: 1, 4: 2, 8: 3}[width]]) + value.to_bytes(width, "big")


@SOME
@given(
    st.tuples(_TIMES, _TIMES, _TIMES),
    st.tuples(*[st.sampled_from([0, 1, 2, 4, 4, 4, 8])] * 3),
    st.binary(max_size=4),
    _EDITS,
)
def test_time_claims_read_at_once_are_what_reading_each_head_gives(
    times: tuple[int, int, int],
    widths: tuple[int, int, int],
    rest: bytes,
    edits: list[tuple[int, int, int]],
) -> None:
    """Heads of every width, the shortest or not, then a few bytes changed."""
    exp, nbf, iat = (_uint(t, w) for t, w in zip(times, widths, strict=True))
    payload = _mutate(b"\xa4\x04" + exp + b"\x05" + nbf + b"\x06" + iat + rest, edits)
    assert codec._read_times(payload) == _generic_times(payload)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_time_claim_in_a_4_byte_head_below_65536_misses_the_shortcut(which: int) -> None:
    values = [b"\x1a\x70\x00\x00\x00"] * 3
    values[which] = b"\x1a\x00\x00\xff\xff"  # 65,535 fits in a 2-byte head
    payload = b"\xa4\x04" + values[0] + b"\x05" + values[1] + b"\x06" + values[2] + b"\x07\x00"
    assert codec._read_times(payload) is None
    assert _generic_times(payload) is None


# --- the plain claims' value checks (mutation survivors of Licence.from_claims) ----------


def _plain_licence(**changes: Any) -> dict[str, Any]:
    licence: dict[str, Any] = {
        "f": ["张三丰", "C1", None, "2015-06-01", "440100123456"],
        "h": ["p", "p-3f9a1c07d2"],
        "i": _GOOD_ID,
        "s": 1,
        "v": ["2021-06-01", "2031-06-01"],
    }
    licence.update(changes)
    return licence


@pytest.mark.parametrize(
    ("at", "value", "field"),
    [(0, 1.5, "name"), (4, [1], "file_number"), (1, b"C1", "licence_class")],
)
def test_licence_with_a_field_value_of_no_wire_kind_is_refused_with_its_field(
    at: int, value: Any, field: str
) -> None:
    values: list[Any] = ["张三丰", "C1", None, "2015-06-01", "440100123456"]
    values[at] = value
    with pytest.raises(LicenceDataInvalid) as caught:
        Licence.from_claims(
            _plain_licence(f=values), REGISTRY, agency_name=POLICE.name, agency=POLICE
        )
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.message == "field values are text, int or bool"
    assert caught.value.context == {"field": field, "reason": "kind"}


def test_value_kind_refusal_names_no_field_that_is_not_a_field_name() -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        _check_value_kinds({"A b": {}}, False, None)
    assert caught.value.context == {"field": "?", "reason": "kind"}


@pytest.mark.parametrize("index", [True, False, "1", 1.0, None])
def test_licence_with_a_status_index_not_an_int_is_refused(index: Any) -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        Licence.from_claims(
            _plain_licence(s=index), REGISTRY, agency_name=POLICE.name, agency=POLICE
        )
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.message == "the status index must be an int"
    assert caught.value.context == {"field": "status_index", "reason": "kind"}


@pytest.mark.parametrize("name", ["张\u3000三", "Ann\u00a0Lee", "a\u202fb"])
def test_licence_with_clean_text_not_plainly_normalised_is_still_built(name: str) -> None:
    """The general check decides what the shortcut leaves: clean text that is not
    printable (a space other than U+0020 inside) is in normal form, so it is accepted."""
    fields = {**FIELDS, "name": name}
    assert not DRIVING._plainly_normalised(fields)
    assert DRIVING._normalised(fields) == fields
    values = [name, "C1", None, "2015-06-01", "440100123456"]
    for claims in (_plain_licence(f=values), _ReadClaims(_plain_licence(f=values))):
        licence = Licence.from_claims(claims, REGISTRY, agency_name=POLICE.name, agency=POLICE)
        assert licence.fields["name"] == name


@pytest.mark.parametrize(("size", "ok"), [(7, False), (8, True), (128, True), (129, False)])
def test_pseudonym_length_bounds_are_8_and_128(size: int, ok: bool) -> None:
    reference = ("p-3f9a1c07d2_" * 10)[:size]
    if ok:
        assert Holder(reference, "pseudonym").reference == reference
        return
    with pytest.raises(LicenceDataInvalid) as caught:
        Holder(reference, "pseudonym")
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.message == "the holder reference does not fit its kind"
    assert caught.value.context == {"field": "holder", "reason": "format"}


# --- what the shortcuts must still refuse (mutation survivors of this work) --------------


@pytest.mark.parametrize(
    ("claims", "message", "field", "reason"),
    [
        (["i", "h", "v", "f"], "claims must be a map", "claims", "kind"),
        ({k: v for k, v in _plain_licence().items() if k != "v"}, "keys", "claims", "keys"),
        ({**_plain_licence(), "x": 1}, "keys", "claims", "keys"),
        ({**_plain_licence(), "i": 5}, "the identifier must be text", "id", "kind"),
    ],
)
def test_plain_claims_of_the_wrong_shape_are_refused_with_field_and_reason(
    claims: Any, message: str, field: str, reason: str
) -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        Licence.from_claims(claims, REGISTRY, agency_name=POLICE.name, agency=POLICE)
    assert caught.value.code == "certificate.data_invalid"
    if message == "keys":
        message = "claims must have exactly the keys i h v f and optionally s"
    assert caught.value.message == message
    assert caught.value.context == {"field": field, "reason": reason}


@pytest.mark.parametrize("text", ["20150601", "2015-W01-1", "2015W011", "2015-06-01 ", "--"])
def test_iso_date_in_another_iso_form_is_not_a_date(text: str) -> None:
    assert parse_iso_date(text) is None  # date.fromisoformat alone takes some of these


@pytest.mark.parametrize("capital", [2**53, -(2**53), 2**60])
def test_int_field_out_of_range_is_not_plainly_normalised_and_is_refused(capital: int) -> None:
    business = REGISTRY.get("business-licence")
    fields = {
        "company_name": "某某科技有限公司",
        "entity_type": "有限责任公司",
        "legal_representative": "张三",
        "registered_capital": 2**53 - 1,
        "established": "2015-06-01",
        "business_scope": "软件开发",
    }
    assert business._plainly_normalised(fields)  # the edge itself: in range
    fields["registered_capital"] = capital
    assert not business._plainly_normalised(fields)
    with pytest.raises(LicenceDataInvalid) as caught:
        business._normalised(fields)
    assert caught.value.context == {"field": "registered_capital", "reason": "range"}


@pytest.mark.parametrize("value", [1, 0, "true", None])
def test_bool_field_of_another_type_is_not_plainly_normalised(value: Any) -> None:
    donor = FieldSpec("organ_donor", "器官捐献", "Organ donor", "bool")
    flagged = dataclasses.replace(DRIVING, fields=(*DRIVING.fields, donor))
    fields = {**FIELDS, "organ_donor": True}
    assert flagged._plainly_normalised(fields)
    fields["organ_donor"] = value
    assert not flagged._plainly_normalised(fields)


_FIVE = ["张三丰", "C1", None, "2015-06-01", "440100123456"]


@pytest.mark.parametrize(
    ("changes", "message", "field", "reason", "readable"),
    [
        ({"v": "2021-06-01"}, "expected a two-element array", "valid_until", "kind", False),
        (
            {"v": ["2021-02-30", "2031-06-01"]},
            "not a valid YYYY-MM-DD date",
            "valid_from",
            "date",
            True,
        ),
        (
            {"v": ["2021-06-01", True]},
            "validity is YYYY-MM-DD text or integer seconds",
            "valid_until",
            "kind",
            True,
        ),
        ({"v": ["2021-06-01", 2**62]}, "the time is out of range", "valid_until", "range", True),
        (
            {"f": _FIVE[:4]},
            "fields must be a list in the type's field order",
            "fields",
            "kind",
            True,
        ),
        (
            {"f": "张三丰"},
            "fields must be a list in the type's field order",
            "fields",
            "kind",
            False,
        ),
        ({"h": ["x", "p-3f9a1c07d2"]}, "the holder kind is not p, m or r", "holder", "kind", True),
    ],
)
def test_licence_claims_refusals_keep_their_message_field_and_reason(
    changes: dict[str, Any], message: str, field: str, reason: str, readable: bool
) -> None:
    plain = _plain_licence(**changes)
    for claims in (plain, _ReadClaims(plain)) if readable else (plain,):
        with pytest.raises(LicenceDataInvalid) as caught:
            Licence.from_claims(claims, REGISTRY, agency_name=POLICE.name, agency=POLICE)
        assert caught.value.code == "certificate.data_invalid"
        assert caught.value.message == message
        assert caught.value.context == {"field": field, "reason": reason}


@pytest.mark.parametrize("read", [False, True])
def test_status_index_bounds_are_0_and_2_to_the_32_minus_1(read: bool) -> None:
    def build(index: int) -> Licence:
        plain = _plain_licence(s=index)
        claims = _ReadClaims(plain) if read else plain
        return Licence.from_claims(claims, REGISTRY, agency_name=POLICE.name, agency=POLICE)

    assert build(0).status_index == 0
    assert build(2**32 - 1).status_index == 2**32 - 1
    with pytest.raises(LicenceDataInvalid) as caught:
        build(2**32)
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.message == "status_index must be an int from 0 to 2**32 - 1"
    assert caught.value.context == {"field": "status_index", "reason": "range"}


@pytest.mark.parametrize(
    ("reference", "kind", "message", "reason"),
    [
        ("p-3f9a1c07d2", "nope", "holder kind must be pseudonym, masked or raw-id", "kind"),
        (5, "pseudonym", "the holder reference must be text", "format"),
        ("张三", "masked", "the holder reference does not fit its kind", "format"),
        ("*" * 65, "masked", "the holder reference does not fit its kind", "format"),
    ],
)
def test_holder_refusals_keep_their_message_and_reason(
    reference: Any, kind: Any, message: str, reason: str
) -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        Holder(reference, kind)
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.message == message
    assert caught.value.context == {"field": "holder", "reason": reason}


@pytest.mark.parametrize("reference", ["张*", "*" * 64])
def test_masked_holder_with_a_star_in_clean_text_is_accepted(reference: str) -> None:
    assert Holder(reference, "masked").kind == "masked"
