"""``govkit verify``: say whether a token, a licence payload or a QR picture is genuine.

``govkit verify INPUT`` looks at the input and picks the kind: a compact JWS is an
identity token, a ``GK1:`` text is a licence payload, a PNG or JPEG is a picture of a
licence QR, a PDF is checked for PAdES signatures (``--ca``) and any embedded
licence; with ``--signature SIG`` any file is checked against a detached signature
(``--key``). ``govkit verify token INPUT`` and ``govkit verify licence INPUT`` name the
kind explicitly.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from govkit.certificates import PROFILES
from govkit.certificates.qr import read_qr
from govkit.cli import _certificates, _esign, _identity, _presentations
from govkit.cli._app import CliUsageError, Output
from govkit.cli._files import read_file
from govkit.cli._types import aware_time
from govkit.errors import GovkitError

_KINDS = ("token", "licence", "presentation")
_JWS = re.compile(rb"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


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
    licences.add_argument("--status", metavar="FILE|URL", help="the signed status list")
    licences.add_argument(
        "--allow-stale", action="store_true", help="accept a trust list past its expiry"
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


def read_input(value: str) -> bytes:
    """The bytes of INPUT: ``-`` is stdin, ``@FILE`` or an existing path is read."""
    if value == "-":
        return sys.stdin.buffer.read(16 << 20)
    if value.startswith("@"):
        return read_file(Path(value[1:]))
    path = Path(value)
    try:
        is_file = len(value) < 1024 and path.is_file()
    except OSError:  # a token or payload too long to be a file name
        is_file = False
    return read_file(path) if is_file else value.encode("utf-8")


def detect_kind(data: bytes) -> str:
    """``token``, ``licence`` or ``presentation`` from the look of the input (a picture
    is read first: its QR text decides)."""
    if data.startswith(_IMAGE_MAGIC):
        try:
            data = read_qr(data).encode("ascii")
        except (GovkitError, UnicodeEncodeError):
            return "licence"  # the licence branch reports the unreadable picture
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
