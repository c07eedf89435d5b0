"""Evidence for :class:`govkit.identity.AssuranceLevel` and :data:`govkit.identity.AMR_VALUES`.

The ``acr`` values are the eIDAS levels of assurance (Commission Implementing Regulation
(EU) 2015/1502, URIs ``http://eidas.europa.eu/LoA/low|substantial|high``); the ``amr``
values are the RFC 8176 section 2 registry.
"""

from __future__ import annotations

import pytest

from govkit.errors import MissingClaim, TokenError
from govkit.identity import AMR_VALUES, AssuranceLevel

EIDAS = {
    "http://eidas.europa.eu/LoA/low": AssuranceLevel.LOW,
    "http://eidas.europa.eu/LoA/substantial": AssuranceLevel.SUBSTANTIAL,
    "http://eidas.europa.eu/LoA/high": AssuranceLevel.HIGH,
}

#: RFC 8176 section 2, all 21 registered values.
RFC_8176 = {
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop",
    "pwd", "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
}  # fmt: skip


def test_levels_are_ordered_by_strength() -> None:
    assert AssuranceLevel.LOW < AssuranceLevel.SUBSTANTIAL < AssuranceLevel.HIGH
    assert [int(level) for level in AssuranceLevel] == [1, 2, 3]
    assert max(AssuranceLevel) is AssuranceLevel.HIGH


@pytest.mark.parametrize(("uri", "level"), EIDAS.items())
def test_acr_is_the_eidas_uri(uri: str, level: AssuranceLevel) -> None:
    assert level.acr == uri
    assert AssuranceLevel.from_acr(uri) is level


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("low", AssuranceLevel.LOW),
        ("substantial", AssuranceLevel.SUBSTANTIAL),
        ("high", AssuranceLevel.HIGH),
        ("HIGH", AssuranceLevel.HIGH),
        ("Substantial", AssuranceLevel.SUBSTANTIAL),
    ],
)
def test_from_acr_accepts_the_short_names(name: str, level: AssuranceLevel) -> None:
    assert AssuranceLevel.from_acr(name) is level


def test_label_is_the_lower_case_name_audit_events_use() -> None:
    assert [level.label for level in AssuranceLevel] == ["low", "substantial", "high"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "medium",
        "http://eidas.europa.eu/LoA/HIGH",  # URIs are exact
        "https://eidas.europa.eu/LoA/high",
        "http://eidas.europa.eu/LoA/high ",
        "http://eidas.europa.eu/LoA/",
        "urn:singpass:authentication:loa:2",
        "urn:acr.login.gov:verified",
        "3",
    ],
)
def test_unknown_acr_values_are_refused(value: str) -> None:
    with pytest.raises(MissingClaim) as caught:
        AssuranceLevel.from_acr(value)
    assert caught.value.code == "token.missing_claim"
    assert caught.value.context["claim"] == "acr"
    if value:
        assert value not in str(caught.value)


@pytest.mark.parametrize("value", [None, 3, 3.0, True, ["high"], {"acr": "high"}, b"high"])
def test_non_string_acr_values_are_refused(value: object) -> None:
    with pytest.raises(MissingClaim):
        AssuranceLevel.from_acr(value)


def test_refusals_are_token_errors() -> None:
    with pytest.raises(TokenError):
        AssuranceLevel.from_acr("medium")


def test_amr_values_are_exactly_the_rfc_8176_registry() -> None:
    assert frozenset(RFC_8176) == AMR_VALUES
    assert "face" in AMR_VALUES
    assert isinstance(AMR_VALUES, frozenset)
