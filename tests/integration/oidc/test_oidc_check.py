"""``govkit oidc check`` against the real provider (tests/oidc/op.mjs), FAPI 2.0 on and off."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

from govkit.cli import EXIT_INVALID, EXIT_OK, main


def check(issuer: str) -> tuple[int, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["oidc", "check", issuer, "--json", "--timeout", "30"])
    return code, json.loads(out.getvalue())


def test_fapi_provider_meets_fapi2(oidc_provider_fapi: Any) -> None:
    code, report = check(oidc_provider_fapi.issuer)
    assert code == EXIT_OK, report
    assert report["valid"] is True
    assert all(c["ok"] is True for c in report["checks"])
    https = next(c for c in report["checks"] if c["name"] == "https")
    assert "loopback" in https["detail"]


def test_plain_provider_fails_what_fapi2_forbids(oidc_provider_plain: Any) -> None:
    """oidc-provider's defaults: PAR optional, client secrets and `none` client
    authentication, HS256 (client_secret_jwt) and RS256 offered."""
    code, report = check(oidc_provider_plain.issuer)
    assert code == EXIT_INVALID
    assert report["valid"] is False
    assert report["code"] == "oidc.not_fapi"
    failed = {c["name"]: c for c in report["checks"] if c["ok"] is False}
    assert set(failed) == {"par", "client_auth", "signing_algorithms", "fapi_algorithms"}
    assert {c["code"] for c in failed.values()} == {"oidc.not_fapi"}
    assert "client_secret_basic" in failed["client_auth"]["detail"]
    assert "none" in failed["client_auth"]["detail"]
    assert "HS256" in failed["signing_algorithms"]["detail"]
    passed = {c["name"] for c in report["checks"] if c["ok"] is True}
    assert passed == {"discovery", "issuer_identifier", "https", "pkce", "dpop", "iss_parameter"}


def test_issuer_with_a_trailing_slash_is_another_issuer(oidc_provider_fapi: Any) -> None:
    """The document must name exactly the URL asked about as its issuer."""
    code, report = check(oidc_provider_fapi.issuer + "/")
    assert code == EXIT_INVALID
    assert report["code"] == "oidc.discovery"
    assert [c["name"] for c in report["checks"] if c["ok"] is False] == ["issuer_identifier"]
