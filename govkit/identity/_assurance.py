"""Assurance levels (eIDAS LoA) and authentication method references (RFC 8176)."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from govkit.errors import MissingClaim

__all__ = ["AMR_VALUES", "AssuranceLevel"]

_EIDAS_PREFIX: Final = "http://eidas.europa.eu/LoA/"


class AssuranceLevel(IntEnum):
    """How sure the issuer is of the person's identity, ordered ``LOW < SUBSTANTIAL < HIGH``.

    The levels are the eIDAS levels of assurance (Commission Implementing Regulation
    (EU) 2015/1502); a token carries one in its ``acr`` claim as the eIDAS URI.
    Being an :class:`~enum.IntEnum`, levels compare by strength, so a service
    requiring ``SUBSTANTIAL`` accepts ``HIGH``.

    >>> AssuranceLevel.HIGH.acr
    'http://eidas.europa.eu/LoA/high'
    >>> AssuranceLevel.from_acr("http://eidas.europa.eu/LoA/substantial") >= AssuranceLevel.LOW
    True
    >>> AssuranceLevel.from_acr("substantial").name
    'SUBSTANTIAL'
    """

    LOW = 1
    SUBSTANTIAL = 2
    HIGH = 3

    @property
    def acr(self) -> str:
        """The eIDAS URI carried in the ``acr`` claim, e.g. ``http://eidas.europa.eu/LoA/high``."""
        return _EIDAS_PREFIX + self.name.lower()

    @property
    def label(self) -> str:
        """The lower-case name (``low``, ``substantial``, ``high``), as audit events use it."""
        return self.name.lower()

    @classmethod
    def from_acr(cls, value: object) -> AssuranceLevel:
        """The level named by an ``acr`` value: an eIDAS URI or ``low``/``substantial``/``high``.

        URIs must match exactly; the short names are case-insensitive.

        Raises:
            MissingClaim: ``value`` is not a string or names no known level (the
                message names the claim, never the value).
        """
        if isinstance(value, str):
            level = _BY_ACR.get(value) or _BY_NAME.get(value.lower())
            if level is not None:
                return level
            raise MissingClaim(
                "claim 'acr' is not a known assurance level (eIDAS low, substantial or high)",
                claim="acr",
            )
        raise MissingClaim("claim 'acr' must be a string", claim="acr")


_BY_ACR: Final[dict[str, AssuranceLevel]] = {level.acr: level for level in AssuranceLevel}
_BY_NAME: Final[dict[str, AssuranceLevel]] = {level.label: level for level in AssuranceLevel}

#: Authentication method reference values registered by RFC 8176 section 2 (``face`` is
#: facial recognition). :class:`~govkit.identity.TokenIssuer` refuses any other ``amr``.
AMR_VALUES: Final[frozenset[str]] = frozenset(
    {
        "face",  # facial recognition
        "fpt",  # fingerprint
        "geo",  # geolocation
        "hwk",  # proof of possession of a hardware-secured key
        "iris",  # iris scan
        "kba",  # knowledge-based authentication
        "mca",  # multiple-channel authentication
        "mfa",  # multiple-factor authentication
        "otp",  # one-time password
        "pin",  # personal identification number
        "pop",  # proof of possession of a key
        "pwd",  # password
        "rba",  # risk-based authentication
        "retina",  # retina scan
        "sc",  # smart card
        "sms",  # confirmation by SMS to a registered number
        "swk",  # proof of possession of a software-secured key
        "tel",  # confirmation by telephone call
        "user",  # user presence test
        "vbm",  # voice biometric
        "wia",  # Windows integrated authentication
    }
)
