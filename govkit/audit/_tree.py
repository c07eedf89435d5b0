"""Node-addressed RFC 6962 tree arithmetic shared by the pure functions and the stores.

A node ``(level, index)`` is the root of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 nodes are leaf hashes.
Every hash a proof needs is either such a stored perfect node or the fold of the
few perfect nodes along a right border, so proofs never rehash the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

Node = tuple[int, int]  # (level, index)

#: Size of every hash in the tree (SHA-256), in bytes.
HASH_SIZE = 32
_LEAF = b"\x00"
_INTERIOR = b"\x01"
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(_INTERIOR + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees, left to right, whose fold is MTH(D[start:end]).

    Valid for the ranges RFC 6962 trees are made of: ``start`` is a multiple of
    the smallest power of two that is at least ``end - start``, or ``start`` is 0.
    """
    size = end - start
    if size & (size - 1) == 0:  # one perfect subtree, or none: most ranges of a proof
        level = size.bit_length() - 1
        return [(level, start >> level)] if size else []
    nodes: list[Node] = []
    position = start
    while size:  # one node per set bit of the size, highest first
        level = size.bit_length() - 1
        nodes.append((level, position >> level))
        position += 1 << level
        size -= 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of perfect-subtree hashes: H(h0, H(h1, ... H(hn-2, hn-1)))."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PATH(index, D[0:size]), in proof order."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PROOF(old_size, D[0:new_size]) (RFC 9162 2.1.4.1)."""
    ranges: list[tuple[int, int]] = []
    lo, hi, m = 0, new_size, old_size
    complete = True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                ranges.append((lo, hi))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m = lo + k, m - k
            complete = False
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    """Every stored node needed to compute the MTHs of ``ranges``."""
    needed: set[Node] = set()
    for start, end in ranges:
        needed.update(perfect_nodes(start, end))
    return needed


def hash_ranges(ranges: Sequence[tuple[int, int]], known: Mapping[Node, bytes]) -> list[bytes]:
    """MTH of each range from stored perfect nodes."""
    return [fold([known[node] for node in perfect_nodes(s, e)]) for s, e in ranges]


def root_from(size: int, get: Callable[[Sequence[Node]], Mapping[Node, bytes]]) -> bytes:
    """MTH(D[0:size]) from stored nodes (``size >= 1``)."""
    nodes = perfect_nodes(0, size)
    known = get(nodes)
    return fold([known[n] for n in nodes])


def integrate(
    size: int, border: Mapping[Node, bytes], leaves: Sequence[bytes]
) -> list[tuple[int, int, bytes]]:
    """Append ``leaves`` to a tree of ``size`` leaves.

    ``border`` holds the perfect nodes of ``perfect_nodes(0, size)``. Returns the
    interior nodes (level >= 1) the new leaves complete, as ``(level, index, hash)``.
    """
    stack: list[tuple[int, bytes]] = [
        (lvl, border[(lvl, idx)]) for lvl, idx in perfect_nodes(0, size)
    ]
    created: list[tuple[int, int, bytes]] = []
    index = size
    for leaf in leaves:
        level, current = 0, leaf
        position = index
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            current = node_hash(left, current)
            level += 1
            position >>= 1
            created.append((level, position, current))
        stack.append((level, current))
        index += 1
    return created


class CompactRange:
    """Streaming root computation: feed leaf hashes in order, read roots at any size.

    Also reports every perfect node it completes, so a verifier can compare
    stored interior nodes without a second pass.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def append(self, leaf: bytes, created: list[tuple[int, int, bytes]] | None = None) -> None:
        """Add one leaf hash; append completed interior nodes to ``created`` if given."""
        stack = self._stack
        level, current, position = 0, leaf, self.size
        while stack and stack[-1][0] == level:
            current = node_hash(stack.pop()[1], current)
            level += 1
            position >>= 1
            if created is not None:
                created.append((level, position, current))
        stack.append((level, current))
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves seen so far (SHA-256 of the empty string for none)."""
        if not self._stack:
            return _sha256(b"").digest()
        return fold([h for _, h in self._stack])


# -- tiles ---------------------------------------------------------------------
#
# The stores keep, beside one row per node, every complete *tile*: the nodes of
# TILE_HEIGHT consecutive levels under one node, in one row (as in Go's
# transparency-log tiles, https://research.swtch.com/tlog, but with every level of
# the tile stored, so a proof rehashes nothing). Band ``b`` holds levels
# ``b * TILE_HEIGHT`` to ``b * TILE_HEIGHT + TILE_HEIGHT - 1``; tile ``t`` of band
# ``b`` holds the nodes of those levels under node ``((b + 1) * TILE_HEIGHT, t)``,
# bottom level first, each level left to right. A proof's nodes at each band lie in
# one tile, so a proof of a tree of ``n`` leaves reads about ``log2(n) / 6`` rows.

#: Levels per tile: a tile holds 64 + 32 + ... + 2 = 126 hashes (4032 bytes, one
#: SQLite page of 4 KiB).
TILE_HEIGHT = 6
_TILE_WIDTH = 1 << TILE_HEIGHT
#: Hashes in a (complete) tile.
TILE_HASHES = 2 * _TILE_WIDTH - 2
#: Bytes of a stored tile.
TILE_BYTES = TILE_HASHES * HASH_SIZE
#: A tile's key is ``band * TILE_BAND + index``.
TILE_BAND = 1 << 48


def tile_key(band: int, index: int) -> int:
    """The stored key of tile ``index`` of ``band``."""
    return band * TILE_BAND + index


def tile_place(node: Node) -> tuple[int, int]:
    """``(tile key, offset in hashes)`` of the tile holding ``node``."""
    level, index = node
    band, rel = divmod(level, TILE_HEIGHT)
    shift = TILE_HEIGHT - rel
    tile = index >> shift
    level_start = 2 * _TILE_WIDTH - (2 * _TILE_WIDTH >> rel)  # 0, 64, 96, 112, 120, 124
    return band * TILE_BAND + tile, level_start + index - (tile << shift)


def tile_nodes(band: int, index: int) -> list[Node]:
    """The nodes of tile ``index`` of ``band``, in stored order."""
    nodes: list[Node] = []
    for rel in range(TILE_HEIGHT):
        count = _TILE_WIDTH >> rel
        level = band * TILE_HEIGHT + rel
        nodes.extend((level, i) for i in range(index * count, (index + 1) * count))
    return nodes


def tile_end(band: int, index: int) -> int:
    """The tree size at which tile ``index`` of ``band`` is complete."""
    return (index + 1) << ((band + 1) * TILE_HEIGHT)


def completed_tiles(created: Iterable[tuple[int, int, bytes]]) -> list[tuple[int, int]]:
    """``(band, index)`` of every tile whose top node (the node above it) is in ``created``."""
    return [
        (level // TILE_HEIGHT - 1, index)
        for level, index, _ in created
        if level % TILE_HEIGHT == 0 and level
    ]
