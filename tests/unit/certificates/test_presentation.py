"""Selective disclosure and holder-bound presentations (issue #8).

Every negative test is named after the attack or fault it covers and checks the exact
error code, through ``verify_presentation`` (raises) and ``inspect_presentation``
(reports the failed check by name).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkit._encoding import b45decode, b45encode
from govkit.certificates import (
    PROFILES,
    SELECTIVE_CLAIM,
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    HolderDevice,
    SelectiveCredential,
    SignedStatusList,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    _selective,
    codec,
    disclosable_items,
    load_status_list,
    sign_status_list,
)
from govkit.certificates._holder import _to_sign
from govkit.certificates._identifier import licence_id
from govkit.certificates._model import LicenceRegistry
from govkit.certificates._selective import _levels, _multiproof, _root_from_proof
from govkit.errors import (
    CertificateFormatError,
    CertificateRevoked,
    CertificateSignatureInvalid,
    CertificateStatusStale,
    CertificateStatusUnknown,
    CertificateVerificationError,
    ConfigurationError,
    DisclosureInvalid,
    GovkitError,
    HolderBindingInvalid,
    PresentationIncomplete,
    PresentationOverDisclosed,
    PresentationReplayed,
    PresentationStale,
    StoreError,
    StoreFull,
)
from govkit.keys import SigningKey
from govkit.stores import MemoryReplayStore
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
POLICE = Agency("广东省公安厅交通管理局", "114400000069445123")
PUBLIC_SECURITY = Agency("广东省公安厅", "11440000MB2C92317K")
PHOTO = base64.urlsafe_b64encode(hashlib.sha256(b"photo").digest()[:16]).decode().rstrip("=")
DRIVING: dict[str, Any] = {
    "name": "张三丰",
    "licence_class": "B2",
    "photo_digest": PHOTO,
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}
TRAFFIC = ["name", "licence_class", "photo_digest"]


class World:
    """An agency with a status list, a trust list, a device and a verifier, at T0."""

    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.key = SigningKey.generate("ES256")
        self.statuses = StatusList(64, list_id="gd-2026")
        self.issuer = CertificateIssuer(
            self.key, agency=POLICE, clock=self.clock, status=self.statuses
        )
        self.id_key = SigningKey.generate("ES256")
        self.id_statuses = StatusList(64, list_id="gd-id-2026")
        self.id_issuer = CertificateIssuer(
            self.id_key, agency=PUBLIC_SECURITY, clock=self.clock, status=self.id_statuses
        )
        self.trust = TrustList(
            (
                TrustedIssuer(
                    POLICE, (TrustedKey.for_key(self.key.verifying_key, {"driving-licence"}),)
                ),
                TrustedIssuer(
                    PUBLIC_SECURITY,
                    (TrustedKey.for_key(self.id_key.verifying_key, {"resident-id-card"}),),
                ),
            ),
            1,
            T0 - timedelta(days=1),
            T0 + timedelta(days=30),
        )
        self.device = HolderDevice(SigningKey.generate("EdDSA"), clock=self.clock)

    def licence(self, **changes: Any) -> SelectiveCredential:
        options: dict[str, Any] = {
            "device_key": self.device.verifying_key,
            "holder": Holder("p-3f9a1c07d2", "pseudonym"),
            "fields": DRIVING,
            "valid_from": date(2026, 1, 1),
            "valid_until": date(2032, 1, 1),
        }
        options.update(changes)
        return self.issuer.issue_selective("driving-licence", **options)

    def publish(
        self,
        key: SigningKey | None = None,
        statuses: StatusList | None = None,
        *,
        valid_for: timedelta = timedelta(days=1),
    ) -> SignedStatusList:
        """An issuer's status list (the police's by default), signed now and loaded."""
        now = self.clock.now()
        signed = sign_status_list(
            statuses or self.statuses,
            key or self.key,
            issued_at=now,
            expires_at=now + valid_for,
            sequence=1,
        )
        return load_status_list(signed, [(key or self.key).verifying_key], at=now)

    def verifier(self, **options: Any) -> CertificateVerifier:
        """A verifier with the police's status list (revocation is a required check),
        published now and valid for ten years, unless the test gives or skips one."""
        options.setdefault("clock", self.clock)
        if "status" not in options and not options.get("unsafe_skip_status"):
            options["status"] = self.publish(valid_for=timedelta(days=3650))
        return CertificateVerifier(self.trust, **options)


@pytest.fixture
def world() -> World:
    return World()


def refused(
    make: Callable[[], CertificateVerifier],
    text: str,
    error: type[CertificateVerificationError],
    check: str,
    **options: Any,
) -> CertificateVerificationError:
    # two verifiers: a presentation that got as far as the replay check is remembered
    report = make().inspect_presentation(text, **options)
    assert report.ok is False
    failed = report.checks[-1]
    assert (failed.name, failed.ok, failed.code) == (check, False, error.code)
    assert report.presentation is None
    assert report.to_dict()["valid"] is False
    with pytest.raises(CertificateVerificationError) as caught:
        make().verify_presentation(text, **options)
    assert type(caught.value) is error
    return caught.value


def resign(world: World, parts: list[Any]) -> None:
    """Sign edited parts with the holder's own device key, as a cheating holder could."""
    items = [cbor2.dumps(item, canonical=True) for item in parts[1]]
    parts[4] = world.device._key.sign(_to_sign(parts[0], items, parts[2], parts[3], None))


def reseal(text: str, change: Any) -> str:
    """Decode a presentation, let ``change`` edit its five parts, encode it again."""
    parts = list(cbor2.loads(b45decode(text[5:])))
    change(parts)
    return "GKP1:" + b45encode(cbor2.dumps(parts, canonical=True))


# --- round trips ------------------------------------------------------------------------


def test_traffic_police_presentation_reveals_only_its_three_items(world: World) -> None:
    presentation = world.device.present(world.licence(), TRAFFIC)
    result = world.verifier().verify_presentation(presentation.text, profile="traffic-police")
    assert dict(result.disclosed) == {k: DRIVING[k] for k in TRAFFIC}
    assert dict(result.predicates) == {}
    assert result.licence_type == "driving-licence"
    assert result.issuer.agency == POLICE
    assert result.profile == "traffic-police"
    assert result.nonce_bound is False
    assert result.valid_until == datetime(2032, 1, 1, 16, tzinfo=UTC)  # 00:00 CST, 2 Jan
    assert result.device_kid == world.device.verifying_key.kid
    report = world.verifier().inspect_presentation(presentation.text, profile="traffic-police")
    assert [c.name for c in report.checks][-3:] == ["freshness", "disclosures", "profile"]


def test_driving_licence_presentation_fits_qr_version_15_at_level_m(world: World) -> None:
    presentation = world.device.present(world.licence(), TRAFFIC)
    assert presentation.qr_version() <= 15
    assert len(presentation.text) <= 600


def test_presentation_read_back_from_its_qr_picture(world: World) -> None:
    presentation = world.device.present(world.licence(), TRAFFIC)
    result = world.verifier().verify_presentation(presentation.qr_png(scale=4))
    assert result.disclosed["name"] == "张三丰"


def test_issuer_signed_predicate_instead_of_the_value(world: World) -> None:
    presentation = world.device.present(world.licence(), ["licence_class_includes_C1"])
    result = world.verifier().verify_presentation(presentation.text)
    assert dict(result.predicates) == {"licence_class_includes_C1": True}  # B2 includes C1
    assert dict(result.disclosed) == {}


def test_age_predicate_for_a_resident_id_card(world: World) -> None:
    credential = world.id_issuer.issue_selective(
        "resident-id-card",
        device_key=world.device.verifying_key,
        holder=Holder("11010519491231002X", "raw-id"),
        allow_raw_id=True,
        fields={
            "name": "李四",
            "sex": "女",
            "ethnicity": "汉",
            "birth_date": "1949-12-31",
            "issuing_authority": "广州市公安局越秀分局",
        },
        valid_from=date(2020, 1, 1),
        valid_until=date(2040, 1, 1),
    )
    shown = world.device.present(credential, ["age_over_18"])
    id_status = world.publish(world.id_key, world.id_statuses)
    result = world.verifier(status=id_status).verify_presentation(shown.text, profile="age-check")
    assert dict(result.predicates) == {"age_over_18": True}
    assert dict(result.disclosed) == {}
    assert credential.values()["age_over_60"] is True  # born 1949, valid from 2020
    hotel = world.device.present(credential, ["name", "holder"])
    checked = world.verifier(status=id_status).verify_presentation(
        hotel.text, profile="hotel-check-in"
    )
    assert checked.disclosed["holder"] == ["r", "11010519491231002X"]


def test_nothing_disclosed_still_proves_a_valid_bound_licence(world: World) -> None:
    result = world.verifier().verify_presentation(world.device.present(world.licence(), []).text)
    assert dict(result.disclosed) == {}
    assert dict(result.predicates) == {}


def test_nonce_bound_presentation_needs_no_time_window(world: World) -> None:
    nonce = b"\x07" * 16
    shown = world.device.present(world.licence(), TRAFFIC, nonce=nonce, at=T0 - timedelta(hours=1))
    result = world.verifier().verify_presentation(shown.text, nonce=nonce)
    assert result.nonce_bound is True


def test_credential_text_round_trip_checks_every_disclosure(world: World) -> None:
    credential = world.licence()
    again = SelectiveCredential.from_text(credential.to_text())
    assert again == credential
    assert again.values()["name"] == "张三丰"
    assert again.items == disclosable_items(world.issuer._registry.get("driving-licence"))


@given(
    st.sets(
        st.sampled_from(
            [
                "name",
                "licence_class",
                "photo_digest",
                "first_issue_date",
                "file_number",
                "licence_class_includes_C1",
                "id",
                "holder",
            ]
        )
    )
)
def test_any_subset_of_items_round_trips(items: set[str]) -> None:
    world = _WORLD
    credential = _CREDENTIAL
    shown = world.device.present(credential, items)
    result = world.verifier(replay_store=MemoryReplayStore()).verify_presentation(shown.text)
    assert set(result.disclosed) | set(result.predicates) == items
    values = credential.values()
    for name in result.disclosed:
        assert result.disclosed[name] == values[name]


_WORLD = World()
_CREDENTIAL = _WORLD.licence()


@given(st.lists(st.integers(0, 6), unique=True), st.integers(1, 7))
def test_multiproof_rebuilds_the_root_for_any_leaf_set(indices: list[int], extra: int) -> None:
    count = max([*indices, 0]) + extra
    leaves = [hashlib.sha256(bytes([i])).digest()[:16] for i in range(count)]
    root = _levels(leaves)[-1][0]
    if not indices:
        return
    proof = _multiproof(leaves, indices)
    assert _root_from_proof(count, {i: leaves[i] for i in indices}, proof) == root
    with pytest.raises(DisclosureInvalid):
        _root_from_proof(count, {i: leaves[i] for i in indices}, proof + leaves[0])


# --- attacks and faults -------------------------------------------------------------------


def test_changed_disclosure_value_breaks_the_device_signature(world: World) -> None:
    shown = world.device.present(world.licence(), TRAFFIC).text

    def forge(parts: list[Any]) -> None:
        salt, index, _ = parts[1][1]
        parts[1][1] = [salt, index, "A1"]  # claim a bigger class, same salt

    refused(world.verifier, reseal(shown, forge), HolderBindingInvalid, "holder_binding")


def test_changed_disclosure_re_signed_by_the_device_fails_the_root(world: World) -> None:
    # The holder controls the device: it can sign anything, but not change the issuer's root.
    credential = world.licence()
    forged_item = cbor2.loads(credential.disclosures["licence_class"])
    forged_item[2] = "A1"
    forged = SelectiveCredential(
        credential.licence_type,
        credential.signed,
        {**credential.disclosures, "licence_class": cbor2.dumps(forged_item, canonical=True)},
    )
    shown = world.device.present(forged, TRAFFIC).text
    refused(world.verifier, shown, DisclosureInvalid, "disclosures")


def test_disclosure_from_another_licence_is_refused(world: World) -> None:
    mine, other = world.licence(), world.licence(fields={**DRIVING, "name": "王五"})
    spliced = SelectiveCredential(
        mine.licence_type, mine.signed, {**mine.disclosures, "name": other.disclosures["name"]}
    )
    shown = world.device.present(spliced, TRAFFIC).text
    error = refused(world.verifier, shown, DisclosureInvalid, "disclosures")
    assert error.context["reason"] == "root"


def test_replayed_presentation_is_refused_within_the_window(world: World) -> None:
    verifier = world.verifier()
    shown = world.device.present(world.licence(), TRAFFIC).text
    verifier.verify_presentation(shown)
    report = verifier.inspect_presentation(shown)
    assert (report.checks[-1].name, report.code) == ("freshness", "presentation.replayed")
    with pytest.raises(PresentationReplayed):
        verifier.verify_presentation(shown)
    world.clock.advance(timedelta(seconds=61))  # the window closed: now it is stale instead
    with pytest.raises(PresentationStale):
        verifier.verify_presentation(shown)


class RecordingStore:
    """A replay store that remembers what it was asked (and may fail)."""

    def __init__(self, fail: bool = False) -> None:
        self.inner = MemoryReplayStore()
        self.calls: list[tuple[str, datetime, datetime]] = []
        self.fail = fail

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        self.calls.append((key, now, expires_at))
        if self.fail:
            raise StoreError("the replay store is down")
        return self.inner.check_and_remember(key, now=now, expires_at=expires_at)


def test_a_replay_at_the_last_instant_of_the_window_is_refused(world: World) -> None:
    """At presented_at + window the presentation is still fresh: its entry must still be
    there (an entry whose expiry equals ``now`` counts as absent)."""
    store = RecordingStore()
    verifier = world.verifier(replay_store=store)
    shown = world.device.present(world.licence(), TRAFFIC).text  # presented at T0
    verifier.verify_presentation(shown)
    world.clock.advance(timedelta(seconds=60))
    with pytest.raises(PresentationReplayed):
        verifier.verify_presentation(shown)
    key, now, expires_at = store.calls[0]
    assert key.startswith("presentation:")  # one store can also hold DPoP proofs
    assert (now, expires_at) == (T0, T0 + timedelta(seconds=60, microseconds=1))


def test_a_full_memory_replay_store_refuses_instead_of_forgetting(world: World) -> None:
    """Fail closed: a store that cannot remember a new presentation raises store.full from
    verify and inspect alike (no verdict), and what it remembers stays refused."""
    verifier = world.verifier(replay_store=MemoryReplayStore(max_entries=1))
    first = world.device.present(world.licence(), TRAFFIC).text
    second = world.device.present(world.licence(), ["name", "licence_class"]).text
    verifier.verify_presentation(first)
    with pytest.raises(StoreFull) as caught:
        verifier.verify_presentation(second)
    assert caught.value.code == "store.full"
    with pytest.raises(StoreFull):
        verifier.inspect_presentation(second)
    with pytest.raises(PresentationReplayed):
        verifier.verify_presentation(first)


def test_a_failing_replay_store_is_never_taken_for_not_a_replay(world: World) -> None:
    verifier = world.verifier(replay_store=RecordingStore(fail=True))
    shown = world.device.present(world.licence(), TRAFFIC).text
    with pytest.raises(StoreError) as caught:
        verifier.verify_presentation(shown)
    assert caught.value.code == "store.error"
    with pytest.raises(StoreError):
        verifier.inspect_presentation(shown)  # a store failure is not a verdict


def test_a_replay_store_must_implement_the_protocol(world: World) -> None:
    class Seen:  # the old cache protocol: seen() returned True on a replay
        def seen(self, key: bytes, *, until: datetime, now: datetime) -> bool:
            return False

    with pytest.raises(ConfigurationError):
        world.verifier(replay_store=Seen())


def test_stale_presentation_is_refused(world: World) -> None:
    shown = world.device.present(world.licence(), TRAFFIC, at=T0 - timedelta(seconds=61)).text
    refused(world.verifier, shown, PresentationStale, "freshness")
    fresh = world.device.present(world.licence(), TRAFFIC, at=T0 - timedelta(seconds=59)).text
    assert world.verifier().verify_presentation(fresh).presented_at == T0 - timedelta(seconds=59)


def test_presentation_from_the_future_is_refused(world: World) -> None:
    shown = world.device.present(world.licence(), TRAFFIC, at=T0 + timedelta(minutes=5)).text
    refused(world.verifier, shown, PresentationStale, "freshness")


def test_presentation_signed_by_another_device_is_refused(world: World) -> None:
    credential = world.licence()
    thief = HolderDevice(SigningKey.generate("EdDSA"), clock=world.clock)
    with pytest.raises(ConfigurationError):
        thief.present(credential, TRAFFIC)  # the app refuses; an attacker signs by hand:
    genuine = world.device.present(credential, TRAFFIC).text

    def resign(parts: list[Any]) -> None:
        parts[4] = SigningKey.generate("EdDSA").sign(b"anything")

    refused(world.verifier, reseal(genuine, resign), HolderBindingInvalid, "holder_binding")


def test_presentation_for_another_nonce_is_refused(world: World) -> None:
    shown = world.device.present(world.licence(), TRAFFIC, nonce=b"a" * 16).text
    refused(world.verifier, shown, HolderBindingInvalid, "holder_binding", nonce=b"b" * 16)


def test_time_bound_presentation_is_not_accepted_as_nonce_bound(world: World) -> None:
    shown = world.device.present(world.licence(), TRAFFIC).text
    refused(world.verifier, shown, HolderBindingInvalid, "holder_binding", nonce=b"n" * 16)


def test_unbound_presentation_of_a_plain_licence_is_refused(world: World) -> None:
    plain_issuer = CertificateIssuer(
        world.key, agency=POLICE, clock=world.clock, status=world.statuses, compress=False
    )
    plain = plain_issuer.issue(
        "driving-licence",
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields=DRIVING,
        valid_from=date(2026, 1, 1),
        valid_until=date(2032, 1, 1),
    )
    licence = b45decode(plain.qr_payload[4:])  # an uncompressed plain licence's COSE
    genuine = world.device.present(world.licence(), TRAFFIC).text

    def swap(parts: list[Any]) -> None:
        parts[0] = licence

    with pytest.raises(CertificateFormatError) as caught:
        world.verifier().verify_presentation(reseal(genuine, swap))
    assert caught.value.context["reason"] == "claims"


def test_over_disclosure_for_the_profile_is_reported(world: World) -> None:
    shown = world.device.present(world.licence(), [*TRAFFIC, "file_number"]).text
    error = refused(
        world.verifier, shown, PresentationOverDisclosed, "profile", profile="traffic-police"
    )
    assert error.context["items"] == "file_number"


def test_missing_required_item_for_the_profile_is_refused(world: World) -> None:
    shown = world.device.present(world.licence(), ["name", "licence_class"]).text
    error = refused(
        world.verifier, shown, PresentationIncomplete, "profile", profile="traffic-police"
    )
    assert error.context["items"] == "photo_digest"


def test_licence_type_outside_the_profile_is_refused(world: World) -> None:
    shown = world.device.present(world.licence(), ["licence_class_includes_C1"]).text
    refused(world.verifier, shown, PresentationIncomplete, "profile", profile="age-check")


def test_forged_issuer_signature_is_refused(world: World) -> None:
    genuine = world.device.present(world.licence(), TRAFFIC).text
    other = CertificateIssuer(
        SigningKey.generate("ES256"),
        agency=POLICE,
        kid=world.issuer.kid,
        status=StatusList(8, list_id="forger"),
    )
    forged = other.issue_selective(
        "driving-licence",
        device_key=world.device.verifying_key,
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields={**DRIVING, "licence_class": "A1"},
        valid_from=date(2026, 1, 1),
        valid_until=date(2032, 1, 1),
    )
    shown = world.device.present(forged, TRAFFIC).text
    assert shown != genuine
    refused(world.verifier, shown, CertificateSignatureInvalid, "signature")


def test_revoked_selective_licence_is_refused(world: World) -> None:
    credential = world.licence()
    world.issuer.revoke(credential.values()["id"])
    signed = sign_status_list(
        world.statuses, world.key, issued_at=T0, expires_at=T0 + timedelta(days=1), sequence=1
    )
    status = load_status_list(signed, [world.key.verifying_key], at=T0)
    shown = world.device.present(credential, TRAFFIC).text
    refused(lambda: world.verifier(status=status), shown, CertificateRevoked, "status")


# --- revocation is a required check for presentations too -------------------------------


def test_selective_licence_carries_a_status_index_and_its_presentation_checks_it(
    world: World,
) -> None:
    first, second = world.licence(), world.licence()
    indexes = [world.issuer.status_index(c.values()["id"]) for c in (first, second)]
    assert indexes == [0, 1]
    signed = codec.decode_cose(first.signed, canonical=True).claims[SELECTIVE_CLAIM]
    assert signed["s"] == 0  # the status index is inside the issuer's signature
    shown = world.device.present(first, TRAFFIC).text
    result = world.verifier().verify_presentation(shown)
    assert result.status is not None
    assert result.status.name == "VALID"
    report = world.verifier().inspect_presentation(shown)
    status = next(c for c in report.checks if c.name == "status")
    assert (status.ok, status.code) == (True, None)
    assert report.to_dict()["presentation"]["status"] == "valid"


def test_presentation_without_a_status_list_is_status_unknown(world: World) -> None:
    credential = world.licence()
    world.issuer.revoke(credential.values()["id"])
    shown = world.device.present(credential, TRAFFIC).text
    make = lambda: CertificateVerifier(world.trust, clock=world.clock)  # noqa: E731
    error = refused(make, shown, CertificateStatusUnknown, "status")
    assert error.context["reason"] == "no_list"


def test_presentation_with_another_issuers_status_list_is_status_unknown(world: World) -> None:
    shown = world.device.present(world.licence(), TRAFFIC).text
    id_status = world.publish(world.id_key, world.id_statuses)
    error = refused(
        lambda: world.verifier(status=id_status), shown, CertificateStatusUnknown, "status"
    )
    assert error.context["reason"] == "other_issuer"


def test_presentation_with_an_expired_status_list_is_status_stale(world: World) -> None:
    status = world.publish()  # valid for one day
    world.clock.advance(timedelta(days=2))
    shown = world.device.present(world.licence(), TRAFFIC).text
    error = refused(lambda: world.verifier(status=status), shown, CertificateStatusStale, "status")
    assert error.code == "certificate.status_stale"


def test_selective_licence_without_a_status_index_is_status_unknown(world: World) -> None:
    # Re-signed by the issuer's own key without "s": a selective licence made before
    # status references were required (the issuer no longer makes one).
    credential = world.licence()
    cose = cbor2.loads(credential.signed)
    assert cose.tag == 18  # COSE_Sign1: [protected, unprotected, payload, signature]
    parts = list(cose.value)
    claims = cbor2.loads(parts[2])
    assert claims[SELECTIVE_CLAIM].pop("s") == 0
    parts[2] = cbor2.dumps(claims, canonical=True)
    parts[3] = world.key.sign(cbor2.dumps(["Signature1", parts[0], b"", parts[2]]))
    signed = cbor2.dumps(cbor2.CBORTag(18, parts), canonical=True)
    old = SelectiveCredential(credential.licence_type, signed, credential.disclosures)
    shown = world.device.present(old, TRAFFIC).text
    error = refused(world.verifier, shown, CertificateStatusUnknown, "status")
    assert error.context["reason"] == "no_index"


def test_unsafe_skip_status_presentation_is_valid_but_status_not_performed(
    world: World,
) -> None:
    credential = world.licence()
    world.issuer.revoke(credential.values()["id"])
    shown = world.device.present(credential, TRAFFIC).text
    verifier = world.verifier(unsafe_skip_status=True)
    report = verifier.inspect_presentation(shown, profile="traffic-police")
    assert (report.ok, report.code, report.skipped) == (True, None, ("status",))
    status = next(c for c in report.checks if c.name == "status")
    assert (status.ok, status.performed) == (None, False)
    assert "NOT checked" in status.detail
    document = report.to_dict()
    assert next(c for c in document["checks"] if c["name"] == "status")["ok"] is None
    assert document["presentation"]["status"] is None
    fresh = world.verifier(unsafe_skip_status=True)
    assert fresh.verify_presentation(shown).status is None


def test_repeated_disclosure_signed_by_the_device_is_refused(world: World) -> None:
    genuine = world.device.present(world.licence(), TRAFFIC).text

    def repeat(parts: list[Any]) -> None:
        parts[1] = [parts[1][0], parts[1][0], parts[1][2]]
        resign(world, parts)

    error = refused(world.verifier, reseal(genuine, repeat), DisclosureInvalid, "disclosures")
    assert error.context["reason"] == "order"


def test_extra_proof_node_signed_by_the_device_is_refused(world: World) -> None:
    genuine = world.device.present(world.licence(), TRAFFIC).text

    def pad(parts: list[Any]) -> None:
        parts[2] = parts[2] + bytes(16)
        resign(world, parts)

    error = refused(world.verifier, reseal(genuine, pad), DisclosureInvalid, "disclosures")
    assert error.context["reason"] == "proof"


def test_unknown_profile_name_is_a_configuration_error(world: World) -> None:
    shown = world.device.present(world.licence(), TRAFFIC).text
    with pytest.raises(ConfigurationError):
        world.verifier().verify_presentation(shown, profile="nightclub")


def test_profiles_require_only_what_they_allow() -> None:
    for profile in PROFILES.values():
        assert profile.required <= profile.allowed


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_fuzzed_presentation_gives_a_result_or_a_govkit_error(data: str | bytes) -> None:
    verifier = _WORLD.verifier()
    for candidate in (data, "GKP1:" + (data if isinstance(data, str) else b45encode(data))):
        with contextlib.suppress(GovkitError):
            verifier.verify_presentation(candidate)


@given(st.binary(max_size=600))
def test_fuzzed_well_framed_presentation_gives_a_govkit_error(body: bytes) -> None:
    genuine = _WORLD.device.present(_CREDENTIAL, TRAFFIC).text
    raw = b45decode(genuine[5:])
    mutated = raw[: len(body) % max(len(raw), 1)] + body
    with pytest.raises(GovkitError):
        _WORLD.verifier().verify_presentation("GKP1:" + b45encode(mutated))


def test_replay_with_the_other_ecdsa_encoding_of_the_signature_is_refused() -> None:
    # An ES256 device signature (r, s) has a twin (r, n - s) that verifies too: the
    # replay cache must see the same presentation, not a new one.
    world = World()
    world.device = HolderDevice(SigningKey.generate("ES256"), clock=world.clock)
    verifier = world.verifier()
    shown = world.device.present(world.licence(), TRAFFIC).text
    verifier.verify_presentation(shown)
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

    def twin(parts: list[Any]) -> None:
        r, s = parts[4][:32], int.from_bytes(parts[4][32:], "big")
        parts[4] = r + (order - s).to_bytes(32, "big")

    replayed = reseal(shown, twin)
    assert replayed != shown
    with pytest.raises(PresentationReplayed):
        verifier.verify_presentation(replayed)
    # and the twin is genuinely valid on its own: a fresh verifier accepts it
    assert world.verifier().verify_presentation(replayed).disclosed["name"] == "张三丰"


@given(st.text(max_size=400) | st.binary(max_size=400).map(lambda b: "GKS1:" + b45encode(b)))
def test_fuzzed_credential_text_gives_a_credential_or_a_govkit_error(text: str) -> None:
    try:
        credential = SelectiveCredential.from_text(text)
    except GovkitError:
        return
    assert credential.licence_type in {"driving-licence", "resident-id-card"}


@given(st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_any_changed_byte_of_a_credential_makes_it_unusable(position: int, flip: int) -> None:
    # from_text checks the disclosures against the signed root; the issuer's signature
    # is the verifier's check. Either way, a changed byte never yields a valid
    # presentation.
    raw = bytearray(b45decode(_CREDENTIAL.to_text()[5:]))
    raw[position % len(raw)] ^= flip

    def present_and_verify() -> None:
        changed = SelectiveCredential.from_text("GKS1:" + b45encode(bytes(raw)))
        shown = _WORLD.device.present(changed, TRAFFIC)
        _WORLD.verifier(replay_store=MemoryReplayStore()).verify_presentation(shown.text)

    with pytest.raises(GovkitError):
        present_and_verify()


def test_issuer_signed_identifier_of_another_licence_type_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A faulty issuer signs a driving licence whose identifier carries the resident ID
    # card's type code: the root matches, so only the value check can catch the mix-up.
    other_code = LicenceRegistry.default().get("resident-id-card").type_code
    other_id = licence_id(other_code, POLICE.uscc, "000000000001")
    real = _selective._item_value

    def other_type_id(name: str, *args: Any) -> Any:
        return other_id if name == "id" else real(name, *args)

    monkeypatch.setattr(_selective, "_item_value", other_type_id)
    credential = world.licence()
    monkeypatch.undo()
    assert cbor2.loads(credential.disclosures["id"])[2] == other_id
    shown = world.device.present(credential, ["id", *TRAFFIC]).text
    error = refused(world.verifier, shown, DisclosureInvalid, "disclosures")
    assert error.code == "presentation.disclosure"
    assert error.context["reason"] == "value"
    assert error.message == "the identifier is of another type"
