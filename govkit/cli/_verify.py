"""``govkit verify``: say whether a token, a licence payload or a QR picture is genuine.

``govkit verify INPUT`` looks at the input and picks the kind: a compact JWS is an
identity token, a ``GK1:`` text is a licence payload, a PNG or JPEG is a picture of a
licence QR, a PDF is checked for PAdES signatures (``--ca``) and any embedded
licence; with ``--signature SIG`` any file is checked against a detached signature
(``--key``). ``govkit verify token INPUT`` and ``govkit verify licence INPUT`` name the
kind explicitly.

Exit 1 is only ever a verdict about an artifact that was read. An INPUT that is neither
an existing file nor a token or licence text given inline is a file that does not exist
(``cli.no_such_file``, exit 3), and a picture without exactly one readable QR code is
``qr.not_found`` or ``qr.several_codes`` (exit 3, with a hint to retake the photo).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import sys
from pathlib import Path
from typing import Any

from govkit.certificates import PROFILES
from govkit.certificates.qr import read_qr
from govkit.cli import _certificates, _esign, _identity, _presentations
from govkit.cli._app import CliEnvironmentError, CliUsageError, Output
from govkit.cli._files import read_file
from govkit.cli._types import aware_time

_KINDS = ("token", "licence", "presentation")
_JWS = re.compile(rb"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_TEXT_PREFIXES = (b"GKP1:", b"GKS1:", b"GK1:", b"HC1:")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``verify`` command."""
    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="say whether a token, licence payload or QR picture is genuine",
        description="INPUT: a token, a GK1: payload, a .txt file holding one, a PNG or "
        "JPEG picture of a licence QR, @FILE, or - for stdin. KIND (token or licence) is "
        "detected when not given.",
    )
    verify.add_argument("first", metavar="KIND|INPUT", help="token, licence, or the input")
    verify.add_argument("second", nargs="?", metavar="INPUT", help="the input, after a KIND")
    verify.add_argument("--at", type=aware_time, metavar="TIME", help="as of this time")
    tokens = verify.add_argument_group("identity tokens")
    tokens.add_argument("--jwks", metavar="FILE|URL", help="JWKS (or PEM/JWK) file, or URL")
    tokens.add_argument("--issuer", metavar="ISS", help="the exact iss required")
    tokens.add_argument("--audience", metavar="AUD", help="this service's audience")
    verify.add_argument(
        "--profile",
        metavar="NAME",
        help="tokens: access (default) or id; presentations: a verifier profile "
        f"({', '.join(sorted(PROFILES))})",
    )
    tokens.add_argument("--min-assurance", choices=_identity.LEVEL_NAMES, metavar="LEVEL")
    tokens.add_argument("--alg", choices=_identity.ALGORITHMS, help="for RSA keys without one")
    licences = verify.add_argument_group("licences")
    licences.add_argument("--trust", metavar="FILE|URL", help="the signed trust list")
    licences.add_argument("--anchor", metavar="KEYFILE", help="trust-anchor public key (PEM)")
    licences.add_argument(
        "--status",
        action="append",
        metavar="FILE|URL",
        help="an issuer's signed status list (repeatable: one per issuer)",
    )
    licences.add_argument(
        "--allow-stale", action="store_true", help="accept a trust list past its expiry"
    )
    licences.add_argument(
        "--unsafe-skip-status",
        action="store_true",
        help="do not check revocation (the report says it was NOT checked)",
    )
    licences.add_argument(
        "--nonce", metavar="HEX", help="presentations: the challenge this verifier showed"
    )
    documents = verify.add_argument_group("signed PDFs and detached signatures")
    documents.add_argument("--ca", metavar="FILE", help="trusted CA certificate(s), PEM")
    documents.add_argument("--signature", metavar="SIG", help="a detached signature file")
    documents.add_argument(
        "--key", action="append", metavar="PUBFILE", help="a signer's public key (repeatable)"
    )
    documents.add_argument("--purpose", metavar="TEXT", help="the purpose signatures must have")
    documents.add_argument("--roles", metavar="LIST", help="required roles, e.g. sign,approve")
    verify.set_defaults(handler=cmd_verify)


def _is_inline(data: bytes) -> bool:
    """Whether INPUT given on the command line is itself a token, licence or presentation."""
    text = data.strip()
    if text.upper().startswith(_TEXT_PREFIXES):
        return True
    if not _JWS.match(text):
        return False
    head = text.split(b".", 1)[0]
    try:  # a JWS header is a base64url JSON object; a file name like a.b.c is not
        header = json.loads(base64.urlsafe_b64decode(head + b"=" * (-len(head) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(header, dict)


def read_input(value: str) -> bytes:
    """The bytes of INPUT: ``-`` is stdin, ``@FILE`` or an existing path is read, a token
    or a ``GK1:``/``GKP1:`` text is taken as given; anything else is a missing file."""
    if value == "-":
        return sys.stdin.buffer.read(16 << 20)
    if value.startswith("@"):
        return read_file(Path(value[1:]))
    path = Path(value)
    try:
        is_file = len(value) < 1024 and path.exists()
    except OSError:  # a token or payload too long to be a file name
        is_file = False
    if is_file:
        return read_file(path)
    data = value.encode("utf-8", "surrogateescape")
    if _is_inline(data):
        return data
    # Not a verdict about a licence: nothing was read. A JWS-shaped or long value may be
    # a damaged token, which a message must not repeat.
    shown = value if len(value) <= 200 and not _JWS.match(data.strip()) else "INPUT"
    raise CliEnvironmentError(
        f"{shown}: no such file (nor a token or a GK1:/GKP1: text)", "cli.no_such_file"
    )


def detect_kind(data: bytes) -> str:
    """``token``, ``licence`` or ``presentation`` from the look of the input (a picture
    is read first: its QR text decides)."""
    if data.startswith(_IMAGE_MAGIC):
        try:  # a picture without one readable QR code raises QrUnreadable: exit 3
            data = read_qr(data).encode("ascii")
        except UnicodeEncodeError:
            return "licence"  # the licence branch reports the text it cannot read
    text = data.strip()
    if text[:5].upper() == b"GKP1:":
        return "presentation"
    if text[:4].upper() in (b"GK1:", b"HC1:"):
        return "licence"
    if _JWS.match(text):
        return "token"
    raise CliUsageError("cannot tell what INPUT is; name the kind: verify token|licence INPUT")


def cmd_verify(args: argparse.Namespace, out: Output) -> int:
    """``govkit verify``."""
    if args.second is not None:
        if args.first not in _KINDS:
            raise CliUsageError(
                "expected [KIND] INPUT, with KIND one of token, licence, presentation"
            )
        kind, source = args.first, args.second
    else:
        kind, source = "", args.first
    data = read_input(source)
    if not kind and args.signature:
        return _esign.verify_detached_input(data, args, out)
    if not kind and data.startswith(b"%PDF-"):
        return _esign.verify_pdf_input(data, args, out)
    kind = kind or detect_kind(data)
    if kind == "token":
        if args.profile not in (None, *_presentations.TOKEN_PROFILES):
            raise CliUsageError("for a token, --profile is access or id")
        args.profile = args.profile or "access"
        return _identity.verify_token_input(data, args, out)
    if kind == "presentation":
        return _presentations.verify_presentation_input(data, args, out)
    return _certificates.verify_licence_input(data, args, out)
