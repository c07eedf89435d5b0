"""Reading what :mod:`govkit.pdf` embedded, without rendering the page."""

from __future__ import annotations

import io
from typing import Any

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader

from govkit.errors import PdfPayloadMissing, PdfReadError

__all__ = ["read_attachment"]

MAX_PDF_BYTES = 64 * 1024 * 1024


def read_attachment(pdf: bytes, name: str) -> bytes:
    """The bytes of the embedded file ``name`` in ``pdf`` (its newest revision).

    Raises:
        PdfReadError: ``pdf`` is not a readable PDF.
        PdfPayloadMissing: it has no embedded file of that name.
    """
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
        raise PdfReadError("the data is not a PDF", reason="magic")
    if len(pdf) > MAX_PDF_BYTES:
        raise PdfReadError("the PDF is too large", reason="too_large", size=len(pdf))
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        entries = _lookup(reader.root, "/Names", "/EmbeddedFiles", "/Names")
        if entries is None:
            raise PdfPayloadMissing("the PDF has no embedded files", name=name)
        for index in range(0, len(entries) - 1, 2):
            key = entries[index]
            if isinstance(key, generic.TextStringObject) and str(key) == name:
                stream = entries[index + 1]["/EF"]["/F"]
                data = stream.data
                if not isinstance(data, bytes):
                    break
                return data
    except PdfPayloadMissing:
        raise
    except (misc.PdfError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise PdfReadError(
            f"the PDF cannot be read ({type(exc).__name__})", reason="structure"
        ) from None
    raise PdfPayloadMissing("the PDF has no embedded file of that name", name=name)


def _lookup(start: Any, *keys: str) -> Any:
    """Follow dictionary ``keys`` from ``start`` (resolving references); ``None`` if absent."""
    node = start
    for key in keys:
        if not isinstance(node, generic.DictionaryObject) or key not in node:
            return None
        node = node[key]
    return node
