"""Resident identity card numbers (公民身份号码, GB 11643-1999)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final, Literal

from stdnum.cn import ric

from govkit.clock import require_aware
from govkit.errors import ConfigurationError, InvalidIdentifier

__all__ = [
    "CHINA_STANDARD_TIME",
    "ResidentId",
    "Sex",
    "is_valid_resident_id",
    "parse_resident_id",
]

#: The sex recorded by the parity of the sequence code (odd: male, even: female).
Sex = Literal["male", "female"]

#: UTC+8 without daylight saving time: the zone whose calendar birth dates are written in.
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "CST")

#: Birth dates before this are refused (the standard's own example was born in 1880).
EARLIEST_BIRTH_DATE: Final = date(1850, 1, 1)

#: GB/T 2260 province-level codes (first two digits of a region code), including
#: Taiwan (71), Hong Kong (81) and Macao (82); 83 is the address code that residence
#: permits of Taiwan residents carry (830000), beside 810000 and 820000.
PROVINCES: Final = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)
#: Provinces whose numbers carry the whole-province code only (710000, 810000, ...).
_WHOLE_PROVINCE_ONLY: Final = frozenset({"71", "81", "82", "83"})
#: GB/T 2260 digits 3-4: 00 (the province itself, or Hainan's 1988-2002 county codes
#: 4600xx), 01-20 and 51-70 cities, 21-50 prefectures, leagues and autonomous
#: prefectures, 90 county-level divisions under the province. Nothing else is assigned.
_PREFECTURES: Final = frozenset([f"{n:02d}" for n in range(71)] + ["90"])

_FORM_18 = re.compile(r"[0-9]{17}[0-9Xx]")
_FORM_15 = re.compile(r"[0-9]{15}")


def _invalid(message: str, reason: str, **context: Any) -> InvalidIdentifier:
    return InvalidIdentifier(message, identifier="resident_id", reason=reason, **context)


def compute_check_character(first17: str) -> str:
    """The GB 11643 check character (``0``-``9`` or ``X``) of 17 ASCII digits.

    ISO 7064 MOD 11-2, computed by python-stdnum (``stdnum.cn.ric``), the one
    implementation govkit uses. The caller checks the layout first: stdnum reads
    the 17 digits as a base-13 number, which would take letters too.
    """
    return ric.calc_check_digit(first17 + "0")  # stdnum ignores the last character


def normalise_layout(s: object) -> tuple[str, bool]:
    """``(18-character number, upgraded_from_15)`` from the layout alone.

    Strips surrounding whitespace, upper-cases a final ``x`` and upgrades a 15-digit
    number (inserts ``19`` before the year, appends the computed check character).
    Checks the length and the characters; not the check character, date or region.
    """
    if not isinstance(s, str):
        raise _invalid("a resident ID number must be a str", "type")
    text = s.strip()
    if len(text) == 18:
        if not _FORM_18.fullmatch(text):
            raise _invalid("a resident ID number is 17 ASCII digits and a digit or X", "format")
        return text[:17] + text[17].upper(), False
    if len(text) == 15:
        if not _FORM_15.fullmatch(text):
            raise _invalid("a 15-digit resident ID number has ASCII digits only", "format")
        first17 = text[:6] + "19" + text[6:]
        return first17 + compute_check_character(first17), True
    raise _invalid("a resident ID number has 18 (or, before 1999, 15) characters", "length")


def region_problem(code: str) -> str | None:
    """Why a six-digit region code is not structurally a GB/T 2260 code, or ``None``."""
    province, prefecture = code[:2], code[2:4]
    if province not in PROVINCES:
        return "the region code does not start with a GB/T 2260 province code"
    if province in _WHOLE_PROVINCE_ONLY:
        if code[2:] != "0000":
            return "numbers of this province carry only the whole-province code"
        return None
    if prefecture not in _PREFECTURES:
        return "digits 3-4 of the region code are not a GB/T 2260 prefecture code"
    return None


def _decode(number: str) -> tuple[str, date, str, Sex]:
    """Check a normalised 18-character number, except that its date is not in the future."""
    if ric.calc_check_digit(number) != number[17]:  # compute_check_character(number[:17])
        raise _invalid("the resident ID number's check character does not match", "check_digit")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _invalid("the birth date is not a calendar date", "date") from None
    if born < EARLIEST_BIRTH_DATE:
        raise _invalid("the birth date is before 1850", "date")
    region = number[:6]
    problem = region_problem(region)
    if problem is not None:
        raise _invalid(problem, "region")
    sequence = number[14:17]
    sex: Sex = "male" if int(sequence[2]) % 2 else "female"
    return region, born, sequence, sex


def masked(number: str, keep_prefix: int, keep_suffix: int) -> str:
    """``number`` with every character outside the kept prefix and suffix as ``*``."""
    hidden = len(number) - keep_prefix - keep_suffix
    return number[:keep_prefix] + "*" * hidden + number[len(number) - keep_suffix :]


def china_today(today: date | None) -> date:
    """``today`` as a date; ``None`` reads the system clock once, in UTC+8."""
    if today is None:
        return datetime.now(CHINA_STANDARD_TIME).date()
    if isinstance(today, datetime):
        return require_aware(today, "today").astimezone(CHINA_STANDARD_TIME).date()
    if not isinstance(today, date):
        raise ConfigurationError("'today' must be a datetime.date or None", argument="today")
    return today


@dataclass(frozen=True, slots=True, repr=False)
class ResidentId:
    """A checked resident identity card number and what its digits say.

    Only :func:`parse_resident_id` should make one; constructing it directly checks
    that the fields agree with ``number`` (and that ``number`` passes every check
    except the one against today's date). ``repr`` and ``str`` show the number
    masked, so logging the object does not log the person's number.

    Attributes:
        number: the normalised 18-character number (``X`` upper-case; a 15-digit
            number upgraded).
        region_code: digits 1-6, the GB/T 2260 code of where the number was first
            issued (it does not follow later moves or renamed counties).
        birth_date: digits 7-14.
        sex: ``"male"`` when the sequence code is odd, ``"female"`` when even.
        sequence: digits 15-17, the sequence code among people of the same region
            and birth date.
        upgraded_from_15: the input was a legacy 15-digit number.
    """

    number: str
    region_code: str
    birth_date: date
    sex: Sex
    sequence: str
    upgraded_from_15: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.number, str) or not _FORM_18.fullmatch(self.number):
            raise _invalid("ResidentId.number must be a normalised 18-character number", "format")
        if self.number[17] == "x":
            raise _invalid("ResidentId.number must have an upper-case X", "format")
        fields = (self.region_code, self.birth_date, self.sequence, self.sex)
        if fields != _decode(self.number) or not isinstance(self.upgraded_from_15, bool):
            raise _invalid("ResidentId fields do not agree with its number", "inconsistent")

    @property
    def check_character(self) -> str:
        """Character 18: ``0``-``9`` or ``X``."""
        return self.number[17]

    def __repr__(self) -> str:
        return f"ResidentId(number={masked(self.number, 3, 1)!r})"


def parse(s: object, *, today: date | None, check_future: bool) -> ResidentId:
    number, upgraded = normalise_layout(s)
    region, born, sequence, sex = _decode(number)
    if check_future and born > china_today(today):
        raise _invalid("the birth date is in the future", "date")
    return ResidentId(number, region, born, sex, sequence, upgraded)


def parse_resident_id(s: str, *, today: date | None = None) -> ResidentId:
    """Check a resident identity card number (GB 11643-1999) and return its parts.

    Accepted: 18 ASCII characters, digits with a final digit or ``X`` (a lower-case
    ``x`` is normalised), or a legacy 15-digit number, which is upgraded by inserting
    ``19`` before the two-digit year and computing the check character. Surrounding
    whitespace is stripped; nothing else is cleaned (no inner spaces or hyphens, no
    full-width digits).

    Checked, in this order: length, characters, the ISO 7064 MOD 11-2 check
    character, that the birth date is a real date from 1850 up to ``today``, and that
    the region code is structurally a GB/T 2260 code (a province code, and digits
    3-4 a prefecture code that GB/T 2260 can assign). The region is *not* looked up in
    a table: codes of counties that no longer exist stay valid on people's cards.

    Args:
        s: the number as typed or stored.
        today: the date a birth date may not be after. ``None`` reads the system
            clock once and takes today's date in China Standard Time (UTC+8), the
            calendar birth dates are written in. An aware :class:`~datetime.datetime`
            is converted to UTC+8; a naive one is refused.

    Raises:
        InvalidIdentifier: the number is not valid. ``context["reason"]`` is one of
            ``type``, ``length``, ``format``, ``check_digit``, ``date``, ``region``.
            Neither the message nor the context contains the number.
        NaiveDatetimeError: ``today`` is a naive datetime.
        ConfigurationError: ``today`` is neither a date nor ``None``.

    >>> rid = parse_resident_id("11010519491231002x")
    >>> rid.number, rid.birth_date.isoformat(), rid.sex, rid.region_code
    ('11010519491231002X', '1949-12-31', 'female', '110105')
    """
    return parse(s, today=today, check_future=True)


def is_valid_resident_id(s: str, *, today: date | None = None) -> bool:
    """Whether :func:`parse_resident_id` accepts ``s``; never raises for any input.

    >>> is_valid_resident_id("110105194912310021"), is_valid_resident_id(None)
    (False, False)
    """
    try:
        parse(s, today=today, check_future=True)
    except InvalidIdentifier:
        return False
    return True
