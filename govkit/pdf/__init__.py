"""Rendering documents to PDF (reportlab); knows no cryptography and no licences.

A :class:`Document` is generic: a title in Chinese and English, labelled fields, an
issuer, a validity period, an identifier, a QR module matrix drawn as vector shapes,
and an :class:`Attachment` embedded in the file (``/EmbeddedFiles``), so a verifier can
read the machine-readable payload without rendering the page.
:mod:`govkit.certificates` builds documents from licences; :mod:`govkit.esign` signs
the result.

>>> from govkit.pdf import Attachment, Document, DocumentField, PdfRenderer, read_attachment
>>> doc = Document(
...     "示例证照", "Sample licence",
...     (DocumentField("姓名", "Name", "张三"), DocumentField("编号", "Number", "A-1")),
...     issuer="示例市政务服务局", valid_from="2026-01-01", valid_until="2030-12-31",
...     identifier="DEMO-0001", attachment=Attachment("payload.txt", b"GK1:EXAMPLE"))
>>> pdf = PdfRenderer().render(doc, size="card")
>>> read_attachment(pdf, "payload.txt")
b'GK1:EXAMPLE'

Fonts: by default CJK text uses reportlab's built-in CID font ``STSong-Light``, which is
not embedded (the viewer substitutes a Song face). For archiving, configure a TrueType
file (``PdfRenderer(font_file=...)``); only the glyphs used are embedded. Two page
sizes: ``a4`` and ``card`` (ID-1, 85.6 x 54 mm). The look of each kind of document is a
:class:`LayoutTemplate` (accent colour, header line, one or two field columns).
"""

from govkit.pdf._model import (
    PAGE_SIZES,
    Attachment,
    Document,
    DocumentField,
    LayoutTemplate,
    PageSize,
    QrMatrix,
)
from govkit.pdf._read import read_attachment
from govkit.pdf._render import DEFAULT_CJK_FONT, PdfRenderer, register_cjk_font

__all__ = [
    "DEFAULT_CJK_FONT",
    "PAGE_SIZES",
    "Attachment",
    "Document",
    "DocumentField",
    "LayoutTemplate",
    "PageSize",
    "PdfRenderer",
    "QrMatrix",
    "read_attachment",
    "register_cjk_font",
]
