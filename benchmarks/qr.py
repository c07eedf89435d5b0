"""QR pictures: making a licence's PNG, and reading a photographed one.

**Make** (symbols/s): the same text (``GK1:`` + random base45), the same ECC level M,
the same version, the same picture (8 px a module, a 4-module quiet zone, a 1-bit PNG):

* **govkit**: ``make_qr(text).to_png()``: zxing-cpp encodes (alphanumeric mode, all
  8 masks scored), govkit reads the version back and writes the PNG.
* **qrcode**: the pure-Python ``qrcode`` package, ``QRCode(version=v,
  error_correction=M, box_size=8, border=4, image_factory=PilImage)``, ``add_data``,
  ``make(fit=False)``, ``make_image().save(buffer)``. The version is forced to the one
  govkit chose (they agree for base45; the test suite checks it), so both sides encode
  the same symbol size and both score all 8 masks.

**Read** (pictures/s): one photographed licence QR: version 10 at 6 px a module,
sheared, rotated 37 degrees, slightly blurred, on a noisy 1600 x 1200 background,
saved as JPEG at quality 60.

* **govkit**: ``read_qr(jpeg_bytes)``: header checks, JPEG decoding, the decode.
* **raw**: ``zxingcpp.read_barcodes(image, formats=QRCodeModel2)`` on the picture
  already decoded by Pillow (RGB): the primitive alone. The first row's ratio is
  therefore mostly the cost of JPEG decoding; the second row gives ``read_qr`` the
  same decoded image, so its ratio is govkit's own overhead.
"""

from __future__ import annotations

import io
import random
from functools import partial

import qrcode
import qrcode.image.pil
import zxingcpp
from PIL import Image, ImageFilter

from benchmarks._harness import Comparison, compare
from govkit.certificates.qr import make_qr, read_qr

#: Targets: making a PNG >= 20 x qrcode; reading a decoded image >= 0.90 x zxing-cpp.
MAKE_TARGET = 20.0
READ_TARGET = 0.90

#: Printed under the table.
NOTES = (
    "make: govkit = make_qr(text).to_png(); reference = qrcode (pure Python), same text,\n"
    f"ECC M, same version, 8 px/module, 4-module border, PNG. Target govkit >= {MAKE_TARGET:g} x.\n"
    "read: a 1600x1200 JPEG of a rotated, sheared, blurred v10 QR. Reference = zxing-cpp\n"
    "read_barcodes on the already-decoded image (QR model 2 only). 'read JPEG bytes'\n"
    "includes Pillow's JPEG decoding on govkit's side only; 'read decoded image' gives\n"
    f"both the same RGB image (target >= {READ_TARGET:.2f}: govkit's own overhead)."
)

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _payload(length: int) -> str:
    rng = random.Random(length)
    return "GK1:" + "".join(rng.choice(BASE45) for _ in range(length - 4))


def _qrcode_png(text: str, version: int) -> bytes:
    symbol = qrcode.QRCode(
        version=version,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=8,
        border=4,
        image_factory=qrcode.image.pil.PilImage,
    )
    symbol.add_data(text)
    symbol.make(fit=False)
    buffer = io.BytesIO()
    symbol.make_image().save(buffer)
    return buffer.getvalue()


def _govkit_png(text: str) -> bytes:
    return make_qr(text).to_png()


def _photograph() -> bytes:
    """A phone-like JPEG of a version-10 licence QR code."""
    code = make_qr(_payload(300))
    with Image.open(io.BytesIO(code.to_png(scale=6))) as png:
        symbol = png.convert("L")
    cx, cy = symbol.width / 2, symbol.height / 2
    symbol = symbol.transform(
        symbol.size,
        Image.Transform.AFFINE,
        (1.0, 0.15, -0.15 * cy, 0.08, 1.0, -0.08 * cx),
        resample=Image.Resampling.BILINEAR,
        fillcolor=255,
    )
    symbol = symbol.rotate(37, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR)
    symbol = symbol.filter(ImageFilter.GaussianBlur(0.8))
    background = Image.effect_noise((1600, 1200), 40).point(lambda v: min(255, v + 50))
    background.paste(symbol, (420, 180))
    buffer = io.BytesIO()
    background.convert("RGB").save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


def _raw_read(image: Image.Image) -> str:
    results = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCodeModel2)
    )
    return results[0].text


def run(quick: bool) -> list[Comparison]:
    """QR generation (govkit beside qrcode) and QR reading (govkit beside zxing-cpp)."""
    rounds = 5 if quick else 15
    shrink = 4 if quick else 1
    results: list[Comparison] = []
    for length in (60, 300, 555):
        text = _payload(length)
        version = make_qr(text).version
        # Both sides must draw a symbol of the same version that reads back as the text.
        for png in (_govkit_png(text), _qrcode_png(text, version)):
            assert read_qr(png) == text
            with Image.open(io.BytesIO(png)) as image:
                assert image.width == (17 + 4 * version + 8) * 8
        results.append(
            compare(
                f"make PNG, {length} chars (v{version}-M)",
                partial(_govkit_png, text),
                partial(_qrcode_png, text, version),
                # qrcode takes 15-80 ms a symbol: 8 calls keep a round under a second.
                number=max(1, 8 // shrink),
                rounds=rounds,
                target=MAKE_TARGET,
                note="reference qrcode",
            )
        )
    jpeg = _photograph()
    with Image.open(io.BytesIO(jpeg)) as opened:
        decoded = opened.convert("RGB")
    expected = make_qr(_payload(300)).text
    assert read_qr(jpeg) == expected
    assert _raw_read(decoded) == expected
    results.append(
        compare(
            "read JPEG bytes (1600x1200)",
            partial(read_qr, jpeg),
            partial(_raw_read, decoded),
            number=max(1, 20 // shrink),
            rounds=rounds,
            note="govkit also decodes the JPEG",
        )
    )
    results.append(
        compare(
            "read decoded image (1600x1200)",
            partial(read_qr, decoded),
            partial(_raw_read, decoded),
            number=max(1, 20 // shrink),
            rounds=rounds,
            target=READ_TARGET,
            note="reference zxing-cpp read_barcodes",
        )
    )
    return results
