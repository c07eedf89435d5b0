"""Licence type schemas (:class:`FieldSpec`, :class:`LicenceType`) and the ten standard types.

>>> [t.name for t in standard_types()][:3]
['resident-id-card', 'driving-licence', 'vehicle-licence']
>>> standard_types()[1].validate({"name": "张三", "licence_class": "C1",
...     "first_issue_date": "2015-06-01", "file_number": "440100123456"})["licence_class"]
'C1'

The ten types are those 粤省事 carries and an officer checks at a roadside or counter.

Each type has a small field set: only what an offline check needs, because every
byte makes the QR code denser. Fields that are personal data are marked
``personal=True`` and masked by :meth:`~govkit.certificates._model.Licence.masked_fields`.

**Type codes.** A GB/T 36904 type code is the defining authority's unified social
credit code followed by 3 digits. The national catalogue's codes for these ten
licences were not available to us, so all ten use the code of the State Council
General Office (国务院办公厅, ``11100000000013338W``, which prefixes the published
codes of other licence types) with the placeholder suffixes ``901``-``910``. They are
**placeholders**: replace a type with the catalogue's real code through
:meth:`~govkit.certificates._model.LicenceRegistry.with_type` before issuing
licences that other systems must recognise.

**Raw ID numbers.** Only ``resident-id-card`` and ``household-register`` may name
their holder by raw resident ID number (and only when the issuer asks for it at
issue time). A passport names its holder by pseudonym; the passport number is a
personal field.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, get_args

from stdnum.cn import ric

from govkit.certificates._identifier import ROOT_OID, is_type_code, is_uscc
from govkit.errors import LicenceDataInvalid

if TYPE_CHECKING:
    from govkit.certificates._model import Licence

__all__ = [
    "STANDARD_AUTHORITY",
    "FieldKind",
    "FieldSpec",
    "FieldValue",
    "LicenceType",
    "standard_types",
]

#: The kinds of value a licence field may hold.
FieldKind: TypeAlias = Literal["text", "date", "enum", "int", "bool"]
#: A field value after validation (dates become ``YYYY-MM-DD`` text).
FieldValue: TypeAlias = str | int | bool
#: USCC of the State Council General Office, prefix of the placeholder type codes.
STANDARD_AUTHORITY: Final = "11100000000013338W"

_FIELD_KINDS: Final = frozenset(get_args(FieldKind))
#: A field name; a licence type name.
FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")
TYPE_NAME: Final = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+){0,7}")
_ISO_DATE_CHARS: Final = "0123456789-"
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_ONE_DAY: Final = timedelta(days=1)
#: Largest magnitude of an int field: exact in JSON numbers and in CBOR.
_MAX_INT: Final = 2**53 - 1
_MAX_LABEL: Final = 64
#: Characters kept as they are when a personal text field is masked.
_MASK_KEEP: Final = frozenset(" -'\u00b7\u2019\u2022\u2027\u30fb")
#: What a field absent from a mapping reads as (no value is this object).
_ABSENT: Final = object()


def invalid(message: str, field: str, reason: str, **context: Any) -> LicenceDataInvalid:
    """A :class:`~govkit.errors.LicenceDataInvalid` naming ``field`` and ``reason``."""
    return LicenceDataInvalid(message, field=field, reason=reason, **context)


def is_clean_text(value: object, max_length: int) -> bool:
    """Non-empty text of at most ``max_length`` characters, without control characters,
    lone surrogates or surrounding whitespace."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value == value.strip()
        # printable text holds no "Other" character (Cc, Cf, Cs, Co, Cn), so only text
        # that is not printable needs the character-by-character look
        and (
            value.isprintable()
            or not any(unicodedata.category(c) in ("Cc", "Cs", "Cf") for c in value)
        )
    )


def is_resident_id(value: str) -> bool:
    """GB 11643-1999 layout and ISO 7064 MOD 11-2 check character (python-stdnum's)."""
    # the layout first: stdnum's calc_check_digit reads digits 1-17 as a base-13
    # number, which would also take letters, underscores and non-ASCII digits
    return bool(_RESIDENT_ID.fullmatch(value)) and ric.calc_check_digit(value) == value[17]


def iso_date(value: object) -> str | None:
    """``value`` as ``YYYY-MM-DD`` if it is a date (not a datetime) or such text."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and parse_iso_date(value) is not None:
        return value
    return None


def parse_iso_date(value: str) -> date | None:
    """The date of ``YYYY-MM-DD`` text (exactly that form), or ``None``."""
    # [0-9]{4}-[0-9]{2}-[0-9]{2} by str methods (strip leaves nothing when every
    # character is a digit or "-"; two "-", at 4 and 7): no regular expression here
    if not (
        len(value) == 10
        and value[4] == value[7] == "-"
        and value.count("-") == 2
        and not value.strip(_ISO_DATE_CHARS)
    ):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def mask_text(value: str) -> str:
    """Keep the first character; every other one becomes ``*`` except separators."""
    if len(value) <= 1:
        return "*"
    rest = (c if c.isspace() or c in _MASK_KEEP else "*" for c in value[1:])
    return value[0] + "".join(rest)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a licence type.

    Attributes:
        name: the field's key in licence data and claims (``[a-z][a-z0-9_]*``,
            at most 32 characters).
        zh: the Chinese label (``姓名``).
        en: the English label (``Name``).
        kind: ``text``, ``date`` (``YYYY-MM-DD``), ``enum`` (one of ``choices``),
            ``int`` (at most 2**53 - 1 in magnitude) or ``bool``.
        required: whether every licence of the type must have it.
        personal: whether it is personal data, hidden by
            :meth:`Licence.masked_fields`.
        choices: the allowed values of an ``enum`` field (and only of one).
        max_length: the most characters of a ``text`` field.
    """

    name: str
    zh: str
    en: str
    kind: FieldKind
    required: bool = True
    personal: bool = False
    choices: tuple[str, ...] = ()
    max_length: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not FIELD_NAME.fullmatch(self.name):
            raise invalid("a field name must match [a-z][a-z0-9_]{0,31}", "name", "spec")
        for label in (self.zh, self.en):
            if not is_clean_text(label, _MAX_LABEL):
                raise invalid("field labels must be short, clean text", self.name, "spec")
        if self.kind not in _FIELD_KINDS:
            raise invalid("unknown field kind", self.name, "spec")
        if not isinstance(self.required, bool) or not isinstance(self.personal, bool):
            raise invalid("required and personal must be bools", self.name, "spec")
        if not isinstance(self.choices, tuple):
            raise invalid("choices must be a tuple", self.name, "spec")
        if self.kind == "enum":
            if not self.choices or len(set(self.choices)) != len(self.choices):
                raise invalid("an enum field needs distinct choices", self.name, "spec")
            if not all(is_clean_text(c, self.max_length) for c in self.choices):
                raise invalid("enum choices must be short, clean text", self.name, "spec")
        elif self.choices:
            raise invalid("only enum fields have choices", self.name, "spec")
        if (
            isinstance(self.max_length, bool)
            or not isinstance(self.max_length, int)
            or not 1 <= self.max_length <= 4096
        ):
            raise invalid("max_length must be an int from 1 to 4096", self.name, "spec")

    def normalise(self, value: object) -> FieldValue:
        """Check ``value`` against this field and return its normalised form.

        Dates (``date`` objects or ``YYYY-MM-DD`` text) become ``YYYY-MM-DD`` text.

        Raises:
            LicenceDataInvalid: the value does not fit (``reason`` is ``kind``,
                ``length``, ``choice``, ``date`` or ``range``).
        """
        name = self.name
        if self.kind == "text":
            if not isinstance(value, str):
                raise invalid(f"licence field {name!r} must be text", name, "kind")
            if not is_clean_text(value, self.max_length):
                raise invalid(
                    f"licence field {name!r} must be 1-{self.max_length} characters of clean text",
                    name,
                    "length",
                )
            return value
        if self.kind == "enum":
            if not isinstance(value, str):
                raise invalid(f"licence field {name!r} must be text", name, "kind")
            if value not in self.choices:
                raise invalid(
                    f"licence field {name!r} must be one of: {', '.join(self.choices)}",
                    name,
                    "choice",
                    choices=self.choices,  # the schema's values, never the one given
                )
            return value
        if self.kind == "date":
            if not isinstance(value, (str, date)):
                raise invalid(
                    f"licence field {name!r} must be a date or YYYY-MM-DD text", name, "kind"
                )
            iso = iso_date(value)
            if iso is None:
                raise invalid(
                    f"licence field {name!r} is not a valid YYYY-MM-DD date", name, "date"
                )
            return iso
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise invalid(f"licence field {name!r} must be an int", name, "kind")
            if abs(value) > _MAX_INT:
                raise invalid(f"licence field {name!r} is out of range", name, "range")
            return value
        if not isinstance(value, bool):
            raise invalid(f"licence field {name!r} must be a bool", name, "kind")
        return value


class MaskedFields(Mapping[str, FieldValue]):
    """A licence's fields for display (:meth:`LicenceType.masked`), read-only.

    Masking happens on first use, so a verification whose caller never shows the
    fields does not pay for it; the result is the same mapping either way.
    """

    __slots__ = ("_fields", "_shown", "_type")

    def __init__(self, licence_type: LicenceType, fields: Mapping[str, FieldValue]) -> None:
        self._type = licence_type
        self._fields = fields
        self._shown: dict[str, FieldValue] | None = None

    def _masked(self) -> dict[str, FieldValue]:
        if self._shown is None:
            self._shown = self._type.masked(self._fields)
        return self._shown

    def __getitem__(self, name: str) -> FieldValue:
        return self._masked()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._masked())

    def __len__(self) -> int:
        return len(self._masked())

    def __repr__(self) -> str:
        return f"MaskedFields({self._masked()!r})"


@dataclass(frozen=True, slots=True)
class LicenceType:
    """A kind of licence (机动车驾驶证) and the fields its licences carry.

    Attributes:
        name: the stable name used in claims (``driving-licence``).
        zh: the Chinese name (``机动车驾驶证``).
        en: the English name.
        type_code: the GB/T 36904 licence type code: the defining authority's
            unified social credit code followed by 3 digits (21 characters).
        holder: whether licences of this type are held by a ``person`` or an
            ``organisation``.
        fields: the field schema, in display order (distinct names).
        raw_id_allowed: whether a licence of this type may name its person holder
            by raw resident ID number (still only when the issuer asks for it).
        max_validity: the longest validity period allowed, or ``None``.
    """

    name: str
    zh: str
    en: str
    type_code: str
    holder: Literal["person", "organisation"]
    fields: tuple[FieldSpec, ...]
    raw_id_allowed: bool = False
    max_validity: timedelta | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not TYPE_NAME.fullmatch(self.name):
            raise invalid("a type name must be lower-case words joined by '-'", "type", "spec")
        for label in (self.zh, self.en):
            if not is_clean_text(label, _MAX_LABEL):
                raise invalid("type labels must be short, clean text", "type", "spec")
        if not is_type_code(self.type_code):
            raise invalid("the type code must be a USCC and 3 digits", "type_code", "spec")
        if self.holder not in ("person", "organisation"):
            raise invalid("holder must be 'person' or 'organisation'", "holder", "spec")
        if not isinstance(self.fields, tuple) or not all(
            isinstance(f, FieldSpec) for f in self.fields
        ):
            raise invalid("fields must be a tuple of FieldSpec", "fields", "spec")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise invalid("field names must be distinct", "fields", "spec")
        if not isinstance(self.raw_id_allowed, bool):
            raise invalid("raw_id_allowed must be a bool", "raw_id_allowed", "spec")
        if self.raw_id_allowed and self.holder != "person":
            raise invalid("raw_id_allowed applies to person holders only", "raw_id_allowed", "spec")
        if self.max_validity is not None and (
            not isinstance(self.max_validity, timedelta) or self.max_validity <= timedelta(0)
        ):
            raise invalid("max_validity must be a positive timedelta", "max_validity", "spec")

    def field_spec(self, name: str) -> FieldSpec:
        """The spec of the field ``name``.

        Raises:
            LicenceDataInvalid: the type has no such field (``reason`` ``unknown``).
        """
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise self._no_such_field(name)

    def _no_such_field(self, name: object) -> LicenceDataInvalid:
        """``reason`` ``unknown``: the field named (when it is a field name), and the
        closest of this type's fields, for a misspelt name."""
        label = field_label(name)
        known = [spec.name for spec in self.fields]
        close = tuple(difflib.get_close_matches(label, known, n=3)) if label != "?" else ()
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        return invalid(
            f"licence type {self.name!r} has no field {label!r}{hint}",
            label,
            "unknown",
            suggestions=close,
        )

    def validate(self, fields: Mapping[str, Any]) -> Mapping[str, FieldValue]:
        """Check licence data against this type; return it normalised and read-only.

        Every required field must be present, no unknown field may be, and each
        value must fit its spec (see :meth:`FieldSpec.normalise`). The result keeps
        the schema's field order.

        Raises:
            LicenceDataInvalid: ``context["field"]`` names the field and
                ``context["reason"]`` says what is wrong (``missing``, ``unknown``,
                ``kind``, ``length``, ``choice``, ``date``, ``range``); the value is
                never quoted.
        """
        if not isinstance(fields, Mapping):
            raise invalid("licence fields must be a mapping", "fields", "kind")
        self._refuse_unknown(fields)
        return MappingProxyType(self._normalised(fields))

    def _refuse_unknown(self, fields: Mapping[Any, Any]) -> None:
        known = {spec.name for spec in self.fields}
        for name in fields:
            if name not in known:
                raise self._no_such_field(name)

    def _normalised(self, fields: Mapping[str, Any]) -> dict[str, FieldValue]:
        """:meth:`validate` after its unknown-field check, as a plain dict."""
        result: dict[str, FieldValue] = {}
        for spec in self.fields:
            if spec.name not in fields:
                if spec.required:
                    raise invalid(f"licence field {spec.name!r} is missing", spec.name, "missing")
                continue
            result[spec.name] = spec.normalise(fields[spec.name])
        return result

    def _plainly_normalised(self, fields: Mapping[str, FieldValue]) -> bool:
        """Whether ``self._normalised(fields) == fields`` plainly holds, so that
        :meth:`_normalised` would neither raise nor change a value (``fields`` holding
        names of this type's fields only): every required field is there and every
        value is exactly of its kind's type and passes its kind's check as
        :meth:`FieldSpec.normalise` makes it. ``False`` leaves the decision, and the
        refusal, to :meth:`_normalised`."""
        for spec in self.fields:
            value = fields.get(spec.name, _ABSENT)
            if value is _ABSENT:
                if spec.required:
                    return False
                continue
            kind = spec.kind
            if kind == "text":  # is_clean_text, when the text is printable
                if not (
                    type(value) is str
                    and 0 < len(value) <= spec.max_length
                    and value.isprintable()
                    and value == value.strip()
                ):
                    return False
            elif kind == "enum":
                if type(value) is not str or value not in spec.choices:
                    return False
            elif kind == "date":
                if type(value) is not str or parse_iso_date(value) is None:
                    return False
            elif kind == "int":
                if type(value) is not int or not -_MAX_INT <= value <= _MAX_INT:
                    return False
            elif type(value) is not bool:
                return False
        return True

    def check_licence(self, licence: Licence, *, allow_raw_id: bool = False) -> None:
        """Check that ``licence`` is a valid licence of this type.

        Checked: the type name, that the identifier's type code is this type's,
        the fields (:meth:`validate`, and already normalised), the holder (a raw
        resident ID number only when this type has ``raw_id_allowed`` and the
        caller passes ``allow_raw_id=True``; an organisation's raw id must be a
        USCC) and the validity period against :attr:`max_validity`.

        Raises:
            LicenceDataInvalid: the licence does not fit (``field`` and ``reason``
                in the context).
        """
        if licence.type != self.name:
            raise invalid("the licence is of another type", "type", "type")
        # a Licence holds a checked identifier: its type code is the part after the root
        if licence.id[len(ROOT_OID) + 1 :].split(".", 1)[0] != self.type_code:
            raise invalid("the identifier's type code is not this type's", "id", "type_code")
        fields = dict(licence.fields)
        self._refuse_unknown(fields)
        self._check_contents(licence, fields, allow_raw_id=allow_raw_id)

    def _check_contents(
        self, licence: Licence, fields: dict[str, FieldValue], *, allow_raw_id: bool
    ) -> None:
        """:meth:`check_licence` after its type, type code and unknown-field checks:
        the fields (a plain dict equal to ``licence.fields``, whose names are all this
        type's), the holder and the validity. :meth:`Licence.from_claims` calls it for
        a licence it built of this type, with field names taken from the type."""
        if not self._plainly_normalised(fields) and self._normalised(fields) != fields:
            raise invalid("licence fields are not in normalised form", "fields", "normalised")
        holder = licence.holder
        if holder.kind == "raw-id":
            if self.holder == "organisation":
                if not is_uscc(holder.reference):
                    raise invalid("an organisation's raw id must be a USCC", "holder", "format")
            elif not self.raw_id_allowed:
                raise invalid("this licence type never carries a raw ID number", "holder", "raw_id")
            elif not allow_raw_id:
                raise invalid(
                    "a raw ID number needs allow_raw_id=True at issue time", "holder", "raw_id"
                )
            elif not is_resident_id(holder.reference):
                raise invalid("the raw id is not a valid resident ID number", "holder", "format")
        if self.max_validity is not None:
            first, last = licence.valid_from, licence.valid_until
            if type(first) is date and type(last) is date and date.min < first <= last < date.max:
                # whole days in one fixed zone: what validity_window() spans, exactly (the
                # window of the first and last days of the calendar overflows: not here)
                span = last - first + _ONE_DAY
            else:
                start, end = licence.validity_window()
                span = end - start
            if span > self.max_validity:
                raise invalid(
                    "the validity period is longer than the type allows",
                    "valid_until",
                    "max_validity",
                )

    def masked(self, fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
        """``fields`` with every personal field masked for display.

        Text keeps its first character (``张三丰`` -> ``张**``; separators and spaces
        stay); dates become ``****-**-**``; other personal values become ``*``.
        Fields this type does not know are left out.
        """
        personal = {spec.name: spec for spec in self.fields}
        shown: dict[str, FieldValue] = {}
        for name, value in fields.items():
            spec = personal.get(name)
            if spec is None:
                continue
            if not spec.personal:
                shown[name] = value
            elif spec.kind == "date":
                shown[name] = "****-**-**"
            elif spec.kind == "text" and isinstance(value, str):
                shown[name] = mask_text(value)
            else:
                shown[name] = "*"
        return shown


def field_label(name: object) -> str:
    """A field name safe to put in an error's context (never an arbitrary value)."""
    if isinstance(name, str) and FIELD_NAME.fullmatch(name):
        return name
    return "?"


_SEX: Final = ("男", "女")
_LICENCE_CLASSES: Final = (
    "A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "D", "E", "F", "M", "N", "P",
)  # fmt: skip


def _name(zh: str = "姓名", en: str = "Name", field: str = "name") -> FieldSpec:
    return FieldSpec(field, zh, en, "text", personal=True, max_length=32)


def standard_types() -> tuple[LicenceType, ...]:
    """The ten standard licence types, newly built (there is no shared instance)."""
    code = STANDARD_AUTHORITY
    return (
        LicenceType(
            "resident-id-card",
            "居民身份证",
            "Resident identity card",
            code + "901",
            "person",
            (
                _name(),
                FieldSpec("sex", "性别", "Sex", "enum", personal=True, choices=_SEX),
                FieldSpec("ethnicity", "民族", "Ethnicity", "text", personal=True, max_length=16),
                FieldSpec("birth_date", "出生日期", "Date of birth", "date", personal=True),
                FieldSpec(
                    "issuing_authority", "签发机关", "Issuing authority", "text", max_length=32
                ),
            ),
            raw_id_allowed=True,
            max_validity=None,  # 长期 for holders over 45
        ),
        LicenceType(
            "driving-licence",
            "机动车驾驶证",
            "Motor vehicle driving licence",
            code + "902",
            "person",
            (
                _name(),
                FieldSpec(
                    "licence_class",
                    "准驾车型",
                    "Licence class",
                    "enum",
                    choices=_LICENCE_CLASSES,
                ),
                # What a traffic officer compares the driver's face with: the first 16
                # bytes of SHA-256 of the photo in the licence database, base64url
                # (22 characters). Next to name and class so that the traffic-police
                # presentation's items sit together in the Merkle tree (a shorter proof).
                FieldSpec(
                    "photo_digest",
                    "照片摘要",
                    "Photo digest",
                    "text",
                    required=False,
                    max_length=32,
                ),
                FieldSpec("first_issue_date", "初次领证日期", "Date of first issue", "date"),
                FieldSpec(
                    "file_number", "档案编号", "File number", "text", personal=True, max_length=12
                ),
            ),
            max_validity=None,  # 6 years, 10 years or 长期
        ),
        LicenceType(
            "vehicle-licence",
            "机动车行驶证",
            "Motor vehicle licence",
            code + "903",
            "person",
            (
                FieldSpec("plate_number", "号牌号码", "Plate number", "text", max_length=10),
                FieldSpec("vehicle_type", "车辆类型", "Vehicle type", "text", max_length=16),
                _name("所有人", "Owner", "owner"),
                FieldSpec("use_character", "使用性质", "Use", "text", max_length=16),
                FieldSpec("vin", "车辆识别代号", "VIN", "text", max_length=17),
                FieldSpec("register_date", "注册日期", "Registration date", "date"),
                FieldSpec(
                    "inspection_until",
                    "检验有效期至",
                    "Inspection valid until",
                    "date",
                    required=False,
                ),
            ),
            max_validity=None,
        ),
        LicenceType(
            "social-security-card",
            "社会保障卡",
            "Social security card",
            code + "904",
            "person",
            (
                _name(),
                FieldSpec(
                    "card_number",
                    "社会保障卡卡号",
                    "Card number",
                    "text",
                    personal=True,
                    max_length=20,
                ),
                FieldSpec("issuing_region", "发卡地", "Issuing region", "text", max_length=32),
            ),
            max_validity=timedelta(days=3660),  # cards are valid for 10 years
        ),
        LicenceType(
            "housing-provident-fund",
            "住房公积金缴存证明",
            "Housing provident fund deposit certificate",
            code + "905",
            "person",
            (
                _name(),
                FieldSpec(
                    "account_number",
                    "个人账号",
                    "Account number",
                    "text",
                    personal=True,
                    max_length=20,
                ),
                FieldSpec("employer", "单位名称", "Employer", "text"),
                FieldSpec(
                    "deposit_status",
                    "缴存状态",
                    "Deposit status",
                    "enum",
                    choices=("正常", "封存", "销户"),
                ),
                FieldSpec(
                    "monthly_deposit_fen",
                    "月缴存额（分）",
                    "Monthly deposit (fen)",
                    "int",
                    personal=True,
                ),
                FieldSpec(
                    "paid_through",
                    "缴至年月",
                    "Paid through (YYYY-MM)",
                    "text",
                    required=False,
                    max_length=7,
                ),
            ),
            max_validity=timedelta(days=93),  # a proof is valid for about three months
        ),
        LicenceType(
            "passport",
            "护照",
            "Passport",
            code + "906",
            "person",
            (
                _name(),
                FieldSpec(
                    "passport_number",
                    "护照号码",
                    "Passport number",
                    "text",
                    personal=True,
                    max_length=9,
                ),
                FieldSpec("sex", "性别", "Sex", "enum", personal=True, choices=_SEX),
                FieldSpec("birth_date", "出生日期", "Date of birth", "date", personal=True),
                FieldSpec("nationality", "国籍", "Nationality", "text", max_length=3),
            ),
            max_validity=timedelta(days=3660),  # 5 or 10 years
        ),
        LicenceType(
            "residence-permit",
            "居住证",
            "Residence permit",
            code + "907",
            "person",
            (
                _name(),
                FieldSpec("address", "居住地址", "Address", "text", personal=True),
                FieldSpec(
                    "issuing_authority", "签发机关", "Issuing authority", "text", max_length=32
                ),
            ),
            max_validity=timedelta(days=1830),  # at most 5 years
        ),
        LicenceType(
            "household-register",
            "户口簿",
            "Household register",
            code + "908",
            "person",
            (
                _name(),
                FieldSpec(
                    "relationship", "与户主关系", "Relationship to head", "text", max_length=16
                ),
                FieldSpec(
                    "household_type",
                    "户别",
                    "Household type",
                    "enum",
                    choices=("家庭户", "集体户"),
                ),
                FieldSpec("address", "住址", "Address", "text", personal=True),
                FieldSpec(
                    "registration_authority",
                    "登记机关",
                    "Registration authority",
                    "text",
                    max_length=32,
                ),
            ),
            raw_id_allowed=True,
            max_validity=None,
        ),
        LicenceType(
            "business-licence",
            "营业执照",
            "Business licence",
            code + "909",
            "organisation",
            (
                FieldSpec("company_name", "名称", "Name", "text"),
                FieldSpec("entity_type", "类型", "Type", "text", max_length=32),
                _name("法定代表人", "Legal representative", "legal_representative"),
                FieldSpec(
                    "registered_capital", "注册资本（万元）", "Registered capital (10k CNY)", "int"
                ),
                FieldSpec("established", "成立日期", "Date of establishment", "date"),
                FieldSpec("business_scope", "经营范围", "Business scope", "text", max_length=100),
            ),
            max_validity=None,  # often 长期
        ),
        LicenceType(
            "real-estate-certificate",
            "不动产权证书",
            "Real estate title certificate",
            code + "910",
            "person",
            (
                FieldSpec(
                    "certificate_number", "证书号", "Certificate number", "text", max_length=40
                ),
                _name("权利人", "Right holder", "owner"),
                FieldSpec("location", "坐落", "Location", "text", personal=True),
                FieldSpec("unit_number", "不动产单元号", "Unit number", "text", max_length=28),
                FieldSpec("right_type", "权利类型", "Type of right", "text", max_length=32),
            ),
            max_validity=None,
        ),
    )
