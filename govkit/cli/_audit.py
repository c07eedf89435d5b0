"""``govkit audit``: verify, checkpoint, prove, show and erase (lands with the audit log)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``audit`` command group."""
    del sub, common
