"""The verifier state keeps its trust list verified, in a compact form, and never trusts
a form that is not the one it wrote for the list it holds.

Verifying a 100,000-issuer list takes seconds; a verify run reads the form written when
the list was imported (or synced) instead: bound to the index's record of the list
(file, digest of the signed part, sequence, the anchors) and to its own digest. Each
fault below (named after it) makes the state verify the held list again and write the
form anew, never use what it found.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govkit.certificates import (
    Agency,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifierState,
    sign_trust_list,
)
from govkit.certificates import _state as state_module
from govkit.certificates._trust import compact_form, from_compact_form
from govkit.keys import SigningKey

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("ES256")
OTHER_ANCHOR = SigningKey.generate("ES256")
KEYS = [SigningKey.generate(alg) for alg in ("ES256", "EdDSA", "ES256")]
AGENCIES = [
    Agency("广州市公安局", "11440100MB2C92923F"),
    Agency("深圳市公安局", "11440300MB2D111175"),
    Agency("广东省政务服务数据管理局（演示）", "114400000069445123"),
]
CACHE = "trust-list.cache"


def trust_list(sequence: int = 5, *, issuers: int = 3) -> TrustList:
    listed = tuple(
        TrustedIssuer(
            agency,
            (
                TrustedKey.for_key(
                    key.verifying_key,
                    {"driving-licence", "business-licence"},
                    not_before=T0 - timedelta(days=30),
                    not_after=T0 + timedelta(days=300) if n != 1 else None,
                ),
            ),
            pdf_signer_spki=frozenset({bytes([n]) * 32}) if n == 0 else frozenset(),
            pdf_signer_subjects=(
                frozenset({"organizationIdentifier=NTRCN-114400000069445123"})
                if n == 2
                else frozenset()
            ),
            status_url=f"https://status.example.gov.cn/{n}.json",
        )
        for n, (agency, key) in enumerate(zip(AGENCIES[:issuers], KEYS, strict=False))
    )
    return TrustList(
        listed,
        sequence,
        T0 - timedelta(hours=1),
        T0 + timedelta(days=7),
        next_anchors=(OTHER_ANCHOR.verifying_key,),
    )


def new_state(path: Path, listed: TrustList | None = None) -> VerifierState:
    made = VerifierState(path)
    document = sign_trust_list(listed or trust_list(), ANCHOR)
    made.import_lists(document, now=T0, anchors=[ANCHOR.verifying_key])
    return made


@pytest.fixture
def verified_again(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts how often the state verifies its held trust list itself."""
    calls: list[int] = []
    real = state_module._open_trust_list

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(state_module, "_open_trust_list", counting)
    return calls


def fresh(path: Path) -> VerifierState:
    """Another process's view of the state: nothing held in memory."""
    return VerifierState(path)


# --- the compact form ---------------------------------------------------------------------


def test_the_compact_form_gives_back_the_same_list() -> None:
    listed = trust_list()
    restored = from_compact_form(compact_form(listed))
    assert restored == listed
    assert restored.next_anchors == listed.next_anchors
    for mine, theirs in zip(restored.issuers, listed.issuers, strict=True):
        assert mine.pdf_signer_spki == theirs.pdf_signer_spki
        assert mine.pdf_signer_subjects == theirs.pdf_signer_subjects
        assert mine.status_url == theirs.status_url
        assert [k.key.kid for k in mine.keys] == [k.key.kid for k in theirs.keys]
    kid = listed.issuers[1].keys[0].kid
    assert [i.agency for i, _ in restored.candidates(kid)] == [AGENCIES[1]]


def test_keys_of_the_compact_form_still_verify_signatures() -> None:
    restored = from_compact_form(compact_form(trust_list()))
    for key, trusted in zip(KEYS, (i.keys[0] for i in restored.issuers), strict=False):
        trusted.key.verify(key.sign(b"licence"), b"licence")


def test_a_compact_form_of_another_version_is_refused() -> None:
    body = json.loads(compact_form(trust_list()))
    body["version"] = 2
    with pytest.raises(ValueError, match="version"):
        from_compact_form(json.dumps(body).encode())


def test_a_compact_form_naming_a_uscc_twice_is_refused() -> None:
    body = json.loads(compact_form(trust_list()))
    body["issuers"][1][1] = body["issuers"][0][1]
    with pytest.raises(ValueError, match="USCC"):
        from_compact_form(json.dumps(body).encode())


# --- the state writes it and reads it -----------------------------------------------------


def test_import_writes_the_compact_form_and_a_verify_run_reads_it(
    tmp_path: Path, verified_again: list[int]
) -> None:
    new_state(tmp_path / "s")
    assert (tmp_path / "s" / CACHE).is_file()
    verified_again.clear()
    held = fresh(tmp_path / "s").trust_list()
    assert held == trust_list()
    assert verified_again == []  # read from the form, not verified again
    fresh(tmp_path / "s").verifier()
    assert verified_again == []


def test_without_the_form_the_state_verifies_its_list_and_writes_the_form(
    tmp_path: Path, verified_again: list[int]
) -> None:
    new_state(tmp_path / "s")
    (tmp_path / "s" / CACHE).unlink()
    assert fresh(tmp_path / "s").trust_list() == trust_list()
    assert len(verified_again) == 2  # the import, then the run without the form
    assert (tmp_path / "s" / CACHE).is_file()
    assert fresh(tmp_path / "s").trust_list() == trust_list()
    assert len(verified_again) == 2


def test_tampered_cache_is_rebuilt_not_trusted(tmp_path: Path, verified_again: list[int]) -> None:
    new_state(tmp_path / "s")
    path = tmp_path / "s" / CACHE
    # an issuer slipped into the form: the Guangzhou police may now issue passports
    data = path.read_bytes().replace(b'"business-licence"', b'"passport"', 1)
    assert data != path.read_bytes()
    path.write_bytes(data)
    verified_again.clear()
    held = fresh(tmp_path / "s").trust_list()
    assert held is not None
    assert held == trust_list()
    assert all("passport" not in k.licence_types for i in held.issuers for k in i.keys)
    assert verified_again == [1]
    assert b'"passport"' not in path.read_bytes()  # written anew


def test_truncated_cache_is_rebuilt_not_trusted(tmp_path: Path, verified_again: list[int]) -> None:
    new_state(tmp_path / "s")
    path = tmp_path / "s" / CACHE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    verified_again.clear()
    assert fresh(tmp_path / "s").trust_list() == trust_list()
    assert verified_again == [1]
    verified_again.clear()
    assert fresh(tmp_path / "s").trust_list() == trust_list()
    assert verified_again == []  # the rebuilt form is used again


@pytest.mark.parametrize("garbage", [b"", b"\n\n", b"govkit\n{}\n{}", b"\xff" * 64])
def test_a_cache_that_is_not_one_is_rebuilt(
    tmp_path: Path, verified_again: list[int], garbage: bytes
) -> None:
    new_state(tmp_path / "s")
    (tmp_path / "s" / CACHE).write_bytes(garbage)
    verified_again.clear()
    assert fresh(tmp_path / "s").trust_list() == trust_list()
    assert verified_again == [1]


def test_cache_from_another_list_is_not_used(tmp_path: Path, verified_again: list[int]) -> None:
    new_state(tmp_path / "small", trust_list(issuers=2))
    new_state(tmp_path / "s")
    shutil.copy(tmp_path / "small" / CACHE, tmp_path / "s" / CACHE)
    verified_again.clear()
    held = fresh(tmp_path / "s").trust_list()
    assert held is not None
    assert len(held.issuers) == 3
    assert verified_again == [1]


def test_cache_of_an_older_list_is_not_used_after_an_update(
    tmp_path: Path, verified_again: list[int]
) -> None:
    state = new_state(tmp_path / "s")
    old = (tmp_path / "s" / CACHE).read_bytes()
    state.import_lists(sign_trust_list(trust_list(6), ANCHOR), now=T0)
    (tmp_path / "s" / CACHE).write_bytes(old)  # the form of list 5 put back
    verified_again.clear()
    held = fresh(tmp_path / "s").trust_list()
    assert held is not None
    assert held.sequence == 6
    assert verified_again == [1]


def test_cache_made_under_other_anchors_is_not_used(
    tmp_path: Path, verified_again: list[int]
) -> None:
    new_state(tmp_path / "s")
    cache = tmp_path / "s" / CACHE
    magic, head, form = cache.read_bytes().split(b"\n", 2)
    binding = json.loads(head)
    binding["anchors"] = [f"{OTHER_ANCHOR.alg}:{OTHER_ANCHOR.kid}"]
    cache.write_bytes(b"\n".join((magic, json.dumps(binding, sort_keys=True).encode(), form)))
    verified_again.clear()
    assert fresh(tmp_path / "s").trust_list() == trust_list()
    assert verified_again == [1]


def test_the_cache_is_not_used_when_the_held_list_is_gone(tmp_path: Path) -> None:
    new_state(tmp_path / "s")
    for held in (tmp_path / "s" / "lists").glob("*.json"):
        held.unlink()
    with pytest.raises(state_module.VerifierStateError, match="missing"):
        fresh(tmp_path / "s").trust_list()


def test_a_cache_file_that_is_a_folder_is_not_fatal(
    tmp_path: Path, verified_again: list[int]
) -> None:
    new_state(tmp_path / "s")
    (tmp_path / "s" / CACHE).unlink()
    (tmp_path / "s" / CACHE).mkdir()
    verified_again.clear()
    assert fresh(tmp_path / "s").trust_list() == trust_list()
    assert verified_again == [1]
