"""Fixtures of the framework integration tests (the shared parts are in ``world.py``).

Django's settings can be configured once per process: :func:`django_settings` does it
(session scope) with nothing a test depends on; each Django test then sets its own
``ROOT_URLCONF``, ``MIDDLEWARE`` and ``GOVKIT_IDENTITY`` with ``override_settings``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from govkit.identity import DPoPVerifier, MemoryIdentityStore, TokenIssuer, TokenVerifier
from govkit.keys import KeyRing, SigningKey
from govkit.payments import PaymentInbox
from govkit.testing import FixedClock


def _load_world() -> ModuleType:
    name = "govkit_tests_integrations"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "world.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


w = _load_world()


@pytest.fixture
def world() -> Any:
    clock = FixedClock(w.T0)
    ring = KeyRing(SigningKey.generate("ES256"), clock=clock)
    dpop = DPoPVerifier(replay_store=MemoryIdentityStore(), clock=clock)
    verifier = TokenVerifier(ring, issuer=w.ISS, audience=w.AUD, clock=clock, dpop=dpop)
    return w.World(
        clock,
        ring,
        TokenIssuer(ring, issuer=w.ISS, clock=clock),
        verifier,
        SigningKey.generate("EdDSA"),
        _rsa_keys["platform"],
        _rsa_keys["alipay"],
    )


# RSA key generation is slow: one pair of provider keys for the whole session.
_rsa_keys = {"platform": SigningKey.generate("RS256"), "alipay": SigningKey.generate("RS256")}


@pytest.fixture
def inboxes(tmp_path: Path, world: Any) -> Iterator[Any]:
    path = tmp_path / "inbox.db"
    up = PaymentInbox(path, orders=False, clock=world.clock)
    down = PaymentInbox(path, orders=False, clock=world.clock, read_only=True)
    yield w.Inboxes(up, down)
    up.close()
    down.close()


@pytest.fixture(scope="session")
def django_settings() -> None:
    """Configure Django once for this process (tests override what they need)."""
    import django  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="integrations-tests",
            ALLOWED_HOSTS=["*"],
            USE_TZ=True,
            DATABASES={},
            INSTALLED_APPS=[],
            ROOT_URLCONF=None,
            MIDDLEWARE=[],
        )
        django.setup()
