"""Turning run data (the shared store, errors) into values `json.dumps` accepts."""

from __future__ import annotations

from typing import Any


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
