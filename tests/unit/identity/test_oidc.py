"""govkit.identity.oidc without a provider: ID and logout token validation on tokens made
here (signed by a local key ring), step-up challenges, callback and flow-state checks.

The same client against a real provider is in tests/integration/oidc/test_client.py.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from govkit._encoding import b64url_decode, b64url_encode
from govkit.errors import ConfigurationError, GovkitError, message_for
from govkit.identity import AssuranceLevel
from govkit.identity.oidc import (
    IdTokenValidator,
    LogoutTokenValidator,
    OidcClient,
    parse_step_up_challenge,
)
from govkit.identity.oidc._client import _check_refreshed, _parse_metadata
from govkit.keys import KeyRing, SigningKey
from govkit.stores import MemoryFlowStore, MemoryReplayStore, new_flow_handle
from govkit.testing import FixedClock

ISSUER = "https://login.gov.example"
CLIENT = "tax-portal"
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
T = int(NOW.timestamp())
HIGH, SUBSTANTIAL, LOW = (
    level.acr for level in (AssuranceLevel.HIGH, AssuranceLevel.SUBSTANTIAL, AssuranceLevel.LOW)
)
KEY = SigningKey.generate("ES256")
RING = KeyRing(KEY)


def jws(
    claims: dict[str, Any], *, header: dict[str, Any] | None = None, key: SigningKey = KEY
) -> str:
    head = {"alg": key.alg, "kid": key.kid} if header is None else header
    signing_input = (
        b64url_encode(json.dumps(head).encode()) + "." + b64url_encode(json.dumps(claims).encode())
    )
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode()))


def id_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "sub": "citizen-0001",
        "aud": CLIENT,
        "exp": T + 300,
        "iat": T,
        "nonce": "n-123",
        "acr": SUBSTANTIAL,
        "auth_time": T - 60,
        "sid": "session-1",
        "amr": ["pwd", "sms"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def validator(**options: Any) -> IdTokenValidator:
    return IdTokenValidator(
        RING,
        issuer=ISSUER,
        client_id=CLIENT,
        algorithms=options.pop("algorithms", ["ES256"]),
        clock=FixedClock(NOW),
        **options,
    )


def code(call: Any) -> str:
    with pytest.raises(GovkitError) as caught:
        call()
    return caught.value.code


# --- ID tokens --------------------------------------------------------------------------


def test_valid_id_token() -> None:
    token = validator().validate(
        jws(id_claims()), nonce="n-123", acr_values=[SUBSTANTIAL], max_age=600
    )
    assert token.subject == "citizen-0001"
    assert token.assurance is AssuranceLevel.SUBSTANTIAL
    assert token.sid == "session-1"
    assert token.amr == ("pwd", "sms")
    assert token.auth_time == NOW - timedelta(seconds=60)
    assert "n-123" not in repr(token)
    assert token.raw not in repr(token)


def test_higher_acr_than_asked_is_accepted() -> None:
    token = validator().validate(jws(id_claims(acr=HIGH)), nonce="n-123", acr_values=[SUBSTANTIAL])
    assert token.assurance is AssuranceLevel.HIGH


def test_acr_lower_than_requested() -> None:
    assert (
        code(
            lambda: validator().validate(jws(id_claims(acr=LOW)), nonce="n-123", acr_values=[HIGH])
        )
        == "oidc.acr_insufficient"
    )


def test_acr_missing_when_asked() -> None:
    token = jws(id_claims(acr=None))
    assert (
        code(lambda: validator().validate(token, nonce="n-123", acr_values=[HIGH]))
        == "oidc.acr_insufficient"
    )


def test_acr_unknown_to_the_ordering() -> None:
    token = jws(id_claims(acr="urn:other:loa:9"))
    assert (
        code(lambda: validator().validate(token, nonce="n-123", acr_values=[HIGH]))
        == "oidc.acr_insufficient"
    )


def test_acr_ordering_is_configurable() -> None:
    levels = {
        "urn:gov:loa:pwd": AssuranceLevel.SUBSTANTIAL,
        "urn:gov:loa:face": AssuranceLevel.HIGH,
    }
    checker = validator(acr_levels=levels)
    face = checker.validate(
        jws(id_claims(acr="urn:gov:loa:face")), nonce="n-123", acr_values=["urn:gov:loa:pwd"]
    )
    assert face.assurance is AssuranceLevel.HIGH
    pwd = jws(id_claims(acr="urn:gov:loa:pwd"))
    assert (
        code(lambda: checker.validate(pwd, nonce="n-123", acr_values=["urn:gov:loa:face"]))
        == "oidc.acr_insufficient"
    )


def test_auth_time_older_than_max_age() -> None:
    token = jws(id_claims(auth_time=T - 3600))
    assert (
        code(lambda: validator().validate(token, nonce="n-123", max_age=600))
        == "oidc.auth_time_too_old"
    )


def test_auth_time_missing_with_max_age() -> None:
    token = jws(id_claims(auth_time=None))
    assert (
        code(lambda: validator().validate(token, nonce="n-123", max_age=600))
        == "oidc.auth_time_too_old"
    )


def test_nonce_replay() -> None:
    token = jws(id_claims(nonce="an-earlier-login"))
    assert code(lambda: validator().validate(token, nonce="n-123")) == "oidc.nonce_mismatch"
    assert (
        code(lambda: validator().validate(jws(id_claims(nonce=None)), nonce="n-123"))
        == "oidc.nonce_mismatch"
    )


def test_wrong_aud() -> None:
    assert (
        code(lambda: validator().validate(jws(id_claims(aud="another-client")), nonce="n-123"))
        == "token.wrong_audience"
    )


def test_wrong_azp() -> None:
    with pytest.raises(GovkitError) as caught:
        validator().validate(jws(id_claims(azp="another-client")), nonce="n-123")
    assert caught.value.code == "token.wrong_audience"
    assert caught.value.context["claim"] == "azp"


def test_several_audiences_without_azp() -> None:
    token = jws(id_claims(aud=[CLIENT, "another-client"]))
    assert code(lambda: validator().validate(token, nonce="n-123")) == "token.wrong_audience"


def test_several_audiences_untrusted_even_with_azp() -> None:
    token = jws(id_claims(aud=[CLIENT, "another-client"], azp=CLIENT))
    assert code(lambda: validator().validate(token, nonce="n-123")) == "token.wrong_audience"
    assert (
        validator(trusted_audiences=["another-client"]).validate(token, nonce="n-123").azp == CLIENT
    )


def test_wrong_issuer() -> None:
    token = jws(id_claims(iss="https://evil.example"))
    assert code(lambda: validator().validate(token, nonce="n-123")) == "token.wrong_issuer"


def test_expired_id_token() -> None:
    token = jws(id_claims(exp=T - 120, iat=T - 420))
    assert code(lambda: validator().validate(token, nonce="n-123")) == "token.expired"


def test_id_token_signed_with_none() -> None:
    head = b64url_encode(json.dumps({"alg": "none", "kid": KEY.kid}).encode())
    token = head + "." + b64url_encode(json.dumps(id_claims()).encode()) + "."
    assert code(lambda: validator().validate(token, nonce="n-123")) == "token.algorithm"


def test_id_token_signed_with_hs256() -> None:
    head = b64url_encode(json.dumps({"alg": "HS256", "kid": KEY.kid}).encode())
    body = head + "." + b64url_encode(json.dumps(id_claims()).encode())
    secret = json.dumps(KEY.verifying_key.to_jwk()).encode()
    token = body + "." + b64url_encode(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    assert code(lambda: validator().validate(token, nonce="n-123")) == "token.algorithm"


def test_id_token_signed_by_a_key_not_in_the_jwks() -> None:
    rogue = SigningKey.generate("ES256")
    assert (
        code(lambda: validator().validate(jws(id_claims(), key=rogue), nonce="n-123"))
        == "token.unknown_key"
    )


def test_id_token_alg_not_announced_by_the_provider() -> None:
    rsa = SigningKey.generate("PS256")
    checker = IdTokenValidator(
        KeyRing(rsa), issuer=ISSUER, client_id=CLIENT, algorithms=["ES256"], clock=FixedClock(NOW)
    )
    assert (
        code(lambda: checker.validate(jws(id_claims(), key=rsa), nonce="n-123"))
        == "token.algorithm"
    )


def test_provider_announcing_only_none_and_hmac_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        validator(algorithms=["none", "HS256"])


def test_access_token_passed_as_id_token() -> None:
    token = jws(id_claims(), header={"alg": "ES256", "kid": KEY.kid, "typ": "at+jwt"})
    assert code(lambda: validator().validate(token, nonce="n-123")) == "token.wrong_type"


def test_at_hash_mismatch() -> None:
    digest = hashlib.sha256(b"the-access-token").digest()
    good = jws(id_claims(at_hash=b64url_encode(digest[:16])))
    assert validator().validate(good, nonce="n-123", access_token="the-access-token")
    assert (
        code(lambda: validator().validate(good, nonce="n-123", access_token="another"))
        == "oidc.response_invalid"
    )


def test_refreshed_id_token_about_another_subject() -> None:
    token = jws(id_claims(sub="citizen-0002", nonce=None))
    assert (
        code(lambda: validator().validate(token, nonce=None, subject="citizen-0001"))
        == "oidc.subject_mismatch"
    )


def test_refreshed_id_token_with_another_nonce_or_authentication_time() -> None:
    original = validator().validate(jws(id_claims()), nonce="n-123")
    same = validator().validate(jws(id_claims(nonce=None, iat=T + 5)), nonce=None)
    _check_refreshed(original, same)  # no nonce, the same auth_time: the same login
    other_nonce = validator().validate(jws(id_claims(nonce="n-999")), nonce=None)
    assert code(lambda: _check_refreshed(original, other_nonce)) == "oidc.nonce_mismatch"
    later = validator().validate(jws(id_claims(nonce=None, auth_time=T)), nonce=None)
    assert code(lambda: _check_refreshed(original, later)) == "oidc.response_invalid"


# --- logout tokens ----------------------------------------------------------------------

EVENT = {"http://schemas.openid.net/event/backchannel-logout": {}}
LOGOUT_HEADER = {"alg": "ES256", "kid": KEY.kid, "typ": "logout+jwt"}


def logout_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": T,
        "exp": T + 120,
        "jti": "j-1",
        "events": EVENT,
        "sid": "session-1",
        "sub": "citizen-0001",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def logout_validator(store: MemoryReplayStore | None = None) -> LogoutTokenValidator:
    return LogoutTokenValidator(
        RING,
        issuer=ISSUER,
        client_id=CLIENT,
        algorithms=["ES256"],
        replay_store=MemoryReplayStore() if store is None else store,  # an empty one is falsy
        clock=FixedClock(NOW),
    )


def test_valid_logout_token() -> None:
    token = logout_validator().validate(jws(logout_claims(), header=LOGOUT_HEADER))
    assert token.sid == "session-1"
    assert token.subject == "citizen-0001"
    assert token.token_id == "j-1"


def test_logout_token_replayed() -> None:
    checker = logout_validator()
    token = jws(logout_claims(), header=LOGOUT_HEADER)
    checker.validate(token)
    assert code(lambda: checker.validate(token)) == "oidc.logout_replayed"


def test_logout_token_checked_twice_is_a_replay_only_once_remembered() -> None:
    # A receiver that failed to record the logout (a store down) must accept the
    # provider's retry: check() validates without remembering, remember() comes after.
    checker = logout_validator()
    token = jws(logout_claims(), header=LOGOUT_HEADER)
    first = checker.check(token)
    retried = checker.check(token)  # not remembered: no replay yet
    assert first == retried
    assert first.token_id == "j-1"
    checker.remember(retried)
    assert code(lambda: checker.remember(first)) == "oidc.logout_replayed"
    assert code(lambda: checker.validate(token)) == "oidc.logout_replayed"
    checker.check(token)  # check() alone never detects a replay: remember() does


def test_logout_token_remembered_until_it_can_no_longer_be_accepted() -> None:
    store = MemoryReplayStore()
    checker = logout_validator(store)
    logout = checker.check(jws(logout_claims(), header=LOGOUT_HEADER))
    checker.remember(logout)
    # exp is T + 120 and iat + max_age T + 300: kept past the later, plus leeway.
    last = datetime.fromtimestamp(T + 300, UTC) + timedelta(seconds=30)
    assert (
        store.check_and_remember(
            f"oidc-logout:{ISSUER}:j-1", now=last, expires_at=last + timedelta(hours=1)
        )
        is False
    )
    after = last + timedelta(seconds=1)
    assert (
        store.check_and_remember(
            f"oidc-logout:{ISSUER}:j-1", now=after, expires_at=after + timedelta(hours=1)
        )
        is True
    )


def test_logout_token_of_another_provider_cannot_be_remembered_here() -> None:
    other = LogoutTokenValidator(
        RING,
        issuer="https://other.example",
        client_id=CLIENT,
        algorithms=["ES256"],
        replay_store=MemoryReplayStore(),
        clock=FixedClock(NOW),
    )
    logout = other.check(jws(logout_claims(iss="https://other.example"), header=LOGOUT_HEADER))
    with pytest.raises(ConfigurationError):
        logout_validator().remember(logout)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"events": None}, "events"),
        ({"events": {"other": {}}}, "events"),
        ({"nonce": "n"}, "nonce"),
        ({"sid": None, "sub": None}, "sid"),
        ({"jti": None}, "jti"),
        ({"iat": T - 3600, "exp": T + 60}, "iat"),
    ],
)
@pytest.mark.parametrize("method", ["validate", "check"])
def test_logout_token_breaking_the_spec(changes: dict[str, Any], reason: str, method: str) -> None:
    checker = getattr(logout_validator(), method)
    with pytest.raises(GovkitError) as caught:
        checker(jws(logout_claims(**changes), header=LOGOUT_HEADER))
    assert caught.value.code == "oidc.logout_invalid"
    assert caught.value.context["reason"] == reason


def test_id_token_passed_as_logout_token() -> None:
    token = jws(logout_claims(), header={"alg": "ES256", "kid": KEY.kid, "typ": "JWT"})
    assert code(lambda: logout_validator().validate(token)) == "token.wrong_type"
    untyped = jws(logout_claims())
    assert code(lambda: logout_validator().validate(untyped)) == "token.wrong_type"


def test_logout_token_for_another_client() -> None:
    token = jws(logout_claims(aud="other"), header=LOGOUT_HEADER)
    assert code(lambda: logout_validator().validate(token)) == "token.wrong_audience"


# --- step-up challenges -----------------------------------------------------------------


def test_step_up_challenge() -> None:
    challenge = parse_step_up_challenge(
        'Bearer realm="tax", error="insufficient_user_authentication", '
        'error_description="A higher level is needed", '
        f'acr_values="{HIGH} {SUBSTANTIAL}", max_age=0'
    )
    assert challenge.acr_values == (HIGH, SUBSTANTIAL)
    assert challenge.max_age == 0


@pytest.mark.parametrize(
    "header",
    [
        'Bearer error="invalid_token"',
        'Bearer error="insufficient_user_authentication"',
        'Bearer error="insufficient_user_authentication", max_age="soon"',
        "",
    ],
)
def test_not_a_step_up_challenge(header: str) -> None:
    assert code(lambda: parse_step_up_challenge(header)) == "oidc.challenge_invalid"


# --- callbacks and flow state (refused before any network call) -------------------------


def offline_client(flows: MemoryFlowStore, clock: FixedClock) -> OidcClient:
    return OidcClient(
        "http://127.0.0.1:9",  # nothing listens: these checks come before any request
        client_id=CLIENT,
        client_key=KEY,
        redirect_uri="http://127.0.0.1:8765/callback",
        flows=flows,
        clock=clock,
    )


def test_state_mismatch_is_refused_before_the_flow_is_taken() -> None:
    flows, clock = MemoryFlowStore(key=bytes(32)), FixedClock(NOW)
    handle = new_flow_handle()
    flows.put(handle, b"{}", now=NOW, expires_at=NOW + timedelta(minutes=10))
    client = offline_client(flows, clock)
    assert (
        code(lambda: client.finish_login({"state": handle, "code": "c"}, expected_state="x" * 43))
        == "oidc.state_mismatch"
    )
    assert flows.take(handle, now=NOW) == b"{}"


def test_state_expired() -> None:
    flows, clock = MemoryFlowStore(key=bytes(32)), FixedClock(NOW)
    handle = new_flow_handle()
    flows.put(handle, b"{}", now=NOW, expires_at=NOW + timedelta(minutes=10))
    clock.advance(timedelta(minutes=11))
    assert (
        code(
            lambda: offline_client(flows, clock).finish_login(
                {"state": handle, "code": "c"}, expected_state=handle
            )
        )
        == "oidc.state_expired"
    )


def test_state_replay() -> None:
    flows, clock = MemoryFlowStore(key=bytes(32)), FixedClock(NOW)
    handle = new_flow_handle()
    flows.put(handle, b"{}", now=NOW, expires_at=NOW + timedelta(minutes=10))
    flows.take(handle, now=NOW)
    assert (
        code(
            lambda: offline_client(flows, clock).finish_login(
                f"https://app/cb?state={handle}&code=c", expected_state=handle
            )
        )
        == "oidc.state_replayed"
    )


def test_state_unknown_and_missing() -> None:
    client = offline_client(MemoryFlowStore(key=bytes(32)), FixedClock(NOW))
    unbound = partial(client.finish_login, unsafe_skip_state_binding=True)
    assert code(lambda: unbound({"code": "c"})) == "oidc.state_unknown"
    assert code(lambda: unbound({"state": new_flow_handle(), "code": "c"})) == "oidc.state_unknown"
    assert code(lambda: unbound({"state": "short", "code": "c"})) == "oidc.state_unknown"


def test_finish_login_needs_the_browsers_state() -> None:
    client = offline_client(MemoryFlowStore(key=bytes(32)), FixedClock(NOW))
    with pytest.raises(ConfigurationError, match="expected_state"):
        client.finish_login({"state": new_flow_handle(), "code": "c"})


def test_repeated_callback_parameter() -> None:
    client = offline_client(MemoryFlowStore(key=bytes(32)), FixedClock(NOW))
    assert (
        code(lambda: client.finish_login("state=a&state=b&code=c", expected_state="a"))
        == "oidc.response_invalid"
    )


def test_flow_of_another_provider_is_a_mix_up() -> None:
    flows, clock = MemoryFlowStore(key=bytes(32)), FixedClock(NOW)
    handle = new_flow_handle()
    flows.put(
        handle,
        json.dumps({"iss": "https://other.example"}).encode(),
        now=NOW,
        expires_at=NOW + timedelta(minutes=10),
    )
    assert (
        code(
            lambda: offline_client(flows, clock).finish_login(
                {"state": handle, "code": "c"}, expected_state=handle
            )
        )
        == "oidc.issuer_mismatch"
    )


def test_discovery_unreachable_is_typed() -> None:
    client = offline_client(MemoryFlowStore(key=bytes(32)), FixedClock(NOW))
    with pytest.raises(GovkitError) as caught:
        client.discover()
    assert caught.value.code == "oidc.discovery"
    assert caught.value.context["reason"] == "network"


def test_client_refuses_plain_http_issuer() -> None:
    with pytest.raises(ConfigurationError):
        OidcClient(
            "http://login.gov.example",
            client_id=CLIENT,
            client_key=KEY,
            redirect_uri="https://a/cb",
            flows=MemoryFlowStore(key=bytes(32)),
        )


@pytest.mark.parametrize(
    "error_code",
    [
        "oidc.issuer_mismatch",
        "oidc.state_unknown",
        "oidc.state_replayed",
        "oidc.nonce_mismatch",
        "oidc.acr_insufficient",
        "oidc.auth_time_too_old",
        "oidc.dpop_nonce",
        "oidc.provider_error",
        "oidc.discovery",
        "oidc.logout_replayed",
        "oidc.logout_invalid",
    ],
)
def test_messages_in_both_languages(error_code: str) -> None:
    english = message_for(error_code, "en")
    chinese = message_for(error_code, "zh")
    assert error_code not in english
    assert error_code not in chinese
    assert english != chinese


# --- discovery documents ----------------------------------------------------------------

DISCOVERY = {
    "issuer": "http://127.0.0.1:9",
    "authorization_endpoint": "http://127.0.0.1:9/auth",
    "token_endpoint": "http://127.0.0.1:9/token",
    "jwks_uri": "http://127.0.0.1:9/jwks",
    "pushed_authorization_request_endpoint": "http://127.0.0.1:9/request",
    "id_token_signing_alg_values_supported": ["ES256", "PS256"],
    "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
    "code_challenge_methods_supported": ["S256"],
    "authorization_response_iss_parameter_supported": True,
}


def checked(document: dict[str, Any], **options: Any) -> Any:
    client = OidcClient(
        "http://127.0.0.1:9",
        client_id=CLIENT,
        client_key=KEY,
        redirect_uri="http://127.0.0.1:8765/callback",
        flows=MemoryFlowStore(key=bytes(32)),
        **options,
    )
    metadata = _parse_metadata(document, client.issuer)
    client._check_provider(metadata)
    return metadata


def test_discovery_document_accepted() -> None:
    metadata = checked(DISCOVERY)
    assert metadata.id_token_algorithms == ("ES256", "PS256")
    assert metadata.iss_parameter is True


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"issuer": "http://127.0.0.1:9/"}, "issuer"),
        ({"jwks_uri": None}, "jwks_uri"),
        ({"token_endpoint": "http://idp.example/token"}, "token_endpoint"),
        (
            {"id_token_signing_alg_values_supported": ["none", "HS256"]},
            "id_token_signing_alg_values_supported",
        ),
        ({"pushed_authorization_request_endpoint": None}, "pushed_authorization_request_endpoint"),
        ({"code_challenge_methods_supported": ["plain"]}, "code_challenge_methods_supported"),
        ({"dpop_signing_alg_values_supported": ["PS256"]}, "dpop_signing_alg_values_supported"),
        ({"authorization_response_iss_parameter_supported": "yes"}, "boolean"),
    ],
)
def test_discovery_document_refused(changes: dict[str, Any], reason: str) -> None:
    document = {k: v for k, v in (DISCOVERY | changes).items() if v is not None}
    with pytest.raises(GovkitError) as caught:
        checked(document)
    assert caught.value.code == "oidc.discovery"
    assert caught.value.context["reason"] == reason


def test_provider_without_par_only_when_unsafe() -> None:
    document = {k: v for k, v in DISCOVERY.items() if "pushed" not in k}
    assert checked(document, unsafe_without_par=True).pushed_authorization_request_endpoint is None


# --- the back channel, scripted (no provider) -------------------------------------------


class ScriptedProvider(BaseAdapter):
    """A provider's HTTP answers, scripted per path; records every request."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, list[tuple[int, dict[str, str], Any]]] = {}
        self.sent: list[requests.PreparedRequest] = []

    def script(self, path: str, *answers: tuple[int, dict[str, str], Any]) -> None:
        self.answers[path] = list(answers)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        path = urlsplit(request.url or "").path
        queue = self.answers[path]
        status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **headers})
        response.raw = io.BytesIO(json.dumps(body).encode())
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


NONCE_CHALLENGE = (
    400,
    {"DPoP-Nonce": "server-nonce-1"},
    {"error": "use_dpop_nonce", "error_description": "nonce is required in the DPoP proof"},
)


@pytest.fixture
def provider() -> Iterator[tuple[ScriptedProvider, OidcClient]]:
    adapter = ScriptedProvider()
    session = requests.Session()
    session.mount("http://", adapter)
    adapter.script("/.well-known/openid-configuration", (200, {}, DISCOVERY))
    adapter.script(
        "/request", NONCE_CHALLENGE, (201, {}, {"request_uri": "urn:r:1", "expires_in": 60})
    )
    client = OidcClient(
        "http://127.0.0.1:9",
        client_id=CLIENT,
        client_key=KEY,
        redirect_uri="http://127.0.0.1:8765/callback",
        flows=MemoryFlowStore(key=bytes(32)),
        session=session,
        clock=FixedClock(NOW),
    )
    yield adapter, client
    session.close()


def _form(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body if isinstance(request.body, str) else (request.body or b"").decode()
    return dict(parse_qsl(body))


def test_dpop_nonce_retry_uses_a_fresh_proof_and_assertion(
    provider: tuple[ScriptedProvider, OidcClient],
) -> None:
    adapter, client = provider
    request = client.start_login(acr_values=[HIGH])
    pushes = [r for r in adapter.sent if r.url and r.url.endswith("/request")]
    assert len(pushes) == 2
    assert pushes[0].headers["DPoP"] != pushes[1].headers["DPoP"]
    first, second = (_form(p) for p in pushes)
    assert first["client_assertion"] != second["client_assertion"]
    proof = json.loads(b64url_decode(pushes[1].headers["DPoP"].split(".")[1]))
    assert proof["nonce"] == "server-nonce-1"
    assertion = json.loads(b64url_decode(second["client_assertion"].split(".")[1]))
    assert assertion["aud"] == "http://127.0.0.1:9"  # FAPI 2.0: the issuer
    assert assertion["iss"] == assertion["sub"] == CLIENT
    assert second["code_challenge_method"] == "S256"
    assert second["redirect_uri"] == "http://127.0.0.1:8765/callback"
    assert set(parse_qs(urlsplit(request.url).query)) == {"client_id", "request_uri"}


def test_dpop_nonce_asked_twice_is_an_error(provider: tuple[ScriptedProvider, OidcClient]) -> None:
    adapter, client = provider
    adapter.script("/request", NONCE_CHALLENGE)
    with pytest.raises(GovkitError) as caught:
        client.start_login()
    assert caught.value.code == "oidc.dpop_nonce"
    assert len([r for r in adapter.sent if r.url and r.url.endswith("/request")]) == 2


def test_provider_error_is_typed_without_its_description(
    provider: tuple[ScriptedProvider, OidcClient],
) -> None:
    adapter, client = provider
    adapter.script(
        "/request", (400, {}, {"error": "invalid_client", "error_description": "secret"})
    )
    with pytest.raises(GovkitError) as caught:
        client.start_login()
    assert caught.value.code == "oidc.provider_error"
    assert caught.value.context["error"] == "invalid_client"
    assert "secret" not in str(caught.value)


def _finish_with_token_response(
    provider: tuple[ScriptedProvider, OidcClient], body: dict[str, Any]
) -> GovkitError:
    adapter, client = provider
    request = client.start_login()
    adapter.script("/token", (200, {}, body))
    with pytest.raises(GovkitError) as caught:
        client.finish_login(
            {"state": request.state, "code": "c-1", "iss": "http://127.0.0.1:9"},
            expected_state=request.state,
        )
    return caught.value


def test_bearer_token_when_dpop_was_used(provider: tuple[ScriptedProvider, OidcClient]) -> None:
    error = _finish_with_token_response(
        provider, {"access_token": "at", "token_type": "Bearer", "id_token": "x.y.z"}
    )
    assert error.code == "oidc.response_invalid"
    assert error.context["reason"] == "token_type"


def test_token_response_without_id_token(provider: tuple[ScriptedProvider, OidcClient]) -> None:
    error = _finish_with_token_response(provider, {"access_token": "at", "token_type": "DPoP"})
    assert error.code == "oidc.response_invalid"
    assert error.context["reason"] == "id_token"


def test_error_callback_is_checked_for_iss_first(
    provider: tuple[ScriptedProvider, OidcClient],
) -> None:
    _, client = provider
    request = client.start_login()
    forged = {"state": request.state, "error": "access_denied", "iss": "https://evil.example"}
    with pytest.raises(GovkitError) as caught:
        client.finish_login(forged, expected_state=request.state)
    assert caught.value.code == "oidc.issuer_mismatch"


def test_error_callback_is_a_provider_error(provider: tuple[ScriptedProvider, OidcClient]) -> None:
    _, client = provider
    request = client.start_login()
    answer = {"state": request.state, "error": "access_denied", "iss": "http://127.0.0.1:9"}
    with pytest.raises(GovkitError) as caught:
        client.finish_login(answer, expected_state=request.state)
    assert caught.value.code == "oidc.provider_error"
    assert caught.value.context["error"] == "access_denied"


def test_discovery_is_cached(provider: tuple[ScriptedProvider, OidcClient]) -> None:
    adapter, client = provider
    client.discover()
    client.discover()
    found = [r for r in adapter.sent if r.url and r.url.endswith("openid-configuration")]
    assert len(found) == 1


def test_step_up_starts_a_login_with_the_challenge(
    provider: tuple[ScriptedProvider, OidcClient],
) -> None:
    adapter, client = provider
    client.start_step_up(
        f'DPoP error="insufficient_user_authentication", acr_values="{HIGH}", max_age="0"'
    )
    pushed = _form([r for r in adapter.sent if r.url and r.url.endswith("/request")][-1])
    assert pushed["acr_values"] == HIGH
    assert pushed["max_age"] == "0"
    assert pushed["prompt"] == "login"
