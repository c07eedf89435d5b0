"""Reading and writing files for the CLI: atomic writes, no silent overwrite."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from govkit.cli._app import CliEnvironmentError

MAX_INPUT_BYTES = 16 * 1024 * 1024


def write_file(path: Path, data: bytes, *, private: bool = False, force: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename).

    Refuses to replace an existing file unless ``force``; ``private`` files get mode 0600.
    """
    if path.exists() and not force:
        raise CliEnvironmentError(f"{path} exists; use --force to replace it", "cli.file_exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if not private:  # mkstemp makes 0600 files; public ones follow the umask
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_file(path: Path, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """Read a whole input file, refusing anything larger than ``limit`` bytes."""
    if not path.exists():
        raise CliEnvironmentError(f"{path}: no such file", "cli.no_such_file")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise CliEnvironmentError(f"{path} is larger than {limit} bytes", "cli.too_large")
    return data
