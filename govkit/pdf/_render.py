"""Rendering a :class:`~govkit.pdf.Document` to PDF bytes with reportlab."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Final

from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from govkit.errors import PdfFontError, PdfRenderError
from govkit.pdf._model import PAGE_SIZES, Document, DocumentField, QrMatrix

__all__ = ["DEFAULT_CJK_FONT", "PdfRenderer"]

#: reportlab's built-in CJK font (Adobe-GB1; not embedded, the viewer supplies the glyphs).
DEFAULT_CJK_FONT: Final = "STSong-Light"
_LATIN: Final = "Helvetica"
_LATIN_BOLD: Final = "Helvetica-Bold"
_MM: Final = 72 / 25.4
_GREY: Final = (0.35, 0.35, 0.35)
_QUIET: Final = 4  # modules of quiet zone around the QR


class _Layout:
    """Sizes (points) for one page size."""

    def __init__(self, size: str) -> None:
        self.width, self.height = PAGE_SIZES[size]
        card = size == "card"
        self.card = card
        self.margin = (3.5 if card else 18) * _MM
        self.band = (9 if card else 34) * _MM
        self.title = 8.5 if card else 22
        self.title_en = 4.5 if card else 11
        self.header = 4 if card else 10
        self.label = 3.6 if card else 8
        self.value = 5.6 if card else 12
        self.row_gap = 1.2 * _MM if card else 4.5 * _MM
        self.qr = (27 if card else 58) * _MM
        self.foot = 3.6 if card else 8.5


def register_cjk_font(
    font_file: str | Path | None, font_index: int = 0
) -> tuple[str, TTFont | None]:
    """Register a CJK font with reportlab and return its name (and the TrueType face).

    Without ``font_file``, reportlab's built-in CID font :data:`DEFAULT_CJK_FONT` (not
    embedded; no face). With one, the face ``font_index`` of a ``.ttf`` or ``.ttc`` file,
    embedded as a subset, registered once per file and face under a name derived from
    them (reportlab's font table is process-wide), so different fonts never clash.

    Raises:
        PdfFontError: ``font_index`` is not a non-negative int, or the file cannot be
            loaded as a TrueType font.
    """
    if font_file is None:
        if DEFAULT_CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(DEFAULT_CJK_FONT))
        return DEFAULT_CJK_FONT, None
    if isinstance(font_index, bool) or not isinstance(font_index, int) or font_index < 0:
        raise PdfFontError("font_index must be a non-negative int", reason="index")
    path = Path(font_file)
    digest = hashlib.sha256(f"{path.resolve()}#{font_index}".encode()).hexdigest()[:12]
    name = f"govkit-{digest}"
    if name not in pdfmetrics.getRegisteredFontNames():
        try:
            face = TTFont(name, str(path), subfontIndex=font_index)
        except (OSError, TTFError) as exc:
            raise PdfFontError(
                f"cannot load the font file ({type(exc).__name__})", reason="unreadable"
            ) from None
        pdfmetrics.registerFont(face)
    registered = pdfmetrics.getFont(name)
    if not isinstance(registered, TTFont):  # pragma: no cover - registered just above
        raise PdfFontError("the font name is taken by a non-TrueType font", reason="unreadable")
    return name, registered


class PdfRenderer:
    """Renders documents to PDF; configure the CJK font once, render many documents.

    Args:
        font_file: a TrueType font (``.ttf``, or ``.ttc`` with ``font_index``) to embed
            as a subset. Without it, text uses reportlab's built-in CID font
            ``STSong-Light``, which is not embedded (fine on screen, not for archives).
        font_index: the face to use in a ``.ttc`` collection.

    Raises:
        PdfFontError: the font file cannot be read as TrueType.

    reportlab keeps registered fonts in its own process-wide table; govkit registers
    each font under a name derived from its file and index, so two renderers with
    different fonts never clash.

    >>> from govkit.pdf import Document, DocumentField, PdfRenderer
    >>> doc = Document("示例证照", "Sample licence", (DocumentField("姓名", "Name", "张三"),),
    ...                issuer="示例机关", valid_from="2026-01-01", valid_until="2030-12-31",
    ...                identifier="DEMO-1")
    >>> PdfRenderer().render(doc)[:5]
    b'%PDF-'
    """

    __slots__ = ("_cjk", "_embedded", "_face")

    def __init__(self, *, font_file: str | Path | None = None, font_index: int = 0) -> None:
        self._cjk, self._face = register_cjk_font(font_file, font_index)
        self._embedded = self._face is not None

    @property
    def font_name(self) -> str:
        """The reportlab name of the CJK font in use."""
        return self._cjk

    @property
    def embeds_font(self) -> bool:
        """Whether the CJK font is embedded (a configured TrueType file) or not (STSong-Light)."""
        return self._embedded

    def render(self, document: Document, *, size: str = "a4") -> bytes:
        """Render ``document`` on one page of ``size`` (``a4`` or ``card``); return the PDF.

        The output is deterministic: the same document and font give the same bytes.

        Raises:
            PdfRenderError: ``document`` is not a :class:`Document` or ``size`` is unknown.
            PdfFontError: a configured font lacks a glyph the document needs.
        """
        if not isinstance(document, Document):
            raise PdfRenderError("render takes a Document", field="document", reason="kind")
        if size not in PAGE_SIZES:
            raise PdfRenderError("size must be 'a4' or 'card'", field="size", reason="size")
        self._check_glyphs(document)
        layout = _Layout(size)
        buffer = io.BytesIO()
        canvas = Canvas(
            buffer, pagesize=(layout.width, layout.height), invariant=True, pageCompression=1
        )
        canvas.setTitle(f"{document.title_zh} {document.title_en}")
        canvas.setAuthor(document.issuer)
        canvas.setSubject(document.subject or document.identifier)
        canvas.setCreator("govkit")
        self._draw(canvas, document, layout)
        if document.attachment is not None:
            _embed(
                canvas, document.attachment.name, document.attachment.data, document.attachment.mime
            )
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    # -- drawing ---------------------------------------------------------------

    def _check_glyphs(self, document: Document) -> None:
        if self._face is None:
            return
        known = self._face.face.charToGlyph
        texts = [document.title_zh, document.issuer]
        texts += [f.zh for f in document.fields] + [f.value for f in document.fields]
        texts.append(document.template.header)
        for text in texts:
            for char in text:
                if ord(char) > 0x7E and ord(char) not in known:
                    raise PdfFontError(
                        "the configured font lacks a character the document uses",
                        reason="missing_glyph",
                        codepoint=f"U+{ord(char):04X}",
                    )

    def _draw(self, c: Canvas, doc: Document, lay: _Layout) -> None:  # noqa: PLR0915 - one page, top to bottom
        r, g, b = doc.template.rgb
        w, h, m = lay.width, lay.height, lay.margin
        # Header band.
        c.setFillColorRGB(r, g, b)
        c.rect(0, h - lay.band, w, lay.band, stroke=0, fill=1)
        c.setFillColorRGB(1, 1, 1)
        top = h - lay.band
        if doc.template.header:
            c.setFont(self._cjk, lay.header)
            c.drawCentredString(w / 2, h - lay.band * 0.22, doc.template.header)
        c.setFont(self._cjk, lay.title)
        c.drawCentredString(w / 2, top + lay.band * 0.40, doc.title_zh)
        c.setFont(_LATIN, lay.title_en)
        c.drawCentredString(w / 2, top + lay.band * 0.14, doc.title_en)
        # Frame.
        c.setStrokeColorRGB(r, g, b)
        c.setLineWidth(0.6 if lay.card else 1.2)
        c.rect(m / 2, m / 2, w - m, h - m / 2 - lay.band + 0.1, stroke=1, fill=0)
        # QR at the right, below the band.
        qr_x = w - m - lay.qr
        qr_top = top - (2 if lay.card else 8) * _MM
        if doc.qr is not None:
            _draw_qr(c, doc.qr, qr_x, qr_top - lay.qr, lay.qr)
            c.setFillColorRGB(*_GREY)
            ident_size = min(
                lay.label,
                lay.label * lay.qr / pdfmetrics.stringWidth(doc.identifier, _LATIN, lay.label),
            )
            c.setFont(_LATIN, ident_size)
            c.drawCentredString(
                qr_x + lay.qr / 2, qr_top - lay.qr - lay.label * 1.2, doc.identifier
            )
        # Fields.
        c.setFillColorRGB(0, 0, 0)
        text_right = qr_x - (2 if lay.card else 8) * _MM if doc.qr is not None else w - m
        columns = 1 if lay.card else doc.template.columns
        y_start = top - (3 if lay.card else 10) * _MM - lay.label
        if columns == 2 and not lay.card:
            # Two columns under the QR block use the full width.
            half = (len(doc.fields) + 1) // 2
            first, second = doc.fields[:half], doc.fields[half:]
            col_w = (text_right - m) / 2
            self._fields(c, first, m, y_start, col_w, lay)
            self._fields(c, second, m + col_w, y_start, col_w, lay)
        else:
            self._fields(c, doc.fields, m, y_start, text_right - m, lay)
        # Foot: issuer and validity.
        foot_y = m / 2 + (2.2 if lay.card else 10) * _MM
        c.setStrokeColorRGB(r, g, b)
        c.setLineWidth(0.3 if lay.card else 0.6)
        c.line(m, foot_y + lay.foot * 1.6, w - m, foot_y + lay.foot * 1.6)
        c.setFillColorRGB(0, 0, 0)
        c.setFont(self._cjk, lay.foot)
        c.drawString(m, foot_y, f"发证机关 Issuer: {doc.issuer}")
        validity = f"有效期 Valid: {doc.valid_from} — {doc.valid_until}"
        if lay.card:
            c.drawString(m, foot_y - lay.foot * 1.3, validity)
        else:
            c.drawRightString(w - m, foot_y, validity)
            c.setFont(_LATIN, lay.label)
            c.setFillColorRGB(*_GREY)
            c.drawString(m, foot_y - lay.foot * 1.8, f"ID {doc.identifier}")

    def _fields(  # noqa: PLR0917 - a private drawing helper
        self,
        c: Canvas,
        fields: tuple[DocumentField, ...],
        x: float,
        y: float,
        width: float,
        lay: _Layout,
    ) -> None:
        if lay.card:
            self._card_fields(c, fields, x, y, width, lay)
            return
        for item in fields:
            c.setFillColorRGB(*_GREY)
            c.setFont(self._cjk, lay.label)
            c.drawString(x, y, item.zh)
            offset = pdfmetrics.stringWidth(item.zh, self._cjk, lay.label) + lay.label * 0.6
            c.setFont(_LATIN, lay.label * 0.9)
            c.drawString(x + offset, y, item.en)
            y -= lay.value * 1.25
            c.setFillColorRGB(0, 0, 0)
            c.setFont(self._cjk, lay.value)
            for line in _wrap(item.value, self._cjk, lay.value, width - lay.label, 2):
                c.drawString(x, y, line)
                y -= lay.value * 1.2
            y -= lay.row_gap

    def _card_fields(  # noqa: PLR0917 - a private drawing helper
        self,
        c: Canvas,
        fields: tuple[DocumentField, ...],
        x: float,
        y: float,
        width: float,
        lay: _Layout,
    ) -> None:
        """On a card each field is one line: the Chinese label, then the value."""
        label_w = max(
            (pdfmetrics.stringWidth(f.zh, self._cjk, lay.label) for f in fields), default=0.0
        )
        for item in fields:
            c.setFillColorRGB(*_GREY)
            c.setFont(self._cjk, lay.label)
            c.drawString(x, y, item.zh)
            c.setFillColorRGB(0, 0, 0)
            c.setFont(self._cjk, lay.value)
            value_x = x + label_w + lay.label
            line = _wrap(item.value, self._cjk, lay.value, width - label_w - lay.label, 1)[0]
            c.drawString(value_x, y, line)
            y -= lay.value * 1.4


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (character by character, for CJK)."""
    lines: list[str] = []
    current = ""
    for char in text:
        if pdfmetrics.stringWidth(current + char, font, size) > width and current:
            lines.append(current)
            current = char
        else:
            current += char
    lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][:-1] + "…"]
    return lines


def _draw_qr(c: Canvas, qr: QrMatrix, x: float, y: float, side: float) -> None:
    """Draw the QR as one filled path of rectangles, each a horizontal run of dark modules."""
    n = qr.size
    unit = side / (n + 2 * _QUIET)
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, y, side, side, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    modules = qr.modules
    left = x + _QUIET * unit
    top = y + side - _QUIET * unit
    for row in range(n):
        base = row * n
        col = 0
        while col < n:
            if modules[base + col]:
                start = col
                while col < n and modules[base + col]:
                    col += 1
                path.rect(left + start * unit, top - (row + 1) * unit, (col - start) * unit, unit)
            else:
                col += 1
    c.drawPath(path, stroke=0, fill=1)


def _embed(c: Canvas, name: str, data: bytes, mime: str) -> None:
    """Add ``data`` as an embedded file named ``name`` (catalog ``/Names /EmbeddedFiles``)."""
    document = c._doc
    stream = pdfdoc.PDFStream(
        dictionary=pdfdoc.PDFDictionary(
            {
                "Type": pdfdoc.PDFName("EmbeddedFile"),
                "Subtype": "/" + mime.replace("/", "#2F"),  # a PDF name; "/" escaped
                "Params": pdfdoc.PDFDictionary({"Size": len(data)}),
            }
        ),
        content=data,
    )
    stream_ref = document.Reference(stream)
    spec = pdfdoc.PDFDictionary(
        {
            "Type": pdfdoc.PDFName("Filespec"),
            "F": pdfdoc.PDFString(name),
            "UF": pdfdoc.PDFString(name),
            "AFRelationship": pdfdoc.PDFName("Data"),
            "EF": pdfdoc.PDFDictionary({"F": stream_ref}),
        }
    )
    spec_ref = document.Reference(spec)
    tree = pdfdoc.PDFDictionary({"Names": pdfdoc.PDFArray([pdfdoc.PDFString(name), spec_ref])})
    document.Catalog.Names = pdfdoc.PDFDictionary({"EmbeddedFiles": tree})
