"""Rendering documents: bad models are typed errors; the payload is embedded and read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from govkit.errors import PdfFontError, PdfPayloadMissing, PdfReadError, PdfRenderError
from govkit.pdf import (
    Attachment,
    Document,
    DocumentField,
    LayoutTemplate,
    PdfRenderer,
    QrMatrix,
    read_attachment,
)

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def document(**changes: object) -> Document:
    base: dict[str, object] = {
        "title_zh": "营业执照",
        "title_en": "Business Licence",
        "fields": (DocumentField("名称", "Name", "示例有限公司"),),
        "issuer": "示例市市场监督管理局",
        "valid_from": "2026-01-01",
        "valid_until": "2036-01-01",
        "identifier": "DEMO-1",
        "qr": QrMatrix(21, bytes([1, 0] * 220 + [1])),
        "attachment": Attachment("licence.txt", b"GK1:ABC"),
        "template": LayoutTemplate(columns=2),
    }
    base.update(changes)
    return Document(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", ["a4", "card"])
def test_rendering_is_deterministic_and_embeds_the_payload(size: str) -> None:
    renderer = PdfRenderer()
    pdf = renderer.render(document(), size=size)
    assert pdf == renderer.render(document(), size=size)
    assert read_attachment(pdf, "licence.txt") == b"GK1:ABC"


def test_unknown_page_size_is_a_render_error() -> None:
    with pytest.raises(PdfRenderError):
        PdfRenderer().render(document(), size="letter")


@pytest.mark.parametrize(
    "changes",
    [
        {"title_zh": ""},
        {"issuer": "line\nbreak"},
        {"fields": [DocumentField("a", "b", "c")]},
        {"identifier": "x" * 500},
    ],
)
def test_malformed_document_models_are_render_errors(changes: dict[str, object]) -> None:
    with pytest.raises(PdfRenderError):
        document(**changes)


def test_qr_matrix_of_wrong_size_is_refused() -> None:
    with pytest.raises(PdfRenderError):
        QrMatrix(21, b"\x01" * 20)


def test_embedded_font_lacking_a_glyph_is_a_font_error() -> None:
    renderer = PdfRenderer(font_file=FONT)
    assert renderer.embeds_font
    with pytest.raises(PdfFontError):
        renderer.render(document(issuer="示例\U0001f600"))


def test_unreadable_font_file_is_a_font_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(PdfFontError):
        PdfRenderer(font_file=bad)


def test_pdf_without_the_attachment_reports_it_missing() -> None:
    pdf = PdfRenderer().render(document(attachment=None))
    with pytest.raises(PdfPayloadMissing):
        read_attachment(pdf, "licence.txt")


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\ngarbage"])
def test_not_a_pdf_is_a_read_error(data: bytes) -> None:
    with pytest.raises(PdfReadError):
        read_attachment(data, "licence.txt")
