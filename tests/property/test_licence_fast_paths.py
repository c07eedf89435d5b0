"""The licence verify fast paths refuse exactly what the full checks refuse (issue #18).

Each shortcut taken on the hot path of :meth:`Licence.from_claims` is compared, over
random and adversarial inputs, with the check it stands for:

* the identifier parse that trusts a registry's type codes and a trusted agency's
  USCC (``_known_id_codes``) against :func:`parse_licence_id`: same result, or the
  same error code, reason and message;
* :func:`is_clean_text` (printable text skips the per-character look) against the
  per-character definition, over all of Unicode including surrogates and format
  characters;
* :meth:`LicenceType.check_licence`'s day-count span for date validity against the
  span of :meth:`Licence.validity_window` (and its overflow at the ends of the
  calendar).
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from govkit._encoding import ALNUM_ALPHABET, mod37_36_check_character
from govkit.certificates import Agency, Holder, Licence, LicenceRegistry, licence_id
from govkit.certificates._identifier import (
    ROOT_OID,
    LicenceId,
    _known_id_codes,
    parse_licence_id,
)
from govkit.certificates._types import is_clean_text
from govkit.errors import LicenceDataInvalid

FAST = settings(max_examples=400, deadline=None)

REGISTRY = LicenceRegistry.default()
TYPE_CODES = tuple(REGISTRY.get(name).type_code for name in REGISTRY)
AGENCY = Agency("广东省公安厅交通管理局", "114400000069445123")
OTHER_USCC = "11440100MB2C92923F"  # valid, not the agency's


def _outcome(parse: object, text: object) -> tuple[str, object]:
    try:
        parsed = parse(text)  # type: ignore[operator]
    except LicenceDataInvalid as exc:
        return "error", (exc.code, exc.message, dict(exc.context))
    if isinstance(parsed, LicenceId):
        return "ok", (parsed.type_code, parsed.issuer_code)
    return "ok", parsed


def _corrupt(draw: st.DrawFn, text: str) -> str:
    """``text`` unchanged, or with one character changed, dropped or added."""
    how = draw(st.sampled_from(("keep", "keep", "change", "drop", "add", "lower")))
    if how == "keep" or not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    if how == "change":
        return text[:at] + draw(st.sampled_from(ALNUM_ALPHABET + ".-a")) + text[at + 1 :]
    if how == "drop":
        return text[:at] + text[at + 1 :]
    if how == "add":
        return text[:at] + draw(st.sampled_from(ALNUM_ALPHABET + ".")) + text[at:]
    return text.lower()


@st.composite
def identifiers(draw: st.DrawFn) -> object:
    """Identifiers that are valid, nearly valid, or malformed in one part or another."""
    if draw(st.integers(0, 19)) == 19:
        return draw(st.one_of(st.text(max_size=40), st.integers(), st.none()))
    type_code = _corrupt(draw, draw(st.sampled_from((*TYPE_CODES, "11100000000013338W999"))))
    issuer = _corrupt(draw, draw(st.sampled_from((AGENCY.uscc, OTHER_USCC))))
    serial = draw(
        st.one_of(
            st.text(ALNUM_ALPHABET, min_size=1, max_size=20),
            st.text(ALNUM_ALPHABET, min_size=60, max_size=70),
            st.text(max_size=5),
        )
        if draw(st.integers(0, 3)) == 3
        else st.text(ALNUM_ALPHABET, min_size=1, max_size=20)
    )
    version = draw(
        st.text("0123456789a", max_size=4)
        if draw(st.integers(0, 3)) == 3
        else st.integers(0, 999).map("{:03d}".format)
    )
    body = f"{type_code}{issuer}{serial}{version}"
    check = mod37_36_check_character(body) if draw(st.integers(0, 3)) != 3 else None
    if check is None:
        check = draw(st.text(ALNUM_ALPHABET + "a.", min_size=0, max_size=2))
    root = (
        ROOT_OID if draw(st.integers(0, 9)) != 9 else draw(st.sampled_from(("1.2.156.3005.3", "")))
    )
    text = f"{root}.{type_code}.{issuer}.{serial}.{version}.{check}"
    return _corrupt(draw, text) if draw(st.integers(0, 2)) == 2 else text


@FAST
@given(identifiers(), st.sampled_from((AGENCY.uscc, OTHER_USCC, None)))
def test_known_parts_parse_refuses_what_parse_licence_id_refuses(
    text: object, known_uscc: str | None
) -> None:
    full = _outcome(parse_licence_id, text)
    event("accepted" if full[0] == "ok" else f"refused: {full[1][2].get('reason')}")  # type: ignore[index]
    fast = _outcome(lambda s: _known_id_codes(s, frozenset(TYPE_CODES), known_uscc), text)
    assert fast == full


def test_known_parts_parse_of_a_licence_id_with_a_forged_check_fails_on_check() -> None:
    good = str(parse_licence_id(_valid_id()))
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(LicenceDataInvalid) as caught:
        _known_id_codes(forged, frozenset(TYPE_CODES), AGENCY.uscc)
    assert caught.value.code == "certificate.data_invalid"
    assert caught.value.context["reason"] == "check"


def test_unknown_type_code_is_still_checked_in_full() -> None:
    # an unregistered, malformed type code: refused as parse_licence_id refuses it
    text = _valid_id().replace(TYPE_CODES[0], "11100000000013338X901")
    with pytest.raises(LicenceDataInvalid) as caught:
        _known_id_codes(text, frozenset(TYPE_CODES), AGENCY.uscc)
    assert caught.value.context["reason"] == "type_code"


def _valid_id() -> str:
    return licence_id(TYPE_CODES[0], AGENCY.uscc, "4401202600001")


def _clean_by_definition(value: object, max_length: int) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value == value.strip()
        and not any(unicodedata.category(c) in ("Cc", "Cs", "Cf") for c in value)
    )


@FAST
@given(
    st.one_of(
        st.text(st.characters(exclude_categories=()), max_size=12),
        st.text(
            st.sampled_from("a 张\u200b\u00ad\ud800\x00\x7f\u2028\u3000\ufeff\U000e0001"),
            max_size=6,
        ),
    ),
    st.integers(1, 8),
)
def test_clean_text_fast_path_agrees_with_the_definition(value: str, max_length: int) -> None:
    assert is_clean_text(value, max_length) == _clean_by_definition(value, max_length)


@pytest.mark.parametrize("char", ["\u200b", "\u00ad", "\ufeff", "\ud800", "\x00", "\x1b"])
def test_clean_text_refuses_format_control_and_surrogate_characters(char: str) -> None:
    assert not is_clean_text(f"张{char}三", 32)


def _licence(type_name: str, start: date, end: date) -> Licence:
    kind = REGISTRY.get(type_name)
    fields: dict[str, object] = {"name": "张三丰"}
    if type_name == "housing-provident-fund":
        fields |= {
            "account_number": "440100123456",
            "employer": "广州某公司",
            "deposit_status": "正常",
            "monthly_deposit_fen": 120000,
        }
    else:
        fields |= {"card_number": "440100123456", "issuing_region": "广州"}
    return Licence(
        type=type_name,
        id=licence_id(kind.type_code, AGENCY.uscc, "4401202600001"),
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        issuer=AGENCY,
        valid_from=start,
        valid_until=end,
        fields=fields,
    )


_EDGES = st.sampled_from(
    (date.min, date.min + timedelta(days=1), date.max, date.max - timedelta(days=1))
)


@FAST
@given(
    st.sampled_from(("housing-provident-fund", "social-security-card")),
    st.one_of(st.dates(), _EDGES),
    st.one_of(st.integers(0, 4000), st.integers(0, 10**6)),
)
def test_date_validity_span_is_the_validity_windows(type_name: str, start: date, days: int) -> None:
    try:
        end = start + timedelta(days=days)
    except OverflowError:
        end = date.max
    licence = _licence(type_name, start, end)
    kind = REGISTRY.get(type_name)
    assert kind.max_validity is not None
    try:
        window_start, window_end = licence.validity_window()
    except OverflowError:
        with pytest.raises(OverflowError):
            kind.check_licence(licence)
        return
    if window_end - window_start > kind.max_validity:
        with pytest.raises(LicenceDataInvalid) as caught:
            kind.check_licence(licence)
        assert caught.value.context["reason"] == "max_validity"
    else:
        kind.check_licence(licence)


def test_validity_one_day_too_long_is_refused_and_the_longest_passes() -> None:
    kind = REGISTRY.get("housing-provident-fund")
    assert kind.max_validity == timedelta(days=93)
    start = date(2026, 1, 1)
    kind.check_licence(_licence(kind.name, start, start + timedelta(days=92)))
    with pytest.raises(LicenceDataInvalid) as caught:
        kind.check_licence(_licence(kind.name, start, start + timedelta(days=93)))
    assert caught.value.context["reason"] == "max_validity"
