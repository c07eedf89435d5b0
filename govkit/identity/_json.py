"""Strict JSON for token headers and claims (private).

>>> loads_strict(b'{"alg":"EdDSA","kid":"k1"}')
{'alg': 'EdDSA', 'kid': 'k1'}
>>> loads_strict(b'{"alg":"EdDSA","alg":"none"}', what="header")
Traceback (most recent call last):
    ...
govkit.errors.MalformedToken: header has a duplicate member name

Python's :func:`json.loads` keeps the last of duplicate keys, accepts ``NaN`` and
``Infinity``, turns ``1e400`` into ``inf`` and lets lone surrogate escapes through.
Two parsers that disagree on such input let an attacker show a different document
to each (a parser differential), so every one of those is refused here.
"""

from __future__ import annotations

import json
import math
from typing import Any

from govkit.errors import MalformedToken

__all__ = ["loads_strict"]


class _Refused(Exception):
    """Raised inside the json hooks; turned into MalformedToken with the document's name."""


def _refuse_constant(name: str) -> Any:
    raise _Refused("holds a non-finite number (NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("holds a number too large for a float")
    return value


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Refused("has a duplicate member name")
    return obj


def _check_tree(value: dict[str, Any], max_depth: int, strings: bool) -> None:
    """Refuse nesting deeper than ``max_depth`` and (if ``strings``) lone surrogates.

    Iterative, so that it never recurses however the document is shaped.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise _Refused(f"nests deeper than {max_depth} levels")
            if strings:
                stack.extend((key, depth) for key in node)
            stack.extend((item, depth + 1) for item in node.values())
        elif isinstance(node, list):
            if depth > max_depth:
                raise _Refused(f"nests deeper than {max_depth} levels")
            stack.extend((item, depth + 1) for item in node)
        elif strings and isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise _Refused("holds a lone surrogate escape") from None


#: Stateless, like a compiled pattern: the hooks that make Python's parser strict.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_object,
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
)


def loads_strict(data: bytes, *, max_depth: int = 16, what: str = "JSON") -> dict[str, Any]:
    """Parse ``data`` as one UTF-8 JSON object, refusing everything ambiguous.

    Refused, with :class:`~govkit.errors.MalformedToken`: invalid UTF-8 (a BOM too),
    a top level that is not an object, duplicate member names at any depth, ``NaN``
    and ``Infinity``, numbers overflowing a float, integers longer than Python's
    4300-digit limit, lone surrogate escapes, objects and arrays nested deeper than
    ``max_depth`` (the top-level object is depth 1), and anything :func:`json.loads`
    rejects. ``what`` names the document in messages (``"header"``, ``"claims"``);
    messages never quote the input.
    """
    try:
        text = data.decode("utf-8")
    except (UnicodeDecodeError, AttributeError):
        raise MalformedToken(f"{what} is not valid UTF-8") from None
    try:
        value = _DECODER.decode(text)
        if not isinstance(value, dict):
            raise _Refused("is not a JSON object")
        strings = "\\u" in text
        # Depth can only exceed max_depth if there are more brackets than that.
        if strings or text.count("{") + text.count("[") > max_depth:
            _check_tree(value, max_depth, strings=strings)
    except _Refused as exc:
        raise MalformedToken(f"{what} {exc}") from None
    except RecursionError:  # nesting deep enough to exhaust the C parser's stack guard
        raise MalformedToken(f"{what} nests deeper than {max_depth} levels") from None
    except ValueError:  # JSONDecodeError, over-long integers
        raise MalformedToken(f"{what} is not valid JSON") from None
    return value
