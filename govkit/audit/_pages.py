"""The page cache around a full scan of a SQLite log: what was cached, what to let go.

:func:`~govkit.audit.verify_log` reads a SQLite log once, from its first entry to its
last. :class:`DropBehind` notes which pages of the file the kernel had cached when the
scan began (``mincore``) and, as the scan passes the others, advises the kernel that
they are not needed (``posix_fadvise``, ``POSIX_FADV_DONTNEED``): the page cache is left
as the scan found it. Only advice; nothing here reads or writes the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import mmap
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

__all__ = ["DropBehind", "cached_pages"]

#: The advice trails the scan's position (its share of the file) by this much, and
#: is given in steps of at least DROP_STEP.
DROP_BEHIND: Final = 128 << 20
DROP_STEP: Final = 32 << 20

_PAGE: Final = mmap.PAGESIZE
#: mincore's vector: only the low bit of each byte is defined (the page is resident).
_LOW_BIT: Final = bytes(b & 1 for b in range(256))
_CACHED: Final = b"\x01"
_NOT_CACHED: Final = b"\x00"


def cached_pages(fd: int, size: int) -> bytes | None:
    """One byte per page of the file's first ``size`` bytes: 1 if it is in the page cache.

    ``None`` when that cannot be known: not 64-bit Linux, an empty file, the file
    cannot be mapped, or ``mincore`` fails. Since Linux 5.0 ``mincore`` reports the
    page cache of a file only to its owner or someone who may write it; for anyone
    else it would report nothing cached, so that is ``None`` too. The file is mapped
    without reading a page (the mapping is never touched) and unmapped before this
    returns.
    """
    if size <= 0 or not sys.platform.startswith("linux") or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    try:
        owner = os.fstat(fd).st_uid
    except OSError:
        return None
    euid = os.geteuid()
    if euid not in {0, owner} and not _writable(fd):
        return None
    calls = _libc_calls()
    if calls is None:
        return None
    map_file, mincore, unmap = calls
    address = map_file(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if address is None or address == ctypes.c_void_p(-1).value:  # MAP_FAILED
        return None
    try:
        pages = (size + _PAGE - 1) // _PAGE
        vector = ctypes.create_string_buffer(pages)
        if mincore(address, size, vector) != 0:
            return None
        return vector.raw[:pages].translate(_LOW_BIT)
    finally:
        unmap(address, size)


@functools.cache
def _libc_calls() -> tuple[Any, Any, Any] | None:
    """libc's ``mmap``, ``mincore`` and ``munmap`` with their C types, looked up once."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        map_file, mincore, unmap = libc.mmap, libc.mincore, libc.munmap
    except (OSError, AttributeError):
        return None
    map_file.restype = ctypes.c_void_p
    map_file.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int64,  # off_t on 64-bit Linux
    )
    mincore.restype = ctypes.c_int
    mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    unmap.restype = ctypes.c_int
    unmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    return map_file, mincore, unmap


def _writable(fd: int) -> bool:
    """Whether this process may write the file open as ``fd`` (mincore's rule)."""
    with contextlib.suppress(OSError):
        return os.access(f"/proc/self/fd/{fd}", os.W_OK)
    return False


def runs_not_cached(cached: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The runs ``[first, last)`` of pages in ``[start, end)`` that were not cached."""
    page = start
    while page < end:
        first = cached.find(_NOT_CACHED, page, end)
        if first < 0:
            return
        last = cached.find(_CACHED, first, end)
        if last < 0:
            last = end
        yield first, last
        page = last


class DropBehind:
    """Lets go of the pages of a database file that a full scan has passed.

    The rows of each table lie in the file roughly in the order they were appended,
    so after ``done`` of ``total`` entries the scan has read about that share of the
    file. :meth:`passed` then advises the kernel that the file's pages up to that
    share, less :data:`DROP_BEHIND`, are not needed, except those it had cached
    before the scan began: the page cache is left as the scan found it. Verifying a
    log larger than the memory does not push the rest of the machine's page cache
    out, and reading a cold log costs less (the kernel reuses the pages it just
    freed: on virtual machines whose host takes freed memory back, filling a page
    never used before costs several times more), while a log that was cached stays
    cached.

    Only advice: nothing is read or written, a page needed again is read again,
    dirty pages are left for the kernel to write first, and every error is ignored.
    A page another process reads while the scan runs may be let go too. Nothing is
    advised where the kernel cannot say what it had cached (see
    :func:`cached_pages`), nor where ``posix_fadvise`` is missing.
    """

    def __init__(self, path: Path | None) -> None:
        self._fd: int | None = None
        self._cached = b""
        self._done = 0  # pages [0, _done) advised so far
        if path is None or not hasattr(os, "posix_fadvise"):
            return
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            cached = cached_pages(self._fd, os.fstat(self._fd).st_size)
        except OSError:
            cached = None
        if cached is None:
            self.close()
        else:
            self._cached = cached

    def passed(self, done: int, total: int) -> None:
        """The scan has read ``done`` of the ``total`` entries."""
        if self._fd is None or total <= 0:
            return
        pages = len(self._cached)
        upto = (pages * _PAGE * min(done, total) // total - DROP_BEHIND) // _PAGE
        if (upto - self._done) * _PAGE < DROP_STEP:
            return
        for first, last in runs_not_cached(self._cached, self._done, upto):
            with contextlib.suppress(OSError):
                os.posix_fadvise(
                    self._fd, first * _PAGE, (last - first) * _PAGE, os.POSIX_FADV_DONTNEED
                )
        self._done = upto

    def close(self) -> None:
        """Close the file opened for the advice (twice is fine)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)
