"""Evidence for :class:`govkit.keys.KeyRing`: rotation, validity windows, JWKS, Signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from govkit.errors import (
    ConfigurationError,
    InvalidKey,
    InvalidSignature,
    KeyMismatch,
    KeyNotValidAt,
    NaiveDatetimeError,
    NoActiveKey,
    UnknownKey,
)
from govkit.keys import KeyRecord, KeyRing, Signer, SigningKey, VerifyingKey
from govkit.testing import FixedClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
DATA = b"checkpoint 17"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.generate("PS256")


def ed() -> SigningKey:
    return SigningKey.generate("EdDSA")


class FakeHsmSigner:
    """Signs inside a pretend HSM: exposes alg, kid and sign(), never the private key.

    It is deliberately not a SigningKey, so the ring can only learn its public half
    through ``verifying_key=``.
    """

    def __init__(self, private: rsa.RSAPrivateKey | None = None, alg: str = "ES256") -> None:
        self.__private = private if private is not None else ec.generate_private_key(ec.SECP256R1())
        self.__alg = alg
        self.public = VerifyingKey(self.__private.public_key(), alg)
        self.calls = 0

    @property
    def alg(self) -> str:
        return self.__alg

    @property
    def kid(self) -> str:
        return self.public.kid

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        private = self.__private
        if isinstance(private, rsa.RSAPrivateKey):
            return private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# --- active key and rotation ---------------------------------------------------


def test_ring_signs_with_its_active_key_and_verifies_by_kid(clock: FixedClock) -> None:
    key = ed()
    ring = KeyRing(key, clock=clock)
    assert ring.has_active
    assert ring.active is key
    signature = ring.active.sign(DATA)
    assert ring.verify(key.kid, signature, DATA) == key.verifying_key
    assert ring.kids == (key.kid,)
    assert key.kid in ring
    assert len(ring) == 1


def test_empty_ring_has_no_active_key() -> None:
    ring = KeyRing()
    assert not ring.has_active
    with pytest.raises(NoActiveKey):
        _ = ring.active


def test_rotation_signs_with_new_key_and_still_verifies_old_signatures(clock: FixedClock) -> None:
    old, new = ed(), ed()
    ring = KeyRing(old, clock=clock)
    old_signature = ring.active.sign(DATA)
    ring.activate(new)
    assert ring.active is new
    assert ring.kids == (old.kid, new.kid)
    new_signature = ring.active.sign(DATA)
    new.verifying_key.verify(new_signature, DATA)
    with pytest.raises(InvalidSignature):
        old.verifying_key.verify(new_signature, DATA)
    assert ring.verify(old.kid, old_signature, DATA).kid == old.kid
    assert ring.verify(new.kid, new_signature, DATA).kid == new.kid


def test_retired_key_verifies_inside_its_window_and_not_after(clock: FixedClock) -> None:
    old, new = ed(), ed()
    ring = KeyRing(old, clock=clock)
    signature = old.sign(DATA)
    ring.activate(new)
    ring.retire(old.kid, not_after=T0 + 30 * DAY)
    assert ring.verify(old.kid, signature, DATA, at=T0 + 29 * DAY).kid == old.kid
    with pytest.raises(KeyNotValidAt) as exc:
        ring.verify(old.kid, signature, DATA, at=T0 + 30 * DAY)  # window is half-open
    assert exc.value.context["kid"] == old.kid
    clock.advance(31 * DAY)  # without at=, the ring's clock decides
    with pytest.raises(KeyNotValidAt):
        ring.verify(old.kid, signature, DATA)
    assert ring.verify(new.kid, new.sign(DATA), DATA).kid == new.kid


def test_retired_key_leaves_the_jwks_when_its_window_closes(clock: FixedClock) -> None:
    old, new = ed(), ed()
    ring = KeyRing(old, clock=clock)
    ring.activate(new)
    ring.retire(old.kid, not_after=T0 + 7 * DAY)
    assert [j["kid"] for j in ring.to_jwks()["keys"]] == [old.kid, new.kid]
    assert [j["kid"] for j in ring.to_jwks(at=T0 + 7 * DAY)["keys"]] == [new.kid]
    clock.advance(8 * DAY)
    assert [j["kid"] for j in ring.to_jwks()["keys"]] == [new.kid]


def test_key_not_yet_valid_is_refused_but_already_published(clock: FixedClock) -> None:
    current, upcoming = ed(), ed()
    ring = KeyRing(current, clock=clock)
    ring.add(upcoming, not_before=T0 + DAY)
    signature = upcoming.sign(DATA)
    with pytest.raises(KeyNotValidAt):
        ring.verify(upcoming.kid, signature, DATA)
    assert upcoming.kid in [j["kid"] for j in ring.to_jwks()["keys"]]
    assert ring.verify(upcoming.kid, signature, DATA, at=T0 + DAY).kid == upcoming.kid


def test_signature_presented_under_another_keys_kid_is_rejected(clock: FixedClock) -> None:
    a, b = ed(), ed()
    ring = KeyRing(a, clock=clock)
    ring.add(b)
    with pytest.raises(InvalidSignature):
        ring.verify(b.kid, a.sign(DATA), DATA)


@pytest.mark.parametrize("kid", ["", "x" * 257, "no-such-kid"])
def test_unknown_kid_is_refused(clock: FixedClock, kid: str) -> None:
    key = ed()
    ring = KeyRing(key, clock=clock)
    with pytest.raises(UnknownKey):
        ring.verify(kid, key.sign(DATA), DATA)
    assert kid not in ring


def test_unknown_kid_error_names_the_kid(clock: FixedClock) -> None:
    ring = KeyRing(ed(), clock=clock)
    with pytest.raises(UnknownKey) as exc:
        ring.get("no-such-kid")
    assert exc.value.context["kid"] == "no-such-kid"


def test_non_string_kid_is_unknown_not_a_crash(clock: FixedClock) -> None:
    ring = KeyRing(ed(), clock=clock)
    with pytest.raises(UnknownKey):
        ring.get(None)  # type: ignore[arg-type]
    assert None not in ring


def test_naive_verification_time_is_refused(clock: FixedClock) -> None:
    key = ed()
    ring = KeyRing(key, clock=clock)
    with pytest.raises(NaiveDatetimeError):
        ring.verify(key.kid, key.sign(DATA), DATA, at=datetime(2026, 1, 1))


class NaiveClock:
    """A misconfigured clock: it reads naive local time."""

    def now(self) -> datetime:
        return datetime(2026, 1, 1)


def test_a_key_without_a_window_still_refuses_a_naive_time(clock: FixedClock) -> None:
    # a key open at both ends has no window to compare with, yet the time (given, or
    # read from the clock) must still be aware.
    key = ed()
    ring = KeyRing(key, clock=clock)
    record = ring.record(key.kid)
    assert record.not_before is None
    assert record.not_after is None
    with pytest.raises(NaiveDatetimeError) as exc:
        ring.get(key.kid, at=datetime(2026, 1, 1))
    assert exc.value.context["argument"] == "at"
    with pytest.raises(NaiveDatetimeError) as exc:
        KeyRing(key, clock=NaiveClock()).get(key.kid)
    assert exc.value.context["argument"] == "clock.now()"


def test_a_key_without_a_window_is_valid_at_any_aware_time(clock: FixedClock) -> None:
    key = ed()
    ring = KeyRing(key, clock=clock)
    record = ring.record(key.kid)
    plus_eight = timezone(timedelta(hours=8))
    for at in (
        datetime.min.replace(tzinfo=UTC),
        T0.astimezone(plus_eight),
        datetime.max.replace(tzinfo=UTC),
        None,
    ):
        assert at is None or record.valid_at(at)
        assert ring.get(key.kid, at=at) is key.verifying_key


def test_verification_time_in_another_zone_is_compared_in_utc(clock: FixedClock) -> None:
    old, new = ed(), ed()
    ring = KeyRing(old, clock=clock)
    ring.activate(new)
    ring.retire(old.kid, not_after=T0 + DAY)
    plus_two = timezone(timedelta(hours=2))
    # 01:30 at +02:00 is 23:30 UTC on the previous day: still inside the window.
    inside = datetime(2026, 1, 2, 1, 30, tzinfo=plus_two)
    assert ring.get(old.kid, at=inside).kid == old.kid
    with pytest.raises(KeyNotValidAt):
        ring.get(old.kid, at=datetime(2026, 1, 2, 2, 30, tzinfo=plus_two))


def test_active_key_cannot_be_retired_or_removed(clock: FixedClock) -> None:
    key = ed()
    ring = KeyRing(key, clock=clock)
    with pytest.raises(ConfigurationError):
        ring.retire(key.kid, not_after=T0 + DAY)
    with pytest.raises(ConfigurationError):
        ring.remove(key.kid)
    assert ring.verify(key.kid, key.sign(DATA), DATA).kid == key.kid


def test_removed_key_and_its_alias_are_unknown(clock: FixedClock) -> None:
    active, gone = ed(), ed()
    ring = KeyRing(active, clock=clock)
    ring.add(gone, kid="legacy-1")
    assert ring.get("legacy-1").kid == gone.kid
    ring.remove(gone.kid)
    for name in (gone.kid, "legacy-1"):
        with pytest.raises(UnknownKey):
            ring.get(name)
        assert name not in ring


def test_adding_a_signing_key_keeps_only_its_public_half(clock: FixedClock) -> None:
    active, extra = ed(), ed()
    ring = KeyRing(active, clock=clock)
    record = ring.add(extra)
    assert isinstance(record.key, VerifyingKey)
    assert record.key == extra.verifying_key
    assert ring.active is active
    assert all(isinstance(k, VerifyingKey) for k in ring)


def test_adding_something_that_is_not_a_key_is_refused() -> None:
    with pytest.raises(InvalidKey):
        KeyRing().add(b"-----BEGIN PUBLIC KEY-----")  # type: ignore[arg-type]


def test_activating_something_that_is_not_a_signer_is_refused() -> None:
    with pytest.raises(InvalidKey):
        KeyRing().activate(ed().verifying_key)  # type: ignore[arg-type]


def test_readding_a_key_with_another_alias_keeps_both_aliases(clock: FixedClock) -> None:
    key = ed()
    ring = KeyRing(clock=clock)
    ring.add(key, kid="first")
    ring.add(key, kid="second")
    assert set(ring.record(key.kid).aliases) == {"first", "second"}
    assert ring.get("first") == ring.get("second") == key.verifying_key


def test_two_keys_claiming_the_same_foreign_kid_are_refused(clock: FixedClock) -> None:
    ring = KeyRing(clock=clock)
    ring.add(ed(), kid="shared")
    with pytest.raises(ConfigurationError):
        ring.add(ed(), kid="shared")


@pytest.mark.parametrize("kid", ["", "k" * 257])
def test_unusable_foreign_kid_is_refused(kid: str) -> None:
    with pytest.raises(InvalidKey):
        KeyRing().add(ed(), kid=kid)


def test_ring_repr_shows_counts_and_kid_only(clock: FixedClock) -> None:
    key = ed()
    ring = KeyRing(key, clock=clock)
    assert repr(ring) == f"KeyRing(keys=1, active={key.kid!r})"


# --- KeyRecord windows -----------------------------------------------------------


def test_key_record_window_is_half_open() -> None:
    record = KeyRecord(ed().verifying_key, not_before=T0, not_after=T0 + DAY)
    assert not record.valid_at(T0 - timedelta(microseconds=1))
    assert record.valid_at(T0)
    assert record.valid_at(T0 + DAY - timedelta(microseconds=1))
    assert not record.valid_at(T0 + DAY)


def test_get_decides_the_window_exactly_as_the_key_record_does(clock: FixedClock) -> None:
    # KeyRing.get writes KeyRecord.valid_at out; both must agree at every boundary, with
    # the key named by its thumbprint or by an alias, and in any zone.
    key = ed()
    ring = KeyRing(ed(), clock=clock)
    ring.add(key, not_before=T0, not_after=T0 + DAY, kid="legacy-1")
    record = ring.record(key.kid)
    tick = timedelta(microseconds=1)
    plus_two = timezone(timedelta(hours=2))
    for at in (T0 - tick, T0, T0 + DAY - tick, T0 + DAY, (T0 + DAY).astimezone(plus_two)):
        for kid in (key.kid, "legacy-1"):
            if record.valid_at(at):
                assert ring.get(kid, at=at) is key.verifying_key
            else:
                with pytest.raises(KeyNotValidAt) as exc:
                    ring.get(kid, at=at)
                assert exc.value.code == "key.not_valid_at"
                assert exc.value.context["kid"] == key.kid


def test_key_record_refuses_naive_bounds() -> None:
    with pytest.raises(NaiveDatetimeError):
        KeyRecord(ed().verifying_key, not_before=datetime(2026, 1, 1))


def test_key_record_refuses_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ConfigurationError):
        KeyRecord(ed().verifying_key, not_before=T0, not_after=T0)
    with pytest.raises(ConfigurationError):
        KeyRing(clock=FixedClock(T0)).add(ed(), not_before=T0 + DAY, not_after=T0)


def test_retiring_before_not_before_is_refused(clock: FixedClock) -> None:
    active, later = ed(), ed()
    ring = KeyRing(active, clock=clock)
    ring.add(later, not_before=T0 + 2 * DAY)
    with pytest.raises(ConfigurationError):
        ring.retire(later.kid, not_after=T0 + DAY)


# --- JWKS ---------------------------------------------------------------------


def test_jwks_lists_public_jwks_in_insertion_order(clock: FixedClock, rsa_key: SigningKey) -> None:
    first, second = ed(), SigningKey.generate("ES256")
    ring = KeyRing(first, clock=clock)
    ring.add(rsa_key)
    ring.activate(second)
    jwks = ring.to_jwks()
    assert list(jwks) == ["keys"]
    assert jwks["keys"] == [
        first.verifying_key.to_jwk(),
        rsa_key.verifying_key.to_jwk(),
        second.verifying_key.to_jwk(),
    ]
    for jwk in jwks["keys"]:
        assert jwk["use"] == "sig"
        assert "d" not in jwk


def test_jwks_round_trip_builds_a_verify_only_ring(clock: FixedClock, rsa_key: SigningKey) -> None:
    signer = ed()
    ring = KeyRing(signer, clock=clock)
    ring.add(rsa_key)
    copy = KeyRing.from_jwks(ring.to_jwks(), clock=clock)
    assert copy.kids == ring.kids
    assert not copy.has_active
    with pytest.raises(NoActiveKey):
        _ = copy.active
    assert copy.verify(signer.kid, signer.sign(DATA), DATA) == signer.verifying_key
    assert copy.verify(rsa_key.kid, rsa_key.sign(DATA), DATA).alg == "PS256"
    assert copy.to_jwks() == ring.to_jwks()


def test_jwks_foreign_kids_become_aliases(rsa_key: SigningKey) -> None:
    """An identity provider names its keys its own way; both names must find the key."""
    signer = ed()
    published = {
        "keys": [
            {**signer.verifying_key.to_jwk(), "kid": "idp-2026-01"},
            {**rsa_key.verifying_key.to_jwk(), "kid": "idp-rsa"},
        ]
    }
    ring = KeyRing.from_jwks(published)
    assert ring.kids == (signer.kid, rsa_key.kid)
    assert "idp-2026-01" in ring
    assert ring.record("idp-2026-01").aliases == ("idp-2026-01",)
    assert ring.verify("idp-2026-01", signer.sign(DATA), DATA).kid == signer.kid
    assert ring.verify(signer.kid, signer.sign(DATA), DATA).kid == signer.kid
    with pytest.raises(InvalidSignature):
        ring.verify("idp-rsa", signer.sign(DATA), DATA)
    assert [j["kid"] for j in ring.to_jwks()["keys"]] == [signer.kid, rsa_key.kid]


def test_jwks_rsa_key_without_alg_takes_the_given_alg(rsa_key: SigningKey) -> None:
    jwk = {k: v for k, v in rsa_key.verifying_key.to_jwk().items() if k != "alg"}
    with pytest.raises(KeyMismatch):
        KeyRing.from_jwks({"keys": [jwk]})
    ring = KeyRing.from_jwks({"keys": [jwk]}, alg="PS256")
    assert ring.verify(rsa_key.kid, rsa_key.sign(DATA), DATA).alg == "PS256"


def test_jwks_with_two_keys_claiming_one_kid_is_refused() -> None:
    a, b = ed(), ed()
    jwks = {
        "keys": [
            {**a.verifying_key.to_jwk(), "kid": "same"},
            {**b.verifying_key.to_jwk(), "kid": "same"},
        ]
    }
    with pytest.raises(ConfigurationError):
        KeyRing.from_jwks(jwks)


@pytest.mark.parametrize(
    "document",
    [[], {}, {"keys": {}}, {"keys": "x"}, {"keys": ["x"]}, {"keys": [None]}, {"keys": [[]]}],
    ids=[
        "list",
        "no_keys",
        "keys_object",
        "keys_string",
        "entry_string",
        "entry_null",
        "entry_list",
    ],
)
def test_malformed_jwks_document_is_refused_as_invalid_key(document: object) -> None:
    with pytest.raises(InvalidKey):
        KeyRing.from_jwks(document)  # type: ignore[arg-type]


def test_jwks_entry_with_private_material_is_refused() -> None:
    key = ed()
    jwk = {**key.verifying_key.to_jwk(), "d": "AAAA"}
    with pytest.raises(InvalidKey):
        KeyRing.from_jwks({"keys": [jwk]})


# --- the Signer protocol: a key that never leaves its HSM ------------------------


def test_hsm_signer_is_a_signer_but_not_a_signing_key() -> None:
    hsm = FakeHsmSigner()
    assert isinstance(hsm, Signer)
    assert not isinstance(hsm, SigningKey)


def test_ring_activates_an_hsm_signer_with_its_verifying_key(clock: FixedClock) -> None:
    hsm = FakeHsmSigner()
    old = ed()
    ring = KeyRing(old, clock=clock)
    ring.activate(hsm, verifying_key=hsm.public)
    assert ring.active is hsm
    signature = ring.active.sign(DATA)
    assert hsm.calls == 1
    assert len(signature) == 64
    assert ring.verify(hsm.kid, signature, DATA) == hsm.public
    assert hsm.public.to_jwk() in ring.to_jwks()["keys"]
    assert ring.verify(old.kid, old.sign(DATA), DATA).kid == old.kid


def test_ring_built_around_an_hsm_signer(clock: FixedClock) -> None:
    hsm = FakeHsmSigner()
    ring = KeyRing(hsm, verifying_key=hsm.public, clock=clock)
    assert ring.active is hsm
    assert ring.kids == (hsm.kid,)


def test_hsm_signer_without_verifying_key_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        KeyRing().activate(FakeHsmSigner())


def test_hsm_signer_published_with_someone_elses_public_key_is_refused() -> None:
    hsm = FakeHsmSigner()
    impostor = SigningKey.generate("ES256").verifying_key
    ring = KeyRing()
    with pytest.raises(ConfigurationError):
        ring.activate(hsm, verifying_key=impostor)
    assert impostor.kid not in ring
    assert not ring.has_active


def test_hsm_signer_published_as_the_same_key_under_another_algorithm_is_refused(
    rsa_key: SigningKey,
) -> None:
    """Same RSA key, same kid, but the HSM signs RS256 while the ring would publish PS256."""
    private = rsa_key.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    hsm = FakeHsmSigner(private, "RS256")
    as_ps256 = VerifyingKey(private.public_key(), "PS256")
    assert as_ps256.kid == hsm.kid
    with pytest.raises(ConfigurationError):
        KeyRing().activate(hsm, verifying_key=as_ps256)
    ring = KeyRing(hsm, verifying_key=hsm.public)
    assert ring.verify(hsm.kid, ring.active.sign(DATA), DATA).alg == "RS256"
