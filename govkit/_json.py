"""The one strict JSON loader for everything govkit reads from outside (private).

>>> loads_object(b'{"alg":"EdDSA","kid":"k1"}')
{'alg': 'EdDSA', 'kid': 'k1'}
>>> loads_object(b'{"amount":100,"amount":1}', what="the Stripe event")
Traceback (most recent call last):
    ...
govkit.errors.EncodingError: the Stripe event has a duplicate member name
>>> from govkit.errors import MalformedToken
>>> loads_object(b'{"exp":NaN}', what="claims", error=MalformedToken, allow_floats=True)
Traceback (most recent call last):
    ...
govkit.errors.MalformedToken: claims holds NaN or Infinity, which JSON does not have

Python's :func:`json.loads` keeps the *last* of two members with the same name,
accepts ``NaN``, ``Infinity`` and ``-Infinity``, turns ``1e400`` into ``inf``, lets a
lone surrogate escape (``"\\ud800"``) through as a string no UTF-8 encoder accepts, and
recurses until the interpreter's limit. Other parsers keep the *first* duplicate, or
refuse it, or refuse ``NaN``. A signature covers bytes, not a parsed value: when the
party that checks a signed document and the party that acts on it parse it
differently, one signed document means two things (a parser differential). So every
one of those is refused here, and every component reads outside JSON through this
module: tokens, DPoP proofs and JWKS, trust and status lists, detached signatures,
payment callbacks and responses, audit entries, and the command's input files.

Each caller names the document (``what``) and the error class to raise (``error``,
any callable taking the message; :class:`~govkit.errors.EncodingError` by default),
so a refusal surfaces with the component's own code (``token.malformed``,
``payment.malformed``, ``trust.invalid`` ...). Messages never quote the input.
"""

# Implementation: the standard library's C scanner does the parsing; the hooks that make
# it strict run only where they have something to look at (one call per JSON object for
# duplicates, none for a document of one object whose bytes prove that no member name
# repeats, one per fraction or exponent number, one per NaN/Infinity), and the tree is
# walked only when the text holds a surrogate escape, or more brackets than the depth
# limit allows and a backslash or a string holding a bracket (otherwise the depth is
# read from the bytes, see _nesting_within).

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from itertools import chain, compress, repeat
from operator import is_
from typing import Any, Final

from govkit.errors import EncodingError

__all__ = ["DEFAULT_MAX_DEPTH", "ErrorFactory", "loads_object", "loads_object_at"]

#: Objects and arrays nested deeper than this are refused (the top-level object is 1).
DEFAULT_MAX_DEPTH: Final = 32

#: Builds the exception raised for a refused document from its message.
ErrorFactory = Callable[[str], Exception]

#: RFC 8259 section 2: the only whitespace allowed around and inside a JSON text.
_SPACE: Final = " \t\n\r"
_SPACE_BYTES: Final = _SPACE.encode()
#: A ``\\u`` escape of a UTF-16 surrogate (high D800-DBFF or low DC00-DFFF).
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
#: The bytes the quick checks look for, as ints (``int in bytes`` is a bare memchr).
_BACKSLASH: Final = ord("\\")
_OPEN_OBJECT: Final = ord("{")
_OPEN_ARRAY: Final = ord("[")
_QUOTE: Final = ord('"')
#: For :func:`_nesting_within`: every byte but quotes and brackets (deleted), and the
#: table that makes arrays' brackets objects' braces.
_NOT_STRUCTURE: Final = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_ARRAYS_AS_OBJECTS: Final = bytes.maketrans(b"[]", b"{}")


class _Refused(Exception):
    """Raised inside the scanner's hooks; becomes ``error(what + " " + reason)``."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Refused("has a duplicate member name")
    return obj


def _no_constant(_name: str) -> Any:
    raise _Refused("holds NaN or Infinity, which JSON does not have")


def _no_float(_text: str) -> Any:
    raise _Refused("holds a number with a fraction or exponent; only integers are allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("holds a number too large for a float")
    return value


def _scanner(
    parse_float: Callable[[str], Any], *, unique: bool = True
) -> Callable[[str, int], tuple[Any, int]]:
    decoder: Any = json.JSONDecoder(  # typeshed does not declare scan_once
        object_pairs_hook=_unique if unique else None,
        parse_constant=_no_constant,
        parse_float=parse_float,
    )
    return decoder.scan_once  # type: ignore[no-any-return]


# Stateless, like compiled patterns: the C scanner's only state is a memo of member
# names that it clears after every call (and that is a cache, never a result).
_INTEGERS_ONLY: Final = _scanner(_no_float)
_NUMBERS: Final = _scanner(_finite_float)
# The same without the duplicate hook, for loads_object's one-object documents only.
_INTEGERS_ONLY_ANY_NAMES: Final = _scanner(_no_float, unique=False)
_NUMBERS_ANY_NAMES: Final = _scanner(_finite_float, unique=False)


def _check_tree(value: dict[str, Any], max_depth: int, strings: bool) -> None:
    """Refuse nesting deeper than ``max_depth`` and (if ``strings``) lone surrogates.

    Level by level, never recursing however the document is shaped; the work per
    member is done by C iterators (``map``, ``compress``, ``chain``), the Python loop
    runs once per level.
    """
    dicts: list[dict[str, Any]] = [value]
    lists: list[list[Any]] = []
    texts: list[str] = []
    depth = 1
    while dicts or lists:
        if depth > max_depth:
            raise _Refused(f"nests deeper than {max_depth} levels")
        kids = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(lists)]
        kinds = list(map(type, kids))
        if strings:
            texts += chain.from_iterable(dicts)  # member names
            texts += compress(kids, map(is_, kinds, repeat(str)))
        dicts = list(compress(kids, map(is_, kinds, repeat(dict)))) if dict in kinds else []
        lists = list(compress(kids, map(is_, kinds, repeat(list)))) if list in kinds else []
        depth += 1
    if strings:
        try:  # a surrogate code point only survives the scanner unpaired
            "".join(texts).encode("utf-8")
        except UnicodeEncodeError:
            raise _Refused("holds a lone surrogate escape") from None


def _text(data: object, what: str, error: ErrorFactory, max_bytes: int | None) -> str:
    """``data`` as text: bytes are decoded as strict UTF-8 (a BOM is not JSON)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if max_bytes is not None and len(data) > max_bytes:
            raise error(f"{what} is larger than {max_bytes} bytes")
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise error(f"{what} is not valid UTF-8") from None
    if isinstance(data, str):
        if not data.isascii():
            try:  # a str may carry raw lone surrogates, which no UTF-8 text can
                size = len(data.encode("utf-8"))
            except UnicodeEncodeError:
                raise error(f"{what} holds a lone surrogate") from None
        else:
            size = len(data)
        if max_bytes is not None and size > max_bytes:
            raise error(f"{what} is larger than {max_bytes} bytes")
        return data
    raise error(f"{what} must be bytes or text")


def _check(value: Any, raw: bytes, max_depth: int) -> None:
    """The checks the scanner's hooks cannot make, on ``value`` parsed from ``raw``.

    A lone surrogate can only come from an escape, so from a backslash in ``raw``;
    nesting can only exceed ``max_depth`` if ``raw`` has more brackets than that.
    Otherwise the tree is not walked at all: a search for one byte runs at memchr
    speed, a count a little slower, both far faster than a walk.
    """
    if type(value) is not dict:
        raise _Refused("is not a JSON object")
    strings = _BACKSLASH in raw and _SURROGATE_ESCAPE.search(raw) is not None
    opened = raw.count(_OPEN_OBJECT) + raw.count(_OPEN_ARRAY)
    if not strings and opened > max_depth and _BACKSLASH not in raw:
        within = _nesting_within(raw, max_depth)
        if within is False:
            raise _Refused(f"nests deeper than {max_depth} levels")
        if within:
            return
    if strings or opened > max_depth:
        _check_tree(value, max_depth, strings)


def _nesting_within(raw: bytes, max_depth: int) -> bool | None:
    """Whether the JSON text ``raw``, valid and without a backslash, nests at most
    ``max_depth`` levels; ``None`` when a string holds a bracket (then only a walk of
    the tree can tell).

    Without a backslash no string holds a quote. Keeping only quotes and brackets, a
    string without brackets becomes ``""``, and removing every ``""`` removes all
    quotes exactly when no string holds a bracket: what is left is the structure,
    brackets alone. Each removal of every ``{}`` (arrays made objects) then removes
    the innermost level, so the text nests as many levels as the removals it takes
    to empty it. All of it runs at C speed over the bytes, where a walk of a large
    document's tree takes a Python step per level over millions of values.
    """
    skeleton = raw.translate(_ARRAYS_AS_OBJECTS, _NOT_STRUCTURE).replace(b'""', b"")
    if _QUOTE in skeleton:
        return None
    for _ in range(max_depth):
        skeleton = skeleton.replace(b"{}", b"")
        if not skeleton:
            return True
    return False


def loads_object(
    data: bytes | bytearray | memoryview | str,
    *,
    what: str = "the JSON text",
    error: ErrorFactory = EncodingError,
    allow_floats: bool = False,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """Parse ``data`` as exactly one JSON object, refusing everything ambiguous.

    Refused, each with ``error(message)``: more than ``max_bytes`` bytes (when given),
    invalid UTF-8 (a byte order mark included), text with raw lone surrogates, a top
    level that is not an object, duplicate member names at any depth, ``NaN`` and
    ``Infinity``, numbers with a fraction or an exponent unless ``allow_floats`` (and
    then still any that overflow a float), integers longer than Python's 4300-digit
    limit, lone surrogate escapes in names and values, objects and arrays nested deeper
    than ``max_depth`` (the top-level object is depth 1), anything but JSON whitespace
    after the object, and anything else :func:`json.loads` refuses. Every document
    accepted is parsed exactly as :func:`json.loads` parses it.

    Args:
        data: UTF-8 bytes, or text.
        what: names the document at the start of messages (``"the trust list"``).
        error: called with the message to build the exception raised (a class such
            as :class:`~govkit.errors.MalformedToken` or ``functools.partial`` of one).
        allow_floats: accept finite numbers with a fraction or exponent as ``float``.
        max_depth: the deepest nesting accepted.
        max_bytes: the largest input accepted, in UTF-8 bytes.
    """
    if type(data) is bytes and max_bytes is None:  # the common case, first
        raw = data
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise error(f"{what} is not valid UTF-8") from None
    else:
        text = _text(data, what, error, max_bytes)
        raw = text.encode()
    # A document that is one flat object (most signed claims) is parsed without the
    # duplicate hook, and kept only when a count of its bytes proves that no member
    # name repeats; otherwise (a duplicate or not, any failure) it is parsed again
    # with the hook, so that every refusal is the hook scanner's own. Why the proof
    # holds: raw starts with its only "{" (the last one is at 0), and every object
    # has a "{" of its own that no escape stands for, so the result is that object,
    # whose M members each hold one structural "," after them but the last, and one
    # name whose closing quote is followed by ":" once JSON whitespace is deleted
    # (distinct names, distinct quotes). Strings can only add to either count, so
    # M <= commas + 1 and M <= the count of '":', and the dict keeps one entry per
    # distinct name: len(value) <= M, equal to either count only if no name repeats.
    # The hook would have built the same dict from the pairs. (The comma count, a
    # single byte, is the cheaper and decides flat objects whose arrays and strings
    # hold no comma; the other decides the rest.)
    parsed: tuple[Any, int] | None = None
    objects = 0  # not counted yet
    if raw.rfind(_OPEN_OBJECT) == 0:  # the only "{" is the first byte
        objects = 1
        try:
            value, end = (_NUMBERS_ANY_NAMES if allow_floats else _INTEGERS_ONLY_ANY_NAMES)(text, 0)
        except Exception:  # noqa: S110 - any failure: the hook scanner says why
            pass
        else:
            if type(value) is dict and (
                len(value) == raw.count(b",") + 1
                or len(value)
                == (
                    raw.translate(None, _SPACE_BYTES)
                    if 32 in raw or 9 in raw or 10 in raw or 13 in raw
                    else raw
                ).count(b'":')
            ):
                parsed = value, end
    try:
        if parsed is None:
            scan = _NUMBERS if allow_floats else _INTEGERS_ONLY
            try:
                parsed = scan(text, 0)
            except StopIteration:  # leading white space (or no JSON value at all)
                parsed = scan(text, len(text) - len(text.lstrip(_SPACE)))
        value, end = parsed
        if end != len(text) and text[end:].strip(_SPACE):
            raise _Refused("is not valid JSON: data follows the object")
        if type(value) is not dict:
            raise _Refused("is not a JSON object")
        # Without a backslash there is no escape, so no lone surrogate; with no more
        # brackets than the depth limit the depth cannot exceed it (_check's own
        # count, made here so that most documents, arrays or not, stop here without
        # a call); the others get the precise checks. (An int operand makes ``in`` a
        # bare memchr, four times quicker than a bytes operand.)
        if _BACKSLASH in raw or (
            (objects or raw.count(_OPEN_OBJECT))
            + (raw.count(_OPEN_ARRAY) if _OPEN_ARRAY in raw else 0)
            > max_depth
        ):
            _check(value, raw, max_depth)
    except _Refused as exc:
        raise error(f"{what} {exc}") from None
    except RecursionError:  # nesting deep enough to reach the C scanner's stack guard
        raise error(f"{what} nests deeper than {max_depth} levels") from None
    except (StopIteration, ValueError):  # JSONDecodeError, integers over 4300 digits
        raise error(f"{what} is not valid JSON") from None
    return value


def loads_object_at(
    text: str,
    start: int,
    *,
    what: str = "the JSON text",
    error: ErrorFactory = EncodingError,
    allow_floats: bool = False,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> tuple[dict[str, Any], int]:
    """The JSON object that starts at ``text[start]`` and the index just after it.

    :meth:`json.JSONDecoder.raw_decode` made strict: leading JSON whitespace is
    skipped, whatever follows the object is left alone (the caller wants a member's
    exact text, such as the signed part of an Alipay response), and the object is
    refused exactly as :func:`loads_object` refuses one.
    """
    if not isinstance(text, str) or not 0 <= start <= len(text):
        raise error(f"{what} is not valid JSON")
    _text(text, what, error, None)
    rest = text[start:]
    start += len(rest) - len(rest.lstrip(_SPACE))
    try:
        value, end = (_NUMBERS if allow_floats else _INTEGERS_ONLY)(text, start)
        _check(value, text[start:end].encode(), max_depth)
    except _Refused as exc:
        raise error(f"{what} {exc}") from None
    except RecursionError:
        raise error(f"{what} nests deeper than {max_depth} levels") from None
    except (StopIteration, ValueError):
        raise error(f"{what} is not valid JSON") from None
    return value, end
