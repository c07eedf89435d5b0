"""Status lists: 2-bit entries, signing, tampering, zlib bombs, staleness, issuer state."""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit._encoding import b64url_decode, b64url_encode
from govkit.certificates._envelope import sign_envelope
from govkit.certificates._model import Agency
from govkit.certificates._status import (
    STATUS_LIST_TYPE,
    SignedStatusList,
    Status,
    StatusList,
    StatusListSource,
    load_status_list,
    sign_status_list,
)
from govkit.certificates._trust import (
    TrustedIssuer,
    TrustedKey,
    TrustList,
    sign_trust_list,
)
from govkit.errors import (
    ConfigurationError,
    GovkitError,
    StatusListInvalid,
    TrustListError,
    TrustListStale,
)
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
KEY = SigningKey.generate("EdDSA")
OTHER_KEY = SigningKey.generate("EdDSA")


def make_list(size: int = 1000) -> StatusList:
    statuses = StatusList(size, list_id="gz-police-2026")
    statuses.set(3, Status.REVOKED)
    statuses.set(4, Status.SUSPENDED)
    statuses.set(size - 1, Status.REVOKED)
    return statuses


def signed(
    statuses: StatusList | None = None, *, sequence: int = 1, key: SigningKey = KEY
) -> bytes:
    return sign_status_list(
        statuses if statuses is not None else make_list(),
        key,
        issued_at=T0,
        expires_at=T0 + timedelta(days=1),
        sequence=sequence,
    )


def body(**changes: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(signed())["status_list"]
    result.update(changes)
    return result


def resign(status_body: dict[str, Any]) -> bytes:
    return sign_envelope(STATUS_LIST_TYPE, "status_list", status_body, KEY)


def load(data: bytes, **kwargs: Any) -> SignedStatusList:
    return load_status_list(data, [KEY.verifying_key], at=kwargs.pop("at", T0), **kwargs)


# --- the issuer's list --------------------------------------------------------------


def test_set_and_get() -> None:
    statuses = make_list()
    assert statuses.get(3) is Status.REVOKED
    assert statuses.get(4) is Status.SUSPENDED
    assert statuses.get(5) is Status.VALID
    statuses.set(4, Status.VALID)
    assert statuses.get(4) is Status.VALID
    assert statuses.get(3) is Status.REVOKED  # neighbours in the same byte are untouched


def test_every_entry_is_independent() -> None:
    statuses = StatusList(13, list_id="x")
    pattern = [Status(i % 3) for i in range(13)]
    for index, status in enumerate(pattern):
        statuses.set(index, status)
    assert [statuses.get(i) for i in range(13)] == pattern


def test_bit_layout_is_least_significant_first() -> None:
    statuses = StatusList(4, list_id="x")
    statuses.set(1, Status.REVOKED)
    statuses.set(3, Status.SUSPENDED)
    assert zlib.decompress(b64url_decode(statuses.encoded())) == bytes([0b10_00_01_00])


def test_allocate_hands_out_indexes_in_order_until_full() -> None:
    statuses = StatusList(2, list_id="x")
    assert [statuses.allocate(), statuses.allocate()] == [0, 1]
    with pytest.raises(ConfigurationError):
        statuses.allocate()


@pytest.mark.parametrize("index", [-1, 1000, True, "3"])
def test_out_of_range_indexes_are_refused(index: Any) -> None:
    with pytest.raises(ConfigurationError):
        make_list().set(index, Status.REVOKED)
    with pytest.raises(ConfigurationError):
        make_list().get(index)


def test_only_status_values_can_be_set() -> None:
    with pytest.raises(ConfigurationError):
        make_list().set(1, 3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        make_list().set(1, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("size", "list_id"), [(0, "x"), (2**24 + 1, "x"), (8, ""), (8, "a b")])
def test_construction_is_checked(size: int, list_id: str) -> None:
    with pytest.raises(ConfigurationError):
        StatusList(size, list_id=list_id)


def test_state_round_trip() -> None:
    statuses = make_list()
    statuses.allocate()
    state = statuses.to_json()
    assert state["type"] == "govkit.status-list-state/v1"
    for restored in (
        StatusList.from_json(state),
        StatusList.from_json(json.dumps(state)),
        StatusList.from_json(json.dumps(state).encode()),
    ):
        assert restored.to_json() == state
        assert restored.get(3) is Status.REVOKED
        assert restored.allocate() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"type": "govkit.status-list/v1"},
        {"bits": 1},
        {"size": 0},
        {"next": 2000},
        {"lst": "!!"},
        {"extra": 1},
        {"id": 5},
    ],
)
def test_state_is_parsed_strictly(change: dict[str, Any]) -> None:
    state = {**make_list().to_json(), **change}
    with pytest.raises(StatusListInvalid):
        StatusList.from_json(state)


# --- signing and loading --------------------------------------------------------------


def test_sign_and_load_round_trip() -> None:
    loaded = load(signed(sequence=9))
    assert (loaded.list_id, loaded.size, loaded.sequence) == ("gz-police-2026", 1000, 9)
    assert loaded.kid == KEY.kid
    assert loaded.status(3) is Status.REVOKED
    assert loaded.status(4) is Status.SUSPENDED
    assert loaded.status(5) is Status.VALID
    assert loaded.status(999) is Status.REVOKED


def test_wire_format() -> None:
    document = json.loads(signed())
    assert document["type"] == "govkit.status-list/v1"
    assert set(document["status_list"]) == {
        "id", "bits", "size", "sequence", "issued_at", "expires_at", "lst",
    }  # fmt: skip
    assert document["status_list"]["bits"] == 2
    assert set(document["signature"]) == {"alg", "kid", "value"}


def test_a_large_list_of_mostly_valid_entries_is_small() -> None:
    statuses = StatusList(131072, list_id="x")
    statuses.set(77777, Status.REVOKED)
    data = signed(statuses)
    assert len(data) < 700
    assert load(data).status(77777) is Status.REVOKED


def test_an_index_outside_the_list_is_invalid() -> None:
    with pytest.raises(StatusListInvalid) as caught:
        load(signed()).status(1000)
    assert caught.value.context["reason"] == "index"


def test_a_list_signed_by_another_key_is_invalid() -> None:
    with pytest.raises(StatusListInvalid) as caught:
        load(signed(key=OTHER_KEY))
    assert (caught.value.code, caught.value.context["reason"]) == ("status.invalid", "unknown_key")


def test_every_tampered_byte_is_detected() -> None:
    data = signed(make_list(40))
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(StatusListInvalid):
            load(bytes(tampered))


def test_a_trust_list_signed_by_the_same_key_cannot_pass_as_a_status_list() -> None:
    trust_list = TrustList(
        (
            TrustedIssuer(
                Agency("广州市公安局", "11440100MB2C92923F"),
                (TrustedKey.for_key(KEY.verifying_key, {"passport"}),),
            ),
        ),
        1,
        T0,
        T0 + timedelta(days=1),
    )
    with pytest.raises(StatusListInvalid) as caught:
        load(sign_trust_list(trust_list, KEY))
    assert caught.value.context["reason"] == "wrong_type"


def test_a_zlib_bomb_is_refused_quickly() -> None:
    bomb = b64url_encode(zlib.compress(bytes(200 * 1024 * 1024), 9))
    data = resign(body(lst=bomb))
    started = time.monotonic()
    with pytest.raises(StatusListInvalid) as caught:
        load(data)
    assert caught.value.context["reason"] == "zlib"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (zlib.compress(bytes(249)), "zlib"),  # one byte short
        (zlib.compress(bytes(251)), "zlib"),  # one byte long
        (zlib.compress(bytes(250))[:-4], "zlib"),  # truncated stream
        (zlib.compress(bytes(250)) + b"x", "zlib"),  # trailing data
        (b"not zlib", "zlib"),
        (bytes(250), "zlib"),  # uncompressed
        (zlib.compress(bytes([3]) + bytes(249)), "value"),  # the unused value 3
    ],
)
def test_the_bits_must_decompress_to_exactly_the_list(raw: bytes, reason: str) -> None:
    with pytest.raises(StatusListInvalid) as caught:
        load(resign(body(lst=b64url_encode(raw))))
    assert caught.value.context["reason"] == reason


def test_padding_bits_past_the_size_must_be_zero() -> None:
    # 999 entries fill 249.75 bytes; the top two bits of the last byte are padding.
    raw = zlib.compress(bytes(249) + bytes([0b01000000]))
    with pytest.raises(StatusListInvalid) as caught:
        load(resign(body(size=999, lst=b64url_encode(raw))))
    assert caught.value.context["reason"] == "padding"


def test_size_limits_hold_before_decompression() -> None:
    with pytest.raises(StatusListInvalid):
        load(resign(body(size=2**24 + 1)))
    with pytest.raises(StatusListInvalid):
        load(signed(), max_size=999)


@pytest.mark.parametrize(
    "change",
    [
        {"bits": 1},
        {"bits": True},
        {"size": 0},
        {"size": "1000"},
        {"sequence": -1},
        {"issued_at": "2026-06-01 09:00:00Z"},
        {"expires_at": "2026-05-01T00:00:00Z"},
        {"id": "has space"},
        {"lst": 5},
        {"extra": 1},
    ],
)
def test_loading_is_strict(change: dict[str, Any]) -> None:
    with pytest.raises(StatusListInvalid):
        load(resign(body(**change)))


def test_signing_arguments_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        sign_status_list(make_list(), KEY, issued_at=T0, expires_at=T0, sequence=1)
    with pytest.raises(ConfigurationError):
        sign_status_list(make_list(), KEY, issued_at=T0, expires_at=T0 + timedelta(1), sequence=-1)


# --- staleness ----------------------------------------------------------------------


def test_a_stale_list_raises_trust_stale() -> None:
    with pytest.raises(TrustListStale) as caught:
        load(signed(), at=T0 + timedelta(days=1))
    assert caught.value.code == "trust.stale"


def test_allow_stale_returns_the_list_and_is_stale_reports_it() -> None:
    late = T0 + timedelta(days=2)
    loaded = load(signed(), at=late, allow_stale=True)
    assert loaded.is_stale(late)
    assert not loaded.is_stale(T0)


# --- the source -----------------------------------------------------------------------


def test_a_file_source_caches_and_refuses_rollback(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    clock = FixedClock(T0)
    path.write_bytes(signed(sequence=5))
    source = StatusListSource(
        path, [KEY.verifying_key], list_id="gz-police-2026", clock=clock, ttl=timedelta(minutes=1)
    )
    assert source.get().sequence == 5
    path.write_bytes(signed(sequence=4))
    clock.advance(timedelta(minutes=2))
    assert source.get().sequence == 5
    with pytest.raises(TrustListError) as caught:
        source.refresh()
    assert caught.value.context["reason"] == "rollback"


def test_a_source_refuses_another_list_id(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_bytes(signed())
    source = StatusListSource(path, [KEY.verifying_key], list_id="sz-police", clock=FixedClock(T0))
    with pytest.raises(TrustListError) as caught:
        source.get()
    assert caught.value.context["reason"] == "invalid"


# --- hypothesis -----------------------------------------------------------------------


@given(st.binary(max_size=512))
def test_load_arbitrary_bytes_returns_a_list_or_a_govkit_error(data: bytes) -> None:
    with contextlib.suppress(GovkitError):
        load(data)


@given(
    st.sampled_from(sorted(body())),
    st.none() | st.booleans() | st.integers() | st.text(max_size=40) | st.lists(st.integers()),
)
def test_load_a_signed_list_with_one_member_replaced(member: str, value: Any) -> None:
    with contextlib.suppress(GovkitError):
        load(resign(body(**{member: value})))


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=2000))
def test_load_arbitrary_compressed_bits_returns_a_list_or_a_govkit_error(
    raw: bytes, size: int
) -> None:
    for lst in (raw, zlib.compress(raw)):
        try:
            loaded = load(resign(body(lst=b64url_encode(lst), size=size)))
        except GovkitError:
            continue
        assert loaded.size == size


@given(st.lists(st.sampled_from(list(Status)), min_size=1, max_size=200))
def test_any_statuses_survive_sign_and_load(statuses: list[Status]) -> None:
    status_list = StatusList(len(statuses), list_id="x")
    for index, status in enumerate(statuses):
        status_list.set(index, status)
    loaded = load(signed(status_list))
    assert [loaded.status(i) for i in range(len(statuses))] == statuses
