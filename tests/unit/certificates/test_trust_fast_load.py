"""Loading a trust list in one pass refuses exactly what the issuer-by-issuer reader refused.

``load_trust_list`` checks and builds an issuer of the common shape (name, USCC, plain
``https`` status URL, P-256 or Ed25519 keys in govkit's exact JWK form) in one pass,
without the models checking it again, and hands every other issuer, and every issuer
that pass does not accept, to the reader it used before (``_issuer_from_json``). Each
test here signs a list with one issuer deep inside changed, loads it, and holds the
outcome against that reader applied to every issuer: the same list, or the same error
(class, code, context and message).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from govkit._encoding import b64url_encode
from govkit.certificates import _trust
from govkit.certificates._envelope import sign_envelope
from govkit.certificates._model import Agency
from govkit.certificates._trust import (
    TRUST_LIST_TYPE,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_trust_list,
)
from govkit.errors import GovkitError, TrustListInvalid
from govkit.keys import SigningKey, VerifyingKey
from govkit.keys._keys import _P256_P

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("ES256")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ISSUERS = 300
VICTIM = ISSUERS - 2  # deep in the list, not last


def uscc(number: int) -> str:
    body = f"11440100{number:09d}"
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[-total % 31]


def filler_key(rng: random.Random) -> VerifyingKey:
    return VerifyingKey(ed25519.Ed25519PublicKey.from_public_bytes(rng.randbytes(32)))


def make_body(count: int = ISSUERS, seed: int = 3) -> dict[str, Any]:
    """A list's ``trust_list`` member: Ed25519 fillers, a P-256 key every 25th issuer
    (and at the victim), validity windows on some, the 1.1 members on a few."""
    rng = random.Random(seed)
    window = {"not_before": T0 - timedelta(days=30), "not_after": T0 + timedelta(days=365)}
    issuers = []
    for n in range(count):
        p256 = n % 25 == 0 or n == VICTIM
        key = SigningKey.generate("ES256").verifying_key if p256 else filler_key(rng)
        types = {"driving-licence"} if n % 3 else {"driving-licence", "vehicle-licence"}
        trusted = TrustedKey.for_key(key, types, **(window if n % 2 else {}))
        issuer = TrustedIssuer(Agency(f"广东省测试机构第{n}号", uscc(n)), (trusted,))
        if n == 10:
            issuer = TrustedIssuer(issuer.agency, issuer.keys, status_url="https://gd.example/s")
        if n == 11:
            issuer = TrustedIssuer(issuer.agency, issuer.keys, frozenset({"ES256"}))
        if n == 12:
            issuer = TrustedIssuer(issuer.agency, issuer.keys, pdf_signer_spki={bytes(32)})
        if n == 13:
            second = TrustedKey.for_key(filler_key(rng), {"driving-licence"}, **window)
            issuer = TrustedIssuer(issuer.agency, (*issuer.keys, second))
        issuers.append(issuer)
    trust = TrustList(tuple(issuers), 1, T0 - timedelta(days=1), T0 + timedelta(days=7))
    return trust.to_json()


BODY = make_body()


def sign(body: dict[str, Any]) -> bytes:
    return sign_envelope(TRUST_LIST_TYPE, "trust_list", body, ANCHOR)


@contextmanager
def issuer_by_issuer() -> Iterator[None]:
    """The reader before the one-pass load: every issuer through ``_issuer_from_json``."""
    one_pass = _trust._issuers_from_json
    _trust._issuers_from_json = lambda issuers: tuple(map(_trust._issuer_from_json, issuers))
    try:
        yield
    finally:
        _trust._issuers_from_json = one_pass


def outcome(data: bytes) -> tuple[Any, ...]:
    try:
        loaded = load_trust_list(data, [ANCHOR.verifying_key], at=T0)
    except GovkitError as exc:
        return ("refused", type(exc), exc.code, exc.message, dict(exc.context))
    kids = {key.kid for issuer in loaded.issuers for key in issuer.keys}
    index = {kid: loaded.candidates(kid) for kid in kids}
    return ("loaded", loaded, index)


def same_as_before(body: dict[str, Any]) -> tuple[Any, ...]:
    data = sign(body)
    now = outcome(data)
    with issuer_by_issuer():
        before = outcome(data)
    assert now == before
    if now[0] == "loaded":  # equal, and equal field by field (times, sets, keys)
        for new, old in zip(now[1].issuers, before[1].issuers, strict=True):
            assert repr(new) == repr(old)
            assert new.agency == old.agency
            assert new.status_url == old.status_url
            for k_new, k_old in zip(new.keys, old.keys, strict=True):
                assert (k_new.key.to_jwk(), k_new.not_before, k_new.not_after) == (
                    k_old.key.to_jwk(),
                    k_old.not_before,
                    k_old.not_after,
                )
    return now


def changed(change: Callable[[dict[str, Any]], None], at: int = VICTIM) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    change(body["issuers"][at])
    return body


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``value`` at ``path`` (dotted; a number indexes an array) of the issuer."""

    def change(issuer: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = issuer
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(issuer: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = issuer
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return change


def _victim_jwk() -> dict[str, Any]:
    return dict(BODY["issuers"][VICTIM]["keys"][0]["jwk"])


def _p256_numbers() -> tuple[int, int]:
    key = VerifyingKey.from_jwk(_victim_jwk())
    numbers = key.public_key.public_numbers()  # type: ignore[union-attr]
    return numbers.x, numbers.y


def _coordinate(value: int) -> str:
    return b64url_encode(value.to_bytes(32, "big"))


_X, _Y = _p256_numbers()
_KEY = "keys.0"
#: name -> a change of the victim issuer; each is loaded and held against the reader before.
CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "unchanged": lambda issuer: None,
    # the agency
    "name_empty": _set("name", ""),
    "name_padded": _set("name", " 广州市公安局"),
    "name_newline": _set("name", "广州市\n公安局"),
    "name_too_long": _set("name", "局" * 129),
    "name_at_the_limit": _set("name", "局" * 128),
    "name_zero_width_space": _set("name", "广州市\u200b公安局"),
    "name_ideographic_space": _set("name", "广州市\u3000公安局"),
    "name_not_text": _set("name", 7),
    "name_missing": _drop("name"),
    "uscc_wrong_check": _set("uscc", uscc(VICTIM)[:-1] + "0"),
    "uscc_lower_case": _set("uscc", "11440100mb2c92923f"),
    "uscc_short": _set("uscc", uscc(VICTIM)[:-1]),
    "uscc_not_text": _set("uscc", 11440100),
    "uscc_missing": _drop("uscc"),
    # the issuer's members
    "issuer_empty_object": lambda issuer: issuer.clear(),
    "unknown_issuer_member": _set("motto", "为人民服务"),
    "status_url_plain_https": _set("status_url", "https://gd.example/status.json"),
    "status_url_loopback_http": _set("status_url", "http://127.0.0.1:8080/status.json"),
    "status_url_http": _set("status_url", "http://gd.example/status.json"),
    "status_url_too_long": _set("status_url", "https://gd.example/" + "a" * 300),
    "status_url_null": _set("status_url", None),
    "status_url_not_text": _set("status_url", 7),
    "required_algorithms": _set("required_algorithms", ["ES256"]),
    "required_algorithms_unknown": _set("required_algorithms", ["HS256"]),
    "pdf_signers": _set("pdf_signers", {"spki_sha256": ["ab" * 32]}),
    "pdf_signers_empty": _set("pdf_signers", {}),
    "keys_not_an_array": _set("keys", {}),
    "keys_empty": _set("keys", []),
    "keys_missing": _drop("keys"),
    "too_many_keys": lambda issuer: issuer.update(keys=issuer["keys"] * 257),
    "the_same_key_twice": lambda issuer: issuer.update(keys=issuer["keys"] * 2),
    "two_keys": lambda issuer: issuer["keys"].append(copy.deepcopy(BODY["issuers"][1]["keys"][0])),
    # a key's members
    "key_not_an_object": _set(_KEY, "key"),
    "key_missing_kid": _drop(f"{_KEY}.kid"),
    "key_missing_withdrawn": _drop(f"{_KEY}.withdrawn"),
    "unknown_key_member": _set(f"{_KEY}.comment", "新"),
    "kid_seven_bytes": _set(f"{_KEY}.kid", b64url_encode(bytes(7))),
    "kid_nine_bytes": _set(f"{_KEY}.kid", b64url_encode(bytes(9))),
    "kid_padded": _set(f"{_KEY}.kid", b64url_encode(bytes(8)) + "="),
    "kid_trailing_bits": _set(f"{_KEY}.kid", "AAAAAAAAAAB"),
    "kid_not_text": _set(f"{_KEY}.kid", 8),
    "types_empty": _set(f"{_KEY}.licence_types", []),
    "types_duplicate": _set(f"{_KEY}.licence_types", ["driving-licence"] * 2),
    "types_bad_name": _set(f"{_KEY}.licence_types", ["Driving_Licence"]),
    "types_not_text": _set(f"{_KEY}.licence_types", [7]),
    "types_nested_array": _set(f"{_KEY}.licence_types", [["driving-licence"]]),
    "types_not_an_array": _set(f"{_KEY}.licence_types", "driving-licence"),
    "types_too_many": _set(f"{_KEY}.licence_types", [f"type-{n}" for n in range(65)]),
    "types_new_set": _set(f"{_KEY}.licence_types", ["boat-licence"]),
    "withdrawn_true": _set(f"{_KEY}.withdrawn", True),
    "withdrawn_zero": _set(f"{_KEY}.withdrawn", 0),
    "withdrawn_text": _set(f"{_KEY}.withdrawn", "false"),
    "not_before_fraction": _set(f"{_KEY}.not_before", "2026-05-01T00:00:00.5Z"),
    "not_before_no_such_day": _set(f"{_KEY}.not_before", "2026-02-30T00:00:00Z"),
    "not_before_offset": _set(f"{_KEY}.not_before", "2026-05-01T00:00:00+08:00"),
    "not_before_not_text": _set(f"{_KEY}.not_before", 1777000000),
    "not_after_before_not_before": lambda issuer: issuer["keys"][0].update(
        not_before="2027-01-01T00:00:00Z", not_after="2026-01-01T00:00:00Z"
    ),
    "window_empty": lambda issuer: issuer["keys"][0].update(
        not_before="2027-01-01T00:00:00Z", not_after="2027-01-01T00:00:00Z"
    ),
    "only_not_after": lambda issuer: issuer["keys"][0].update(not_after="2030-01-01T00:00:00Z"),
    # the key's JWK
    "jwk_point_off_the_curve": _set(f"{_KEY}.jwk.y", _coordinate(_Y ^ 1)),
    "jwk_x_is_the_prime": _set(f"{_KEY}.jwk.x", _coordinate(_P256_P)),
    "jwk_x_trailing_bits": lambda issuer: issuer["keys"][0]["jwk"].update(
        x=_victim_jwk()["x"][:-1] + ("B" if _victim_jwk()["x"][-1] == "A" else "A")
    ),
    "jwk_kid_not_the_thumbprint": _set(
        f"{_KEY}.jwk.kid", BODY["issuers"][0]["keys"][0]["jwk"]["kid"]
    ),
    "jwk_private_member": _set(f"{_KEY}.jwk.d", _victim_jwk()["x"]),
    "jwk_alg_mismatch": _set(f"{_KEY}.jwk.alg", "EdDSA"),
    "jwk_use_enc": _set(f"{_KEY}.jwk.use", "enc"),
    "jwk_missing_use": _drop(f"{_KEY}.jwk.use"),
    "jwk_not_an_object": _set(f"{_KEY}.jwk", "jwk"),
    "jwk_rsa": _set(f"{_KEY}.jwk", SigningKey.generate("RS256").verifying_key.to_jwk()),
    # what only the index sees
    "uscc_of_the_first_issuer": _set("uscc", BODY["issuers"][0]["uscc"]),
    "key_of_the_first_issuer": _set("keys", copy.deepcopy(BODY["issuers"][0]["keys"])),
    "nine_keys_sharing_a_kid": lambda issuer: issuer.update(
        keys=[
            {**copy.deepcopy(BODY["issuers"][n]["keys"][0]), "kid": "AAAAAAAAAAA"}
            for n in range(1, 10)
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_one_issuer_changed_deep_in_the_list_loads_or_is_refused_as_before(name: str) -> None:
    same_as_before(changed(CHANGES[name]))


@pytest.mark.parametrize("value", [[], "issuer", None, 7])
def test_an_issuer_that_is_not_an_object_is_refused_as_before(value: Any) -> None:
    body = copy.deepcopy(BODY)
    body["issuers"][VICTIM] = value
    assert same_as_before(body)[0] == "refused"


def test_the_first_refused_issuer_is_the_one_reported() -> None:
    body = changed(_set("name", ""), at=5)
    _set(f"{_KEY}.jwk.y", _coordinate(_Y ^ 1))(body["issuers"][VICTIM])
    result = same_as_before(body)
    assert result[0] == "refused"
    assert result[4]["reason"] == "content"
    assert "agency name" in result[3]


def test_an_issuer_refused_after_a_duplicate_uscc_is_refused_for_itself() -> None:
    # the index (duplicate USCC) is checked after every issuer is read, as before
    body = changed(_set("uscc", BODY["issuers"][0]["uscc"]), at=5)
    _set(f"{_KEY}.jwk.y", _coordinate(_Y ^ 1))(body["issuers"][VICTIM])
    result = same_as_before(body)
    assert result[0] == "refused"
    assert result[4]["reason"] == "jwk"


def test_a_duplicate_uscc_with_bad_list_times_is_refused_for_the_times_first() -> None:
    body = changed(_set("uscc", BODY["issuers"][0]["uscc"]))
    body["expires_at"] = body["issued_at"]
    result = same_as_before(body)
    assert result[0] == "refused"
    assert "expires_at" in result[3]


def test_a_list_of_the_common_shape_is_read_without_the_issuer_by_issuer_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = copy.deepcopy(BODY)
    del body["issuers"][10:14]  # the issuers with 1.1 members, and the one with two keys

    def refuse(obj: object) -> TrustedIssuer:
        raise AssertionError("the one-pass reader handed an issuer on")

    monkeypatch.setattr(_trust, "_issuer_from_json", refuse)
    loaded = load_trust_list(sign(body), [ANCHOR.verifying_key], at=T0)
    assert len(loaded.issuers) == ISSUERS - 4


def test_keys_that_share_validity_times_and_types_share_the_objects() -> None:
    loaded = load_trust_list(sign(BODY), [ANCHOR.verifying_key], at=T0)
    # (issuers 11 to 13 have members the one pass hands on: they are read as before)
    common = [i for n, i in enumerate(loaded.issuers) if n not in (11, 12, 13)]
    windowed = [i.keys[0] for i in common if i.keys[0].not_before is not None]
    assert len(windowed) > 100
    assert len({id(k.not_before) for k in windowed}) == 1
    assert len({id(k.not_after) for k in windowed}) == 1
    assert len({id(k.licence_types) for i in common for k in i.keys}) == 2


# --- a big list -------------------------------------------------------------------------

BIG = 5_000


@pytest.fixture(scope="module")
def big_body() -> dict[str, Any]:
    rng = random.Random(5)
    window = {"not_before": T0 - timedelta(days=30), "not_after": T0 + timedelta(days=365)}
    issuers = tuple(
        TrustedIssuer(
            Agency(f"广东省测试机构第{n}号", uscc(n)),
            (TrustedKey.for_key(filler_key(rng), {"driving-licence"}, **window),),
        )
        for n in range(BIG - 2)
    )
    victim = SigningKey.generate("ES256").verifying_key
    issuers += (
        TrustedIssuer(
            Agency("广东省测试机构第末号", uscc(BIG - 2)),
            (TrustedKey.for_key(victim, {"driving-licence"}, **window),),
        ),
        TrustedIssuer(
            Agency("广东省测试机构第终号", uscc(BIG - 1)),
            (TrustedKey.for_key(filler_key(rng), {"driving-licence"}, **window),),
        ),
    )
    return TrustList(issuers, 1, T0 - timedelta(days=1), T0 + timedelta(days=7)).to_json()


def _with_last_but_one(body: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> Any:
    """``body`` with its last issuer but one copied and changed (the rest shared)."""
    issuers = list(body["issuers"])
    issuers[-2] = copy.deepcopy(issuers[-2])
    change(issuers[-2])
    return {**body, "issuers": issuers}


def _refusal(body: dict[str, Any]) -> TrustListInvalid:
    with pytest.raises(TrustListInvalid) as refused:
        load_trust_list(sign(body), [ANCHOR.verifying_key], at=T0)
    return refused.value


def test_a_big_list_loads(big_body: dict[str, Any]) -> None:
    loaded = load_trust_list(sign(big_body), [ANCHOR.verifying_key], at=T0)
    assert len(loaded.issuers) == BIG
    last = loaded.issuers[-2].keys[0]
    assert loaded.candidates(last.kid) == [(loaded.issuers[-2], last)]


def test_a_duplicate_uscc_deep_in_a_big_list_is_refused(big_body: dict[str, Any]) -> None:
    body = _with_last_but_one(big_body, _set("uscc", big_body["issuers"][0]["uscc"]))
    refused = _refusal(body)
    assert (refused.code, refused.context["reason"]) == ("trust.invalid", "content")
    assert "share a USCC" in refused.message


def test_a_key_of_another_issuer_deep_in_a_big_list_is_refused(big_body: dict[str, Any]) -> None:
    body = _with_last_but_one(big_body, _set("keys", copy.deepcopy(big_body["issuers"][3]["keys"])))
    refused = _refusal(body)
    assert (refused.code, refused.context["reason"]) == ("trust.invalid", "content")
    assert "two issuers" in refused.message


def test_a_point_off_the_curve_deep_in_a_big_list_is_refused(big_body: dict[str, Any]) -> None:
    jwk = big_body["issuers"][-2]["keys"][0]["jwk"]
    public = VerifyingKey.from_jwk(jwk).public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    y = public.public_numbers().y
    refused = _refusal(_with_last_but_one(big_body, _set(f"{_KEY}.jwk.y", _coordinate(y ^ 1))))
    assert (refused.code, refused.context["reason"]) == ("trust.invalid", "jwk")


def test_a_malformed_issuer_deep_in_a_big_list_is_refused(big_body: dict[str, Any]) -> None:
    refused = _refusal(_with_last_but_one(big_body, _set(f"{_KEY}.kid", "AAAA")))
    assert (refused.code, refused.context["reason"]) == ("trust.invalid", "kid")
    refused = _refusal(_with_last_but_one(big_body, _set(f"{_KEY}.withdrawn", "no")))
    assert (refused.code, refused.context["reason"]) == ("trust.invalid", "layout")


def test_a_bad_agency_name_deep_in_a_big_list_is_refused(big_body: dict[str, Any]) -> None:
    refused = _refusal(_with_last_but_one(big_body, _set("name", "广东省\x00测试机构")))
    assert (refused.code, refused.context["reason"]) == ("trust.invalid", "content")
