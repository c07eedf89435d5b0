"""The login guide's FastAPI example (docs/examples/fastapi_login.py) against the real provider.

The application runs in-process (Starlette's test client); the provider is
``tests/oidc/op.mjs``, FAPI 2.0 on and off. The browser is two cookie jars: the test
client's for the application, the provider's own for the provider.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette's test client now prefers the httpx2 package; the dev extra installs
    # httpx, which works (as in tests/integration/identity/test_frameworks.py).
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from fastapi.testclient import TestClient

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "fastapi_login.py"
HIGH = "http://eidas.europa.eu/LoA/high"


@pytest.fixture
def example(
    oidc_provider: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    op = oidc_provider
    key = tmp_path / "client.pem"
    key.write_bytes(op.client_key.to_pem())
    public_url = op.redirect_uri.removesuffix("/callback")
    for name, value in {
        "GOVKIT_PUBLIC_URL": public_url,
        "GOVKIT_STATE_DIR": str(tmp_path),
        "GOVKIT_OIDC_ISSUER": op.issuer,
        "GOVKIT_OIDC_CLIENT_ID": op.client_id,
        "GOVKIT_OIDC_CLIENT_KEY": str(key),
        "GOVKIT_FLOW_KEY": "ab" * 32,
    }.items():
        monkeypatch.setenv(name, value)
    name = f"fastapi_login_example_{op.mode}"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    module.client.close()
    sys.modules.pop(name, None)


def app_client(module: ModuleType, op: Any) -> TestClient:
    return TestClient(module.app, base_url=op.redirect_uri.removesuffix("/callback"))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def log_in(app: TestClient, op: Any, browser: Any, **params: str) -> None:
    started = app.get("/login", params=params, follow_redirects=False)
    assert started.status_code == 303, started.text
    callback = op.login(started.headers["location"], browser=browser)
    finished = app.get(path_of(callback), follow_redirects=False)
    assert finished.status_code == 303, finished.text
    assert finished.headers["location"] == "/me"


def test_login_profile_step_up_and_logout(example: ModuleType, oidc_provider: Any) -> None:
    op = oidc_provider
    browser = op.new_browser()
    with app_client(example, op) as app:
        assert app.get("/me").status_code == 401
        log_in(app, op, browser, hint="citizen-0002")
        me = app.get("/me")
        assert me.status_code == 200, me.text
        assert me.json() == {"sub": "citizen-0002", "assurance": "substantial", "name": "Li Si"}
        # Filing needs HIGH: the service asks for a step-up, the provider logs in again.
        assert app.post("/returns/submit").status_code == 403
        log_in(app, op, browser, level="high", hint="citizen-0002")
        assert app.post("/returns/submit").json() == {"filed_by": "citizen-0002"}
        # RP-initiated logout: the service's session ends, then the provider's.
        op.backchannel.drain()
        out = app.post("/logout", follow_redirects=False)
        assert out.status_code == 303
        landed = op.logout(out.headers["location"], browser=browser)
        assert landed.startswith(op.post_logout_redirect_uri)
        assert app.get("/me").status_code == 401


def test_backchannel_logout_ends_the_session(example: ModuleType, oidc_provider: Any) -> None:
    op = oidc_provider
    browser = op.new_browser()
    with app_client(example, op) as app:
        log_in(app, op, browser)
        done = next(iter(example.sessions.values()))
        # The provider ends the session (another application's logout, say) and sends
        # the logout token; the test hands it to the example's endpoint.
        op.backchannel.drain()
        end = example.client.logout_url(done.id_token)
        op.logout(end, browser=browser)
        token = op.backchannel.wait()
        answer = app.post(
            "/backchannel-logout",
            content=f"logout_token={token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200, answer.text
        assert app.get("/me").status_code == 401
        # The same logout token again is a replay.
        again = app.post(
            "/backchannel-logout",
            content=f"logout_token={token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert again.status_code == 400
        assert again.json()["error_description"] == "oidc.logout_replayed"


def test_callback_of_another_browser_is_refused(example: ModuleType, oidc_provider: Any) -> None:
    """Login CSRF: a callback the victim's browser did not start has no matching cookie."""
    op = oidc_provider
    with app_client(example, op) as attacker, app_client(example, op) as victim:
        started = attacker.get("/login", follow_redirects=False)
        callback = op.login(started.headers["location"], browser=op.new_browser())
        victim.get("/login", follow_redirects=False)  # the victim has a state of its own
        refused = victim.get(path_of(callback), follow_redirects=False)
        assert refused.status_code == 400
        assert refused.json() == {"detail": "oidc.state_mismatch"}


def test_acr_lower_than_asked_is_refused(example: ModuleType, oidc_provider: Any) -> None:
    op = oidc_provider
    with app_client(example, op) as app:
        started = app.get(
            "/login", params={"level": "high", "hint": "citizen-low"}, follow_redirects=False
        )
        callback = op.login(started.headers["location"], browser=op.new_browser())
        refused = app.get(path_of(callback), follow_redirects=False)
        assert refused.status_code == 400
        assert refused.json() == {"detail": "oidc.acr_insufficient"}
