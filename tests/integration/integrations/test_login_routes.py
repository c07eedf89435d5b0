"""The login routes of the three frameworks, run through the documented examples.

docs/examples/login_{fastapi,flask,django}.py are imported by path (with the environment
``login_setup.build_logins`` reads) and driven by each framework's test client, as a
browser would, against :class:`govkit.testing.oidc.LocalProvider` on loopback: login ->
callback -> session -> protected route -> back-channel logout -> the route redirects
again. The application is reached at ``https://rp.example`` so that its cookies are the
real ``__Host-`` ``Secure`` ones. Stores are SQLite files, shared by two "instances"
(two imports of one example) where a test says so.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from govkit.identity import AssuranceLevel
from govkit.keys import SigningKey
from govkit.testing.oidc import LocalProvider

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
PUBLIC_URL = "https://rp.example"
HIGH = AssuranceLevel.HIGH.acr
FRAMEWORKS = ("fastapi", "flask", "django")


@dataclass
class Reply:
    status: int
    location: str | None
    body: bytes
    set_cookies: list[str]

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """One browser at the application: a framework test client and its cookie jar."""

    def get(self, url: str) -> Reply:
        raise NotImplementedError

    def post(self, url: str, body: bytes = b"", content_type: str = "") -> Reply:
        raise NotImplementedError

    def cookie(self, name: str) -> str | None:
        raise NotImplementedError

    def set_cookie(self, name: str, value: str) -> None:
        raise NotImplementedError


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class FastApiBrowser(Browser):
    def __init__(self, module: ModuleType) -> None:
        from starlette.exceptions import StarletteDeprecationWarning  # noqa: PLC0415

        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
            )
            from fastapi.testclient import TestClient  # noqa: PLC0415
        self.client = TestClient(module.app, base_url=PUBLIC_URL)

    def _reply(self, response: Any) -> Reply:
        return Reply(
            response.status_code,
            response.headers.get("location"),
            response.content,
            response.headers.get_list("set-cookie"),
        )

    def get(self, url: str) -> Reply:
        return self._reply(self.client.get(_local(url), follow_redirects=False))

    def post(self, url: str, body: bytes = b"", content_type: str = "") -> Reply:
        headers = {"Content-Type": content_type} if content_type else {}
        response = self.client.post(
            _local(url), content=body, headers=headers, follow_redirects=False
        )
        return self._reply(response)

    def cookie(self, name: str) -> str | None:
        value = self.client.cookies.get(name)
        return str(value) if value is not None else None

    def set_cookie(self, name: str, value: str) -> None:
        self.client.cookies.set(name, value, domain="rp.example", path="/")


class FlaskBrowser(Browser):
    def __init__(self, module: ModuleType) -> None:
        self.client = module.app.test_client()

    def _reply(self, response: Any) -> Reply:
        return Reply(
            response.status_code,
            response.headers.get("Location"),
            response.get_data(),
            response.headers.getlist("Set-Cookie"),
        )

    def get(self, url: str) -> Reply:
        return self._reply(self.client.get(_local(url), base_url=PUBLIC_URL))

    def post(self, url: str, body: bytes = b"", content_type: str = "") -> Reply:
        response = self.client.post(
            _local(url), data=body, content_type=content_type or None, base_url=PUBLIC_URL
        )
        return self._reply(response)

    def cookie(self, name: str) -> str | None:
        found = self.client.get_cookie(name, domain="rp.example")
        return found.value if found is not None else None

    def set_cookie(self, name: str, value: str) -> None:
        self.client.set_cookie(name, value, domain="rp.example", path="/", secure=True)


class DjangoBrowser(Browser):
    def __init__(self, module: ModuleType, settings: Any) -> None:
        from django.test import Client  # noqa: PLC0415

        self.client = Client()
        self.settings = settings

    def _reply(self, response: Any) -> Reply:
        cookies = [morsel.OutputString() for morsel in response.cookies.values()]
        return Reply(
            response.status_code, response.headers.get("Location"), response.content, cookies
        )

    def get(self, url: str) -> Reply:
        with self.settings:
            return self._reply(self.client.get(_local(url), secure=True))

    def post(self, url: str, body: bytes = b"", content_type: str = "") -> Reply:
        with self.settings:
            response = self.client.generic(
                "POST",
                _local(url),
                data=body,
                content_type=content_type or "application/octet-stream",
                secure=True,
            )
        return self._reply(response)

    def cookie(self, name: str) -> str | None:
        morsel = self.client.cookies.get(name)
        return morsel.value if morsel is not None and morsel.value else None

    def set_cookie(self, name: str, value: str) -> None:
        self.client.cookies[name] = value


@dataclass
class Site:
    """One instance of an example application, and how to open a browser at it."""

    framework: str
    module: ModuleType
    new_browser: Callable[[], Browser]

    @property
    def logins(self) -> Any:
        return self.module.logins


class World:
    def __init__(self, op: LocalProvider, state: Path) -> None:
        self.op = op
        self.state = state
        self.count = 0

    def site(self, framework: str, monkeypatch: pytest.MonkeyPatch) -> Site:
        """An instance of the framework's example (a fresh import: its own objects)."""
        self.count += 1
        name = f"login_example_{framework}_{self.count}"
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"login_{framework}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        if framework == "fastapi":
            return Site(framework, module, lambda: FastApiBrowser(module))
        if framework == "flask":
            return Site(framework, module, lambda: FlaskBrowser(module))
        from django.test import override_settings  # noqa: PLC0415

        settings = override_settings(
            ROOT_URLCONF=module,
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            ALLOWED_HOSTS=["*"],
        )
        return Site(framework, module, lambda: DjangoBrowser(module, settings))


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[LocalProvider, SigningKey]]:
    key = SigningKey.generate("ES256")
    with LocalProvider(
        client_keys=[key.verifying_key],
        redirect_uris=(f"{PUBLIC_URL}/callback",),
        post_logout_redirect_uris=(f"{PUBLIC_URL}/logged-out",),
    ) as op:
        yield op, key


@pytest.fixture
def world(
    provider: tuple[LocalProvider, SigningKey],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_settings: None,
) -> Iterator[World]:
    op, key = provider
    pem = tmp_path / "client.pem"
    pem.write_bytes(key.to_pem())
    for name, value in {
        "GOVKIT_PUBLIC_URL": PUBLIC_URL,
        "GOVKIT_STATE_DIR": str(tmp_path),
        "GOVKIT_OIDC_ISSUER": op.issuer,
        "GOVKIT_OIDC_CLIENT_ID": op.client_id,
        "GOVKIT_OIDC_CLIENT_KEY": str(pem),
        "GOVKIT_LOGIN_KEY": "5a" * 32,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    op.assurance = AssuranceLevel.HIGH
    yield World(op, tmp_path)
    op.assurance = AssuranceLevel.HIGH


@pytest.fixture(params=FRAMEWORKS)
def site(request: pytest.FixtureRequest, world: World, monkeypatch: pytest.MonkeyPatch) -> Site:
    return world.site(request.param, monkeypatch)


def log_in(site: Site, browser: Browser, op: LocalProvider, start: str = "/login") -> Reply:
    """Login route -> provider -> callback: the callback's answer."""
    started = browser.get(start)
    assert started.status == 303, started.body
    assert started.location is not None
    assert started.location.startswith(op.issuer + "/authorize?")
    assert browser.cookie(site.logins.state_cookie) is not None
    callback = op.authorize(started.location)
    assert callback.startswith(f"{PUBLIC_URL}/callback?")
    return browser.get(callback)


def backchannel(browser: Browser, token: str) -> Reply:
    return browser.post(
        "/backchannel-logout",
        urlencode({"logout_token": token}).encode(),
        "application/x-www-form-urlencoded",
    )


def refused_code(reply: Reply) -> str:
    assert b"eyJ" not in reply.body  # never a token (nor any JWS) in an error page
    text = reply.body.decode()
    return text.split("<code>")[1].split("</code>")[0]


# --- the whole flow ---------------------------------------------------------------------


def test_login_session_then_backchannel_logout_by_sid_ends_it(site: Site, world: World) -> None:
    op = world.op
    browser = site.new_browser()
    assert browser.get("/me").location == "/login?next=%2Fme"  # no session yet
    finished = log_in(site, browser, op, "/login?next=%2Fme")
    assert finished.status == 303, finished.body
    assert finished.location == "/me"
    cookie_name = site.logins.session_cookie
    assert cookie_name == "__Host-govkit-session"
    header = next(c for c in finished.set_cookies if c.startswith(cookie_name + "="))
    lowered = header.lower()
    assert "httponly" in lowered
    assert "secure" in lowered
    assert "samesite=lax" in lowered
    assert "path=/" in lowered
    value = header.split(";")[0].split("=", 1)[1]
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert b"citizen-0001" not in raw  # sealed: neither the subject nor the ID token shows
    assert b'"sub"' not in raw
    assert browser.cookie(site.logins.state_cookie) is None  # the state cookie is spent

    me = browser.get("/me")
    assert me.status == 200, me.body
    session = me.json()
    assert session["subject"] == "citizen-0001"
    assert session["assurance"] == "high"
    assert session["sid"] in op.sessions()

    # The provider ends the session at its side: a signed logout token names the sid.
    token = op.logout_token(sid=session["sid"])
    ended = backchannel(site.new_browser(), token)
    assert ended.status == 200, ended.body
    assert browser.get("/me").location == "/login?next=%2Fme"

    # The same logout token again: a replay, refused with its code.
    replayed = backchannel(site.new_browser(), token)
    assert replayed.status == 400
    assert replayed.json()["error_description"] == "oidc.logout_replayed"


def test_backchannel_logout_by_sub_only_ends_every_session_of_that_person(
    site: Site, world: World
) -> None:
    op = world.op
    first, second = site.new_browser(), site.new_browser()
    assert log_in(site, first, op).status == 303
    assert log_in(site, second, op).status == 303
    assert first.get("/me").status == 200
    ended = backchannel(first, op.logout_token(subject="citizen-0001"))
    assert ended.status == 200
    assert first.get("/me").status == 303
    assert second.get("/me").status == 303
    # A login after the logout is a new session: it is not ended by the old token.
    third = site.new_browser()
    assert log_in(site, third, op).status == 303
    assert third.get("/me").status == 200


def test_backchannel_logout_at_one_instance_ends_the_session_at_another(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = world.op
    one = world.site("fastapi", monkeypatch)
    two = world.site("flask", monkeypatch)  # another instance, same key and stores
    browser = one.new_browser()
    assert log_in(one, browser, op).status == 303
    cookie = browser.cookie(one.logins.session_cookie)
    assert cookie is not None
    elsewhere = two.new_browser()
    elsewhere.set_cookie(two.logins.session_cookie, cookie)
    sid = elsewhere.get("/me").json()["sid"]
    assert backchannel(two.new_browser(), op.logout_token(sid=sid)).status == 200
    assert browser.get("/me").status == 303  # ended at instance one as well
    assert elsewhere.get("/me").status == 303


# --- login CSRF, provider errors, mix-up -------------------------------------------------


def test_login_csrf_callback_from_another_browsers_login_is_refused(
    site: Site, world: World
) -> None:
    op = world.op
    attacker, victim = site.new_browser(), site.new_browser()
    started = attacker.get("/login")
    assert started.location is not None
    callback = op.authorize(started.location)  # the attacker's own login
    assert victim.get("/login").status == 303  # the victim has a state cookie of its own
    refused = victim.get(callback)
    assert refused.status == 400
    assert refused_code(refused) == "oidc.state_mismatch"
    assert victim.get("/me").status == 303  # no session was made


def test_login_csrf_callback_without_state_cookie_is_refused(site: Site, world: World) -> None:
    op = world.op
    attacker = site.new_browser()
    started = attacker.get("/login")
    assert started.location is not None
    callback = op.authorize(started.location)
    refused = site.new_browser().get(callback)
    assert refused.status == 400
    assert refused_code(refused) == "oidc.state_mismatch"


def test_provider_error_on_callback_is_a_400_page_with_the_code(site: Site, world: World) -> None:
    op = world.op
    browser = site.new_browser()
    started = browser.get("/login")
    assert started.location is not None
    callback = urlsplit(op.authorize(started.location))
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    answer = {"error": "access_denied", "state": params["state"], "iss": op.issuer}
    refused = browser.get("/callback?" + urlencode(answer))
    assert refused.status == 400
    assert refused_code(refused) == "oidc.provider_error"


def test_mix_up_callback_naming_another_issuer_is_refused(site: Site, world: World) -> None:
    op = world.op
    browser = site.new_browser()
    started = browser.get("/login")
    assert started.location is not None
    callback = urlsplit(op.authorize(started.location))
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    params["iss"] = "https://other-provider.example"
    refused = browser.get("/callback?" + urlencode(params))
    assert refused.status == 400
    assert refused_code(refused) == "oidc.issuer_mismatch"


def test_state_replay_second_callback_is_refused(site: Site, world: World) -> None:
    op = world.op
    browser = site.new_browser()
    started = browser.get("/login")
    assert started.location is not None
    callback = op.authorize(started.location)
    state = browser.cookie(site.logins.state_cookie)
    assert state is not None
    assert browser.get(callback).status == 303
    browser.set_cookie(site.logins.state_cookie, state)  # the cookie kept and sent again
    replayed = browser.get(callback)
    assert replayed.status == 400
    assert refused_code(replayed) == "oidc.state_replayed"


# --- the login route's allow-list, sessions that cannot be forged --------------------------


@pytest.mark.parametrize(
    "query",
    [
        "login_hint=citizen-0002",  # not in login_query
        "max_age=0",  # not in login_query
        "acr_values=urn%3Aunknown",  # not a known acr
        "next=%2F%2Fevil.example%2F",  # open redirect
        "next=https%3A%2F%2Fevil.example%2F",
    ],
)
def test_login_query_outside_the_allow_list_is_refused(
    site: Site, world: World, query: str
) -> None:
    refused = site.new_browser().get(f"/login?{query}")
    assert refused.status == 400
    assert refused_code(refused) == "oidc.login_request_invalid"


def test_forged_or_tampered_session_cookie_is_no_session(site: Site, world: World) -> None:
    browser = site.new_browser()
    assert log_in(site, browser, world.op).status == 303
    name = site.logins.session_cookie
    cookie = browser.cookie(name)
    assert cookie is not None
    flipped = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    browser.set_cookie(name, flipped)
    assert browser.get("/me").status == 303
    browser.set_cookie(name, "not-a-session")
    assert browser.get("/me").status == 303


# --- step-up ------------------------------------------------------------------------------


def test_step_up_redirect_carries_acr_values_then_login_at_high_passes(
    site: Site, world: World
) -> None:
    op = world.op
    op.assurance = AssuranceLevel.SUBSTANTIAL
    browser = site.new_browser()
    assert log_in(site, browser, op).status == 303
    assert browser.get("/me").json()["assurance"] == "substantial"
    stepped = browser.get("/returns/submit")
    assert stepped.status == 303
    assert stepped.location is not None
    query = parse_qs(urlsplit(stepped.location).query)
    assert urlsplit(stepped.location).path == "/login"
    assert query["acr_values"] == [HIGH]
    assert query["next"] == ["/returns/submit"]
    # The browser follows it; the provider now verifies the face (HIGH).
    op.assurance = AssuranceLevel.HIGH
    finished = log_in(site, browser, op, stepped.location)
    assert finished.status == 303
    assert finished.location == "/returns/submit"
    filed = browser.get("/returns/submit")
    assert filed.status == 200
    assert filed.json() == {"filed_by": "citizen-0001"}


def test_step_up_ends_the_lower_session_so_a_kept_cookie_copy_is_dead(
    site: Site, world: World
) -> None:
    op = world.op
    op.assurance = AssuranceLevel.SUBSTANTIAL
    browser = site.new_browser()
    assert log_in(site, browser, op).status == 303
    name = site.logins.session_cookie
    lower = browser.cookie(name)
    assert lower is not None
    stepped = browser.get("/returns/submit")
    assert stepped.location is not None
    op.assurance = AssuranceLevel.HIGH
    assert log_in(site, browser, op, stepped.location).status == 303
    higher = browser.cookie(name)
    assert higher is not None
    assert higher != lower
    assert browser.get("/returns/submit").status == 200  # the new session works
    thief = site.new_browser()
    thief.set_cookie(name, lower)  # a copy of the SUBSTANTIAL session taken before
    assert thief.get("/me").status == 303  # ended: sent to log in
    assert browser.get("/me").json()["assurance"] == "high"


def test_step_up_login_answered_with_lower_acr_is_refused(site: Site, world: World) -> None:
    op = world.op
    op.assurance = AssuranceLevel.SUBSTANTIAL
    browser = site.new_browser()
    refused = log_in(site, browser, op, "/login?" + urlencode({"acr_values": HIGH}))
    assert refused.status == 400
    assert refused_code(refused) == "oidc.acr_insufficient"


# --- logout -------------------------------------------------------------------------------


def test_logout_redirects_to_provider_and_a_kept_cookie_copy_is_dead(
    site: Site, world: World
) -> None:
    op = world.op
    browser = site.new_browser()
    assert log_in(site, browser, op).status == 303
    name = site.logins.session_cookie
    copy = browser.cookie(name)
    assert copy is not None
    out = browser.post("/logout")
    assert out.status == 303
    assert out.location is not None
    assert out.location.startswith(op.issuer + "/session/end?")
    target = parse_qs(urlsplit(out.location).query)
    assert target["post_logout_redirect_uri"] == [f"{PUBLIC_URL}/logged-out"]
    assert target["id_token_hint"][0].count(".") == 2
    assert browser.cookie(name) is None
    thief = site.new_browser()
    thief.set_cookie(name, copy)
    assert thief.get("/me").status == 303


def test_backchannel_logout_token_forged_by_another_key_is_refused(
    site: Site, world: World
) -> None:
    other = LocalProvider(client_keys=[SigningKey.generate("ES256").verifying_key])
    forged = other.logout_token(sid="whatever")  # signed by a key not in the JWKS
    other.stop()
    refused = backchannel(site.new_browser(), forged)
    assert refused.status == 400
    assert refused.json()["error"] == "invalid_request"
    assert refused.json()["error_description"].startswith(("token.", "oidc."))


def test_backchannel_logout_without_form_is_refused(site: Site, world: World) -> None:
    browser = site.new_browser()
    assert browser.post("/backchannel-logout", b"{}", "application/json").status == 400
    assert (
        browser.post("/backchannel-logout", b"x=1", "application/x-www-form-urlencoded").status
        == 400
    )


# --- the manager itself: configuration, the on_login hook, a store that is down -----------


def _manager(world: World, **options: Any) -> Any:
    from govkit.identity.oidc import OidcClient  # noqa: PLC0415
    from govkit.integrations import LoginManager  # noqa: PLC0415
    from govkit.stores import MemoryFlowStore, MemoryReplayStore, MemoryRevocationStore  # noqa: PLC0415

    client = OidcClient(
        world.op.issuer,
        client_id=world.op.client_id,
        client_key=SigningKey.from_pem(Path(world.state / "client.pem").read_bytes()),
        redirect_uri=f"{PUBLIC_URL}/callback",
        flows=MemoryFlowStore(key=bytes(32)),
        replay_store=MemoryReplayStore(),
    )
    settings: dict[str, Any] = {"key": bytes(range(32)), "revocations": MemoryRevocationStore()}
    settings.update(options)
    return LoginManager(client, **settings)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"key": b"short"}, "32 or more bytes"),
        ({"old_keys": [b"short"]}, "32 or more bytes"),
        ({"revocations": object()}, "RevocationStore"),
        ({"acr_values": ["urn:unknown"]}, "acr_values"),
        ({"login_query": ["prompt"]}, "login_query"),
        ({"after_login": "//evil.example/"}, "after_login"),
        ({"session_max_age": timedelta(0)}, "session_max_age"),
    ],
)
def test_manager_configuration_that_cannot_work_is_refused(
    world: World, options: dict[str, Any], match: str
) -> None:
    from govkit.errors import ConfigurationError  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match=match):
        _manager(world, **options)


def test_on_login_gets_the_tokens_and_the_session(world: World) -> None:
    seen: list[tuple[Any, Any]] = []
    manager = _manager(world, on_login=lambda login, session: seen.append((login, session)))
    started = manager.start({})
    cookie = started.cookies[0]
    assert (cookie.name, cookie.secure) == ("__Host-govkit-login", True)
    assert started.location is not None
    finished = manager.finish(world.op.authorize(started.location), cookie.value)
    assert finished.status == 303
    [(login, session)] = seen
    assert login.tokens.access_token
    assert session.sid == login.id_token.sid
    sealed = next(c for c in finished.cookies if c.name == manager.session_cookie)
    assert manager.session(sealed.value) == session
    assert session.id_token not in repr(session)


def test_old_key_still_opens_sessions_after_rotation(world: World) -> None:
    old = _manager(world, key=b"o" * 32)
    started = old.start({})
    assert started.location is not None
    finished = old.finish(world.op.authorize(started.location), started.cookies[0].value)
    sealed = next(c for c in finished.cookies if c.name == old.session_cookie).value
    rotated = _manager(world, key=b"n" * 32, old_keys=[b"o" * 32], revocations=old.revocations)
    assert rotated.session(sealed) is not None
    assert _manager(world, key=b"n" * 32, revocations=old.revocations).session(sealed) is None


class DownStore:
    """A revocation store whose server is down."""

    def _down(self, *args: Any, **kwargs: Any) -> Any:
        from govkit.errors import StoreError  # noqa: PLC0415

        raise StoreError("the revocation store is down")

    revoke_token = is_revoked = revoke_subject = subject_not_before = _down


def test_revocation_store_down_fails_closed_with_503(world: World) -> None:
    from fastapi import Depends, FastAPI  # noqa: PLC0415

    from govkit.integrations.fastapi import login_router, require_login  # noqa: PLC0415

    manager = _manager(world, revocations=DownStore())
    app = FastAPI()
    app.include_router(login_router(manager))
    guard = require_login(manager)

    @app.get("/me")
    async def me(session: Any = Depends(guard)) -> dict[str, str]:  # noqa: B008
        return {"subject": session.subject}

    browser = FastApiBrowser(type("M", (), {"app": app})())  # type: ignore[arg-type]
    started = browser.get("/login")
    assert started.location is not None
    assert browser.get(world.op.authorize(started.location)).status == 303
    down = browser.get("/me")
    assert down.status == 503
    assert down.json()["detail"] == {"error": "store.error"}
    ended = backchannel(browser, world.op.logout_token(sid="some-sid"))
    assert ended.status == 503


def test_django_asgi_login_routes_and_async_view(world: World) -> None:
    import asyncio  # noqa: PLC0415

    from django.http import HttpRequest, JsonResponse  # noqa: PLC0415
    from django.test import AsyncClient, override_settings  # noqa: PLC0415
    from django.urls import path  # noqa: PLC0415

    from govkit.integrations.django import login_urls, require_login  # noqa: PLC0415

    manager = _manager(world)

    @require_login(manager)
    async def me(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"sid": request.login_session.sid})  # type: ignore[attr-defined]

    class Urls:
        urlpatterns: ClassVar[list[Any]] = [*login_urls(manager, asynchronous=True), path("me", me)]

    async def flow() -> None:
        client = AsyncClient()
        with override_settings(ROOT_URLCONF=Urls, MIDDLEWARE=[]):
            started = await client.get("/login", secure=True)
            assert started.status_code == 303
            callback = world.op.authorize(started.headers["Location"])
            finished = await client.get(_local(callback), secure=True)
            assert finished.status_code == 303, finished.content
            sid = (await client.get("/me", secure=True)).json()["sid"]
            body = urlencode({"logout_token": world.op.logout_token(sid=sid)})
            ended = await client.post(
                "/backchannel-logout",
                body,
                content_type="application/x-www-form-urlencoded",
                secure=True,
            )
            assert ended.status_code == 200
            again = await client.get("/me", secure=True)
            assert again.status_code == 303
            assert again.headers["Location"] == "/login?next=%2Fme"

    asyncio.run(flow())


def test_flask_async_view_with_require_login(world: World) -> None:
    from flask import Flask, g  # noqa: PLC0415

    from govkit.integrations.flask import login_blueprint, require_login  # noqa: PLC0415

    manager = _manager(world)
    app = Flask("async")
    app.register_blueprint(login_blueprint(manager))

    @app.get("/me")
    @require_login(manager)
    async def me() -> dict[str, str]:
        return {"subject": g.login_session.subject}

    browser = FlaskBrowser(type("M", (), {"app": app})())  # type: ignore[arg-type]
    assert browser.get("/me").location == "/login?next=%2Fme"
    started = browser.get("/login")
    assert started.location is not None
    assert browser.get(world.op.authorize(started.location)).status == 303
    assert browser.get("/me").json() == {"subject": "citizen-0001"}


def test_login_query_inside_the_allow_list_reaches_the_provider(world: World) -> None:
    manager = _manager(world, login_query=("acr_values", "max_age", "login_hint"))
    started = manager.start({"login_hint": "citizen-0002", "max_age": "300", "acr_values": HIGH})
    assert started.status == 303
    assert started.location is not None
    finished = manager.finish(world.op.authorize(started.location), started.cookies[0].value)
    assert finished.status == 303, finished.body
    sealed = next(c for c in finished.cookies if c.name == manager.session_cookie)
    session = manager.session(sealed.value)
    assert session is not None
    assert session.subject == "citizen-0002"  # the provider logged the hinted subject in
    assert session.auth_time is not None
    assert session.assurance == AssuranceLevel.HIGH
    too_old = manager.start({"max_age": str(10**9)})  # beyond session_max_age
    assert too_old.status == 400
