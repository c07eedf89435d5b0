"""The visible seal of a PAdES signature: a red round seal drawn with reportlab.

The seal is a static picture (a one-page PDF) that pyHanko imports as the appearance
stream of the signature field. Nothing in it is verified: the signature is.
"""

from __future__ import annotations

import io
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from pyhanko.pdf_utils import content
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from govkit.errors import ConfigurationError, PdfFontError
from govkit.pdf import DEFAULT_CJK_FONT, register_cjk_font

__all__ = ["SEAL_RED", "Seal"]

#: The seal's colour (RGB, 0 to 1): the vermilion of Chinese official seals.
SEAL_RED: Final[tuple[float, float, float]] = (0.86, 0.08, 0.08)
#: reportlab's built-in CJK font (Adobe-GB1; not embedded, the viewer supplies the glyphs).
_MAX_NAME: Final = 32
_MAX_CAPTION: Final = 16
#: The smallest seal side, in points (about 1.3 cm): below it the name is unreadable.
_MIN_SIDE: Final = 36.0
_MAX_ARC: Final = math.radians(210)
_SPREAD: Final = math.radians(180)
_MAX_STEP: Final = math.radians(40)


def _bad(message: str, parameter: str, **context: Any) -> ConfigurationError:
    return ConfigurationError(message, seal=parameter, **context)


def _check_text(value: object, parameter: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"seal {parameter} must be a non-empty string", parameter)
    if value != value.strip() or len(value) > limit:
        raise _bad(
            f"seal {parameter} must have no outer spaces and at most {limit} characters",
            parameter,
        )
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise _bad(f"seal {parameter} must not contain control characters", parameter)
    return value


@dataclass(frozen=True)
class Seal:
    """A visible signature: a red round seal (电子印章) with the agency name in Chinese.

    Pass it to :meth:`PadesSigner.sign(pdf, seal=...) <PadesSigner.sign>`. The seal is
    drawn in ``box`` on ``page``: a red ring, a five-pointed star, the agency name
    around the top, and under the star an optional ``caption`` and the signing time.
    Signatures without a seal stay invisible.

    The seal is only a picture of the signature: viewers and :class:`PdfSignatureVerifier`
    verify the signature value and the certificate, never what the seal shows.

    Attributes:
        agency_name: the name around the seal (``广东省公安厅``), 1 to 32 characters.
        box: ``(x1, y1, x2, y2)`` in PDF points from the page's lower-left corner; it must
            lie on the page and be at least 36 points (about 1.3 cm) each way. The
            round seal fills the largest centred square.
        page: the page index; negative counts from the end (``-1``: the last page).
        caption: a short line under the star (``电子证照专用章``), up to 16 characters.
        show_time: print the signing time (UTC, to the minute) under the star.
        font_file: a TrueType font (``.ttf``, or ``.ttc`` with ``font_index``) to embed
            as a subset; without it the text uses reportlab's built-in ``STSong-Light``,
            which is not embedded (the viewer supplies the glyphs).
        font_index: the face to use in a ``.ttc`` collection.

    Raises:
        ConfigurationError: an empty or over-long name or caption, a malformed or
            too small box, a page that is not an int (``code`` ``config.invalid``,
            ``context["seal"]`` names the parameter).
        PdfFontError: the font file cannot be loaded, or lacks a character of the
            name or caption.

    >>> Seal("广东省公安厅", box=(400, 60, 520, 180)).page
    0
    >>> Seal("", box=(400, 60, 520, 180))
    Traceback (most recent call last):
    govkit.errors.ConfigurationError: seal agency_name must be a non-empty string
    """

    agency_name: str
    box: tuple[float, float, float, float]
    page: int = 0
    caption: str | None = None
    show_time: bool = True
    font_file: str | Path | None = None
    font_index: int = 0
    _font: str = field(init=False, repr=False, compare=False, default=DEFAULT_CJK_FONT)

    def __post_init__(self) -> None:
        _check_text(self.agency_name, "agency_name", _MAX_NAME)
        if self.caption is not None:
            _check_text(self.caption, "caption", _MAX_CAPTION)
        if isinstance(self.page, bool) or not isinstance(self.page, int):
            raise _bad("seal page must be an int", "page")
        if not isinstance(self.show_time, bool):
            raise _bad("seal show_time must be a bool", "show_time")
        box = self.box
        if (
            not isinstance(box, tuple | list)
            or len(box) != 4
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in box
            )
        ):
            raise _bad("seal box must be four finite numbers (x1, y1, x2, y2)", "box")
        x1, y1, x2, y2 = (float(v) for v in box)
        if x2 - x1 < _MIN_SIDE or y2 - y1 < _MIN_SIDE:
            raise _bad(
                f"seal box must have x1 < x2, y1 < y2 and sides of at least {_MIN_SIDE:g} points",
                "box",
            )
        object.__setattr__(self, "box", (x1, y1, x2, y2))
        name, face = register_cjk_font(self.font_file, self.font_index)
        if face is not None:
            known = face.face.charToGlyph
            for char in self.agency_name + (self.caption or ""):
                if not char.isspace() and ord(char) not in known:
                    raise PdfFontError(
                        "the configured font lacks a character of the seal",
                        reason="missing_glyph",
                        codepoint=f"U+{ord(char):04X}",
                    )
        object.__setattr__(self, "_font", name)

    @property
    def width(self) -> float:
        """The box's width in points."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        """The box's height in points."""
        return self.box[3] - self.box[1]

    def render(self, when: datetime | None = None) -> bytes:
        """Draw the seal alone on a one-page PDF the size of ``box``; return the PDF.

        ``when`` is the signing time (shown if :attr:`show_time`); :meth:`PadesSigner.sign`
        passes the time it writes into the signature.

        >>> Seal("示例市政务服务局", box=(0, 0, 120, 120)).render()[:5]
        b'%PDF-'
        """
        buffer = io.BytesIO()
        c = Canvas(buffer, pagesize=(self.width, self.height), invariant=True, pageCompression=1)
        c.setCreator("govkit")
        self._draw(c, when)
        c.showPage()
        c.save()
        return buffer.getvalue()

    def _draw(self, c: Canvas, when: datetime | None) -> None:
        side = min(self.width, self.height)
        cx, cy = self.width / 2, self.height / 2
        ring = side * 0.035
        radius = side / 2 - ring / 2 - 0.5
        c.setStrokeColorRGB(*SEAL_RED)
        c.setFillColorRGB(*SEAL_RED)
        c.setLineWidth(ring)
        c.circle(cx, cy, radius, stroke=1, fill=0)
        # The star, a little above the centre.
        star = radius * 0.30
        star_y = cy + radius * 0.05
        points = []
        for k in range(10):
            r = star if k % 2 == 0 else star * 0.382
            angle = math.pi / 2 + k * math.pi / 5
            points.append((cx + r * math.cos(angle), star_y + r * math.sin(angle)))
        path = c.beginPath()
        path.moveTo(*points[0])
        for point in points[1:]:
            path.lineTo(*point)
        path.close()
        c.drawPath(path, stroke=0, fill=1)
        self._draw_name(c, cx, cy, radius - ring)
        # Under the star: the caption, then the signing time.
        y = star_y - star * 0.80
        if self.caption is not None:
            size = min(side * 0.08, radius * 1.05 / len(self.caption))
            y -= size
            c.setFont(self._font, size)
            c.drawCentredString(cx, y, self.caption)
        if self.show_time and when is not None:
            stamp = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
            size = min(side * 0.05, radius * 1.0 / pdfmetrics.stringWidth(stamp, "Helvetica", 1))
            y -= size * 1.5
            c.setFont("Helvetica", size)
            c.drawCentredString(cx, y, stamp)

    def _draw_name(self, c: Canvas, cx: float, cy: float, inner: float) -> None:
        """The name along the top of the ring, each character upright towards the rim."""
        name = self.agency_name
        n = len(name)
        size = inner * 0.28
        baseline = inner - size * 0.95
        if n > 1 and size * 1.05 * (n - 1) / baseline > _MAX_ARC:
            # Shrink until the name fits in the arc: size*1.05*(n-1) = arc*(inner - 0.95 size).
            size = _MAX_ARC * inner / (1.05 * (n - 1) + 0.95 * _MAX_ARC)
            baseline = inner - size * 0.95
        # Short names are spread over the top (at most 40 degrees a character), long
        # ones set close.
        step = max(size * 1.05 / baseline, min(_SPREAD, (n - 1) * _MAX_STEP) / max(n - 1, 1))
        start = math.pi / 2 + step * (n - 1) / 2
        c.setFont(self._font, size)
        for i, char in enumerate(name):
            angle = start - i * step
            c.saveState()
            c.translate(cx + baseline * math.cos(angle), cy + baseline * math.sin(angle))
            c.rotate(math.degrees(angle) - 90)
            c.drawCentredString(0, 0, char)
            c.restoreState()


class _SealContent(content.PdfContent):
    """Page 0 of an in-memory PDF as pyHanko content (pyHanko's own class takes a file name)."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__()
        self._pdf = pdf

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self._pdf)), page_ix=0)
        name = "/GovkitSeal"
        self.resources.xobject[name] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return name.encode("ascii") + b" Do"
