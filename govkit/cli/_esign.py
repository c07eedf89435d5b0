"""``govkit sign FILE``: sign a PDF (PAdES) or any file (detached JWS); verify helpers.

``govkit sign doc.pdf --key agency.pem --cert agency.crt --chain ca.crt`` writes
``doc.signed.pdf``; ``govkit sign letter.docx --key agency.pem --purpose official-letter``
writes ``letter.docx.sig`` (``--append SIG --role countersign`` adds a party to a chain).
``govkit verify`` calls :func:`verify_pdf_input` and :func:`verify_detached_input`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from govkit.certificates import (
    LICENCE_ATTACHMENT,
    LicencePdfVerifier,
)
from govkit.cli._app import CliUsageError, Output, env_password
from govkit.cli._files import read_file, refuse_existing, write_file
from govkit.cli._i18n import t
from govkit.cli._report import emit_report
from govkit.errors import PdfReadError
from govkit.esign import (
    PADES_LEVELS,
    ROLES,
    PadesSigner,
    PdfSignatureVerifier,
    Seal,
    inspect_detached,
    load_certificates,
    sign_detached,
)
from govkit.keys import SigningKey, VerifyingKey
from govkit.pdf import read_attachment
from govkit.report import Report

__all__ = ["register", "verify_detached_input", "verify_pdf_input"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``sign`` command."""
    sign = sub.add_parser(
        "sign",
        parents=[common],
        help="sign a PDF (PAdES) or any file (detached signature)",
        description="A PDF with --cert gets a PAdES signature (FILE.signed.pdf); any other "
        "file, or --detached, gets a detached JWS signature file (FILE.sig).",
    )
    sign.add_argument("file", type=Path, metavar="FILE", help="the PDF or file to sign")
    sign.add_argument("--key", type=Path, required=True, metavar="KEYFILE", help="PEM key")
    sign.add_argument("--password-env", metavar="VAR", help="variable holding the key password")
    sign.add_argument("--out", type=Path, metavar="OUT", help="output file")
    sign.add_argument(
        "--force", action="store_true", help="replace OUT if it exists (--append: SIG is updated)"
    )
    pades = sign.add_argument_group("PDF (PAdES)")
    pades.add_argument("--cert", type=Path, metavar="CERT", help="the signer's certificate")
    pades.add_argument("--chain", type=Path, metavar="PEM", help="issuing CA certificate(s)")
    pades.add_argument(
        "--level", choices=PADES_LEVELS, default="B-B", help="the PAdES level (default B-B)"
    )
    pades.add_argument("--tsa", metavar="URL", help="RFC 3161 timestamp authority (B-T, B-LT)")
    pades.add_argument("--reason", metavar="TEXT", help="the signature's stated reason")
    pades.add_argument(
        "--seal", metavar="AGENCY", help="a visible red seal with this name (in Chinese)"
    )
    pades.add_argument(
        "--seal-box",
        type=_box,
        default=(400.0, 60.0, 540.0, 200.0),
        metavar="X1,Y1,X2,Y2",
        help="where the seal goes, in points from the lower-left corner",
    )
    pades.add_argument("--seal-page", type=int, default=-1, metavar="N", help="-1: the last")
    detached = sign.add_argument_group("detached signatures")
    detached.add_argument("--detached", action="store_true", help="detached even for a PDF")
    detached.add_argument("--purpose", metavar="TEXT", help="what the signature is for")
    detached.add_argument(
        "--role", choices=ROLES, default="sign", help="this signer's role (default sign)"
    )
    detached.add_argument("--append", type=Path, metavar="SIG", help="countersign this file")
    sign.set_defaults(handler=cmd_sign)


def _box(value: str) -> tuple[float, float, float, float]:
    """``--seal-box X1,Y1,X2,Y2`` (four numbers)."""
    parts = value.split(",")
    try:
        x1, y1, x2, y2 = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(t("type.box", "en")) from None
    return x1, y1, x2, y2


def cmd_sign(args: argparse.Namespace, out: Output) -> int:
    """``govkit sign``."""
    data = read_file(args.file)
    key = SigningKey.from_pem(read_file(args.key), env_password(args.password_env))
    if data.startswith(b"%PDF-") and not args.detached:
        if args.cert is None:
            raise CliUsageError("sign.needs_cert")
        target = args.out or args.file.with_suffix(".signed.pdf")
        refuse_existing(target, force=args.force)  # before asking a timestamp authority
        chain = load_certificates(read_file(args.chain)) if args.chain else ()
        (certificate, *_rest) = load_certificates(read_file(args.cert))
        signer = PadesSigner(key, certificate, chain=chain, timestamp_url=args.tsa)
        seal = (
            Seal(args.seal, box=args.seal_box, page=args.seal_page)
            if args.seal is not None
            else None
        )
        signed = signer.sign(data, level=args.level, reason=args.reason, seal=seal)
        write_file(target, signed, force=args.force)
        out.data({"ok": True, "out": str(target), "level": args.level}, text=str(target))
        out.say("sign.signed", how=args.level, path=target)
        return 0
    if not args.purpose:
        raise CliUsageError("sign.needs_purpose")
    previous = read_file(args.append) if args.append else None
    signature = sign_detached(data, key, purpose=args.purpose, role=args.role, previous=previous)
    target = args.out or (args.append if args.append else Path(f"{args.file}.sig"))
    # Countersigning extends the chain in SIG (the new file holds every earlier
    # signature): updating SIG itself is what --append asks for; any other existing
    # file needs --force.
    in_place = args.append is not None and (
        args.out is None or args.out.resolve() == args.append.resolve()
    )
    write_file(target, signature, force=args.force or in_place)
    out.data({"ok": True, "out": str(target), "role": args.role}, text=str(target))
    out.say("sign.signed", how=args.role, path=target)
    return 0


def _licence_report(
    data: bytes, signatures: PdfSignatureVerifier, args: argparse.Namespace
) -> Report:
    """The licence PDF's report over this device's verifier state, with its clock check."""
    from govkit.cli._verifier import open_verifier, with_clock  # noqa: PLC0415

    opened = open_verifier(args, "what.pdf")
    with opened.state.reading():
        found = LicencePdfVerifier(signatures, opened.verifier).inspect(data, at=args.at)
    return with_clock(found, opened)


def verify_pdf_input(data: bytes, args: argparse.Namespace, out: Output) -> int:
    """The PDF branch of ``govkit verify``: PAdES signatures, then any embedded licence."""
    if not args.ca:
        raise CliUsageError("verify.pdf_needs_ca")
    signatures = PdfSignatureVerifier(load_certificates(read_file(Path(args.ca))))
    try:
        read_attachment(data, LICENCE_ATTACHMENT)
        has_licence = True
    except PdfReadError:
        has_licence = False
    report: Report
    if not has_licence:
        report = signatures.inspect(data, at=args.at)
        return emit_report(
            report,
            out,
            title=out.t("title.signed_pdf"),
            ok_text=out.t("ok.signed_pdf"),
            partly_text=out.t("ok.signed_pdf"),
        )
    # The licence's issuer must authorise the PDF's signer (the trust list's pdf_signers):
    # a certificate from a trusted CA alone may not wrap someone else's licence.
    report = _licence_report(data, signatures, args)
    return emit_report(
        report,
        out,
        title=out.t("title.licence_pdf"),
        ok_text=out.t("ok.licence_pdf"),
        partly_text=out.t("ok.licence_pdf_partly"),
    )


def verify_detached_input(data: bytes, args: argparse.Namespace, out: Output) -> int:
    """``govkit verify FILE --signature SIG --key PUB.pem [--key ...]``."""
    if not args.key:
        raise CliUsageError("verify.detached_needs_key")
    keys = [VerifyingKey.from_pem(read_file(Path(p))) for p in args.key]
    signature = read_file(Path(args.signature))
    roles = tuple(args.roles.split(",")) if args.roles else None
    report = inspect_detached(data, signature, keys, purpose=args.purpose, roles=roles, at=args.at)
    count = len(report.signatures or ())
    return emit_report(
        report,
        out,
        title=out.t("title.detached"),
        ok_text=out.t("ok.detached", count=count),
        partly_text=out.t("ok.detached", count=count),
    )
