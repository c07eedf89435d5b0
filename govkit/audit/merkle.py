"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs, as pure functions.

>>> from govkit.audit.merkle import (
...     leaf_hash, root_hash, inclusion_proof, verify_inclusion,
...     consistency_proof, verify_consistency)
>>> leaves = [leaf_hash(bytes([i])) for i in range(7)]
>>> root = root_hash(leaves)
>>> proof = inclusion_proof(leaves, 3)
>>> verify_inclusion(leaves[3], 3, 7, proof, root)
>>> old_root = root_hash(leaves[:4])
>>> verify_consistency(4, 7, old_root, root, consistency_proof(leaves, 4))
>>> verify_inclusion(leaves[2], 3, 7, proof, root)
Traceback (most recent call last):
    ...
govkit.errors.InvalidProof: inclusion proof does not lead to the root

Hashes are SHA-256 with RFC 6962 domain separation: a leaf is
``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || left || right)``,
and the empty tree's root is ``SHA-256("")``. Indexes are 0-based.

**Consistency from size 0.** An empty tree is a prefix of every tree, so there is
nothing to prove. :func:`consistency_proof` refuses ``old_size == 0`` and
:func:`verify_consistency` rejects it (as transparency-dev/merkle does), so a
caller can never mistake "no proof" for a proof. A holder of a size-0 checkpoint
accepts any later checkpoint of the same log; :class:`govkit.audit.AuditLog` does
exactly that. ``old_size == new_size`` needs an empty proof and equal roots.
"""

from __future__ import annotations

from collections.abc import Sequence

from govkit.audit._tree import (
    HASH_SIZE,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    split_point,
)
from govkit.errors import ConfigurationError, InvalidProof

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

#: Root hash of the empty tree: SHA-256 of the empty string.
EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def _check_leaves(leaf_hashes: Sequence[bytes]) -> None:
    for h in leaf_hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ConfigurationError("every leaf hash must be 32 bytes")


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    n = end - start
    if n == 1:
        return leaves[start]
    k = split_point(n)
    return node_hash(_mth(leaves, start, start + k), _mth(leaves, start + k, end))


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree with these leaf hashes (``EMPTY_ROOT`` for none)."""
    _check_leaves(leaf_hashes)
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    # Bottom-up pairing gives the same tree as the RFC's recursive split: an odd
    # node at the right edge is promoted unchanged to the next level.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path (RFC 9162 PATH) for leaf ``index`` in the tree of these leaves."""
    _check_leaves(leaf_hashes)
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ConfigurationError("index must be within the tree", index=index, size=size)
    return [_mth(leaf_hashes, s, e) for s, e in inclusion_ranges(index, size)]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof (RFC 9162 PROOF) from ``old_size`` to ``len(leaf_hashes)``.

    ``old_size`` must satisfy ``0 < old_size <= len(leaf_hashes)``; equal sizes give [].
    """
    _check_leaves(leaf_hashes)
    size = len(leaf_hashes)
    if not 0 < old_size <= size:
        raise ConfigurationError(
            "old_size must satisfy 0 < old_size <= new size", old_size=old_size, size=size
        )
    if old_size == size:
        return []
    return [_mth(leaf_hashes, s, e) for s, e in consistency_ranges(old_size, size)]


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} must be a 32-byte hash")
    return value


def _check_size(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidProof(f"{what} must be a non-negative integer")
    return value


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises:
        InvalidProof: the proof is malformed, has the wrong length, or does not
            lead to ``root``.
    """
    leaf = _check_hash(leaf_hash, "leaf hash")
    root = _check_hash(root, "root")
    index, size = _check_size(index, "index"), _check_size(size, "size")
    if index >= size:
        raise InvalidProof("index is beyond the tree size", index=index, size=size)
    hashes = [_check_hash(p, "proof hash") for p in proof]
    # Expected length: inner = bits where index and size-1 differ; border = the rest.
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(hashes) != inner + border:
        raise InvalidProof(
            "inclusion proof has the wrong length", expected=inner + border, got=len(hashes)
        )
    fn, sn, r = index, size - 1, leaf
    for p in hashes:
        if sn == 0:
            raise InvalidProof("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise InvalidProof("inclusion proof does not lead to the root", index=index, size=size)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``old_size`` with ``old_root`` is a prefix of the new one.

    Raises:
        InvalidProof: the proof is malformed or the trees are not consistent.
            ``old_size == 0`` is rejected (see the module docs).
    """
    old_size, new_size = _check_size(old_size, "old size"), _check_size(new_size, "new size")
    old_root = _check_hash(old_root, "old root")
    new_root = _check_hash(new_root, "new root")
    hashes = [_check_hash(p, "proof hash") for p in proof]
    if old_size > new_size:
        raise InvalidProof("old size is larger than new size", old=old_size, new=new_size)
    if old_size == new_size:
        if hashes:
            raise InvalidProof("proof between equal sizes must be empty")
        if old_root != new_root:
            raise InvalidProof("equal sizes but different roots", size=old_size)
        return
    if old_size == 0:
        raise InvalidProof("a consistency proof from the empty tree is meaningless")
    if not hashes:
        raise InvalidProof("consistency proof is empty")
    # Expected length, as in transparency-dev/merkle: shift out the shared
    # perfect-subtree bits of old_size, then inner + border of the remaining walk.
    shift = (old_size & -old_size).bit_length() - 1
    start = (old_size - 1) >> shift
    inner = (start ^ ((new_size - 1) >> shift)).bit_length()
    border = bin(start >> inner).count("1")
    expected = inner + border + (0 if old_size == 1 << shift else 1)
    if len(hashes) != expected:
        raise InvalidProof(
            "consistency proof has the wrong length", expected=expected, got=len(hashes)
        )
    if old_size == 1 << shift:  # old tree is a perfect subtree: its root starts the walk
        hashes = [old_root, *hashes]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise InvalidProof(
            "consistency proof does not link the two roots", old=old_size, new=new_size
        )
