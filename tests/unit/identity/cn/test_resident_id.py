"""Evidence for resident ID numbers (GB 11643-1999): what is accepted, what is refused, why.

Vectors marked "spec" come from the research notes (``shared/specs/identity.md`` section
(c)). Every other valid vector's check character was computed twice outside govkit, with
the notes' lookup table (``S mod 11`` -> ``1 0 X 9 8 7 6 5 4 3 2``) and with the
recursive ISO 7064 MOD 11-2 algorithm, and the two agreed.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from stdnum.cn import ric

from govkit.errors import ConfigurationError, InvalidIdentifier, NaiveDatetimeError
from govkit.identity.cn import ResidentId, is_valid_resident_id, parse_resident_id

TODAY = date(2026, 1, 1)


def reason_of(s: object, today: date = TODAY) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_resident_id(s, today=today)  # type: ignore[arg-type]
    assert caught.value.code == "identifier.invalid"
    assert caught.value.context["identifier"] == "resident_id"
    reason = caught.value.context["reason"]
    assert isinstance(reason, str)
    return reason


# --- the notes' vectors -------------------------------------------------------------

VALID = [
    # (number, region, birth date, sex, provenance)
    ("11010519491231002X", "110105", date(1949, 12, 31), "female", "spec: the standard's example"),
    ("440524188001010014", "440524", date(1880, 1, 1), "male", "spec: the standard, born 1880"),
    ("360426199101010071", "360426", date(1991, 1, 1), "male", "spec: python-stdnum doctest"),
    ("11010219840406970X", "110102", date(1984, 4, 6), "female", "spec"),
]


@pytest.mark.parametrize(("number", "region", "born", "sex", "provenance"), VALID)
def test_the_notes_valid_examples_parse_to_their_fields(
    number: str, region: str, born: date, sex: str, provenance: str
) -> None:
    rid = parse_resident_id(number, today=TODAY)
    assert rid.number == number
    assert rid.region_code == region
    assert rid.birth_date == born
    assert rid.sex == sex
    assert rid.sequence == number[14:17]
    assert rid.check_character == number[17]
    assert rid.upgraded_from_15 is False
    assert is_valid_resident_id(number, today=TODAY)


def test_the_standards_1880_example_passes_although_stdnum_refuses_it() -> None:
    """440524 (潮阳县) existed 1983-1993 only; stdnum checks the county against the birth
    year and refuses the number. govkit checks the code's structure, not a table."""
    assert not ric.is_valid("440524188001010014")
    assert is_valid_resident_id("440524188001010014", today=TODAY)


INVALID = [
    ("110105194912310021", "check_digit", "spec: the standard's example with check 1"),
    ("11010219840506970X", "check_digit", "spec: month 04 edited to 05, check no longer fits"),
    ("110105194902300020", "date", "spec: check passes, but 30 February"),
    ("000000194912310027", "region", "spec: check passes, but region 000000"),
]


@pytest.mark.parametrize(("number", "reason", "provenance"), INVALID)
def test_the_notes_invalid_examples_are_refused_for_their_reason(
    number: str, reason: str, provenance: str
) -> None:
    assert reason_of(number) == reason
    assert not is_valid_resident_id(number, today=TODAY)


# --- layout ---------------------------------------------------------------------------


def test_a_lower_case_x_is_accepted_and_normalised() -> None:
    assert parse_resident_id("11010519491231002x", today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    ["1101051949123100X2", "x1010519491231002X", "11010519491231002Y", "11010519491231002*"],
    ids=["x_inside", "x_first", "other_letter_last", "symbol_last"],
)
def test_an_x_anywhere_but_last_or_another_letter_is_a_format_error(number: str) -> None:
    assert reason_of(number) == "format"


@pytest.mark.parametrize(
    "text",
    [
        " 11010519491231002X",
        "11010519491231002X\n",
        "\t11010519491231002X \r\n",
        "\u300011010519491231002X\u3000",  # ideographic (full-width) space, as IMEs type it
    ],
    ids=["leading_space", "trailing_newline", "tabs_and_crlf", "ideographic_space"],
)
def test_surrounding_whitespace_is_stripped(text: str) -> None:
    assert parse_resident_id(text, today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("110105 19491231 002X", "length"),
        ("110105-19491231-002X", "length"),
        ("11010519491231 02X", "format"),
    ],
    ids=["spaced_groups", "hyphenated_groups", "inner_space_same_length"],
)
def test_inner_separators_are_not_cleaned_away(text: str, reason: str) -> None:
    assert reason_of(text) == reason


@pytest.mark.parametrize(
    "text",
    [
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and X
        "11010519491231002Ｘ",  # only the X full-width
        "１10105194912310021",  # one full-width digit
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits: str.isdigit() says True
        "²10105194912310021",  # a superscript two: str.isdigit() says True
        "𝟏10105194912310021",  # mathematical bold one
    ],
    ids=["full_width", "full_width_x", "one_full_width", "arabic_indic", "superscript", "bold"],
)
def test_non_ascii_digits_are_refused(text: str) -> None:
    assert reason_of(text) == "format"


@pytest.mark.parametrize(
    "text", ["", "   ", "1101051949123100", "1101051949123100200", "11010519491231002XX"]
)
def test_wrong_lengths_are_refused(text: str) -> None:
    assert reason_of(text) == "length"


@pytest.mark.parametrize("value", [None, 110105194912310020, b"11010519491231002X", ["1"]])
def test_a_non_str_is_refused_as_a_type_error_not_a_crash(value: object) -> None:
    assert reason_of(value) == "type"
    assert is_valid_resident_id(value) is False  # type: ignore[arg-type]


# --- 15-digit legacy numbers ----------------------------------------------------------


def test_a_15_digit_number_is_upgraded_by_inserting_19_and_computing_the_check() -> None:
    rid = parse_resident_id("110105491231002", today=TODAY)
    assert rid.number == "11010519491231002X"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex == "female"
    assert rid.upgraded_from_15 is True
    assert rid == dataclasses.replace(
        parse_resident_id("11010519491231002X", today=TODAY), upgraded_from_15=True
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("110105490230002", "date"),  # 30 February 1949
        ("000000491231002", "region"),
        ("11010549123100X", "format"),  # 15-digit numbers have no check character
        ("１１０１０５４９１２３１００２", "format"),
    ],
    ids=["bad_date", "bad_region", "x_in_15", "full_width_15"],
)
def test_a_15_digit_number_gets_the_same_checks(text: str, reason: str) -> None:
    assert reason_of(text) == reason


def test_a_15_digit_number_with_29_february_1900_is_refused() -> None:
    """1900 is not a leap year; the upgraded date 1900-02-29 does not exist."""
    assert reason_of("440304000229001") == "date"


# --- dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "valid", "why"),
    [
        ("440304200002290014", True, "2000 is divisible by 400: a leap year"),
        ("440304202402290020", True, "2024 is divisible by 4: a leap year"),
        ("440304190002290018", False, "1900 is divisible by 100 but not 400: no 29 February"),
        ("440304202302290023", False, "2023 is not a leap year"),
    ],
)
def test_29_february_only_in_leap_years(number: str, valid: bool, why: str) -> None:
    if valid:
        assert parse_resident_id(number, today=TODAY).birth_date.day == 29
    else:
        assert reason_of(number) == "date"


@pytest.mark.parametrize(
    "number",
    [
        "440304198513010013",  # month 13
        "440304198500100018",  # month 00
        "440304198501000011",  # day 00
        "440304198504310018",  # 31 April
    ],
)
def test_impossible_calendar_dates_are_refused(number: str) -> None:
    first17 = number[:17]
    assert reason_of(first17 + _check(first17)) == "date"


def test_birth_dates_from_1850_are_accepted_and_earlier_ones_refused() -> None:
    assert parse_resident_id("440304185001010014", today=TODAY).birth_date == date(1850, 1, 1)
    assert reason_of("440304184912310013") == "date"


def test_a_birth_date_after_today_is_refused_and_today_itself_accepted() -> None:
    born_2026_01_01 = "44030420260101001X"
    born_2026_01_02 = "440304202601020015"
    assert parse_resident_id(born_2026_01_01, today=date(2026, 1, 1)).birth_date == TODAY
    assert reason_of(born_2026_01_02, today=date(2026, 1, 1)) == "date"
    assert is_valid_resident_id(born_2026_01_02, today=date(2026, 1, 2))


def test_an_aware_datetime_as_today_is_read_in_china_standard_time() -> None:
    born_2026_01_02 = "440304202601020015"
    # 2026-01-01 17:00 UTC is already 2026-01-02 01:00 in Beijing.
    assert is_valid_resident_id(born_2026_01_02, today=datetime(2026, 1, 1, 17, tzinfo=UTC))
    assert not is_valid_resident_id(born_2026_01_02, today=datetime(2026, 1, 1, 15, tzinfo=UTC))
    new_york = timezone(timedelta(hours=-5))
    assert is_valid_resident_id(born_2026_01_02, today=datetime(2026, 1, 1, 12, tzinfo=new_york))


def test_a_naive_datetime_as_today_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError):
        parse_resident_id("11010519491231002X", today=datetime(2026, 1, 1))


def test_without_today_the_system_clock_decides() -> None:
    assert is_valid_resident_id("11010519491231002X")
    far_future = "11010529991231002"
    assert not is_valid_resident_id(far_future + _check(far_future))


# --- region codes -------------------------------------------------------------------

PROVINCES = [
    *map(str, range(11, 16)),
    *map(str, range(21, 24)),
    *map(str, range(31, 38)),
    *map(str, range(41, 47)),
    *map(str, range(50, 55)),
    *map(str, range(61, 66)),
]


def _check(first17: str) -> str:
    """Reference check character: the notes' table, independent of govkit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def with_region(region: str) -> str:
    first17 = region + "19900101001"
    return first17 + _check(first17)


@pytest.mark.parametrize("province", PROVINCES)
def test_every_mainland_province_code_is_accepted(province: str) -> None:
    assert parse_resident_id(with_region(province + "0101"), today=TODAY).region_code[:2] == (
        province
    )


@pytest.mark.parametrize(
    ("region", "why"),
    [
        ("810000", "Hong Kong residence permits"),
        ("820000", "Macao residence permits"),
        ("830000", "Taiwan residents' residence permits (the address code is 83, not 71)"),
        ("710000", "GB/T 2260 code of Taiwan"),
        ("441900", "Dongguan: a prefecture-level city without counties, county digits 00"),
        ("442000", "Zhongshan: likewise"),
        ("460001", "Hainan 1988-2002: counties under prefecture digits 00"),
        ("469001", "prefecture digits 90: county-level divisions under the province"),
        ("440000", "a whole-province code"),
        ("440524", "Chaoyang county, abolished in 1993: still on people's cards"),
    ],
)
def test_structurally_plausible_region_codes_are_accepted(region: str, why: str) -> None:
    assert parse_resident_id(with_region(region), today=TODAY).region_code == region


@pytest.mark.parametrize(
    ("region", "why"),
    [
        ("000000", "province 00"),
        ("100000", "province 10 (the national-level code of USCCs, not of people)"),
        ("160105", "province 16 is not assigned"),
        ("240105", "province 24"),
        ("380105", "province 38"),
        ("470105", "province 47"),
        ("550105", "province 55"),
        ("660105", "province 66"),
        ("720000", "province 72"),
        ("840000", "province 84"),
        ("910105", "province 91 (new foreign permanent residence cards start with 9)"),
        ("810100", "Hong Kong numbers carry 810000 only"),
        ("830001", "Taiwan residents' numbers carry 830000 only"),
        ("710100", "Taiwan: 710000 only"),
        ("447101", "prefecture digits 71 are not assigned by GB/T 2260"),
        ("448901", "prefecture digits 89"),
        ("449101", "prefecture digits 91"),
        ("449901", "prefecture digits 99"),
    ],
)
def test_region_codes_that_gb_t_2260_cannot_assign_are_refused(region: str, why: str) -> None:
    assert reason_of(with_region(region)) == "region"


# --- privacy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [number for number, _, _ in INVALID]
    + ["110105194912310021 ", "11010519491231002", "110105490230002", "44030420260102001 5"],
)
def test_errors_never_carry_the_number_or_its_birth_date(text: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_resident_id(text, today=TODAY)
    error = caught.value
    rendered = " ".join([str(error), repr(error), json.dumps(error.to_dict())])
    digits = text.strip().replace(" ", "")
    for start in range(len(digits) - 5):
        assert digits[start : start + 6] not in rendered
    assert set(error.context) == {"identifier", "reason"}
    assert error.__cause__ is None


def test_repr_and_str_show_the_number_masked() -> None:
    rid = parse_resident_id("11010519491231002X", today=TODAY)
    assert repr(rid) == str(rid) == "ResidentId(number='110**************X')"
    assert "19491231" not in repr(rid)


# --- the model ------------------------------------------------------------------------


def test_resident_id_is_frozen() -> None:
    rid = parse_resident_id("11010519491231002X", today=TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rid.number = "440524188001010014"  # type: ignore[misc]


def test_a_resident_id_with_fields_that_contradict_its_number_cannot_be_built() -> None:
    rid = parse_resident_id("11010519491231002X", today=TODAY)
    for change in (
        {"sex": "male"},
        {"birth_date": date(1949, 12, 30)},
        {"region_code": "110106"},
        {"sequence": "003"},
    ):
        with pytest.raises(InvalidIdentifier) as caught:
            dataclasses.replace(rid, **change)
        assert caught.value.context["reason"] == "inconsistent"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002x", "format"),
        ("110105194912310021", "check_digit"),
        ("110105491231002", "format"),
    ],
    ids=["lower_case_x", "bad_check", "fifteen_digits"],
)
def test_a_resident_id_cannot_be_built_around_an_invalid_or_unnormalised_number(
    number: str, reason: str
) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        ResidentId(number, "110105", date(1949, 12, 31), "female", "002", False)
    assert caught.value.context["reason"] == reason


@pytest.mark.parametrize(
    ("digit", "sex"), [(str(d), "male" if d % 2 else "female") for d in range(10)]
)
def test_sex_follows_the_parity_of_digit_17(digit: str, sex: str) -> None:
    first17 = "4403041985061200" + digit
    assert parse_resident_id(first17 + _check(first17), today=TODAY).sex == sex


@pytest.mark.parametrize("today", ["2026-01-01", 20260101])
def test_a_today_that_is_not_a_date_is_a_configuration_error(today: object) -> None:
    with pytest.raises(ConfigurationError):
        parse_resident_id("11010519491231002X", today=today)  # type: ignore[arg-type]
