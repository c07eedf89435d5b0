"""Trust list format versions: what a reader ignores, what it refuses, what a writer stamps.

The rule (``govkit/certificates/_trust.py``, "Versions"): the type marker carries the
major version; the body's ``version`` says ``MAJOR.MINOR``. Within major version 1 a
reader ignores members it does not know (body, issuer, key, ``pdf_signers``), never in a
JWK or the envelope; another major version is ``trust.unsupported_version``. A writer
stamps the lowest version that describes the list: a list using no 1.1 member has no
``version`` and is what earlier releases wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from govkit.certificates import (
    TRUST_LIST_VERSION,
    Agency,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    load_trust_list,
    sign_trust_list,
)
from govkit.certificates._envelope import sign_envelope
from govkit.certificates._trust import TRUST_LIST_TYPE
from govkit.errors import (
    ConfigurationError,
    TrustListError,
    TrustListInvalid,
    TrustListVersionUnsupported,
)
from govkit.keys import SigningKey

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANCHOR = SigningKey.generate("EdDSA")
NEXT_ANCHOR = SigningKey.generate("ES256")
KEY = SigningKey.generate("ES256")
POLICE = Agency("广州市公安局", "11440100MB2C92923F")


def issuer(**extra: Any) -> TrustedIssuer:
    return TrustedIssuer(
        POLICE, (TrustedKey.for_key(KEY.verifying_key, {"driving-licence"}),), **extra
    )


def trust_list(**extra: Any) -> TrustList:
    return TrustList((issuer(),), 3, T0, T0 + timedelta(days=7), **extra)


def load(data: bytes) -> TrustList:
    return load_trust_list(data, [ANCHOR.verifying_key], at=T0)


def resign(body: dict[str, Any], marker: str = TRUST_LIST_TYPE) -> bytes:
    return sign_envelope(marker, "trust_list", body, ANCHOR)


def test_a_list_without_new_members_is_written_as_version_1_0_without_a_version_member() -> None:
    body = trust_list().to_json()
    assert "version" not in body
    assert set(body) == {"sequence", "issued_at", "expires_at", "issuers"}
    assert set(body["issuers"][0]) == {"name", "uscc", "keys"}
    assert trust_list().format_version == "1.0"


def test_status_url_and_next_anchors_stamp_version_1_1_and_round_trip() -> None:
    listed = TrustList(
        (issuer(status_url="https://status.gz.example.gov.cn/police.json"),),
        3,
        T0,
        T0 + timedelta(days=7),
        next_anchors=(NEXT_ANCHOR.verifying_key,),
    )
    body = listed.to_json()
    assert body["version"] == TRUST_LIST_VERSION == "1.1"
    assert body["issuers"][0]["status_url"] == "https://status.gz.example.gov.cn/police.json"
    assert body["next_anchors"] == [NEXT_ANCHOR.verifying_key.to_jwk()]
    loaded = load(sign_trust_list(listed, ANCHOR))
    assert loaded == listed
    assert loaded.issuers[0].status_url == "https://status.gz.example.gov.cn/police.json"
    assert loaded.next_anchors == (NEXT_ANCHOR.verifying_key,)
    only_url = trust_list().with_issuer(issuer(status_url="https://s.example.gov.cn/1.json"))
    assert only_url.format_version == "1.1"


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("body", lambda b: b.update(revocation_hint="x", version="1.7")),
        ("issuer", lambda b: b["issuers"][0].update(website="https://gz.example.gov.cn")),
        ("key", lambda b: b["issuers"][0]["keys"][0].update(comment="rotated 2026")),
        ("no version, still 1.x", lambda b: b.update(note="x")),
    ],
)
def test_a_later_minor_version_with_unknown_members_is_read_and_they_are_ignored(
    where: str, change: Any
) -> None:
    body = trust_list().to_json()
    change(body)
    assert load(resign(body)) == trust_list(), where


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b["issuers"][0]["keys"][0]["jwk"].update(x5u="https://elsewhere"),
        lambda b: b.update(version="1"),
        lambda b: b.update(version="0.9"),
        lambda b: b.update(version=1.1),
        lambda b: b.update(version="01.1"),
        lambda b: b.update(next_anchors=[{"kty": "oct", "k": "AAAA"}]),
        lambda b: b.update(
            next_anchors=[NEXT_ANCHOR.verifying_key.to_jwk() | {"x5u": "https://a"}]
        ),
        lambda b: b.update(next_anchors="x"),
        lambda b: b["issuers"][0].update(status_url="ftp://status.example.gov.cn/a.json"),
        lambda b: b["issuers"][0].update(status_url="http://status.example.gov.cn/a.json"),
        lambda b: b["issuers"][0].update(status_url="https://a.example/" + "x" * 300),
    ],
    ids=[
        "jwk member",
        "version without minor",
        "version 0",
        "version a number",
        "version with a leading zero",
        "next anchor not a public key",
        "next anchor not in exact form",
        "next anchors not an array",
        "status url not https",
        "status url plain http to a remote host",
        "status url too long",
    ],
)
def test_what_stays_strict_within_version_1(change: Any) -> None:
    body = trust_list().to_json()
    change(body)
    with pytest.raises(TrustListInvalid):
        load(resign(body))


def test_a_newer_major_version_in_the_body_is_refused_with_its_own_code() -> None:
    body = trust_list().to_json() | {"version": "2.0"}
    with pytest.raises(TrustListVersionUnsupported) as caught:
        load(resign(body))
    assert caught.value.code == "trust.unsupported_version"
    assert caught.value.context["version"] == "2.0"
    assert isinstance(caught.value, TrustListError)  # cannot be read: not a forgery verdict


def test_a_newer_major_type_marker_is_refused_with_its_own_code() -> None:
    data = resign(trust_list().to_json(), marker="govkit.trust-list/v2")
    with pytest.raises(TrustListVersionUnsupported) as caught:
        load(data)
    assert caught.value.context == {"reason": "version", "version": "2"}


def test_an_older_or_foreign_marker_is_still_the_wrong_type() -> None:
    for marker in ("govkit.trust-list/v0", "govkit.status-list/v1", "govkit.trust-list/vX"):
        with pytest.raises(TrustListInvalid) as caught:
            load(resign(trust_list().to_json(), marker=marker))
        assert caught.value.context["reason"] == "wrong_type", marker


def test_next_anchors_are_checked_when_a_list_is_made() -> None:
    twice = (NEXT_ANCHOR.verifying_key, NEXT_ANCHOR.verifying_key)
    with pytest.raises(ConfigurationError):
        trust_list(next_anchors=twice)
    with pytest.raises(ConfigurationError):
        trust_list(next_anchors=tuple(SigningKey.generate("EdDSA").verifying_key for _ in range(9)))
    with pytest.raises(ConfigurationError):
        issuer(status_url="https://status.example.gov.cn/#fragment")
