"""The licence model: the ten standard types, field validation, holders, claims, masking."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit.certificates._identifier import licence_id
from govkit.certificates._model import (
    Agency,
    FieldSpec,
    Holder,
    Licence,
    LicenceRegistry,
    LicenceType,
)
from govkit.errors import GovkitError, LicenceDataInvalid

ISSUER = Agency("广州市公安局交通警察支队", "11440100MB2C92923F")
COMPANY_USCC = "91440101MA59ABCD1D"
RESIDENT_ID = "11010519491231002X"  # the GB 11643-1999 worked example
PSEUDONYM = Holder("ps-7QjW2mZtR4yXc", "pseudonym")

#: One good sample per standard type; values a roadside or counter check shows.
SAMPLES: dict[str, dict[str, Any]] = {
    "resident-id-card": {
        "name": "张三丰",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1949-12-31",
        "issuing_authority": "广州市公安局天河分局",
    },
    "driving-licence": {
        "name": "张三丰",
        "licence_class": "C1",
        "first_issue_date": date(2020, 3, 1),
        "file_number": "440100123456",
    },
    "vehicle-licence": {
        "plate_number": "粤A12345",
        "vehicle_type": "小型轿车",
        "owner": "张三丰",
        "use_character": "非营运",
        "vin": "LSVAM4187C2184847",
        "register_date": "2021-05-20",
        "inspection_until": "2027-05-31",
    },
    "social-security-card": {
        "name": "李四",
        "card_number": "A12345678",
        "issuing_region": "广东省广州市",
    },
    "housing-provident-fund": {
        "name": "李四",
        "account_number": "440100000123456",
        "employer": "广州某某科技有限公司",
        "deposit_status": "正常",
        "monthly_deposit_fen": 250000,
    },
    "passport": {
        "name": "王五",
        "passport_number": "E12345678",
        "sex": "女",
        "birth_date": date(1990, 1, 2),
        "nationality": "CHN",
    },
    "residence-permit": {
        "name": "赵六",
        "address": "广州市天河区某某路1号",
        "issuing_authority": "广州市公安局天河分局",
    },
    "household-register": {
        "name": "钱七",
        "relationship": "户主",
        "household_type": "家庭户",
        "address": "广州市越秀区某某街2号",
        "registration_authority": "广州市公安局越秀分局",
    },
    "business-licence": {
        "company_name": "广州某某科技有限公司",
        "entity_type": "有限责任公司（自然人投资或控股）",
        "legal_representative": "孙八",
        "registered_capital": 500,
        "established": "2015-06-01",
        "business_scope": "软件开发；信息技术咨询服务",
    },
    "real-estate-certificate": {
        "certificate_number": "粤（2026）广州市不动产权第0123456号",
        "owner": "周九",
        "location": "广州市海珠区某某路3号101房",
        "unit_number": "440105001001GB00001F00010001",
        "right_type": "国有建设用地使用权/房屋所有权",
    },
}

CHINESE_NAMES = {
    "resident-id-card": "居民身份证",
    "driving-licence": "机动车驾驶证",
    "vehicle-licence": "机动车行驶证",
    "social-security-card": "社会保障卡",
    "housing-provident-fund": "住房公积金缴存证明",
    "passport": "护照",
    "residence-permit": "居住证",
    "household-register": "户口簿",
    "business-licence": "营业执照",
    "real-estate-certificate": "不动产权证书",
}

REGISTRY = LicenceRegistry.default()
TYPES = list(REGISTRY)


def make_licence(
    type_name: str = "driving-licence",
    *,
    holder: Holder = PSEUDONYM,
    fields: dict[str, Any] | None = None,
    valid_from: date | datetime = date(2026, 3, 1),
    valid_until: date | datetime = date(2026, 5, 31),
    serial: str = "4401202600001",
    status_index: int | None = 17,
) -> Licence:
    licence_type = REGISTRY.get(type_name)
    return Licence(
        type=type_name,
        id=licence_id(licence_type.type_code, ISSUER.uscc, serial),
        holder=holder,
        issuer=ISSUER,
        valid_from=valid_from,
        valid_until=valid_until,
        fields=SAMPLES[type_name] if fields is None else fields,
        status_index=status_index,
    )


def reason_of(exc: pytest.ExceptionInfo[LicenceDataInvalid]) -> tuple[str, str]:
    return exc.value.context["field"], exc.value.context["reason"]


# --- the registry -------------------------------------------------------------------


def test_the_ten_standard_types_have_their_names() -> None:
    assert {name: REGISTRY.get(name).zh for name in REGISTRY} == CHINESE_NAMES
    assert len({REGISTRY.get(name).type_code for name in REGISTRY}) == 10


def test_only_resident_id_card_and_household_register_allow_raw_ids() -> None:
    allowed = {name for name in REGISTRY if REGISTRY.get(name).raw_id_allowed}
    assert allowed == {"resident-id-card", "household-register"}


def test_default_builds_a_new_registry_each_time() -> None:
    first, second = LicenceRegistry.default(), LicenceRegistry.default()
    assert first == second
    assert first is not second


def test_unknown_type_is_refused() -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get("fishing-licence")
    assert reason_of(caught) == ("type", "unknown_type")
    assert "fishing-licence" not in REGISTRY


def test_with_type_returns_a_new_registry() -> None:
    fishing = LicenceType(
        "fishing-licence",
        "捕捞许可证",
        "Fishing licence",
        "11100000000013338W950",
        "person",
        (FieldSpec("name", "姓名", "Name", "text", personal=True),),
    )
    extended = REGISTRY.with_type(fishing)
    assert extended.get("fishing-licence") is fishing
    assert "fishing-licence" not in REGISTRY
    assert extended.by_type_code("11100000000013338W950") is fishing
    replaced = extended.with_type(replace(fishing, en="Fishing permit"))
    assert replaced.get("fishing-licence").en == "Fishing permit"
    assert len(replaced) == 11


def test_a_registry_refuses_two_types_with_one_type_code() -> None:
    driving = REGISTRY.get("driving-licence")
    with pytest.raises(LicenceDataInvalid):
        REGISTRY.with_type(replace(driving, name="driving-licence-copy"))


def test_type_definitions_are_checked() -> None:
    driving = REGISTRY.get("driving-licence")
    with pytest.raises(LicenceDataInvalid):
        replace(driving, type_code="11100000000013338W")
    with pytest.raises(LicenceDataInvalid):
        replace(driving, fields=(*driving.fields, driving.fields[0]))
    with pytest.raises(LicenceDataInvalid):
        replace(REGISTRY.get("business-licence"), raw_id_allowed=True)
    with pytest.raises(LicenceDataInvalid):
        FieldSpec("class", "类", "Class", "enum")
    with pytest.raises(LicenceDataInvalid):
        FieldSpec("name", "姓名", "Name", "text", choices=("a",))
    with pytest.raises(LicenceDataInvalid):
        FieldSpec("Name", "姓名", "Name", "text")


# --- field validation ---------------------------------------------------------------


@pytest.mark.parametrize("type_name", TYPES)
def test_every_type_validates_its_good_sample(type_name: str) -> None:
    licence_type = REGISTRY.get(type_name)
    result = licence_type.validate(SAMPLES[type_name])
    assert set(result) == set(SAMPLES[type_name])
    assert all(isinstance(v, (str, int, bool)) for v in result.values())
    with pytest.raises(TypeError):
        result["name"] = "x"  # type: ignore[index]


def test_dates_are_normalised_to_iso_text() -> None:
    result = REGISTRY.get("driving-licence").validate(SAMPLES["driving-licence"])
    assert result["first_issue_date"] == "2020-03-01"


@pytest.mark.parametrize("type_name", TYPES)
def test_a_missing_required_field_is_named(type_name: str) -> None:
    licence_type = REGISTRY.get(type_name)
    for spec in licence_type.fields:
        if not spec.required:
            continue
        fields = {k: v for k, v in SAMPLES[type_name].items() if k != spec.name}
        with pytest.raises(LicenceDataInvalid) as caught:
            licence_type.validate(fields)
        assert reason_of(caught) == (spec.name, "missing")


def test_an_optional_field_may_be_left_out() -> None:
    fields = {k: v for k, v in SAMPLES["vehicle-licence"].items() if k != "inspection_until"}
    assert "inspection_until" not in REGISTRY.get("vehicle-licence").validate(fields)


@pytest.mark.parametrize("type_name", TYPES)
def test_an_unknown_field_is_refused(type_name: str) -> None:
    fields = {**SAMPLES[type_name], "blood_type": "O"}
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get(type_name).validate(fields)
    assert reason_of(caught) == ("blood_type", "unknown")


WRONG_KIND: dict[str, object] = {
    "text": 42,
    "enum": 1,
    "date": 20200301,
    "int": "500",
    "bool": "yes",
}


@pytest.mark.parametrize("type_name", TYPES)
def test_a_mistyped_field_is_refused_without_quoting_it(type_name: str) -> None:
    licence_type = REGISTRY.get(type_name)
    for spec in licence_type.fields:
        fields = {**SAMPLES[type_name], spec.name: WRONG_KIND[spec.kind]}
        with pytest.raises(LicenceDataInvalid) as caught:
            licence_type.validate(fields)
        assert reason_of(caught) == (spec.name, "kind")
        assert str(WRONG_KIND[spec.kind]) not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "张" * 33, "length"),
        ("name", "", "length"),
        ("name", " 张三", "length"),
        ("name", "张\x00三", "length"),
        ("licence_class", "Z9", "choice"),
        ("first_issue_date", "2020-02-30", "date"),
        ("first_issue_date", "2020-3-1", "date"),
        ("first_issue_date", datetime(2020, 3, 1, tzinfo=UTC), "date"),
        ("first_issue_date", None, "kind"),
    ],
)
def test_bad_values_are_refused(field: str, value: object, reason: str) -> None:
    fields = {**SAMPLES["driving-licence"], field: value}
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get("driving-licence").validate(fields)
    assert reason_of(caught) == (field, reason)


def test_int_fields_refuse_bools_and_huge_numbers() -> None:
    business = REGISTRY.get("business-licence")
    for value, reason in ((True, "kind"), (2**60, "range")):
        with pytest.raises(LicenceDataInvalid) as caught:
            business.validate({**SAMPLES["business-licence"], "registered_capital": value})
        assert reason_of(caught) == ("registered_capital", reason)


def test_a_non_mapping_is_refused() -> None:
    with pytest.raises(LicenceDataInvalid):
        REGISTRY.get("passport").validate([("name", "王五")])  # type: ignore[arg-type]


# --- licences -----------------------------------------------------------------------


@pytest.mark.parametrize("type_name", TYPES)
def test_every_type_makes_a_valid_licence(type_name: str) -> None:
    licence = make_licence(type_name)
    REGISTRY.get(type_name).check_licence(licence)


def test_licence_fields_are_read_only() -> None:
    licence = make_licence()
    with pytest.raises(TypeError):
        licence.fields["name"] = "李四"  # type: ignore[index]


def test_raw_id_is_refused_unless_the_issuer_allows_it() -> None:
    holder = Holder(RESIDENT_ID, "raw-id")
    licence = make_licence("resident-id-card", holder=holder)
    card = REGISTRY.get("resident-id-card")
    with pytest.raises(LicenceDataInvalid) as caught:
        card.check_licence(licence)
    assert reason_of(caught) == ("holder", "raw_id")
    card.check_licence(licence, allow_raw_id=True)


def test_raw_id_is_refused_for_types_that_never_carry_one() -> None:
    licence = make_licence("driving-licence", holder=Holder(RESIDENT_ID, "raw-id"))
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get("driving-licence").check_licence(licence, allow_raw_id=True)
    assert reason_of(caught) == ("holder", "raw_id")


def test_a_raw_id_must_be_a_valid_resident_id_number() -> None:
    licence = make_licence("resident-id-card", holder=Holder("110105194912310021", "raw-id"))
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get("resident-id-card").check_licence(licence, allow_raw_id=True)
    assert reason_of(caught) == ("holder", "format")


def test_an_organisation_may_be_named_by_its_uscc() -> None:
    business = REGISTRY.get("business-licence")
    business.check_licence(make_licence("business-licence", holder=Holder(COMPANY_USCC, "raw-id")))
    bad = make_licence("business-licence", holder=Holder(RESIDENT_ID, "raw-id"))
    with pytest.raises(LicenceDataInvalid):
        business.check_licence(bad)


@pytest.mark.parametrize(
    ("reference", "kind"),
    [
        ("short", "pseudonym"),
        ("has space in it", "pseudonym"),
        ("no-star", "masked"),
        ("12345", "raw-id"),
        (RESIDENT_ID.lower(), "raw-id"),
        ("abcdefgh", "alias"),
    ],
)
def test_holder_references_must_fit_their_kind(reference: str, kind: str) -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        Holder(reference, kind)  # type: ignore[arg-type]
    assert caught.value.context["field"] == "holder"


def test_holder_repr_never_shows_a_raw_id() -> None:
    holder = Holder(RESIDENT_ID, "raw-id")
    assert RESIDENT_ID not in repr(holder)
    assert holder.masked() == "110**************X"


def test_agency_uscc_is_checked() -> None:
    with pytest.raises(LicenceDataInvalid) as caught:
        Agency("广州市公安局", "11440100MB2C92923E")
    assert reason_of(caught) == ("issuer", "uscc")


def test_the_identifier_must_name_the_issuer() -> None:
    other = Agency("广州市公安局", "11440100MB2D12349N")
    with pytest.raises(LicenceDataInvalid) as caught:
        replace(make_licence(), issuer=other)
    assert reason_of(caught) == ("id", "issuer")


def test_the_identifier_must_carry_the_type_code() -> None:
    licence = make_licence()
    passport_id = licence_id(REGISTRY.get("passport").type_code, ISSUER.uscc, "1")
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get("driving-licence").check_licence(replace(licence, id=passport_id))
    assert reason_of(caught) == ("id", "type_code")


def test_validity_must_not_run_backwards_or_mix_kinds() -> None:
    with pytest.raises(LicenceDataInvalid):
        make_licence(valid_from=date(2026, 3, 2), valid_until=date(2026, 3, 1))
    with pytest.raises(LicenceDataInvalid):
        make_licence(valid_from=date(2026, 3, 1), valid_until=datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(LicenceDataInvalid) as caught:
        make_licence(valid_from=datetime(2026, 3, 1), valid_until=datetime(2027, 3, 1))
    assert caught.value.context["reason"] == "naive"
    make_licence(valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 1))


def test_validity_window_reads_dates_in_china_standard_time() -> None:
    start, end = make_licence(
        valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 1)
    ).validity_window()
    assert start == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


def test_datetimes_become_utc_whole_seconds() -> None:
    cst = timezone(timedelta(hours=8))
    licence = make_licence(
        valid_from=datetime(2026, 3, 1, 8, 0, 0, 999, tzinfo=cst),
        valid_until=datetime(2026, 3, 2, 8, 0, tzinfo=cst),
    )
    assert licence.valid_from == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert licence.validity_window()[1] == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_a_validity_longer_than_the_type_allows_is_refused() -> None:
    licence = make_licence(
        "housing-provident-fund", valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31)
    )
    with pytest.raises(LicenceDataInvalid) as caught:
        REGISTRY.get("housing-provident-fund").check_licence(licence)
    assert reason_of(caught) == ("valid_until", "max_validity")


def test_status_index_is_range_checked() -> None:
    for bad in (-1, 2**32, True):
        with pytest.raises(LicenceDataInvalid):
            make_licence(status_index=bad)


# --- claims -------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", TYPES)
def test_claims_round_trip(type_name: str) -> None:
    licence = make_licence(type_name)
    claims = licence.to_claims()
    assert set(claims) == {"i", "h", "v", "f", "s"}
    assert Licence.from_claims(claims, REGISTRY, agency_name=ISSUER.name) == licence


def test_claims_round_trip_with_datetimes_and_no_status_index() -> None:
    licence = make_licence(
        valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        valid_until=datetime(2026, 3, 2, tzinfo=UTC),
        status_index=None,
    )
    claims = licence.to_claims()
    assert claims["v"] == [1772323200, 1772409600]
    assert "s" not in claims
    assert Licence.from_claims(claims, REGISTRY, agency_name=ISSUER.name) == licence


def test_claims_wire_format() -> None:
    claims = make_licence().to_claims()
    assert claims == {
        "i": make_licence().id.removeprefix("1.2.156.3005.2."),
        "h": ["p", "ps-7QjW2mZtR4yXc"],
        "v": ["2026-03-01", "2026-05-31"],
        "f": ["张三丰", "C1", None, "2020-03-01", "440100123456"],  # no photo_digest
        "s": 17,
    }


def test_claims_carry_an_allowed_raw_id() -> None:
    licence = make_licence("resident-id-card", holder=Holder(RESIDENT_ID, "raw-id"))
    assert Licence.from_claims(licence.to_claims(), REGISTRY, agency_name=ISSUER.name) == licence
    forged = make_licence("passport", holder=Holder(RESIDENT_ID, "raw-id")).to_claims()
    with pytest.raises(LicenceDataInvalid):
        Licence.from_claims(forged, REGISTRY, agency_name=ISSUER.name)


def _mutations() -> list[tuple[str, Any]]:
    good = make_licence().to_claims()
    fields = good["f"]
    other = make_licence("passport").to_claims()
    return [
        ("extra key", {**good, "x": 1}),
        ("missing key", {k: v for k, v in good.items() if k != "v"}),
        ("old type key", {**good, "t": "driving-licence"}),
        ("id not text", {**good, "i": 1}),
        ("id with its root", {**good, "i": make_licence().id}),
        ("id of another type", {**good, "i": other["i"]}),
        ("holder not a pair", {**good, "h": ["p"]}),
        ("holder as text", {**good, "h": "p:abc"}),
        ("holder kind spelled out", {**good, "h": ["pseudonym", "ps-7QjW2mZtR4yXc"]}),
        ("validity float", {**good, "v": [1.5, 2.5]}),
        ("validity bool", {**good, "v": [True, False]}),
        ("validity bad date", {**good, "v": ["2026-02-30", "2026-05-31"]}),
        ("validity mixed", {**good, "v": ["2026-03-01", 1800000000]}),
        ("fields as a map", {**good, "f": {"name": "x"}}),
        ("fields too short", {**good, "f": fields[:-1]}),
        ("field a date object", {**good, "f": [*fields[:2], date(2020, 3, 1), fields[3]]}),
        ("field a list", {**good, "f": [["张"], *fields[1:]]}),
        ("required field null", {**good, "f": [None, *fields[1:]]}),
        ("status index bool", {**good, "s": True}),
        ("status index text", {**good, "s": "17"}),
        ("status index negative", {**good, "s": -1}),
        ("not a map", [good]),
    ]


@pytest.mark.parametrize(("name", "claims"), _mutations(), ids=[m[0] for m in _mutations()])
def test_from_claims_is_strict(name: str, claims: Any) -> None:
    with pytest.raises(LicenceDataInvalid):
        Licence.from_claims(claims, REGISTRY, agency_name=ISSUER.name)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=30),
    st.floats(allow_nan=True),
    st.binary(max_size=10),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["t", "i", "h", "a", "v", "f", "s", "x"]), VALUES))
def test_from_claims_on_arbitrary_maps_returns_a_licence_or_a_govkit_error(
    claims: dict[str, Any],
) -> None:
    with contextlib.suppress(GovkitError):
        Licence.from_claims(claims, REGISTRY, agency_name=ISSUER.name)


@given(
    st.sampled_from(sorted(SAMPLES)),
    st.sampled_from(["h", "v", "f", "s", "i"]),
    VALUES,
)
def test_from_claims_with_one_member_replaced_returns_a_licence_or_a_govkit_error(
    type_name: str, key: str, value: Any
) -> None:
    claims = {**make_licence(type_name).to_claims(), key: value}
    try:
        licence = Licence.from_claims(claims, REGISTRY, agency_name=ISSUER.name)
    except GovkitError:
        return
    assert licence.to_claims() == claims


# --- masking ------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", TYPES)
def test_masking_hides_every_personal_field(type_name: str) -> None:
    licence = make_licence(type_name)
    shown = licence.masked_fields(REGISTRY)
    for spec in REGISTRY.get(type_name).fields:
        if spec.name not in licence.fields:
            continue
        value = licence.fields[spec.name]
        if spec.personal:
            assert shown[spec.name] != value
            if isinstance(value, str) and len(value) > 1:
                assert value[1:] not in str(shown[spec.name])
        else:
            assert shown[spec.name] == value


def test_masking_keeps_the_first_character_of_a_name() -> None:
    shown = make_licence().masked_fields()
    assert shown["name"] == "张**"
    assert shown["file_number"] == "4***********"
    assert shown["licence_class"] == "C1"
    passport = make_licence("passport").masked_fields(REGISTRY)
    assert passport["birth_date"] == "****-**-**"
    assert passport["sex"] == "*"


def test_masking_keeps_name_separators() -> None:
    fields = {**SAMPLES["driving-licence"], "name": "阿卜杜拉·买买提"}
    assert make_licence(fields=fields).masked_fields()["name"] == "阿***·***"
