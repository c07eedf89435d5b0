"""Byte helpers shared by the provider adapters: strict base64, constant-time comparison.

Keys are not handled here: the adapters hold :mod:`govkit.keys` objects, made by the
loaders in :mod:`govkit.payments._keys`.
"""

from __future__ import annotations

import binascii
import hmac

from govkit.errors import PaymentMalformed

__all__ = ["b64decode_strict", "consteq"]


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 with padding; anything else is malformed."""
    try:  # what base64.b64decode(..., validate=True) does, less its Python layer
        return binascii.a2b_base64(text, strict_mode=True)  # non-ASCII text: ValueError
    except ValueError:  # binascii.Error included
        raise PaymentMalformed(f"{what} is not base64") from None


def consteq(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two strings or byte strings."""
    left = a.encode("utf-8") if isinstance(a, str) else a
    right = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)
