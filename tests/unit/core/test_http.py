"""Evidence for :mod:`govkit._http` that needs no network: the policy, settling, URL rules.

Behaviour against a live server (redirects, byte limit, deadline, content type, 304)
is in ``tests/integration/test_http.py``. Here a recording :mod:`requests` transport
adapter proves that a refused URL is refused before anything is sent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from govkit._http import FetchResult, Limits, SourcePolicy, check_url, fetch, settle
from govkit.certificates import SourcePolicy as CertificatesPolicy
from govkit.errors import ConfigurationError
from govkit.identity import SourcePolicy as IdentityPolicy
from govkit.payments import SourcePolicy as PaymentsPolicy

DEFAULTS = SourcePolicy(
    timeout=5.0,
    max_bytes=1024,
    ttl=timedelta(hours=1),
    max_stale=timedelta(days=1),
    refetch_cooldown=timedelta(seconds=30),
    max_redirects=0,
)


class Recorder(BaseAdapter):
    """A transport that records what would have been sent, and sends nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        raise requests.ConnectionError("the recorder sends nothing")

    def close(self) -> None:
        pass


def test_one_policy_class_is_exported_by_every_component() -> None:
    assert IdentityPolicy is CertificatesPolicy is PaymentsPolicy is SourcePolicy


# --- the policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": 301}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"max_bytes": 1.5}, "max_bytes"),
        ({"ttl": timedelta(0)}, "ttl"),
        ({"ttl": 60}, "ttl"),
        ({"max_stale": timedelta(seconds=-1)}, "max_stale"),
        ({"refetch_cooldown": 30}, "refetch_cooldown"),
        ({"min_sequence": -1}, "min_sequence"),
        ({"min_sequence": False}, "min_sequence"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"max_redirects": 11}, "max_redirects"),
    ],
)
def test_impossible_policies_are_refused(options: dict[str, Any], argument: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SourcePolicy(**options)
    assert caught.value.context["argument"] == argument


def test_a_policy_is_frozen() -> None:
    policy = SourcePolicy(timeout=1.0)
    with pytest.raises(AttributeError):
        policy.timeout = 2.0  # type: ignore[misc]


def test_unset_fields_take_the_source_defaults() -> None:
    limits = settle(SourcePolicy(timeout=2.0), SourcePolicy(), DEFAULTS, what="a test source")
    assert limits == Limits(
        timeout=2.0,
        max_bytes=1024,
        ttl=timedelta(hours=1),
        max_stale=timedelta(days=1),
        refetch_cooldown=timedelta(seconds=30),
        min_sequence=0,
        max_redirects=0,
    )


def test_old_keywords_still_work_without_a_policy() -> None:
    limits = settle(None, SourcePolicy(max_bytes=10), DEFAULTS, what="a test source")
    assert (limits.timeout, limits.max_bytes) == (5.0, 10)


def test_a_value_given_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settle(SourcePolicy(timeout=1.0), SourcePolicy(timeout=2.0), DEFAULTS, what="x")
    assert caught.value.context["argument"] == "timeout"


def test_a_field_the_source_does_not_use_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settle(SourcePolicy(min_sequence=3), SourcePolicy(), DEFAULTS, what="a JWKS source")
    assert caught.value.context["argument"] == "min_sequence"
    assert "does not apply to a JWKS source" in str(caught.value)


def test_a_policy_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        settle({"timeout": 1.0}, SourcePolicy(), DEFAULTS, what="x")  # type: ignore[arg-type]


# --- URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://jwks.example.gov.cn/keys",
        "HTTPS://JWKS.EXAMPLE.GOV.CN:8443/keys?tenant=1",
        "http://127.0.0.1:8080/x",
        "http://127.200.0.1/x",
        "http://[::1]:9000/x",
        "http://localhost/x",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert check_url(url, "test") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://jwks.example.gov.cn/keys",
        "http://10.0.0.1/x",
        "http://localhost.evil.example/x",
        "ftp://jwks.example.gov.cn/keys",
        "file:///etc/passwd",
        "https:///x",
        "https://user:secret@jwks.example.gov.cn/x",
        "https://jwks.example.gov.cn/x#fragment",
        "https://jwks.example.gov.cn:99999/x",
        "https://jwks.exämple.gov.cn/x",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_url(url, "test")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://jwks.example.gov.cn/keys", "http://192.168.1.10/status.json"]
)
def test_plain_http_to_a_remote_host_is_refused_before_connecting(url: str) -> None:
    recorder = Recorder()
    with requests.Session() as session:
        session.mount("http://", recorder)
        session.mount("https://", recorder)
        with pytest.raises(ConfigurationError) as caught:
            fetch(session, url, accept=("application/json",), timeout=1.0, max_bytes=10)
    assert "must use https" in str(caught.value)
    assert recorder.sent == []


def test_an_empty_accept_list_is_refused() -> None:
    with requests.Session() as session, pytest.raises(ConfigurationError):
        fetch(session, "https://example.gov.cn/", accept=(), timeout=1.0, max_bytes=10)


def test_not_modified_is_the_304_status() -> None:
    result = FetchResult(304, b"", {}, "https://example.gov.cn/", '"v1"', None)
    assert result.not_modified
    assert not FetchResult(200, b"{}", {}, "https://example.gov.cn/", None, None).not_modified
