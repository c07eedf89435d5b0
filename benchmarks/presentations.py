"""Presentations: made/s and verified/s beside plain licence verification, in one run.

One ES256 agency issues a selective driving licence bound to an Ed25519 device key, and
the plain licence with the same data. Each pair is timed side by side with
:func:`benchmarks._harness.compare`; the reference in both rows is
``CertificateVerifier.verify`` of the plain ``GK1:`` payload (what a roadside app does
today):

**(a) make a presentation**: ``HolderDevice.present`` of the three traffic-police items
(proof, Ed25519 signature, base45): the phone's side.

**(b) verify a presentation**: ``CertificateVerifier.verify_presentation`` with the
``traffic-police`` profile: canonical decode, issuer signature, trust, validity, device
signature, time window, the replay cache, the Merkle proof and the profile. Every call
gets a presentation it has not seen (made beforehand, one per second of a simulated
clock, verified at its own time), so the replay cache does its real work.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from benchmarks._harness import Comparison, compare
from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    HolderDevice,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    codec,
    load_status_list,
    sign_status_list,
)
from govkit.certificates._holder import _to_sign
from govkit.certificates._presentation import _parse_presentation
from govkit.keys import SigningKey, VerifyingKey
from govkit.testing import FixedClock

#: Printed under the table.
NOTES = (
    "(a) make: HolderDevice.present of name, licence_class, photo_digest (Merkle proof,\n"
    "Ed25519 signature, base45). (b) verify: verify_presentation with the traffic-police\n"
    "profile, each call a presentation not seen before (replay cache included). Reference\n"
    "in (a) and (b): CertificateVerifier.verify of the plain GK1 licence with the same data.\n"
    "(c) the same verify beside its floor: cryptography's ES256 verify of the issuer's\n"
    "signature and Ed25519 verify of the device's, over the same bytes (DER made once).\n"
    "Target >= 0.55."
)

#: verify_presentation against the two bare signature checks it must make (#18).
FLOOR_TARGET = 0.55

AGENCY = Agency("广东省公安厅交通管理局", "114400000069445123")
ITEMS = ("name", "licence_class", "photo_digest")
FIELDS = {
    "name": "张三丰",
    "licence_class": "C1",
    "photo_digest": base64.urlsafe_b64encode(hashlib.sha256(b"photo").digest()[:16])
    .decode()
    .rstrip("="),
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}


def run(quick: bool) -> list[Comparison]:
    """Presentations made and verified, beside plain licence verification."""
    rounds = 11 if quick else 41
    number = 20 if quick else 100
    start = datetime.now(UTC).replace(microsecond=0)
    key = SigningKey.generate("ES256")
    statuses = StatusList(131072, list_id="benchmark")
    # issued at ``start`` exactly: with the system clock a second that ticks over
    # between ``start`` and the issue made iat later than the first verification time
    issuer = CertificateIssuer(key, agency=AGENCY, status=statuses, clock=FixedClock(start))
    trust = TrustList(
        (TrustedIssuer(AGENCY, (TrustedKey.for_key(key.verifying_key, {"driving-licence"}),)),),
        1,
        start - timedelta(days=1),
        start + timedelta(days=30),
    )
    common = {
        "holder": Holder("p-3f9a1c07d2", "pseudonym"),
        "fields": FIELDS,
        "valid_from": start.date() - timedelta(days=30),
        "valid_until": date(start.year + 5, 6, 1),
    }
    phone = HolderDevice(SigningKey.generate("EdDSA"))
    credential = issuer.issue_selective("driving-licence", device_key=phone.verifying_key, **common)
    plain = issuer.issue("driving-licence", **common)
    published = sign_status_list(
        statuses, key, issued_at=start, expires_at=start + timedelta(days=1), sequence=1
    )
    status = load_status_list(published, [key.verifying_key], at=start)
    plain_verify = partial(CertificateVerifier(trust, status=status).verify, plain.qr_payload)

    make = partial(phone.present, credential, ITEMS, at=start)
    size = make()
    results = [
        compare(
            "(a) make presentation vs plain verify",
            make,
            plain_verify,
            number=number,
            rounds=rounds,
            note=f"{len(size.text)} chars, v{size.qr_version()}-M, 3 items",
        )
    ]

    total = number * (rounds + 1)
    shown = [
        (phone.present(credential, ITEMS, at=start + timedelta(seconds=i)).text, i)
        for i in range(total)
    ]
    verifier = CertificateVerifier(trust, status=status)
    feed: Iterator[tuple[str, int]] = iter(shown)

    def verify_next() -> object:
        text, offset = next(feed)
        return verifier.verify_presentation(
            text, profile="traffic-police", at=start + timedelta(seconds=offset)
        )

    results.append(
        compare(
            "(b) verify presentation vs plain verify",
            verify_next,
            plain_verify,
            number=number,
            rounds=rounds,
            note="traffic-police profile, replay cache on",
        )
    )
    floor = _raw_floor(key.verifying_key, phone.verifying_key, shown[0][0])
    feed = iter(shown)  # the same presentations again, to a verifier that has not seen them
    verifier = CertificateVerifier(trust, status=status)
    results.append(
        compare(
            "(c) verify presentation vs raw ES256 + Ed25519",
            verify_next,
            floor,
            number=number // 2,
            rounds=rounds,
            target=FLOOR_TARGET,
            note="the two signature checks alone",
        )
    )
    return results


def _raw_floor(issuer: VerifyingKey, device: VerifyingKey, text: str) -> partial[None]:
    """The two signature verifications a presentation needs, and nothing else."""
    licence_bytes, items, _decoded, proof, seconds, device_signature = _parse_presentation(text)
    message = codec.decode_cose(licence_bytes, canonical=True)
    signature = message.signature
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    signed = _to_sign(licence_bytes, items, proof, seconds, None)
    issuer_public, device_public = issuer.public_key, device.public_key
    assert isinstance(issuer_public, ec.EllipticCurvePublicKey)
    assert isinstance(device_public, ed25519.Ed25519PublicKey)
    issuer_public.verify(der, message.to_be_signed, ec.ECDSA(hashes.SHA256()))
    device_public.verify(device_signature, signed)  # both accept before timing

    def both() -> None:
        issuer_public.verify(der, message.to_be_signed, ec.ECDSA(hashes.SHA256()))
        device_public.verify(device_signature, signed)

    return partial(both)
