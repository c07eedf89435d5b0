"""Evidence for keyed pseudonyms of ID numbers and for the region-name lookup."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from govkit.errors import ConfigurationError, InvalidIdentifier
from govkit.identity.cn import pseudonymous_id, region_name

SECRET = bytes(range(32))


def reference(secret: bytes, normalised: str) -> str:
    digest = hmac.new(secret, normalised.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def test_the_pseudonym_is_base64url_of_hmac_sha256_of_the_normalised_number() -> None:
    pseudonym = pseudonymous_id(SECRET, "11010519491231002X")
    assert pseudonym == reference(SECRET, "11010519491231002X")
    assert pseudonym == "pmdVRTsQbc6gz6JkIUrln_HosGfz5fOqgIXh2HV4gOs"
    assert len(pseudonym) == 43


@pytest.mark.parametrize(
    "spelling", ["11010519491231002x", " 11010519491231002X\n", "110105491231002"]
)
def test_every_spelling_of_one_number_gives_one_pseudonym(spelling: str) -> None:
    assert pseudonymous_id(SECRET, spelling) == pseudonymous_id(SECRET, "11010519491231002X")


def test_another_secret_or_number_gives_another_pseudonym() -> None:
    base = pseudonymous_id(SECRET, "11010519491231002X")
    assert pseudonymous_id(SECRET[::-1], "11010519491231002X") != base
    assert pseudonymous_id(SECRET, "440524188001010014") != base


def test_the_pseudonym_does_not_contain_the_number() -> None:
    assert "19491231" not in pseudonymous_id(SECRET, "11010519491231002X")


@pytest.mark.parametrize("secret", [b"", b"x" * 15])
def test_secrets_under_16_bytes_are_refused(secret: bytes) -> None:
    with pytest.raises(ConfigurationError) as caught:
        pseudonymous_id(secret, "11010519491231002X")
    assert caught.value.context["size"] == len(secret)


def test_a_16_byte_secret_and_a_bytearray_are_accepted() -> None:
    assert pseudonymous_id(b"x" * 16, "11010519491231002X") == reference(
        b"x" * 16, "11010519491231002X"
    )
    mutable = bytearray(SECRET)
    expected = reference(SECRET, "11010519491231002X")
    assert pseudonymous_id(mutable, "11010519491231002X") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", ["a text secret of 32 characters!!", None, 12345678901234567])
def test_a_secret_that_is_not_bytes_is_refused(secret: object) -> None:
    with pytest.raises(ConfigurationError):
        pseudonymous_id(secret, "11010519491231002X")  # type: ignore[arg-type]


def test_the_secret_is_checked_before_the_number() -> None:
    with pytest.raises(ConfigurationError):
        pseudonymous_id(b"short", "not a number")


@pytest.mark.parametrize(
    ("number", "reason"),
    [("110105194912310021", "check_digit"), ("000000194912310027", "region"), ("", "length")],
)
def test_invalid_numbers_get_no_pseudonym(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        pseudonymous_id(SECRET, number)
    assert caught.value.context["reason"] == reason


def test_no_clock_is_read_so_a_future_birth_date_still_gets_a_pseudonym() -> None:
    assert pseudonymous_id(SECRET, "110105299912310020") == reference(SECRET, "110105299912310020")


# --- region names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "year", "name"),
    [
        ("110105", None, "北京市朝阳区"),
        ("440524", None, "广东省汕头市潮阳县"),
        ("440524", 1880, "广东省汕头市潮阳县"),
        ("440511", 1985, "广东省汕头市郊区"),
        ("440511", None, "广东省汕头市金平区"),
        ("440511", 1995, "广东省汕头市金平区"),
        ("441900", None, "广东省东莞市"),
        ("440000", None, "广东省"),
        ("460001", 1990, "海南省通什市"),
        ("469001", None, "海南省五指山市"),
        ("659001", None, "新疆维吾尔自治区石河子市"),
        ("810000", None, "香港特别行政区"),
    ],
)
def test_region_names_come_from_stdnums_table(code: str, year: int | None, name: str) -> None:
    assert region_name(code, year=year) == name


@pytest.mark.parametrize(
    "code", ["830000", "449999", "000000", "44052", "4405240", "４４０５２４", "", None, 440524]
)
def test_unknown_or_malformed_codes_have_no_name(code: object) -> None:
    assert region_name(code) is None  # type: ignore[arg-type]
