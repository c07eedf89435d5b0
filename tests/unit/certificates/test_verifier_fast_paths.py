"""The licence verifier's fast paths agree with the checks they stand for (issue #18).

Each shortcut on the hot path of :meth:`CertificateVerifier.verify` is compared with the
slow path it replaces, on the licences the issuer writes and on arbitrary or damaged
input: the same result, or the same error code and reason.

* ``_fixed_licence_claims`` reads the claims the issuer writes without cbor2: it returns
  exactly what the canonical decoder returns, or ``None`` (then the canonical decoder
  decides), and never accepts bytes the canonical decoder refuses;
* the time check in ``_run`` (three integer comparisons) refuses exactly when
  :func:`codec.check_times` does, with its error;
* the verifier's memos (an issuer's status list, identifier prefixes) give every licence
  the result a fresh verifier gives it, stay bounded, and are the verifier's own;
* the regular expressions replaced by ``str`` methods (dates, pseudonyms) accept exactly
  the same text;
* a status list's 2 bits map to the same :class:`Status` as the enum itself.
"""

from __future__ import annotations

import re
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from govkit._encoding import b45encode
from govkit.certificates import (
    LICENCE_CLAIM,
    Agency,
    CertificateIssuer,
    CertificateVerifier,
    Holder,
    IssuedCertificate,
    SignedStatusList,
    Status,
    StatusList,
    StatusListSource,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    codec,
    load_status_list,
    sign_status_list,
)
from govkit.certificates._identifier import _ID_MEMO_MAX, _IdMemo, _known_id_codes
from govkit.certificates._model import Licence, LicenceRegistry
from govkit.certificates._status import StatusLists, _status_at
from govkit.certificates._types import parse_iso_date
from govkit.certificates._verifier import _MAX_ISSUERS, _fixed_licence_claims
from govkit.errors import (
    CertificateExpired,
    CertificateFormatError,
    CertificateNotYetValid,
    CertificateStatusUnknown,
    GovkitError,
    LicenceDataInvalid,
)
from govkit.keys import SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
POLICE = Agency("广东省公安厅交通管理局", "114400000069445123")
HOLDER = Holder("p-3f9a1c07d2", "pseudonym")
DRIVING = {
    "name": "张三",
    "licence_class": "C1",
    "first_issue_date": "2015-06-01",
    "file_number": "440100123456",
}
KEY = SigningKey.generate("ES256")
SOME = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _issuer(key: SigningKey = KEY, statuses: StatusList | None = None) -> CertificateIssuer:
    return CertificateIssuer(
        key,
        agency=POLICE,
        clock=FixedClock(T0),
        status=statuses or StatusList(64, list_id="gd-licences-2026"),
    )


def _issue(issuer: CertificateIssuer | None = None, **fields: Any) -> IssuedCertificate:
    return (issuer or _issuer()).issue(
        "driving-licence",
        holder=HOLDER,
        fields={**DRIVING, **fields},
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )


def _trust(*keys: SigningKey) -> TrustList:
    return TrustList(
        (
            TrustedIssuer(
                POLICE,
                tuple(TrustedKey.for_key(k.verifying_key, {"driving-licence"}) for k in keys),
            ),
        ),
        1,
        T0 - timedelta(days=1),
        T0 + timedelta(days=3650),
    )


def _published(statuses: StatusList, key: SigningKey = KEY) -> SignedStatusList:
    data = sign_status_list(
        statuses, key, issued_at=T0, expires_at=T0 + timedelta(days=3650), sequence=1
    )
    return load_status_list(data, [key.verifying_key], at=T0)


def _payload_claims(text: str) -> bytes:
    return codec.decode(text).payload


def _canonical(payload: bytes) -> tuple[str, Any]:
    try:
        return "ok", codec._parse_canonical_full(payload, max_depth=16, reason="cwt")
    except CertificateFormatError as exc:
        return "error", (exc.code, exc.context.get("reason"))


# --- the fixed-shape claims reader -------------------------------------------------------

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(0, 2**64 - 1),
    st.text(max_size=90),
)
_MOMENTS = st.one_of(st.text(max_size=12), st.integers(0, 2**40))


@st.composite
def licence_claims(draw: st.DrawFn) -> dict[int, Any]:
    """Claims of the issuer's shape, some of them beyond what the reader reads."""
    licence: dict[str, Any] = {
        "f": draw(st.lists(_VALUES, max_size=26)),
        "h": [draw(st.text(max_size=3)), draw(st.text(max_size=40))],
        "i": draw(st.text(max_size=90)),
        "v": [draw(_MOMENTS), draw(_MOMENTS)],
    }
    if draw(st.booleans()):
        licence["s"] = draw(st.integers(0, 2**40))
    return {
        codec.EXP: draw(st.integers(0, 2**40)),
        codec.NBF: draw(st.integers(0, 2**40)),
        codec.IAT: draw(st.integers(0, 2**40)),
        LICENCE_CLAIM: licence,
    }


def _readable(claims: dict[int, Any]) -> bool:
    """Within what the reader reads: fewer than 24 values, texts under 256 bytes."""
    licence = claims[LICENCE_CLAIM]
    texts = [*licence["f"], *licence["h"], licence["i"], *licence["v"]]
    return len(licence["f"]) < 24 and all(
        len(t.encode()) < 256 for t in texts if isinstance(t, str)
    )


@SOME
@given(licence_claims())
def test_fixed_claims_reader_reads_canonical_claims_as_the_decoder_does(
    claims: dict[int, Any],
) -> None:
    payload = cbor2.dumps(claims, canonical=True)
    read = _fixed_licence_claims(payload)
    assert _canonical(payload) == ("ok", claims)
    if _readable(claims):
        assert read == claims
        assert list(read) == list(claims)  # the decoder's key order
        assert list(read[LICENCE_CLAIM]) == sorted(claims[LICENCE_CLAIM])
    else:
        assert read is None or read == claims


@SOME
@given(
    licence_claims(),
    st.lists(
        st.tuples(
            st.sampled_from(("set", "insert", "delete")),
            st.integers(0, 400),
            st.binary(min_size=1, max_size=1),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_fixed_claims_reader_never_accepts_what_the_canonical_decoder_refuses(
    claims: dict[int, Any], edits: list[tuple[str, int, bytes]]
) -> None:
    data = bytearray(cbor2.dumps(claims, canonical=True))
    for how, where, byte in edits:
        at = where % (len(data) + 1)
        if how == "insert":
            data[at:at] = byte
        elif data and at < len(data):
            data[at : at + 1] = byte if how == "set" else b""
    payload = bytes(data)
    read = _fixed_licence_claims(payload)
    event("read" if read is not None else "left to the canonical decoder")
    if read is not None:
        assert _canonical(payload) == ("ok", read)


def test_fixed_claims_reader_reads_the_issuers_licences() -> None:
    for fields in ({}, {"file_number": "4" * 12, "name": "欧阳" * 12}):
        payload = _payload_claims(_issue(**fields).qr_payload)
        read = _fixed_licence_claims(payload)
        assert read is not None
        assert read == codec._parse_canonical_full(payload, max_depth=16, reason="cwt")


def _reencoded(**licence: Any) -> bytes:
    claims = cbor2.loads(_payload_claims(_issue().qr_payload))
    claims[LICENCE_CLAIM].update(licence)
    return cbor2.dumps(claims, canonical=True)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("exp head of 8 bytes", lambda p: p[:2] + b"\x1b" + bytes(4) + p[3:]),
        ("exp head not shortest", lambda p: p[:2] + b"\x1a\x00\x00\xff\xff" + p[7:]),
        ("another key than f", lambda p: p.replace(b"\x61f\x85", b"\x61e\x85")),
        ("an inner map of 6", lambda p: p.replace(b"\xa5\x61f", b"\xa6\x61f")),
        ("an inner map of 4", lambda p: p.replace(b"\xa5\x61f", b"\xa4\x61f")),
        ("a byte after the claims", lambda p: p + b"\x00"),
        ("a claim missing", lambda p: b"\xa3" + p[1:]),
        ("index head not shortest", lambda p: p.replace(b"\x61s\x00", b"\x61s\x18\x00")),
        ("text head not shortest", lambda p: p.replace(b"\x61h\x82\x61p", b"\x61h\x82\x78\x01p")),
        ("indefinite array", lambda p: p.replace(b"\x61h\x82", b"\x61h\x9f")),
        ("another key than h", lambda p: p.replace(b"\x61h", b"\x61g")),
        ("not UTF-8", lambda p: p.replace(b"\x61h\x82\x61p", b"\x61h\x82\x61\xff")),
        ("a negative index", lambda p: p.replace(b"\x61s\x00", b"\x61s\x20")),
        ("a float", lambda p: p.replace(b"\x61s\x00", b"\x61s\xf9\x00\x00")),
    ],
)
def test_fixed_claims_reader_leaves_damaged_claims_to_the_canonical_decoder(
    name: str, damage: Any
) -> None:
    payload = _payload_claims(_issue().qr_payload)
    damaged = damage(payload)
    assert damaged != payload, name
    assert _fixed_licence_claims(damaged) is None


@pytest.mark.parametrize("exp", [0, 23, 24, 255, 256, 0xFFFF, 0x10000, 2**32 - 1, 2**32])
def test_fixed_claims_reader_reads_every_shortest_integer_head(exp: int) -> None:
    claims = cbor2.loads(_payload_claims(_issue().qr_payload))
    claims[codec.EXP] = exp
    payload = cbor2.dumps(claims, canonical=True)
    assert _fixed_licence_claims(payload) == claims


def test_licence_with_non_canonical_claims_is_refused_by_the_verifier_as_before() -> None:
    issued = _issue()
    message = codec.decode(issued.qr_payload)
    protected = cbor2.dumps({1: -7, 4: message.kid}, canonical=True)
    payload = message.payload.replace(b"\x61s\x00", b"\x61s\x18\x00")  # "s": 0, long head
    signature = KEY.sign(codec._sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    text = "GK1:" + b45encode(zlib.compress(cose, 9))
    verifier = CertificateVerifier(
        _trust(KEY), status=_published(StatusList(64, list_id="x")), clock=FixedClock(T0)
    )
    with pytest.raises(CertificateFormatError) as caught:
        verifier.verify(text)
    assert caught.value.code == "certificate.format"
    assert caught.value.context["reason"] == "cwt"


def test_licence_with_an_int_field_and_no_index_reads_and_verifies() -> None:
    statuses = StatusList(64, list_id="gd-licences-2026")
    issuer = _issuer(statuses=statuses)
    issued = issuer.issue(
        "driving-licence",
        holder=HOLDER,
        fields=DRIVING,
        valid_from=date(2021, 6, 1),
        valid_until=date(2031, 6, 1),
    )
    payload = _payload_claims(issued.qr_payload)
    assert _fixed_licence_claims(payload) == cbor2.loads(payload)
    claims = cbor2.loads(payload)
    del claims[LICENCE_CLAIM]["s"]
    claims[LICENCE_CLAIM]["f"][2] = True
    bare = cbor2.dumps(claims, canonical=True)
    assert _fixed_licence_claims(bare) == claims


# --- the time check --------------------------------------------------------------------

_SECONDS = st.integers(0, 3 * 10**9)


def _outcome(call: Any) -> tuple[str, str | None]:
    try:
        call()
    except GovkitError as exc:
        return exc.code, exc.context.get("claim")
    return "ok", None


@SOME
@given(_SECONDS, _SECONDS, _SECONDS, _SECONDS)
def test_time_check_refuses_exactly_what_check_times_refuses(
    iat: int, nbf: int, exp: int, moment: int
) -> None:
    issued = _issue()
    claims = dict(codec.decode(issued.qr_payload).claims)
    claims.update({codec.IAT: iat, codec.NBF: nbf, codec.EXP: exp})
    text = codec.encode(claims, KEY, kid=codec.cose_kid(KEY.verifying_key))
    at = datetime.fromtimestamp(moment, UTC)
    # a trust list and key that cover every issue time, so only the times can fail
    key = TrustedKey.for_key(KEY.verifying_key, {"driving-licence"})
    trust = TrustList((TrustedIssuer(POLICE, (key,)),), 1, at, at + timedelta(days=1))
    verifier = CertificateVerifier(trust, unsafe_skip_status=True)
    slow = _outcome(lambda: codec.check_times(claims, at=at))
    fast = _outcome(lambda: verifier.verify(text, at=at))
    event(f"{slow[0]} {slow[1] or ''}")
    assert fast == slow


def test_time_check_bounds_are_inclusive_at_exp_and_exclusive_before_nbf() -> None:
    claims = dict(codec.decode(_issue().qr_payload).claims)
    start = int(T0.timestamp())
    claims.update({codec.IAT: start, codec.NBF: start, codec.EXP: start + 60})
    text = codec.encode(claims, KEY, kid=codec.cose_kid(KEY.verifying_key))
    verifier = CertificateVerifier(_trust(KEY), unsafe_skip_status=True)
    verifier.verify(text, at=T0)
    verifier.verify(text, at=T0 + timedelta(seconds=60))
    with pytest.raises(CertificateExpired):
        verifier.verify(text, at=T0 + timedelta(seconds=60, microseconds=1))
    with pytest.raises(CertificateNotYetValid) as caught:
        verifier.verify(text, at=T0 - timedelta(microseconds=1))
    assert caught.value.context["claim"] == "iat"


# --- the verifier's memos --------------------------------------------------------------


def test_issuer_status_list_memo_gives_what_a_fresh_verifier_gives() -> None:
    statuses = StatusList(64, list_id="gd-licences-2026")
    issuer = _issuer(statuses=statuses)
    good, revoked = _issue(issuer), _issue(issuer)
    issuer.revoke(revoked)
    verifier = CertificateVerifier(_trust(KEY), status=_published(statuses), clock=FixedClock(T0))
    for _ in range(2):
        assert verifier.verify(good.qr_payload).status is Status.VALID
        assert not verifier.inspect(revoked.qr_payload).ok
    assert len(verifier._issuer_lists) == 1
    fresh = CertificateVerifier(_trust(KEY), status=_published(statuses), clock=FixedClock(T0))
    assert fresh._issuer_lists == {}  # nothing shared between two verifiers
    assert fresh.inspect(revoked.qr_payload).code == verifier.inspect(revoked.qr_payload).code


def test_several_lists_of_one_issuer_are_refused_on_every_call_not_remembered() -> None:
    first, second = StatusList(64, list_id="gd-a"), StatusList(64, list_id="gd-b")
    issued = _issue(_issuer(statuses=first))
    verifier = CertificateVerifier(
        _trust(KEY), status=[_published(first), _published(second)], clock=FixedClock(T0)
    )
    for _ in range(2):
        with pytest.raises(CertificateStatusUnknown) as caught:
            verifier.verify(issued.qr_payload)
        assert caught.value.context["reason"] == "several_lists"
    assert verifier._issuer_lists == {}


def test_status_list_source_is_asked_on_every_call(tmp_path: Any) -> None:
    statuses = StatusList(64, list_id="gd-licences-2026")
    issuer = _issuer(statuses=statuses)
    issued = _issue(issuer)
    path = tmp_path / "status.json"
    clock = FixedClock(T0)
    path.write_bytes(
        sign_status_list(statuses, KEY, issued_at=T0, expires_at=T0 + timedelta(days=1), sequence=1)
    )
    source = StatusListSource(path, [KEY.verifying_key], clock=clock, ttl=timedelta(minutes=1))
    verifier = CertificateVerifier(_trust(KEY), status=source, clock=clock)
    assert verifier.verify(issued.qr_payload).status is Status.VALID
    issuer.revoke(issued)
    path.write_bytes(
        sign_status_list(statuses, KEY, issued_at=T0, expires_at=T0 + timedelta(days=1), sequence=2)
    )
    clock.advance(timedelta(hours=2))  # past the source's refetch interval
    report = verifier.inspect(issued.qr_payload)
    assert report.code == "certificate.revoked"
    assert verifier._issuer_lists == {}


def test_issuer_status_list_memo_stays_bounded() -> None:
    statuses = StatusList(64, list_id="gd-licences-2026")
    verifier = CertificateVerifier(_trust(KEY), status=_published(statuses), clock=FixedClock(T0))
    assert verifier._status is not None
    trusted = _trust(KEY).issuers[0]
    for _ in range(_MAX_ISSUERS + 20):
        other = TrustedIssuer(trusted.agency, trusted.keys)  # equal, another object
        assert verifier._signed_list(verifier._status, other, T0) is not None
        assert len(verifier._issuer_lists) <= _MAX_ISSUERS


@st.composite
def identifiers(draw: st.DrawFn) -> str:
    registry = LicenceRegistry.default()
    kind = registry.get(draw(st.sampled_from(sorted(registry))))
    uscc = draw(st.sampled_from((POLICE.uscc, "11440100MB2C92923F", "91350100M000100Y4X")))
    serial = draw(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZa.", min_size=0, max_size=66))
    version = draw(st.text("0123456789a", min_size=2, max_size=4))
    check = draw(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=1))
    return f"1.2.156.3005.2.{kind.type_code}.{uscc}.{serial}.{version}.{check}"


_SHARED_MEMO = _IdMemo()  # one memo across every example: no result may depend on another


@SOME
@given(identifiers(), st.sampled_from((POLICE.uscc, None)))
def test_identifier_memo_gives_the_result_without_it(text: str, known: str | None) -> None:
    codes = LicenceRegistry.default()._by_code

    def parse(memo: _IdMemo | None) -> tuple[str, Any]:
        try:
            return "ok", _known_id_codes(text, codes, known, memo)
        except LicenceDataInvalid as exc:
            return "error", (exc.code, exc.message, dict(exc.context))

    assert parse(_SHARED_MEMO) == parse(None)
    assert len(_SHARED_MEMO._states) <= _ID_MEMO_MAX


def test_identifier_memo_stays_bounded_and_is_the_verifiers_own() -> None:
    memo = _IdMemo()
    for n in range(_ID_MEMO_MAX + 10):
        memo.state(f"{n:021d}", POLICE.uscc)
        assert len(memo._states) <= _ID_MEMO_MAX
    one = CertificateVerifier(_trust(KEY), unsafe_skip_status=True)
    two = CertificateVerifier(_trust(KEY), unsafe_skip_status=True)
    one.verify(_issue().qr_payload, at=T0)
    assert one._id_memo is not two._id_memo
    assert len(one._id_memo._states) == 1  # the police's driving licences
    assert two._id_memo._states == {}


def test_verify_reads_the_issuers_claims_without_cbor2_and_remembers_the_header() -> None:
    verifier = CertificateVerifier(_trust(KEY), unsafe_skip_status=True)
    verifier.verify(_issue().qr_payload, at=T0)
    memo = verifier._codec_memo
    assert len(memo._headers) == 1  # the protected header, by its bytes
    assert memo._key_orders == {}  # the claims: read by _fixed_licence_claims


class CountingLists(StatusLists):
    """Status lists that count how often the verifier looks an issuer's list up."""

    __slots__ = ("calls",)

    def signed_by(self, kids: Any, at: datetime) -> SignedStatusList | None:
        self.calls += 1
        return super().signed_by(kids, at)


def test_issuer_status_list_is_looked_up_once_per_trusted_issuer() -> None:
    statuses = StatusList(64, list_id="gd-licences-2026")
    issued = _issue(_issuer(statuses=statuses))
    trust = _trust(KEY)
    verifier = CertificateVerifier(trust, status=_published(statuses), clock=FixedClock(T0))
    counting = CountingLists([_published(statuses)])
    counting.calls = 0
    verifier._status = counting
    for _ in range(3):
        assert verifier.verify(issued.qr_payload).status is Status.VALID
    assert counting.calls == 1
    (entry,) = verifier._issuer_lists.values()
    assert entry[0] is trust.issuers[0]
    assert entry[1] is not None
    assert entry[1].list_id == "gd-licences-2026"


def test_licence_from_claims_sets_every_field() -> None:
    issued = _issue()
    claims = codec.decode(issued.qr_payload).claims[LICENCE_CLAIM]
    licence = Licence.from_claims(
        claims, LicenceRegistry.default(), agency_name=POLICE.name, agency=POLICE
    )
    assert licence == issued.licence


# --- regular expressions replaced by str methods ----------------------------------------

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PSEUDONYM = re.compile(r"[A-Za-z0-9_-]{8,128}")


@SOME
@given(
    st.one_of(
        st.text("0123456789-/ x\u0660\u00b2", max_size=12),
        st.dates().map(date.isoformat),
        st.text(max_size=11),
    )
)
def test_iso_date_check_accepts_exactly_the_regular_expression(text: str) -> None:
    expected = None
    if _ISO_DATE.fullmatch(text):
        try:
            expected = date.fromisoformat(text)
        except ValueError:
            expected = None
    assert parse_iso_date(text) == expected


@SOME
@given(
    st.one_of(
        st.text("aZ09_-.\u00e9 \u0660", min_size=6, max_size=10),
        st.text("ab_-", min_size=126, max_size=130),
        st.text(max_size=12),
    )
)
def test_pseudonym_check_accepts_exactly_the_regular_expression(text: str) -> None:
    if _PSEUDONYM.fullmatch(text):
        assert Holder(text, "pseudonym").reference == text
    else:
        with pytest.raises(LicenceDataInvalid) as caught:
            Holder(text, "pseudonym")
        assert caught.value.context["reason"] == "format"


# --- status bits -------------------------------------------------------------------------


def test_status_bits_map_to_the_enums_members() -> None:
    for value in range(3):
        for index in range(4):
            bits = bytes([value << (2 * index)])
            assert _status_at(bits, index) is Status(value)
    with pytest.raises(ValueError, match="3"):
        _status_at(b"\x03", 0)


def test_fixed_claims_reader_is_not_used_below_its_depth() -> None:
    text = _issue().qr_payload
    read = codec.decode(text, canonical=True, _fixed_claims=_fixed_licence_claims)
    assert read.claims == codec.decode(text, canonical=True).claims
    for depth in (16, 3):  # deep enough: the reader reads the claims, cbor2 does not
        memo = codec._CodecMemo()  # remembers key orders only when cbor2 decodes claims
        codec.decode(
            text, canonical=True, max_depth=depth, _memo=memo, _fixed_claims=_fixed_licence_claims
        )
        assert memo._key_orders == {}, depth
    plain = codec._CodecMemo()
    codec.decode(text, canonical=True, _memo=plain)
    assert plain._key_orders  # without the reader, cbor2 decodes the claims
    with pytest.raises(CertificateFormatError) as caught:  # the claims nest 3 deep
        codec.decode(text, canonical=True, max_depth=2, _fixed_claims=_fixed_licence_claims)
    assert caught.value.context["reason"] == "cwt"


# --- the reader's own refusals (mutation survivors of the fast paths) --------------------


def _issued_claims() -> dict[Any, Any]:
    return dict(cbor2.loads(_payload_claims(_issue().qr_payload)))


def _verify_claims(claims: dict[Any, Any]) -> CertificateFormatError:
    text = codec.encode(claims, KEY, kid=codec.cose_kid(KEY.verifying_key))
    verifier = CertificateVerifier(
        _trust(KEY), status=_published(StatusList(64, list_id="x")), clock=FixedClock(T0)
    )
    with pytest.raises(CertificateFormatError) as caught:
        verifier.verify(text)
    return caught.value


def test_licence_under_another_claim_key_is_refused_as_no_licence() -> None:
    claims = _issued_claims()
    claims[LICENCE_CLAIM - 1] = claims.pop(LICENCE_CLAIM)  # -65538: the key's last byte
    payload = cbor2.dumps(claims, canonical=True)
    assert b"\x3a\x00\x01\x00\x01\xa5\x61f" in payload  # all else the issuer's shape
    assert _fixed_licence_claims(payload) is None
    error = _verify_claims(claims)
    assert error.code == "certificate.format"
    assert error.context["reason"] == "claims"


@pytest.mark.parametrize("at", [0, 1])
def test_licence_with_a_holder_that_is_not_text_is_refused_as_malformed(at: int) -> None:
    claims = _issued_claims()
    holder = list(claims[LICENCE_CLAIM]["h"])
    holder[at] = 5
    claims[LICENCE_CLAIM]["h"] = holder
    assert _fixed_licence_claims(cbor2.dumps(claims, canonical=True)) is None
    error = _verify_claims(claims)
    assert error.code == "certificate.format"
    assert error.context["reason"] == "licence"
    assert error.context["field"] == "holder"
    assert error.context["detail"] == "certificate.data_invalid"
    assert "expected two text values" in error.message


@pytest.mark.parametrize("index", [0, 23, 24, 25, 255, 256, 0xFFFF, 0x10000, 2**32 - 1])
def test_fixed_claims_reader_reads_every_shortest_status_index_head(index: int) -> None:
    claims = _issued_claims()
    claims[LICENCE_CLAIM]["s"] = index
    payload = cbor2.dumps(claims, canonical=True)
    read = _fixed_licence_claims(payload)
    assert read is not None
    assert read == claims


@pytest.mark.parametrize("first", [True, False, None, ""])
def test_fixed_claims_reader_leaves_24_field_values_to_the_canonical_decoder(
    first: Any,
) -> None:
    # 24 values take an array head of two bytes (98 18): the reader reads fewer than 24
    claims = _issued_claims()
    claims[LICENCE_CLAIM]["f"] = [first, *["x"] * 23]
    payload = cbor2.dumps(claims, canonical=True)
    assert b"\x61f\x98\x18" in payload
    assert _fixed_licence_claims(payload) is None
    assert _canonical(payload) == ("ok", claims)
    claims[LICENCE_CLAIM]["f"] = [first, *["x"] * 22]  # 23: read here
    assert _fixed_licence_claims(cbor2.dumps(claims, canonical=True)) == claims


@pytest.mark.parametrize("size", [23, 24, 25, 255])
def test_fixed_claims_reader_reads_texts_of_every_head_size(size: int) -> None:
    claims = _issued_claims()
    claims[LICENCE_CLAIM]["i"] = "x" * size
    claims[LICENCE_CLAIM]["f"][0] = "y" * size
    read = _fixed_licence_claims(cbor2.dumps(claims, canonical=True))
    assert read is not None
    assert read == claims


def test_fixed_claims_reader_reads_the_index_after_any_identifier() -> None:
    claims = _issued_claims()
    claims[LICENCE_CLAIM]["i"] = "x\x01x"  # bytes below 24 just before the index
    for index in (5, 300):
        claims[LICENCE_CLAIM]["s"] = index
        assert _fixed_licence_claims(cbor2.dumps(claims, canonical=True)) == claims
