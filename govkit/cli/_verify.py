"""``govkit verify``: say whether an artifact is genuine (tokens; licences and QR codes later)."""

from __future__ import annotations

import argparse
from typing import Any

from govkit.cli import _identity


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``verify`` command group."""
    verify = sub.add_parser(
        "verify", parents=[common], help="say whether a token (and later a licence) is genuine"
    )
    kinds = verify.add_subparsers(dest="verify_command", metavar="KIND", required=True)
    _identity.register_verify(kinds, common)
