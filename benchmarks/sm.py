"""SM2 sign/s and verify/s beside Ed25519 and ES256, measured in the same run.

Every row times govkit's SM2 key (``govkit[sm]``, Tongsuo through tongsuopy) against a
reference: govkit's EdDSA or ES256 key for the same operation and message, and, for the
wrapper's own cost, tongsuopy's key object called directly with DER signatures.
"""

from __future__ import annotations

from functools import partial

from benchmarks._harness import Comparison, compare
from govkit.keys import SigningKey

#: Printed under the table.
NOTES = (
    "govkit = the SM2 key; reference = the row's other algorithm (through govkit) or\n"
    "tongsuopy itself (DER, no r||s conversion). Ratio = SM2 ops/s over the reference's:\n"
    "under 1 means SM2 is slower. SM2 hashes Z || M with SM3 before signing."
)

MESSAGE = b"licence GD-2026-000042 issued to Acme Ltd for 2026-2031" * 4


def run(quick: bool) -> list[Comparison]:
    """SM2 against Ed25519, ES256 and raw tongsuopy, sign and verify."""
    from tongsuopy.crypto import hashes as t_hashes  # noqa: PLC0415 - needs govkit[sm]
    from tongsuopy.crypto.asymciphers import ec as t_ec  # noqa: PLC0415

    rounds = 7 if quick else 41
    number_sign, number_verify = (20, 20) if quick else (100, 100)
    sm2 = SigningKey.generate("SM2")
    signature = sm2.sign(MESSAGE)
    sm2.verifying_key.verify(signature, MESSAGE)
    results: list[Comparison] = []
    for alg in ("EdDSA", "ES256"):
        other = SigningKey.generate(alg)
        other_signature = other.sign(MESSAGE)
        results.append(
            compare(
                f"SM2 sign vs {alg}",
                partial(sm2.sign, MESSAGE),
                partial(other.sign, MESSAGE),
                number=number_sign,
                rounds=rounds,
            )
        )
        results.append(
            compare(
                f"SM2 verify vs {alg}",
                partial(sm2.verifying_key.verify, signature, MESSAGE),
                partial(other.verifying_key.verify, other_signature, MESSAGE),
                number=number_verify,
                rounds=rounds,
            )
        )
    raw = t_ec.generate_private_key(t_ec.SM2())
    raw_public = raw.public_key()
    algorithm = t_ec.ECDSA(t_hashes.SM3())
    raw_der = raw.sign(MESSAGE, algorithm)
    results.append(
        compare(
            "SM2 sign vs tongsuopy",
            partial(sm2.sign, MESSAGE),
            partial(raw.sign, MESSAGE, algorithm),
            number=number_sign,
            rounds=rounds,
            note="govkit returns raw r||s",
        )
    )
    results.append(
        compare(
            "SM2 verify vs tongsuopy",
            partial(sm2.verifying_key.verify, signature, MESSAGE),
            partial(raw_public.verify, raw_der, MESSAGE, algorithm),
            number=number_verify,
            rounds=rounds,
            note="tongsuopy takes DER, govkit raw r||s",
        )
    )
    return results
