"""The licence verifier's and the list sources' async forms answer and fail as the blocking ones.

``CertificateVerifier.averify``/``ainspect``/``averify_presentation``/
``ainspect_presentation`` and ``TrustListSource``/``StatusListSource`` ``aget``/
``arefresh`` run the blocking method on govkit's thread pool (a source may read or
download its list; a presentation check asks the replay store). Same result, same typed
error and code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
    StatusList,
    StatusListSource,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    TrustListSource,
    sign_status_list,
    sign_trust_list,
)
from govkit.errors import (
    CertificateRevoked,
    GovkitError,
    PresentationReplayed,
    TrustListError,
)
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
POLICE = Agency("广东省公安厅交通管理局", "114400000069445123")
ANCHOR = SigningKey.generate("ES256")
DRIVING: dict[str, Any] = {
    "name": "张三丰",
    "licence_class": "B2",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}
SHOWN = ["name", "licence_class"]


def same_failure(blocking: Callable[[], Any], awaited: Callable[[], Awaitable[Any]]) -> GovkitError:
    with pytest.raises(GovkitError) as sync_caught:
        blocking()
    with pytest.raises(GovkitError) as async_caught:
        asyncio.run(awaited())  # type: ignore[arg-type]
    assert type(async_caught.value) is type(sync_caught.value)
    assert async_caught.value.code == sync_caught.value.code
    return async_caught.value


class World:
    """An agency whose trust and status lists are files, read through sources."""

    def __init__(self, directory: Path) -> None:
        self.clock = FixedClock(T0)
        self.key = SigningKey.generate("ES256")
        self.statuses = StatusList(64, list_id="gd-2026")
        self.issuer = CertificateIssuer(
            self.key, agency=POLICE, clock=self.clock, status=self.statuses
        )
        trusted = TrustedIssuer(
            POLICE, (TrustedKey.for_key(self.key.verifying_key, {"driving-licence"}),)
        )
        self.trust_path = directory / "trust.json"
        self.trust_path.write_bytes(
            sign_trust_list(
                TrustList((trusted,), 1, T0 - timedelta(days=1), T0 + timedelta(days=30)), ANCHOR
            )
        )
        self.status_path = directory / "status.json"
        self.publish()
        self.trust = TrustListSource(self.trust_path, [ANCHOR.verifying_key], clock=self.clock)
        self.status = StatusListSource(
            self.status_path,
            [self.key.verifying_key],
            clock=self.clock,
            ttl=timedelta(seconds=1),
            refetch_cooldown=timedelta(seconds=1),
        )
        self.device = HolderDevice(SigningKey.generate("EdDSA"), clock=self.clock)

    def publish(self, sequence: int = 1) -> None:
        self.status_path.write_bytes(
            sign_status_list(
                self.statuses,
                self.key,
                issued_at=self.clock.now(),
                expires_at=self.clock.now() + timedelta(days=1),
                sequence=sequence,
            )
        )

    def verifier(self) -> CertificateVerifier:
        return CertificateVerifier(self.trust, status=self.status, clock=self.clock)

    def licence(self) -> Any:
        return self.issuer.issue(
            "driving-licence",
            holder=Holder("p-3f9a1c07d2", "pseudonym"),
            fields=DRIVING,
            valid_from=date(2026, 1, 1),
            valid_until=date(2032, 1, 1),
        )


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_averify_and_ainspect_give_what_verify_and_inspect_give(world: World) -> None:
    payload = world.licence().qr_payload
    verifier = world.verifier()
    blocking = verifier.verify(payload)
    awaited = asyncio.run(verifier.averify(payload))
    assert awaited == blocking
    report = asyncio.run(verifier.ainspect(payload))
    assert report.ok is True
    assert report.checks == verifier.inspect(payload).checks


def test_a_licence_revoked_in_a_newly_published_list_fails_alike(world: World) -> None:
    """The status source re-reads its file (the I/O averify keeps off the loop)."""
    issued = world.licence()
    verifier = world.verifier()
    asyncio.run(verifier.averify(issued.qr_payload))
    world.issuer.revoke(issued)
    world.clock.advance(timedelta(seconds=2))
    world.publish(sequence=2)
    error = same_failure(
        lambda: verifier.verify(issued.qr_payload),
        lambda: verifier.averify(issued.qr_payload),
    )
    assert isinstance(error, CertificateRevoked)
    report = asyncio.run(verifier.ainspect(issued.qr_payload))
    assert (report.ok, report.code) == (False, "certificate.revoked")


def test_a_replayed_presentation_fails_alike_through_averify_presentation(world: World) -> None:
    credential = world.issuer.issue_selective(
        "driving-licence",
        device_key=world.device.verifying_key,
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields=DRIVING,
        valid_from=date(2026, 1, 1),
        valid_until=date(2032, 1, 1),
    )
    verifier = world.verifier()
    shown = world.device.present(credential, SHOWN).text
    verified = asyncio.run(verifier.averify_presentation(shown))
    assert dict(verified.disclosed) == {k: DRIVING[k] for k in SHOWN}
    error = same_failure(
        lambda: verifier.verify_presentation(shown),
        lambda: verifier.averify_presentation(shown),
    )
    assert isinstance(error, PresentationReplayed)
    report = asyncio.run(verifier.ainspect_presentation(shown))
    assert (report.ok, report.code) == (False, "presentation.replayed")
    assert report.checks == verifier.inspect_presentation(shown).checks


def test_sources_aget_and_arefresh_return_the_lists_get_and_refresh_return(
    world: World,
) -> None:
    trust = asyncio.run(world.trust.aget())
    assert trust == world.trust.get()
    assert asyncio.run(world.trust.arefresh()).sequence == 1
    status = asyncio.run(world.status.aget(T0))
    assert status == world.status.get(T0)
    world.clock.advance(timedelta(seconds=2))
    world.publish(sequence=2)
    assert asyncio.run(world.status.arefresh()).sequence == 2


def test_a_missing_list_file_fails_alike(world: World, tmp_path: Path) -> None:
    source = TrustListSource(tmp_path / "absent.json", [ANCHOR.verifying_key], clock=world.clock)
    error = same_failure(source.refresh, source.arefresh)
    assert isinstance(error, TrustListError)
    again = same_failure(source.get, source.aget)
    assert again.code == error.code


def test_the_verification_time_is_passed_through(world: World) -> None:
    payload = world.licence().qr_payload
    verifier = world.verifier()
    at = T0 + timedelta(hours=1)
    assert asyncio.run(verifier.averify(payload, at=at)) == verifier.verify(payload, at=at)
    assert asyncio.run(world.status.aget(at, allow_stale=True)).sequence == 1
