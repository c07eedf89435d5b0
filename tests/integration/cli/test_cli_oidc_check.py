"""``govkit oidc check``: crafted discovery documents, served from 127.0.0.1.

Each negative test is named after the weakness the document shows and asserts the
failed check and its code. The verdict is "meets" (exit 0) only when every check
passed; a check the document does not let the command make is failed, never passed.
The same command against the real provider, FAPI 2.0 on and off, is in
``tests/integration/oidc/test_oidc_check.py``.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from govkit.cli import EXIT_ENV, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from govkit.identity import inspect_fapi2_discovery

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
REPORT = Draft202012Validator(json.loads((SCHEMAS / "report.schema.json").read_text()))
ERROR = Draft202012Validator(json.loads((SCHEMAS / "error.schema.json").read_text()))
ISSUER = "https://id.example.gov.cn"
CHECKS = [
    "discovery",
    "issuer_identifier",
    "https",
    "par",
    "pkce",
    "client_auth",
    "dpop",
    "iss_parameter",
    "signing_algorithms",
    "fapi_algorithms",
]


def fapi_document(issuer: str = ISSUER) -> dict[str, Any]:
    """A discovery document that meets every check."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/auth",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/me",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/session/end",
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "require_pushed_authorization_requests": True,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "PS256"],
        "id_token_signing_alg_values_supported": ["ES256", "PS256"],
        "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
        "authorization_response_iss_parameter_supported": True,
    }


def outcome(document: dict[str, Any], issuer: str = ISSUER) -> dict[str, tuple[bool | None, str]]:
    report = inspect_fapi2_discovery(document, issuer)
    return {c.name: (c.ok, c.code or "") for c in report.checks}


def failed(document: dict[str, Any], issuer: str = ISSUER) -> dict[str, str]:
    """The failed checks of ``document``: name -> code."""
    return {name: code for name, (ok, code) in outcome(document, issuer).items() if ok is not True}


# --- the checks, on crafted documents --------------------------------------------------------


def test_a_fapi_document_meets_every_check() -> None:
    report = inspect_fapi2_discovery(fapi_document(), ISSUER)
    assert [c.name for c in report.checks] == CHECKS
    assert all(c.ok is True for c in report.checks)
    assert report.valid
    assert report.code is None
    assert not list(REPORT.iter_errors(report.to_dict()))


def test_an_empty_document_passes_nothing_but_being_json() -> None:
    """Nothing advertised is nothing shown: every check fails, none passes by default."""
    assert failed({}) == dict.fromkeys(CHECKS[2:], "oidc.not_fapi") | {
        "issuer_identifier": "oidc.discovery"
    }


def test_other_issuer_fails() -> None:
    assert failed(fapi_document("https://evil.example")) == {"issuer_identifier": "oidc.discovery"}


def test_issuer_with_trailing_slash_is_another_issuer() -> None:
    assert failed(fapi_document(), ISSUER + "/") == {"issuer_identifier": "oidc.discovery"}


def test_par_optional_fails() -> None:
    document = fapi_document()
    document["require_pushed_authorization_requests"] = False
    assert failed(document) == {"par": "oidc.not_fapi"}
    del document["require_pushed_authorization_requests"]
    assert failed(document) == {"par": "oidc.not_fapi"}


def test_no_par_endpoint_fails() -> None:
    document = fapi_document()
    del document["pushed_authorization_request_endpoint"]
    assert failed(document) == {"par": "oidc.not_fapi"}


@pytest.mark.parametrize("methods", [None, ["plain"], ["S256", "plain"], "S256"])
def test_pkce_without_s256_only_fails(methods: object) -> None:
    document = fapi_document()
    if methods is None:
        del document["code_challenge_methods_supported"]
    else:
        document["code_challenge_methods_supported"] = methods
    assert failed(document) == {"pkce": "oidc.not_fapi"}


@pytest.mark.parametrize(
    "methods",
    [
        None,  # the default is client_secret_basic
        ["client_secret_jwt"],
        ["private_key_jwt", "client_secret_basic"],
        ["private_key_jwt", "none"],
    ],
)
def test_client_secret_or_none_client_auth_fails(methods: list[str] | None) -> None:
    document = fapi_document()
    if methods is None:
        del document["token_endpoint_auth_methods_supported"]
    else:
        document["token_endpoint_auth_methods_supported"] = methods
    assert failed(document) == {"client_auth": "oidc.not_fapi"}


def test_mtls_client_auth_beside_private_key_jwt_passes() -> None:
    document = fapi_document()
    document["token_endpoint_auth_methods_supported"] = ["private_key_jwt", "tls_client_auth"]
    assert failed(document) == {}


@pytest.mark.parametrize("algs", [None, [], ["HS256"], ["ES256", "none"]])
def test_no_dpop_or_symmetric_dpop_fails(algs: list[str] | None) -> None:
    document = fapi_document()
    if algs is None:
        del document["dpop_signing_alg_values_supported"]
    else:
        document["dpop_signing_alg_values_supported"] = algs
    found = failed(document)
    assert found.pop("dpop") == "oidc.not_fapi"
    assert set(found) <= {"signing_algorithms", "fapi_algorithms"}


@pytest.mark.parametrize("value", [None, False, "true"])
def test_no_iss_parameter_fails(value: object) -> None:
    """Without RFC 9207 the client cannot tell which provider answered: mix-up."""
    document = fapi_document()
    if value is None:
        del document["authorization_response_iss_parameter_supported"]
    else:
        document["authorization_response_iss_parameter_supported"] = value
    assert failed(document) == {"iss_parameter": "oidc.not_fapi"}


@pytest.mark.parametrize(
    ("member", "algs"),
    [
        ("id_token_signing_alg_values_supported", ["ES256", "none"]),
        ("id_token_signing_alg_values_supported", ["HS256"]),
        ("token_endpoint_auth_signing_alg_values_supported", ["ES256", "HS512"]),
        ("userinfo_signing_alg_values_supported", ["none"]),
        ("request_object_signing_alg_values_supported", ["hs384"]),
    ],
)
def test_none_or_hmac_signing_algorithm_fails(member: str, algs: list[str]) -> None:
    document = fapi_document()
    document[member] = algs
    assert failed(document) == {
        "signing_algorithms": "oidc.not_fapi",
        "fapi_algorithms": "oidc.not_fapi",
    }


def test_missing_id_token_algorithms_fails() -> None:
    document = fapi_document()
    del document["id_token_signing_alg_values_supported"]
    assert failed(document) == {"signing_algorithms": "oidc.not_fapi"}


def test_malformed_algorithm_list_fails() -> None:
    document = fapi_document()
    document["userinfo_signing_alg_values_supported"] = "ES256"
    assert failed(document) == {
        "signing_algorithms": "oidc.not_fapi",
        "fapi_algorithms": "oidc.not_fapi",
    }


def test_rs256_fails_only_the_fapi_algorithms() -> None:
    document = fapi_document()
    document["id_token_signing_alg_values_supported"] = ["RS256", "ES256"]
    assert failed(document) == {"fapi_algorithms": "oidc.not_fapi"}


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("token_endpoint", "http://id.example.gov.cn/token"),
        ("jwks_uri", "ftp://id.example.gov.cn/jwks"),
        ("userinfo_endpoint", 42),
        ("mtls_endpoint_aliases", {"token_endpoint": "http://mtls.example.gov.cn/token"}),
        ("registration_endpoint", "https:///no-host"),
    ],
)
def test_plain_http_endpoint_fails(member: str, value: object) -> None:
    document = fapi_document()
    document[member] = value
    assert failed(document) == {"https": "oidc.not_fapi"}


@pytest.mark.parametrize(
    "value",
    [
        "https://user:secret@id.example.gov.cn/token",  # credentials a fetch would send
        "https://id.example.gov.cn/token#frag",  # RFC 6749 3.1.2: no fragment
        "https://id.example.gov.cn:99999/token",  # a port no socket has
        "https://id.example.gov.cn/tökén",  # not ASCII
    ],
)
def test_endpoint_the_fetcher_would_refuse_fails_https(value: str) -> None:
    """The check uses the fetcher's own URL rule: what it would refuse is not shown https."""
    document = fapi_document()
    document["token_endpoint"] = value
    report = inspect_fapi2_discovery(document, ISSUER)
    https = next(c for c in report.checks if c.name == "https")
    assert (https.ok, https.code) == (False, "oidc.not_fapi")
    assert https.detail.endswith(": token_endpoint")
    assert https.detail_in("zh") == (
        "以下地址不是 https（也不是对本机回环地址的 http），或带有凭据或片段：token_endpoint"
    )


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("change", "check", "english"),
    [
        (lambda d: d.pop("issuer"), "issuer_identifier", "the document has no issuer"),
        (
            lambda d: d.update(issuer="https://other.example"),
            "issuer_identifier",
            "the document names another issuer (https://other.example), not " + ISSUER,
        ),
        (
            lambda d: d.pop("pushed_authorization_request_endpoint"),
            "par",
            "no pushed_authorization_request_endpoint (RFC 9126)",
        ),
        (
            lambda d: d.update(require_pushed_authorization_requests=False),
            "par",
            "require_pushed_authorization_requests is not true: requests without PAR are accepted",
        ),
        (
            lambda d: d.update(code_challenge_methods_supported="S256"),
            "pkce",
            "code_challenge_methods_supported is missing or not a list of strings",
        ),
        (
            lambda d: d.update(code_challenge_methods_supported=["plain"]),
            "pkce",
            "no S256 in code_challenge_methods_supported (plain)",
        ),
        (
            lambda d: d.update(code_challenge_methods_supported=["S256", "plain"]),
            "pkce",
            "code_challenge_methods_supported also offers plain",
        ),
        (
            lambda d: d.pop("token_endpoint_auth_methods_supported"),
            "client_auth",
            "token_endpoint_auth_methods_supported is missing (the default is "
            "client_secret_basic) or not a list of strings",
        ),
        (
            lambda d: d.update(token_endpoint_auth_methods_supported=["client_secret_basic"]),
            "client_auth",
            "no private_key_jwt (client_secret_basic)",
        ),
        (
            lambda d: d.update(
                token_endpoint_auth_methods_supported=["private_key_jwt", "client_secret_post"]
            ),
            "client_auth",
            "also offers methods FAPI 2.0 does not allow: client_secret_post",
        ),
        (
            lambda d: d.pop("dpop_signing_alg_values_supported"),
            "dpop",
            "no dpop_signing_alg_values_supported: DPoP is not offered (mTLS-bound tokens "
            "are not recognised by this check)",
        ),
        (
            lambda d: d.update(dpop_signing_alg_values_supported=["ES256", "HS256"]),
            "dpop",
            "DPoP proofs may use none or HMAC: HS256",
        ),
        (
            lambda d: d.pop("authorization_response_iss_parameter_supported"),
            "iss_parameter",
            "authorization_response_iss_parameter_supported is not true (RFC 9207): the "
            "client cannot tell which provider answered (mix-up)",
        ),
        (
            lambda d: d.pop("id_token_signing_alg_values_supported"),
            "signing_algorithms",
            "id_token_signing_alg_values_supported is missing",
        ),
        (
            lambda d: d.update(userinfo_signing_alg_values_supported="ES256"),
            "signing_algorithms",
            "not a list of strings: userinfo_signing_alg_values_supported",
        ),
        (
            lambda d: d.update(id_token_signing_alg_values_supported=["ES256", "none"]),
            "signing_algorithms",
            "none or HMAC offered: id_token_signing_alg_values_supported: none",
        ),
        (
            lambda d: d.update(userinfo_signing_alg_values_supported="ES256"),
            "fapi_algorithms",
            "the signing algorithm lists cannot be read",
        ),
        (
            lambda d: d.update(id_token_signing_alg_values_supported=["RS256", "ES256"]),
            "fapi_algorithms",
            "algorithms outside PS256, ES256 and EdDSA: id_token_signing_alg_values_supported: "
            "RS256",
        ),
    ],
)
def test_each_failed_check_says_why_in_english_and_chinese(
    change: Any, check: str, english: str
) -> None:
    """A clerk reading Chinese sees why a check failed, not the English text (the English
    detail and the code are unchanged)."""
    document = fapi_document()
    change(document)
    found = next(c for c in inspect_fapi2_discovery(document, ISSUER).checks if c.name == check)
    assert found.ok is False
    assert found.code == ("oidc.discovery" if check == "issuer_identifier" else "oidc.not_fapi")
    assert found.detail == english
    chinese = found.detail_in("zh")
    assert CJK.search(chinese), chinese
    assert chinese != english


def test_plain_http_issuer_fails() -> None:
    issuer = "http://id.example.gov.cn"
    found = failed(fapi_document(issuer), issuer)
    assert found == {"https": "oidc.not_fapi"}


def test_loopback_http_passes_and_says_so() -> None:
    issuer = "http://127.0.0.1:8080"
    report = inspect_fapi2_discovery(fapi_document(issuer), issuer)
    assert report.valid
    https = next(c for c in report.checks if c.name == "https")
    assert "loopback" in https.detail
    assert "本机回环" in https.detail_in("zh")


# --- the command --------------------------------------------------------------------------


class DiscoveryServer:
    """Serves ``document`` (or ``raw`` bytes) at /.well-known/openid-configuration."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {}
        self.raw: bytes | None = None
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/.well-known/openid-configuration":
                    self.send_error(404)
                    return
                body = server.raw if server.raw is not None else json.dumps(server.document)
                data = body if isinstance(body, bytes) else body.encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def provider() -> Iterator[DiscoveryServer]:
    server = DiscoveryServer()
    server.document = fapi_document(server.issuer)
    yield server
    server.close()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_command_says_meets(provider: DiscoveryServer) -> None:
    code, out, err = run("oidc", "check", provider.issuer)
    assert code == EXIT_OK, err
    assert out.startswith("OpenID discovery document: VALID")
    assert re.search(r"✓ +par +pushed authorization requests are required", out)
    assert "the discovery document announces FAPI 2.0" in err
    assert "the provider's behaviour was NOT tested" in err


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_command_never_says_the_provider_behaves(provider: DiscoveryServer, lang: str) -> None:
    """Only the document is read: the verdict names the document, and the output says
    (in both languages) that the provider's behaviour was not tested."""
    code, out, err = run("oidc", "check", provider.issuer, "--lang", lang)
    assert code == EXIT_OK, err
    first = out.splitlines()[0]
    if lang == "en":
        assert first == "OpenID discovery document: VALID"
        assert "NOT tested: the provider's behaviour" in out
        assert "behaviour was NOT tested" in err
    else:
        assert first == "OpenID 发现文档：有效"
        assert "未测试：身份提供方的实际行为" in out
        assert "未测试身份提供方的实际行为" in err
    assert "meets" not in err


def test_fapi_report_summary_says_behaviour_not_tested() -> None:
    report = inspect_fapi2_discovery(fapi_document(), ISSUER)
    assert report.valid
    assert report.summary_in("en") == (
        "NOT tested: the provider's behaviour (only its discovery document, what it "
        "advertises, was read)",
    )
    assert report.summary_in("zh")[0].startswith("未测试")


def test_command_json_is_a_report(provider: DiscoveryServer) -> None:
    code, out, _ = run("oidc", "check", provider.issuer, "--json")
    assert code == EXIT_OK
    report = json.loads(out)
    assert not list(REPORT.iter_errors(report))
    assert report["valid"] is True
    assert report["kind"] == "oidc_provider"
    assert report["issuer"] == provider.issuer
    assert [c["name"] for c in report["checks"]] == CHECKS


def test_command_par_optional_is_invalid_with_its_code(provider: DiscoveryServer) -> None:
    provider.document["require_pushed_authorization_requests"] = False
    code, out, err = run("oidc", "check", provider.issuer, "--json")
    assert code == EXIT_INVALID
    report = json.loads(out)
    assert not list(REPORT.iter_errors(report))
    assert report["valid"] is False
    assert report["code"] == "oidc.not_fapi"
    assert [c["name"] for c in report["checks"] if c["ok"] is False] == ["par"]
    assert "[oidc.not_fapi]" in err


def test_command_in_chinese(provider: DiscoveryServer) -> None:
    provider.document["token_endpoint_auth_methods_supported"] = ["client_secret_basic"]
    code, out, err = run("oidc", "check", provider.issuer, "--lang", "zh")
    assert code == EXIT_INVALID
    assert out.startswith("OpenID 发现文档：无效 [oidc.not_fapi]")
    assert "客户端认证" in out
    assert "身份提供方未表明其符合 FAPI 2.0 安全规范" in out
    assert "推送授权请求（PAR）" in out
    assert "要求使用推送授权请求（PAR）" in out  # a passed check's detail, in Chinese
    assert "无效" in err


def test_command_not_json_is_invalid_discovery(provider: DiscoveryServer) -> None:
    provider.raw = b"<html>not a discovery document</html>"
    code, out, _ = run("oidc", "check", provider.issuer, "--json")
    assert code == EXIT_INVALID
    report = json.loads(out)
    assert not list(REPORT.iter_errors(report))
    assert report["code"] == "oidc.discovery"
    assert report["checks"][0]["name"] == "discovery"


def test_command_duplicate_member_is_invalid_discovery(provider: DiscoveryServer) -> None:
    """Two ``issuer`` members: which one counts is ambiguous, so the document is refused."""
    provider.raw = b'{"issuer": "https://a", "issuer": "https://b"}'
    code, out, _ = run("oidc", "check", provider.issuer, "--json")
    assert code == EXIT_INVALID
    assert json.loads(out)["code"] == "oidc.discovery"


def test_command_unreachable_provider_is_an_environment_error(provider: DiscoveryServer) -> None:
    provider.status = 404
    code, out, err = run("oidc", "check", provider.issuer, "--json")
    assert code == EXIT_ENV
    document = json.loads(out)
    assert not list(ERROR.iter_errors(document))
    assert document["error"]["code"] == "oidc.unavailable"
    assert "could not be fetched" in err
    assert "HTTP 404" in err


def test_command_refuses_plain_http_to_another_host() -> None:
    code, out, _ = run("oidc", "check", "http://id.example.gov.cn", "--json")
    assert code == EXIT_USAGE
    assert json.loads(out)["error"]["code"] == "config.invalid"


@pytest.mark.parametrize("timeout", ["0", "301"])
def test_command_timeout_out_of_range(provider: DiscoveryServer, timeout: str) -> None:
    code, _, err = run("oidc", "check", provider.issuer, "--timeout", timeout)
    assert code == EXIT_USAGE
    assert "timeout must be between 0 and 300 seconds [config.invalid]" in err
