"""The benchmarks are not an installed package: make ``import benchmarks`` find the one
in this checkout whether pytest runs as ``python -m pytest`` (cwd on the path) or not."""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = str(Path(__file__).resolve().parent.parent.parent)
if REPOSITORY not in sys.path:
    sys.path.insert(0, REPOSITORY)
