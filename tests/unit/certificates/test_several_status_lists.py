"""Evidence for a verifier holding the status lists of several issuers.

A verifier checks licences from many issuers (Guangdong has thousands of issuing
departments), each revoking in its own status list. Every licence must be checked
against its own issuer's list, never another's: the two issuers here give their first
licences the same status index 0, so a licence checked against the wrong list would get
the other licence's status. Negative tests are named after the fault they cover and
assert the exact error class, code and ``reason``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.certificates import (
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    HolderDevice,
    IssuedCertificate,
    SelectiveCredential,
    SignedStatusList,
    Status,
    StatusList,
    StatusListSource,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_status_list,
    sign_status_list,
)
from govkit.errors import (
    CertificateRevoked,
    CertificateStatusStale,
    CertificateStatusUnknown,
    CertificateVerificationError,
    ConfigurationError,
    TrustListError,
)
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
GUANGZHOU = Agency("广州市公安局交通警察支队", "11440100MB2C92923F")
SHENZHEN = Agency("深圳市公安局交通警察局", "11440300MB2D111175")
FOSHAN = Agency("佛山市公安局交通警察支队", "11440600MB2C93187M")
PHOTO = base64.urlsafe_b64encode(hashlib.sha256(b"photo").digest()[:16]).decode().rstrip("=")
DRIVING: dict[str, Any] = {
    "name": "张三丰",
    "licence_class": "C1",
    "photo_digest": PHOTO,
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}
TRAFFIC = ["name", "licence_class", "photo_digest"]


@dataclass
class Office:
    """One issuing department: its key, its status list and its issuer."""

    agency: Agency
    key: SigningKey
    statuses: StatusList
    issuer: CertificateIssuer

    def issue(self) -> IssuedCertificate:
        return self.issuer.issue(
            "driving-licence",
            holder=Holder("p-3f9a1c07d2", "pseudonym"),
            fields=DRIVING,
            valid_from=date(2021, 6, 1),
            valid_until=date(2031, 6, 1),
        )

    def signed_list(
        self, clock: FixedClock, *, sequence: int = 1, valid_for: timedelta = timedelta(days=1)
    ) -> bytes:
        now = clock.now()
        return sign_status_list(
            self.statuses, self.key, issued_at=now, expires_at=now + valid_for, sequence=sequence
        )

    def publish(
        self, clock: FixedClock, *, sequence: int = 1, valid_for: timedelta = timedelta(days=1)
    ) -> SignedStatusList:
        """Its status list, signed now and loaded as a verifier would."""
        data = self.signed_list(clock, sequence=sequence, valid_for=valid_for)
        return load_status_list(data, [self.key.verifying_key], at=clock.now())


class World:
    """Three departments on one trust list; Foshan publishes no status list."""

    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.guangzhou = self._office(GUANGZHOU, "gz-traffic-2026")
        self.shenzhen = self._office(SHENZHEN, "sz-traffic-2026")
        self.foshan = self._office(FOSHAN, "fs-traffic-2026")
        self.trust = TrustList(
            tuple(
                TrustedIssuer(
                    o.agency, (TrustedKey.for_key(o.key.verifying_key, {"driving-licence"}),)
                )
                for o in (self.guangzhou, self.shenzhen, self.foshan)
            ),
            1,
            T0 - timedelta(days=1),
            T0 + timedelta(days=30),
        )
        self.device = HolderDevice(SigningKey.generate("EdDSA"), clock=self.clock)

    def _office(self, agency: Agency, list_id: str) -> Office:
        key = SigningKey.generate("ES256")
        statuses = StatusList(64, list_id=list_id)
        issuer = CertificateIssuer(key, agency=agency, clock=self.clock, status=statuses)
        return Office(agency, key, statuses, issuer)

    def verifier(self, status: Any, **options: Any) -> CertificateVerifier:
        return CertificateVerifier(self.trust, status=status, clock=self.clock, **options)

    def both_lists(self) -> list[SignedStatusList]:
        return [self.guangzhou.publish(self.clock), self.shenzhen.publish(self.clock)]

    def credential(self, office: Office) -> SelectiveCredential:
        return office.issuer.issue_selective(
            "driving-licence",
            device_key=self.device.verifying_key,
            holder=Holder("p-3f9a1c07d2", "pseudonym"),
            fields=DRIVING,
            valid_from=date(2026, 1, 1),
            valid_until=date(2032, 1, 1),
        )


@pytest.fixture
def world() -> World:
    return World()


def refused(
    verifier: CertificateVerifier,
    payload: str,
    error: type[CertificateVerificationError],
    reason: str | None = None,
) -> None:
    """verify() raises exactly ``error``; inspect() fails the ``status`` check with its code."""
    with pytest.raises(CertificateVerificationError) as caught:
        verifier.verify(payload)
    assert type(caught.value) is error
    if reason is not None:
        assert caught.value.context["reason"] == reason
    report = verifier.inspect(payload)
    assert (report.ok, report.code, report.certificate) == (False, error.code, None)
    status = next(c for c in report.checks if c.name == "status")
    assert (status.ok, status.code) == (False, error.code)


# --- licences ---------------------------------------------------------------------------


def test_licences_of_two_issuers_are_each_checked_against_their_own_list(world: World) -> None:
    gz, sz = world.guangzhou.issue(), world.shenzhen.issue()
    assert gz.licence.status_index == sz.licence.status_index == 0  # same index, two lists
    world.shenzhen.issuer.revoke(sz)
    verifier = world.verifier(world.both_lists())
    result = verifier.verify(gz.qr_payload)
    assert (result.status, result.issuer.agency) == (Status.VALID, GUANGZHOU)
    assert verifier.inspect(gz.qr_payload).ok is True
    refused(verifier, sz.qr_payload, CertificateRevoked)
    # A valid Shenzhen licence passes too: the list is Shenzhen's, not the first one.
    other = world.shenzhen.issue()
    assert verifier.verify(other.qr_payload).issuer.agency == SHENZHEN


def test_revocation_in_one_issuers_list_does_not_touch_another_issuers_licence(
    world: World,
) -> None:
    gz, sz = world.guangzhou.issue(), world.shenzhen.issue()
    world.guangzhou.issuer.revoke(gz)
    for lists in (world.both_lists(), list(reversed(world.both_lists()))):
        verifier = world.verifier(iter(lists))  # any iterable, in any order
        assert verifier.verify(sz.qr_payload).status is Status.VALID
        refused(verifier, gz.qr_payload, CertificateRevoked)


def test_licence_of_an_issuer_with_no_list_given_is_status_unknown(world: World) -> None:
    fs = world.foshan.issue()  # Foshan is trusted, but the verifier holds no list of it
    refused(
        world.verifier(world.both_lists()),
        fs.qr_payload,
        CertificateStatusUnknown,
        "no_list_for_issuer",
    )


def test_one_list_of_another_issuer_is_still_other_issuer(world: World) -> None:
    # The single-list form is unchanged: its reason names the list that was given.
    fs = world.foshan.issue()
    verifier = world.verifier(world.guangzhou.publish(world.clock))
    refused(verifier, fs.qr_payload, CertificateStatusUnknown, "other_issuer")
    refused(
        world.verifier([world.guangzhou.publish(world.clock)]),
        fs.qr_payload,
        CertificateStatusUnknown,
        "other_issuer",
    )


def test_older_copy_of_an_issuers_list_cannot_hide_a_revocation(world: World) -> None:
    sz = world.shenzhen.issue()
    before = world.shenzhen.publish(world.clock, sequence=1)  # sz not revoked yet
    world.shenzhen.issuer.revoke(sz)
    after = world.shenzhen.publish(world.clock, sequence=2)
    for lists in ([before, after], [after, before]):
        refused(world.verifier(lists), sz.qr_payload, CertificateRevoked)


def test_same_sequence_later_issued_copy_wins(world: World) -> None:
    sz = world.shenzhen.issue()
    first = world.shenzhen.publish(world.clock, sequence=5)
    world.shenzhen.issuer.revoke(sz)
    world.clock.advance(timedelta(minutes=5))
    later = world.shenzhen.publish(world.clock, sequence=5)
    refused(world.verifier([later, first]), sz.qr_payload, CertificateRevoked)


def test_two_different_lists_signed_by_one_issuer_are_ambiguous_not_guessed(
    world: World,
) -> None:
    sz = world.shenzhen.issue()
    world.shenzhen.issuer.revoke(sz)
    now = world.clock.now()
    spare = StatusList(64, list_id="sz-traffic-spare")  # index 0 is VALID in this one
    data = sign_status_list(
        spare, world.shenzhen.key, issued_at=now, expires_at=now + timedelta(days=1), sequence=9
    )
    second = load_status_list(data, [world.shenzhen.key.verifying_key], at=now)
    verifier = world.verifier([world.shenzhen.publish(world.clock), second])
    refused(verifier, sz.qr_payload, CertificateStatusUnknown, "several_lists")


def test_stale_list_of_one_issuer_fails_only_that_issuers_licences(world: World) -> None:
    gz, sz = world.guangzhou.issue(), world.shenzhen.issue()
    short = world.guangzhou.publish(world.clock, valid_for=timedelta(hours=1))
    long = world.shenzhen.publish(world.clock, valid_for=timedelta(days=7))
    verifier = world.verifier([short, long])
    world.clock.advance(timedelta(hours=2))
    with pytest.raises(CertificateStatusStale) as caught:
        verifier.verify(gz.qr_payload)
    assert caught.value.context["list_id"] == "gz-traffic-2026"
    assert verifier.verify(sz.qr_payload).status is Status.VALID
    report = verifier.inspect(gz.qr_payload)
    assert (report.ok, report.code) == (False, "certificate.status_stale")
    freshness = report.checks[-1]
    assert (freshness.name, freshness.ok, freshness.code) == (
        "status_freshness",
        False,
        "certificate.status_stale",
    )
    assert "gz-traffic-2026" in freshness.detail
    fresh = verifier.inspect(sz.qr_payload)
    assert fresh.ok is True
    assert "status_freshness" not in [c.name for c in fresh.checks]


def test_sources_are_loaded_only_for_their_own_issuers_licences(
    world: World, tmp_path: Path
) -> None:
    gz, sz = world.guangzhou.issue(), world.shenzhen.issue()
    world.shenzhen.issuer.revoke(sz)
    gz_file, sz_file = tmp_path / "gz.json", tmp_path / "sz.json"
    gz_file.write_bytes(world.guangzhou.signed_list(world.clock))
    gz_source = StatusListSource(gz_file, [world.guangzhou.key.verifying_key], clock=world.clock)
    sz_source = StatusListSource(sz_file, [world.shenzhen.key.verifying_key], clock=world.clock)
    verifier = world.verifier([gz_source, sz_source])
    # Shenzhen's file is missing: a Guangzhou licence never needs it.
    assert verifier.verify(gz.qr_payload).status is Status.VALID
    with pytest.raises(TrustListError) as caught:  # not a verdict: the list is unavailable
        verifier.verify(sz.qr_payload)
    assert caught.value.context["reason"] == "io"
    sz_file.write_bytes(world.shenzhen.signed_list(world.clock))
    world.clock.advance(timedelta(minutes=1))  # past the source's refetch cooldown
    refused(verifier, sz.qr_payload, CertificateRevoked)
    assert verifier.verify(gz.qr_payload).status is Status.VALID


def test_source_given_several_issuers_keys_serves_only_the_issuer_that_signed_it(
    world: World, tmp_path: Path
) -> None:
    # As the CLI does: each source may be signed by any trusted key; what it loads
    # belongs to the issuer whose key actually signed it.
    gz, sz = world.guangzhou.issue(), world.shenzhen.issue()
    world.shenzhen.issuer.revoke(sz)
    keys = [o.key.verifying_key for o in (world.guangzhou, world.shenzhen, world.foshan)]
    sources = []
    for office in (world.guangzhou, world.shenzhen):
        path = tmp_path / f"{office.statuses.list_id}.json"
        path.write_bytes(office.signed_list(world.clock))
        sources.append(StatusListSource(path, keys, clock=world.clock))
    verifier = world.verifier(sources)
    assert verifier.verify(gz.qr_payload).status is Status.VALID
    refused(verifier, sz.qr_payload, CertificateRevoked)
    fs = world.foshan.issue()
    refused(verifier, fs.qr_payload, CertificateStatusUnknown, "no_list_for_issuer")


@pytest.mark.parametrize(
    ("status", "unsafe"),
    [
        ([], False),  # an empty collection is not "no list": say None
        ({"11440100MB2C92923F": None}, False),  # a mapping's keys are not lists
        (["status.json"], False),
        ("status.json", False),
        (b"{}", False),
        (None, True),
    ],
    ids=["empty", "mapping", "path-in-list", "path", "bytes", "skip-only"],
)
def test_status_argument_that_is_not_status_lists_is_a_configuration_error(
    world: World, status: Any, unsafe: bool
) -> None:
    if unsafe:  # lists and unsafe_skip_status together
        with pytest.raises(ConfigurationError):
            world.verifier(world.both_lists(), unsafe_skip_status=True)
        return
    with pytest.raises(ConfigurationError):
        world.verifier(status)


# --- presentations ----------------------------------------------------------------------


def test_presentations_of_two_issuers_are_each_checked_against_their_own_list(
    world: World,
) -> None:
    gz, sz = world.credential(world.guangzhou), world.credential(world.shenzhen)
    world.shenzhen.issuer.revoke(sz.values()["id"])
    verifier = world.verifier(world.both_lists())
    shown = world.device.present(gz, TRAFFIC).text
    result = verifier.verify_presentation(shown, profile="traffic-police")
    assert (result.status, result.issuer.agency) == (Status.VALID, GUANGZHOU)
    revoked = world.device.present(sz, TRAFFIC).text
    report = verifier.inspect_presentation(revoked, profile="traffic-police")
    assert (report.ok, report.code) == (False, "certificate.revoked")
    assert report.checks[-1].name == "status"
    with pytest.raises(CertificateRevoked):
        verifier.verify_presentation(
            world.device.present(sz, TRAFFIC).text, profile="traffic-police"
        )


def test_presentation_of_an_issuer_with_no_list_given_is_status_unknown(world: World) -> None:
    fs = world.credential(world.foshan)
    verifier = world.verifier(world.both_lists())
    with pytest.raises(CertificateStatusUnknown) as caught:
        verifier.verify_presentation(world.device.present(fs, TRAFFIC).text)
    assert type(caught.value) is CertificateStatusUnknown
    assert caught.value.context["reason"] == "no_list_for_issuer"
    report = verifier.inspect_presentation(world.device.present(fs, TRAFFIC).text)
    assert (report.ok, report.code) == (False, "certificate.status_unknown")


def test_status_list_signers_of_an_issuer_are_its_keys_not_withdrawn_once_per_issuer() -> None:
    """A verifier works the kids out once per trusted issuer object, in a bounded memo."""
    keys = [SigningKey.generate("ES256").verifying_key for _ in range(3)]
    issuer = TrustedIssuer(
        Agency("广东省公安厅交通管理局", "114400000069445123"),
        (
            TrustedKey.for_key(keys[0], {"driving-licence"}),
            dataclasses.replace(TrustedKey.for_key(keys[1], {"driving-licence"}), withdrawn=True),
            TrustedKey.for_key(keys[2], {"driving-licence"}),
        ),
    )
    now = datetime(2026, 11, 28, tzinfo=UTC)
    trust = TrustList((issuer,), 1, now, now + timedelta(days=1))
    verifier = CertificateVerifier(trust)
    kids = verifier._current_kids(issuer)
    assert kids == {keys[0].kid, keys[2].kid}
    assert verifier._current_kids(issuer) is kids
    for _ in range(300):  # equal issuers that are other objects: the memo stays bounded
        other = TrustedIssuer(issuer.agency, issuer.keys)
        assert verifier._current_kids(other) == kids
        assert len(verifier._issuer_kids) <= 256
    assert (
        CertificateVerifier(TrustList((issuer,), 1, now, now + timedelta(days=1)))._issuer_kids
        == {}
    )
