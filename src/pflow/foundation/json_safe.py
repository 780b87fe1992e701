"""Turning run data (the shared store, errors) into values `json.dumps` accepts."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

# Lone surrogates (from invalid bytes in argv or file names, or "\ud800" escapes in a JSON
# file) cannot be encoded as UTF-8; in JSON text they are written as \uXXXX escapes instead.
_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_utf8(
    value: Any,
    *,
    indent: int | None = 2,
    allow_nan: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """`json.dumps` keeping non-ASCII text readable, and always encodable as UTF-8."""
    # One encoder per option set: json.dumps with options builds a new one for each call.
    key = (indent, allow_nan, default)
    encode = _ENCODERS.get(key)
    if encode is None:
        encode = _ENCODERS[key] = json_encoder(indent=indent, allow_nan=allow_nan, default=default)
    text = encode(value)
    return text if text.isascii() else escape_surrogates(text)


def escape_surrogates(text: str) -> str:
    """JSON text with its lone surrogates written as `\\uXXXX` escapes (UTF-8 encodable)."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# A str as a JSON string, non-ASCII text kept (what the encoders write for strings).
json_string: Callable[[str], str] = json.encoder.encode_basestring


_ENCODERS: dict[tuple[int | None, bool, Callable[[Any], Any] | None], Callable[[Any], str]] = {}


def json_encoder(
    *,
    indent: int | None = None,
    allow_nan: bool = True,
    default: Callable[[Any], Any] | None = None,
    sort_keys: bool = False,
    separators: tuple[str, str] | None = None,
) -> Callable[[Any], str]:
    """A function giving what `json.dumps(value, ensure_ascii=False, ...)` gives, built once.

    `JSONEncoder.encode` builds a new C encoder for every call; for one-line JSON the one
    built here serves every call. It does not look for circular references (it would find
    them for each value again): on the recursion error a cycle causes, the value is encoded
    again by the standard encoder, which reports the cycle as a ValueError.
    """
    standard = json.JSONEncoder(
        ensure_ascii=False,
        allow_nan=allow_nan,
        indent=indent,
        default=default,
        sort_keys=sort_keys,
        separators=separators,
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if indent is not None or make is None:  # the C encoder only writes one line
        return standard.encode
    one_line = make(
        None,  # no markers: no check for cycles
        standard.default,
        json_string,
        None,
        standard.key_separator,
        standard.item_separator,
        sort_keys,
        False,  # skipkeys
        allow_nan,
    )

    def encode(value: Any) -> str:
        try:
            return "".join(one_line(value, 0))
        except RecursionError:
            return standard.encode(value)

    return encode


def to_json_safe(value: Any, max_chars: int | None = None) -> Any:
    """A JSON-safe copy of `value`.

    Bytes become `<binary data: N bytes>`, callables are dropped from objects, NaN and the
    infinities and other non-JSON values become text. With `max_chars`, longer strings are
    cut and marked with how long they were.
    """
    if isinstance(value, str):
        if max_chars is None or len(value) <= max_chars:
            return value
        return f"{value[:max_chars]}... [truncated, {len(value)} characters]"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, bytes):
        return f"<binary data: {len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): to_json_safe(v, max_chars) for k, v in value.items() if not callable(v)}
    if isinstance(value, list | tuple):
        return [to_json_safe(v, max_chars) for v in value]
    return str(value)


# Arrays and objects nested deeper than this are refused where pflow reads JSON: every part
# of pflow that walks a value (validation, templates, output) stays far from Python's
# recursion limit.
MAX_NESTING = 100


class NestingError(ValueError):
    """JSON text or a value holds arrays and objects nested more than MAX_NESTING deep."""

    def __init__(self, pointer: str | None) -> None:
        super().__init__(f"nested too deeply: more than {MAX_NESTING} levels of arrays and objects")
        self.pointer = pointer


def too_deep(value: Any, limit: int = MAX_NESTING) -> str | None:
    """The JSON pointer of the first array or object at depth `limit` + 1, else None.

    The top-level array or object is depth 1. Iterative, so any depth can be checked.
    """
    return _deep_path(value, limit) if _depth_exceeds(value, limit) else None


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether an array or object sits deeper than `limit`: one cheap pass, no paths kept."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list | tuple):
            children = current
        else:
            continue
        if depth == limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _deep_path(value: Any, limit: int) -> str:
    """The pointer of the first array or object deeper than `limit` (there is one)."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while True:
        current, path = stack.pop()
        if isinstance(current, dict):
            children: Any = current.items()
        elif isinstance(current, list | tuple):
            children = enumerate(current)
        else:
            continue
        if len(path) == limit:
            return json_pointer(path)
        stack.extend((child, (*path, str(key))) for key, child in children)


def loads_json(text: str, *, limit: int = MAX_NESTING, **options: Any) -> Any:
    """`json.loads` that raises NestingError (a ValueError) for too deeply nested text."""
    try:
        data = json.loads(text, **options)
    except RecursionError:
        raise NestingError(None) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # a number longer than Python converts: parse again to say so
        if "parse_int" in options:
            raise
        return loads_json(text, limit=limit, parse_int=_parse_int, **options)
    pointer = too_deep(data, limit)
    if pointer is not None:
        raise NestingError(pointer)
    return data


def _parse_int(digits: str) -> int:
    """int(), with a clear error for numbers longer than Python converts (4300 digits)."""
    try:
        return int(digits)
    except ValueError:
        size, limit = len(digits.lstrip("-")), sys.get_int_max_str_digits()
        raise ValueError(f"a number has {size} digits; at most {limit} are read") from None


def json_pointer(parts: Any) -> str:
    """RFC 6901 pointer for a sequence of keys and indexes ("" for the document root)."""
    out = ""
    for part in parts:
        out += "/" + str(part).replace("~", "~0").replace("/", "~1")
    return out
