"""The API's JSON parser: bad JSON is the client's error (400), never the server's (500).

DRF's JSONParser lets a RecursionError escape for deeply nested input (`[[[[...]]]]`), and
accepts `NaN`, `Infinity` and `1e999` (which Python reads as infinity and the database cannot
store) and NUL characters (which PostgreSQL cannot store in text or jsonb). This parser refuses
all of them with a ParseError, and refuses integers outside the 64-bit range every id and count
column holds, so they never reach a query.
"""

from __future__ import annotations

import codecs
import json
import math

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 64  # deeper than any Attune request needs


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON compliant: numbers must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is not JSON compliant: too large for a finite number")
    return value


def _int64(text: str) -> int:
    if len(text) > 20:
        raise ValueError("an integer is too large")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{text} is outside the 64-bit integer range")
    return value


def _check_structure(value, limit: int) -> None:
    """Nesting at most `limit` deep, and no NUL character in any string or key (PostgreSQL
    can store neither in text nor in jsonb)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("a string holds a NUL character (\\u0000)")
        elif isinstance(item, dict | list):
            if depth > limit:
                raise ValueError(f"nested more than {limit} levels deep")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def strict_loads(text: str):
    """json.loads with the rules above; ValueError (with a message for the client) otherwise."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int64)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    _check_structure(value, MAX_DEPTH)
    return value


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return strict_loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
