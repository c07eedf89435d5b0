"""GB/T 36904 licence identifiers: ISO 7064 MOD 37,36 check character, layout, corruption.

Vectors and their provenance:

* ``A12425GABC1234002`` -> ``M``: the worked example for ISO/IEC 7064 MOD 37,36,
  reproduced in python-stdnum's ``stdnum.iso7064.mod_37_36`` documentation.
* ``1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U``: a
  real identifier quoted as the format reference in a public provincial interface
  document (see ``../shared/specs/certificates.md``, "China").
* python-stdnum's independent MOD 37,36 implementation, compared on random input.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_37_36

from govkit.certificates._identifier import (
    ROOT_OID,
    LicenceId,
    is_uscc,
    licence_id,
    mod37_36_check,
    parse_licence_id,
)
from govkit.errors import GovkitError, LicenceDataInvalid
from govkit.identity.cn import is_valid_uscc

REAL_ID = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
TYPE_CODE = "11100000000013338W902"
ISSUER = "11440100MB2C92923F"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_iso7064_worked_example() -> None:
    assert mod37_36_check("A12425GABC1234002") == "M"


def test_real_identifier_from_a_public_interface_document_parses() -> None:
    parsed = parse_licence_id(REAL_ID)
    assert parsed == LicenceId("11100000000013338W011", "11430000006122244L", "20230000403", 1, "U")
    assert str(parsed) == REAL_ID
    assert licence_id("11100000000013338W011", "11430000006122244L", "20230000403") == REAL_ID


@given(st.text(alphabet=ALNUM, min_size=1, max_size=80))
def test_check_character_agrees_with_python_stdnum(text: str) -> None:
    assert mod37_36_check(text) == mod_37_36.calc_check_digit(text)


@given(st.text(alphabet=ALNUM, min_size=18, max_size=18))
def test_certificates_uscc_check_agrees_with_identity_cn_on_the_check_character(
    code: str,
) -> None:
    # identity.cn checks more (authority, entity type, GB 11714); certificates check
    # the alphabet, region digits and the GB 32100 check character only (both with
    # the one implementation in govkit._encoding).
    if is_valid_uscc(code):
        assert is_uscc(code)


def test_round_trip() -> None:
    text = licence_id(TYPE_CODE, ISSUER, "4401202600001", 7)
    parsed = parse_licence_id(text)
    assert (parsed.type_code, parsed.issuer_code, parsed.serial, parsed.version) == (
        TYPE_CODE,
        ISSUER,
        "4401202600001",
        7,
    )
    assert text.split(".")[-2] == "007"
    assert str(parsed) == text


@given(
    st.text(alphabet=ALNUM, min_size=1, max_size=64),
    st.integers(min_value=0, max_value=999),
)
def test_round_trip_any_serial_and_version(serial: str, version: int) -> None:
    text = licence_id(TYPE_CODE, ISSUER, serial, version)
    assert str(parse_licence_id(text)) == text


def test_every_single_character_corruption_is_detected() -> None:
    text = licence_id(TYPE_CODE, ISSUER, "4401202600001")
    start = len(ROOT_OID) + 1
    for position in range(start, len(text)):
        if text[position] == ".":
            continue
        for replacement in ALNUM:
            if replacement == text[position]:
                continue
            corrupted = text[:position] + replacement + text[position + 1 :]
            with pytest.raises(LicenceDataInvalid):
                parse_licence_id(corrupted)


def test_every_adjacent_transposition_in_the_serial_is_detected() -> None:
    serial = "20230000403AB9"
    text = licence_id(TYPE_CODE, ISSUER, serial)
    for i in range(len(serial) - 1):
        if serial[i] == serial[i + 1]:
            continue
        swapped = serial[:i] + serial[i + 1] + serial[i] + serial[i + 2 :]
        with pytest.raises(LicenceDataInvalid) as caught:
            parse_licence_id(text.replace(serial, swapped))
        assert caught.value.context["reason"] == "check"


def test_a_wrong_check_character_names_the_reason_and_not_the_identifier() -> None:
    text = REAL_ID[:-1] + "V"
    with pytest.raises(LicenceDataInvalid) as caught:
        parse_licence_id(text)
    assert caught.value.context["reason"] == "check"
    assert caught.value.context["field"] == "id"
    assert "20230000403" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "length"),
        ("1.2.156.3005.3.11100000000013338W011.11430000006122244L.20230000403.001.U", "root"),
        ("11100000000013338W011.11430000006122244L.20230000403.001.U", "root"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.001.U", "layout"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023.X.001.U", "layout"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.01.U", "version"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.0001.U", "version"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.u", "check"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.", "check"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L..001.U", "serial"),
        ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023000040a.001.U", "serial"),
        ("1.2.156.3005.2.11100000000013338W11.11430000006122244L.20230000403.001.U", "type_code"),
        ("1.2.156.3005.2.11100000000013338X011.11430000006122244L.20230000403.001.U", "type_code"),
        (
            "1.2.156.3005.2.11100000000013338W011.11430000006122244M.20230000403.001.U",
            "issuer_code",
        ),
        (" " + REAL_ID, "root"),
        (REAL_ID + " ", "check"),
        (REAL_ID.lower(), "check"),
        (REAL_ID[:60] + "Z" * 200, "length"),
    ],
)
def test_bad_layout_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        parse_licence_id(text)
    assert caught.value.context["reason"] == reason


def test_non_text_is_refused() -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        parse_licence_id(REAL_ID.encode())
    assert caught.value.context["reason"] == "type"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"type_code": "11100000000013338W"}, "type_code"),
        ({"issuer_code": "11440100MB2C92923E"}, "issuer_code"),
        ({"serial": "abc"}, "serial"),
        ({"serial": "A" * 65}, "serial"),
        ({"version": 1000}, "version"),
        ({"version": -1}, "version"),
        ({"version": True}, "version"),
    ],
)
def test_licence_id_refuses_bad_parts(kwargs: dict[str, object], reason: str) -> None:
    args: dict[str, object] = {
        "type_code": TYPE_CODE,
        "issuer_code": ISSUER,
        "serial": "1",
        "version": 1,
    }
    args.update(kwargs)
    with pytest.raises(LicenceDataInvalid) as caught:
        licence_id(**args)  # type: ignore[arg-type]
    assert caught.value.context["reason"] == reason


def test_licence_id_object_checks_its_check_character() -> None:
    with pytest.raises(LicenceDataInvalid):
        LicenceId("11100000000013338W011", "11430000006122244L", "20230000403", 1, "A")


@given(st.text(max_size=200))
def test_parse_arbitrary_text_returns_an_id_or_a_govkit_error(text: str) -> None:
    try:
        parsed = parse_licence_id(text)
    except GovkitError:
        return
    assert str(parsed) == text


@given(st.lists(st.text(alphabet=ALNUM + ".", max_size=25), min_size=1, max_size=7).map(".".join))
def test_parse_near_miss_text_returns_an_id_or_a_govkit_error(tail: str) -> None:
    text = f"{ROOT_OID}.{tail}"
    try:
        parsed = parse_licence_id(text)
    except GovkitError:
        return
    assert str(parsed) == text
