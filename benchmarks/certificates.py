"""Licences: verify/s of a QR payload, issue/s with its QR picture, verify/s of a photograph.

One ES256 driving licence is issued by :class:`~govkit.certificates.CertificateIssuer`
(with a status index), and a trust list and a signed status list of 131,072 entries are
loaded once. Then, each pair timed side by side with :func:`benchmarks._harness.compare`:

**(a) verify a payload.** ``CertificateVerifier.verify(text)`` on the ``GK1:`` text,
with the loaded :class:`~govkit.certificates.TrustList` and
:class:`~govkit.certificates.SignedStatusList` and the system clock: strict base45,
zlib, the hardened CBOR scan and decode, COSE checks, kid lookup, signature, licence
parsing against its type, permission, times, status, masking. Beside it, **raw**: the
``cryptography`` ECDSA P-256 verify of the same signature over the same
``Sig_structure`` bytes, with the same public key object; the raw ``r || s``
signature is converted to DER once, outside the timing (govkit converts on every call).
A second row puts it beside an **envelope-only verifier** built from the same libraries
(strict base45, zlib, cbor2, ``cryptography``): it decodes the COSE message, the
protected header and the claims, builds the ``Sig_structure`` and checks the signature,
and checks nothing else (no canonical form, no limits, no licence, trust, time or
status). A third row puts it beside **pycose** (a COSE library, test dependency only):
base45 and zlib as above, then pycose's ``Sign1Message`` reads the headers and checks
the ES256 signature (with the pure-Python ``ecdsa`` package, as pycose does) and cbor2
decodes the claims; nothing of the licence is checked. pycose 1.1 expects cbor2 5's
mutable arrays and maps, which cbor2 6 decodes as tuples and frozen maps, so the
reference decodes the tagged message with cbor2 and hands its four members to
``Sign1Message.from_cose_obj``, the step ``Sign1Message.decode`` would take.

**(b) issue with a QR picture.** ``issuer.issue(...)`` then ``issued.qr_png()``
(zxing-cpp symbol, 8 px a module, 1-bit PNG). Beside it, the same ``issue`` followed by
the pure-Python ``qrcode`` package drawing the same symbol (same version, ECC M,
8 px a module, 4-module border, PNG), as in ``benchmarks/qr.py``. The second row times
the picture alone: ``qr_png()`` beside ``qrcode`` for the same payload (target >= 20 x);
the third, ``issue`` without a picture beside a raw ECDSA sign of a ``Sig_structure``
of the same size (what signing alone costs).

**(c) verify a photograph.** ``CertificateVerifier.verify(jpeg_bytes)``: a 1600 x 1200
JPEG (quality 60) of the licence's QR code as ``qr_png()`` draws it (8 px a module),
sheared, rotated 37 degrees, blurred, on a noisy background. Beside it, the primitives
alone: Pillow decoding the JPEG to greyscale and ``zxingcpp.read_barcodes`` (QR model 2)
reading it. govkit's side also does everything of (a).
"""

from __future__ import annotations

import io
import random
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import cbor2
import zxingcpp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from PIL import Image, ImageFilter

from benchmarks._harness import Comparison, compare
from benchmarks.qr import _qrcode_png
from govkit._encoding import b45decode
from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    IssuedCertificate,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    codec,
    load_status_list,
    sign_status_list,
)
from govkit.certificates.qr import make_qr
from govkit.keys import SigningKey

#: Printed under the table.
NOTES = (
    "(a) verify payload: govkit = CertificateVerifier.verify(GK1 text) with a loaded trust\n"
    "list and a 131,072-entry status list (decode, kid lookup, signature, licence parse,\n"
    "permission, times, status, masking); raw = cryptography ECDSA P-256 verify of the\n"
    "same signature over the same Sig_structure (DER made once). Target >= 0.40.\n"
    "(a) vs envelope-only: base45 + zlib + cbor2 + cryptography, no model checks (>= 0.70).\n"
    "(a) vs pycose: base45 + zlib + pycose Sign1Message (pure-Python ecdsa) + cbor2 (>= 8).\n"
    "(a) what the verifier remembers between calls: protected headers by their bytes, each\n"
    "trusted issuer's status list (lists given loaded), the check-character state of each\n"
    "(type code, issuer) pair; nothing of one licence (every other check runs each call).\n"
    "(b) issue + QR PNG: govkit = issue() + qr_png(); reference = the same issue() + the\n"
    "qrcode package drawing the same symbol. 'QR PNG' times the picture alone (target\n"
    ">= 20 x qrcode). 'issue, no picture' vs a raw ECDSA sign of a same-size Sig_structure.\n"
    "(c) verify photo: govkit = verify(JPEG bytes) = read_qr + everything of (a); reference\n"
    "= Pillow JPEG decode to greyscale + zxing-cpp read_barcodes (QR model 2) only."
)

VERIFY_TARGET = 0.40
ENVELOPE_TARGET = 0.70
PYCOSE_TARGET = 8.0
QR_TARGET = 20.0
AGENCY = Agency("广东省公安厅交通管理局", "114400000069445123")
FIELDS = {
    "name": "张三丰",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}


def _issue_args() -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "holder": Holder("p-3f9a1c07d2", "pseudonym"),
        "fields": FIELDS,
        "valid_from": today - timedelta(days=30),
        "valid_until": date(today.year + 5, 6, 1),
    }


def _setup() -> tuple[SigningKey, CertificateIssuer, IssuedCertificate, CertificateVerifier]:
    """An issuer, one issued driving licence, and a verifier with trust and status lists."""
    key = SigningKey.generate("ES256")
    statuses = StatusList(131072, list_id="bench-2026")
    issuer = CertificateIssuer(key, agency=AGENCY, status=statuses)
    issued = issuer.issue("driving-licence", serial="4401202600001", **_issue_args())
    now = datetime.now(UTC).replace(microsecond=0)
    trust = TrustList(
        (TrustedIssuer(AGENCY, (TrustedKey.for_key(key.verifying_key, {"driving-licence"}),)),),
        1,
        now,
        now + timedelta(days=1),
    )
    signed = sign_status_list(
        statuses, key, issued_at=now, expires_at=now + timedelta(days=1), sequence=1
    )
    status = load_status_list(signed, [key.verifying_key], at=now)
    return key, issuer, issued, CertificateVerifier(trust, status=status)


def _raw_verify(key: SigningKey, payload: str) -> Callable[[], None]:
    """cryptography's ECDSA verify of the payload's signature over its Sig_structure."""
    message = codec.decode(payload)
    signature = message.signature
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public = key.verifying_key.public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return partial(public.verify, der, message.to_be_signed, ec.ECDSA(hashes.SHA256()))


def _envelope_verify(key: SigningKey, payload: str) -> Callable[[], Any]:
    """A minimal COSE_Sign1 verifier from base45, zlib, cbor2 and cryptography.

    The envelope only: no canonical-form check, no limits beyond the libraries', no
    licence, trust, time or status check. What any verifier has to do at least.
    """
    public = key.verifying_key.public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    text = payload.removeprefix("GK1:")

    def verify() -> Any:
        cose = cbor2.loads(zlib.decompress(b45decode(text)))
        protected, _unprotected, body, signature = cose.value
        header = cbor2.loads(protected)
        assert header[1] == -7
        claims = cbor2.loads(body)
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        to_be_signed = cbor2.dumps(["Signature1", protected, b"", body])
        public.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
        return claims

    return verify


def _pycose_verify(key: SigningKey, payload: str) -> Callable[[], Any]:
    """pycose's COSE_Sign1 verification of the payload (after base45 and zlib).

    The message is decoded by cbor2 and its members handed to
    ``Sign1Message.from_cose_obj`` (pycose 1.1's ``decode`` refuses cbor2 6's tuples);
    pycose checks the signature; cbor2 decodes the claims. No licence check.
    """
    from pycose.keys import EC2Key  # noqa: PLC0415 - a test dependency only
    from pycose.keys.curves import P256  # noqa: PLC0415
    from pycose.messages import Sign1Message  # noqa: PLC0415

    public = key.verifying_key.public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    numbers = public.public_numbers()
    cose_key = EC2Key(crv=P256, x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big"))
    text = payload.removeprefix("GK1:")

    def verify() -> Any:
        tagged = cbor2.loads(zlib.decompress(b45decode(text)))
        assert tagged.tag == Sign1Message.cbor_tag
        protected, unprotected, body, signature = tagged.value
        message = Sign1Message.from_cose_obj([protected, dict(unprotected), body, signature], True)
        message.key = cose_key
        if not message.verify_signature():
            raise AssertionError("pycose refused the licence's signature")
        return cbor2.loads(message.payload)

    return verify


def _raw_sign(key: SigningKey, payload: str) -> Callable[[], bytes]:
    """cryptography's ECDSA sign of a Sig_structure as long as the payload's."""
    private = key.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return partial(private.sign, codec.decode(payload).to_be_signed, ec.ECDSA(hashes.SHA256()))


def _background(seed: int) -> Image.Image:
    """A 1600 x 1200 noisy grey background, the same for the same seed."""
    rng = random.Random(seed)
    noise = bytes(max(0, min(255, round(rng.gauss(178, 30)))) for _ in range(400 * 300))
    tile = Image.frombytes("L", (400, 300), noise)
    background = Image.new("L", (1600, 1200))
    for x in range(0, 1600, 400):
        for y in range(0, 1200, 300):
            background.paste(tile, (x, y))
    return background


def _photograph(text: str, seed: int) -> bytes:
    """A phone-like 1600 x 1200 JPEG of ``text``'s QR code as ``qr_png()`` draws it.

    8 px a module (the app's picture), sheared by 0.1, rotated 37 degrees, blurred by
    0.6 px, on a noisy background, JPEG quality 60 (``benchmarks/qr.py`` uses a harder
    picture to exercise ``read_qr``'s fallbacks; this one zxing-cpp reads directly, so
    both sides do the same reading work).
    """
    with Image.open(io.BytesIO(make_qr(text).to_png(scale=8))) as png:
        symbol = png.convert("L")
    cx, cy = symbol.width / 2, symbol.height / 2
    symbol = symbol.transform(
        symbol.size,
        Image.Transform.AFFINE,
        (1.0, 0.1, -0.1 * cy, 0.05, 1.0, -0.05 * cx),
        resample=Image.Resampling.BILINEAR,
        fillcolor=255,
    )
    symbol = symbol.rotate(37, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR)
    symbol = symbol.filter(ImageFilter.GaussianBlur(0.6))
    background = _background(seed)
    background.paste(symbol, (300, 80))
    buffer = io.BytesIO()
    background.convert("RGB").save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


def _raw_photo_read(jpeg: bytes) -> str:
    """Pillow decodes the JPEG to greyscale; zxing-cpp reads the QR code."""
    with Image.open(io.BytesIO(jpeg)) as image:
        image.draft("L", image.size)
        gray = image.convert("L")
    results = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCodeModel2)
    )
    return results[0].text


def run(quick: bool) -> list[Comparison]:
    """Verify a payload, issue with a picture, verify a photograph."""
    rounds = 11 if quick else 61
    shrink = 5 if quick else 1
    key, issuer, issued, verifier = _setup()
    payload = issued.qr_payload
    version = issued.qr_version()
    results: list[Comparison] = []

    # (a) verify a payload
    govkit_verify = partial(verifier.verify, payload)
    raw_verify = _raw_verify(key, payload)
    assert govkit_verify().licence.id == issued.id  # both sides accept before timing
    raw_verify()
    envelope_verify = _envelope_verify(key, payload)
    assert envelope_verify() == codec.decode(payload).claims
    pycose_verify = _pycose_verify(key, payload)
    assert pycose_verify() == codec.decode(payload).claims
    results.append(
        compare(
            "(a) verify payload vs raw ECDSA",
            govkit_verify,
            raw_verify,
            number=max(1, 100 // shrink),
            rounds=rounds,
            target=VERIFY_TARGET,
            note=f"{len(payload)}-char payload, v{version}-M",
        )
    )
    results.append(
        compare(
            "(a) verify payload vs envelope-only",
            govkit_verify,
            envelope_verify,
            number=max(1, 100 // shrink),
            rounds=rounds,
            target=ENVELOPE_TARGET,
            note="base45 + zlib + cbor2 + cryptography",
        )
    )
    results.append(
        compare(
            "(a) verify payload vs pycose",
            govkit_verify,
            pycose_verify,
            number=max(1, 10 // shrink),
            rounds=max(5, rounds // 4),
            target=PYCOSE_TARGET,
            note="pycose 1.1 Sign1Message + cbor2",
        )
    )

    # (b) issue with a QR picture
    args = _issue_args()

    def issue_with_png() -> bytes:
        return issuer.issue("driving-licence", **args).qr_png()

    def issue_with_qrcode() -> bytes:
        made = issuer.issue("driving-licence", **args)
        return _qrcode_png(made.qr_payload, version)

    assert make_qr(issuer.issue("driving-licence", **args).qr_payload).version == version
    results.append(
        compare(
            "(b) issue + QR PNG vs issue + qrcode",
            issue_with_png,
            issue_with_qrcode,
            number=max(1, 8 // shrink),
            rounds=max(5, rounds // 4),
            note="end to end",
        )
    )
    results.append(
        compare(
            f"(b) QR PNG of the payload (v{version}-M)",
            issued.qr_png,
            partial(_qrcode_png, payload, version),
            number=max(1, 8 // shrink),
            rounds=max(5, rounds // 4),
            target=QR_TARGET,
            note="reference qrcode",
        )
    )
    results.append(
        compare(
            "(b) issue, no picture vs raw ECDSA sign",
            partial(issuer.issue, "driving-licence", **args),
            _raw_sign(key, payload),
            number=max(1, 100 // shrink),
            rounds=rounds,
            note="raw signs a same-size Sig_structure",
        )
    )

    # (c) verify a photograph
    # A picture both sides read (zxing-cpp's first attempt can miss one in a few
    # hundred of these; then the next background is used).
    for seed in range(10):
        jpeg = _photograph(payload, seed)
        try:
            if _raw_photo_read(jpeg) == payload:
                break
        except IndexError:
            continue
    else:
        raise AssertionError("zxing-cpp could not read any of the photographs")
    assert verifier.verify(jpeg).licence.id == issued.id
    results.append(
        compare(
            "(c) verify photo vs JPEG decode + zxing read",
            partial(verifier.verify, jpeg),
            partial(_raw_photo_read, jpeg),
            number=max(1, 10 // shrink),
            rounds=max(5, rounds // 4),
            note=f"1600x1200 JPEG, {len(jpeg) // 1024} KiB",
        )
    )
    return results
