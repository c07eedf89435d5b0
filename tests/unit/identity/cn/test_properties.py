"""Properties of :mod:`govkit.identity.cn`, driven by hypothesis.

Every parser fed arbitrary text returns a result or raises
:class:`~govkit.errors.InvalidIdentifier`; ``is_valid_*`` never raise for any value;
generated valid identifiers (a reference implementation written from the research
notes, not from govkit) parse back to the fields they were built from; and masks never
show what they must hide.
"""

from __future__ import annotations

import contextlib
import unicodedata
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from govkit.errors import InvalidIdentifier
from govkit.identity.cn import (
    AUTHORITY_ENTITY_TYPES,
    ResidentId,
    Uscc,
    is_valid_resident_id,
    is_valid_uscc,
    mask_name,
    mask_phone,
    mask_resident_id,
    parse_resident_id,
    parse_uscc,
    region_name,
)

FAST = settings(max_examples=300, deadline=None)
TODAY = date(2026, 1, 1)

#: Every code point, lone surrogates included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
#: Text close to an ID number, so the later checks are reached too.
NEAR_ID = st.text(st.sampled_from("0123456789Xx \t１Ｘ٣"), min_size=14, max_size=20)
NEAR_USCC = st.text(st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUWXYIOSVZa -"), max_size=20)
ANYTHING = st.one_of(
    ANY_TEXT, st.binary(), st.integers(), st.none(), st.floats(), st.lists(st.text())
)

# --- reference implementations (from the notes' formulas) -----------------------------

PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
             "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
             "63", "64", "65"]  # fmt: skip


def id_check(first17: str) -> str:
    """ISO 7064 MOD 11-2, computed recursively (govkit uses the weight table)."""
    p = 0
    for c in first17:
        p = (p + int(c)) * 2 % 11
    return "0123456789X"[(12 - p) % 11]


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check(first17: str) -> str:
    """GB 32100 check character: python-stdnum's, independent of govkit."""
    return stdnum_uscc.calc_check_digit(first17)


def org_check(body: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


regions = st.one_of(
    st.builds(
        lambda p, pref, county: p + pref + county,
        st.sampled_from(PROVINCES),
        st.sampled_from([f"{n:02d}" for n in range(71)] + ["90"]),
        st.integers(0, 99).map(lambda n: f"{n:02d}"),
    ),
    st.sampled_from(["710000", "810000", "820000", "830000"]),
)
birth_dates = st.dates(min_value=date(1850, 1, 1), max_value=TODAY)
sequences = st.integers(0, 999).map(lambda n: f"{n:03d}")


@st.composite
def resident_ids(draw: st.DrawFn) -> tuple[str, str, date, str]:
    region, born, sequence = draw(regions), draw(birth_dates), draw(sequences)
    first17 = region + f"{born.year:04d}{born.month:02d}{born.day:02d}" + sequence
    return first17 + id_check(first17), region, born, sequence


@st.composite
def usccs(draw: st.DrawFn) -> tuple[str, str, str, str, str]:
    authority = draw(st.sampled_from(sorted(AUTHORITY_ENTITY_TYPES)))
    entity = draw(st.sampled_from(sorted(AUTHORITY_ENTITY_TYPES[authority])))
    region = draw(st.text(st.sampled_from("0123456789"), min_size=6, max_size=6))
    body = draw(st.text(st.sampled_from(USCC_ALPHABET), min_size=8, max_size=8))
    organisation = body + org_check(body)
    first17 = authority + entity + region + organisation
    return first17 + uscc_check(first17), authority, entity, region, organisation


# --- arbitrary input --------------------------------------------------------------------


@FAST
@given(text=st.one_of(ANY_TEXT, NEAR_ID))
def test_parse_resident_id_returns_a_result_or_invalid_identifier(text: str) -> None:
    try:
        outcome: object = parse_resident_id(text, today=TODAY)
    except InvalidIdentifier as error:
        outcome = error.context["identifier"]
    assert isinstance(outcome, ResidentId) or outcome == "resident_id"


@FAST
@given(text=st.one_of(ANY_TEXT, NEAR_USCC))
def test_parse_uscc_returns_a_result_or_invalid_identifier(text: str) -> None:
    try:
        outcome: object = parse_uscc(text)
    except InvalidIdentifier as error:
        outcome = error.context["identifier"]
    assert isinstance(outcome, Uscc) or outcome == "uscc"


@FAST
@given(value=st.one_of(ANYTHING, NEAR_ID, NEAR_USCC))
def test_is_valid_never_raises(value: object) -> None:
    assert is_valid_resident_id(value, today=TODAY) in (True, False)  # type: ignore[arg-type]
    assert is_valid_resident_id(value) in (True, False)  # type: ignore[arg-type]
    assert is_valid_uscc(value) in (True, False)  # type: ignore[arg-type]


@FAST
@given(value=st.one_of(ANYTHING, NEAR_ID))
def test_masks_return_text_or_invalid_identifier(value: object) -> None:
    for mask in (mask_resident_id, mask_phone, mask_name):
        with contextlib.suppress(InvalidIdentifier):
            assert isinstance(mask(value), str)  # type: ignore[arg-type]


@FAST
@given(value=ANYTHING)
def test_region_name_never_raises(value: object) -> None:
    assert region_name(value) is None or isinstance(region_name(value), str)  # type: ignore[arg-type]


# --- generated valid identifiers ----------------------------------------------------------


@FAST
@given(generated=resident_ids())
def test_a_generated_resident_id_parses_back_to_its_fields(
    generated: tuple[str, str, date, str],
) -> None:
    number, region, born, sequence = generated
    rid = parse_resident_id(number, today=TODAY)
    assert (rid.number, rid.region_code, rid.birth_date, rid.sequence) == (
        number,
        region,
        born,
        sequence,
    )
    assert rid.sex == ("male" if int(sequence) % 2 else "female")
    assert not rid.upgraded_from_15
    assert parse_resident_id(number.lower(), today=TODAY) == rid


@FAST
@given(generated=resident_ids())
def test_a_generated_15_digit_number_upgrades_to_the_18_digit_one(
    generated: tuple[str, str, date, str],
) -> None:
    number, _, born, _ = generated
    if not 1900 <= born.year <= 1999:
        return
    legacy = number[:6] + number[8:17]
    rid = parse_resident_id(legacy, today=TODAY)
    assert rid.number == number
    assert rid.upgraded_from_15


@FAST
@given(
    generated=resident_ids(),
    position=st.integers(0, 17),
    replacement=st.sampled_from("0123456789X"),
)
def test_any_single_character_change_is_detected(
    generated: tuple[str, str, date, str], position: int, replacement: str
) -> None:
    number = generated[0]
    if number[position] == replacement or (replacement == "X" and position < 17):
        return
    assert not is_valid_resident_id(number[:position] + replacement + number[position + 1 :])


@FAST
@given(generated=resident_ids(), days=st.integers(1, 3650))
def test_a_generated_number_is_refused_before_its_birth_date(
    generated: tuple[str, str, date, str], days: int
) -> None:
    number, _, born, _ = generated
    assert not is_valid_resident_id(number, today=born - timedelta(days=days))


@FAST
@given(generated=usccs())
def test_a_generated_uscc_parses_back_to_its_parts(
    generated: tuple[str, str, str, str, str],
) -> None:
    code, authority, entity, region, organisation = generated
    uscc = parse_uscc(code)
    assert (uscc.code, uscc.registration_authority, uscc.entity_type) == (code, authority, entity)
    assert (uscc.region_code, uscc.organisation_code) == (region, organisation)
    assert parse_uscc(code.lower()) == uscc


@FAST
@given(generated=usccs(), position=st.integers(0, 17), replacement=st.sampled_from(USCC_ALPHABET))
def test_any_single_character_change_of_a_uscc_is_detected(
    generated: tuple[str, str, str, str, str], position: int, replacement: str
) -> None:
    code = generated[0]
    if code[position] == replacement:
        return
    assert not is_valid_uscc(code[:position] + replacement + code[position + 1 :])


# --- masks ------------------------------------------------------------------------------


@FAST
@given(generated=resident_ids(), prefix=st.integers(0, 6), suffix=st.integers(0, 1))
def test_a_mask_never_shows_birth_date_or_sex(
    generated: tuple[str, str, date, str], prefix: int, suffix: int
) -> None:
    masked = mask_resident_id(generated[0], keep_prefix=prefix, keep_suffix=suffix)
    assert len(masked) == 18
    assert masked[6:14] == "********"
    assert masked[16] == "*"


@FAST
@given(name=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20))
def test_a_masked_name_keeps_only_its_first_character(name: str) -> None:
    try:
        masked = mask_name(name)
    except InvalidIdentifier:
        assert not name.strip()
        return
    text = unicodedata.normalize("NFC", name.strip())
    assert len(masked) == len(text)
    if len(text) == 1:
        assert masked == "*"
    else:
        assert masked[0] == text[0]
        assert all(m in ("*", c) for m, c in zip(masked[1:], text[1:], strict=True))
        assert all(not c.isalnum() for c in masked[1:])
