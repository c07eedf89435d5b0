"""``govkit verify``: say whether a token, a licence, a presentation, a PDF or a file is genuine.

One subcommand per kind, each with only its own options::

    govkit verify licence INPUT       a GK1: payload, a .txt holding one, or a QR picture
    govkit verify presentation INPUT  a GKP1: presentation or its QR picture
    govkit verify pdf INPUT           a signed PDF (PAdES), and the licence it embeds
    govkit verify token INPUT         an identity token (compact JWS)
    govkit verify detached INPUT      any file, against a detached signature (--signature)

``govkit verify INPUT`` (the hidden word is ``auto``) looks at the input and picks the
kind: a compact JWS is a token, a ``GK1:`` text a licence payload, ``GKP1:`` a
presentation, a PNG or JPEG a picture of one of them, a PDF a signed PDF, and with
``--signature`` any file is checked against a detached signature. It takes every kind's
options, and refuses (exit 2) an option the detected kind does not take. The verify
subcommands of licences, presentations and PDFs read this device's verifier state
(``--state``; :mod:`govkit.cli._verifier`).

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from govkit.certificates import PROFILES
from govkit.certificates.qr import read_qr
from govkit.cli import _certificates, _esign, _identity, _presentations
from govkit.cli._app import CliEnvironmentError, CliUsageError, Output
from govkit.cli._files import read_file
from govkit.cli._types import aware_time
from govkit.cli._verifier import add_state_option

#: The kinds, each a subcommand of ``govkit verify``.
KINDS: Final = ("licence", "presentation", "pdf", "token", "detached")
#: The subcommand that detects the kind; ``govkit verify INPUT`` means ``verify auto INPUT``.
AUTO: Final = "auto"
_JWS = re.compile(rb"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_TEXT_PREFIXES = (b"GKP1:", b"GKS1:", b"GK1:", b"HC1:")

# Each option group: (destination, option) pairs, and a function adding them.
_AT: Final = (("at", "--at"),)
_STATE: Final = (("state", "--state"),)
_LISTS: Final = (
    ("trust", "--trust"),
    ("anchor", "--anchor"),
    ("status", "--status"),
    ("allow_stale", "--allow-stale"),
    ("unsafe_skip_status", "--unsafe-skip-status"),
)
_PRESENTATION: Final = (("profile", "--profile"), ("nonce", "--nonce"))
_PDF: Final = (("ca", "--ca"),)
_TOKEN: Final = (
    ("jwks", "--jwks"),
    ("issuer", "--issuer"),
    ("audience", "--audience"),
    ("profile", "--profile"),
    ("min_assurance", "--min-assurance"),
    ("alg", "--alg"),
)
_DETACHED: Final = (
    ("signature", "--signature"),
    ("key", "--key"),
    ("purpose", "--purpose"),
    ("roles", "--roles"),
)
#: The options each kind takes (their destinations).
OPTIONS: Final = {
    "licence": {d for d, _ in (*_AT, *_STATE, *_LISTS)},
    "presentation": {d for d, _ in (*_AT, *_STATE, *_LISTS, *_PRESENTATION)},
    "pdf": {d for d, _ in (*_AT, *_STATE, *_LISTS, *_PDF)},
    "token": {d for d, _ in (*_AT, *_TOKEN)},
    "detached": {d for d, _ in (*_AT, *_DETACHED)},
}
_FLAGS: Final = dict((*_AT, *_STATE, *_LISTS, *_PRESENTATION, *_PDF, *_TOKEN, *_DETACHED))


def _add_at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", type=aware_time, metavar="TIME", help="as of this time")


def _add_lists(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "trust",
        "the lists come from this device's verifier state; lists given here are checked "
        "against it (an older one is refused: trust.rollback) and replace older ones",
    )
    add_state_option(group)
    group.add_argument("--trust", metavar="FILE", help="the signed trust list")
    group.add_argument(
        "--anchor", metavar="KEYFILE", help="trust-anchor public key (PEM), for a new state"
    )
    group.add_argument(
        "--status",
        action="append",
        metavar="FILE",
        help="an issuer's signed status list (repeatable: one per issuer)",
    )
    group.add_argument(
        "--allow-stale", action="store_true", help="accept a trust list past its expiry"
    )
    group.add_argument(
        "--unsafe-skip-status",
        action="store_true",
        help="do not check revocation (the report says it was NOT checked)",
    )


def _add_presentation(parser: argparse.ArgumentParser, *, free_profile: bool) -> None:
    group = parser.add_argument_group("presentations")
    if not free_profile:
        group.add_argument(
            "--profile", choices=sorted(PROFILES), help="the verifier profile to check against"
        )
    group.add_argument("--nonce", metavar="HEX", help="the challenge this verifier showed")


def _add_pdf(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("signed PDFs")
    group.add_argument("--ca", metavar="FILE", help="trusted CA certificate(s), PEM")


def _add_token(parser: argparse.ArgumentParser, *, free_profile: bool) -> None:
    group = parser.add_argument_group("identity tokens")
    group.add_argument("--jwks", metavar="FILE|URL", help="JWKS (or PEM/JWK) file, or URL")
    group.add_argument("--issuer", metavar="ISS", help="the exact iss required")
    group.add_argument("--audience", metavar="AUD", help="this service's audience")
    if not free_profile:
        group.add_argument(
            "--profile",
            choices=_presentations.TOKEN_PROFILES,
            default="access",
            help="access (default) or id",
        )
    group.add_argument(
        "--min-assurance",
        choices=_identity.LEVEL_NAMES,
        metavar="LEVEL",
        help=f"the lowest assurance accepted: {', '.join(_identity.LEVEL_NAMES)}",
    )
    group.add_argument("--alg", choices=_identity.ALGORITHMS, help="for RSA keys without one")


def _add_detached(parser: argparse.ArgumentParser, *, required: bool) -> None:
    group = parser.add_argument_group("detached signatures")
    group.add_argument(
        "--signature", required=required, metavar="SIG", help="the detached signature file"
    )
    group.add_argument(
        "--key",
        action="append",
        required=required,
        metavar="PUBFILE",
        help="a signer's public key (repeatable)",
    )
    group.add_argument("--purpose", metavar="TEXT", help="the purpose signatures must have")
    group.add_argument("--roles", metavar="LIST", help="required roles, e.g. sign,approve")


def _presentation(parser: argparse.ArgumentParser) -> None:
    _add_lists(parser)
    _add_presentation(parser, free_profile=False)


def _pdf(parser: argparse.ArgumentParser) -> None:
    _add_pdf(parser)
    _add_lists(parser)


def _token(parser: argparse.ArgumentParser) -> None:
    _add_token(parser, free_profile=False)


def _detached(parser: argparse.ArgumentParser) -> None:
    _add_detached(parser, required=True)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``verify`` command and its kinds."""
    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="say whether a licence, presentation, PDF, token or signed file is genuine",
        description="govkit verify KIND INPUT, with KIND one of licence, presentation, pdf, "
        "token, detached; or govkit verify INPUT, which detects the kind. INPUT: a file, "
        "@FILE, - for stdin, or a token or GK1:/GKP1: text.",
    )
    kinds = verify.add_subparsers(dest="verify_kind", metavar="KIND", required=True)
    auto = kinds.add_parser(
        AUTO,
        parents=[common],
        help="detect the kind (what govkit verify INPUT does); takes every kind's options",
    )
    auto.add_argument("first", metavar="KIND|INPUT", help="the input, or a KIND then the input")
    auto.add_argument("second", nargs="?", metavar="INPUT", help="the input, after a KIND")
    _add_at(auto)
    _add_token(auto, free_profile=True)
    auto.add_argument(
        "--profile",
        metavar="NAME",
        help="tokens: access (default) or id; presentations: a verifier profile "
        f"({', '.join(sorted(PROFILES))})",
    )
    _add_lists(auto)
    _add_presentation(auto, free_profile=True)
    _add_pdf(auto)
    _add_detached(auto, required=False)
    auto.set_defaults(handler=cmd_verify)

    specs: list[tuple[str, str, Callable[[argparse.ArgumentParser], None]]] = [
        ("licence", "a licence: GK1: payload, .txt file or QR picture", _add_lists),
        ("presentation", "a holder's presentation: GKP1: text or its picture", _presentation),
        ("pdf", "a signed PDF (PAdES) and the licence it embeds", _pdf),
        ("token", "an identity token (compact JWS)", _token),
        ("detached", "any file, against a detached signature", _detached),
    ]
    for kind, text, add in specs:
        parser = kinds.add_parser(kind, parents=[common], help=f"verify {text}")
        parser.add_argument("input", metavar="INPUT", help="a file, @FILE, - for stdin, or text")
        _add_at(parser)
        add(parser)
        parser.set_defaults(handler=_handler(kind))


def with_default_kind(argv: Sequence[str]) -> list[str]:
    """``govkit verify INPUT ...`` as ``govkit verify auto INPUT ...``.

    The command is the first word that is not an option (of the top-level options only
    ``--lang`` takes a value). When it is ``verify`` and the next word is not a kind,
    ``auto`` or a request for help, ``auto`` is put after it.
    """
    words = list(argv)
    for position, word in enumerate(words):
        if word.startswith("-") or (position > 0 and words[position - 1] == "--lang"):
            continue
        if word != "verify":
            return words
        following = words[position + 1] if position + 1 < len(words) else None
        if following is None or following in (*KINDS, AUTO, "-h", "--help"):
            return words
        return [*words[: position + 1], AUTO, *words[position + 1 :]]
    return words


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
    except (ValueError, RecursionError, binascii.Error):  # sniffing only: parsed strictly later
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
    raise CliEnvironmentError("verify.no_such_input", "cli.no_such_file", input=shown)


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
    raise CliUsageError("verify.unknown_kind")


def _refuse_others(args: argparse.Namespace, kind: str) -> None:
    """Usage error for an option given to ``verify INPUT`` that ``kind`` does not take."""
    for dest, flag in _FLAGS.items():
        if dest in OPTIONS[kind]:
            continue
        value = getattr(args, dest, None)
        if value not in (None, False, []):
            raise CliUsageError("verify.option_not_for_kind", flag=flag, kind=kind)


def _run(kind: str, data: bytes, args: argparse.Namespace, out: Output) -> int:
    if kind == "token":
        return _identity.verify_token_input(data, args, out)
    if kind == "presentation":
        return _presentations.verify_presentation_input(data, args, out)
    if kind == "pdf":
        return _esign.verify_pdf_input(data, args, out)
    if kind == "detached":
        return _esign.verify_detached_input(data, args, out)
    return _certificates.verify_licence_input(data, args, out)


def _handler(kind: str) -> Callable[[argparse.Namespace, Output], int]:
    def handle(args: argparse.Namespace, out: Output) -> int:
        return _run(kind, read_input(args.input), args, out)

    handle.__doc__ = f"``govkit verify {kind}``."
    return handle


def cmd_verify(args: argparse.Namespace, out: Output) -> int:
    """``govkit verify [auto] [KIND] INPUT``: detect the kind, refuse others' options."""
    if args.second is not None:
        if args.first not in KINDS:
            raise CliUsageError("verify.kind_input", kinds=", ".join(KINDS))
        kind, source = args.first, args.second
    else:
        kind, source = "", args.first
    data = read_input(source)
    if not kind and args.signature:
        kind = "detached"
    elif not kind and data.startswith(b"%PDF-"):
        kind = "pdf"
    kind = kind or detect_kind(data)
    _refuse_others(args, kind)
    if kind == "token":
        if args.profile not in (None, *_presentations.TOKEN_PROFILES):
            raise CliUsageError("verify.token_profile")
        args.profile = args.profile or "access"
    elif kind == "presentation" and args.profile is not None and args.profile not in PROFILES:
        raise CliUsageError("present.profile_choices", profiles=", ".join(sorted(PROFILES)))
    return _run(kind, data, args, out)
