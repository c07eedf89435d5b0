"""Names of GB/T 2260 region codes, from python-stdnum's table."""

from __future__ import annotations

import re
from typing import Final

from stdnum import numdb

__all__ = ["region_name"]

_CODE = re.compile(r"[0-9]{6}")
#: ``[start-end]name``; either year may be missing.
_DATED = re.compile(r"\[([0-9]*)-([0-9]*)\](.*)")
#: Rows that group counties rather than name a place.
_PLACEHOLDERS: Final = frozenset({"", "市辖区", "县"})
_GROUPING_SUFFIXES: Final = ("直辖县级行政单位", "直辖县级行政区划")


def _pick(names: str, year: int | None) -> str:
    """The name in use in ``year`` from ``[1984-1991]郊区,[2003-]金平区``; else the latest."""
    options: list[tuple[int, int, str]] = []
    for part in names.split(","):
        dated = _DATED.fullmatch(part)
        if dated is None:
            options.append((0, 9999, part))
        else:
            start, end, name = dated.groups()
            options.append((int(start or 0), int(end or 9999), name))
    if year is not None:
        current = [name for start, end, name in options if start <= year <= end]
        if current:
            return current[-1]
    return options[-1][2]


def _lookup(code: str, year: int | None) -> str | None:
    found: dict[str, str] = {}
    for _part, properties in numdb.get("cn/loc").info(code):
        found.update({str(k): str(v) for k, v in properties.items()})
    if "county" not in found:
        return None
    return _pick(found["county"], year)


def region_name(code: str, *, year: int | None = None) -> str | None:
    """The place a GB/T 2260 region code names, or ``None`` when it is not known.

    Names come from python-stdnum's table (``stdnum/cn/loc.dat``, compiled from
    Wikipedia's lists of GB/T 2260 codes since 1980). It is informative only: it may
    lack historical codes and new ones, and :func:`parse_resident_id` never consults
    it. A code that names different places over time gives the name in use in
    ``year`` (for a resident ID number, the birth year is a fair guess for when it
    was issued) or, when ``year`` is ``None`` or matches none, the latest name.
    Grouping rows (``市辖区``, ``县``, ``省直辖县级行政单位``) are left out. Never
    raises: anything but six ASCII digits (and an int or ``None`` year) gives ``None``.

    >>> region_name("440524"), region_name("110105")
    ('广东省汕头市潮阳县', '北京市朝阳区')
    >>> region_name("440511", year=1985), region_name("440511"), region_name("449999")
    ('广东省汕头市郊区', '广东省汕头市金平区', None)
    """
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return None
    if isinstance(year, bool) or not isinstance(year, int | None):
        return None
    county = _lookup(code, year)
    if county is None:
        return None
    if code[2:] == "0000":
        return county
    province = _lookup(code[:2] + "0000", year) or ""
    prefecture = ""
    if code[2:4] != "00" and code[4:] != "00":
        prefecture = _lookup(code[:4] + "00", year) or ""
    names = (province, prefecture, county)
    return "".join(
        name
        for name in names
        if name not in _PLACEHOLDERS and not name.endswith(_GROUPING_SUFFIXES)
    )
