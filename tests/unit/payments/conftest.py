"""Shared keys and time for the payments unit tests (generated once per session)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from govkit.keys import SigningKey

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
APIV3 = "0123456789abcdef0123456789abcdef"
PUB_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000000000"


@pytest.fixture(scope="session")
def platform_key() -> SigningKey:
    """The WeChat Pay "platform" key (a PUB_KEY_ID_ key in most tests)."""
    return SigningKey.generate("RS256")


@pytest.fixture(scope="session")
def other_key() -> SigningKey:
    """An RSA key nobody trusts (the forger's)."""
    return SigningKey.generate("RS256")


@pytest.fixture(scope="session")
def alipay_key() -> SigningKey:
    """The "Alipay" key that signs notifications."""
    return SigningKey.generate("RS256")
