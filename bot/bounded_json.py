"""JSON from outside, parsed with bounds: depth, finite numbers, 64-bit integers.

``json.loads`` accepts what no vendor or Slack payload needs and what breaks code after
it: NaN and Infinity (not JSON at all), integers of thousands of digits (Python refuses
more than 4,300 with a ValueError of its own), and nesting so deep that any recursive
walk over the result (redaction, rendering) hits RecursionError. ``loads`` refuses all of
them with a ``JsonLimitError`` whose message a user can act on.
"""

from __future__ import annotations

import json
from typing import Any

# Structured input typed by people (commands, modals, workflow steps): CONTRACT.md.
MAX_INPUT_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Enough digits for any 64-bit integer (and its sign); int() is never given more.
_MAX_INT_DIGITS = 20


class JsonLimitError(ValueError):
    """Valid JSON, or nearly, that is outside what the app accepts; says which limit."""


def _no_constant(name: str) -> Any:
    raise JsonLimitError(f"`{name}` is not a number JSON allows; use a finite number or a string")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise JsonLimitError(
            f"a number of {len(text.lstrip('-')):,} digits is beyond the 64-bit range"
        )
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise JsonLimitError(f"{value} is beyond the 64-bit integer range")
    return value


def loads(text: str | bytes, *, max_depth: int = MAX_INPUT_DEPTH) -> Any:
    """Parse JSON within the app's bounds; raises ``json.JSONDecodeError`` for text that is
    not JSON, ``JsonLimitError`` for JSON outside the bounds."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int)
    except RecursionError:
        raise JsonLimitError(f"it nests deeper than {max_depth} levels") from None
    _check_floats_and_depth(value, max_depth)
    return value


def _check_floats_and_depth(value: Any, max_depth: int) -> None:
    # json.loads turns 1e999 into inf without asking parse_float for permission to fail,
    # so floats are checked here, in the same walk as the depth.
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise JsonLimitError("a number is beyond the range of a 64-bit number")
            continue
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        if level > max_depth:
            raise JsonLimitError(f"it nests deeper than {max_depth} levels")
        stack.extend((child, level) for child in children)
