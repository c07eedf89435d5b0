"""Issuer-signed predicates, and the items of a selective licence.

A predicate is a yes/no statement about a licence (``age_over_18``,
``licence_class_includes_C1``) that the issuer computes at issue time and signs as an
item, so a holder can show it instead of the value it is computed from.

The items of a selective licence, in index order, are the type's fields in schema order
(``null`` when absent), the predicates that apply to the type (:data:`PREDICATES`), then
``id`` (the licence identifier) and ``holder`` (``[p|m|r, reference]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final

from govkit.certificates._model import CHINA_STANDARD_TIME, Licence, LicenceType

__all__ = ["PREDICATES", "Predicate", "disclosable_items"]


@dataclass(frozen=True)
class Predicate:
    """An issuer-signed yes/no statement a holder can show instead of a value.

    Attributes:
        name: the item name (``age_over_18``).
        zh: the Chinese label.
        en: the English label.
        applies: whether a licence type carries this predicate.
        test: the value for one licence, computed by the issuer at issue time.
    """

    name: str
    zh: str
    en: str
    applies: Callable[[LicenceType], bool]
    test: Callable[[Licence], bool]


def _has_field(name: str) -> Callable[[LicenceType], bool]:
    return lambda kind: any(f.name == name for f in kind.fields)


def _age_over(years: int) -> Callable[[Licence], bool]:
    """True when the holder is ``years`` old on the first day of validity (and so on every
    later day of it)."""

    def test(licence: Licence) -> bool:
        birth = licence.fields.get("birth_date")
        if not isinstance(birth, str):
            return False
        born = date.fromisoformat(birth)
        first_day = licence.validity_window()[0].astimezone(CHINA_STANDARD_TIME).date()
        try:
            birthday = born.replace(year=born.year + years)
        except ValueError:  # 29 February: the birthday falls on 1 March
            birthday = date(born.year + years, 3, 1)
        return birthday <= first_day

    return test


#: What each driving-licence class also allows one to drive (准驾车型 and the classes it
#: includes, per the Ministry of Public Security's driving-licence rules, order 162).
_CLASS_INCLUDES: Final = MappingProxyType(
    {
        "A1": frozenset({"A1", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "M"}),
        "A2": frozenset({"A2", "B1", "B2", "C1", "C2", "C3", "C4", "M"}),
        "A3": frozenset({"A3", "C1", "C2", "C3", "C4"}),
        "B1": frozenset({"B1", "C1", "C2", "C3", "C4", "M"}),
        "B2": frozenset({"B2", "C1", "C2", "C3", "C4", "M"}),
        "C1": frozenset({"C1", "C2", "C3", "C4"}),
        "C3": frozenset({"C3", "C4"}),
        "D": frozenset({"D", "E", "F"}),
        "E": frozenset({"E", "F"}),
    }
)


def _class_includes(target: str) -> Callable[[Licence], bool]:
    def test(licence: Licence) -> bool:
        held = licence.fields.get("licence_class")
        if not isinstance(held, str):
            return False
        return target in _CLASS_INCLUDES.get(held, frozenset({held}))

    return test


#: The predicates govkit issuers sign, in item order.
PREDICATES: Final[tuple[Predicate, ...]] = (
    Predicate(
        "age_over_18", "年满18周岁", "Aged 18 or over", _has_field("birth_date"), _age_over(18)
    ),
    Predicate(
        "age_over_60", "年满60周岁", "Aged 60 or over", _has_field("birth_date"), _age_over(60)
    ),
    Predicate(
        "licence_class_includes_C1",
        "准驾C1",
        "May drive class C1",
        _has_field("licence_class"),
        _class_includes("C1"),
    ),
)


def _predicates_for(kind: LicenceType) -> tuple[Predicate, ...]:
    return tuple(p for p in PREDICATES if p.applies(kind))


def disclosable_items(kind: LicenceType) -> tuple[str, ...]:
    """The items of a selective licence of ``kind``, in index order.

    >>> from govkit.certificates import LicenceRegistry
    >>> disclosable_items(LicenceRegistry.default().get("driving-licence"))[:3]
    ('name', 'licence_class', 'photo_digest')
    """
    return (
        *(f.name for f in kind.fields),
        *(p.name for p in _predicates_for(kind)),
        "id",
        "holder",
    )
