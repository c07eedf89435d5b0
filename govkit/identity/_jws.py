"""The one compact JWS signer of the identity component (private).

DPoP proofs, ``private_key_jwt`` client assertions and the loopback provider's tokens
are all ``BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`` over canonical
JSON; :class:`~govkit.identity.TokenIssuer` signs access and ID tokens through PyJWT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govkit._encoding import b64url_encode, canonical_json
from govkit.keys import Signer

__all__ = ["sign_compact"]


def sign_compact(signer: Signer, header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    """A compact JWS of ``claims`` with ``header``, signed by ``signer`` (whose JOSE
    signature form :meth:`~govkit.keys.Signer.sign` returns)."""
    signing_input = (
        b64url_encode(canonical_json(dict(header)))
        + "."
        + b64url_encode(canonical_json(dict(claims)))
    )
    return signing_input + "." + b64url_encode(signer.sign(signing_input.encode("ascii")))
