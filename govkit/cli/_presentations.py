"""``govkit present`` and the presentation branch of ``govkit verify``.

The holder side: ``govkit present CREDENTIAL --device-key KEYFILE --disclose a,b``
(or ``--profile NAME`` to disclose exactly what a verifier profile requires) writes the
dynamic QR. The verifier side: ``govkit verify PRESENTATION --trust ... --anchor ...
[--profile NAME] [--nonce HEX]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from govkit.certificates import (
    PROFILES,
    HolderDevice,
    LicenceRegistry,
    PresentationReport,
    SelectiveCredential,
)
from govkit.cli._app import CliInvalid, CliUsageError, Output, env_password, table
from govkit.cli._certificates import open_verifier
from govkit.cli._files import read_file, write_file
from govkit.keys import SigningKey

#: Accepted values of ``--profile`` for tokens; anything else names a verifier profile.
TOKEN_PROFILES = ("access", "id")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``present`` command."""
    present = sub.add_parser(
        "present",
        parents=[common],
        help="show a selective licence: a dynamic QR revealing only chosen items",
        description="CREDENTIAL is a GKS1: file from `govkit issue --device-key`. "
        "Disclose items by name (--disclose) or what a verifier profile requires (--profile).",
    )
    present.add_argument("credential", type=Path, metavar="CREDENTIAL")
    present.add_argument("--device-key", required=True, type=Path, metavar="KEYFILE")
    present.add_argument("--password-env", metavar="VAR", help="password of the device key")
    present.add_argument("--disclose", metavar="A,B", help="item names to reveal")
    present.add_argument(
        "--profile", choices=sorted(PROFILES), help="reveal what this profile requires"
    )
    present.add_argument("--nonce", metavar="HEX", help="the verifier's challenge, if it shows one")
    present.add_argument("--out", type=Path, metavar="PREFIX", help="write PREFIX.txt and .png")
    present.set_defaults(handler=cmd_present)


def parse_nonce(value: str | None) -> bytes | None:
    """``--nonce`` as bytes (hex, 8 to 64 bytes)."""
    if value is None:
        return None
    try:
        nonce = bytes.fromhex(value)
    except ValueError:
        raise CliUsageError("--nonce must be hex") from None
    if not 8 <= len(nonce) <= 64:
        raise CliUsageError("--nonce must be 8 to 64 bytes")
    return nonce


def cmd_present(args: argparse.Namespace, out: Output) -> int:
    """``govkit present``."""
    if (args.disclose is None) == (args.profile is None):
        raise CliUsageError("give --disclose or --profile (one of them)")
    credential = SelectiveCredential.from_text(read_file(args.credential).decode("ascii").strip())
    if args.profile is not None:
        wanted = sorted(PROFILES[args.profile].required)
    else:
        wanted = [item.strip() for item in args.disclose.split(",") if item.strip()]
    unknown = sorted(set(wanted) - set(credential.items))
    if unknown:
        raise CliUsageError(
            f"unknown items {', '.join(unknown)}; this licence has {', '.join(credential.items)}"
        )
    key = SigningKey.from_pem(read_file(args.device_key), env_password(args.password_env))
    presentation = HolderDevice(key).present(credential, wanted, nonce=parse_nonce(args.nonce))
    if args.out is not None:
        prefix: Path = args.out
        write_file(
            prefix.with_suffix(".txt"), presentation.text.encode("ascii") + b"\n", force=True
        )
        write_file(prefix.with_suffix(".png"), presentation.qr_png(), force=True)
        out.status(f"wrote {prefix.with_suffix('.txt')} and {prefix.with_suffix('.png')}")
    out.data(
        {
            "presentation": presentation.text,
            "disclosed": list(presentation.disclosed),
            "presented_at": presentation.presented_at.isoformat(),
            "nonce_bound": presentation.nonce_bound,
            "qr_version": presentation.qr_version(),
            "characters": len(presentation.text),
        },
        text=presentation.text,
    )
    return 0


def render_presentation(report: PresentationReport) -> str:
    """Plain text: the verdict, each check, and what the holder chose to reveal."""
    verdict = "VALID" if report.ok else f"INVALID [{report.code}]"
    rows = [(c.name, "ok" if c.ok else "FAIL", c.code or "", c.detail) for c in report.checks]
    lines = [f"presentation: {verdict}", table(rows, ("check", "result", "code", "detail"))]
    found = report.presentation
    if found is not None:
        kind = LicenceRegistry.default().get(found.licence_type)
        lines.append(f"{kind.zh} {kind.en}")
        lines.append(f"颁发机构 Issuer: {found.issuer.agency.name} ({found.issuer.agency.uscc})")
        labels = {spec.name: f"{spec.zh} {spec.en}" for spec in kind.fields}
        labels |= {"id": "证照编号 Licence id", "holder": "持证人 Holder"}
        for name, value in found.disclosed.items():
            lines.append(f"{labels.get(name, name)}: {value}")
        for name, yes in found.predicates.items():
            lines.append(f"{name}: {'yes' if yes else 'no'}")
        lines.append(
            f"有效期 Valid: {found.valid_from.isoformat()} – {found.valid_until.isoformat()}"
        )
        lines.append("(nothing else was disclosed)")
    return "\n".join(lines)


def verify_presentation_input(data: bytes, args: argparse.Namespace, out: Output) -> int:
    """The presentation branch of ``govkit verify``."""
    profile = None if args.profile in (None, *TOKEN_PROFILES) else args.profile
    if profile is not None and profile not in PROFILES:
        raise CliUsageError(f"--profile must be one of {', '.join(sorted(PROFILES))}")
    verifier = open_verifier(args, "a presentation")
    report = verifier.inspect_presentation(
        data, profile=profile, nonce=parse_nonce(getattr(args, "nonce", None)), at=args.at
    )
    out.data(report.to_dict(), text=render_presentation(report))
    if not report.ok:
        out.status(f"INVALID: the presentation failed verification [{report.code}]")
        raise CliInvalid
    out.status("OK: a genuine, current licence, shown by its holder's device just now")
    return 0


__all__ = ["TOKEN_PROFILES", "register", "verify_presentation_input"]
