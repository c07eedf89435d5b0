"""Does an OpenID provider show that it meets the FAPI 2.0 Security Profile?

:func:`inspect_fapi2_provider` reads a provider's discovery document
(``ISSUER/.well-known/openid-configuration``, OpenID Connect Discovery 1.0) through
govkit's bounded fetcher (https only; plain http only for a loopback host) and
:func:`inspect_fapi2_discovery` checks, one by one, what FAPI 2.0 asks of an
authorization server that the document can show. ``govkit oidc check`` prints the
:class:`Fapi2Report`.

>>> from govkit.identity import inspect_fapi2_discovery
>>> issuer = "https://id.example.gov.cn"
>>> document = {
...     "issuer": issuer, "authorization_endpoint": issuer + "/auth",
...     "token_endpoint": issuer + "/token", "jwks_uri": issuer + "/jwks",
...     "pushed_authorization_request_endpoint": issuer + "/par",
...     "require_pushed_authorization_requests": True,
...     "code_challenge_methods_supported": ["S256"],
...     "token_endpoint_auth_methods_supported": ["private_key_jwt"],
...     "dpop_signing_alg_values_supported": ["ES256"],
...     "authorization_response_iss_parameter_supported": True,
...     "id_token_signing_alg_values_supported": ["ES256", "PS256"],
... }
>>> inspect_fapi2_discovery(document, issuer).valid
True
>>> document["token_endpoint_auth_methods_supported"].append("client_secret_basic")
>>> report = inspect_fapi2_discovery(document, issuer)
>>> report.valid, report.code, [c.name for c in report.checks if c.ok is False]
(False, 'oidc.not_fapi', ['client_auth'])

The checks, in order (each failure has the code ``oidc.not_fapi``, but
``issuer_identifier``'s, which is ``oidc.discovery``):

``discovery``
    the document is one JSON object (strictly: no duplicate members);
``issuer_identifier``
    the document's ``issuer`` is exactly the issuer asked about (a document naming
    another issuer belongs to another provider);
``https``
    the issuer and every endpoint (each ``*_endpoint``, ``jwks_uri`` and the
    ``mtls_endpoint_aliases``) use https, or http to a loopback host; the
    ``authorization_endpoint``, ``token_endpoint`` and ``jwks_uri`` must be there;
``par``
    a ``pushed_authorization_request_endpoint`` and
    ``require_pushed_authorization_requests: true``;
``pkce``
    ``S256`` in ``code_challenge_methods_supported``, and not ``plain``;
``client_auth``
    ``private_key_jwt`` in ``token_endpoint_auth_methods_supported``, and no method
    but ``private_key_jwt`` and the two mTLS ones (no client secret, no ``none``);
``dpop``
    ``dpop_signing_alg_values_supported``, every one asymmetric;
``iss_parameter``
    ``authorization_response_iss_parameter_supported: true`` (RFC 9207);
``signing_algorithms``
    no ``none`` and no HMAC (``HS*``) in any ``*_signing_alg_values_supported`` list
    (``id_token_signing_alg_values_supported`` must be there);
``fapi_algorithms``
    only PS256, ES256 and EdDSA (Ed25519) in those lists (FAPI 2.0 section 5.4).

The verdict (:attr:`~govkit.report.Report.valid`) is true only when every check
passed. A check the document does not let govkit make (a member missing or of the wrong
type) is failed, never passed: the report says what the document shows, and never
more. It does not test the provider's behaviour: a provider may advertise FAPI 2.0
and still accept a weaker request. mTLS (RFC 8705) as the sender constraint is not
recognised: such a provider fails ``dpop``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from govkit._http import FetchError, SourcePolicy, check_url, fetch, settle
from govkit._json import loads_object
from govkit.errors import ConfigurationError, OidcDiscoveryError, OidcNotFapi2, OidcUnavailable
from govkit.report import Check, Report, summary_line

__all__ = ["Fapi2Report", "discovery_url", "inspect_fapi2_discovery", "inspect_fapi2_provider"]

#: The client authentication methods FAPI 2.0 allows (section 5.3.2.1).
_FAPI_CLIENT_AUTH: Final = frozenset(
    {"private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"}
)
#: The signing algorithms FAPI 2.0 allows (section 5.4.1): PS256, ES256, EdDSA (Ed25519).
_FAPI_ALGORITHMS: Final = frozenset({"PS256", "ES256", "EdDSA", "Ed25519"})
_NOT_FAPI: Final = OidcNotFapi2.code
#: The endpoints a code-flow provider's document must name (OpenID Connect Discovery 1.0 §3).
_REQUIRED_ENDPOINTS: Final = ("authorization_endpoint", "token_endpoint", "jwks_uri")
_DEFAULTS: Final = SourcePolicy(timeout=10.0, max_bytes=1 << 20, max_redirects=3)
_SHOWN: Final = 120  # characters of a value from the document shown in a detail


@dataclass(frozen=True)
class Fapi2Report(Report):
    """What :func:`inspect_fapi2_provider` found: a check per FAPI 2.0 requirement.

    JSON: ``valid`` (true only when every check passed), ``kind``
    (``oidc_provider``), ``code``, ``checks``, then ``issuer`` (the URL asked about)
    and ``discovery_url``.
    """

    checks: tuple[Check, ...]
    issuer: str
    discovery_url: str
    kind: str = field(default="oidc_provider", init=False)

    def json_members(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "discovery_url": self.discovery_url}

    def summary(self) -> tuple[str, ...]:
        """One line: the provider's behaviour was not tested (only its document read)."""
        return self.summary_in("en")

    def summary_in(self, lang: str) -> tuple[str, ...]:
        return (summary_line("summary.fapi_scope", lang),)


def discovery_url(issuer: str) -> str:
    """Where the discovery document of ``issuer`` is (OpenID Connect Discovery 1.0 §4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _names(values: object) -> str:
    return ", ".join(sorted(_shown(v) for v in values)) if isinstance(values, list) else ""


def _string_list(metadata: Mapping[str, Any], name: str) -> list[str] | None:
    """``metadata[name]`` when it is a list of strings, else ``None``."""
    value = metadata.get(name)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _failed(name: str, key: str, code: str = _NOT_FAPI, /, **values: object) -> Check:
    """The failed check ``name``: its detail is the catalogue message ``key`` (en and zh)."""
    return Check.described(name, False, key, code, **values)


def _issuer(metadata: Mapping[str, Any], issuer: str) -> Check:
    named = metadata.get("issuer")
    if named == issuer:
        return Check.described("issuer_identifier", True, "fapi.issuer", issuer=issuer)
    if named is None:
        return _failed("issuer_identifier", "fapi.issuer_missing", OidcDiscoveryError.code)
    return _failed(
        "issuer_identifier",
        "fapi.issuer_other",
        OidcDiscoveryError.code,
        named=_shown(named),
        issuer=issuer,
    )


def _endpoints(metadata: Mapping[str, Any]) -> Iterator[tuple[str, object]]:
    for name, value in metadata.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            yield name, value
    aliases = metadata.get("mtls_endpoint_aliases")
    if isinstance(aliases, Mapping):
        for name, value in aliases.items():
            yield f"mtls_endpoint_aliases.{name}", value
    elif aliases is not None:
        yield "mtls_endpoint_aliases", aliases


def _https(metadata: Mapping[str, Any], issuer: str) -> Check:
    missing = [name for name in _REQUIRED_ENDPOINTS if name not in metadata]
    if missing:
        return Check.described(
            "https", False, "fapi.https_missing", _NOT_FAPI, names=", ".join(missing)
        )
    wrong: list[str] = []
    loopback = 0
    urls = [("issuer", issuer), *_endpoints(metadata)]
    for name, value in urls:
        try:  # the fetcher's own rule for a URL it may use
            check_url(value, name)
        except ConfigurationError:
            wrong.append(name)
            continue
        if urlsplit(str(value)).scheme.lower() == "http":
            loopback += 1
    if wrong:
        return Check.described(
            "https", False, "fapi.https_wrong", _NOT_FAPI, names=", ".join(sorted(wrong))
        )
    if loopback:
        return Check.described(
            "https", True, "fapi.https_loopback", count=len(urls), loopback=loopback
        )
    return Check.described("https", True, "fapi.https", count=len(urls))


def _par(metadata: Mapping[str, Any]) -> Check:
    if not isinstance(metadata.get("pushed_authorization_request_endpoint"), str):
        return _failed("par", "fapi.par_missing")
    if metadata.get("require_pushed_authorization_requests") is not True:
        return _failed("par", "fapi.par_optional")
    return Check.described("par", True, "fapi.par")


def _pkce(metadata: Mapping[str, Any]) -> Check:
    methods = _string_list(metadata, "code_challenge_methods_supported")
    if methods is None:
        return _failed("pkce", "fapi.pkce_unreadable")
    if "S256" not in methods:
        return _failed("pkce", "fapi.pkce_no_hash", methods=_names(methods))
    if "plain" in methods:
        return _failed("pkce", "fapi.pkce_plain")
    return Check.described("pkce", True, "fapi.pkce")


def _client_auth(metadata: Mapping[str, Any]) -> Check:
    methods = _string_list(metadata, "token_endpoint_auth_methods_supported")
    if methods is None:
        return _failed("client_auth", "fapi.client_auth_unreadable")
    if "private_key_jwt" not in methods:
        return _failed("client_auth", "fapi.client_auth_no_jwt", methods=_names(methods))
    others = [m for m in methods if m not in _FAPI_CLIENT_AUTH]
    if others:
        return _failed("client_auth", "fapi.client_auth_other", methods=_names(others))
    return Check.described("client_auth", True, "fapi.client_auth", methods=_names(methods))


def _weak(alg: str) -> bool:
    return alg.lower() == "none" or alg.upper().startswith("HS")


def _dpop(metadata: Mapping[str, Any]) -> Check:
    algs = _string_list(metadata, "dpop_signing_alg_values_supported")
    if not algs:
        return _failed("dpop", "fapi.dpop_missing")
    weak = [a for a in algs if _weak(a)]
    if weak:
        return _failed("dpop", "fapi.dpop_weak", algs=_names(weak))
    return Check.described("dpop", True, "fapi.dpop", algs=_names(algs))


def _iss_parameter(metadata: Mapping[str, Any]) -> Check:
    if metadata.get("authorization_response_iss_parameter_supported") is not True:
        return _failed("iss_parameter", "fapi.iss_parameter_missing")
    return Check.described("iss_parameter", True, "fapi.iss_parameter")


def _signing_lists(metadata: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Every ``*_signing_alg_values_supported`` list, and the names of malformed ones."""
    lists: dict[str, list[str]] = {}
    malformed: list[str] = []
    for name in metadata:
        if name.endswith("_signing_alg_values_supported"):
            values = _string_list(metadata, name)
            if values is None:
                malformed.append(name)
            else:
                lists[name] = values
    return lists, malformed


def _grouped(lists: Mapping[str, list[str]], wanted: Callable[[str], bool]) -> str:
    """``name: A, B; name: C`` for the algorithms ``wanted`` picks, per list."""
    parts = []
    for name in sorted(lists):
        picked = [_shown(alg) for alg in lists[name] if wanted(alg)]
        if picked:
            parts.append(f"{name}: {', '.join(picked)}")
    return "; ".join(parts)


def _signing_algorithms(metadata: Mapping[str, Any]) -> Check:
    lists, malformed = _signing_lists(metadata)
    if "id_token_signing_alg_values_supported" not in lists and not malformed:
        return _failed("signing_algorithms", "fapi.signing_missing")
    if malformed:
        return _failed("signing_algorithms", "fapi.signing_malformed", names=", ".join(malformed))
    weak = _grouped(lists, _weak)
    if weak:
        return _failed("signing_algorithms", "fapi.signing_weak", weak=weak)
    return Check.described("signing_algorithms", True, "fapi.signing_algorithms", count=len(lists))


def _fapi_algorithms(metadata: Mapping[str, Any]) -> Check:
    lists, malformed = _signing_lists(metadata)
    if malformed or not lists:
        return _failed("fapi_algorithms", "fapi.algorithms_unreadable")
    other = _grouped(lists, lambda alg: alg not in _FAPI_ALGORITHMS)
    if other:
        return _failed("fapi_algorithms", "fapi.algorithms_other", other=other)
    return Check.described("fapi_algorithms", True, "fapi.fapi_algorithms")


def inspect_fapi2_discovery(
    metadata: Mapping[str, Any], issuer: str, *, url: str | None = None
) -> Fapi2Report:
    """The FAPI 2.0 checks of a parsed discovery document of ``issuer``.

    The checks, in order, are ``discovery``, ``issuer_identifier``, ``https``, ``par``,
    ``pkce``, ``client_auth``, ``dpop``, ``iss_parameter``, ``signing_algorithms`` and
    ``fapi_algorithms`` (what each needs: :doc:`/cli`, ``govkit oidc check``). A failed
    check has the code ``oidc.not_fapi`` (``oidc.discovery`` for
    ``issuer_identifier``); a member the document lacks or gets wrong fails its
    check, never passes it, so :attr:`~govkit.report.Report.valid` is true only
    when the document shows every part of the profile.

    Args:
        metadata: the discovery document, parsed.
        issuer: the issuer asked about (the document must name exactly it).
        url: where the document was read (default: :func:`discovery_url` of ``issuer``).
    """
    if url is None:
        url = discovery_url(issuer)
    checks = (
        Check.described("discovery", True, "fapi.discovery"),
        _issuer(metadata, issuer),
        _https(metadata, issuer),
        _par(metadata),
        _pkce(metadata),
        _client_auth(metadata),
        _dpop(metadata),
        _iss_parameter(metadata),
        _signing_algorithms(metadata),
        _fapi_algorithms(metadata),
    )
    return Fapi2Report(checks, issuer, url)


def inspect_fapi2_provider(
    issuer: str,
    *,
    policy: SourcePolicy | None = None,
    session: requests.Session | None = None,
) -> Fapi2Report:
    """Fetch ``issuer``'s discovery document and check it (:func:`inspect_fapi2_discovery`).

    A document that is not one JSON object is a report whose ``discovery`` check
    failed (``oidc.discovery``).

    Args:
        issuer: the provider's issuer URL (https; http only for a loopback host).
        policy: ``timeout`` (default 10 s), ``max_bytes`` (default 1 MiB) and
            ``max_redirects`` within the origin (default 3); other fields must stay unset.
        session: the :class:`requests.Session` to fetch with (default: a new one).

    Raises:
        ConfigurationError: ``issuer`` is not https (nor http to a loopback host), or
            ``policy`` sets a field this does not use.
        OidcUnavailable: the document could not be fetched (``context["reason"]``:
            ``http_status``, ``timeout``, ``network``, ``too_large``, ``content_type``...).
    """
    url = discovery_url(check_url(issuer, "issuer"))
    limits = settle(policy, SourcePolicy(), _DEFAULTS, what="a FAPI 2.0 provider check")
    own = session is None
    http = requests.Session() if session is None else session
    try:
        result = fetch(
            http,
            url,
            accept=("application/json",),
            timeout=limits.timeout,
            max_bytes=limits.max_bytes,
            max_redirects=limits.max_redirects,
            what="OpenID discovery document",
        )
    except FetchError as exc:
        raise OidcUnavailable(exc.message, endpoint="discovery", reason=exc.reason) from None
    finally:
        if own:
            http.close()
    try:
        metadata = loads_object(
            result.body, what="the discovery document", error=OidcDiscoveryError, allow_floats=True
        )
    except OidcDiscoveryError as exc:
        failed = Check.failed("discovery", OidcDiscoveryError.code, exc.message)
        return Fapi2Report((failed,), issuer, url)
    return inspect_fapi2_discovery(metadata, issuer, url=url)
