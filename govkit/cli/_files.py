"""Reading and writing files for the CLI: atomic writes, no silent overwrite."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from govkit.cli._app import CliEnvironmentError

MAX_INPUT_BYTES = 16 * 1024 * 1024


def refuse_existing(*paths: Path, force: bool) -> None:
    """Refuse (``cli.file_exists``, exit 3) if any of ``paths`` exists, unless ``force``.

    A command that writes several files, or changes state before it writes, calls this
    first, so a refusal leaves every file as it was.
    """
    if force:
        return
    for path in paths:
        if path.exists() or path.is_symlink():
            raise _exists(path)


def write_file(path: Path, data: bytes, *, private: bool = False, force: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then a rename).

    The one way the CLI writes a file (:func:`open_for_write` when the content is
    produced piece by piece). Without ``force`` an existing ``path`` is refused with
    ``cli.file_exists`` and left byte-identical: the new file is put in place with a
    hard link, which fails if the name exists, so a file created in the meantime is not
    replaced either. ``private`` files get mode 0600; others follow the umask.
    """
    with open_for_write(path, private=private, force=force) as handle:
        handle.write(data)


@contextlib.contextmanager
def open_for_write(path: Path, *, private: bool = False, force: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through, piece by piece, placed atomically at the end.

    :func:`write_file` for content too large to hold in memory: the file object writes
    to a temporary file in the same folder; when the ``with`` block ends normally the
    file is synced and put in place with :func:`write_file`'s rules (``cli.file_exists``
    without ``force``, checked before anything is written and again when it is placed;
    ``private`` files get mode 0600). When the block raises, the temporary file is
    removed and ``path`` is left as it was.
    """
    refuse_existing(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if not private:  # mkstemp makes 0600 files; public ones follow the umask
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(tmp, path)
        else:
            _place_new(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _place_new(tmp: str, path: Path) -> None:
    """Move ``tmp`` to ``path`` only if no file has that name (no check-then-write race)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError:  # a file system without hard links: check, then rename
        if path.exists() or path.is_symlink():
            raise _exists(path) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _exists(path: Path) -> CliEnvironmentError:
    return CliEnvironmentError("file.exists", "cli.file_exists", path=path)


def read_file(path: Path, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """Read a whole input file, refusing anything larger than ``limit`` bytes.

    ``limit`` is 16 MiB unless the caller reads something the library allows to be
    larger (a trust list: :data:`~govkit.certificates.TRUST_LIST_MAX_BYTES`).
    """
    if not path.exists():
        raise CliEnvironmentError("file.missing", "cli.no_such_file", path=path)
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size  # a regular file too large: refused unread
        if size > limit:
            raise CliEnvironmentError("file.too_large", "cli.too_large", path=path, limit=limit)
        data = handle.read(limit + 1)  # and whatever a pipe or a growing file holds
    if len(data) > limit:
        raise CliEnvironmentError("file.too_large", "cli.too_large", path=path, limit=limit)
    return data
