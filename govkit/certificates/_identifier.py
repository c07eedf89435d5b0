"""Electronic licence identifiers (电子证照标识, GB/T 36904-2018).

>>> from govkit.certificates._identifier import licence_id, parse_licence_id
>>> text = licence_id("11100000000013338W011", "11430000006122244L", "20230000403")
>>> text
'1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U'
>>> parse_licence_id(text).serial
'20230000403'

Layout::

    1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>

* ``1.2.156.3005.2`` is the OID arc of electronic licences (the root code).
* ``<type code>`` (证照类型代码): the 18-character unified social credit code of the
  authority that defines the licence type, followed by 3 digits (21 characters).
* ``<issuer code>`` (颁发机构代码): the issuing agency's 18-character unified social
  credit code.
* ``<serial>`` (流水号): 1-64 digits or upper-case letters, chosen by the issuer.
* ``<version>`` (版本号): 3 digits, ``000``-``999``.
* ``<check>`` (校验位): ISO/IEC 7064 MOD 37,36 (hybrid system) over the type code,
  issuer code, serial and version concatenated without dots (the root code is not
  included), with the alphabet ``0-9A-Z``. The example above is a real identifier
  quoted in a public provincial interface document; its check character agrees.

Both unified social credit codes are checked with the GB 32100-2015 check character.
The check characters are computed by the one implementation govkit has
(:mod:`govkit._encoding`, shared with :mod:`govkit.identity.cn`). Nothing is
normalised: lower case, whitespace and other separators are refused, so an identifier
has exactly one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Final

from govkit._encoding import (
    ALNUM_ALPHABET,
    mod37_36_check_character,
    mod37_36_state,
    uscc_check_character,
)
from govkit.errors import LicenceDataInvalid

__all__ = ["ROOT_OID", "LicenceId", "licence_id", "mod37_36_check", "parse_licence_id"]

#: The OID arc every electronic licence identifier starts with.
ROOT_OID: Final = "1.2.156.3005.2"

_SERIAL = re.compile(r"[0-9A-Z]{1,64}")
_VERSION = re.compile(r"[0-9]{3}")
_DIGITS: Final = "0123456789"
_TYPE_SUFFIX = re.compile(r"[0-9]{3}")
#: Longest possible identifier: root, 21 + 18 + 64 + 3 + 1 characters and 5 dots.
MAX_LENGTH: Final = len(ROOT_OID) + 21 + 18 + 64 + 3 + 1 + 5
_ROOT_DOT: Final = ROOT_OID + "."


def mod37_36_check(text: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character of ``text`` (characters ``0-9A-Z``).

    The hybrid system with M = 36: start with ``p = 36``; for each character
    ``s = (p + value) mod 36`` (0 becomes 36) and ``p = 2s mod 37``; the check
    character has the value ``(37 - p) mod 36``.

    >>> mod37_36_check("A12425GABC1234002")
    'M'

    Raises:
        LicenceDataInvalid: ``text`` holds a character outside ``0-9A-Z``.
    """
    check = mod37_36_check_character(text)
    if check is None:
        raise LicenceDataInvalid(
            "MOD 37,36 input must be digits and upper-case letters", reason="format"
        )
    return check


def is_uscc(code: object) -> bool:
    """Whether ``code`` is an 18-character unified social credit code with a valid check.

    The GB 32100-2015 alphabet and check character, and digits in characters 3-8;
    :func:`govkit.identity.cn.parse_uscc` checks more (registration authority,
    entity type, the embedded GB 11714 code) with the same check character.
    """
    return (
        isinstance(code, str)
        and len(code) == 18
        and code[2:8].isdigit()
        and uscc_check_character(code[:17]) == code[17]
    )


def is_type_code(code: object) -> bool:
    """Whether ``code`` is a licence type code: a valid USCC followed by 3 digits."""
    return (
        isinstance(code, str)
        and len(code) == 21
        and is_uscc(code[:18])
        and bool(_TYPE_SUFFIX.fullmatch(code[18:]))
    )


def _invalid(message: str, reason: str) -> LicenceDataInvalid:
    return LicenceDataInvalid(message, field="id", reason=reason)


@dataclass(frozen=True, slots=True)
class LicenceId:
    """A checked GB/T 36904 licence identifier and its parts.

    Constructing one checks every part and that ``check`` is the MOD 37,36 check
    character of the others; :func:`parse_licence_id` builds one from text and
    ``str(licence_id)`` gives the text back.

    Attributes:
        type_code: 21 characters, the defining authority's USCC and 3 digits.
        issuer_code: the issuing agency's 18-character USCC.
        serial: 1-64 digits or upper-case letters.
        version: 0-999 (written with 3 digits).
        check: the MOD 37,36 check character.
    """

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check: str

    def __post_init__(self) -> None:
        if not is_type_code(self.type_code):
            raise _invalid("the type code is not a USCC followed by 3 digits", "type_code")
        if not is_uscc(self.issuer_code):
            raise _invalid("the issuer code is not a valid USCC", "issuer_code")
        if not isinstance(self.serial, str) or not _SERIAL.fullmatch(self.serial):
            raise _invalid("the serial must be 1-64 digits or upper-case letters", "serial")
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise _invalid("the version must be an int", "version")
        if not 0 <= self.version <= 999:
            raise _invalid("the version must be from 0 to 999", "version")
        # every part is 0-9A-Z by now, so the check character is never None here
        if self.check != mod37_36_check_character(self._body()):
            raise _invalid("the check character does not match", "check")

    def _body(self) -> str:
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}"

    def __str__(self) -> str:
        return (
            f"{ROOT_OID}.{self.type_code}.{self.issuer_code}.{self.serial}."
            f"{self.version:03d}.{self.check}"
        )


def licence_id(type_code: str, issuer_code: str, serial: str, version: int = 1) -> str:
    """Build a GB/T 36904 licence identifier, computing its check character.

    Args:
        type_code: the licence type code (a USCC and 3 digits, 21 characters).
        issuer_code: the issuing agency's USCC.
        serial: 1-64 digits or upper-case letters, unique for the issuer and type.
        version: 0-999; written with 3 digits.

    Raises:
        LicenceDataInvalid: a part is malformed (``context["reason"]`` names it:
            ``type_code``, ``issuer_code``, ``serial``, ``version``).
    """
    if not is_type_code(type_code):
        raise _invalid("the type code is not a USCC followed by 3 digits", "type_code")
    if not is_uscc(issuer_code):
        raise _invalid("the issuer code is not a valid USCC", "issuer_code")
    if not isinstance(serial, str) or not _SERIAL.fullmatch(serial):
        raise _invalid("the serial must be 1-64 digits or upper-case letters", "serial")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 999:
        raise _invalid("the version must be an int from 0 to 999", "version")
    check = mod37_36_check(f"{type_code}{issuer_code}{serial}{version:03d}")
    return str(LicenceId(type_code, issuer_code, serial, version, check))


def parse_licence_id(s: object) -> LicenceId:
    """Parse and check a GB/T 36904 licence identifier.

    Raises:
        LicenceDataInvalid: ``s`` is not a valid identifier. ``context["reason"]`` is
            one of ``type``, ``length``, ``layout``, ``root``, ``type_code``,
            ``issuer_code``, ``serial``, ``version``, ``check``; the identifier
            itself is never quoted.
    """
    if not isinstance(s, str):
        raise _invalid("a licence identifier must be a str", "type")
    if not 0 < len(s) <= MAX_LENGTH:
        raise _invalid(f"a licence identifier has at most {MAX_LENGTH} characters", "length")
    root_dot = ROOT_OID + "."
    if not s.startswith(root_dot):
        raise _invalid(f"a licence identifier starts with {ROOT_OID}", "root")
    parts = s[len(root_dot) :].split(".")
    if len(parts) != 5:
        raise _invalid("a licence identifier has five parts after the root code", "layout")
    type_code, issuer_code, serial, version, check = parts
    if not _VERSION.fullmatch(version):
        raise _invalid("the version must be 3 digits", "version")
    if len(check) != 1 or check not in ALNUM_ALPHABET:
        raise _invalid("the check character must be one digit or upper-case letter", "check")
    return LicenceId(type_code, issuer_code, serial, int(version), check)


#: The most (type code, issuer code) pairs an :class:`_IdMemo` remembers.
_ID_MEMO_MAX: Final = 256


class _IdMemo:
    """What the licence verifier remembers of identifiers, for one verifier (each
    :class:`~govkit.certificates.CertificateVerifier` makes its own; nothing is kept
    at module level): the MOD 37,36 running value after a type code and an issuer
    code, keyed by exactly those two (checked) codes, at most :data:`_ID_MEMO_MAX`
    pairs (emptied when full). An issuer's licences of one type all start so."""

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], int | None] = {}

    def state(self, type_code: str, issuer_code: str) -> int | None:
        """``mod37_36_state(type_code + issuer_code)``, remembered."""
        key = (type_code, issuer_code)
        states = self._states
        if key in states:
            return states[key]
        found = mod37_36_state(type_code + issuer_code)
        if len(states) >= _ID_MEMO_MAX:
            states.clear()
        states[key] = found
        return found


def _known_id_codes(
    s: object,
    known_type_codes: Container[str],
    known_uscc: str | None,
    memo: _IdMemo | None = None,
) -> tuple[str, str]:
    """The type code and issuer code of identifier ``s``, for the licence verifier.

    Refuses exactly what :func:`parse_licence_id` refuses, with the same errors in the
    same order, but a type code in ``known_type_codes`` (a registry's, each checked
    when its :class:`LicenceType` was built) and an issuer code equal to
    ``known_uscc`` (a trusted :class:`Agency`'s, checked when it was built) are not
    checked again; every other part is checked as :meth:`LicenceId.__post_init__`
    checks it. ``memo`` (the verifier's) remembers the check character's running value
    after the type and issuer codes.
    """
    if not isinstance(s, str) or not 0 < len(s) <= MAX_LENGTH or not s.startswith(_ROOT_DOT):
        return _codes(parse_licence_id(s))  # (it refuses s)
    parts = s[len(_ROOT_DOT) :].split(".")
    if len(parts) != 5:
        return _codes(parse_licence_id(s))
    type_code, issuer_code, serial, version, check = parts
    # _VERSION and _SERIAL by str methods (strip leaves nothing when every character
    # is of the set): no regular expression on the verify path
    if (
        len(version) != 3
        or version.strip(_DIGITS)
        or len(check) != 1
        or check not in ALNUM_ALPHABET
    ):
        return _codes(parse_licence_id(s))
    if type_code not in known_type_codes and not is_type_code(type_code):
        raise _invalid("the type code is not a USCC followed by 3 digits", "type_code")
    if issuer_code != known_uscc and not is_uscc(issuer_code):
        raise _invalid("the issuer code is not a valid USCC", "issuer_code")
    if not 0 < len(serial) <= 64 or serial.strip(ALNUM_ALPHABET):
        raise _invalid("the serial must be 1-64 digits or upper-case letters", "serial")
    # 3 digits: an int from 0 to 999. Every part is 0-9A-Z by now (the codes are
    # USCCs, the registry's or checked above), so the check character is never None.
    if memo is None:
        p = mod37_36_state(f"{type_code}{issuer_code}{serial}{version}")
    else:
        start = memo.state(type_code, issuer_code)
        p = None if start is None else mod37_36_state(serial + version, start)
    if p is None or check != ALNUM_ALPHABET[(37 - p) % 36]:
        raise _invalid("the check character does not match", "check")
    return type_code, issuer_code


def _codes(parsed: LicenceId) -> tuple[str, str]:
    return parsed.type_code, parsed.issuer_code
