"""govkit.stores.Sealer: the one AES-256-GCM sealing of flow secrets and session cookies."""

from __future__ import annotations

import pytest

from govkit.errors import ConfigurationError
from govkit.stores import Sealer

OLD, NEW = b"o" * 32, b"n" * 32


def test_the_first_key_seals_and_every_key_opens() -> None:
    before = Sealer([OLD], info=b"test/v1 seal").seal(b"secret", b"a")
    rotated = Sealer([NEW, OLD], info=b"test/v1 seal")
    assert rotated.open(before, b"a") == b"secret"
    assert Sealer([NEW], info=b"test/v1 seal").open(before, b"a") is None
    assert Sealer([OLD], info=b"test/v1 seal").open(rotated.seal(b"x", b"a"), b"a") is None


@pytest.mark.parametrize(
    "case",
    ["another associated value", "another purpose", "a flipped byte", "too short"],
)
def test_what_was_not_sealed_so_does_not_open(case: str) -> None:
    sealer = Sealer([OLD], info=b"test/v1 seal")
    sealed = sealer.seal(b"secret", b"a")
    if case == "another associated value":
        assert sealer.open(sealed, b"b") is None
    elif case == "another purpose":
        assert Sealer([OLD], info=b"test/v1 other").open(sealed, b"a") is None
    elif case == "a flipped byte":
        assert sealer.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"a") is None
    else:
        assert sealer.open(sealed[:27], b"a") is None


@pytest.mark.parametrize("keys", [[], [b"short"], OLD, ["text" * 10]])
def test_keys_must_be_a_sequence_of_32_byte_keys(keys: object) -> None:
    with pytest.raises(ConfigurationError):
        Sealer(keys, info=b"test/v1 seal")  # type: ignore[arg-type]  # the mistake under test
