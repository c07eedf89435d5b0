"""Keyed pseudonyms of resident ID numbers, for lookups without storing the number."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from govkit._encoding import b64url_encode
from govkit.errors import ConfigurationError
from govkit.identity.cn._resident import parse

__all__ = ["MIN_SECRET_BYTES", "pseudonymous_id"]

#: The shortest secret :func:`pseudonymous_id` accepts (128 bits).
MIN_SECRET_BYTES: Final = 16


def pseudonymous_id(secret: bytes, number: str) -> str:
    """A stable keyed pseudonym of a resident ID number: ``base64url(HMAC-SHA-256)``.

    The HMAC key is ``secret`` and the message is the normalised 18-character number
    in ASCII (``X`` upper-case, a 15-digit number upgraded), so every spelling of one
    number gives one pseudonym: index and look people up by it, and store or put in
    tokens the pseudonym, never the number. The result is 43 characters of unpadded
    base64url.

    The number is checked as :func:`parse_resident_id` checks it, except that the
    birth date is not compared with today's date (a lookup key needs no clock).

    Anyone holding ``secret`` can test guesses (valid numbers are few: about 10^11 in
    all, a thousand per region and birth date), so keep it in a key store, use one
    secret per purpose, and treat the pseudonyms as personal data. With the same key,
    the digest equals the one :mod:`govkit.audit` records for a personal field that
    holds the same normalised number (there tagged ``hmac-sha256:``); use different
    secrets where the two must not be linkable.

    Raises:
        ConfigurationError: ``secret`` is not bytes or is shorter than 16 bytes.
        InvalidIdentifier: ``number`` is not a valid resident ID number.

    >>> secret = bytes(range(32))  # in real use: 32 random bytes from a key store
    >>> pseudonymous_id(secret, "11010519491231002x")
    'pmdVRTsQbc6gz6JkIUrln_HosGfz5fOqgIXh2HV4gOs'
    >>> pseudonymous_id(secret, "110105491231002")  # the same number, 15-digit form
    'pmdVRTsQbc6gz6JkIUrln_HosGfz5fOqgIXh2HV4gOs'
    """
    if not isinstance(secret, bytes | bytearray):
        raise ConfigurationError("the pseudonym secret must be bytes", argument="secret")
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"the pseudonym secret must be at least {MIN_SECRET_BYTES} bytes",
            argument="secret",
            size=len(secret),
        )
    normalised = parse(number, today=None, check_future=False).number
    digest = hmac.new(bytes(secret), normalised.encode("ascii"), hashlib.sha256).digest()
    return b64url_encode(digest)
