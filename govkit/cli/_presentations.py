"""``govkit present`` and the presentation branch of ``govkit verify``.

The holder side: ``govkit present CREDENTIAL --device-key KEYFILE --disclose a,b``
(or ``--profile NAME`` to disclose exactly what a verifier profile requires) writes the
dynamic QR. The verifier side: ``govkit verify presentation PRESENTATION [--profile NAME]
[--nonce HEX]`` over this device's verifier state (``--state``; ``--trust`` and
``--anchor`` to give lists), whose replay store refuses a presentation shown twice.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from govkit.certificates import (
    PROFILES,
    HolderDevice,
    SelectiveCredential,
)
from govkit.cli._app import CliUsageError, Output, env_password
from govkit.cli._files import read_file, refuse_existing, write_file
from govkit.cli._report import emit_report
from govkit.cli._verifier import open_verifier, with_clock
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
    present.add_argument(
        "credential", type=Path, metavar="CREDENTIAL", help="the holder's GKS1: credential file"
    )
    present.add_argument(
        "--device-key",
        required=True,
        type=Path,
        metavar="KEYFILE",
        help="the holder's device key the credential is bound to",
    )
    present.add_argument("--password-env", metavar="VAR", help="password of the device key")
    present.add_argument("--disclose", metavar="A,B", help="item names to reveal")
    present.add_argument(
        "--profile", choices=sorted(PROFILES), help="reveal what this profile requires"
    )
    present.add_argument("--nonce", metavar="HEX", help="the verifier's challenge, if it shows one")
    present.add_argument("--out", type=Path, metavar="PREFIX", help="write PREFIX.txt and .png")
    present.add_argument("--force", action="store_true", help="replace existing output files")
    present.set_defaults(handler=cmd_present)


def parse_nonce(value: str | None) -> bytes | None:
    """``--nonce`` as bytes (hex, 8 to 64 bytes)."""
    if value is None:
        return None
    try:
        nonce = bytes.fromhex(value)
    except ValueError:
        raise CliUsageError("present.nonce_hex") from None
    if not 8 <= len(nonce) <= 64:
        raise CliUsageError("present.nonce_size")
    return nonce


def cmd_present(args: argparse.Namespace, out: Output) -> int:
    """``govkit present``."""
    if (args.disclose is None) == (args.profile is None):
        raise CliUsageError("present.disclose_or_profile")
    if args.out is not None:
        refuse_existing(
            args.out.with_suffix(".txt"), args.out.with_suffix(".png"), force=args.force
        )
    credential = SelectiveCredential.from_text(read_file(args.credential).decode("ascii").strip())
    if args.profile is not None:
        wanted = sorted(PROFILES[args.profile].required)
    else:
        wanted = [item.strip() for item in args.disclose.split(",") if item.strip()]
    unknown = sorted(set(wanted) - set(credential.items))
    if unknown:
        raise CliUsageError(
            "present.unknown_items", unknown=", ".join(unknown), items=", ".join(credential.items)
        )
    key = SigningKey.from_pem(read_file(args.device_key), env_password(args.password_env))
    presentation = HolderDevice(key).present(credential, wanted, nonce=parse_nonce(args.nonce))
    if args.out is not None:
        prefix: Path = args.out
        text = presentation.text.encode("ascii") + b"\n"
        write_file(prefix.with_suffix(".txt"), text, force=args.force)
        write_file(prefix.with_suffix(".png"), presentation.qr_png(), force=args.force)
        out.say("wrote_two", path=prefix.with_suffix(".txt"), other=prefix.with_suffix(".png"))
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


def verify_presentation_input(data: bytes, args: argparse.Namespace, out: Output) -> int:
    """The presentation branch of ``govkit verify``."""
    profile = None if args.profile in (None, *TOKEN_PROFILES) else args.profile
    if profile is not None and profile not in PROFILES:
        raise CliUsageError("present.profile_choices", profiles=", ".join(sorted(PROFILES)))
    nonce = parse_nonce(getattr(args, "nonce", None))
    # The state's replay store: a presentation accepted once is refused by every later
    # run and every process sharing the state (presentation.replayed).
    opened = open_verifier(args, "what.presentation", replay=True)
    with opened.state:
        with opened.state.reading():
            found = opened.verifier.inspect_presentation(
                data, profile=profile, nonce=nonce, at=args.at
            )
        opened.state.replay_store().purge(now=opened.now)
    report = with_clock(found, opened)
    return emit_report(
        report,
        out,
        title=out.t("title.presentation"),
        ok_text=out.t("ok.presentation"),
        partly_text=out.t("ok.presentation_partly"),
    )


__all__ = ["TOKEN_PROFILES", "register", "verify_presentation_input"]
