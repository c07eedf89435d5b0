"""Evidence for :class:`JwksSource` that needs no network: URL policy, parsing, cache lifetimes.

Responses come from a scripted :class:`requests` transport adapter (a fake of the one
backend ``requests`` lets you swap); the real HTTP behaviour (redirects, timeouts,
streaming caps, rotation against a live server) is in
``tests/integration/identity/test_jwks_http.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from govkit.errors import ConfigurationError, JwksError, NaiveDatetimeError, UnknownKey
from govkit.identity import SourcePolicy
from govkit.identity._jwks import JwksSource, _cache_ttl
from govkit.keys import KeyRing, SigningKey
from govkit.testing import FixedClock

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
URL = "https://idp.example.gov/.well-known/jwks.json"


class ScriptedAdapter(BaseAdapter):
    """Answers every request with the next scripted (status, headers, body); counts requests."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")
        self.requests: list[tuple[requests.PreparedRequest, dict[str, Any]]] = []

    def serve(self, document: Any, **headers: str) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.answer = (200, {"Content-Type": "application/json", **headers}, body)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append((request, kwargs))
        status, headers, body = self.answer
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response.raw = io.BytesIO(body)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def adapter() -> ScriptedAdapter:
    return ScriptedAdapter()


@pytest.fixture
def session(adapter: ScriptedAdapter) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        yield session


@pytest.fixture
def source(session: requests.Session, clock: FixedClock) -> JwksSource:
    return JwksSource(URL, session=session, clock=clock)


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ("EdDSA", "ES256", "PS256", "RS256")}


def jwk(key: SigningKey, **changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**key.verifying_key.to_jwk(), **changes}.items() if v is not None}


# --- URL policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://idp.example.gov/jwks.json",
        "https://idp.example.gov:8443/keys?tenant=gov",
        "http://127.0.0.1:8080/jwks.json",
        "http://127.8.9.10/jwks.json",
        "http://[::1]:9000/jwks.json",
        "http://localhost/jwks.json",
        "HTTPS://IDP.EXAMPLE.GOV/jwks.json",
    ],
)
def test_https_urls_and_loopback_http_urls_are_accepted(url: str) -> None:
    assert JwksSource(url).url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example.gov/jwks.json",
        "http://10.0.0.1/jwks.json",
        "http://localhost.evil.example/jwks.json",
        "file:///etc/passwd",
        "ftp://idp.example.gov/jwks.json",
        "https:///jwks.json",
        "https://user:secret@idp.example.gov/jwks.json",
        "https://idp.example.gov/jwks.json#frag",
        "https://idp.example.gov:99999/jwks.json",
        "https://idp.exämple.gov/jwks.json",
        "/jwks.json",
    ],
)
def test_plain_http_to_other_hosts_and_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        JwksSource(url)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"max_bytes": 0},
        {"max_keys": 0},
        {"min_ttl": timedelta(0)},
        {"min_ttl": timedelta(hours=2), "max_ttl": timedelta(hours=1)},
        {"max_stale": timedelta(seconds=-1)},
        {"refetch_cooldown": 30},
        {"alg": "HS256"},
        {"alg": "none"},
    ],
)
def test_impossible_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JwksSource(URL, **options)


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"policy": SourcePolicy(timeout=1.0), "timeout": 2.0}, "timeout"),
        ({"policy": SourcePolicy(ttl=timedelta(minutes=1)), "default_ttl": timedelta(1)}, "ttl"),
        ({"policy": SourcePolicy(min_sequence=3)}, "min_sequence"),
    ],
    ids=["timeout_twice", "ttl_twice", "min_sequence_does_not_apply"],
)
def test_a_policy_that_conflicts_or_does_not_apply_is_refused(
    options: dict[str, Any], argument: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        JwksSource(URL, **options)
    assert caught.value.context["argument"] == argument


def test_the_policy_sets_the_fetch_limits(
    adapter: ScriptedAdapter,
    session: requests.Session,
    clock: FixedClock,
    keys: dict[str, SigningKey],
) -> None:
    policy = SourcePolicy(timeout=2.5, max_bytes=100)
    source = JwksSource(URL, session=session, clock=clock, policy=policy)
    adapter.serve({"keys": [jwk(keys["EdDSA"])]})
    with pytest.raises(JwksError) as caught:
        source.get(keys["EdDSA"].kid)
    assert caught.value.context["reason"] == "too_large"
    ((_, options),) = adapter.requests
    assert options["timeout"] == 2.5


def test_nothing_is_fetched_on_construction(adapter: ScriptedAdapter, source: JwksSource) -> None:
    assert adapter.requests == []


def test_request_is_a_bounded_get_with_a_jwks_accept_header(
    adapter: ScriptedAdapter, source: JwksSource, keys: dict[str, SigningKey]
) -> None:
    adapter.serve({"keys": [jwk(keys["EdDSA"])]})
    source.get(keys["EdDSA"].kid)
    ((request, options),) = adapter.requests
    assert (request.method, request.url) == ("GET", URL)
    assert "application/jwk-set+json" in str(request.headers["Accept"])
    assert options["timeout"] == 5.0
    assert options["stream"] is True


# --- parsing ------------------------------------------------------------------------


def test_keys_are_found_by_their_jwk_kid_and_their_thumbprint(
    adapter: ScriptedAdapter, source: JwksSource, keys: dict[str, SigningKey]
) -> None:
    key = keys["ES256"]
    adapter.serve({"keys": [jwk(key, kid="2026-05-signing")]})
    assert source.get("2026-05-signing") == key.verifying_key
    assert source.get(key.kid) == key.verifying_key


def test_unusable_keys_are_skipped_and_usable_ones_kept(
    adapter: ScriptedAdapter, source: JwksSource, keys: dict[str, SigningKey]
) -> None:
    usable = keys["EdDSA"]
    adapter.serve(
        {
            "keys": [
                jwk(keys["ES256"], use="enc", kid="enc-key"),
                {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "kid": "hmac"},
                {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "p384"},
                {"kty": "OKP", "crv": "X25519", "x": "AA", "kid": "x25519"},
                jwk(keys["PS256"], alg="RS384", kid="rs384"),
                jwk(keys["PS256"], alg=None, kid="rsa-without-alg"),
                jwk(keys["ES256"], key_ops=["encrypt"], kid="ops-encrypt"),
                jwk(keys["ES256"], kid=17),
                "not an object",
                {"kty": "EC", "crv": "P-256", "x": "!!", "y": "!!", "kid": "broken"},
                jwk(usable, kid="good"),
            ]
        }
    )
    assert source.get("good") == usable.verifying_key
    ring = source.keys()
    assert len(ring) == 1
    for kid in ("enc-key", "hmac", "p384", "x25519", "rs384", "rsa-without-alg", "ops-encrypt"):
        assert kid not in ring


def test_alg_setting_applies_to_keys_without_one(
    adapter: ScriptedAdapter,
    session: requests.Session,
    clock: FixedClock,
    keys: dict[str, SigningKey],
) -> None:
    source = JwksSource(URL, session=session, clock=clock, alg="RS256")
    adapter.serve({"keys": [jwk(keys["RS256"], alg=None, kid="rsa")]})
    assert source.get("rsa").alg == "RS256"


def test_a_second_key_claiming_a_taken_kid_is_skipped(
    adapter: ScriptedAdapter, source: JwksSource, keys: dict[str, SigningKey]
) -> None:
    first, second = keys["EdDSA"], keys["ES256"]
    adapter.serve({"keys": [jwk(first, kid="same"), jwk(second, kid="same")]})
    assert source.get("same") == first.verifying_key
    ring = source.keys()
    assert second.kid not in ring


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"keys": []}, "no_usable_key"),
        ({"keys": [{"kty": "oct", "k": "AAAA"}]}, "no_usable_key"),
        ({"keys": {"a": 1}}, "jwks"),
        ({"jwks": []}, "jwks"),
        (b"[]", "json"),
        (b'{"keys": [], "keys": []}', "json"),
        (b"\xff\xfe{}", "json"),
        (b"[" * 5000 + b"]" * 5000, "json"),
    ],
    ids=[
        "empty",
        "only_hmac",
        "keys_not_list",
        "no_keys",
        "array",
        "duplicate",
        "not_utf8",
        "deep",
    ],
)
def test_a_set_without_usable_keys_is_a_failed_fetch(
    document: Any, reason: str, adapter: ScriptedAdapter, source: JwksSource
) -> None:
    adapter.serve(document)
    with pytest.raises(JwksError) as caught:
        source.get("any")
    assert caught.value.code == "jwks.unavailable"
    assert caught.value.context["reason"] == reason


def test_more_than_max_keys_is_a_failed_fetch(
    adapter: ScriptedAdapter,
    session: requests.Session,
    clock: FixedClock,
    keys: dict[str, SigningKey],
) -> None:
    source = JwksSource(URL, session=session, clock=clock, max_keys=2)
    adapter.serve({"keys": [jwk(keys["EdDSA"], kid=f"k{i}") for i in range(3)]})
    with pytest.raises(JwksError) as caught:
        source.get("k0")
    assert caught.value.context["reason"] == "too_many_keys"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/jwk-set+json", "Application/JSON; charset=utf-8"],
)
def test_json_content_types_are_accepted(
    content_type: str, adapter: ScriptedAdapter, source: JwksSource, keys: dict[str, SigningKey]
) -> None:
    adapter.serve({"keys": [jwk(keys["EdDSA"])]}, **{"Content-Type": content_type})
    assert source.get(keys["EdDSA"].kid)


# --- lookups that never fetch ----------------------------------------------------


@pytest.mark.parametrize("kid", ["", "x" * 257, None, 7])
def test_malformed_kids_are_unknown_without_a_fetch(
    kid: Any, adapter: ScriptedAdapter, source: JwksSource
) -> None:
    with pytest.raises(UnknownKey):
        source.get(kid)
    assert adapter.requests == []


def test_naive_verification_time_is_refused(source: JwksSource) -> None:
    with pytest.raises(NaiveDatetimeError):
        source.get("k", at=datetime(2026, 5, 4, 8))


def test_keys_snapshot_is_a_copy(
    adapter: ScriptedAdapter, source: JwksSource, keys: dict[str, SigningKey]
) -> None:
    adapter.serve({"keys": [jwk(keys["EdDSA"], kid="a")]})
    snapshot = source.keys()
    assert isinstance(snapshot, KeyRing)
    snapshot.add(keys["ES256"])
    again = source.keys()
    assert keys["ES256"].kid not in again
    assert "a" in again


# --- cache lifetimes ----------------------------------------------------------------

DEFAULT, LOW, HIGH = timedelta(minutes=5), timedelta(seconds=30), timedelta(hours=24)


@pytest.mark.parametrize(
    ("cache_control", "age", "ttl"),
    [
        (None, None, DEFAULT),
        ("", None, DEFAULT),
        ("public", None, DEFAULT),
        ("max-age=600", None, timedelta(seconds=600)),
        ("public, max-age=600, must-revalidate", None, timedelta(seconds=600)),
        ("MAX-AGE=600", None, timedelta(seconds=600)),
        ('max-age="600"', None, timedelta(seconds=600)),
        ("max-age=600", "100", timedelta(seconds=500)),
        ("max-age=600", "junk", timedelta(seconds=600)),
        ("max-age=600, max-age=60", None, timedelta(seconds=60)),
        ("max-age=1", None, LOW),
        ("max-age=0", None, LOW),
        ("max-age=600", "9999", LOW),
        ("max-age=99999999999", None, HIGH),
        ("max-age=-5", None, DEFAULT),
        ("max-age=abc", None, DEFAULT),
        ("max-age=" + "9" * 40, None, DEFAULT),
        ("no-store", None, LOW),
        ("max-age=600, no-cache", None, LOW),
        ("private, No-Store", None, LOW),
        ("s-maxage=600", None, DEFAULT),
    ],
)
def test_cache_lifetime_follows_cache_control(
    cache_control: str | None, age: str | None, ttl: timedelta
) -> None:
    got = _cache_ttl(cache_control, age, default_ttl=DEFAULT, min_ttl=LOW, max_ttl=HIGH)
    assert got == ttl
