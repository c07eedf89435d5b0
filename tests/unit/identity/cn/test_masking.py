"""Evidence for the display masks: birth date and sex never shown, bad settings refused."""

from __future__ import annotations

import pytest

from govkit.errors import ConfigurationError, InvalidIdentifier
from govkit.identity.cn import mask_name, mask_phone, mask_resident_id

NUMBER = "11010519491231002X"
#: 1-based positions a mask must never show: 7-14 (birth date) and 17 (sex).
NEVER_SHOWN = [*range(7, 15), 17]


# --- resident ID numbers ----------------------------------------------------------------


def test_the_default_keeps_the_first_3_and_the_check_character() -> None:
    assert mask_resident_id(NUMBER) == "110**************X"


@pytest.mark.parametrize("keep_prefix", range(7))
@pytest.mark.parametrize("keep_suffix", range(2))
def test_every_allowed_setting_hides_birth_date_and_sex(keep_prefix: int, keep_suffix: int) -> None:
    masked = mask_resident_id(NUMBER, keep_prefix=keep_prefix, keep_suffix=keep_suffix)
    assert len(masked) == 18
    for position in NEVER_SHOWN:
        assert masked[position - 1] == "*"
    assert masked[:keep_prefix] == NUMBER[:keep_prefix]
    assert masked.count("*") == 18 - keep_prefix - keep_suffix


@pytest.mark.parametrize(
    ("keep_prefix", "keep_suffix", "why"),
    [
        (7, 1, "character 7 is the first digit of the birth year"),
        (14, 0, "the whole birth date"),
        (3, 2, "character 17 is the sex digit"),
        (3, 4, "the common 'first 3 + last 4' mask shows the sex digit"),
        (6, 4, "the common 'first 6 + last 4' mask shows the sex digit"),
        (-1, 1, "negative"),
        (3, -1, "negative"),
    ],
)
def test_settings_that_would_show_hidden_characters_are_refused(
    keep_prefix: int, keep_suffix: int, why: str
) -> None:
    with pytest.raises(ConfigurationError):
        mask_resident_id(NUMBER, keep_prefix=keep_prefix, keep_suffix=keep_suffix)


@pytest.mark.parametrize("value", [True, 3.0, "3", None])
def test_non_int_settings_are_refused(value: object) -> None:
    with pytest.raises(ConfigurationError):
        mask_resident_id(NUMBER, keep_prefix=value)  # type: ignore[arg-type]


def test_a_15_digit_number_is_masked_in_its_18_character_form() -> None:
    """In the 15-digit layout the last digit is the sex digit: it must not be the one kept."""
    assert mask_resident_id("110105491231002") == "110**************X"


def test_a_lower_case_x_and_surrounding_whitespace_are_normalised() -> None:
    assert mask_resident_id(" 11010519491231002x ") == "110**************X"


def test_only_the_layout_is_checked_so_stored_numbers_can_always_be_shown() -> None:
    assert mask_resident_id("110105194912310021") == "110**************1"  # bad check
    assert mask_resident_id("000000194902300020") == "000**************0"  # bad date, region


@pytest.mark.parametrize(
    "text",
    ["", "1101051949123100", "１１０１０５１９４９１２３１００２Ｘ", "110105-19491231-002X", None],
)
def test_text_without_the_layout_is_refused(text: object) -> None:
    with pytest.raises(InvalidIdentifier):
        mask_resident_id(text)  # type: ignore[arg-type]


# --- mobile numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["13812345678", "+8613812345678", "+86 13812345678", "+86-13812345678", " 13812345678\n"],
)
def test_mainland_mobile_numbers_keep_3_and_4_digits(text: str) -> None:
    assert mask_phone(text) == "138****5678"


@pytest.mark.parametrize("prefix", [str(n) for n in range(13, 20)])
def test_every_mobile_prefix_13_to_19_is_accepted(prefix: str) -> None:
    assert mask_phone(prefix + "012345678") == prefix + "0****5678"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1381234567", "10 digits"),
        ("138123456789", "12 digits"),
        ("12812345678", "12x is not a mobile prefix"),
        ("10086123456", "10x is a service number"),
        ("23812345678", "does not start with 1"),
        ("020-12345678", "a landline"),
        ("+85261234567", "a Hong Kong number"),
        ("8613812345678", "86 without the plus"),
        ("+86  13812345678", "two spaces"),
        ("138 1234 5678", "inner spaces"),
        ("１３８１２３４５６７８", "full-width digits"),
        ("", "empty"),
    ],
)
def test_anything_else_is_refused(text: str, why: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        mask_phone(text)
    assert caught.value.context == {"identifier": "phone", "reason": "format"}
    assert text.strip() == "" or text.strip() not in str(caught.value)


def test_a_non_str_phone_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        mask_phone(13812345678)  # type: ignore[arg-type]


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("张", "*"),
        ("欧阳修", "欧**"),
        ("  李四  ", "李*"),
        ("阿卜杜拉·买买提", "阿***·***"),
        ("Li Xiaoming", "L* ********"),
        ("Mary-Jane O'Neil", "M***-**** *'****"),
        ("José", "J***"),
        ("Jose\u0301", "J***"),  # decomposed accent: NFC makes it one character
    ],
)
def test_names_keep_their_first_character_and_separators(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "length"), ("   ", "length"), ("张\x00三", "format"), ("张\ud800", "format")],
)
def test_empty_names_and_control_characters_are_refused(name: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        mask_name(name)
    assert caught.value.context == {"identifier": "name", "reason": reason}


def test_a_non_str_name_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        mask_name(None)  # type: ignore[arg-type]
