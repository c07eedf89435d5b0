"""AES-256-GCM sealing under keys derived from the application's keys (one place for it).

:class:`Sealer` is what the flow stores seal their secrets with, and what the login
routes of :mod:`govkit.integrations` seal their session cookies with.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govkit.errors import ConfigurationError

__all__ = ["Sealer", "derive_key"]

#: The random nonce in front of every sealed value; the 16-byte tag follows the data.
NONCE_SIZE: Final = 12
_TAG_SIZE: Final = 16


def derive_key(key: bytes, info: bytes) -> bytes:
    """A 32-byte key for one purpose (``info``), derived from ``key`` with HKDF-SHA256."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(key)


class Sealer:
    """Seals and opens values with AES-256-GCM under keys derived from ``keys``.

    The first key seals; every key opens, so a key can be rotated by putting the new one
    first and keeping the old one until what it sealed has expired. ``info`` names the
    purpose (keys derived for one purpose open nothing sealed for another), and the
    associated data given to :meth:`seal` must be given again to :meth:`open`.

    >>> sealer = Sealer([bytes(32)], info=b"example/v1 seal")
    >>> sealed = sealer.seal(b"secret", b"handle-1")
    >>> sealer.open(sealed, b"handle-1"), sealer.open(sealed, b"handle-2")
    (b'secret', None)

    Raises:
        ConfigurationError: no key, or a key shorter than 32 bytes.
    """

    __slots__ = ("_aeads",)

    def __init__(self, keys: Sequence[bytes], *, info: bytes) -> None:
        given: object = keys  # a bare key (bytes) is a mistake, not a sequence of keys
        if isinstance(given, bytes | bytearray | str) or not keys:
            raise ConfigurationError("a sealer needs a sequence of keys, the sealing one first")
        if not all(isinstance(k, bytes) and len(k) >= 32 for k in keys):
            raise ConfigurationError("a sealing key must be at least 32 random bytes")
        self._aeads = tuple(AESGCM(derive_key(k, info)) for k in keys)

    def seal(self, data: bytes, associated: bytes) -> bytes:
        """``nonce || ciphertext || tag`` of ``data``, bound to ``associated``."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aeads[0].encrypt(nonce, data, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes | None:
        """The data, or ``None`` when no key opens ``sealed`` with ``associated``
        (changed, moved, sealed under another key, or not a sealed value at all)."""
        if len(sealed) < NONCE_SIZE + _TAG_SIZE:
            return None
        for aead in self._aeads:
            try:
                return aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], associated)
            except InvalidTag:
                continue
        return None
