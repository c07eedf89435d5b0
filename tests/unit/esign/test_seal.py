"""Visible seals: bad parameters fail with a typed error, a good seal lands in its box.

pdfsig, pyHanko and pdftoppm judge sealed PDFs in
``tests/integration/documents/test_sealed_pdfs.py``.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from govkit.errors import ConfigurationError, GovkitError, PdfFontError
from govkit.esign import PadesSigner, PdfSignatureVerifier, Seal
from govkit.testing import FixedClock

from .test_pades import CA, CERT, KEY, PDF

BOX = (400, 60, 520, 180)
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
WHEN = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def signer() -> PadesSigner:
    return PadesSigner(KEY, CERT, chain=[CA.certificate], clock=FixedClock(WHEN))


def sig_widgets(pdf: bytes) -> list[tuple[int, list[float]]]:
    reader = PdfFileReader(io.BytesIO(pdf))
    found = []
    for index in range(int(reader.root["/Pages"]["/Count"])):
        page, _ = reader.find_page_for_modification(index)
        for ref in page.get_object().get("/Annots", generic.ArrayObject()):
            annot = ref.get_object()
            if annot.get("/FT") == "/Sig":
                found.append((index, [float(v) for v in annot["/Rect"]]))
    return found


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"agency_name": "", "box": BOX}, "agency_name"),
        ({"agency_name": "   ", "box": BOX}, "agency_name"),
        ({"agency_name": " 广东省公安厅", "box": BOX}, "agency_name"),
        ({"agency_name": "广东省\n公安厅", "box": BOX}, "agency_name"),
        ({"agency_name": "局" * 33, "box": BOX}, "agency_name"),
        ({"agency_name": b"bytes", "box": BOX}, "agency_name"),
        ({"agency_name": "示例局", "box": BOX, "caption": ""}, "caption"),
        ({"agency_name": "示例局", "box": BOX, "caption": "章" * 17}, "caption"),
        ({"agency_name": "示例局", "box": (1, 2, 3)}, "box"),
        ({"agency_name": "示例局", "box": (520, 60, 400, 180)}, "box"),  # x1 > x2
        ({"agency_name": "示例局", "box": (400, 60, 420, 80)}, "box"),  # too small to read
        ({"agency_name": "示例局", "box": (400, 60, float("nan"), 180)}, "box"),
        ({"agency_name": "示例局", "box": (400, 60, True, 180)}, "box"),
        ({"agency_name": "示例局", "box": "400 60 520 180"}, "box"),
        ({"agency_name": "示例局", "box": BOX, "page": 1.0}, "page"),
        ({"agency_name": "示例局", "box": BOX, "page": True}, "page"),
        ({"agency_name": "示例局", "box": BOX, "show_time": "yes"}, "show_time"),
    ],
)
def test_bad_seal_parameters_are_a_configuration_error(
    kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Seal(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code == "config.invalid"
    assert caught.value.context["seal"] == parameter


@pytest.mark.parametrize("page", [1, -2, 99])
def test_seal_on_a_page_the_pdf_does_not_have_is_refused(page: int) -> None:
    with pytest.raises(ConfigurationError) as caught:
        signer().sign(PDF, seal=Seal("示例局", box=BOX, page=page))
    assert caught.value.code == "config.invalid"
    assert caught.value.context["seal"] == "page"
    assert caught.value.context["pages"] == 1


@pytest.mark.parametrize(
    "box",
    [
        (560, 60, 680, 180),  # past the right edge of A4 (595 points)
        (-10, 60, 110, 180),  # left of the page
        (400, 780, 520, 900),  # above the top (842 points)
    ],
)
def test_seal_box_off_the_page_is_refused(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        signer().sign(PDF, seal=Seal("示例局", box=box))
    assert caught.value.code == "config.invalid"
    assert caught.value.context["seal"] == "box"


def test_something_else_than_a_seal_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        signer().sign(PDF, seal="广东省公安厅")  # type: ignore[arg-type]
    assert caught.value.context["seal"] == "seal"


def test_unreadable_font_file_is_a_font_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(PdfFontError):
        Seal("示例局", box=BOX, font_file=bad)


def test_font_without_a_character_of_the_name_is_a_font_error() -> None:
    with pytest.raises(PdfFontError) as caught:
        Seal("示例局\U0001f600", box=BOX, font_file=FONT)  # an emoji WQY Zen Hei lacks
    assert caught.value.context["codepoint"] == "U+1F600"


def test_without_a_seal_the_signature_stays_invisible() -> None:
    rects = sig_widgets(signer().sign(PDF))
    assert len(rects) == 1
    x1, y1, x2, y2 = rects[0][1]
    assert (x2 - x1, y2 - y1) == (0, 0)


def test_sealed_signature_has_the_seal_box_on_its_page_and_verifies() -> None:
    signed = signer().sign(PDF, seal=Seal("广东省公安厅", box=BOX, page=-1))
    assert sig_widgets(signed) == [(0, [400.0, 60.0, 520.0, 180.0])]
    assert signed.startswith(PDF)
    report = PdfSignatureVerifier([CA.certificate]).inspect(signed)
    assert report.ok, report.to_dict()


def test_seal_shows_the_signing_time_written_into_the_signature() -> None:
    seal = Seal("广东省公安厅", box=BOX)
    signed = signer().sign(PDF, seal=seal)
    assert b"(2026-03-01 08:30 UTC) Tj" in _appearance_text(signed)
    (info,) = PdfSignatureVerifier([CA.certificate]).verify(signed)
    assert info.signing_time == WHEN


def test_seal_without_time_shows_none() -> None:
    seal = Seal("广东省公安厅", box=BOX, show_time=False)
    assert b"UTC" not in _appearance_text(signer().sign(PDF, seal=seal))


def test_rendering_is_deterministic() -> None:
    seal = Seal("广东省公安厅", box=BOX, caption="电子证照专用章")
    assert seal.render(WHEN) == seal.render(WHEN)


def test_seal_errors_are_govkit_errors() -> None:
    with pytest.raises(GovkitError):
        Seal("", box=BOX)


def _appearance_text(pdf: bytes) -> bytes:
    """The decoded content of the signature widget's appearance and the forms it draws."""
    reader = PdfFileReader(io.BytesIO(pdf))
    page, _ = reader.find_page_for_modification(0)
    (widget,) = (
        a.get_object() for a in page.get_object()["/Annots"] if a.get_object().get("/FT") == "/Sig"
    )
    out = []
    todo = [widget["/AP"]["/N"].get_object()]
    while todo:
        form = todo.pop()
        out.append(form.data)
        xobjects = form.get("/Resources", generic.DictionaryObject()).get(
            "/XObject", generic.DictionaryObject()
        )
        todo.extend(x.get_object() for x in xobjects.values())
    return b"\n".join(out)
