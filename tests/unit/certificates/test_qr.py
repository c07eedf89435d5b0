"""Evidence for :mod:`govkit.certificates.qr`: symbols made, rendered and read back.

Every picture is made here with Pillow from a symbol govkit made, then damaged the way
a phone camera damages it (rotation, tilt, blur, JPEG, inversion, a busy background)
and decoded by the real zxing-cpp, as a roadside check would.

Provenance of the expected versions: the alphanumeric-mode capacities at ECC M are
those of ISO/IEC 18004 table 7 ("Number of symbol characters and input data capacity"),
cross-checked against the pure-Python ``qrcode`` package, which implements the
standard independently of zxing-cpp.
"""

from __future__ import annotations

import contextlib
import io
import random
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import pytest
import qrcode
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFilter, ImageOps

from govkit.certificates.qr import (
    MAX_IMAGE_BYTES,
    QrCode,
    make_qr,
    qr_version_for,
    read_qr,
)
from govkit.errors import (
    ConfigurationError,
    GovkitError,
    QrNotFound,
    QrSeveralCodes,
    QrUnreadable,
    VerificationError,
)

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: ISO/IEC 18004 table 7, alphanumeric characters that fit versions 1-16 at ECC M.
ALPHANUMERIC_CAPACITY_M = {
    1: 20,
    2: 38,
    3: 61,
    4: 90,
    5: 122,
    6: 154,
    7: 178,
    8: 221,
    9: 262,
    10: 311,
    11: 366,
    12: 419,
    13: 483,
    14: 528,
    15: 600,
    16: 656,
}


def payload(length: int, seed: int = 0, alphabet: str = BASE45) -> str:
    """``GK1:`` + random characters: ``length`` characters in all."""
    rng = random.Random(seed)
    return "GK1:" + "".join(rng.choice(alphabet) for _ in range(length - 4))


def png_to_image(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("L")


def to_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def to_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def qrcode_version(text: str) -> int:
    """The version the independent ``qrcode`` package picks (alphanumeric mode)."""
    reference = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    reference.add_data(text)
    reference.make(fit=True)
    version: int = reference.version
    return version


# --- making symbols -----------------------------------------------------------------


@pytest.mark.parametrize(("version", "capacity"), sorted(ALPHANUMERIC_CAPACITY_M.items()))
def test_base45_uses_alphanumeric_mode_at_the_standard_capacity(
    version: int, capacity: int
) -> None:
    # Letters only after the prefix, so no numeric run could make a smaller mix of modes.
    full = payload(capacity, seed=version, alphabet=LETTERS)
    assert qr_version_for(full) == version
    assert qr_version_for(full + "A") == version + 1
    assert qrcode_version(full) == version


@pytest.mark.parametrize("length", [20, 50, 120, 300, 555, 800])
def test_version_is_never_larger_than_the_independent_encoder(length: int) -> None:
    text = payload(length, seed=length)
    ours = qr_version_for(text)
    assert ours <= qrcode_version(text)
    assert ours >= qrcode_version(text) - 1


def test_300_base45_characters_fit_version_10_at_m() -> None:
    code = make_qr(payload(300))
    assert (code.version, code.ec_level, code.size) == (10, "M", 57)


def test_version_read_from_the_decoded_symbol_matches() -> None:
    for ec_level in ("L", "M", "Q", "H"):
        code = make_qr(payload(200, seed=7), ec_level=ec_level)
        (result,) = zxingcpp.read_barcodes(png_to_image(code.to_png()))
        extra: dict[str, object] = result.extra  # type: ignore[assignment]
        assert extra["Version"] == str(code.version)
        assert extra["ECLevel"] == ec_level
        assert result.text == code.text


def test_higher_ec_level_needs_a_larger_or_equal_version() -> None:
    text = payload(300, seed=3)
    versions = [qr_version_for(text, level) for level in ("L", "M", "Q", "H")]
    assert versions == sorted(versions)
    assert versions[0] < versions[-1]


def test_min_version_grows_a_small_symbol_and_never_shrinks_a_large_one() -> None:
    text = payload(30)
    assert make_qr(text).version == 2
    grown = make_qr(text, min_version=10)
    assert (grown.version, grown.size) == (10, 57)
    assert read_qr(grown.to_png()) == text
    assert make_qr(payload(300), min_version=3).version == 10


def test_non_base45_text_round_trips() -> None:
    text = "电子营业执照 GK1:abc-é"
    assert read_qr(make_qr(text).to_png()) == text


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"ec_level": "X"}, "GK1:A"),
        ({"ec_level": "m"}, "GK1:A"),
        ({"min_version": 0}, "GK1:A"),
        ({"min_version": 41}, "GK1:A"),
        ({"min_version": True}, "GK1:A"),
        ({}, ""),
        ({}, "A" * 5000),
        ({"ec_level": "H"}, "A" * 2000),
    ],
)
def test_make_qr_refuses_what_cannot_be_a_symbol(kwargs: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigurationError):
        make_qr(text, **kwargs)  # type: ignore[arg-type]


def test_qrcode_is_frozen_and_valid_by_construction() -> None:
    code = make_qr("GK1:A")
    with pytest.raises(AttributeError):
        code.text = "GK1:B"  # type: ignore[misc]
    with pytest.raises(ConfigurationError):
        QrCode(text="x", version=2, ec_level="M", size=21, modules=code.modules)
    with pytest.raises(ConfigurationError):
        QrCode(text="x", version=1, ec_level="M", size=21, modules=code.modules[:-1])
    with pytest.raises(ConfigurationError):
        QrCode(text="x", version=1, ec_level="M", size=21, modules=b"\x02" * 441)
    with pytest.raises(ConfigurationError):
        QrCode(text="x", version=1, ec_level="Z", size=21, modules=code.modules)
    rows = code.rows()
    assert len(rows) == 21
    assert all(len(row) == 21 for row in rows)
    assert rows[0][:8] == (True,) * 7 + (False,)  # the top-left finder pattern
    assert bytes(b for row in rows for b in row) == code.modules


# --- rendering ------------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "border"), [(8, 4), (8, 0), (3, 2), (1, 0), (5, 1)])
def test_png_has_the_requested_scale_and_quiet_zone(scale: int, border: int) -> None:
    code = make_qr(payload(100))
    image = png_to_image(code.to_png(scale=scale, border=border))
    side = code.size + 2 * border
    assert image.size == (side * scale, side * scale)
    # Every pixel is its module's colour, also where a row is not a whole number of bytes.
    expected = bytes(
        0
        if border <= mx < code.size + border
        and border <= my < code.size + border
        and code.modules[(my - border) * code.size + mx - border]
        else 255
        for my in range(side)
        for _ in range(scale)
        for mx in range(side)
        for _ in range(scale)
    )
    assert image.tobytes() == expected


def test_png_refuses_impossible_geometry() -> None:
    code = make_qr("GK1:A")
    with pytest.raises(ConfigurationError):
        code.to_png(scale=0)
    with pytest.raises(ConfigurationError):
        code.to_png(border=-1)


def test_svg_is_well_formed_and_scales_with_its_viewbox() -> None:
    code = make_qr(payload(120))
    svg = code.to_svg(border=4)
    root = ElementTree.fromstring(svg.encode())  # noqa: S314 (govkit's own output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    side = code.size + 8
    assert root.get("viewBox") == f"0 0 {side} {side}"
    assert root.get("width") is None
    assert root.get("height") is None
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    assert path.get("d", "").startswith("M4 4h7v1h-7z")  # the top row of the finder


def test_svg_draws_exactly_the_dark_modules() -> None:
    code = make_qr(payload(60))
    # Rasterise the path by hand: every run is "M{x} {y}h{n}v1h-{n}z".
    root = ElementTree.fromstring(code.to_svg(border=0).encode())  # noqa: S314
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    dark: set[tuple[int, int]] = set()
    for run in path.get("d", "").split("z")[:-1]:
        start, rest = run[1:].split("h", 1)
        x, y = map(int, start.split())
        dark.update((x + i, y) for i in range(int(rest.split("v")[0])))
    expected = {
        (x, y) for y, row in enumerate(code.rows()) for x, is_dark in enumerate(row) if is_dark
    }
    assert dark == expected


def test_text_rendering_decodes_when_drawn() -> None:
    code = make_qr(payload(60))
    text = code.to_text(border=2)
    lines = text.splitlines()
    assert len(lines) == (code.size + 4 + 1) // 2
    assert {len(line) for line in lines} == {code.size + 4}
    assert set(text) <= {" ", "▀", "▄", "█", "\n"}
    # Draw the glyphs back into pixels: a block is light by default (dark terminal).
    halves = {" ": (0, 0), "▀": (255, 0), "▄": (0, 255), "█": (255, 255)}
    image = Image.new("L", (len(lines[0]), 2 * len(lines)))
    for y, line in enumerate(lines):
        for x, glyph in enumerate(line):
            top, bottom = halves[glyph]
            image.putpixel((x, 2 * y), top)
            image.putpixel((x, 2 * y + 1), bottom)
    bigger = image.resize((image.width * 6, image.height * 6), Image.Resampling.NEAREST)
    assert read_qr(bigger) == code.text
    assert code.to_text(invert=True) == code.to_text().translate(str.maketrans(" █▀▄", "█ ▄▀"))


# --- reading photographs -------------------------------------------------------------


@pytest.mark.parametrize("length", [10, 60, 150, 300, 555, 900])
def test_round_trip_make_png_read(length: int) -> None:
    code = make_qr(payload(length, seed=length))
    assert read_qr(code.to_png()) == code.text
    assert read_qr(png_to_image(code.to_png(scale=2))) == code.text


def _rotate(angle: float) -> Callable[[Image.Image], Image.Image]:
    return lambda image: image.rotate(angle, expand=True, fillcolor=255)


def _downscale(image: Image.Image) -> Image.Image:
    # The symbol is drawn at 6 px a module: a third is ~2 px a module.
    return image.resize((image.width // 3, image.height // 3), Image.Resampling.BOX)


def _jpeg(image: Image.Image) -> Image.Image:
    return png_to_image(to_jpeg(image, quality=40))


def _shear(image: Image.Image) -> Image.Image:
    # Sheared about the centre of a canvas with room for the corners: a tilted phone.
    image = ImageOps.expand(image, border=image.width // 4, fill=255)
    a, b, d, e = 1.0, 0.25, 0.12, 1.0
    cx, cy = image.width / 2, image.height / 2
    return image.transform(
        image.size,
        Image.Transform.AFFINE,
        (a, b, cx - a * cx - b * cy, d, e, cy - d * cx - e * cy),
        resample=Image.Resampling.BILINEAR,
        fillcolor=255,
    )


def _perspective(image: Image.Image) -> Image.Image:
    width, height = image.size
    # Top edge narrower than the bottom: the phone is held below the screen.
    coefficients = _perspective_coefficients(
        [(0, 0), (width, 0), (width, height), (0, height)],
        [(-0.08 * width, 0), (1.08 * width, 0), (width, height), (0, height)],
    )
    return image.transform(
        image.size,
        Image.Transform.PERSPECTIVE,
        coefficients,
        resample=Image.Resampling.BILINEAR,
        fillcolor=255,
    )


def _perspective_coefficients(
    target: list[tuple[float, float]], source: list[tuple[float, float]]
) -> tuple[float, ...]:
    """The 8 coefficients mapping output points ``target`` to input points ``source``."""
    rows: list[list[float]] = []
    values: list[float] = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend((u, v))
    # Gaussian elimination on the 8x8 system.
    n = 8
    matrix = [[*row, value] for row, value in zip(rows, values, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(matrix[r][col]))
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        for r in range(n):
            if r != col:
                factor = matrix[r][col] / matrix[col][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[col], strict=True)]
    return tuple(matrix[i][n] / matrix[i][i] for i in range(n))


def _noisy_background(image: Image.Image) -> Image.Image:
    width, height = image.size
    rng = random.Random(5)
    background = Image.effect_noise((width * 3, height * 2), 60).point(
        lambda value: min(255, value + 40)
    )
    # A few dark blobs, like text and a photo on the same card.
    for _ in range(40):
        x, y = rng.randrange(width * 3), rng.randrange(height * 2)
        background.paste(rng.randrange(0, 120), (x, y, x + 25, y + 8))
    background.paste(image, (width + 17, height // 2 + 9))
    return background


def _photographed(image: Image.Image) -> Image.Image:
    """Everything at once: tilted, rotated 37 degrees, blurred and JPEG at quality 40."""
    image = _rotate(37)(_shear(image)).filter(ImageFilter.GaussianBlur(0.8))
    return _jpeg(_noisy_background(image))


DAMAGE: dict[str, Callable[[Image.Image], Image.Image]] = {
    "rotated_90": _rotate(90),
    "rotated_180": _rotate(180),
    "rotated_37": _rotate(37),
    "inverted": ImageOps.invert,
    "downscaled_2px_per_module": _downscale,
    "jpeg_quality_40": _jpeg,
    "gaussian_blur_1": lambda image: image.filter(ImageFilter.GaussianBlur(1)),
    "affine_shear": _shear,
    "perspective": _perspective,
    "noisy_background": _noisy_background,
    "inverted_on_dark_screen_rotated": lambda image: _rotate(20)(ImageOps.invert(image)),
    "photographed": _photographed,
}


@pytest.fixture(scope="module")
def licence_qr() -> QrCode:
    return make_qr(payload(300, seed=42))


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_photographed_like_pictures_decode(licence_qr: QrCode, damage: str) -> None:
    picture = DAMAGE[damage](png_to_image(licence_qr.to_png(scale=6)))
    assert read_qr(picture) == licence_qr.text
    assert read_qr(to_png(picture)) == licence_qr.text
    assert read_qr(to_jpeg(picture, quality=90)) == licence_qr.text


@pytest.mark.parametrize(("scale", "blur"), [(3, 1.8), (6, 3.0)])
def test_out_of_focus_picture_needs_the_fallbacks(scale: int, blur: float) -> None:
    # Blur of 0.5-0.6 module: zxing-cpp alone finds nothing, a sharpened or upscaled
    # copy reads. This is the evidence that the fallbacks earn their place.
    code = make_qr(payload(300, seed=42))
    blurred = png_to_image(code.to_png(scale=scale)).filter(ImageFilter.GaussianBlur(blur))
    assert zxingcpp.read_barcodes(blurred) == []
    assert read_qr(blurred) == code.text
    assert read_qr(to_jpeg(blurred, quality=40)) == code.text


def test_small_picture_of_a_small_symbol_is_upscaled() -> None:
    code = make_qr(payload(30))
    tiny = png_to_image(code.to_png(scale=1, border=4))  # 1 px a module, 33 x 33 px
    blurred = tiny.resize((tiny.width * 2, tiny.height * 2), Image.Resampling.BILINEAR)
    assert read_qr(blurred) == code.text


def test_tightly_cropped_symbol_without_quiet_zone_decodes() -> None:
    code = make_qr(payload(100))
    assert read_qr(code.to_png(scale=4, border=0)) == code.text


def test_transparent_screenshot_decodes() -> None:
    code = make_qr(payload(100))
    image = png_to_image(code.to_png(scale=4))
    rgba = Image.new("RGBA", image.size, (0, 0, 0, 0))
    rgba.putalpha(ImageOps.invert(image))  # dark modules opaque black, the rest clear
    assert read_qr(to_png(rgba)) == code.text


# --- refusals -------------------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height``, with one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _reason(excinfo: pytest.ExceptionInfo[QrNotFound]) -> object:
    assert excinfo.value.code == "qr.not_found"
    return excinfo.value.context["reason"]


@pytest.mark.parametrize(
    "data",
    [b"", b"not a picture", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"GIF89a" + b"\x00" * 40],
)
def test_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(data)
    assert _reason(excinfo) == "not_an_image"


def test_truncated_png_is_not_an_image() -> None:
    data = make_qr(payload(300)).to_png()
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(data[: len(data) // 2])
    assert _reason(excinfo) == "not_an_image"


def test_gif_is_refused_even_with_a_qr_code() -> None:
    buffer = io.BytesIO()
    png_to_image(make_qr("GK1:A").to_png()).save(buffer, format="GIF")
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(buffer.getvalue())
    assert _reason(excinfo) == "not_an_image"


def test_picture_without_a_qr_code() -> None:
    background = Image.effect_noise((400, 300), 50)
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(to_jpeg(background, quality=70))
    assert _reason(excinfo) == "no_qr"
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(Image.new("L", (10, 10), 255))
    assert _reason(excinfo) == "no_qr"


def test_micro_qr_is_not_a_licence_symbol() -> None:
    barcode = zxingcpp.create_barcode("GK1:A", zxingcpp.BarcodeFormat.MicroQRCode)
    raw: Any = barcode.to_image()  # buffer protocol, not in zxing-cpp's stub
    height, width = memoryview(raw).shape or (0, 0)
    image = Image.frombytes("L", (width, height), bytes(memoryview(raw)))
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(image.resize((150, 150), Image.Resampling.NEAREST))
    assert _reason(excinfo) == "no_qr"


def test_two_different_codes_in_one_picture_are_refused() -> None:
    first = png_to_image(make_qr("GK1:FIRST").to_png(scale=6))
    second = png_to_image(make_qr("GK1:SECOND").to_png(scale=6))
    both = Image.new("L", (first.width + second.width, max(first.height, second.height)), 255)
    both.paste(first, (0, 0))
    both.paste(second, (first.width, 0))
    with pytest.raises(QrSeveralCodes) as excinfo:
        read_qr(both)
    assert excinfo.value.code == "qr.several_codes"
    assert excinfo.value.context["reason"] == "several_qr"
    assert excinfo.value.context["count"] == 2


def test_unreadable_pictures_are_not_verification_errors() -> None:
    # "I could not read it" is a different answer from "it is not genuine".
    for error in (QrNotFound, QrSeveralCodes):
        assert issubclass(error, QrUnreadable)
        assert not issubclass(error, VerificationError)


def test_the_same_code_twice_reads_as_one() -> None:
    single = png_to_image(make_qr("GK1:SAME").to_png(scale=6))
    both = Image.new("L", (single.width * 2, single.height), 255)
    both.paste(single, (0, 0))
    both.paste(single, (single.width, 0))
    assert read_qr(both) == "GK1:SAME"


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 8_000), (1, 50_000_000)])
def test_pixel_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    bomb = _png_header(width, height)
    started = time.perf_counter()
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(bomb)
    assert time.perf_counter() - started < 1.0
    assert _reason(excinfo) == "too_large"


def test_jpeg_bomb_is_refused_from_its_header() -> None:
    data = bytearray(to_jpeg(Image.new("L", (16, 16), 255), quality=50))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)  # height, width
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(bytes(data))
    assert _reason(excinfo) == "too_large"


def test_pixel_limit_is_per_call_and_leaves_pillow_alone() -> None:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    code = make_qr("GK1:A")
    data = code.to_png(scale=8)  # 232 x 232 px
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(data, max_pixels=200 * 200)
    assert _reason(excinfo) == "too_large"
    with pytest.raises(QrNotFound):
        read_qr(png_to_image(data), max_pixels=200 * 200)
    assert read_qr(data, max_pixels=240 * 240) == "GK1:A"
    assert pillow_limit == Image.MAX_IMAGE_PIXELS
    with pytest.raises(ConfigurationError):
        read_qr(data, max_pixels=0)


def test_oversized_file_is_refused_unread() -> None:
    with pytest.raises(QrNotFound) as excinfo:
        read_qr(b"\x89PNG\r\n\x1a\n" + bytes(MAX_IMAGE_BYTES))
    assert _reason(excinfo) == "too_large"


def test_wrong_argument_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        read_qr("GK1:A")  # type: ignore[arg-type]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_text_or_a_govkit_error(data: bytes) -> None:
    with contextlib.suppress(GovkitError):
        assert isinstance(read_qr(data), str)


_VALID_PNG = make_qr(payload(80)).to_png(scale=2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID_PNG) - 1), st.integers(0, 255)), max_size=8))
def test_corrupted_png_gives_text_or_a_govkit_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(_VALID_PNG)
    for offset, value in edits:
        data[offset] = value
    with contextlib.suppress(GovkitError):
        assert isinstance(read_qr(bytes(data)), str)
