"""Display masks for resident ID numbers, mainland mobile numbers and names."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from govkit.errors import ConfigurationError, InvalidIdentifier
from govkit.identity.cn._resident import masked, normalise_layout

__all__ = ["mask_name", "mask_phone", "mask_resident_id"]

#: Characters 7-14 (birth date) and 17 (sex) are always hidden, so at most the first
#: 6 (region) and the last 1 (check character) can be kept.
MAX_KEEP_PREFIX: Final = 6
MAX_KEEP_SUFFIX: Final = 1

_MOBILE = re.compile(r"(?:\+86[ -]?)?(1[3-9][0-9]{9})")
#: Kept as they are in a masked name, so its shape still reads as a name.
_NAME_SEPARATORS: Final = frozenset("-'\u00b7\u2019\u2022\u2027\u30fb")


def mask_resident_id(s: str, *, keep_prefix: int = 3, keep_suffix: int = 1) -> str:
    """Mask a resident ID number for display: ``110**************X`` by default.

    The result is always the 18-character form (a 15-digit number is upgraded
    first), with every character outside the first ``keep_prefix`` and the last
    ``keep_suffix`` replaced by ``*``. Characters 7-14 (the birth date) and 17 (the
    sex) are always hidden, so ``keep_prefix`` may be 0-6 and ``keep_suffix`` 0-1.

    Only the layout is checked (length and characters), not the check character,
    date or region: a number already stored can always be shown masked.

    Raises:
        ConfigurationError: ``keep_prefix`` or ``keep_suffix`` would show a hidden
            character.
        InvalidIdentifier: ``s`` does not have the layout of a resident ID number.

    >>> mask_resident_id("11010519491231002X")
    '110**************X'
    >>> mask_resident_id("11010519491231002X", keep_prefix=6, keep_suffix=0)
    '110105************'
    """
    for name, value, limit in (
        ("keep_prefix", keep_prefix, MAX_KEEP_PREFIX),
        ("keep_suffix", keep_suffix, MAX_KEEP_SUFFIX),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
            raise ConfigurationError(
                f"{name} must be an int from 0 to {limit}: characters 7-14 (birth date) "
                "and 17 (sex) of a resident ID number are never shown",
                argument=name,
            )
    number, _ = normalise_layout(s)
    return masked(number, keep_prefix, keep_suffix)


def mask_phone(s: str) -> str:
    """Mask a mainland mobile number as ``138****5678``.

    Accepts 11 ASCII digits starting ``13``-``19``, optionally after ``+86`` (alone or
    followed by one space or hyphen); surrounding whitespace is stripped. The result
    is the masked national number, without ``+86``.

    Raises:
        InvalidIdentifier: ``s`` is not a mainland mobile number
            (``context["identifier"]`` is ``"phone"``).

    >>> mask_phone("13812345678"), mask_phone("+86 13812345678")
    ('138****5678', '138****5678')
    """
    match = _MOBILE.fullmatch(s.strip()) if isinstance(s, str) else None
    if match is None:
        raise InvalidIdentifier(
            "not a mainland mobile number (11 digits starting 13-19, optionally after +86)",
            identifier="phone",
            reason="format",
        )
    national = match.group(1)
    return national[:3] + "****" + national[7:]


def mask_name(s: str) -> str:
    """Mask a person's name, keeping its first character: ``张三丰`` -> ``张**``.

    The text is stripped and NFC-normalised; then every character after the first
    becomes ``*``, except whitespace and name separators (the middle dots ``·``,
    ``・``, ``‧``, ``•``, hyphens and apostrophes), which are kept so that
    ``阿卜杜拉·买买提`` becomes ``阿***·***`` and ``Li Xiaoming`` becomes
    ``L* ********``. A one-character name becomes ``*``. A compound surname
    (``欧阳``) keeps only its first character.

    Raises:
        InvalidIdentifier: ``s`` is not a str, is empty or holds control characters
            or lone surrogates (``context["identifier"]`` is ``"name"``).

    >>> mask_name("张三丰"), mask_name("张三"), mask_name("张")
    ('张**', '张*', '*')
    """
    if not isinstance(s, str):
        raise InvalidIdentifier("a name must be a str", identifier="name", reason="type")
    text = s.strip()
    if not text:
        raise InvalidIdentifier("the name is empty", identifier="name", reason="length")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        raise InvalidIdentifier(
            "the name holds control characters or lone surrogates",
            identifier="name",
            reason="format",
        )
    text = unicodedata.normalize("NFC", text)
    if len(text) == 1:
        return "*"
    rest = (c if c.isspace() or c in _NAME_SEPARATORS else "*" for c in text[1:])
    return text[0] + "".join(rest)
