"""Chinese identity data: resident ID numbers, unified social credit codes, masks.

>>> from datetime import date
>>> from govkit.identity.cn import mask_resident_id, parse_resident_id, parse_uscc
>>> person = parse_resident_id(" 11010519491231002x ", today=date(2026, 1, 1))
>>> person.number, person.birth_date, person.sex
('11010519491231002X', datetime.date(1949, 12, 31), 'female')
>>> person
ResidentId(number='110**************X')
>>> mask_resident_id(person.number)
'110**************X'
>>> parse_resident_id("110105194912310021")
Traceback (most recent call last):
    ...
govkit.errors.InvalidIdentifier: the resident ID number's check character does not match
>>> parse_uscc("91350100M000100Y43").registration_authority
'9'

* :func:`parse_resident_id` / :func:`is_valid_resident_id`: GB 11643-1999 resident
  identity card numbers (公民身份号码), 18 characters or legacy 15 digits: check
  character, birth date, structural region code.
* :func:`parse_uscc` / :func:`is_valid_uscc`: GB 32100-2015 unified social credit
  codes (统一社会信用代码), with the embedded GB 11714 organisation code's own check
  character and the registration authority / entity type table.
* :func:`mask_resident_id`, :func:`mask_phone`, :func:`mask_name`: display masks that
  never show a birth date or sex.
* :func:`pseudonymous_id`: an HMAC of the normalised number, to look people up without
  storing or passing around their number.
* :func:`region_name`: the place a region code names, when python-stdnum knows it.

Every refusal is an :class:`~govkit.errors.InvalidIdentifier` (code
``identifier.invalid``) whose ``context`` holds ``identifier`` (``resident_id``,
``uscc``, ``phone`` or ``name``) and ``reason``; no message or context ever contains the
refused value. ``docs/guide/chinese-identifiers.rst`` explains what is and is not
checked.
"""

from govkit.identity.cn._mask import mask_name, mask_phone, mask_resident_id
from govkit.identity.cn._pseudonym import pseudonymous_id
from govkit.identity.cn._regions import region_name
from govkit.identity.cn._resident import (
    ResidentId,
    Sex,
    is_valid_resident_id,
    parse_resident_id,
)
from govkit.identity.cn._uscc import AUTHORITY_ENTITY_TYPES, Uscc, is_valid_uscc, parse_uscc

__all__ = [
    "AUTHORITY_ENTITY_TYPES",
    "ResidentId",
    "Sex",
    "Uscc",
    "is_valid_resident_id",
    "is_valid_uscc",
    "mask_name",
    "mask_phone",
    "mask_resident_id",
    "parse_resident_id",
    "parse_uscc",
    "pseudonymous_id",
    "region_name",
]
