"""The generic document model that :mod:`govkit.pdf` renders (no licence knowledge)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from govkit.errors import PdfRenderError

__all__ = [
    "PAGE_SIZES",
    "Attachment",
    "Document",
    "DocumentField",
    "LayoutTemplate",
    "PageSize",
    "QrMatrix",
]

#: The page sizes a document renders at.
PageSize: TypeAlias = Literal["a4", "card"]
_MM: Final = 72 / 25.4
#: Page sizes in PDF points (1/72 inch): A4 portrait and an ID-1 card (85.6 x 54 mm) landscape.
PAGE_SIZES: Final[dict[str, tuple[float, float]]] = {
    "a4": (210 * _MM, 297 * _MM),
    "card": (85.6 * _MM, 54 * _MM),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MIME = re.compile(r"[a-z]+/[a-z0-9.+-]+")
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_TEXT: Final = 512
MAX_FIELDS: Final = 40
MAX_ATTACHMENT: Final = 1 << 20


def _text(value: object, what: str, *, limit: int = MAX_TEXT, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise PdfRenderError(f"{what} must be text", field=what, reason="kind")
    if (not value and not empty) or len(value) > limit:
        raise PdfRenderError(f"{what} must be 1-{limit} characters", field=what, reason="length")
    if _CONTROL.search(value):
        raise PdfRenderError(f"{what} holds control characters", field=what, reason="control")
    return value


@dataclass(frozen=True, slots=True)
class DocumentField:
    """One labelled value: a Chinese label, an English label and the value as text."""

    zh: str
    en: str
    value: str

    def __post_init__(self) -> None:
        _text(self.zh, "label", limit=64)
        _text(self.en, "label", limit=64)
        _text(self.value, "value")


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """A QR symbol's modules, row by row, one byte a module (1 dark, 0 light), no quiet zone."""

    size: int
    modules: bytes

    def __post_init__(self) -> None:
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, int)
            or not 21 <= self.size <= 177
        ):
            raise PdfRenderError(
                "a QR matrix is 21 to 177 modules a side", field="qr", reason="size"
            )
        if not isinstance(self.modules, bytes) or len(self.modules) != self.size * self.size:
            raise PdfRenderError("QR modules must be size x size bytes", field="qr", reason="size")
        if self.modules.translate(None, b"\x00\x01"):
            raise PdfRenderError("QR modules must be 0 or 1", field="qr", reason="kind")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file embedded in the PDF (``/EmbeddedFiles``), readable without rendering."""

    name: str
    data: bytes
    mime: str = "text/plain"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _ATTACHMENT_NAME.fullmatch(self.name):
            raise PdfRenderError(
                "attachment names are short ASCII file names", field="attachment", reason="name"
            )
        if not isinstance(self.data, bytes) or len(self.data) > MAX_ATTACHMENT:
            raise PdfRenderError(
                "attachment data must be bytes, at most 1 MiB", field="attachment", reason="size"
            )
        if not isinstance(self.mime, str) or not _MIME.fullmatch(self.mime):
            raise PdfRenderError(
                "attachment type must be a MIME type", field="attachment", reason="mime"
            )


@dataclass(frozen=True, slots=True)
class LayoutTemplate:
    """How a kind of document looks: the accent colour, a header line and field columns.

    Attributes:
        name: the template's name (shown nowhere; for reports and tests).
        accent: the colour of the header band and rules, ``#rrggbb``.
        header: a line above the title (``中华人民共和国``), or empty.
        columns: fields in one or two columns on A4 (cards always use one).
    """

    name: str = "default"
    accent: str = "#1f4e79"
    header: str = ""
    columns: int = 1

    def __post_init__(self) -> None:
        _text(self.name, "template", limit=64)
        if not isinstance(self.accent, str) or not _HEX_COLOUR.fullmatch(self.accent):
            raise PdfRenderError("accent must be #rrggbb", field="template", reason="colour")
        _text(self.header, "header", limit=64, empty=True)
        if self.columns not in (1, 2) or isinstance(self.columns, bool):
            raise PdfRenderError("columns must be 1 or 2", field="template", reason="columns")

    @property
    def rgb(self) -> tuple[float, float, float]:
        """The accent as three floats from 0 to 1."""
        value = int(self.accent[1:], 16)
        return ((value >> 16) / 255, ((value >> 8) & 255) / 255, (value & 255) / 255)


@dataclass(frozen=True, slots=True)
class Document:
    """Everything a rendered document shows, as text, plus a QR matrix and an attachment.

    Attributes:
        title_zh: the Chinese title (``机动车驾驶证``).
        title_en: the English title.
        fields: the labelled values, in display order.
        issuer: who issued the document (shown at the foot).
        valid_from: start of validity, as text (``2026-03-01``).
        valid_until: end of validity, as text.
        identifier: the document's identifier (shown under the QR).
        qr: the QR symbol to draw as vector shapes, or ``None``.
        attachment: a file to embed (the machine-readable payload), or ``None``.
        template: the layout.
        subject: the PDF's ``/Subject`` metadata.
    """

    title_zh: str
    title_en: str
    fields: tuple[DocumentField, ...]
    issuer: str
    valid_from: str
    valid_until: str
    identifier: str
    qr: QrMatrix | None = None
    attachment: Attachment | None = None
    template: LayoutTemplate = field(default_factory=LayoutTemplate)
    subject: str = ""

    def __post_init__(self) -> None:
        _text(self.title_zh, "title_zh", limit=64)
        _text(self.title_en, "title_en", limit=128)
        if not isinstance(self.fields, tuple) or not all(
            isinstance(f, DocumentField) for f in self.fields
        ):
            raise PdfRenderError(
                "fields must be a tuple of DocumentField", field="fields", reason="kind"
            )
        if len(self.fields) > MAX_FIELDS:
            raise PdfRenderError(f"at most {MAX_FIELDS} fields", field="fields", reason="length")
        _text(self.issuer, "issuer", limit=128)
        _text(self.valid_from, "valid_from", limit=64)
        _text(self.valid_until, "valid_until", limit=64)
        _text(self.identifier, "identifier", limit=128)
        _text(self.subject, "subject", limit=256, empty=True)
        if self.qr is not None and not isinstance(self.qr, QrMatrix):
            raise PdfRenderError("qr must be a QrMatrix", field="qr", reason="kind")
        if self.attachment is not None and not isinstance(self.attachment, Attachment):
            raise PdfRenderError(
                "attachment must be an Attachment", field="attachment", reason="kind"
            )
        if not isinstance(self.template, LayoutTemplate):
            raise PdfRenderError(
                "template must be a LayoutTemplate", field="template", reason="kind"
            )
