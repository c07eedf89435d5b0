"""Evidence for :mod:`govkit._json`, the one strict JSON loader.

Every refusal is shown at the top level, at depth, inside arrays and (where it can be)
in member names; each refused document is one :func:`json.loads` accepts, so the test
shows the difference and not a syntax error. Hypothesis checks the two properties the
loader promises: any input gives a dict or the caller's error, never another
exception; and every document it accepts is parsed exactly as :func:`json.loads`
parses it, while every valid document without duplicates, ``NaN``/``Infinity``, lone
surrogates or excess depth is accepted.
"""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkit import _json
from govkit._json import DEFAULT_MAX_DEPTH, loads_object, loads_object_at
from govkit.errors import EncodingError, GovkitError, PaymentMalformed, TrustListInvalid

# --- what is accepted ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b"{}",
        b' \t\r\n{"a": 1} \r\n\t',
        b'{"a": [1, -2, 0, {"b": null, "c": true, "d": false}], "e": "text"}',
        '{"订单": "支付成功"}'.encode(),
        b'{"emoji": "\\ud83d\\ude00", "\\ud83d\\ude00": 1}',  # a surrogate pair, escaped
        b'{"backslash then ud800": "\\\\ud800"}',  # an escaped backslash, not an escape
        b'{"a": 1, "\\u0062": 2}',  # an escaped name that differs from the others
        b'{"big": ' + b"9" * 4300 + b"}",
        b'{"neg_zero": -0}',
    ],
    ids=[
        "empty",
        "whitespace",
        "nested",
        "utf8",
        "pair",
        "escaped_backslash",
        "escaped_name",
        "4300_digits",
        "neg_zero",
    ],
)
def test_valid_documents_parse_as_json_loads_parses_them(text: bytes) -> None:
    assert loads_object(text) == json.loads(text)
    assert loads_object(text.decode("utf-8")) == json.loads(text)


def test_floats_are_parsed_only_where_the_caller_allows_them() -> None:
    text = b'{"percent_off": 12.5, "rate": 1e-3, "n": [2E2]}'
    assert loads_object(text, allow_floats=True) == {
        "percent_off": 12.5,
        "rate": 0.001,
        "n": [200.0],
    }
    with pytest.raises(EncodingError, match="only integers are allowed"):
        loads_object(text)


def test_nesting_exactly_at_the_limit_is_accepted() -> None:
    # The top-level object is depth 1: two more objects and an array reach depth 4.
    assert loads_object(b'{"a": {"b": {"c": [1]}}}', max_depth=4) == {"a": {"b": {"c": [1]}}}
    deepest = b'{"a":' + b"[" * (DEFAULT_MAX_DEPTH - 1) + b"]" * (DEFAULT_MAX_DEPTH - 1) + b"}"
    assert loads_object(deepest) == json.loads(deepest)


def test_many_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = json.dumps({"note": "[" * 1000 + "{" * 1000}).encode()
    assert loads_object(text, max_depth=1) == json.loads(text)


# --- what is refused, and where --------------------------------------------------------

#: name -> a document json.loads accepts and the loader refuses, with the reason's words.
REFUSED: dict[str, tuple[bytes, str]] = {
    # duplicate member names (json.loads keeps the last one)
    "duplicate_top": (b'{"amount": 100, "amount": 1}', "duplicate member name"),
    "duplicate_nested": (b'{"data": {"object": {"amount": 1, "amount": 2}}}', "duplicate"),
    "duplicate_in_array": (b'{"list": [{"id": "a"}, {"id": "b", "id": "c"}]}', "duplicate"),
    "duplicate_by_escape": (b'{"amount": 100, "\\u0061mount": 1}', "duplicate"),
    "duplicate_same_value": (b'{"a": 1, "a": 1}', "duplicate"),
    # NaN and the infinities (json.loads makes floats of them)
    "nan_top": (b'{"amount": NaN}', "NaN or Infinity"),
    "infinity_nested": (b'{"a": {"b": Infinity}}', "NaN or Infinity"),
    "minus_infinity_in_array": (b'{"a": [1, -Infinity]}', "NaN or Infinity"),
    # lone surrogate escapes (json.loads makes a str no UTF-8 encoder takes)
    "high_surrogate_value": (b'{"a": "\\ud800"}', "lone surrogate"),
    "low_surrogate_value": (b'{"a": "x\\udfffy"}', "lone surrogate"),
    "surrogate_in_name": (b'{"\\udc00": 1}', "lone surrogate"),
    "surrogate_nested_name": (b'{"a": {"b": [{"\\uDBFF": 1}]}}', "lone surrogate"),
    "surrogate_in_array": (b'{"a": ["ok", "\\ud83d"]}', "lone surrogate"),
    "pair_reversed": (b'{"a": "\\ude00\\ud83d"}', "lone surrogate"),
    "high_then_other_escape": (b'{"a": "\\ud800\\u0041"}', "lone surrogate"),
    "pair_then_lone_low": (b'{"a": "\\ud83d\\ude00\\ude00"}', "lone surrogate"),
    # fractions and exponents, by default
    "float": (b'{"amount": 100.0}', "only integers"),
    "exponent_nested": (b'{"a": {"b": [1e2]}}', "only integers"),
    # depth
    "objects_too_deep": (b'{"a":' * 33 + b"1" + b"}" * 33, "nests deeper than 32"),
    "arrays_too_deep": (b'{"a":' + b"[" * 32 + b"]" * 32 + b"}", "nests deeper than 32"),
    # documents that are not one object
    "top_level_array": (b'[{"a": 1}]', "not a JSON object"),
    "top_level_string": (b'"{}"', "not a JSON object"),
}


@pytest.mark.parametrize(("text", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_ambiguous_documents_that_json_loads_accepts_are_refused(text: bytes, reason: str) -> None:
    json.loads(text)  # accepted there, with one of the meanings
    with pytest.raises(EncodingError, match=reason) as caught:
        loads_object(text)
    assert caught.value.code == "encoding.malformed"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"amount": 1e400}', "too large for a float"),
        (b'{"a": [-1E999]}', "too large for a float"),
        (b'{"a": NaN}', "NaN or Infinity"),
        (b'{"a": 1.5, "a": 2.5}', "duplicate"),
    ],
)
def test_allowing_floats_still_refuses_overflow_nan_and_duplicates(
    text: bytes, reason: str
) -> None:
    with pytest.raises(EncodingError, match=reason):
        loads_object(text, allow_floats=True)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not valid JSON"),
        (b"   ", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b"{'a': 1}", "not valid JSON"),
        (b'{"a": 1,}', "not valid JSON"),
        (b'{"a": "\x01"}', "not valid JSON"),  # a raw control character
        (b'{"a": 1} x', "data follows"),
        (b'{"a": 1}{"a": 2}', "data follows"),
        (b'{"a": 1}\x0b', "data follows"),  # vertical tab is not JSON whitespace
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a UTF-8 byte order mark
        (b"\xff{}", "not valid UTF-8"),
        (b'{"a": "\xed\xa0\x80"}', "not valid UTF-8"),  # a surrogate encoded in UTF-8
        (b'{"n": ' + b"9" * 4301 + b"}", "not valid JSON"),  # over Python's digit limit
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
        (b'{"a":' * 100_000, "nests deeper"),
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "single_quotes",
        "trailing_comma",
        "control_character",
        "trailing_garbage",
        "second_object",
        "vertical_tab",
        "bom",
        "not_utf8",
        "cesu8_surrogate",
        "too_many_digits",
        "100000_arrays",
        "100000_objects",
    ],
)
def test_malformed_input_is_the_typed_error(data: bytes, reason: str) -> None:
    with pytest.raises(EncodingError, match=reason):
        loads_object(data)


def test_text_with_a_raw_lone_surrogate_is_refused() -> None:
    with pytest.raises(EncodingError, match="lone surrogate"):
        loads_object('{"a": "\ud800"}')


@pytest.mark.parametrize("data", [None, 42, ["{}"], {"a": 1}])
def test_input_that_is_not_bytes_or_text_is_the_typed_error(data: Any) -> None:
    with pytest.raises(EncodingError, match="must be bytes or text"):
        loads_object(data)


def test_bytearray_and_memoryview_are_read_like_bytes() -> None:
    assert loads_object(bytearray(b'{"a": 1}')) == {"a": 1}
    assert loads_object(memoryview(b'{"a": 1}')) == {"a": 1}


def test_max_bytes_counts_utf8_bytes_and_is_checked_before_parsing() -> None:
    assert loads_object(b'{"a": 1}', max_bytes=8) == {"a": 1}
    with pytest.raises(EncodingError, match="larger than 7 bytes"):
        loads_object(b'{"a": 1}', max_bytes=7)
    with pytest.raises(EncodingError, match="larger than 10 bytes"):
        loads_object('{"a": "支付"}', max_bytes=10)  # 9 characters, 13 UTF-8 bytes
    with pytest.raises(EncodingError, match="larger than"):
        loads_object(b"[" * 10_000, max_bytes=1000)


def test_max_depth_is_the_callers() -> None:
    with pytest.raises(EncodingError, match="nests deeper than 2 levels"):
        loads_object(b'{"a": {"b": {}}}', max_depth=2)
    with pytest.raises(EncodingError, match="nests deeper than 1 levels"):
        loads_object(b'{"a": []}', max_depth=1)


# --- errors are the caller's -------------------------------------------------------------


def test_the_callers_error_class_and_document_name_are_used() -> None:
    with pytest.raises(PaymentMalformed) as caught:
        loads_object(b'{"amount": 1, "amount": 2}', what="the Stripe event", error=PaymentMalformed)
    assert caught.value.code == "payment.malformed"
    assert caught.value.message == "the Stripe event has a duplicate member name"


def test_an_error_factory_can_add_context() -> None:
    error = partial(TrustListInvalid, reason="json")
    with pytest.raises(TrustListInvalid) as caught:
        loads_object(b'{"a": NaN}', what="the trust list", error=error)
    assert caught.value.code == "trust.invalid"
    assert caught.value.context["reason"] == "json"


def test_messages_never_quote_the_input() -> None:
    secret = "s3cr3t-personal-data"
    for text in (
        f'{{"{secret}": 1, "{secret}": 2}}',
        f'{{"{secret}": NaN}}',
        f'{{"{secret}": "\\ud800"}}',
        f'{{"{secret}": 1.5}}',
        f'{{"{secret}": 1}} {secret}',
        f'{{"{secret}": ',
    ):
        with pytest.raises(EncodingError) as caught:
            loads_object(text)
        assert secret not in str(caught.value)


# --- a member's exact text (what Alipay signs) -------------------------------------------


def test_loads_object_at_returns_the_object_and_where_it_ends() -> None:
    text = '{"alipay_trade_query_response": {"code": "10000", "n": [1]} , "sign": "x"}'
    start = text.index("{", 1)
    value, end = loads_object_at(text, start)
    assert value == {"code": "10000", "n": [1]}
    assert text[start:end] == '{"code": "10000", "n": [1]}'
    assert loads_object_at(text, start - 1) == (value, end)  # leading whitespace skipped


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('x {"a": 1, "a": 2} y', "duplicate"),
        ('x {"a": NaN} y', "NaN"),
        ('x {"a": "\\ud800"} y', "lone surrogate"),
        ('x {"a": [[[]]]} y', "nests deeper than 2"),
        ("x [1] y", "not a JSON object"),
        ("x {", "not valid JSON"),
        ("x ", "not valid JSON"),
    ],
)
def test_loads_object_at_is_as_strict_as_loads_object(text: str, reason: str) -> None:
    with pytest.raises(EncodingError, match=reason):
        loads_object_at(text, 1, max_depth=2)


def test_loads_object_at_refuses_a_start_outside_the_text() -> None:
    with pytest.raises(EncodingError):
        loads_object_at("{}", 3)
    with pytest.raises(EncodingError):
        loads_object_at("{}", -1)


# --- properties ------------------------------------------------------------------------

#: Every code point, lone surrogates included (JSON text may carry them as escapes).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=20)
#: Text without surrogates: what a valid document's strings can hold.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=25,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@settings(max_examples=500)
@given(st.binary(max_size=200) | ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_give_a_dict_or_the_typed_error(data: bytes) -> None:
    try:
        value = loads_object(data, allow_floats=True)
    except EncodingError:
        return
    assert isinstance(value, dict)
    assert value == json.loads(data)  # whatever is accepted means what json.loads says


@settings(max_examples=500)
@given(ANY_TEXT | st.text(alphabet='{}[]":,0123456789.eE-+ \\ud8NaIfinty"', max_size=40))
def test_arbitrary_text_gives_a_dict_or_the_typed_error(text: str) -> None:
    for allow_floats in (False, True):
        try:
            value = loads_object(text, allow_floats=allow_floats, max_depth=4)
        except EncodingError:
            continue
        assert value == json.loads(text)


@settings(max_examples=500)
@given(value=st.dictionaries(TEXT, VALUES, max_size=5), ascii_only=st.booleans())
def test_every_valid_unambiguous_document_is_accepted_as_json_loads_reads_it(
    value: dict[str, Any], ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert not any(math.isinf(f) for f in _floats(value))
    assert loads_object(text.encode(), allow_floats=True, max_depth=64) == json.loads(text)
    if not _floats(value):
        assert loads_object(text.encode(), max_depth=64) == json.loads(text)
    if depth(value) > 3:
        with pytest.raises(EncodingError, match="nests deeper"):
            loads_object(text.encode(), allow_floats=True, max_depth=3)


@settings(max_examples=300)
@given(value=st.dictionaries(ANY_TEXT, ANY_TEXT | st.lists(ANY_TEXT, max_size=3), max_size=4))
def test_a_document_is_refused_exactly_when_a_string_holds_a_lone_surrogate(
    value: dict[str, Any],
) -> None:
    text = json.dumps(value)  # ensure_ascii: every surrogate becomes an escape
    # What json.loads makes of it: an escaped high-low pair becomes one character.
    lax = json.loads(text)
    strings = [*lax, *(s for v in lax.values() for s in ([v] if isinstance(v, str) else v))]
    lone = any(0xD800 <= ord(c) <= 0xDFFF for s in strings for c in s)
    if lone:
        with pytest.raises(EncodingError, match="lone surrogate"):
            loads_object(text.encode("ascii"))
    else:
        assert loads_object(text.encode("ascii")) == lax


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def test_every_error_is_a_govkit_error_by_default() -> None:
    with pytest.raises(GovkitError):
        loads_object(b'{"a": 1, "a": 2}')


# --- depth of large documents, read from the bytes ---------------------------------------

#: Text that often holds brackets (and sometimes a quote, so an escape): what could make
#: a count of brackets in the bytes differ from the depth of the tree.
BRACKETY = st.text(alphabet='{}[]"ab:,', max_size=6)
NESTED = st.recursive(
    st.none() | st.integers() | BRACKETY | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(BRACKETY | TEXT, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=500)
@given(value=st.dictionaries(BRACKETY | TEXT, NESTED, max_size=5), ascii_only=st.booleans())
def test_a_document_is_refused_for_depth_exactly_when_it_nests_past_the_limit(
    value: dict[str, Any], ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":")).encode()
    levels = depth(value)
    for limit in range(1, levels + 2):
        if levels > limit:
            with pytest.raises(EncodingError, match=f"nests deeper than {limit} levels"):
                loads_object(text, max_depth=limit)
        else:
            assert loads_object(text, max_depth=limit) == value


def _large(last: Any, strings: str = "gd") -> bytes:
    """A document of many small objects in an array, ``last`` the final member."""
    issuers = [{"name": f"{strings}{n}", "keys": [{"types": ["a", "b"]}]} for n in range(5000)]
    return json.dumps({"issuers": issuers, "last": last}, ensure_ascii=False).encode()


def test_one_member_nested_past_the_limit_at_the_end_of_a_large_document_is_refused() -> None:
    # the issuers' types arrays are at depth 6, and so is the last member's array here
    at_limit = _large({"a": {"b": {"c": {"d": [1]}}}})
    assert loads_object(at_limit, max_depth=6) == json.loads(at_limit)
    past = _large({"a": {"b": {"c": {"d": {"e": [1]}}}}})  # depth 7
    with pytest.raises(EncodingError, match="nests deeper than 6 levels"):
        loads_object(past, max_depth=6)
    assert loads_object(past, max_depth=7) == json.loads(past)


def test_brackets_in_the_strings_of_a_large_document_are_not_depth() -> None:
    for strings in ("[[[", "}}", '"{"', "\\[", "]{"):
        text = _large({"a": [1]}, strings)  # 6 levels deep: top, issuers, issuer, ...
        assert loads_object(text, max_depth=6) == json.loads(text)
        with pytest.raises(EncodingError, match="nests deeper than 5 levels"):
            loads_object(text, max_depth=5)


# The one-object fast path: a flat object is parsed without the duplicate hook and kept
# only when a count of its bytes proves no member name repeats (see loads_object). The
# evidence: with the fast path's scanners swapped for the hook scanners (so whatever it
# parses goes through the hook and every duplicate is refused there), every document
# gives the same dict or the same error, message included; and duplicates hidden among
# counted look-alikes (":, commas, whitespace around colons) are still refused.


def _outcome(data: bytes | str, allow_floats: bool) -> tuple[str, object]:
    try:
        return "value", loads_object(data, allow_floats=allow_floats, max_depth=4)
    except EncodingError as exc:
        return "refused", exc.message


def _without_fast_path(data: bytes | str, allow_floats: bool) -> tuple[str, object]:
    with (
        mock.patch.object(_json, "_INTEGERS_ONLY_ANY_NAMES", _json._INTEGERS_ONLY),
        mock.patch.object(_json, "_NUMBERS_ANY_NAMES", _json._NUMBERS),
    ):
        return _outcome(data, allow_floats)


#: Few distinct names, so that duplicates are frequent; values that hold what the
#: counts count (quotes before colons, commas, braces, whitespace) or refuse (NaN).
_NAMES = st.sampled_from(["a", "b", ":", "a:", ",", '"', "{", " ", "\\", "é"])
_FLAT_VALUES = st.one_of(
    st.sampled_from(['":', ":", '":"', ",", "{", "}", "[", " : ", "\t", "\\u0022:"]),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(0, 3) | st.sampled_from([",", '":']), max_size=3),
    st.lists(st.lists(st.integers(0, 3), max_size=2), max_size=2),
    st.none(),
)
_SPACES = st.sampled_from(["", " ", "\t", "\n", "\r", " \n "])


@st.composite
def _flat_documents(draw: st.DrawFn) -> str:
    """A flat object written by hand: duplicates allowed, JSON whitespace anywhere."""
    members = draw(st.lists(st.tuples(_NAMES, _FLAT_VALUES), max_size=6))
    parts = []
    for name, value in members:
        text = json.dumps(value, allow_nan=True)
        parts.append(draw(_SPACES) + json.dumps(name) + draw(_SPACES) + ":" + draw(_SPACES) + text)
    return draw(_SPACES) + "{" + ",".join(parts) + draw(_SPACES) + "}" + draw(_SPACES)


@settings(max_examples=1000)
@given(
    text=_flat_documents()
    | st.text(alphabet='{}[]":, \t\n\\abu0N1.e', max_size=40)
    | st.binary(max_size=60),
    allow_floats=st.booleans(),
    as_text=st.booleans(),
)
def test_the_one_object_fast_path_agrees_with_the_hook_scanner(
    text: str | bytes, allow_floats: bool, as_text: bool
) -> None:
    data = text.encode() if isinstance(text, str) and not as_text else text
    outcome = _outcome(data, allow_floats)
    assert outcome == _without_fast_path(data, allow_floats)
    if outcome[0] == "value":
        assert outcome[1] == json.loads(data)


@settings(max_examples=500)
@given(members=st.lists(st.tuples(_NAMES, _FLAT_VALUES), min_size=2, max_size=6))
def test_a_repeated_name_in_a_flat_object_is_refused_whatever_the_counts_see(
    members: list[tuple[str, Any]],
) -> None:
    members = [*members, members[0]]  # the first name again, at the end
    for sep in (":", " :", ":\n", "\t:\t"):
        text = "{" + ",".join(json.dumps(n) + sep + json.dumps(v) for n, v in members) + "}"
        with pytest.raises(EncodingError) as caught:
            loads_object(text.encode(), allow_floats=True, max_depth=4)
        assert caught.value.code == "encoding.malformed"
        finite = all(
            not isinstance(v, float) or math.isfinite(v) for _, v in members
        )  # else NaN or Infinity is met (and refused) before the object ends
        if finite:
            assert caught.value.message == "the JSON text has a duplicate member name"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # M <= commas + 1 and M <= count of '":' must both fail: a string value starting
        # with ":" adds a '":' and a comma in a string adds a comma, covering the repeat.
        (b'{"a":1,"a":":,"}', "duplicate member name"),
        (b'{"a" :1,"a" : ":x", "b":","}', "duplicate member name"),
        (b'{"a":[1,2],"a":3}', "duplicate member name"),
        (b'{"a":1,"a":2} ,', "duplicate member name"),  # met before what follows
        (b'{"a":1,"a":NaN}', "NaN or Infinity"),
        (b'{"a":1,"a":1e999}', "too large for a float"),
    ],
)
def test_duplicates_beside_look_alikes_of_the_counted_bytes_are_refused(
    text: bytes, reason: str
) -> None:
    with pytest.raises(EncodingError, match=reason):
        loads_object(text, allow_floats=True)
    assert _outcome(text, True) == _without_fast_path(text, True)


def test_a_flat_object_without_duplicates_is_parsed_without_the_hook() -> None:
    """The fast path is taken (else the evidence above would compare a path with itself)."""
    text = (
        b'{"iss":"https://login.example","aud":"https://a.example","exp":1796529787,'
        b'"amr":["face"],"scope":"a b"}'
    )
    spy = mock.Mock(wraps=_json._NUMBERS)
    with mock.patch.object(_json, "_NUMBERS", spy):
        assert loads_object(text, allow_floats=True) == json.loads(text)
        assert spy.call_count == 0
        pretty = json.dumps(json.loads(text), indent=2).encode()  # counted without spaces
        assert loads_object(pretty, allow_floats=True) == json.loads(text)
        assert spy.call_count == 0
        loads_object(b'{"a":{"b":1}}', allow_floats=True)  # two objects: the hook path
        assert spy.call_count == 1


#: Arrays only, inside one object (the one "{" whose depth is read from the span between
#: the first "[" and the last "]"), with strings that hold brackets to stretch the span.
_ARRAYS = st.recursive(
    st.integers(0, 9) | st.sampled_from(["[", "]", "][", "a"]),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=1000)
@given(
    value=st.dictionaries(st.sampled_from(["a", "[", "]", "b"]), _ARRAYS, max_size=4),
    max_depth=st.integers(-1, 6),
    indent=st.sampled_from([None, 1]),
)
def test_one_object_of_arrays_is_refused_for_depth_exactly_when_it_nests_past_the_limit(
    value: dict[str, Any], max_depth: int, indent: int | None
) -> None:
    text = json.dumps(value, indent=indent).encode()
    if depth(value) > max_depth:
        with pytest.raises(EncodingError, match="nests deeper"):
            loads_object(text, max_depth=max_depth)
    else:
        assert loads_object(text, max_depth=max_depth) == value
