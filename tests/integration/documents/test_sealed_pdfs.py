"""Visible seals: signed PDFs with a red round seal, judged by pdfsig, pyHanko and pdftoppm.

The seal is only the appearance of the signature field; these tests show that adding
it leaves the signature valid for tools we did not write, that the field sits in the
seal's box on the right page, that the rendered page is red there and nowhere else,
and that swapping the appearance after signing is caught like any other change.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from govkit.certificates import render_licence_pdf
from govkit.errors import DocumentModified
from govkit.esign import PdfSignatureVerifier, Seal
from govkit.pdf import PdfRenderer

from .conftest import AGENCY, FONT, Licences, Pki, Servers, tool
from .test_signed_licence_pdfs import assert_pdfsig_valid, pdfsig, pyhanko_statuses, signer_for

BOX = (400.0, 70.0, 540.0, 210.0)
DPI = 100


def widgets(pdf: bytes) -> list[tuple[int, list[float]]]:
    """(page index, /Rect) of every signature widget, read with pyHanko's reader."""
    reader = PdfFileReader(io.BytesIO(pdf))
    found = []
    for index in range(int(reader.root["/Pages"]["/Count"])):
        page, _ = reader.find_page_for_modification(index)
        for ref in page.get_object().get("/Annots", generic.ArrayObject()):
            annot = ref.get_object()
            if annot.get("/FT") == "/Sig":
                found.append((index, [float(v) for v in annot["/Rect"]]))
    return found


def red_pixels(pdf: bytes, page: int, tmp_path: Path) -> tuple[Image.Image, set[tuple[int, int]]]:
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [
            tool("pdftoppm"),
            "-r",
            str(DPI),
            "-f",
            str(page + 1),
            "-l",
            str(page + 1),
            "-png",
            "-singlefile",
            str(path),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    image = Image.open(tmp_path / "page.png").convert("RGB")
    pixels = image.load()
    assert pixels is not None
    red = set()
    for y in range(image.height):
        for x in range(image.width):
            r, g, b = pixels[x, y]
            if r > 180 and g < 90 and b < 90:
                red.add((x, y))
    return image, red


def pixel_box(box: tuple[float, float, float, float], image: Image.Image) -> tuple[float, ...]:
    """The PDF box (points, origin lower left) in the page's pixels (origin upper left)."""
    x1, y1, x2, y2 = box
    k = DPI / 72
    return (x1 * k, image.height - y2 * k, x2 * k, image.height - y1 * k)


def test_sealed_licence_is_valid_for_pdfsig_and_pyhanko_and_red_only_in_the_box(
    pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    pdf = render_licence_pdf(licences.issued["driving-licence"], PdfRenderer(), size="a4")
    seal = Seal(AGENCY.name, box=BOX, caption="电子证照专用章")
    signed = signer_for(pki).sign(pdf, reason="电子证照签发", seal=seal)

    assert_pdfsig_valid(pdfsig(pki, signed, tmp_path))
    statuses = pyhanko_statuses(pki, signed)
    assert len(statuses) == 1
    assert statuses[0].bottom_line  # type: ignore[attr-defined]
    assert PdfSignatureVerifier([pki.ca.certificate]).inspect(signed).ok

    assert widgets(signed) == [(0, list(BOX))]
    image, red = red_pixels(signed, 0, tmp_path)
    left, top, right, bottom = pixel_box(BOX, image)
    inside = {(x, y) for x, y in red if left <= x <= right and top <= y <= bottom}
    # The ring, the star and the text: a good share of the box, and nothing red elsewhere
    # (one pixel of anti-aliasing allowed at the edge).
    assert len(inside) > 0.08 * (right - left) * (bottom - top), len(inside)
    outside = {
        (x, y) for x, y in red if not (left - 1 <= x <= right + 1 and top - 1 <= y <= bottom + 1)
    }
    assert not outside, sorted(outside)[:10]
    # The unsigned page has no red at all: the seal is what put it there.
    _, before = red_pixels(pdf, 0, tmp_path)
    assert not before


def test_sealed_b_t_card_with_embedded_font_on_the_last_page_is_valid(
    pki: Pki, servers: Servers, licences: Licences, tmp_path: Path
) -> None:
    renderer = PdfRenderer(font_file=FONT)
    pdf = render_licence_pdf(licences.issued["resident-id-card"], renderer, size="card")
    box = (160.0, 10.0, 235.0, 85.0)  # a card is 242.6 x 153 points
    seal = Seal(AGENCY.name, box=box, page=-1, font_file=FONT, show_time=False)
    signed = signer_for(pki, servers).sign(pdf, level="B-T", seal=seal)

    assert_pdfsig_valid(pdfsig(pki, signed, tmp_path))
    statuses = pyhanko_statuses(pki, signed)
    assert statuses[0].bottom_line  # type: ignore[attr-defined]
    assert [s.level for s in PdfSignatureVerifier([pki.ca.certificate]).verify(signed)] == ["B-T"]
    assert widgets(signed) == [(0, list(box))]
    _, red = red_pixels(signed, 0, tmp_path)
    assert red
    path = tmp_path / "card.pdf"
    path.write_bytes(signed)
    fonts = subprocess.run(
        [tool("pdffonts"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    # The seal's glyphs come from the embedded subset, like the page's own text.
    assert "STSong" not in fonts, fonts


def test_seal_swapped_after_signing_is_a_modified_document(
    pki: Pki, licences: Licences, tmp_path: Path
) -> None:
    """An attacker keeps the signature and replaces the picture: verification must fail."""
    pdf = render_licence_pdf(licences.issued["passport"], PdfRenderer())
    signed = signer_for(pki).sign(pdf, seal=Seal(AGENCY.name, box=BOX))
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref, _ = writer.find_page_for_modification(0)
    widget_ref = next(a for a in page_ref.get_object()["/Annots"] if "/AP" in a.get_object())
    forged = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (0, 0, 140, 140)]
            ),
        },
        stream_data=b"0 0 1 rg 0 0 140 140 re f",
    )
    widget = widget_ref.get_object()
    widget["/AP"] = generic.DictionaryObject({generic.NameObject("/N"): writer.add_object(forged)})
    writer.update_container(widget)
    buffer = io.BytesIO()
    writer.write(buffer)
    swapped = buffer.getvalue()

    out = pdfsig(pki, swapped, tmp_path)
    assert "Not total document signed" in out, out
    with pytest.raises(DocumentModified):
        PdfSignatureVerifier([pki.ca.certificate]).verify(swapped)
