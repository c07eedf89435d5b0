"""One implementation of each identifier check, and it agrees with python-stdnum's.

govkit computes each check character in one place, used by :mod:`govkit.identity.cn`
and :mod:`govkit.certificates` alike:

* GB 11643 resident ID numbers (ISO 7064 MOD 11-2): python-stdnum's
  ``stdnum.cn.ric.calc_check_digit``;
* GB 32100 unified social credit codes, GB 11714 organisation codes and ISO/IEC 7064
  MOD 37,36 (licence identifiers): :mod:`govkit._encoding`, which is faster than
  python-stdnum's functions on the licence verification path.

hypothesis compares every public path with python-stdnum's own implementations
(``stdnum.iso7064.mod_11_2`` is a second, independent MOD 11-2 beside ``stdnum.cn.ric``).
GB 11714 has no python-stdnum module; ``test_uscc.py`` checks it against the formula.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.iso7064 import mod_11_2, mod_37_36

from govkit._encoding import (
    ALNUM_ALPHABET,
    USCC_ALPHABET,
    mod37_36_check_character,
    uscc_check_character,
)
from govkit.certificates._identifier import is_uscc, licence_id, mod37_36_check
from govkit.certificates._types import is_resident_id
from govkit.identity.cn import is_valid_resident_id, is_valid_uscc, parse_uscc

MANY = settings(max_examples=400, deadline=None)
TODAY = date(2026, 1, 1)
GOVKIT = Path(__file__).resolve().parents[4] / "govkit"

DIGITS = "0123456789"
#: Near-identifier text: both alphabets, lower case and characters neither allows.
NEAR = USCC_ALPHABET + "IOSVZabx-_ １"


@MANY
@given(st.text(st.sampled_from(USCC_ALPHABET), min_size=17, max_size=17))
def test_uscc_check_character_agrees_with_python_stdnum(first17: str) -> None:
    assert uscc_check_character(first17) == stdnum_uscc.calc_check_digit(first17)


@MANY
@given(st.text(st.sampled_from(NEAR), max_size=20))
def test_uscc_check_character_is_none_outside_its_domain(text: str) -> None:
    in_domain = len(text) == 17 and all(c in USCC_ALPHABET for c in text)
    assert (uscc_check_character(text) is None) is not in_domain


@st.composite
def usccs(draw: st.DrawFn) -> str:
    """18 characters, often with a correct check character, sometimes with a stray one."""
    first17 = draw(st.text(st.sampled_from(NEAR), min_size=17, max_size=17))
    if draw(st.booleans()) and all(c in USCC_ALPHABET for c in first17):
        return first17 + stdnum_uscc.calc_check_digit(first17)
    return first17 + draw(st.sampled_from(NEAR))


@MANY
@given(usccs())
def test_certificates_uscc_check_agrees_with_python_stdnum(code: str) -> None:
    expected = (
        all(c in USCC_ALPHABET for c in code)
        and code[2:8].isdigit()
        and stdnum_uscc.calc_check_digit(code) == code[17]
    )
    assert is_uscc(code) is expected
    in_alphabet = all(c in USCC_ALPHABET for c in code)
    if in_alphabet and code[:8].isdigit():
        # stdnum also wants characters 1-8 to be digits; where they are, the two agree
        assert is_uscc(code) is stdnum_uscc.is_valid(code)


@MANY
@given(usccs())
def test_identity_uscc_is_never_valid_where_python_stdnum_finds_a_bad_check(code: str) -> None:
    # parse_uscc checks more (authority, entity type, GB 11714), never less
    if is_valid_uscc(code):
        assert stdnum_uscc.calc_check_digit(code.upper()) == code.upper()[17]
        assert is_uscc(parse_uscc(code).code)


@MANY
@given(
    body=st.text(st.sampled_from(USCC_ALPHABET), min_size=8, max_size=8),
    check=st.sampled_from(USCC_ALPHABET),
)
def test_identity_uscc_check_digit_verdict_is_python_stdnums(body: str, check: str) -> None:
    organisation = body + _organisation_check(body)
    first17 = "91" + "440300" + organisation
    valid = stdnum_uscc.calc_check_digit(first17) == check
    assert is_valid_uscc(first17 + check) is valid


def _organisation_check(body: str) -> str:
    from govkit._encoding import organisation_code_check_character  # noqa: PLC0415

    check = organisation_code_check_character(body)
    assert check is not None
    return check


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    """A structurally valid number (region, date) with any final character."""
    region = draw(st.sampled_from(["110105", "440300", "650102", "810000"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(0, 999))
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + draw(st.sampled_from("0123456789X"))


@MANY
@given(resident_ids())
def test_resident_id_check_agrees_with_both_python_stdnum_implementations(number: str) -> None:
    first17 = number[:17]
    expected = stdnum_ric.calc_check_digit(number) == number[17]
    assert (mod_11_2.calc_check_digit(first17) == number[17]) is expected
    assert is_resident_id(number) is expected
    assert is_valid_resident_id(number, today=TODAY) is expected


@MANY
@given(st.text(st.sampled_from(DIGITS + "X_ab１٣"), min_size=18, max_size=18))
def test_certificates_resident_id_refuses_what_stdnum_would_read_as_base_13(number: str) -> None:
    # stdnum reads digits 1-17 with int(..., 13), which takes "_", "a", "b" and
    # non-ASCII digits: the layout check in front of it must refuse those first
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        assert not is_resident_id(number)
        assert not is_valid_resident_id(number, today=TODAY)


@MANY
@given(st.text(st.sampled_from(ALNUM_ALPHABET), max_size=80))
def test_mod37_36_check_character_agrees_with_python_stdnum(text: str) -> None:
    assert mod37_36_check_character(text) == mod_37_36.calc_check_digit(text)
    assert mod37_36_check(text) == mod_37_36.calc_check_digit(text)


@MANY
@given(
    issuer_body=st.text(st.sampled_from(DIGITS), min_size=9, max_size=9),
    serial=st.text(st.sampled_from(ALNUM_ALPHABET), min_size=1, max_size=64),
    version=st.integers(0, 999),
)
def test_built_licence_ids_are_valid_mod37_36_for_python_stdnum(
    issuer_body: str, serial: str, version: int
) -> None:
    issuer17 = "12440100" + issuer_body
    issuer = issuer17 + stdnum_uscc.calc_check_digit(issuer17)
    text = licence_id("11100000000013338W011", issuer, serial, version)
    parts = text.split(".")[5:]
    assert mod_37_36.is_valid("".join(parts))


def test_no_second_weight_table_or_check_alphabet_in_govkit() -> None:
    # The GB 32100 / GB 11714 weights, GB 11643's MOD 11-2 check alphabet and the
    # USCC alphabet are written once, in govkit/_encoding.py (GB 11643: stdnum's).
    patterns = {
        "USCC alphabet": "0123456789ABCDEFGHJKLMNPQRTUWXY",
        "GB 11643 check alphabet": "10X98765432",
        "GB 11714 weights": "3, 7, 9, 10, 5, 8, 4, 2",
        "GB 32100 weights": "pow(3, i, 31)",
        "GB 11643 weights": "pow(2, 17 - i, 11)",
    }
    found = {
        name: sorted(
            str(path.relative_to(GOVKIT))
            for path in GOVKIT.rglob("*.py")
            if pattern in path.read_text(encoding="utf-8")
        )
        for name, pattern in patterns.items()
    }
    assert found == {
        "USCC alphabet": ["_encoding.py"],
        "GB 11643 check alphabet": [],
        "GB 11714 weights": ["_encoding.py"],
        "GB 32100 weights": ["_encoding.py"],
        "GB 11643 weights": [],
    }
