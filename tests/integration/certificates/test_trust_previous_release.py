"""The previous release reads a trust list this release writes, when it can.

``tests/fixtures/trust-lists`` (see ``make_fixtures.py``) holds two lists signed with
test-only Ed25519 keys (deterministic signatures): ``v1.0.json``, using no member added
in format 1.1, and ``v1.1.json``, with an issuer's ``status_url`` and ``next_anchors``;
and ``previous-release.json``, what govkit 0.1 (commit 9279ae4, imported from a checkout
of it) did when it loaded each: it read the 1.0 list, and refused the 1.1 list
(``trust.invalid``, ``layout``: it read every member strictly, so it fails closed rather
than skip a member it does not know).

Evidence here that

* this release still writes exactly those bytes for those lists, so what the previous
  release was shown to read is what this release writes: a list using no 1.1 member
  carries no ``version`` and is read by the previous release unchanged;
* this release reads both, and a list of a later 1.x version too (members it does not
  know are ignored), while the previous release's refusal of 1.1 is recorded, not hidden.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from govkit.certificates import load_trust_list
from govkit.keys import SigningKey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "trust-lists"
READ_AT = datetime(2026, 6, 2, tzinfo=UTC)


def _maker() -> ModuleType:
    """The fixtures' script, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_this_release_writes_exactly_the_lists_the_previous_release_was_given() -> None:
    written = _maker().lists(FIXTURES)
    for name in ("v1.0.json", "v1.1.json"):
        assert written[name] == (FIXTURES / name).read_bytes(), name
    assert b'"version"' not in written["v1.0.json"]
    assert b'"version":"1.1"' in written["v1.1.json"]


def test_the_previous_release_read_the_1_0_list_and_refused_the_1_1_list() -> None:
    recorded = json.loads((FIXTURES / "previous-release.json").read_text())
    assert recorded["govkit"] == "0.1.0"
    assert recorded["imported_from"] != "main"  # not this checkout
    anchor = SigningKey.from_pem((FIXTURES / "anchor.pem").read_bytes()).verifying_key
    current = load_trust_list((FIXTURES / "v1.0.json").read_bytes(), [anchor], at=READ_AT)
    assert recorded["v1.0.json"] == {
        "read": True,
        "sequence": current.sequence,
        "issuers": [i.agency.uscc for i in current.issuers],
        "kids": [k.kid.hex() for i in current.issuers for k in i.keys],
    }
    assert recorded["v1.1.json"] == {"read": False, "code": "trust.invalid", "reason": "layout"}


def test_this_release_reads_both() -> None:
    anchor = SigningKey.from_pem((FIXTURES / "anchor.pem").read_bytes()).verifying_key
    following = SigningKey.from_pem((FIXTURES / "next-anchor.pem").read_bytes()).verifying_key
    old = load_trust_list((FIXTURES / "v1.0.json").read_bytes(), [anchor], at=READ_AT)
    new = load_trust_list((FIXTURES / "v1.1.json").read_bytes(), [anchor], at=READ_AT)
    assert (old.sequence, old.format_version, old.next_anchors) == (1, "1.0", ())
    assert (new.sequence, new.format_version, new.next_anchors) == (2, "1.1", (following,))
    assert new.issuers[0].status_url == "https://status.example.gov.cn/gz.json"
