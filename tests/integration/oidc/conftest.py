"""A real OpenID Provider for the OIDC tests: ``oidc-provider`` 9.13.3 from ``tests/oidc``.

``make test`` installs it (``npm ci`` in ``tests/oidc``); each fixture starts
``node tests/oidc/op.mjs`` on a free port of 127.0.0.1 for the whole session and stops
it at the end. Without ``node`` or ``tests/oidc/node_modules`` the tests are skipped
with the command to run; under ``CI=true`` that is a failure instead.

Fixtures (session-scoped; each yields an :class:`OidcProvider`):

* ``oidc_provider_plain``: the FAPI 2.0 profile off (library defaults: discovery also
  offers ``none`` and client-secret authentication, HS256, and does not require PAR
  provider-wide; the registered client itself still needs PAR).
* ``oidc_provider_fapi``: the FAPI 2.0 profile on (the client assertion's ``aud`` must be
  the issuer, ``redirect_uri`` is required at PAR; discovery offers only what FAPI
  2.0 allows).
* ``oidc_provider``: parametrised over both (ids ``plain`` and ``fapi2``).
* ``oidc_provider_other``: a second FAPI provider with another issuer (another port),
  the same client id and key registered: the honest-looking provider of a mix-up.

The client (``client_id`` ``govkit-rp``) authenticates with ``private_key_jwt``
(ES256, a key generated per session), must use PAR, PKCE S256 and DPoP-bound tokens,
and has a back-channel logout receiver that records logout tokens. Logging in needs
no browser: :meth:`OidcProvider.login` follows the provider's redirects from the
authorization URL to the callback URL. The subject is the request's ``login_hint``
(default ``citizen-0001``; ``citizen-low`` always logs in at eIDAS low); ``acr`` is
the first eIDAS level in ``acr_values`` (default substantial), ``amr`` follows it
(high: ``face``, ``mfa``). ID tokens carry ``amr`` always, ``acr`` when
``acr_values`` was sent, ``auth_time`` when ``max_age`` was sent and ``sid`` always
(back-channel logout is registered). DPoP server nonces are required.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from govkit._encoding import b64url_encode
from govkit.keys import SigningKey

OP_DIR = Path(__file__).resolve().parents[2] / "oidc"
CLIENT_ID = "govkit-rp"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
POST_LOGOUT_REDIRECT_URI = "http://127.0.0.1:8765/logged-out"
NPM_CI = f"cd {OP_DIR} && npm ci --no-audit --no-fund   (or: make oidc-deps)"
_START_TIMEOUT = 30.0  # seconds; the machine is shared, start-up is normally < 1 s
_HTTP_TIMEOUT = 15.0


def _unavailable(reason: str) -> NoReturn:
    # A skip; under CI=true tests/conftest.py turns every skip into a failure.
    pytest.skip(f"the OIDC test provider cannot start: {reason}; run: {NPM_CI}")


def private_jwk(key: SigningKey) -> dict[str, str]:
    """The private JWK of an ES256 :class:`SigningKey` (with ``kid``, ``alg``, ``use``)."""
    private = key.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    numbers = private.private_numbers()
    return {
        **key.verifying_key.to_jwk(),
        "d": b64url_encode(numbers.private_value.to_bytes(32, "big")),
        "kid": key.kid,
        "alg": key.alg,
        "use": "sig",
    }


def public_jwk(key: SigningKey) -> dict[str, str]:
    return {**key.verifying_key.to_jwk(), "kid": key.kid, "alg": key.alg, "use": "sig"}


class BackchannelReceiver:
    """An HTTP server on 127.0.0.1 that records every back-channel logout token POSTed to
    ``uri`` (the ``logout_token`` form field) and answers 200."""

    def __init__(self) -> None:
        self._tokens: queue.Queue[str] = queue.Queue()
        received = self._tokens

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("ascii", "replace"))
                for token in form.get("logout_token", []):
                    received.put(token)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.uri = f"http://127.0.0.1:{self._server.server_address[1]}/backchannel-logout"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, timeout: float = 10.0) -> str:
        """The next logout token received (waits up to ``timeout`` seconds)."""
        return self._tokens.get(timeout=timeout)

    def drain(self) -> list[str]:
        """Every logout token received and not yet taken."""
        tokens = []
        while True:
            try:
                tokens.append(self._tokens.get_nowait())
            except queue.Empty:
                return tokens

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class LoginRefused(AssertionError):
    """The provider answered the front channel with an error page instead of a redirect
    (e.g. ``invalid_request_uri`` for a PAR ``request_uri`` used twice): ``status`` is
    the HTTP status, ``error`` the JSON ``error`` (``None`` when the body is not JSON)."""

    def __init__(self, url: str, response: requests.Response) -> None:
        self.status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        self.error: str | None = body.get("error") if isinstance(body, dict) else None
        self.body = response.text
        super().__init__(f"login stopped at {url}: {self.status} {self.body[:500]!r}")


@dataclass
class OidcProvider:
    """One running ``op.mjs``: where it is, the client registered there, and a browser."""

    issuer: str
    mode: str  # "plain" or "fapi2"
    client_id: str
    client_key: SigningKey  # the client's ES256 private_key_jwt key (kid = key.kid)
    client_jwk: dict[str, str]  # its private JWK (kty, crv, x, y, d, kid, alg, use)
    client_public_jwks: dict[str, Any]  # what the provider holds: {"keys": [public JWK]}
    redirect_uri: str
    post_logout_redirect_uri: str
    backchannel: BackchannelReceiver  # logout tokens the provider POSTs
    log_path: Path  # the provider's stderr (OP_DEBUG=1: each error's real reason)
    browser: requests.Session = field(default_factory=requests.Session)
    LoginRefused = LoginRefused  # what login() raises: pytest.raises(provider.LoginRefused)

    @property
    def fapi(self) -> bool:
        return self.mode == "fapi2"

    def discovery(self) -> dict[str, Any]:
        """The provider's discovery document, fetched now."""
        response = requests.get(
            f"{self.issuer}/.well-known/openid-configuration", timeout=_HTTP_TIMEOUT
        )
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def new_browser(self) -> requests.Session:
        """A fresh cookie jar: a user agent with no session at the provider."""
        return requests.Session()

    def login(self, authorization_url: str, *, browser: requests.Session | None = None) -> str:
        """Follow the provider's redirects from ``authorization_url`` (the front-channel
        ``/auth?client_id&request_uri`` URL) to the redirect URI, with no browser.

        The provider logs the user in (``login_hint`` names the subject) and grants what
        was asked; five 303s normally, none when the browser's session suffices. Returns
        the callback URL (``redirect_uri?code&state&iss``, or ``?error&state&iss``).
        An error page instead of a redirect raises :class:`LoginRefused`.
        ``browser`` is the cookie jar (default :attr:`browser`, shared by every call, so
        the provider's session lasts across logins as a real browser's would).
        """
        agent = browser if browser is not None else self.browser
        url = authorization_url
        for _ in range(12):
            if url.startswith(self.redirect_uri):
                return url
            response = agent.get(url, allow_redirects=False, timeout=_HTTP_TIMEOUT)
            if response.status_code not in (302, 303) or "Location" not in response.headers:
                raise LoginRefused(url, response)
            url = urljoin(url, response.headers["Location"])
        raise AssertionError(f"login did not reach {self.redirect_uri} in 12 redirects")

    def logout(self, end_session_url: str, *, browser: requests.Session | None = None) -> str:
        """Complete an RP-initiated logout: GET ``end_session_url`` (``/session/end?...``),
        confirm the provider's form, and return the URL it redirects to (the
        ``post_logout_redirect_uri?state=...``). Back-channel logout tokens the provider
        sends on the way land in :attr:`backchannel`."""
        agent = browser if browser is not None else self.browser
        page = agent.get(end_session_url, allow_redirects=False, timeout=_HTTP_TIMEOUT)
        if page.status_code != 200:
            raise AssertionError(f"logout page: {page.status_code} {page.text[:500]!r}")
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
        if action is None or xsrf is None:
            raise AssertionError(f"no logout form in {page.text[:500]!r}")
        confirm = agent.post(
            urljoin(end_session_url, action.group(1)),
            data={"xsrf": xsrf.group(1), "logout": "yes"},
            allow_redirects=False,
            timeout=_HTTP_TIMEOUT,
        )
        if confirm.status_code not in (302, 303):
            raise AssertionError(f"logout confirm: {confirm.status_code} {confirm.text[:500]!r}")
        return urljoin(end_session_url, confirm.headers["Location"])


def _start_provider(
    tmp: Path, mode: str, key: SigningKey, extra_env: dict[str, str] | None = None
) -> Iterator[OidcProvider]:
    """Start ``op.mjs`` (``mode`` ``plain`` or ``fapi2``) with ``key`` registered, yield
    it, stop it. ``extra_env`` sets more of op.mjs's variables (``OP_REDIRECT_URI``,
    ``OP_POST_LOGOUT_URI``, ``OP_DPOP_NONCE=0``, ``OP_ID_TOKEN_ALG``...; the two URIs
    also become the yielded provider's). Also used outside pytest by benchmarks/oidc.py
    (loaded by path), where a missing Node raises pytest's Skipped or Failed."""
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed (Node.js 20 or later)")
    if not (OP_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        _unavailable(f"{OP_DIR / 'node_modules'} has no oidc-provider")
    assert node is not None
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < 20:
        _unavailable(f"oidc-provider 9 needs Node.js 20 or later, found {version or 'nothing'}")
    tmp.mkdir(parents=True, exist_ok=True)
    jwks = {"keys": [public_jwk(key)]}
    jwks_path = tmp / "client-jwks.json"
    jwks_path.write_text(json.dumps(jwks), encoding="utf-8")
    receiver = BackchannelReceiver()
    redirect_uri = (extra_env or {}).get("OP_REDIRECT_URI", REDIRECT_URI)
    post_logout = (extra_env or {}).get("OP_POST_LOGOUT_URI", POST_LOGOUT_REDIRECT_URI)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp)),
        "OP_PORT": "0",
        "OP_CLIENT_JWKS": str(jwks_path),
        "OP_CLIENT_ID": CLIENT_ID,
        "OP_REDIRECT_URI": REDIRECT_URI,
        "OP_POST_LOGOUT_URI": POST_LOGOUT_REDIRECT_URI,
        "OP_BACKCHANNEL_LOGOUT_URI": receiver.uri,
        "OP_DEBUG": "1",
        **({"OP_FAPI": "2.0"} if mode == "fapi2" else {}),
        **(extra_env or {}),
    }
    log_path = tmp / "op.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [node, "op.mjs"],
        cwd=OP_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        reader = threading.Thread(
            target=lambda: lines.put(process.stdout.readline() if process.stdout else b""),
            daemon=True,
        )
        reader.start()
        try:
            line = lines.get(timeout=_START_TIMEOUT).decode("utf-8", "replace").strip()
        except queue.Empty:
            line = ""
        if not line.startswith("READY "):
            raise RuntimeError(
                f"op.mjs did not start (got {line!r}): {log_path.read_text(errors='replace')}"
            )
        issuer = line.removeprefix("READY ")
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        provider = OidcProvider(
            issuer=issuer,
            mode=mode,
            client_id=CLIENT_ID,
            client_key=key,
            client_jwk=private_jwk(key),
            client_public_jwks=jwks,
            redirect_uri=redirect_uri,
            post_logout_redirect_uri=post_logout,
            backchannel=receiver,
            log_path=log_path,
        )
        try:
            yield provider
        finally:
            provider.browser.close()
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()
        log.close()
        receiver.close()


@pytest.fixture(scope="session")
def oidc_client_key() -> SigningKey:
    """The relying party's ES256 ``private_key_jwt`` key, registered at every provider."""
    return SigningKey.generate("ES256")


@pytest.fixture(scope="session")
def oidc_provider_plain(
    tmp_path_factory: pytest.TempPathFactory, oidc_client_key: SigningKey
) -> Iterator[OidcProvider]:
    yield from _start_provider(tmp_path_factory.mktemp("op-plain"), "plain", oidc_client_key)


@pytest.fixture(scope="session")
def oidc_provider_fapi(
    tmp_path_factory: pytest.TempPathFactory, oidc_client_key: SigningKey
) -> Iterator[OidcProvider]:
    yield from _start_provider(tmp_path_factory.mktemp("op-fapi"), "fapi2", oidc_client_key)


@pytest.fixture(scope="session")
def oidc_provider_other(
    tmp_path_factory: pytest.TempPathFactory, oidc_client_key: SigningKey
) -> Iterator[OidcProvider]:
    """A second FAPI 2.0 provider, another issuer, the same client registered."""
    yield from _start_provider(tmp_path_factory.mktemp("op-other"), "fapi2", oidc_client_key)


@pytest.fixture(scope="session", params=["plain", "fapi2"])
def oidc_provider(request: pytest.FixtureRequest) -> OidcProvider:
    """Both providers in turn: FAPI 2.0 off (``plain``) and on (``fapi2``)."""
    name = "oidc_provider_plain" if request.param == "plain" else "oidc_provider_fapi"
    provider: OidcProvider = request.getfixturevalue(name)
    return provider


__all__ = ["BackchannelReceiver", "LoginRefused", "OidcProvider", "private_jwk", "public_jwk"]


def _callback_params(url: str) -> dict[str, str]:
    """The query of a callback URL as a dict (each parameter once)."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def callback_params() -> Any:
    """``callback_params(url) -> dict``: the query of a callback URL."""
    return _callback_params
