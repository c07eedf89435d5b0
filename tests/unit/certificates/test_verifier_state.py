"""The verifier state: only forward, the one place that decides what is trusted.

Each test is named after the attack or fault it covers: lists rolled back or equivocated,
anchors rotated or forged, a clock set back, files swapped on disk, two writers at once.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from govkit.certificates import (
    CLOCK_TOLERANCE,
    Agency,
    CertificateIssuer,
    Holder,
    IssuedCertificate,
    Status,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    VerifierState,
    sign_status_list,
    sign_trust_list,
)
from govkit.errors import (
    ClockBehind,
    ConfigurationError,
    StatusListInvalid,
    TrustListEquivocation,
    TrustListError,
    TrustListInvalid,
    TrustListRollback,
    VerifierAnchorConflict,
    VerifierStateError,
    VerifierStateLocked,
)
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("EdDSA")
NEXT = SigningKey.generate("EdDSA")
GZ_KEY, SZ_KEY = SigningKey.generate("EdDSA"), SigningKey.generate("EdDSA")
GZ = Agency("广州市公安局", "11440100MB2C92923F")
SZ = Agency("深圳市公安局", "11440300MB2D111175")
FIELDS = {
    "name": "张三",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}


def issuers() -> tuple[TrustedIssuer, ...]:
    return (
        TrustedIssuer(GZ, (TrustedKey.for_key(GZ_KEY.verifying_key, {"driving-licence"}),)),
        TrustedIssuer(SZ, (TrustedKey.for_key(SZ_KEY.verifying_key, {"driving-licence"}),)),
    )


def trust(
    sequence: int, *, signer: SigningKey = ANCHOR, at: datetime = T0, **extra: object
) -> bytes:
    listed = TrustList(issuers(), sequence, at, at + timedelta(days=7), **extra)  # type: ignore[arg-type]
    return sign_trust_list(listed, signer)


def status(
    sequence: int, *, key: SigningKey = GZ_KEY, revoked: int | None = None, at: datetime = T0
) -> bytes:
    statuses = StatusList(64, list_id="gz" if key is GZ_KEY else "sz")
    if revoked is not None:
        statuses.set(revoked, Status.REVOKED)
    return sign_status_list(
        statuses, key, issued_at=at, expires_at=at + timedelta(days=1), sequence=sequence
    )


def issue() -> IssuedCertificate:
    """A driving licence of the Guangzhou police, status index 0, issued a day before T0."""
    issuer = CertificateIssuer(
        GZ_KEY,
        agency=GZ,
        status=StatusList(64, list_id="gz"),
        clock=FixedClock(T0 - timedelta(days=1)),
    )
    return issuer.issue(
        "driving-licence",
        holder=Holder("p-0123456789abcdef", "pseudonym"),
        fields=FIELDS,
        valid_from=date(2026, 1, 1),
        valid_until=date(2030, 1, 1),
    )


@pytest.fixture
def state(tmp_path: Path) -> VerifierState:
    made = VerifierState(tmp_path / "state")
    made.import_lists(trust(5), [status(3)], now=T0, anchors=[ANCHOR.verifying_key])
    return made


def held(state: VerifierState) -> dict[str, object]:
    return json.loads((state.path / "state.json").read_text())  # type: ignore[no-any-return]


# -- rollback and equivocation ------------------------------------------------------------


def test_an_older_trust_list_is_refused_as_a_rollback(state: VerifierState) -> None:
    before = (state.path / "state.json").read_bytes()
    with pytest.raises(TrustListRollback) as caught:
        state.import_lists(trust(4), now=T0)
    assert caught.value.code == "trust.rollback"
    assert caught.value.context == {"sequence": 4, "held": 5}
    assert (state.path / "state.json").read_bytes() == before


def test_an_older_status_list_is_refused_as_a_rollback(state: VerifierState) -> None:
    with pytest.raises(TrustListRollback) as caught:
        state.import_lists(status=[status(2)], now=T0)
    assert caught.value.context["uscc"] == GZ.uscc
    assert caught.value.context["list"] == "status"


def test_a_different_list_with_the_held_sequence_is_equivocation(state: VerifierState) -> None:
    forked = trust(5, at=T0 + timedelta(minutes=1))  # same sequence, other content
    with pytest.raises(TrustListEquivocation):
        state.import_lists(forked, now=T0 + timedelta(minutes=1))
    with pytest.raises(TrustListEquivocation):
        state.import_lists(status=[status(3, revoked=7)], now=T0)


def test_the_same_lists_again_change_nothing_but_when_they_were_checked(
    state: VerifierState,
) -> None:
    updates = state.import_lists(trust(5), [status(3)], now=T0 + timedelta(hours=1))
    assert [u.outcome for u in updates] == ["unchanged", "unchanged"]
    assert held(state)["trust"]["checked_at"] == "2026-06-01T10:00:00Z"  # type: ignore[index]


def test_newer_lists_replace_the_held_ones_and_old_files_go(state: VerifierState) -> None:
    old_files = set((state.path / "lists").iterdir())
    updates = state.import_lists(trust(6), [status(4, revoked=7)], now=T0)
    assert [(u.outcome, u.previous, u.sequence) for u in updates] == [
        ("updated", 5, 6),
        ("updated", 3, 4),
    ]
    state.import_lists(trust(7), now=T0)  # the files of two updates ago are removed
    assert not old_files & set((state.path / "lists").iterdir())
    trust_list = state.trust_list()
    assert trust_list is not None
    assert trust_list.sequence == 7


def test_an_import_with_one_refused_list_changes_nothing(state: VerifierState) -> None:
    before = (state.path / "state.json").read_bytes()
    with pytest.raises(TrustListRollback):
        state.import_lists(trust(6), [status(2)], now=T0)  # the trust list alone is newer
    assert (state.path / "state.json").read_bytes() == before


def test_a_status_list_not_signed_by_an_issuer_on_the_list_is_refused(
    state: VerifierState,
) -> None:
    with pytest.raises(StatusListInvalid) as caught:
        state.import_lists(status=[status(9, key=SigningKey.generate("EdDSA"))], now=T0)
    assert caught.value.context["reason"] == "unknown_key"


def test_each_issuer_has_its_own_status_list_and_sequence(state: VerifierState) -> None:
    updates = state.import_lists(status=[status(1, key=SZ_KEY)], now=T0)
    assert (updates[0].uscc, updates[0].outcome) == (SZ.uscc, "installed")
    summary = state.summary(T0)
    assert {(e["uscc"], e["sequence"]) for e in summary["status"]} == {
        (GZ.uscc, 3),
        (SZ.uscc, 1),
    }


# -- anchors --------------------------------------------------------------------------------


def test_a_new_state_needs_its_anchors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        VerifierState(tmp_path / "s").import_lists(trust(1), now=T0)
    assert not (tmp_path / "s" / "state.json").exists()


def test_an_anchor_the_state_does_not_trust_is_a_conflict(state: VerifierState) -> None:
    with pytest.raises(VerifierAnchorConflict) as caught:
        state.import_lists(trust(6), now=T0, anchors=[SigningKey.generate("EdDSA").verifying_key])
    assert caught.value.code == "verifier.anchor_conflict"


def test_a_list_signed_by_another_key_is_refused_even_with_a_higher_sequence(
    state: VerifierState,
) -> None:
    with pytest.raises(TrustListInvalid) as caught:
        state.import_lists(trust(99, signer=SigningKey.generate("EdDSA")), now=T0)
    assert caught.value.context["reason"] == "unknown_key"


def test_anchor_rotation_follows_the_chain_and_retires_the_old_anchor(
    state: VerifierState,
) -> None:
    state.import_lists(trust(6, next_anchors=(NEXT.verifying_key,)), now=T0)
    assert state.anchors() == (ANCHOR.verifying_key,)
    state.import_lists(trust(7, signer=NEXT), now=T0)  # introduced by #6: accepted
    assert state.anchors() == (NEXT.verifying_key,)
    with pytest.raises(TrustListInvalid) as caught:  # the old anchor signs nothing any more
        state.import_lists(trust(8, signer=ANCHOR), now=T0)
    assert caught.value.context["reason"] == "unknown_key"


def test_a_next_anchor_not_introduced_by_the_held_list_is_not_trusted(
    state: VerifierState,
) -> None:
    with pytest.raises(TrustListInvalid):
        state.import_lists(trust(6, signer=NEXT), now=T0)
    state.import_lists(trust(6, next_anchors=(NEXT.verifying_key,)), now=T0)
    state.import_lists(trust(7), now=T0)  # the current anchor withdraws the introduction
    with pytest.raises(TrustListInvalid):
        state.import_lists(trust(8, signer=NEXT), now=T0)
    assert state.anchors() == (ANCHOR.verifying_key,)


# -- the clock ------------------------------------------------------------------------------


def test_a_clock_set_back_fails_the_clock_check(state: VerifierState) -> None:
    check = state.check_clock(T0 - timedelta(days=2))
    assert (check.name, check.ok, check.code) == ("clock", False, "clock.behind")
    assert state.check_clock(T0 - CLOCK_TOLERANCE).ok is True  # within the tolerance
    assert state.check_clock(T0 + timedelta(days=30)).ok is True


def test_a_state_that_saw_no_signed_time_does_not_claim_the_clock_was_checked(
    tmp_path: Path,
) -> None:
    assert VerifierState(tmp_path / "new").check_clock(T0).ok is None


def test_a_list_signed_in_the_future_is_refused_so_it_cannot_poison_the_clock(
    state: VerifierState,
) -> None:
    with pytest.raises(ClockBehind):
        state.import_lists(status=[status(4, at=T0 + timedelta(days=365))], now=T0)
    assert state.newest_signed_time() == T0


def test_the_newest_signed_time_never_goes_back(state: VerifierState) -> None:
    later = T0 + timedelta(days=1)
    state.import_lists(trust(6, at=later), now=later)
    state.import_lists(status=[status(4)], now=later)  # an older issued_at than the trust list
    assert state.newest_signed_time() == later


def test_a_report_with_a_failed_clock_check_vouches_for_nothing(state: VerifierState) -> None:
    licence = issue()
    report = state.verifier(replay=False).inspect(licence.qr_payload, at=T0)
    assert report.valid, report.code
    behind = state.with_clock_check(report, T0 - timedelta(days=1))
    assert (behind.valid, behind.code, behind.kind) == (False, "clock.behind", report.kind)
    assert behind.to_dict()["certificate"] is None
    assert behind.summary() == ()
    current = state.with_clock_check(report, T0)
    assert current.valid
    assert current.to_dict()["certificate"]["id"] == licence.id
    assert [c.name for c in current.checks][-1] == "clock"


# -- what users and other processes do to the directory ----------------------------------------


def test_a_held_list_swapped_on_disk_is_damage_not_trust(state: VerifierState) -> None:
    entry = held(state)["trust"]
    path = state.path / entry["file"]  # type: ignore[index]
    path.write_bytes(trust(5, at=T0 + timedelta(seconds=1)))  # validly signed, not the held one
    fresh = VerifierState(state.path)
    with pytest.raises(VerifierStateError) as caught:
        fresh.trust_list()
    assert caught.value.context["reason"] == "damaged"


def test_a_held_status_list_swapped_on_disk_is_not_used(state: VerifierState) -> None:
    entry = held(state)["status"][GZ.uscc]  # type: ignore[index]
    (state.path / entry["file"]).write_bytes(status(3, revoked=0))  # the issuer's, but not held
    licence = issue()
    with pytest.raises(TrustListError) as caught:  # not a verdict: the state is damaged
        VerifierState(state.path).verifier(replay=False).inspect(licence.qr_payload, at=T0)
    assert caught.value.context["reason"] == "damaged"


def test_a_state_index_cut_short_is_damaged_not_empty(state: VerifierState) -> None:
    index = state.path / "state.json"
    index.write_bytes(index.read_bytes()[:100])
    with pytest.raises(VerifierStateError) as caught:
        state.anchors()
    assert caught.value.code == "verifier.state"
    assert caught.value.context["reason"] == "damaged"


def test_a_writer_waits_for_the_lock_then_gives_up_with_state_locked(
    state: VerifierState,
) -> None:
    with (state.path / "lock").open("a") as held_lock:
        fcntl.flock(held_lock, fcntl.LOCK_EX)
        impatient = VerifierState(state.path, lock_timeout=0.2)
        with pytest.raises(VerifierStateLocked) as caught:
            impatient.import_lists(trust(6), now=T0)
        assert caught.value.code == "verifier.state_locked"
    VerifierState(state.path, lock_timeout=0.2).import_lists(trust(6), now=T0)


def _offer(path: str, sequence: int) -> str:
    try:
        VerifierState(path).import_lists(trust(sequence), [status(sequence)], now=T0)
    except (TrustListRollback, TrustListEquivocation) as exc:
        return exc.code
    return "accepted"


def test_writers_in_many_processes_at_once_only_move_the_state_forward(
    state: VerifierState,
) -> None:
    sequences = [12, 7, 10, 6, 11, 8, 9, 13, 6, 13]
    with multiprocessing.get_context("fork").Pool(5) as pool:
        outcomes = pool.starmap(_offer, [(str(state.path), n) for n in sequences])
    assert set(outcomes) <= {"accepted", "trust.rollback"}
    assert "accepted" in outcomes
    final = held(state)
    assert final["trust"]["sequence"] == 13  # type: ignore[index]
    assert final["status"][GZ.uscc]["sequence"] == 13  # type: ignore[index]
    trust_list = VerifierState(state.path).trust_list()  # every file it names is there
    assert trust_list is not None
    assert trust_list.sequence == 13


# -- purge: what the state drops, and what rollback detection keeps ----------------------------


def _list_files(state: VerifierState) -> set[str]:
    return {p.name for p in (state.path / "lists").iterdir()}


def _held_names(state: VerifierState) -> set[str]:
    index = held(state)
    entries = [index["trust"], *index["status"].values()]  # type: ignore[attr-defined]
    return {e["file"].split("/", 1)[1] for e in entries}


def test_purge_drops_superseded_lists_and_rollback_is_still_refused(
    state: VerifierState,
) -> None:
    state.import_lists(trust(6), [status(4)], now=T0)
    assert len(_list_files(state)) == 4  # the previous update's files are kept one update
    assert state.purge(now=T0) == 2
    assert _list_files(state) == _held_names(state)
    assert state.purge(now=T0) == 0
    with pytest.raises(TrustListRollback):
        state.import_lists(trust(5), now=T0)
    with pytest.raises(TrustListRollback):
        state.import_lists(status=[status(3)], now=T0)
    with pytest.raises(TrustListEquivocation):
        state.import_lists(trust(6, at=T0 + timedelta(minutes=1)), now=T0 + timedelta(minutes=1))
    with pytest.raises(TrustListEquivocation):
        state.import_lists(status=[status(4, revoked=7)], now=T0)
    report = VerifierState(state.path).verifier(replay=False).inspect(issue().qr_payload, at=T0)
    assert report.valid, report.code


def test_purge_removes_what_an_interrupted_update_left_behind(state: VerifierState) -> None:
    orphan = state.path / "lists" / ("0" * 64 + ".json")
    orphan.write_bytes(trust(9))  # written, but the index was never replaced
    partial = state.path / "lists" / ".abc.json.1234.tmp"
    partial.write_bytes(b"{")
    index_tmp = state.path / ".state.json.5678.tmp"
    index_tmp.write_bytes(b"{")
    before = _list_files(state) - {orphan.name, partial.name}
    assert state.purge(now=T0) == 3
    assert _list_files(state) == before == _held_names(state)
    assert not index_tmp.exists()
    trust_list = VerifierState(state.path).trust_list()
    assert trust_list is not None
    assert trust_list.sequence == 5  # the orphan (sequence 9) was never trusted


def test_purge_keeps_the_status_list_of_an_issuer_dropped_from_the_trust_list(
    state: VerifierState,
) -> None:
    only_sz = TrustList(issuers()[1:], 6, T0, T0 + timedelta(days=7))
    state.import_lists(sign_trust_list(only_sz, ANCHOR), now=T0)
    state.purge(now=T0)
    assert held(state)["status"][GZ.uscc]["sequence"] == 3  # type: ignore[index]
    assert _list_files(state) == _held_names(state)


def test_purge_deletes_expired_presentation_replays_only(state: VerifierState) -> None:
    replays = state.replay_store()
    assert replays.check_and_remember("old", now=T0, expires_at=T0 + timedelta(minutes=5))
    assert replays.check_and_remember("new", now=T0, expires_at=T0 + timedelta(hours=1))
    assert state.purge(now=T0 + timedelta(minutes=5)) == 1
    assert replays.check_and_remember("new", now=T0, expires_at=T0 + timedelta(hours=1)) is False
    state.close()


def test_purge_of_a_state_never_written_creates_nothing(tmp_path: Path) -> None:
    fresh = VerifierState(tmp_path / "none")
    assert fresh.purge(now=T0) == 0
    assert not (tmp_path / "none").exists()


def test_purge_refuses_a_damaged_index_rather_than_deleting_held_lists(
    state: VerifierState,
) -> None:
    (state.path / "state.json").write_text("{")
    files = _list_files(state)
    with pytest.raises(VerifierStateError):
        state.purge(now=T0)
    assert _list_files(state) == files
