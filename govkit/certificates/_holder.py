"""The holder's side: a device key making ``GKP1:`` presentations of selective licences.

The holder's app keeps a :class:`SelectiveCredential` (``_selective``: the signed
licence and every disclosure) and shows a :class:`Presentation` (text ``GKP1:``): the
signed licence, the disclosures it chooses, the time, and a signature by the device key
over all of them and the verifier's nonce.

Wire format (all CBOR canonical, RFC 8949 section 4.2.3; ``disclosure`` and the 16-byte
nodes are those of ``_selective``)::

    presentation       = [licence: bstr (COSE_Sign1), disclosures: [* disclosure],
                          proof: bstr (16-byte nodes), t: uint (seconds),
                          device signature: bstr]
    signed by device   = ["GKP1", licence, [* bstr .cbor disclosure], proof, t,
                          nonce or h'']
    text               = "GKP1:" + base45(presentation)

The verifier (``_presentation``) rebuilds ``signed by device`` with ``_to_sign``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import cbor2

from govkit._encoding import b45encode
from govkit.certificates._selective import SelectiveCredential, _leaf, _multiproof
from govkit.certificates.qr import make_qr
from govkit.clock import Clock, SystemClock, require_aware
from govkit.errors import ConfigurationError
from govkit.keys import SigningKey, VerifyingKey

__all__ = ["PRESENTATION_PREFIX", "HolderDevice", "Presentation"]

#: Context prefix of a presentation (the dynamic QR).
PRESENTATION_PREFIX: Final = "GKP1:"
_CONTEXT: Final = "GKP1"


@dataclass(frozen=True)
class Presentation:
    """One presentation: the dynamic QR text and what it discloses."""

    text: str
    disclosed: tuple[str, ...]
    presented_at: datetime
    nonce_bound: bool

    def qr_png(self, *, scale: int = 8) -> bytes:
        """The QR code (error-correction level M) as PNG bytes."""
        return make_qr(self.text, ec_level="M").to_png(scale=scale)

    def qr_svg(self) -> str:
        """The QR code (error-correction level M) as SVG text."""
        return make_qr(self.text, ec_level="M").to_svg()

    def qr_version(self) -> int:
        """The QR version the text needs at error-correction level M."""
        return make_qr(self.text, ec_level="M").version


class HolderDevice:
    """The holder's phone: its device key makes presentations of its licences.

    Args:
        key: the device's signing key (EdDSA or ES256; on a real phone, one kept in
            the secure element and used through the :class:`~govkit.keys.Signer`
            protocol).
        clock: time source for the presentation time.
    """

    def __init__(self, key: SigningKey, *, clock: Clock | None = None) -> None:
        if not isinstance(key, SigningKey) or key.alg not in ("EdDSA", "ES256"):
            raise ConfigurationError("a device key must be an EdDSA or ES256 SigningKey")
        self._key = key
        self._clock: Clock = clock or SystemClock()

    @property
    def verifying_key(self) -> VerifyingKey:
        """The public key an issuer binds licences to."""
        return self._key.verifying_key

    def present(
        self,
        credential: SelectiveCredential,
        disclose: Iterable[str],
        *,
        nonce: bytes | None = None,
        at: datetime | None = None,
    ) -> Presentation:
        """Make a presentation revealing only ``disclose`` (item names).

        Args:
            credential: a licence bound to this device.
            disclose: the items to reveal (see :func:`disclosable_items`).
            nonce: the verifier's challenge, when it shows one; without it, the
                presentation is bound to the current time (a dynamic QR).
            at: the presentation time (default: the clock).

        Raises:
            ConfigurationError: the credential is bound to another device, or an item
                name is unknown.
        """
        if credential.device_key() != self._key.verifying_key:
            raise ConfigurationError("the credential is bound to another device key")
        wanted = list(dict.fromkeys(disclose))
        unknown = [n for n in wanted if n not in credential.disclosures]
        if unknown:
            raise ConfigurationError(f"unknown items: {', '.join(sorted(unknown))[:200]}")
        if nonce is not None and not isinstance(nonce, bytes):
            raise ConfigurationError("nonce must be bytes")
        when = require_aware(at) if at is not None else self._clock.now()
        order = credential.items
        indices = sorted(order.index(n) for n in wanted)
        chosen = [credential.disclosures[order[i]] for i in indices]
        leaves = [_leaf(item) for item in credential.disclosures.values()]
        proof = _multiproof(leaves, indices)
        seconds = int(when.timestamp())
        signature = self._key.sign(_to_sign(credential.signed, chosen, proof, seconds, nonce))
        shown = [cbor2.loads(item) for item in chosen]  # arrays, not wrapped in bstr
        body = cbor2.dumps([credential.signed, shown, proof, seconds, signature], canonical=True)
        return Presentation(
            PRESENTATION_PREFIX + b45encode(body),
            tuple(sorted(wanted, key=order.index)),
            datetime.fromtimestamp(seconds, UTC),
            nonce is not None,
        )


def _to_sign(
    licence: bytes,
    disclosures: Sequence[bytes],
    proof: bytes,
    seconds: int,
    nonce: bytes | None,
) -> bytes:
    return cbor2.dumps(
        [_CONTEXT, licence, list(disclosures), proof, seconds, nonce or b""], canonical=True
    )
