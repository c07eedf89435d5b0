"""Presentations: every refusal of the verifier, exactly (issue #18, "Tests that can fail").

``test_presentation.py`` covers the attacks end to end; this file pins what each refusal
says, so that a verifier that refuses for the wrong reason, says the wrong thing or
stops checking fails a test. Each negative test is named after the attack or fault it
covers and checks the error's type, stable code, English message, context (``reason``
and the other identifiers) and, where the catalogue words it, the Chinese message, both
through ``verify_presentation`` (raises) and ``inspect_presentation`` (the failed check).
Boundaries are tested on both sides: the last accepted second and the first refused one.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
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
    codec,
    disclosable_items,
    load_status_list,
    sign_status_list,
)
from govkit.certificates._holder import _to_sign
from govkit.certificates._identifier import licence_id
from govkit.certificates._model import FieldSpec, LicenceRegistry
from govkit.certificates._presentation import (
    PresentationReport,
    VerifiedPresentation,
    VerifierProfile,
    _decoded_presentation,
    _fixed_presentation,
    _parse_presentation,
    resolve_profile,
)
from govkit.certificates._report import STATUS_NOT_CHECKED
from govkit.certificates._selective import (
    _LAST_SECOND,
    _fixed_claims,
    _leaf,
    _levels,
    _multiproof,
    _root_from_proof,
    _width,
)
from govkit.errors import (
    CertificateFormatError,
    CertificateKeyUnknown,
    CertificateVerificationError,
    ConfigurationError,
    DisclosureInvalid,
    GovkitError,
    HolderBindingInvalid,
    PresentationIncomplete,
    PresentationOverDisclosed,
    PresentationReplayed,
    PresentationStale,
    render_message,
)
from govkit.keys import SigningKey
from govkit.report import Check
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
ITEMS = disclosable_items(LicenceRegistry.default().get("driving-licence"))
ID_CARD_CODE = LicenceRegistry.default().get("resident-id-card").type_code
#: The Chinese message of each presentation error code (govkit's catalogue).
ZH_FORMAT = "数据不是格式正确的电子证照"
ZH_DISCLOSURE = "出示的字段与证照签名的摘要不符"
ZH_BINDING = "出示内容不是由持证人绑定的设备签名的"
ZH_STALE = "出示时间不在可接受的时间范围内"
ZH_REPLAYED = "该出示内容已向本验证方出示过（重放）"


class World:
    """The police (with a status list), a trust list, one holder's device, at T0."""

    def __init__(self, device_alg: str = "EdDSA") -> None:
        self.clock = FixedClock(T0)
        self.key = SigningKey.generate("ES256")
        self.statuses = StatusList(64, list_id="gd-2026")
        self.issuer = CertificateIssuer(
            self.key, agency=POLICE, clock=self.clock, status=self.statuses
        )
        self.trusted_key = TrustedKey.for_key(self.key.verifying_key, {"driving-licence"})
        self.trust = TrustList(
            (TrustedIssuer(POLICE, (self.trusted_key,)),),
            1,
            T0 - timedelta(days=1),
            T0 + timedelta(days=30),
        )
        self.device = HolderDevice(SigningKey.generate(device_alg), clock=self.clock)
        self.status = self.publish()

    def publish(self) -> SignedStatusList:
        signed = sign_status_list(
            self.statuses,
            self.key,
            issued_at=T0,
            expires_at=T0 + timedelta(days=3650),
            sequence=1,
        )
        return load_status_list(signed, [self.key.verifying_key], at=T0)

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

    def verifier(self, **options: Any) -> CertificateVerifier:
        options.setdefault("clock", self.clock)
        if not options.get("unsafe_skip_status"):
            options.setdefault("status", self.status)
        return CertificateVerifier(self.trust, **options)

    def forge(
        self,
        credential: SelectiveCredential,
        *,
        values: dict[str, Any] | None = None,
        edit: Callable[[dict[Any, Any]], None] | None = None,
        protected: bytes | None = None,
    ) -> SelectiveCredential:
        """What a faulty issuer signs (with the police's own key): disclosure ``values``
        replaced under their old salts and the root recomputed, then ``edit`` applied
        to the CWT claims, and the protected header replaced."""
        disclosures = dict(credential.disclosures)
        for name, value in (values or {}).items():
            salt, index, _ = cbor2.loads(disclosures[name])
            disclosures[name] = cbor2.dumps([salt, index, value], canonical=True)
        parts = list(cbor2.loads(credential.signed).value)
        claims = cbor2.loads(parts[2])
        claims[SELECTIVE_CLAIM]["r"] = _levels([_leaf(d) for d in disclosures.values()])[-1][0]
        if edit is not None:
            edit(claims)
        if protected is not None:
            parts[0] = protected
        parts[2] = cbor2.dumps(claims, canonical=True)
        parts[3] = self.key.sign(cbor2.dumps(["Signature1", parts[0], b"", parts[2]]))
        signed = cbor2.dumps(cbor2.CBORTag(18, parts), canonical=True)
        return SelectiveCredential(credential.licence_type, signed, MappingProxyType(disclosures))

    def by_hand(
        self,
        licence: bytes,
        items: list[Any],
        proof: bytes = b"",
        seconds: int | None = None,
        nonce: bytes | None = None,
    ) -> str:
        """A presentation the holder's device signs whatever it holds (a cheating holder
        controls the device: every device signature below is genuine)."""
        seconds = int(T0.timestamp()) if seconds is None else seconds
        encoded = [cbor2.dumps(item, canonical=True) for item in items]
        signature = self.device._key.sign(_to_sign(licence, encoded, proof, seconds, nonce))
        return framed([licence, items, proof, seconds, signature])


def framed(body: Any) -> str:
    return "GKP1:" + b45encode(cbor2.dumps(body, canonical=True))


def parts_of(text: str) -> list[Any]:
    return list(cbor2.loads(b45decode(text[5:])))


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def credential(world: World) -> SelectiveCredential:
    return world.licence()


def refusal(  # noqa: PLR0917 - one refusal: the input, then exactly what it must say
    make: Callable[[], CertificateVerifier],
    data: Any,
    error: type[CertificateVerificationError],
    check: str,
    message: str,
    context: dict[str, Any],
    *,
    zh: str | None = None,
    **options: Any,
) -> None:
    """``data`` is refused with exactly this error, message and context, by verify and
    by inspect (as the failed check ``check``); in Chinese as ``zh``."""
    report = make().inspect_presentation(data, **options)
    failed = report.checks[-1]
    where = ", ".join(f"{k}={v}" for k, v in context.items())
    assert (failed.name, failed.ok, failed.code) == (check, False, error.code)
    assert failed.detail == message + (f" ({where})" if where else "")
    assert (report.ok, report.presentation) == (False, None)
    assert all(c.ok for c in report.checks[:-1])
    with pytest.raises(GovkitError) as caught:
        make().verify_presentation(data, **options)
    assert type(caught.value) is error
    assert caught.value.code == error.code
    assert (caught.value.message, dict(caught.value.context)) == (message, context)
    if zh is not None:
        assert render_message(caught.value, "zh") == zh


# --- the input and the presentation's frame ------------------------------------------------

SHAPE = "a presentation is [licence, disclosures, proof, time, signature]"


def test_non_ascii_bytes_are_neither_a_presentation_nor_a_picture(world: World) -> None:
    refusal(
        world.verifier,
        "GKP1:ÄÖ".encode(),
        CertificateFormatError,
        "input",
        "the input is neither a presentation nor a QR picture",
        {"reason": "input"},
        zh=ZH_FORMAT,
    )


def test_input_that_is_neither_text_nor_bytes_is_refused(world: World) -> None:
    refusal(
        world.verifier,
        12345,
        CertificateFormatError,
        "input",
        "the input must be text or picture bytes",
        {"reason": "input"},
    )


def test_presentation_text_one_character_too_long_is_refused(world: World) -> None:
    refusal(
        world.verifier,
        "GKP1:" + "0" * 8188,  # 8193 characters
        CertificateFormatError,
        "format",
        "the presentation text is too long",
        {"reason": "input"},
    )


def test_presentation_text_of_the_longest_size_is_read(world: World) -> None:
    # 8192 characters are read (and then refused as CBOR, not for their length)
    refusal(
        world.verifier,
        "GKP1:" + "0" * 8187,
        CertificateFormatError,
        "format",
        "the CBOR data is not in canonical form",
        {"reason": "presentation"},
    )


def test_presentation_with_another_prefix_is_refused(world: World, credential: Any) -> None:
    refusal(
        world.verifier,
        credential.to_text(),  # the holder's credential itself, GKS1:
        CertificateFormatError,
        "format",
        "a presentation starts with GKP1:",
        {"reason": "prefix"},
    )


def test_presentation_that_is_not_base45_is_refused(world: World) -> None:
    refusal(
        world.verifier,
        "GKP1:abc",
        CertificateFormatError,
        "format",
        "the presentation is not base45",
        {"reason": "base45"},
    )


def test_presentation_in_non_canonical_cbor_is_refused(world: World) -> None:
    refusal(
        world.verifier,
        "GKP1:" + b45encode(b"\x18\x05"),  # 5 in two bytes
        CertificateFormatError,
        "format",
        "the CBOR data is not in canonical form",
        {"reason": "presentation"},
    )


@pytest.mark.parametrize("body", [5, "GKP1", [], [b"", [], b"", 0]], ids=repr)
def test_presentation_that_is_not_a_five_part_array_is_refused(world: World, body: Any) -> None:
    refusal(
        world.verifier,
        framed(body),
        CertificateFormatError,
        "format",
        SHAPE,
        {"reason": "presentation"},
    )


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (0, "licence"),  # the licence is not a byte string
        (1, b"items"),  # the disclosures are not an array
        (2, "proof"),  # the proof is not a byte string
        (3, True),  # the time is a boolean, not an integer
        (3, "1764322200"),  # the time is text
        (3, -1),  # before 1970
        (3, _LAST_SECOND + 1),  # after 9999
        (4, "signature"),  # the signature is not a byte string
    ],
    ids=lambda v: repr(v)[:20],
)
def test_presentation_with_a_malformed_part_is_refused(
    world: World, credential: Any, position: int, value: Any
) -> None:
    parts = parts_of(world.device.present(credential, TRAFFIC).text)
    parts[position] = value
    refusal(
        world.verifier,
        framed(parts),
        CertificateFormatError,
        "format",
        SHAPE,
        {"reason": "presentation"},
    )


# --- the selective licence inside it ----------------------------------------------------


def _selective(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[Any, Any]], None]:
    def edit(claims: dict[Any, Any]) -> None:
        change(claims[SELECTIVE_CLAIM])

    return edit


def _set(key: Any, value: Any) -> Callable[[dict[Any, Any]], None]:
    return lambda mapping: mapping.__setitem__(key, value)


def _drop(key: Any) -> Callable[[dict[Any, Any]], None]:
    return lambda mapping: mapping.__delitem__(key)


WRONG_KEYS = "the selective licence has the wrong keys"
TIMES = "iat, nbf and exp must be integers from 1970 to 9999"
NO_TYPE = "the selective licence names no known licence type"
ROOT_SIZE = "the Merkle root must be 16 bytes"
STATUS_INDEX = "the status index must be a non-negative int"
DEVICE_KEY = "the device key is not an Ed25519 or compressed P-256 public key"
IAT, NBF, EXP = 6, 5, 4


@pytest.mark.parametrize(
    ("edit", "message", "reason"),
    [
        (_set(SELECTIVE_CLAIM, 5), "the licence is not a selective licence", "claims"),
        (_selective(_drop("c")), WRONG_KEYS, "claims"),  # no device key
        (_selective(_set("x", 1)), WRONG_KEYS, "claims"),  # an unknown key
        (_set(IAT, True), TIMES, "cwt"),
        (_set(NBF, "0"), TIMES, "cwt"),
        (_drop(NBF), TIMES, "cwt"),
        (_set(NBF, -1), TIMES, "cwt"),
        (_set(EXP, _LAST_SECOND), TIMES, "cwt"),  # valid until 10000-01-01: not a date
        (_set(EXP, 2**39), TIMES, "cwt"),  # was read as a date and crashed (ValueError)
        (_selective(_set("t", 5)), NO_TYPE, "licence"),
        (_selective(_set("t", "fishing-permit")), NO_TYPE, "licence"),
        (_selective(_set("r", "r" * 16)), ROOT_SIZE, "licence"),
        (_selective(_set("r", bytes(15))), ROOT_SIZE, "licence"),
        (_selective(_set("s", True)), STATUS_INDEX, "licence"),
        (_selective(_set("s", "0")), STATUS_INDEX, "licence"),
        (_selective(_set("s", -1)), STATUS_INDEX, "licence"),
        (_selective(_set("c", bytes(31))), DEVICE_KEY, "presentation"),
        (_selective(_set("c", "c" * 33)), DEVICE_KEY, "presentation"),  # text, not bytes
        (_selective(_set("c", b"\x05" + bytes(32))), DEVICE_KEY, "presentation"),  # no point
        (_selective(_set("c", bytes(34))), DEVICE_KEY, "presentation"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_selective_licence_signed_by_its_issuer_is_refused(
    world: World,
    credential: Any,
    edit: Callable[[dict[Any, Any]], None],
    message: str,
    reason: str,
) -> None:
    forged = world.forge(credential, edit=edit)
    refusal(
        world.verifier,
        world.by_hand(forged.signed, []),
        CertificateFormatError,
        "format",
        message,
        {"reason": reason},
        zh=ZH_FORMAT,
    )


def test_selective_licence_valid_from_1970_to_the_last_second_of_9999_is_read(
    world: World, credential: Any
) -> None:
    forged = world.forge(credential, edit=lambda c: c.update({NBF: 0, EXP: _LAST_SECOND - 1}))
    shown = world.device.present(forged, ["name"]).text
    result = world.verifier().verify_presentation(shown)
    assert result.valid_from == datetime(1970, 1, 1, tzinfo=UTC)
    assert result.valid_until == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_non_canonical_licence_inside_a_presentation_is_refused(
    world: World, credential: Any
) -> None:
    # The issuer's signature still verifies: only the length of its byte string changed.
    signed = credential.signed
    assert signed[-66:-64] == b"\x58\x40"  # the last part: a 64-byte ES256 signature
    longer = signed[:-66] + b"\x59\x00\x40" + signed[-64:]
    refusal(
        world.verifier,
        world.by_hand(longer, []),
        CertificateFormatError,
        "format",
        "the CBOR data is not in canonical form",
        {"reason": "cbor"},
    )
    loose = SelectiveCredential(credential.licence_type, longer, credential.disclosures)
    with pytest.raises(CertificateFormatError) as caught:
        loose.device_key()
    assert caught.value.message == "the CBOR data is not in canonical form"
    body = cbor2.dumps([longer, list(credential.disclosures.values())], canonical=True)
    with pytest.raises(CertificateFormatError) as caught:
        SelectiveCredential.from_text("GKS1:" + b45encode(body))
    assert caught.value.message == "the CBOR data is not in canonical form"


def test_licence_without_a_key_id_is_refused(world: World, credential: Any) -> None:
    forged = world.forge(credential, protected=cbor2.dumps({1: -7}))
    refusal(
        world.verifier,
        world.by_hand(forged.signed, []),
        CertificateKeyUnknown,
        "signature",
        "the licence names no key id",
        {},
    )


def test_licence_with_an_untrusted_key_id_is_refused(world: World, credential: Any) -> None:
    forged = world.forge(credential, protected=cbor2.dumps({1: -7, 4: b"nope"}))
    refusal(
        world.verifier,
        world.by_hand(forged.signed, []),
        CertificateKeyUnknown,
        "signature",
        "no trusted key has this key id",
        {"kid": "6e6f7065"},
        zh="信任列表中没有密钥 6e6f7065：签发机关不在信任列表中，或信任列表不是最新的",
    )


# --- the device signature and the time ---------------------------------------------------


def test_presentation_signed_by_another_device_says_so(world: World, credential: Any) -> None:
    parts = parts_of(world.device.present(credential, TRAFFIC).text)
    parts[4] = SigningKey.generate("EdDSA").sign(b"anything")
    refusal(
        world.verifier,
        framed(parts),
        HolderBindingInvalid,
        "holder_binding",
        "the presentation is not signed by the licence's device key",
        {},
        zh=ZH_BINDING,
    )


def test_presentation_for_another_nonce_says_so(world: World, credential: Any) -> None:
    shown = world.device.present(credential, TRAFFIC, nonce=b"a" * 16).text
    refusal(
        world.verifier,
        shown,
        HolderBindingInvalid,
        "holder_binding",
        "the presentation is not signed by the licence's device key over this verifier's nonce",
        {},
        nonce=b"b" * 16,
    )


@pytest.mark.parametrize(
    ("offset", "window", "accepted"),
    [
        (-60, 60, True),  # the first instant of the window
        (-61, 60, False),
        (10, 60, True),  # ten seconds ahead of the verifier's clock: still accepted
        (11, 60, False),
        (-5, 5, True),  # a narrower window
        (-6, 5, False),
    ],
)
def test_time_bound_presentation_at_the_edges_of_its_window(
    world: World, credential: Any, offset: int, window: int, accepted: bool
) -> None:
    at = T0 + timedelta(seconds=offset)
    shown = world.device.present(credential, TRAFFIC, at=at).text
    options = {"window": timedelta(seconds=window)}
    make = lambda: world.verifier(replay_store=MemoryReplayStore())  # noqa: E731
    if accepted:
        assert make().verify_presentation(shown, **options).presented_at == at
        return
    refusal(
        make,
        shown,
        PresentationStale,
        "freshness",
        "the presentation was made outside the time window",
        {"window": window, "age": -offset},
        zh=ZH_STALE,
        **options,
    )


class RecordingStore:
    """A memory replay store that remembers what it was asked."""

    def __init__(self) -> None:
        self.inner = MemoryReplayStore()
        self.calls: list[tuple[str, datetime, datetime]] = []

    def check_and_remember(self, key: str, *, now: datetime, expires_at: datetime) -> bool:
        self.calls.append((key, now, expires_at))
        return self.inner.check_and_remember(key, now=now, expires_at=expires_at)


@pytest.mark.parametrize(
    ("at", "expires_at"),
    [
        # made in 1970 (seconds 0), answering the nonce: remembered for the window from now
        (datetime(1970, 1, 1, tzinfo=UTC), T0 + timedelta(seconds=60, microseconds=1)),
        # made in the last second of 9999: remembered until the last datetime, no overflow
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
    ],
    ids=["1970", "9999"],
)
def test_nonce_bound_presentation_at_the_first_and_last_second_is_remembered(
    world: World, credential: Any, at: datetime, expires_at: datetime
) -> None:
    nonce = b"\x01" * 16
    shown = world.device.present(credential, TRAFFIC, nonce=nonce, at=at).text
    store = RecordingStore()
    verifier = world.verifier(replay_store=store)
    result = verifier.verify_presentation(shown, nonce=nonce)
    assert (result.presented_at, result.nonce_bound) == (at, True)
    [(key, now, expiry)] = store.calls
    assert (key[:13], len(key), now, expiry) == ("presentation:", 13 + 64, T0, expires_at)
    with pytest.raises(PresentationReplayed) as caught:
        verifier.verify_presentation(shown, nonce=nonce)
    assert (caught.value.message, dict(caught.value.context)) == (
        "this presentation was already shown",
        {},
    )
    assert render_message(caught.value, "zh") == ZH_REPLAYED


# --- the disclosures ------------------------------------------------------------------------

BAD_SHAPE = "a disclosure is not [salt, index, value]"
BAD_SALT = "a disclosure has a bad salt or index"
SALT = bytes(range(16))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (5, BAD_SHAPE),
        ("abc", BAD_SHAPE),  # three characters are not three parts
        ([SALT, 0], BAD_SHAPE),
        ([SALT, 0, "张三丰", 1], BAD_SHAPE),
        (["s" * 16, 0, "张三丰"], BAD_SALT),  # a salt of text
        ([SALT[:15], 0, "张三丰"], BAD_SALT),
        ([SALT + b"!", 0, "张三丰"], BAD_SALT),
        ([SALT, False, "张三丰"], BAD_SALT),  # an index that is a boolean
        ([SALT, "0", "张三丰"], BAD_SALT),
        ([SALT, -1, "张三丰"], BAD_SALT),
        ([SALT, len(ITEMS), "张三丰"], BAD_SALT),  # one past the last item
    ],
    ids=repr,
)
def test_malformed_disclosure_signed_by_the_device_is_refused(
    world: World, credential: Any, item: Any, message: str
) -> None:
    refusal(
        world.verifier,
        world.by_hand(credential.signed, [item]),
        DisclosureInvalid,
        "disclosures",
        message,
        {"reason": "format"},
        zh=ZH_DISCLOSURE,
    )


def _leaves(credential: SelectiveCredential) -> list[bytes]:
    return [_leaf(item) for item in credential.disclosures.values()]


def test_disclosure_of_the_last_item_is_read(world: World, credential: Any) -> None:
    # index len(ITEMS) - 1 is a real item: refused only because the salt is made up
    refusal(
        world.verifier,
        world.by_hand(
            credential.signed,
            [[SALT, len(ITEMS) - 1, ["p", "p-3f9a1c07d2"]]],
            _multiproof(_leaves(credential), [len(ITEMS) - 1]),
        ),
        DisclosureInvalid,
        "disclosures",
        "the disclosures do not match the licence's signed root",
        {"reason": "root"},
    )
    assert ITEMS[-1] == "holder"
    shown = world.device.present(credential, ["holder"]).text
    result = world.verifier().verify_presentation(shown)
    assert dict(result.disclosed) == {"holder": ["p", "p-3f9a1c07d2"]}


def _shown(world: World, credential: SelectiveCredential, names: list[str]) -> list[Any]:
    return list(parts_of(world.device.present(credential, names).text)[1])


def test_disclosures_out_of_index_order_are_refused(world: World, credential: Any) -> None:
    first, second = _shown(world, credential, ["name", "licence_class"])
    leaves = [_leaf(item) for item in credential.disclosures.values()]
    refusal(
        world.verifier,
        world.by_hand(credential.signed, [second, first], _multiproof(leaves, [0, 1])),
        DisclosureInvalid,
        "disclosures",
        "disclosures must be in index order, once each",
        {"reason": "order"},
    )


def test_the_same_disclosure_twice_is_refused(world: World, credential: Any) -> None:
    [first] = _shown(world, credential, ["name"])
    refusal(
        world.verifier,
        world.by_hand(credential.signed, [first, first]),
        DisclosureInvalid,
        "disclosures",
        "disclosures must be in index order, once each",
        {"reason": "order"},
    )


def test_proof_without_disclosures_is_refused(world: World, credential: Any) -> None:
    refusal(
        world.verifier,
        world.by_hand(credential.signed, [], bytes(16)),
        DisclosureInvalid,
        "disclosures",
        "a proof without disclosures",
        {"reason": "proof"},
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda proof: proof + b"\x00", "the proof is not whole nodes"),
        (lambda proof: proof[:-16], "the proof is too short"),
        (lambda proof: proof + bytes(16), "the proof has nodes left over"),
    ],
    ids=["part_node", "short", "left_over"],
)
def test_tampered_proof_signed_by_the_device_is_refused(
    world: World, credential: Any, change: Callable[[bytes], bytes], message: str
) -> None:
    parts = parts_of(world.device.present(credential, TRAFFIC).text)
    refusal(
        world.verifier,
        world.by_hand(credential.signed, parts[1], change(parts[2])),
        DisclosureInvalid,
        "disclosures",
        message,
        {"reason": "proof"},
        zh=ZH_DISCLOSURE,
    )


def test_disclosure_with_a_float_is_hashed_as_it_was_sent(world: World, credential: Any) -> None:
    # 1.5 travels as a two-byte half float: the verifier must hash those canonical bytes
    # (the ones the device signed), not another encoding of the same number.
    refusal(
        world.verifier,
        world.by_hand(credential.signed, [[SALT, 0, 1.5]], _multiproof(_leaves(credential), [0])),
        DisclosureInvalid,
        "disclosures",
        "the disclosures do not match the licence's signed root",
        {"reason": "root"},
    )


# --- the disclosed values (a faulty issuer signed them: the root matches) -------------------

HOLDER = "the holder is not [kind, reference]"
HOLDER_KIND = "the holder kind is not p, m or r"
NOT_FIT = "a disclosed value does not fit its item"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("holder", "p-3f9a1c07d2", HOLDER),
        ("holder", "pm", HOLDER),  # two characters are not [kind, reference]
        ("holder", ["p", "p-3f9a1c07d2", "x"], HOLDER),
        ("holder", ["x", "p-3f9a1c07d2"], HOLDER_KIND),
        ("holder", ["p", 5], NOT_FIT),
        ("licence_class_includes_C1", 1, "a predicate must be true or false"),
        ("name", 5, NOT_FIT),
        ("first_issue_date", "2015-6-1", NOT_FIT),
        ("id", "not an identifier", NOT_FIT),
        (
            "id",
            licence_id(ID_CARD_CODE, POLICE.uscc, "000000000001"),
            "the identifier is of another type",
        ),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_issuer_signed_value_that_does_not_fit_its_item_is_refused(
    world: World, credential: Any, name: str, value: Any, message: str
) -> None:
    forged = world.forge(credential, values={name: value})
    refusal(
        world.verifier,
        world.device.present(forged, [name]).text,
        DisclosureInvalid,
        "disclosures",
        message,
        {"reason": "value"},
        zh=ZH_DISCLOSURE,
    )
    with pytest.raises(DisclosureInvalid) as caught:  # the holder's app refuses it too
        SelectiveCredential.from_text(forged.to_text())
    assert (caught.value.message, dict(caught.value.context)) == (message, {"reason": "value"})


def test_issuer_signed_value_not_in_normal_form_is_refused(
    world: World, credential: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Today a field's normal form of a value read from CBOR is the value itself; should a
    # field ever normalise (trim, case), a value not in that form must not pass.
    forged = world.forge(credential, values={"name": " 张三丰 "})
    shown = world.device.present(forged, ["name"]).text
    real = FieldSpec.normalise
    monkeypatch.setattr(FieldSpec, "normalise", lambda spec, value: real(spec, value.strip()))
    refusal(
        world.verifier,
        shown,
        DisclosureInvalid,
        "disclosures",
        "a field value is not normalised",
        {"reason": "value"},
    )


def test_identifier_of_another_issuer_is_refused(world: World, credential: Any) -> None:
    code = LicenceRegistry.default().get("driving-licence").type_code
    other = licence_id(code, PUBLIC_SECURITY.uscc, "000000000001")
    forged = world.forge(credential, values={"id": other})
    refusal(
        world.verifier,
        world.device.present(forged, ["id", "name"]).text,
        DisclosureInvalid,
        "disclosures",
        "the identifier names another issuer",
        {"reason": "value"},
    )


def test_absent_optional_field_is_disclosed_as_none(world: World) -> None:
    fields = {k: v for k, v in DRIVING.items() if k != "photo_digest"}
    credential = world.licence(fields=fields)
    shown = world.device.present(credential, TRAFFIC).text
    result = world.verifier().verify_presentation(shown, profile="traffic-police")
    assert dict(result.disclosed) == {
        "name": "张三丰",
        "licence_class": "B2",
        "photo_digest": None,
    }


# --- the verifier profile -------------------------------------------------------------------


def test_licence_type_outside_the_profile_says_which_profile(world: World, credential: Any) -> None:
    refusal(
        world.verifier,
        world.device.present(credential, ["licence_class_includes_C1"]).text,
        PresentationIncomplete,
        "profile",
        "the age-check profile does not take this licence type",
        {"profile": "age-check", "reason": "type"},
        profile="age-check",
    )


def test_over_disclosure_names_every_extra_item(world: World, credential: Any) -> None:
    shown = world.device.present(credential, [*TRAFFIC, "file_number", "first_issue_date"])
    refusal(
        world.verifier,
        shown.text,
        PresentationOverDisclosed,
        "profile",
        "the presentation reveals more than traffic-police allows",
        {"profile": "traffic-police", "items": "file_number,first_issue_date"},
        zh="出示内容包含验证配置“traffic-police”不允许的字段：file_number,first_issue_date",
        profile="traffic-police",
    )


def test_missing_required_items_are_all_named(world: World, credential: Any) -> None:
    refusal(
        world.verifier,
        world.device.present(credential, ["name"]).text,
        PresentationIncomplete,
        "profile",
        "the presentation lacks what traffic-police requires",
        {"profile": "traffic-police", "items": "licence_class,photo_digest"},
        zh="出示内容缺少验证配置“traffic-police”要求的字段：licence_class,photo_digest",
        profile="traffic-police",
    )


def test_profile_requiring_what_it_does_not_allow_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        VerifierProfile("p", "d", frozenset({"a"}), frozenset({"a", "b"}), frozenset({"a"}))
    assert caught.value.message == "a profile's required items must be allowed"
    same = frozenset({"age_over_18"})
    assert VerifierProfile("p", "d", same, same, same).required == same  # equal is fine


def test_profile_names_resolve_and_anything_else_is_a_configuration_error() -> None:
    assert resolve_profile(None) is None
    assert resolve_profile("age-check") is PROFILES["age-check"]
    mine = VerifierProfile("mine", "d", frozenset({"x"}), frozenset(), frozenset())
    assert resolve_profile(mine) is mine
    for wrong in ("nightclub", ["age-check"], 5):
        with pytest.raises(ConfigurationError) as caught:
            resolve_profile(wrong)  # type: ignore[arg-type]
        assert caught.value.message == (
            "unknown verifier profile; use one of age-check, hotel-check-in, traffic-police"
        )


# --- what a valid presentation reports ------------------------------------------------------


def _checks(report: PresentationReport) -> list[tuple[Any, ...]]:
    return [(c.name, c.ok, c.code, c.detail, c.detail_in("zh")) for c in report.checks]


def test_valid_presentation_reports_every_check_in_both_languages(
    world: World, credential: Any
) -> None:
    shown = world.device.present(credential, TRAFFIC, at=T0 - timedelta(seconds=3)).text
    report = world.verifier().inspect_presentation(shown, profile="traffic-police")
    device = world.device.verifying_key.kid[:12]
    agency = POLICE.name
    assert _checks(report) == [
        ("input", True, None, "presentation text", "出示内容文本"),
        (
            "format",
            True,
            None,
            "a driving-licence presentation disclosing 3 items",
            "driving-licence 出示内容，披露 3 个字段",
        ),
        ("trust", True, None, "trust list #1", "信任列表 #1"),
        ("signature", True, None, f"signed by {agency}", f"由{agency}签名"),
        (
            "issuer",
            True,
            None,
            f"{agency} may issue driving-licence",
            f"{agency}有权签发 driving-licence",
        ),
        (
            "validity",
            True,
            None,
            "valid until 2032-01-01T16:00:00+00:00 (exclusive)",
            "有效期至 2032-01-01T16:00:00+00:00（不含该时刻）",
        ),
        (
            "status",
            True,
            None,
            "valid: the issuer's status list marks it neither revoked nor suspended",
            "未被吊销：签发机关的状态列表显示其既未吊销也未暂停",
        ),
        (
            "holder_binding",
            True,
            None,
            f"signed by device {device}…",
            f"由持证人设备 {device}… 签名",
        ),
        ("freshness", True, None, "made 3 s ago", "3 秒前生成"),
        (
            "disclosures",
            True,
            None,
            "3 disclosures match the signed Merkle root",
            "3 个出示字段与已签名的默克尔根一致",
        ),
        ("profile", True, None, "fits traffic-police", "符合验证配置 traffic-police"),
    ]
    found = report.presentation
    assert found is not None
    assert (found.key, found.checked_at, found.profile) == (world.trusted_key, T0, "traffic-police")
    assert found.valid_from == datetime(2025, 12, 31, 16, tzinfo=UTC)  # 00:00 CST, 1 Jan
    assert report.to_dict()["presentation"] == {
        "type": "driving-licence",
        "issuer": {"name": agency, "uscc": POLICE.uscc},
        "disclosed": {k: DRIVING[k] for k in TRAFFIC},
        "predicates": {},
        "valid_from": "2025-12-31T16:00:00+00:00",
        "valid_until": "2032-01-01T16:00:00+00:00",
        "status": "valid",
        "presented_at": "2026-11-28T09:29:57+00:00",
        "profile": "traffic-police",
        "nonce_bound": False,
    }


def test_nonce_bound_presentation_from_a_picture_reports_the_nonce(
    world: World, credential: Any
) -> None:
    nonce = b"\x02" * 16
    shown = world.device.present(credential, ["licence_class_includes_C1"], nonce=nonce)
    report = world.verifier().inspect_presentation(shown.qr_png(scale=4), nonce=nonce)
    checks = {c.name: (c.detail, c.detail_in("zh")) for c in report.checks}
    assert checks["input"] == ("QR picture decoded", "已识读二维码图片")
    assert checks["freshness"] == ("answers the nonce", "应答了本次的挑战值")
    assert checks["profile"] == ("no profile", "未指定验证配置")
    assert checks["disclosures"][0] == "1 disclosures match the signed Merkle root"
    document = report.to_dict()["presentation"]
    assert (document["predicates"], document["profile"], document["nonce_bound"]) == (
        {"licence_class_includes_C1": True},
        None,
        True,
    )


_SUMMARY_KEY = SigningKey.generate("EdDSA").verifying_key


def _verified(licence_type: str, **changes: Any) -> VerifiedPresentation:
    issuer = TrustedIssuer(POLICE, (TrustedKey.for_key(_SUMMARY_KEY, {"driving-licence"}),))
    values: dict[str, Any] = {
        "licence_type": licence_type,
        "issuer": issuer,
        "key": None,
        "valid_from": datetime(2026, 1, 1, tzinfo=UTC),
        "valid_until": datetime(2032, 1, 1, tzinfo=UTC),
        "status": None,
        "disclosed": {"id": "ID-1", "holder": ["p", "p-1"], "name": "张三丰", "extra": 1},
        "predicates": {"age_over_18": True, "age_over_60": False},
        "presented_at": T0,
        "checked_at": T0,
        "device_kid": "kid",
        "profile": None,
        "nonce_bound": False,
    }
    values.update(changes)
    return VerifiedPresentation(**values)


def test_summary_lists_only_what_was_disclosed_with_both_labels() -> None:
    checks = (Check("status", True, None, "checked"),)
    report = PresentationReport(checks, _verified("driving-licence"))
    assert report.summary() == (
        "机动车驾驶证 Motor vehicle driving licence",
        f"颁发机构 Issuer: {POLICE.name} ({POLICE.uscc})",
        "证照编号 Licence id: ID-1",
        "持证人 Holder: ['p', 'p-1']",
        "姓名 Name: 张三丰",
        "extra: 1",
        "age_over_18: yes",
        "age_over_60: no",
        "有效期 Valid: 2026-01-01T00:00:00+00:00 – 2032-01-01T00:00:00+00:00",
        "(nothing else was disclosed)",
    )


def test_summary_of_an_unknown_type_without_status_says_revocation_was_not_checked() -> None:
    checks = (Check("status", None, None, "skipped"),)
    report = PresentationReport(checks, _verified("fishing-permit", disclosed={}, predicates={}))
    assert report.summary() == (
        "fishing-permit",
        f"颁发机构 Issuer: {POLICE.name} ({POLICE.uscc})",
        "有效期 Valid: 2026-01-01T00:00:00+00:00 – 2032-01-01T00:00:00+00:00",
        "(nothing else was disclosed)",
        STATUS_NOT_CHECKED,
    )
    assert PresentationReport((Check("input", False, "certificate.format"),), None).summary() == ()


# --- the holder's credential (GKS1:) ------------------------------------------------------


def _credential_text(body: Any) -> str:
    return "GKS1:" + b45encode(cbor2.dumps(body, canonical=True))


def _refused_credential(text: Any, error: type[GovkitError], message: str, reason: str) -> None:
    with pytest.raises(GovkitError) as caught:
        SelectiveCredential.from_text(text)
    assert type(caught.value) is error
    assert (caught.value.message, dict(caught.value.context)) == (message, {"reason": reason})


NOT_A_CREDENTIAL = "the credential is not [licence, disclosures]"


def test_credential_text_faults_are_refused_exactly(credential: Any) -> None:
    text = credential.to_text()
    signed, items = credential.signed, list(credential.disclosures.values())
    starts = "a selective credential starts with GKS1:"
    _refused_credential(text.encode(), CertificateFormatError, starts, "presentation")
    _refused_credential("GKP1:" + text[5:], CertificateFormatError, starts, "presentation")
    _refused_credential(
        "GKS1:abc", CertificateFormatError, "the credential is not base45", "presentation"
    )
    _refused_credential(
        "GKS1:" + b45encode(b"\x18\x05"),
        CertificateFormatError,
        "the CBOR data is not in canonical form",
        "cbor",
    )
    for body in (5, [signed], [signed, items, b""], [5, items], [signed, 5]):
        _refused_credential(
            _credential_text(body), CertificateFormatError, NOT_A_CREDENTIAL, "presentation"
        )
    _refused_credential(
        _credential_text([signed, items[:-1]]),
        DisclosureInvalid,
        "the credential lacks disclosures",
        "count",
    )
    _refused_credential(
        _credential_text([signed, [items[1], items[0], *items[2:]]]),
        DisclosureInvalid,
        "a disclosure is out of order",
        "order",
    )
    _refused_credential(
        _credential_text([signed, [5, *items[1:]]]),
        CertificateFormatError,
        "a disclosure must be a byte string",
        "presentation",
    )
    loose = b"\x83\x50" + cbor2.loads(items[0])[0] + b"\x18\x00" + items[0][19:]
    assert cbor2.loads(loose) == cbor2.loads(items[0])  # the same, but index 0 in two bytes
    _refused_credential(
        _credential_text([signed, [loose, *items[1:]]]),
        DisclosureInvalid,
        "a disclosure is not canonical CBOR",
        "format",
    )
    salt, index, _ = cbor2.loads(items[0])
    other = cbor2.dumps([salt, index, "王五"], canonical=True)
    _refused_credential(
        _credential_text([signed, [other, *items[1:]]]),
        DisclosureInvalid,
        "the disclosures do not match the signed root",
        "root",
    )


def test_credential_nested_deeper_than_its_shape_is_refused_as_cbor(credential: Any) -> None:
    body = [credential.signed, [[[[b""]]]]]
    _refused_credential(
        _credential_text(body), CertificateFormatError, "the CBOR data is malformed", "cbor"
    )


def test_credential_read_back_keeps_every_disclosure_under_its_name(credential: Any) -> None:
    again = SelectiveCredential.from_text(credential.to_text() + "\n")
    assert dict(again.disclosures) == dict(credential.disclosures)
    assert again.items == ITEMS
    assert again.device_key() == credential.device_key()


# --- device keys and the Merkle tree ------------------------------------------------------


def test_device_key_of_another_algorithm_is_refused_at_issue(world: World) -> None:
    with pytest.raises(ConfigurationError) as caught:
        world.licence(device_key=SigningKey.generate("SM2").verifying_key)
    assert caught.value.message == "a device key must be EdDSA (Ed25519) or ES256"


def test_es256_device_key_round_trips_through_the_licence() -> None:
    world = World("ES256")
    credential = world.licence()
    assert credential.device_key() == world.device.verifying_key
    assert credential.device_key().alg == "ES256"
    shown = world.device.present(credential, ["name"]).text
    assert world.verifier().verify_presentation(shown).device_kid == world.device.verifying_key.kid


def test_tree_widths_are_powers_of_two() -> None:
    assert [_width(n) for n in range(1, 10)] == [1, 2, 4, 4, 8, 8, 8, 8, 16]
    leaf = _leaf(b"only")
    assert _levels([leaf]) == [[leaf]]
    assert _root_from_proof(1, {0: leaf}, b"") == leaf


def test_multiproof_of_every_leaf_set_of_a_small_tree_rebuilds_the_root() -> None:
    leaves = [_leaf(bytes([i])) for i in range(5)]
    root = _levels(leaves)[-1][0]
    for mask in range(1, 2**5):
        chosen = [i for i in range(5) if mask >> i & 1]
        known = {i: leaves[i] for i in chosen}
        assert _root_from_proof(5, known, _multiproof(leaves, chosen)) == root
        with pytest.raises(DisclosureInvalid):
            _root_from_proof(5, known, _multiproof(leaves, chosen) + leaves[0])


# --- the fixed-shape readers of the verifier's hot path (#18) -----------------------------
#
# _fixed_presentation and _fixed_claims read the usual presentation and licence claims
# without cbor2. Each may only decline (None: the canonical decoder then decides) or
# return exactly what the canonical decoder returns; and they must read what devices
# and issuers write, or the verifier is slow for nothing.


def _raw(text: str) -> bytes:
    return b45decode(text[len("GKP1:") :])


def _read_alike(raw: bytes) -> bool:
    """Whether the fixed reader read ``raw``; when it did, it read what the decoder reads."""
    fixed = _fixed_presentation(raw)
    if fixed is None:
        return False
    assert fixed == _decoded_presentation(raw)
    return True


def _body(items: list[Any], seconds: int = 1_796_484_065, **parts: bytes) -> bytes:
    licence, proof = parts.get("licence", b"L" * 300), parts.get("proof", b"P" * 48)
    signature = parts.get("signature", b"S" * 64)
    return cbor2.dumps([licence, items, proof, seconds, signature], canonical=True)


def _salted(values: list[Any]) -> list[list[Any]]:
    return [[bytes([i]) * 16, i, value] for i, value in enumerate(values)]


def test_fixed_reader_reads_what_a_device_shows_of_text_and_predicates(
    world: World, credential: SelectiveCredential
) -> None:
    shows = [TRAFFIC, ["licence_class_includes_C1"], ["name", "id"], [], ITEMS[:-1]]
    for names in shows:
        for nonce in (None, b"n" * 16):
            assert _read_alike(_raw(world.device.present(credential, names, nonce=nonce).text))


def test_fixed_reader_leaves_a_holder_item_to_the_decoder(
    world: World, credential: SelectiveCredential
) -> None:
    raw = _raw(world.device.present(credential, ["name", "holder"]).text)
    assert _fixed_presentation(raw) is None
    _, items, decoded, *_ = _parse_presentation("GKP1:" + b45encode(raw))
    assert decoded[1][2] == ["p", "p-3f9a1c07d2"]
    assert items == [cbor2.dumps(item, canonical=True) for item in decoded]


@given(
    st.lists(st.text(max_size=40) | st.booleans(), max_size=23),
    st.integers(0, _LAST_SECOND),
    st.binary(max_size=300),
    st.binary(max_size=80),
)
def test_fixed_reader_reads_every_text_or_boolean_presentation_as_the_decoder(
    values: list[Any], seconds: int, licence: bytes, proof: bytes
) -> None:
    raw = _body(_salted(values), seconds, licence=licence, proof=proof, signature=proof[:64])
    assert _read_alike(raw)


def test_fixed_reader_bounds() -> None:
    assert _read_alike(_body(_salted(["x"] * 23)))
    assert _fixed_presentation(_body(_salted(["x"] * 24))) is None  # the decoder reads 24
    assert len(_decoded_presentation(_body(_salted(["x"] * 24)))[1]) == 24
    assert _read_alike(_body(_salted([True]), _LAST_SECOND))
    assert _read_alike(_body(_salted([False]), 0))
    over = _body(_salted([True]), _LAST_SECOND + 1)
    assert _fixed_presentation(over) is None
    with pytest.raises(CertificateFormatError) as caught:
        _decoded_presentation(over)
    assert (
        caught.value.message == "a presentation is [licence, disclosures, proof, time, signature]"
    )
    for seconds in (23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32):
        assert _read_alike(_body(_salted(["é"]), seconds))
        assert _fixed_presentation(_body(_salted(["x"]), seconds))[4] == seconds  # type: ignore[index]


@pytest.mark.parametrize(
    "value",
    [None, 7, -1, b"bytes", ["p", "x"], {"a": 1}, 1.5, cbor2.CBORTag(18, b"")],
    ids=repr,
)
def test_fixed_reader_declines_values_other_than_text_and_booleans(value: Any) -> None:
    assert _fixed_presentation(_body(_salted(["x", value]))) is None


@pytest.mark.parametrize(
    "item",
    [[b"s" * 15, 0, "x"], [b"s" * 17, 0, "x"], [b"s" * 16, 0], [b"s" * 16, 0, "x", 1], b"x"],
    ids=repr,
)
def test_fixed_reader_declines_disclosures_of_another_shape(item: Any) -> None:
    assert _fixed_presentation(_body([item])) is None


def test_fixed_reader_declines_bodies_of_another_shape() -> None:
    good = [b"L", [], b"", 0, b"S"]
    assert _read_alike(cbor2.dumps(good, canonical=True))
    for body in (good[:4], [*good, b""], ["L", *good[1:]], [*good[:3], -1, b"S"]):
        assert _fixed_presentation(cbor2.dumps(body, canonical=True)) is None
    assert _fixed_presentation(b"") is None
    assert _fixed_presentation(cbor2.dumps(good, canonical=True) + b"\x00") is None


def test_fixed_reader_declines_every_longer_head_and_the_decoder_refuses_it() -> None:
    """Each head written one size longer than it needs: never canonical."""
    heads = [
        (b"\x85\x41L", b"\x85\x58\x01L"),  # the licence's length
        (b"\x81\x83", b"\x98\x01\x83"),  # the number of disclosures
        (b"\x00\x61x", b"\x18\x00\x61x"),  # a disclosure's index
        (b"\x61x", b"\x78\x01x"),  # a text value's length
        (b"\x40\x00", b"\x40\x18\x00"),  # the time
    ]
    raw = cbor2.dumps([b"L", [[b"s" * 16, 0, "x"]], b"", 0, b"S"], canonical=True)
    assert _read_alike(raw)
    for short, long in heads:
        assert raw.count(short) == 1
        changed = raw.replace(short, long)
        assert _fixed_presentation(changed) is None
        with pytest.raises(CertificateFormatError) as caught:
            _decoded_presentation(changed)
        assert caught.value.message == "the CBOR data is not in canonical form"


def test_fixed_reader_never_reads_a_changed_byte_otherwise_than_the_decoder(
    world: World, credential: SelectiveCredential
) -> None:
    raw = _raw(world.device.present(credential, [*TRAFFIC, "licence_class_includes_C1"]).text)
    assert _read_alike(raw)
    for i in range(len(raw)):
        assert _fixed_presentation(raw[:i]) is None
        for changed in (
            raw[:i] + raw[i + 1 :],
            raw[:i] + b"\x00" + raw[i:],
            raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :],
            raw[:i] + bytes([raw[i] ^ 0x20]) + raw[i + 1 :],
        ):
            _read_alike(changed)  # asserts agreement whenever it reads


def _claims(status: bool = True, changes: dict[Any, Any] | None = None) -> dict[Any, Any]:
    selective: dict[str, Any] = {"c": b"c" * 32, "r": b"r" * 16, "s": 5, "t": "driving-licence"}
    if not status:
        del selective["s"]
    claims: dict[Any, Any] = {4: 1_938_095_999, 5: 1_793_808_000, 6: 1_796_484_065}
    claims[SELECTIVE_CLAIM] = selective
    claims.update(changes or {})
    return claims


def _claims_alike(payload: bytes) -> bool:
    fixed = _fixed_claims(payload)
    if fixed is None:
        return False
    assert fixed == codec._parse_canonical(payload, max_depth=16, reason="cwt")
    return True


def test_fixed_claims_read_what_the_issuer_signs(credential: SelectiveCredential) -> None:
    message = codec.decode_cose(credential.signed, canonical=True)
    assert _claims_alike(message.payload)
    assert _fixed_claims(message.payload) == dict(message.claims)
    for status in (True, False):
        assert _claims_alike(cbor2.dumps(_claims(status), canonical=True))


@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=40),
    st.binary(max_size=40),
    st.none() | st.integers(0, 2**64 - 1),
    st.text(max_size=30),
)
def test_fixed_claims_read_every_claims_of_that_shape_as_the_decoder(  # noqa: PLR0917
    exp: int, nbf: int, iat: int, device: bytes, root: bytes, index: int | None, name: str
) -> None:
    selective: dict[str, Any] = {"c": device, "r": root, "t": name}
    if index is not None:
        selective["s"] = index
    claims = {4: exp, 5: nbf, 6: iat, SELECTIVE_CLAIM: selective}
    assert _claims_alike(cbor2.dumps(claims, canonical=True))


@pytest.mark.parametrize(
    "claims",
    [
        _claims(changes={1: "CN"}),
        _claims(changes={7: b"cti"}),
        {k: v for k, v in _claims().items() if k != 6},
        {**_claims(), SELECTIVE_CLAIM: {**_claims()[SELECTIVE_CLAIM], "x": 1}},
        {**_claims(), SELECTIVE_CLAIM: {"c": b"c", "t": "x"}},
        {**_claims(), SELECTIVE_CLAIM: {"r": b"r", "s": 1, "t": "x"}},
        {**_claims(), SELECTIVE_CLAIM: {"c": b"c", "r": b"r", "s": -1, "t": "x"}},
        {**_claims(), SELECTIVE_CLAIM: {"c": "c", "r": b"r", "t": "x"}},
        {**_claims(), SELECTIVE_CLAIM: {"c": b"c", "r": "r", "t": "x"}},
        {**_claims(), SELECTIVE_CLAIM: {"c": b"c", "r": b"r", "t": b"x"}},
        {**_claims(), SELECTIVE_CLAIM: {"c": b"c", "r": b"r", "s": True, "t": "x"}},
        {**_claims(), -65537: {"c": b"c", "r": b"r", "t": "x"}},
        {**_claims(), 4: -1},
        {**_claims(), 5: 1.5},
        {**_claims(), 6: "now"},
        [1, 2],
    ],
    ids=repr,
)
def test_fixed_claims_decline_claims_of_another_shape(claims: Any) -> None:
    payload = cbor2.dumps(claims, canonical=True)
    assert _fixed_claims(payload) is None
    assert _fixed_claims(payload + b"\x00") is None


def test_fixed_claims_never_read_a_changed_byte_otherwise_than_the_decoder() -> None:
    payload = cbor2.dumps(_claims(), canonical=True)
    for i in range(len(payload)):
        assert _fixed_claims(payload[:i]) is None
        for changed in (
            payload[:i] + payload[i + 1 :],
            payload[:i] + b"\x00" + payload[i:],
            payload[:i] + bytes([payload[i] ^ 0x01]) + payload[i + 1 :],
            payload[:i] + bytes([payload[i] ^ 0x20]) + payload[i + 1 :],
        ):
            try:
                _claims_alike(changed)
            except CertificateFormatError:  # the decoder refuses what the reader read
                pytest.fail(f"the fixed reader read bytes the decoder refuses: {changed.hex()}")


def test_fixed_claims_decline_every_longer_head() -> None:
    payload = cbor2.dumps(_claims(), canonical=True)
    for short, long in (
        (b"\x61t\x6f", b"\x61t\x78\x0f"),  # the type name's length
        (b"\x61s\x05", b"\x61s\x18\x05"),  # the status index
        (b"\x61r\x50", b"\x61r\x58\x10"),  # the root's length
    ):
        assert payload.count(short) == 1
        changed = payload.replace(short, long)
        assert _fixed_claims(changed) is None
        with pytest.raises(CertificateFormatError) as caught:
            codec._parse_canonical(changed, max_depth=16, reason="cwt")
        assert caught.value.message == "the CBOR data is not in canonical form"


def test_disclosable_items_are_worked_out_once_per_type_in_a_bounded_memo(world: World) -> None:
    run = world.verifier()._presentations()
    assert world.verifier()._presentations()._items == {}  # each verifier its own memo
    kind = LicenceRegistry.default().get("driving-licence")
    assert run._items_of(kind) == disclosable_items(kind) == ITEMS
    assert run._items_of(kind) is run._items_of(kind)  # the same tuple: worked out once
    for _ in range(100):  # equal types that are other objects each get their own entry
        other = dataclasses.replace(kind)
        assert run._items_of(other) == ITEMS
        assert len(run._items) <= 64
    registry = LicenceRegistry.default()
    for name in ("resident-id-card", "passport"):
        assert run._items_of(registry.get(name)) == disclosable_items(registry.get(name))
